"""Injection plans on the committed real frames: selection, reproducible placement inside every band, shapes, masses."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn.exceptions import ColumnError
from astro_cnn_injection.plan import BANDS, PLAN_COLUMNS, plan_injections, read_plan, select_galaxies
from astro_cnn_injection.relations import (
    absolute_magnitude,
    half_light_radius_arcsec,
    size_scatter_ln,
    stellar_mass_taylor2011,
)
from astro_cnn_injection.sizes import petrosian_r50
from astro_cnn_sdss.frames import LocalFrameIndex

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: PSF FWHM (arcsec) measured from the stars of the full frames of field 3918-3-213; the committed crops hold too few.
FIELD_PSF = {"u": 1.36, "g": 1.21, "r": 1.16, "i": 1.05, "z": 1.03}
SIZE = 32
#: Pixels kept clear around each position for a SIZE-pixel stack at 0.396"/px (the stack's half diagonal + 10).
MARGIN = 0.5 * SIZE * np.sqrt(2.0) + 10


def _galaxies(n, seed=0):
    """``n`` plausible galaxies: r 15-18, 0.02 < z < 0.35, half of them red (u - r > 2.22)."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(15.0, 18.0, n)
    red = np.arange(n) % 2 == 0
    u = r + np.where(red, rng.uniform(2.4, 3.2, n), rng.uniform(1.0, 2.0, n))
    return Table({"objid": 1000 + np.arange(n), "u": u, "g": r + rng.uniform(0.4, 1.0, n), "r": r,
                  "i": r - rng.uniform(0.2, 0.5, n), "z": r - rng.uniform(0.3, 0.7, n),
                  "redshift": rng.uniform(0.02, 0.35, n)})


@pytest.fixture(scope="module")
def galaxies():
    return _galaxies(60)


@pytest.fixture(scope="module")
def plan(galaxies):
    return plan_injections(galaxies, FRAMES, seed=7, size=SIZE, psf_fwhm=FIELD_PSF)


@pytest.fixture(scope="module")
def fields():
    return LocalFrameIndex(FRAMES).fields()


def test_select_galaxies_keeps_galaxies_with_redshift_and_photometry():
    catalog = Table({
        "class": ["GALAXY", "STAR", "QSO", "GALAXY", "GALAXY", "GALAXY", " GALAXY ", "GALAXY", "GALAXY"],
        "redshift": [0.1, 0.1, 0.1, 0.0, 0.4, 0.39, 0.2, 0.2, -0.01],
        "u": [18.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0, np.nan, 18.0],
        "g": [17.0] * 9, "r": [16.0] * 9, "i": [15.5] * 9, "z": [15.2] * 9,
        "row": np.arange(9),
    })
    kept = select_galaxies(catalog)
    assert list(kept["row"]) == [0, 5, 6]
    assert list(select_galaxies(catalog, z_range=(0.15, 0.5))["row"]) == [4, 5, 6]
    assert list(select_galaxies(catalog, class_column=None)["row"]) == [0, 1, 2, 5, 6]


def test_select_galaxies_with_other_column_names():
    catalog = Table({"cls": ["GALAXY", "STAR"], "zspec": [0.1, 0.1], "mu": [18.0, 18.0], "mr": [16.0, 16.0]})
    kept = select_galaxies(catalog, redshift_column="zspec", class_column="cls", magnitude_columns=["mu", "mr"])
    assert len(kept) == 1 and kept["cls"][0] == "GALAXY"


def test_select_galaxies_names_missing_columns():
    catalog = Table({"class": ["GALAXY"], "redshift": [0.1], "u": [18.0], "g": [17.0], "r": [16.0]})
    with pytest.raises(ColumnError, match="catalogue lacks column\\(s\\) i, z; it has: class, redshift, u, g, r"):
        select_galaxies(catalog)
    with pytest.raises(ColumnError, match="lacks column\\(s\\) class"):
        select_galaxies(Table({"redshift": [0.1], **{b: [17.0] for b in BANDS}}))


