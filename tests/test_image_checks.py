"""Image checks before the model: non-finite, blank, and no source at the centre (photutils aperture S/N)."""

import astropy.units as u
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_cnn.image_checks import (
    MIN_CENTRE_SNR,
    centre_signal_to_noise,
    check_image,
    check_images,
    colour_values,
    image_problem,
)
from astro_cnn.image_files import read_image

from .conftest import DATA

SCALE = 0.296 * u.arcsec


def test_real_galaxies_are_sources_and_empty_sky_is_not():
    for path in sorted((DATA / "gri_small").glob("*.jpg")):
        image = read_image(path)
        assert centre_signal_to_noise(image, SCALE) > 20 * MIN_CENTRE_SNR and image_problem(image, SCALE) == ""
    rng = np.random.default_rng(0)
    sky = rng.normal(0.1, 0.01, (3, 128, 128)).astype(np.float32)
    assert abs(centre_signal_to_noise(sky, SCALE)) < MIN_CENTRE_SNR
    assert image_problem(sky, SCALE).startswith("no source at the centre of the image (S/N ")
    sky[:, 62:66, 62:66] += 0.2  # a compact source at the centre
    assert image_problem(sky, SCALE) == ""


def test_blank_and_non_finite_images():
    assert image_problem(np.zeros((3, 8, 8), np.float32), SCALE) == "image is blank (every pixel is 0)"
    image = np.ones((1, 8, 8), np.float32)
    image[0, 0, 0] = np.inf
    assert image_problem(image, SCALE) == "image has 1 non-finite pixels"


def test_a_noiseless_source_on_an_empty_sky_is_a_source():
    image = np.zeros((1, 16, 16), np.float32)
    image[0, 6:10, 6:10] = 1.0
    assert centre_signal_to_noise(image, 1.0 * u.arcsec) == np.inf and image_problem(image, 1.0 * u.arcsec) == ""


@settings(max_examples=40, deadline=None)
@given(height=st.integers(8, 70), width=st.integers(8, 70), bands=st.integers(1, 5),
       scale=st.floats(0.05, 3.0), seed=st.integers(0, 2**32 - 1))
