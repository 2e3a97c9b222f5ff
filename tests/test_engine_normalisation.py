"""Input normalisation: which stretch an image set gets, and the same numbers on every path."""

import numpy as np
import torch

from astro_cnn.engine.normalisation import ImageNormaliser, image_statistics


def _galaxies(sky: float, n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32] - 15.5
    light = 400 * np.exp(-(xx**2 + yy**2) / 4.0)  # a compact galaxy: most pixels are sky
    return (sky + light + rng.normal(0, 5, (n, 3, 32, 32))).astype(np.float32)


def test_sky_subtracted_fluxes_get_the_asinh_stretch_and_images_with_the_sky_do_not():
    """The stretch asks whether the sky was subtracted: a sky-subtracted stack has heavy tails around zero and gets
    the noise-scaled asinh stretch; counts with the sky left in (no negative pixel) would be squeezed into its
    logarithmic part, so they are standardised as they are."""
    subtracted, with_sky = image_statistics(_galaxies(0.0)), image_statistics(_galaxies(1000.0))
    assert subtracted["stretch"] == "asinh" and with_sky["stretch"] == "linear"
    np.testing.assert_allclose(subtracted["scale"], 5.0, rtol=0.1)  # the pixel noise


def test_colour_values_are_standardised_without_a_stretch_in_either_form():
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (8, 3, 16, 16), dtype=np.uint8)
    decoded = colour.astype(np.float32) / np.float32(255.0)
    as_uint8, as_float = image_statistics(colour), image_statistics(decoded)
    assert as_uint8["stretch"] == as_float["stretch"] == "linear"
    assert as_uint8 == as_float
    normalise = ImageNormaliser(as_uint8)
    torch.testing.assert_close(normalise(torch.as_tensor(colour)), normalise(torch.as_tensor(decoded)))