def test_plan_has_every_column_row_for_row(plan, galaxies):
    assert plan.colnames == list(PLAN_COLUMNS)
    assert len(plan) == len(galaxies)
    np.testing.assert_array_equal(plan["id"], np.arange(len(galaxies)))
    for band in BANDS:
        np.testing.assert_array_equal(plan[f"mag_{band}"], galaxies[band])
    np.testing.assert_array_equal(plan["redshift"], galaxies["redshift"])
    assert set(plan["field"]) == {"003918-3-0213"}
    assert plan["ra"].unit == "deg" and plan["half_light_radius"].unit == "arcsec"
    assert plan.meta["injection"]["seed"] == 7 and plan.meta["injection"]["size"] == SIZE
    assert len(plan.meta["injection"]["frames"]) == 1


def test_plan_copies_an_id_column(galaxies):
    plan = plan_injections(galaxies[:3], FRAMES, size=SIZE, id_column="objid", psf_fwhm=FIELD_PSF)
    assert list(plan["id"]) == [1000, 1001, 1002]


def test_plan_is_reproducible_for_a_seed(plan, galaxies):
    again = plan_injections(galaxies, FRAMES, seed=7, size=SIZE, psf_fwhm=FIELD_PSF)
    for column in PLAN_COLUMNS:
        np.testing.assert_array_equal(again[column], plan[column], err_msg=column)
    other = plan_injections(galaxies, FRAMES, seed=8, size=SIZE, psf_fwhm=FIELD_PSF)
    for column in ("ra", "dec", "half_light_radius", "axis_ratio", "position_angle"):
        assert not np.any(other[column] == plan[column]), column
    np.testing.assert_array_equal(other["log_mstar"], plan["log_mstar"])


def test_positions_lie_the_margin_inside_all_five_bands(plan, fields):
    bands = next(iter(fields.values()))
    assert sorted(bands) == sorted(BANDS)
    for band, (_, wcs, (ny, nx)) in bands.items():
        x, y = wcs.all_world2pix(np.column_stack([plan["ra"], plan["dec"]]), 0).T
        assert np.all((x >= MARGIN) & (x <= nx - 1 - MARGIN)), band
        assert np.all((y >= MARGIN) & (y <= ny - 1 - MARGIN)), band


def test_positions_spread_over_the_allowed_area(plan, fields):
    _, wcs, (ny, nx) = next(iter(fields.values()))["r"]
    x, y = wcs.all_world2pix(np.column_stack([plan["ra"], plan["dec"]]), 0).T
    assert x.max() - x.min() > 0.7 * (nx - 1 - 2 * MARGIN)
    assert y.max() - y.min() > 0.7 * (ny - 1 - 2 * MARGIN)
    assert len(np.unique(np.round(plan["ra"], 7))) == len(plan)


def test_a_larger_stack_needs_a_larger_margin(galaxies, fields):
    plan = plan_injections(galaxies[:20], FRAMES, seed=1, size=64, psf_fwhm=FIELD_PSF)
    margin = 32 * np.sqrt(2.0) + 10
    for band, (_, wcs, (ny, nx)) in next(iter(fields.values())).items():
        x, y = wcs.all_world2pix(np.column_stack([plan["ra"], plan["dec"]]), 0).T
        assert np.all((x >= margin) & (x <= nx - 1 - margin) & (y >= margin) & (y <= ny - 1 - margin)), band


def test_frames_too_small_for_the_stack(galaxies):
    with pytest.raises(ValueError, match="frames too small for the margin"):
        plan_injections(galaxies[:1], FRAMES, size=126, scale=0.397, psf_fwhm=FIELD_PSF)


def test_profiles_follow_the_colour_type(plan):
    early = plan["mag_u"] - plan["mag_r"] >= 2.22
    assert 0 < early.sum() < len(plan)
    np.testing.assert_array_equal(plan["sersic_n"], np.where(early, 4.0, 1.0))
    q = np.asarray(plan["axis_ratio"])
    assert np.all((q[early] >= 0.5) & (q[early] <= 1.0))
    assert np.all((q[~early] >= 0.2) & (q[~early] <= 1.0)) and q[~early].min() < 0.5
    assert np.all((plan["position_angle"] >= 0) & (plan["position_angle"] < 180))


