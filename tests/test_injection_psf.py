"""Each frame's own PSF, measured from its stars: synthetic stars of known width, the real SDSS fields, the cache."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from astropy.wcs import WCS
from photutils.psf import fit_fwhm

from astro_cnn.target import TargetList
from astro_cnn_injection.plan import plan_injections
from astro_cnn_injection.psf import PSFCache, measure_psf, pixel_scale
from astro_cnn_injection.survey import SDSSInjectedSurvey
from astro_cnn_sdss.frames import Frame, read_frame
from astro_cnn_sdss.surveys import SDSSStackSurvey

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss_dr17_frames_ugriz_4fields"
FIELDS = ("001992-1-0087", "003184-2-0169", "003918-3-0213", "004510-4-0030")
needs_frames = pytest.mark.skipif(not SHARED.is_dir(), reason="the project's real SDSS frames are not here")
SCALE = 0.396


def _wcs(scale=SCALE):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [200.0, 200.0]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    return wcs


def _sky(n_stars, fwhm_pixels, n_galaxies=0, seed=0, size=400):
    """Noise of σ 1 with ``n_stars`` Gaussian stars (peaks 100-1000) and round galaxies of FWHM 9 px."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(size=(size, size))
    for k in range(n_stars + n_galaxies):
        width = fwhm_pixels if k < n_stars else 9.0
        sigma = width / 2.3548
        x, y = rng.uniform(20, size - 20, 2)
        image += rng.uniform(100, 1000) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return image


def test_pixel_scale():
    assert pixel_scale(_wcs(0.25)) == pytest.approx(0.25)


def test_stars_of_known_width_are_measured():
    measured = measure_psf(_sky(40, 3.2, n_galaxies=6), _wcs())
    assert measured.fwhm_pixels == pytest.approx(3.2, rel=0.03)
    assert measured.fwhm == pytest.approx(3.2 * SCALE, rel=0.03)
    assert measured.n_stars >= 20 and measured.scatter < 0.1


def test_a_broader_psf_is_measured_broader():
    assert measure_psf(_sky(40, 4.5, seed=1), _wcs()).fwhm_pixels == pytest.approx(4.5, rel=0.03)


def test_too_few_stars_is_an_error():
    with pytest.raises(ValueError, match="a PSF needs at least 5"):
        measure_psf(_sky(2, 3.0), _wcs())


def test_cache_measures_each_frame_once_and_names_failures():
    cache = PSFCache()
    frame = Frame(_sky(40, 3.0).astype(np.float32), _wcs(), "frame-a")
    first = cache.get(frame)
    assert cache.get(Frame(np.zeros((10, 10), np.float32), _wcs(), "frame-a")) is first
    assert len(cache) == 1
    with pytest.raises(ValueError, match="frame-b: cannot measure its PSF"):
        cache.get(Frame(_sky(1, 3.0).astype(np.float32), _wcs(), "frame-b"))


@needs_frames
def test_real_frames_have_their_own_psf():
    """The r-band PSFs of the four fields are 1.0-1.5" and differ by more than 0.3" (one fixed PSF cannot fit all)."""
    widths = []
    for field in FIELDS:
        path = SHARED / f"frame-r-{field}.fits.bz2"
        frame = read_frame(path.read_bytes(), str(path))
        measured = measure_psf(frame.data, frame.wcs)
        assert 1.0 < measured.fwhm < 1.5 and measured.n_stars >= 20 and measured.scatter < 0.1
        widths.append(measured.fwhm)
    assert max(widths) - min(widths) > 0.3


@needs_frames
def test_injected_point_sources_have_the_frame_psf(tmp_path):
    """A point-like galaxy injected into field 3918-3-213 has the FWHM of that frame's stars in the stack."""
    for band in "ugriz":
        shutil.copy(SHARED / f"frame-{band}-003918-3-0213.fits.bz2", tmp_path)
    galaxies = Table({"u": [18.0], "g": [17.0], "r": [16.5], "i": [16.3], "z": [16.2], "redshift": [0.05]})
    plan = plan_injections(galaxies, tmp_path, seed=2, size=48)
    frame = read_frame((tmp_path / "frame-r-003918-3-0213.fits.bz2").read_bytes(), "r")
    stars = measure_psf(frame.data, frame.wcs).fwhm
    assert plan["psf_fwhm_r"][0] == pytest.approx(stars)
    assert plan.meta["injection"]["psf"] == "measured from each frame's stars"
    plan["half_light_radius"] = 0.01
    options = {"frames_dir": tmp_path, "offline": True, "cache_dir": tmp_path / "cache"}
    targets = TargetList.from_table(plan)
    injected = SDSSInjectedSurvey(plan=plan, photon_noise=False, **options).cutouts(targets, size=48).images
    light = (injected - SDSSStackSurvey(**options).cutouts(targets, size=48).images)[0, 2].astype(float)
    fitted = float(np.asarray(fit_fwhm(light, fit_shape=15, fwhm=3.0))[0]) * SCALE
    assert fitted == pytest.approx(stars, rel=0.05)
