"""Sérsic profiles rendered through a real SDSS frame's WCS: flux, centre, half-light radius, orientation, PSF."""

from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammainc

from astro_cnn_injection.profiles import GalaxyShape, render_galaxy, sersic_b
from astro_cnn_sdss.frames import read_frame

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: Frame pixel (0-based) the test galaxies are centred on: off the pixel grid on purpose.
CENTRE = (100.3, 99.7)
#: SDSS pixel scale (arcsec).
SCALE = 0.396


@pytest.fixture(scope="module")
def wcs():
    """The real r-band WCS of field 3918-3-213 (rotated about 56 degrees from north-up)."""
    return read_frame((FRAMES / "frame-r-003918-3-0213.fits.bz2").read_bytes(), "r").wcs


@pytest.fixture(scope="module")
def centre(wcs):
    return tuple(wcs.all_pix2world([CENTRE], 0)[0])


def _pixels(region):
    x0, x1, y0, y1 = region
    return np.mgrid[y0:y1, x0:x1]


def _sky_offsets(wcs, region, ra, dec):
    """(east, north) offsets in arcsec of every pixel centre of ``region`` from (ra, dec)."""
    yy, xx = _pixels(region)
    sky = wcs.all_pix2world(np.column_stack([xx.ravel(), yy.ravel()]), 0)
    east = (sky[:, 0] - ra) * np.cos(np.radians(dec)) * 3600
    north = (sky[:, 1] - dec) * 3600
    return east.reshape(xx.shape), north.reshape(xx.shape)


def _moments(image, east, north):
    w = image / image.sum()
    e0, n0 = (w * east).sum(), (w * north).sum()
    return (w * (east - e0) ** 2).sum(), (w * (north - n0) ** 2).sum(), (w * (east - e0) * (north - n0)).sum()


@pytest.mark.parametrize("n, b", [(1, 1.678), (2, 3.672), (4, 7.669)])
def test_sersic_b_encloses_half_the_light(n, b):
    assert sersic_b(n) == pytest.approx(b, abs=5e-4)
    # L(<r_e) / L = P(2n, b_n) for a Sérsic profile
    assert gammainc(2 * n, sersic_b(n)) == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"axis_ratio": 0.0}, "axis_ratio must be in \\(0, 1\\], got 0.0"),
    ({"axis_ratio": 1.2}, "axis_ratio must be in \\(0, 1\\], got 1.2"),
    ({"axis_ratio": -0.3}, "axis_ratio"),
    ({"half_light_radius": 0.0}, "half_light_radius and sersic_n must be positive"),
    ({"sersic_n": -1.0}, "half_light_radius and sersic_n must be positive"),
])
def test_galaxy_shape_rejects_bad_values(kwargs, message):
    good = {"ra": 10.0, "dec": 0.0, "half_light_radius": 1.0, "sersic_n": 1.0, "axis_ratio": 0.5,
            "position_angle": 0.0}
    with pytest.raises(ValueError, match=message):
        GalaxyShape(**{**good, **kwargs})


def test_galaxy_shape_keeps_floats():
    shape = GalaxyShape(10, -5, 2, 4, 1, 45)
    assert (shape.ra, shape.dec, shape.half_light_radius, shape.sersic_n, shape.axis_ratio,
            shape.position_angle) == (10.0, -5.0, 2.0, 4.0, 1.0, 45.0)
    assert isinstance(shape.sersic_n, float)


@pytest.mark.parametrize("n", [1, 4])
def test_flux_is_conserved(wcs, centre, n):
    region = (40, 160, 45, 155)
    model = render_galaxy(GalaxyShape(*centre, 0.6, n, 0.7, 30.0), 123.0, wcs, region, 1.32)
    assert model.shape == (110, 120) and model.dtype == np.float32
    assert model.sum() == pytest.approx(123.0, rel=1e-3)
    assert model.min() >= 0


