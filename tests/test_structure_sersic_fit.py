"""The classical baseline: a PSF-convolved Sérsic fit with astropy.modeling recovers the parameters it rendered."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from astro_cnn_structure import sersic_fit
from astro_cnn_structure.sersic_fit import PSFConvolvedSersic2D, fit_sersic, fit_stacks

SCALE, FWHM, SIDE = 0.396, 1.2, 48
GRID = np.mgrid[:SIDE, :SIDE].astype(float)


def _render(n, r_eff, q, theta, x_0=23.6, y_0=23.3, amplitude=1.0, fwhm=FWHM):
    model = PSFConvolvedSersic2D(fwhm / SCALE / 2.3548, 3, amplitude=amplitude, r_eff=r_eff, n=n, x_0=x_0, y_0=y_0,
                                 ellip=1 - q, theta=theta)
    return model(GRID[1], GRID[0])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.floats(0.5, 6.0), r_eff=st.floats(2.5, 8.0), q=st.floats(0.3, 1.0), theta=st.floats(-3.1, 3.1))
@example(n=4.8363899263117185, r_eff=6.072031188894101, q=1.0, theta=0.0)  # round: Levenberg-Marquardt ran out of steps
@example(n=1.0, r_eff=3.0, q=0.96875, theta=0.0)  # nearly round: Levenberg-Marquardt stuck at ellipticity 0
def test_noiseless_renders_are_recovered(n, r_eff, q, theta):
    fit = fit_sersic(_render(n, r_eff, q, theta), FWHM, SCALE)
    assert fit.status == ""
    assert fit.sersic_n == pytest.approx(n, rel=0.05)
    assert fit.r_e == pytest.approx(r_eff * SCALE, rel=0.03)
    assert fit.q == pytest.approx(q, abs=0.02)


def test_a_neighbour_is_masked():
    rng = np.random.default_rng(3)
    image = _render(2.0, 4.0, 0.6, 0.4) + _render(1.0, 2.0, 0.9, 0.0, x_0=40.0, y_0=8.0, amplitude=3.0)
    image += rng.normal(0, 2e-3, image.shape)
    fit = fit_sersic(image, FWHM, SCALE)
    assert fit.sersic_n == pytest.approx(2.0, rel=0.1) and fit.r_e == pytest.approx(4.0 * SCALE, rel=0.05)


def test_blank_image_is_flagged_not_measured():
    fit = fit_sersic(np.random.default_rng(0).normal(0, 1, (SIDE, SIDE)), FWHM, SCALE)
    assert fit.status == "no source detected at the centre" and np.isnan(fit.sersic_n)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="finite 2-d"):
        fit_sersic(np.full((SIDE, SIDE), np.nan), FWHM, SCALE)
    with pytest.raises(ValueError, match="psf_fwhm"):
        fit_sersic(np.zeros((SIDE, SIDE)), 0.0, SCALE)
    with pytest.raises(ValueError, match="2 values for 3 stacks"):
        fit_stacks(np.zeros((3, 5, SIDE, SIDE)), [1.0, 1.2])


def test_fit_stacks_fits_the_chosen_band_and_flags_unusable_stacks(monkeypatch):
    stacks = np.zeros((2, 5, SIDE, SIDE))
    stacks[0, 2] = _render(1.0, 4.0, 0.7, 0.2)
    stacks[1, 2] = np.nan
    # a stand-in clock, not a timing: it reads `before` ahead of the fits and `after` once they are done, so the
    # duration fit_stacks reports must be exactly the difference, whatever the machine
    before, after = 10.0, 12.5
    monkeypatch.setattr(sersic_fit, "time", SimpleNamespace(perf_counter=iter([before, after]).__next__))
    values, status, reported = fit_stacks(stacks, FWHM, band=2, pixel_scale=SCALE)
    np.testing.assert_allclose(values[0], [1.0, 4.0 * SCALE, 0.7], rtol=0.03)
    assert status[1] == "image has non-finite pixels" and np.isnan(values[1]).all()
    assert reported == after - before