def test_the_cached_aperture_gives_photutils_photometry(height, width, bands, scale, seed):
    """The presence check's weighted sum is the S/N that photutils' own photometry of the image gives."""
    from photutils.aperture import CircularAperture

    rng = np.random.default_rng(seed)
    image = rng.normal(size=(bands, height, width)) + rng.uniform(0, 5) * np.exp(
        -((np.arange(height)[:, None] - height / 2) ** 2 + (np.arange(width) - width / 2) ** 2) / 8)
    total = image.sum(axis=0)
    edge = max(1, min(height, width) // 8)
    border = np.concatenate([total[:edge].ravel(), total[-edge:].ravel(),
                             total[edge:-edge, :edge].ravel(), total[edge:-edge, -edge:].ravel()])
    sky = np.median(border)
    noise = 1.4826 * np.median(np.abs(border - sky))
    aperture = CircularAperture([((width - 1) / 2, (height - 1) / 2)], r=max(1.0, 1.0 / scale))
    expected = float(aperture.do_photometry(total - sky)[0][0]) / (noise * np.sqrt(aperture.area))
    assert np.isclose(centre_signal_to_noise(image, scale * u.arcsec), expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(kinds=st.lists(st.sampled_from(["galaxy", "sky", "blank", "nan", "inf", "opposite infinities"]), min_size=0,
                      max_size=9), seed=st.integers(0, 2**32 - 1))
def test_a_stack_gets_the_verdict_each_image_gets_alone(kinds, seed):
    """Checking a chunk at once (as prediction does) gives each row its own problem and S/N, whatever its neighbours."""
    rng = np.random.default_rng(seed)
    stack = rng.normal(0.1, 0.01, (len(kinds), 3, 24, 24)).astype(np.float32)
    for image, kind in zip(stack, kinds):
        if kind == "galaxy":
            image[:, 10:14, 10:14] += rng.uniform(0.05, 1.0)
        elif kind == "blank":
            image[:] = rng.uniform(-1, 1)
        elif kind in ("nan", "inf"):
            image[rng.integers(3), rng.integers(24), rng.integers(24)] = np.nan if kind == "nan" else np.inf
        elif kind == "opposite infinities":
            image[0, 0, 0], image[1, 0, 0] = np.inf, -np.inf
    problems, snr = check_images(stack, SCALE)
    alone = [check_image(image, SCALE) for image in stack]
    assert problems == [problem for problem, _ in alone]
    np.testing.assert_array_equal(snr, [value for _, value in alone])
    expected = {"galaxy": "", "sky": "no source at the centre", "blank": "image is blank",
                "nan": "image has 1 non-finite pixels", "inf": "image has 1 non-finite pixels",
                "opposite infinities": "image has 2 non-finite pixels"}
    assert all(problem.startswith(expected[kind]) and bool(problem) == (kind != "galaxy")
               for problem, kind in zip(problems, kinds))


def test_the_training_brightness_range_and_what_lies_outside_it():
    from types import SimpleNamespace

    from astro_cnn.chunks import brightness_problems
    from astro_cnn.image_checks import check_image, screen_training_images

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:32, :32] - 15.5
    images = np.array([a * np.exp(-(xx**2 + yy**2) / 8.0)[None] + rng.normal(0, 1, (1, 32, 32))
                       for a in (5.0, 20.0, 80.0)], dtype=np.float32)
    snr = [check_image(image, SCALE, -np.inf)[1] for image in images]
    assert screen_training_images(images, SCALE, None).snr_range == [min(snr), max(snr)]
    assert screen_training_images(images, SCALE, None, block=1).snr_range == [min(snr), max(snr)]
    model = SimpleNamespace(name="m", info={"centre_snr_range": [snr[0], snr[1]]})
    found = brightness_problems(np.array([snr[0] * (1 - 1e-6), snr[1], snr[2], snr[0] / 2, np.nan]), model)
    assert list(found[:2]) == ["", ""] and found[4] == ""  # within rounding of the range; no S/N measured
    assert found[2].startswith("extrapolation: the image is brighter than any model 'm' was trained on")
    assert found[3].startswith("extrapolation: the image is fainter than any model 'm' was trained on")
    assert list(brightness_problems(np.array([1.0]), SimpleNamespace(name="old", info={}))) == [""]


def _field(amplitudes, seed=4):
    """Images (N, 2, 32, 32) of unit noise with a Gaussian source of each amplitude at the centre (0: none)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32] - 15.5
    return np.array([a * np.exp(-(xx**2 + yy**2) / 8.0)[None].repeat(2, 0) + rng.normal(0, 1, (2, 32, 32))
                     for a in amplitudes], dtype=np.float32)


def test_training_leaves_out_the_images_prediction_would_flag():
    from astro_cnn.image_checks import screen_training_images

    images = _field([40.0, 0.0, 60.0, 0.0, 80.0, 50.0])
    images[2, 0, 3, 3] = np.nan
    images[5] = 7.0
    screened = screen_training_images(images, SCALE)
    assert list(screened.rows) == [0, 4] and screened.total == 6
    assert screened.left_out == {"no source at the centre (S/N below 5)": 2, "non-finite pixels": 1,
                                 "a blank image": 1}
    assert list(screened.first_left_out) == [1, 2, 3, 5]
    assert screened.summary() == ("left out 4 of 6 training images, as prediction would flag them: 2 with no source "
                                  "at the centre (S/N below 5); 1 with non-finite pixels; 1 with a blank image "
                                  "(rows 1, 2, 3, 5)")
    kept = [check_image(images[k], SCALE)[1] for k in (0, 4)]
    assert screened.snr_range == [min(kept), max(kept)]  # of the images kept only
    everything = screen_training_images(images, SCALE, None)  # no presence check: the empty fields are kept
    assert list(everything.rows) == [0, 1, 3, 4] and everything.snr_range[0] < MIN_CENTRE_SNR


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([0.0, 60.0]), min_size=1, max_size=12), st.integers(1, 8))
def test_screening_does_not_depend_on_how_many_images_are_read_at_once(amplitudes, block):
    from astro_cnn.image_checks import screen_training_images

    images = _field(amplitudes)
    whole, blocks = screen_training_images(images, SCALE), screen_training_images(images, SCALE, block=block)
    assert list(whole.rows) == list(blocks.rows) == [k for k, problem in enumerate(check_images(images, SCALE)[0])
                                                     if not problem]
    assert whole.left_out == blocks.left_out and whole.snr_range == blocks.snr_range


def test_8_bit_images_are_checked_as_their_float_values():
    images = _field([60.0, 0.0, 60.0])
    colours = np.clip(images * 3 + 100, 0, 255).astype(np.uint8)
    colours[2] = 17  # a blank 8-bit image
    problems, snr = check_images(colours, SCALE)
    expected, expected_snr = check_images(colours.astype(np.float32), SCALE)
    assert problems == expected and problems[2] == "image is blank (every pixel is 17)"
    np.testing.assert_allclose(snr, expected_snr)


def test_a_threshold_that_is_not_a_number_is_refused():
    import pytest

    from astro_cnn import AstroCNNError
    from astro_cnn.image_checks import screen_training_images

    # "5" was a bare TypeError from numpy; -1 flagged almost nothing, a check turned off without a word
    for bad in (float("nan"), float("inf"), "5", True, [5.0], -1, -0.5):
        with pytest.raises(AstroCNNError, match="min_centre_snr must be a number of at least 0, not"):
            screen_training_images(_field([60.0]), SCALE, bad)
    assert screen_training_images(_field([60.0]), SCALE, np.float32(5)).usable.all()
    assert screen_training_images(_field([60.0]), SCALE, 0).usable.all()


def test_pixel_noise_measures_the_sky_even_under_a_galaxy_that_fills_the_image():
    from astro_cnn.image_checks import pixel_noise

    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:64, :64] - 31.5
    galaxy = 500.0 * np.exp(-np.hypot(xx, yy) / 12.0)  # bright wings across the whole border
    sky = np.array([rng.normal(0, sigma, (64, 64)) for sigma in (0.5, 2.0)])
    images = np.stack([sky, sky + galaxy, 1000 * (sky + galaxy)]).astype(np.float32)
    noise = pixel_noise(images)
    assert noise.shape == (3, 2)
    assert np.allclose(noise[0], [0.5, 2.0], rtol=0.1)
    assert np.allclose(noise[1], noise[0], rtol=0.15)  # the galaxy's smooth light cancels
    assert np.allclose(noise[2], 1000 * noise[1], rtol=1e-4)  # scales with the flux scale
    eight_bit = np.clip(rng.normal(100, 4, (1, 3, 16, 16)), 0, 255).astype(np.uint8)
    assert np.allclose(pixel_noise(eight_bit), pixel_noise(eight_bit.astype(np.float32) / 255), rtol=1e-6)
    assert np.isnan(pixel_noise(np.zeros((1, 1, 8, 8), np.float32))).all()  # a flat border: not measured
    assert pixel_noise(np.zeros((0, 2, 8, 8), np.float32)).shape == (0, 2)


def test_images_in_another_flux_scale_are_flagged_band_by_band():
    from types import SimpleNamespace

    from astro_cnn.image_checks import noise_problems

    model = SimpleNamespace(name="m", bands=("g", "r"), training_pixel_noise=np.array([0.02, 0.04]))
    noise = np.array([[0.02, 0.04], [0.005, 0.009], [0.003, 0.04], [0.02, 0.3], [20.0, 40.0], [np.nan, 0.04],
                      [np.nan, np.nan]])
    found = noise_problems(noise, model)
    assert list(found[:2]) == ["", ""] and list(found[5:]) == ["", ""]  # within 0.2-5 times; not measured
    assert found[2].startswith("extrapolation: the pixel noise in band g is 0.15 times that of the images "
                               "model 'm' was trained on (0.2 to 5 expected)")
    assert "band r is 7.5 times" in found[3] and "band g is 1e+03 times" in found[4]
    assert list(noise_problems(noise, SimpleNamespace(name="jpeg", bands=("g", "r"), training_pixel_noise=None))) \
        == [""] * len(noise)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=300), st.sampled_from([np.float32, np.float64]))
def test_decoded_8_bit_values_are_colour_in_any_form(values, dtype):
    """A JPEG's or PNG's values are colour as uint8 and as decoded to floats in [0, 1]."""
    pixels = np.array(values, dtype=np.uint8).reshape(1, 1, 1, -1)
    assert colour_values(pixels)
    assert colour_values((pixels.astype(np.float32) / np.float32(255.0)).astype(dtype))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=300), st.data())
def test_fluxes_are_not_colour_however_close_to_8_bit_values(levels, data):
    """One pixel off the 1/255 grid (a resampled colour image, a flux that happens to lie in [0, 1]) or outside
    [0, 1] (a sky-subtracted flux's negative pixel, counts) makes an image not colour."""
    pixels = np.array(levels, dtype=np.float32).reshape(1, 1, 1, -1) / np.float32(255.0)
    k = data.draw(st.integers(0, len(levels) - 1))
    off_grid = pixels.copy()
    off_grid[0, 0, 0, k] += data.draw(st.sampled_from([-0.4, -0.01, 0.01, 0.4])) / 255.0
    off_grid = np.clip(off_grid, 0, 1)
    assert colour_values(off_grid) == bool(np.allclose(off_grid, pixels))  # clipping may put it back on the grid
    outside = pixels.copy()
    outside[0, 0, 0, k] = data.draw(st.sampled_from([-0.02, -3.0, 1.02, 250.0]))
    assert not colour_values(outside)


def test_the_colour_rule_reads_every_block_and_rejects_what_is_not_a_float():
    colour = np.full((600, 3, 4, 4), 128 / 255, dtype=np.float32)
    assert colour_values(colour, block=256)
    colour[-1, 0, 0, 0] = 0.5  # off the grid, in the last block only
    assert not colour_values(colour, block=256)
    assert not colour_values(np.ones((2, 3, 4, 4), dtype=np.int16))  # integers other than 8-bit: counts
    assert not colour_values(np.full((1, 1, 2, 2), np.nan, dtype=np.float32))
    assert not colour_values(np.zeros((0, 3, 4, 4), dtype=np.float32))


def test_images_outside_the_colour_range_are_flagged_only_for_colour_models():
    from types import SimpleNamespace

    from astro_cnn.image_checks import colour_range_problems

    colour = SimpleNamespace(name="jpeg", trained_on_colour=True)
    images = np.full((4, 3, 8, 8), 0.5, dtype=np.float32)
    images[1, 0, 0, 0] = 1.5
    images[2, 2, 3, 3] = -0.01
    images[3, 1, 1, 1] = np.nan  # checked elsewhere (non-finite): the range of the rest is fine
    found = colour_range_problems(images, colour)
    assert list(found == "") == [True, False, False, True]
    assert found[1] == ("extrapolation: pixel values from 0.5 to 1.5, outside the 0..1 of the 8-bit colour images "
                        "model 'jpeg' was trained on; are these colour images?")
    assert "from -0.01 to 0.5" in found[2]
    assert list(colour_range_problems(images, SimpleNamespace(name="stack", trained_on_colour=False))) == [""] * 4
    assert list(colour_range_problems((images * 0).astype(np.uint8), colour)) == [""] * 4
