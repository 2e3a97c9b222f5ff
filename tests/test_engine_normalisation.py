"""Input normalisation: which stretch an image set gets, and the same numbers on every path."""

import numpy as np
import torch

from astro_cnn.engine.normalisation import ImageNormaliser, image_statistics


def _galaxies(sky: float, n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:24, :24] - 11.5
    light = 400 * np.exp(-(xx**2 + yy**2) / 10.0)
    return (sky + light + rng.normal(0, 5, (n, 3, 24, 24))).astype(np.float32)


def test_fluxes_get_the_asinh_stretch_with_or_without_the_sky():
    """Counts with the sky left in have no negative pixel but are still fluxes with heavy tails: they get the same
    noise-scaled stretch as sky-subtracted ones (and so a training noise that prediction checks images against)."""
    subtracted, with_sky = image_statistics(_galaxies(0.0)), image_statistics(_galaxies(1000.0))
    assert subtracted["stretch"] == with_sky["stretch"] == "asinh"
    np.testing.assert_allclose(with_sky["scale"], subtracted["scale"], rtol=0.1)  # the noise (5), not the sky


def test_colour_values_are_standardised_without_a_stretch_in_either_form():
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (8, 3, 16, 16), dtype=np.uint8)
    decoded = colour.astype(np.float32) / np.float32(255.0)
    as_uint8, as_float = image_statistics(colour), image_statistics(decoded)
    assert as_uint8["stretch"] == as_float["stretch"] == "linear"
    assert as_uint8 == as_float
    normalise = ImageNormaliser(as_uint8)
    torch.testing.assert_close(normalise(torch.as_tensor(colour)), normalise(torch.as_tensor(decoded)))
