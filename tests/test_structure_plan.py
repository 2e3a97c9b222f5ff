"""Injection plans with continuously drawn Sérsic shapes (``structure="continuous"``), on the committed real frames."""

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import astro_cnn_injection.plan as plan_module
from astro_cnn_injection.plan import (
    MIN_CONTINUOUS_RADIUS,
    SERSIC_N_RANGE,
    SIZE_TABLE_N,
    plan_injections,
)

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: PSF FWHM (arcsec) of field 3918-3-213 (the committed crops hold too few stars to measure it).
FIELD_PSF = {"u": 1.36, "g": 1.21, "r": 1.16, "i": 1.05, "z": 1.03}


def _galaxies(n, seed=0):
    rng = np.random.default_rng(seed)
    r = rng.uniform(15.0, 18.0, n)
    red = np.arange(n) % 2 == 0
    return Table({"u": r + np.where(red, rng.uniform(2.4, 3.2, n), rng.uniform(1.0, 2.0, n)),
                  "g": r + 0.6, "r": r, "i": r - 0.3, "z": r - 0.5, "redshift": rng.uniform(0.02, 0.35, n)})


@pytest.fixture
def fast_sizes(monkeypatch):
    """The Petrosian conversion takes seconds per Sérsic index to tabulate: stand in R50 itself, recording the n."""
    seen = []

    def intrinsic(r50, n, psf):
        seen.append(np.asarray(n))
        return np.asarray(r50, float)

    monkeypatch.setattr(plan_module, "intrinsic_radius", intrinsic)
    return seen


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), count=st.integers(1, 80))
def test_continuous_shapes_stay_in_their_ranges(fast_sizes, seed, count):
    plan = plan_injections(_galaxies(count, seed), FRAMES, seed=seed, size=32, psf_fwhm=FIELD_PSF,
                           structure="continuous")
    n = np.asarray(plan["sersic_n"])
    assert np.all((n >= SERSIC_N_RANGE[0]) & (n <= SERSIC_N_RANGE[1]))
    assert np.all(np.asarray(plan["half_light_radius"]) >= MIN_CONTINUOUS_RADIUS)
    q = np.asarray(plan["axis_ratio"])
    assert np.all((q > 0) & (q <= 1))
    assert set(np.unique(fast_sizes[-1])) <= set(SIZE_TABLE_N)  # sizes converted at tabulated indices
    assert plan.meta["injection"]["structure"] == "continuous"


def test_continuous_n_is_log_uniform(fast_sizes):
    plan = plan_injections(_galaxies(2000, 1), FRAMES, seed=3, size=32, psf_fwhm=FIELD_PSF, structure="continuous")
    log_n = np.log10(np.asarray(plan["sersic_n"]))
    counts, _ = np.histogram(log_n, bins=5, range=np.log10(SERSIC_N_RANGE))
    assert counts.min() > 0.8 * counts.mean()


def test_default_plans_are_drawn_as_before(fast_sizes):
    galaxies = _galaxies(40, 2)
    typed = plan_injections(galaxies, FRAMES, seed=5, size=32, psf_fwhm=FIELD_PSF)
    assert set(np.unique(typed["sersic_n"])) <= {1.0, 4.0} and typed.meta["injection"]["structure"] == "types"
    continuous = plan_injections(galaxies, FRAMES, seed=5, size=32, psf_fwhm=FIELD_PSF, structure="continuous")
    np.testing.assert_array_equal(typed["ra"], continuous["ra"])  # same positions, only the shapes differ


def test_unknown_structure_is_refused():
    with pytest.raises(ValueError, match="structure must be"):
        plan_injections(_galaxies(2), FRAMES, psf_fwhm=FIELD_PSF, structure="spiral")
