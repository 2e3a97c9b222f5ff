"""Scaling relations of the injection plugin: Shen et al. (2003) sizes, Strateva et al. (2001) types, Taylor masses."""

import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM

from astro_cnn_injection.relations import (
    COSMOLOGY,
    EARLY_TYPE_U_R,
    absolute_magnitude,
    half_light_radius_arcsec,
    half_light_radius_kpc,
    is_early_type,
    size_scatter_ln,
    stellar_mass_taylor2011,
)

#: The papers' cosmology, built independently of the plugin's constant.
COSMO = FlatLambdaCDM(H0=70, Om0=0.3)


def test_cosmology_is_the_papers():
    assert COSMOLOGY.H0.value == 70 and COSMOLOGY.Om0 == 0.3
    assert COSMOLOGY.distmod(0.1).value == pytest.approx(COSMO.distmod(0.1).value, abs=1e-9)


def test_early_type_threshold_is_u_minus_r_2_22():
    assert EARLY_TYPE_U_R == 2.22
    u = np.array([2.22, 2.2199, 3.0, 1.0, 20.0])
    r = np.array([0.0, 0.0, 0.0, 0.0, 17.5])
    np.testing.assert_array_equal(is_early_type(u, r), [True, False, True, False, True])


def test_absolute_magnitude_uses_the_distance_modulus():
    z = np.array([0.05, 0.1, 0.3])
    expected = 17.0 - COSMO.distmod(z).value
    np.testing.assert_allclose(absolute_magnitude(np.full(3, 17.0), z), expected, atol=1e-9)
    assert absolute_magnitude(17.0, 0.1) == pytest.approx(17.0 - 38.3, abs=0.05)


def test_absolute_magnitude_floors_the_redshift():
    assert absolute_magnitude(17.0, 0.0) == pytest.approx(17.0 - COSMO.distmod(1e-3).value, abs=1e-9)
    assert absolute_magnitude(17.0, -0.01) == absolute_magnitude(17.0, 0.0)


def test_late_type_size_at_the_knee():
    expected = 10 ** (0.4 * 0.21 * 20.52 + 0.32 * np.log10(2) - 1.31)
    assert half_light_radius_kpc(-20.52, False) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(3.236, abs=0.001)


def test_late_type_size_away_from_the_knee():
    m = np.array([-18.0, -22.5])
    expected = 10 ** (-0.4 * 0.21 * m + 0.32 * np.log10(1 + 10 ** (-0.4 * (m + 20.52))) - 1.31)
    np.testing.assert_allclose(half_light_radius_kpc(m, np.array([False, False])), expected, rtol=1e-12)
    # bright discs follow the steeper slope beta = 0.53: d log R / dM -> -0.4 * 0.53
    slope = np.diff(np.log10(half_light_radius_kpc(np.array([-30.0, -29.0]), False)))[0]
    assert slope == pytest.approx(-0.4 * 0.53, abs=1e-3)


def test_early_type_size():
    assert half_light_radius_kpc(-21.0, True) == pytest.approx(10 ** (0.4 * 0.65 * 21 - 5.06), rel=1e-12)
    sizes = half_light_radius_kpc(np.array([-21.0, -21.0]), np.array([True, False]))
    assert sizes[0] == pytest.approx(10 ** 0.4, rel=1e-12) and sizes[1] > sizes[0]


def test_size_scatter_limits():
    assert size_scatter_ln(-20.52) == pytest.approx(0.25 + 0.23 / 2, rel=1e-12)
    assert size_scatter_ln(-30.0) == pytest.approx(0.25, abs=1e-6)
    assert size_scatter_ln(-10.0) == pytest.approx(0.48, abs=1e-6)
    m = np.array([-19.0, -22.0])
    np.testing.assert_allclose(size_scatter_ln(m), 0.25 + 0.23 / (1 + 10 ** (-0.8 * (m + 20.52))), rtol=1e-12)
    assert size_scatter_ln(-19.0) > size_scatter_ln(-22.0)


def test_angular_size_is_the_physical_size_over_the_angular_diameter_distance():
    r, z = 17.0, 0.1
    kpc = half_light_radius_kpc(r - COSMO.distmod(z).value, False)
    arcsec = kpc / COSMO.angular_diameter_distance(z).to_value("kpc") * 206264.806
    assert half_light_radius_arcsec(r, z, False) == pytest.approx(arcsec, rel=1e-6)
    assert arcsec == pytest.approx(2.35, abs=0.01)


def test_angular_size_shrinks_with_redshift_at_fixed_luminosity():
    z = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
    r = -21.0 + COSMO.distmod(z).value
    for early in (False, True):
        sizes = half_light_radius_arcsec(r, z, np.full(5, early))
        assert np.all(np.diff(sizes) < 0), early
        assert np.all((sizes > 0.3) & (sizes < 12.0)), early


def test_angular_size_is_clipped():
    z = np.array([0.001, 0.4, 0.1])
    sizes = half_light_radius_arcsec(np.array([10.0, 24.0, 17.0]), z, np.array([True, False, False]))
    assert sizes[0] == 12.0 and sizes[1] == 0.3 and 0.3 < sizes[2] < 12.0
    narrow = half_light_radius_arcsec(np.array([10.0, 24.0]), z[:2], np.array([True, False]), limits=(1.0, 5.0))
    np.testing.assert_array_equal(narrow, [5.0, 1.0])


def test_angular_size_scatter_is_log_normal_with_shen_sigma():
    n = 20000
    r, z = np.full(n, 17.0), np.full(n, 0.1)
    median = half_light_radius_arcsec(r, z, np.zeros(n, bool))
    scattered = half_light_radius_arcsec(r, z, np.zeros(n, bool), np.random.default_rng(5))
    ln_ratio = np.log(scattered / median)
    sigma = size_scatter_ln(17.0 - COSMO.distmod(0.1).value)
    assert sigma == pytest.approx(0.293, abs=0.001)
    assert abs(ln_ratio.mean()) < 0.01
    assert ln_ratio.std() == pytest.approx(sigma, rel=0.03)
    again = half_light_radius_arcsec(r, z, np.zeros(n, bool), np.random.default_rng(5))
    np.testing.assert_array_equal(again, scattered)


def test_stellar_mass_taylor2011():
    g, i, z = np.array([17.5, 18.0]), np.array([16.3, 17.6]), np.array([0.08, 0.25])
    m_i = i - COSMO.distmod(z).value
    expected = 1.15 + 0.70 * (g - i) - 0.4 * m_i
    np.testing.assert_allclose(stellar_mass_taylor2011(g, i, z), expected, atol=1e-9)
    # redder at the same i-band luminosity means more mass: 0.7 dex per magnitude of g - i
    redder = stellar_mass_taylor2011(g + 1.0, i, z)
    np.testing.assert_allclose(redder - expected, 0.7, atol=1e-9)
    assert 10.5 < expected[0] < 11.5
