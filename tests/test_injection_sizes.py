"""Sizes as Shen et al. (2003) measure them: Petrosian R50 through the seeing, inverted to the intrinsic Sérsic r_e."""


import numpy as np
import pytest
from astropy.wcs import WCS

from astro_cnn_injection.profiles import GalaxyShape, render_galaxy
from astro_cnn_injection.sizes import intrinsic_radius, measure_petrosian_r50, petrosian_r50, petrosian_r50_ratio

SCALE = 0.396
#: An r-band seeing of the project's frames (arcsec).
FWHM = 1.16


@pytest.fixture(scope="module")
def wcs():
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [150.5, 150.5]
    wcs.wcs.cdelt = [-SCALE / 3600, SCALE / 3600]
    return wcs


def _measured(wcs, r_e, n, fwhm=FWHM):
    """Petrosian R50 (arcsec) measured on a round Sérsic galaxy rendered through a Gaussian PSF."""
    image = render_galaxy(GalaxyShape(150.0, 2.0, r_e, n, 1.0, 0.0), 1.0, wcs, (0, 300, 0, 300), fwhm, oversample=6)
    centre = wcs.all_world2pix([[150.0, 2.0]], 0)[0]
    return measure_petrosian_r50(image.astype(float), *centre) * SCALE


def test_known_limits_of_the_ratio():
    assert petrosian_r50_ratio(1.0, 0.0) == pytest.approx(0.994, abs=0.003)  # discs: Petrosian R50 ≈ r_e
    assert petrosian_r50_ratio(4.0, 0.0) == pytest.approx(0.713, abs=0.01)  # de Vaucouleurs: Petrosian misses wings
    for n in (1.0, 4.0):
        assert petrosian_r50_ratio(n, 50.0) / 50.0 == pytest.approx(0.5, rel=0.01)  # point source: half the FWHM


def test_intrinsic_radius_inverts_petrosian_r50():
    r50 = np.array([0.7, 1.0, 2.0, 5.0, 10.0, 0.7, 1.5, 3.0, 8.0])
    n = np.array([1, 1, 1, 1, 1, 4, 4, 4, 4], float)
    r_e = intrinsic_radius(r50, n, FWHM)
    np.testing.assert_allclose(petrosian_r50(r_e, n, FWHM), r50, rtol=1e-3)


def test_unresolved_sizes_stop_at_the_smallest_profile():
    r_e = intrinsic_radius(np.array([0.3, 0.4]), np.array([1.0, 1.0]), FWHM)
    np.testing.assert_allclose(r_e, FWHM / 50.0)


@pytest.mark.parametrize(("n", "r50"), [(1.0, 1.0), (1.0, 2.5), (4.0, 1.5), (4.0, 3.0)])
def test_rendered_galaxies_have_the_wanted_petrosian_r50(wcs, n, r50):
    """With r_e from the conversion the measured R50 is the wanted one within 4 % (r_e = R50 was 8-25 % off)."""
    r_e = float(intrinsic_radius(r50, n, FWHM))
    assert _measured(wcs, r_e, n) == pytest.approx(r50, rel=0.04)


@pytest.mark.parametrize(("n", "r50"), [(1.0, 1.0), (4.0, 3.0)])
def test_using_r50_as_r_e_misses_the_relation(wcs, n, r50):
    assert abs(_measured(wcs, r50, n) / r50 - 1) > 0.08


def test_measured_r50_of_a_point_source_is_half_the_fwhm(wcs):
    assert _measured(wcs, 0.01, 1.0, fwhm=2.0) == pytest.approx(1.0, rel=0.03)


def test_measurement_needs_room():
    yy, xx = np.mgrid[:21, :21]
    broad = np.exp(-((xx - 10) ** 2 + (yy - 10) ** 2) / (2 * 8.0**2))
    with pytest.raises(ValueError, match="Petrosian"):
        measure_petrosian_r50(broad, 10.0, 10.0)
