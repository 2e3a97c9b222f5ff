"""Injecting one galaxy into a copy of a real SDSS frame: the model is added as rendered, with its photon noise."""

import re
from pathlib import Path

import numpy as np
import pytest

from astro_cnn_injection.inject import GAIN, inject, magnitude_to_nanomaggies
from astro_cnn_injection.profiles import GalaxyShape, render_galaxy
from astro_cnn_sdss.frames import Frame, read_frame

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: Frame pixel (0-based) of the injected galaxy: a blank patch of sky, off the pixel grid.
PIXEL = (60.4, 140.8)
HALF = 20


@pytest.fixture(scope="module")
def frame():
    return read_frame((FRAMES / "frame-r-003918-3-0213.fits.bz2").read_bytes(), "r")


@pytest.fixture(scope="module")
def shape(frame):
    ra, dec = frame.wcs.all_pix2world([PIXEL], 0)[0]
    return GalaxyShape(ra, dec, 1.2, 1.0, 0.6, 20.0)


def _region(pixel, half, shape=(200, 200)):
    cx, cy = round(pixel[0]), round(pixel[1])
    return max(cx - half, 0), min(cx + half + 1, shape[1]), max(cy - half, 0), min(cy + half + 1, shape[0])


def test_magnitude_to_nanomaggies():
    assert magnitude_to_nanomaggies(22.5) == 1.0
    assert magnitude_to_nanomaggies(20.0) == pytest.approx(10.0)
    assert magnitude_to_nanomaggies(17.5) == pytest.approx(100.0)
    assert isinstance(magnitude_to_nanomaggies(np.float32(18.0)), float)


def test_gains_cover_ugriz():
    assert set(GAIN) == set("ugriz")
    assert GAIN["r"] == 4.7


def test_the_frame_is_not_changed(frame, shape):
    before = frame.data.copy()
    part = inject(frame, shape, 500.0, 1.32, 4.7, np.random.default_rng(0), HALF)
    np.testing.assert_array_equal(frame.data, before)
    assert part.data is not frame.data and not np.shares_memory(part.data, frame.data)


def test_without_gain_the_part_is_the_frame_plus_the_rendered_model(frame, shape):
    part = inject(frame, shape, 500.0, 1.32, None, np.random.default_rng(0), HALF)
    x0, x1, y0, y1 = region = _region(PIXEL, HALF)
    assert part.data.shape == (2 * HALF + 1, 2 * HALF + 1) and part.data.dtype == np.float32
    model = render_galaxy(shape, 500.0, frame.wcs, region, 1.32)
    np.testing.assert_allclose(part.data - frame.data[y0:y1, x0:x1], model, atol=1e-4)
    assert (part.data - frame.data[y0:y1, x0:x1]).sum() == pytest.approx(500.0, rel=1e-3)
    assert part.nmgy == frame.nmgy and "+galaxy" in part.path and f"[{y0}:{y1},{x0}:{x1}]" in part.path


def test_the_part_keeps_its_sky_position(frame, shape):
    part = inject(frame, shape, 500.0, 1.32, None, np.random.default_rng(0), HALF)
    x0, _, y0, _ = _region(PIXEL, HALF)
    px, py = part.wcs.all_world2pix([[shape.ra, shape.dec]], 0)[0]
    assert (px, py) == pytest.approx((PIXEL[0] - x0, PIXEL[1] - y0), abs=1e-6)
    corner = part.wcs.all_pix2world([[0, 0]], 0)[0]
    np.testing.assert_allclose(corner, frame.wcs.all_pix2world([[x0, y0]], 0)[0], atol=1e-10)


def test_photon_noise_variance_is_flux_times_nmgy_over_gain(frame, shape):
    flux, gain = 2.0e4, 4.7
    x0, x1, y0, y1 = region = _region(PIXEL, HALF)
    model = render_galaxy(shape, flux, frame.wcs, region, 1.32).astype(float)
    original = frame.data[y0:y1, x0:x1].astype(float)
    bright = model > 20.0
    variance = model[bright] * frame.nmgy / gain
    pulls = np.concatenate([
        (inject(frame, shape, flux, 1.32, gain, np.random.default_rng(seed), HALF).data.astype(float)
         - original - model)[bright] / np.sqrt(variance) for seed in range(20)])
    assert bright.sum() > 100 and pulls.size > 2000
    assert abs(pulls.mean()) < 0.05
    assert pulls.var() == pytest.approx(1.0, rel=0.1)


def test_photon_noise_is_seeded(frame, shape):
    a, b, c = (inject(frame, shape, 2e4, 1.32, 4.7, np.random.default_rng(s), HALF).data for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_frame_without_calibration_gets_no_photon_noise(frame, shape):
    bare = Frame(frame.data, frame.wcs, "bare", None)
    noisy = inject(bare, shape, 2e4, 1.32, 4.7, np.random.default_rng(0), HALF)
    clean = inject(bare, shape, 2e4, 1.32, None, np.random.default_rng(0), HALF)
    np.testing.assert_array_equal(noisy.data, clean.data)
    assert noisy.nmgy is None


def test_part_near_the_edge_is_clipped_to_the_frame(frame):
    pixel = (3.2, 196.6)
    ra, dec = frame.wcs.all_pix2world([pixel], 0)[0]
    galaxy = GalaxyShape(ra, dec, 0.8, 1.0, 1.0, 0.0)
    part = inject(frame, galaxy, 100.0, 1.32, None, np.random.default_rng(0), HALF)
    x0, x1, y0, y1 = region = _region(pixel, HALF)
    assert (x0, x1, y0, y1) == (0, 24, 177, 200) and part.data.shape == (23, 24)
    np.testing.assert_allclose(part.data - frame.data[y0:y1, x0:x1],
                               render_galaxy(galaxy, 100.0, frame.wcs, region, 1.32), atol=1e-4)


@pytest.mark.parametrize("pixel", [(-0.6, 100.0), (100.0, 199.5), (250.0, 250.0)])
def test_galaxy_off_the_frame_is_an_error(frame, pixel):
    ra, dec = frame.wcs.all_pix2world([pixel], 0)[0]
    galaxy = GalaxyShape(ra, dec, 1.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=re.escape(f"galaxy at RA {ra:.6f}, Dec {dec:+.6f} is not on frame r")):
        inject(frame, galaxy, 100.0, 1.32, 4.7, np.random.default_rng(0), HALF)


def test_galaxy_far_away_names_its_position(frame):
    with pytest.raises(ValueError, match="galaxy at RA 10.000000, Dec -5.000000 is not on frame r"):
        inject(frame, GalaxyShape(10.0, -5.0, 1.0, 1.0, 1.0, 0.0), 100.0, 1.32, None, np.random.default_rng(0), HALF)