def test_stellar_masses_are_taylor2011(plan):
    expected = stellar_mass_taylor2011(plan["mag_g"], plan["mag_i"], plan["redshift"])
    np.testing.assert_allclose(plan["log_mstar"], expected, rtol=0, atol=1e-12)
    assert np.all((plan["log_mstar"] > 8.5) & (plan["log_mstar"] < 13.0))


def test_sizes_scatter_around_the_shen_relation():
    n = 400
    galaxies = Table({"u": np.full(n, 18.5), "g": np.full(n, 17.6), "r": np.full(n, 17.0), "i": np.full(n, 16.7),
                      "z": np.full(n, 16.5), "redshift": np.full(n, 0.1)})
    plan = plan_injections(galaxies, FRAMES, seed=3, size=SIZE, psf_fwhm=FIELD_PSF)
    ln_ratio = np.log(plan["r50_petrosian"] / half_light_radius_arcsec(17.0, 0.1, False))
    assert abs(ln_ratio.mean()) < 0.05
    assert ln_ratio.std() == pytest.approx(size_scatter_ln(absolute_magnitude(17.0, 0.1)), rel=0.12)
    assert np.all((plan["r50_petrosian"] >= 0.3) & (plan["r50_petrosian"] <= 12.0))


def test_intrinsic_sizes_give_the_relation_through_the_field_psf(plan):
    np.testing.assert_allclose(plan["psf_fwhm_r"], FIELD_PSF["r"])
    resolved = plan["r50_petrosian"] > 0.6 * FIELD_PSF["r"]  # a point source's Petrosian R50 is 0.5 FWHM
    through_psf = petrosian_r50(plan["half_light_radius"], plan["sersic_n"], plan["psf_fwhm_r"])
    np.testing.assert_allclose(through_psf[resolved], plan["r50_petrosian"][resolved], rtol=1e-3)
    large_early = (plan["sersic_n"] == 4) & (plan["r50_petrosian"] > 2 * FIELD_PSF["r"])
    assert large_early.any()
    assert np.all(plan["half_light_radius"][large_early] > plan["r50_petrosian"][large_early])  # Petrosian misses wings


def test_plan_records_every_band_psf(plan):
    for band, fwhm in FIELD_PSF.items():
        np.testing.assert_allclose(plan[f"psf_fwhm_{band}"], fwhm)
    assert plan.meta["injection"]["psf"] == "given"


def test_frames_without_enough_stars_need_a_given_psf(galaxies):
    with pytest.raises(ValueError, match="cannot measure its PSF .* pass psf_fwhm="):
        plan_injections(galaxies[:2], FRAMES, size=SIZE)


def test_read_plan_round_trips_a_file(plan, tmp_path):
    path = tmp_path / "plan.ecsv"
    plan.write(path)
    read = read_plan(path)
    np.testing.assert_array_equal(read["ra"], plan["ra"])
    assert read.meta["injection"]["seed"] == 7
    assert read_plan(plan) is plan


def test_read_plan_lists_missing_columns(plan):
    broken = plan.copy()
    broken.remove_columns(["sersic_n", "log_mstar"])
    with pytest.raises(ColumnError, match="injection plan lacks column\\(s\\) sersic_n, log_mstar"):
        read_plan(broken)


def test_plan_needs_frames(tmp_path, galaxies):
    with pytest.raises(ValueError, match="no field in .* has frames in all of u, g, r, i, z"):
        plan_injections(galaxies, tmp_path, size=SIZE, psf_fwhm=FIELD_PSF)
    for band in "ugri":
        name = f"frame-{band}-003918-3-0213.fits.bz2"
        shutil.copy(FRAMES / name, tmp_path / name)
    with pytest.raises(ValueError, match="has frames in all of u, g, r, i, z"):
        plan_injections(galaxies, tmp_path, size=SIZE, psf_fwhm=FIELD_PSF)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plan_injections(galaxies, tmp_path / "missing", size=SIZE, psf_fwhm=FIELD_PSF)