def test_centroid_lands_on_the_wcs_position(wcs, centre):
    region = (60, 141, 60, 141)
    model = render_galaxy(GalaxyShape(*centre, 1.5, 1.0, 0.5, 30.0), 10.0, wcs, region, 1.32).astype(float)
    yy, xx = _pixels(region)
    cx, cy = (model * xx).sum() / model.sum(), (model * yy).sum() / model.sum()
    assert abs(cx - CENTRE[0]) < 0.05 and abs(cy - CENTRE[1]) < 0.05
    assert np.unravel_index(model.argmax(), model.shape) == (round(CENTRE[1]) - 60, round(CENTRE[0]) - 60)


def test_half_the_light_lies_within_the_half_light_radius(wcs, centre):
    region = (40, 160, 40, 160)
    r_e = 4.0
    model = render_galaxy(GalaxyShape(*centre, r_e, 1.0, 1.0, 0.0), 1.0, wcs, region, 0.01, oversample=8)
    yy, xx = _pixels(region)
    radius = np.hypot(xx - CENTRE[0], yy - CENTRE[1]) * SCALE
    assert model[radius < r_e].sum() == pytest.approx(0.5, abs=0.03)
    assert model[radius < 2 * r_e].sum() == pytest.approx(gammainc(2, 2 * sersic_b(1)), abs=0.03)


@pytest.mark.parametrize("angle, along", [(0.0, "north"), (90.0, "east"), (180.0, "north")])
def test_position_angle_is_east_of_north_on_the_sky(wcs, centre, angle, along):
    region = (50, 151, 50, 151)
    model = render_galaxy(GalaxyShape(*centre, 2.0, 1.0, 0.4, angle), 1.0, wcs, region, 0.5).astype(float)
    var_e, var_n, cov = _moments(model, *_sky_offsets(wcs, region, *centre))
    major, minor = (var_n, var_e) if along == "north" else (var_e, var_n)
    assert major > 4 * minor
    assert abs(cov) < 0.01 * major


def test_position_angle_45_points_north_east(wcs, centre):
    region = (50, 151, 50, 151)
    east, north = _sky_offsets(wcs, region, *centre)
    ne = _moments(render_galaxy(GalaxyShape(*centre, 2.0, 1.0, 0.4, 45.0), 1.0, wcs, region, 0.5), east, north)
    nw = _moments(render_galaxy(GalaxyShape(*centre, 2.0, 1.0, 0.4, 135.0), 1.0, wcs, region, 0.5), east, north)
    assert ne[2] > 0.4 * ne[0] and nw[2] < -0.4 * nw[0]
    assert ne[0] == pytest.approx(ne[1], rel=0.02)


def test_axis_ratio_shows_in_the_second_moments(wcs, centre):
    region = (30, 171, 30, 171)
    model = render_galaxy(GalaxyShape(*centre, 2.0, 1.0, 0.5, 0.0), 1.0, wcs, region, 0.01).astype(float)
    var_e, var_n, _ = _moments(model, *_sky_offsets(wcs, region, *centre))
    assert np.sqrt(var_e / var_n) == pytest.approx(0.5, rel=0.03)


def test_psf_width_is_in_arcsec(wcs, centre):
    region = (70, 131, 70, 131)
    fwhm = 1.32
    model = render_galaxy(GalaxyShape(*centre, 0.05, 1.0, 1.0, 0.0), 1.0, wcs, region, fwhm).astype(float)
    var_e, var_n, _ = _moments(model, *_sky_offsets(wcs, region, *centre))
    # Gaussian PSF, plus the pixel's own 1/12 px^2 and the tiny exponential's 3 h^2 per axis
    expected = (fwhm / 2.3548) ** 2 + SCALE**2 / 12 + 3 * (0.05 / 1.678) ** 2
    assert var_e == pytest.approx(expected, rel=0.03) and var_n == pytest.approx(expected, rel=0.03)
