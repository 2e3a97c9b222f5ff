"""The injected training set on the committed real frames: selection, 64-px stacks, held-out split and cache.

``training/injected_training_set.py`` is a script of the repository, not an installed module: it is loaded by path.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn.target import TargetList
from astro_cnn_injection.plan import PLAN_COLUMNS
from astro_cnn_sdss import conf
from astro_cnn_sdss.surveys import SDSSStackSurvey

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: PSF FWHM (arcsec) measured from the stars of the full frames of field 3918-3-213; the committed crops hold too few.
FIELD_PSF = {"u": 1.36, "g": 1.21, "r": 1.16, "i": 1.05, "z": 1.03}
SCRIPT = Path(__file__).parent.parent / "training" / "injected_training_set.py"
_spec = importlib.util.spec_from_file_location("injected_training_set", SCRIPT)
training_set = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(training_set)
HELD_OUT_FRACTION, build_training_set = training_set.HELD_OUT_FRACTION, training_set.build_training_set


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A private SDSS download cache (the local frames need none; nothing may land in the user's cache)."""
    path = tmp_path_factory.mktemp("sdss_cache")
    with conf.set_temp("cache_dir", str(path)):
        yield path


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Twelve spectroscopic objects: ten galaxies with 0 < z < 0.4, a star and a galaxy at z = 0.45."""
    rng = np.random.default_rng(4)
    r = rng.uniform(15.0, 18.0, 12)
    table = Table({"objid": 500 + np.arange(12), "class": ["GALAXY"] * 5 + ["STAR"] + ["GALAXY"] * 6,
                   "redshift": [0.04, 0.08, 0.12, 0.16, 0.2, 0.1, 0.24, 0.28, 0.45, 0.06, 0.1, 0.3],
                   "u": r + rng.uniform(1.0, 3.0, 12), "g": r + rng.uniform(0.4, 1.0, 12), "r": r,
                   "i": r - rng.uniform(0.2, 0.5, 12), "z": r - rng.uniform(0.3, 0.7, 12)})
    path = tmp_path_factory.mktemp("catalog") / "catalog.ecsv"
    table.write(path)
    return path


@pytest.fixture(scope="module")
def built(catalog, cache_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("stacks") / "injected.npz"
    plan, images = build_training_set(catalog, FRAMES, seed=3, cache=cache, progress=False, psf_fwhm=FIELD_PSF)
    return plan, images, cache


def test_only_galaxies_in_the_redshift_range_are_injected(built, catalog):
    plan, images, _ = built
    source = Table.read(catalog)
    keep = (source["class"] == "GALAXY") & (source["redshift"] < 0.4)
    assert keep.sum() == 10 and len(plan) == 10
    np.testing.assert_array_equal(plan["mag_r"], source["r"][keep])
    np.testing.assert_array_equal(plan["redshift"], source["redshift"][keep])
    assert plan.colnames == [*PLAN_COLUMNS, "split", "status"]
    assert plan.meta["injection"]["seed"] == 3 and plan.meta["injection"]["size"] == 64


def test_stacks_are_64_pixel_ugriz(built):
    plan, images, _ = built
    assert images.shape == (10, 5, 64, 64) and images.dtype == np.float32
    assert list(plan["status"]) == [""] * 10


def test_stacks_hold_the_injected_galaxies(built, cache_dir):
    plan, images, _ = built
    plain = SDSSStackSurvey(frames_dir=FRAMES, offline=True).cutouts(TargetList.from_table(plan)).images
    light = images[:, 2].astype(float) - plain[:, 2]
    flux = 10 ** (-0.4 * (np.asarray(plan["mag_r"]) - 22.5))
    ratio = light.sum(axis=(1, 2)) / flux
    # the stamps are 25" wide: galaxies with half-light radii of several arcsec lose their wings
    small = np.asarray(plan["half_light_radius"]) < 4.0
    assert 5 <= small.sum() < 10
    assert np.all((ratio[small] > 0.9) & (ratio[small] < 1.02)), ratio
    assert np.all((ratio > 0.6) & (ratio < 1.02)), ratio
    yy, xx = np.mgrid[:64, :64]
    for image in light:
        assert (image * xx).sum() / image.sum() == pytest.approx(31.5, abs=0.5)
        assert (image * yy).sum() / image.sum() == pytest.approx(31.5, abs=0.5)


def test_a_fifth_is_held_out(built):
    plan, _, _ = built
    assert HELD_OUT_FRACTION == 0.2
    assert list(plan["split"]).count("test") == 2 and list(plan["split"]).count("train") == 8


def test_rebuilding_gives_the_same_stacks(built, catalog, cache_dir):
    plan, images, _ = built
    again_plan, again = build_training_set(catalog, FRAMES, seed=3, progress=False, psf_fwhm=FIELD_PSF)
    np.testing.assert_array_equal(again, images)
    for column in ("ra", "dec", "half_light_radius", "split"):
        np.testing.assert_array_equal(again_plan[column], plan[column], err_msg=column)


def test_the_cache_is_reused(built, catalog, monkeypatch):
    plan, images, cache = built
    assert cache.is_file() and not cache.with_suffix(".partial.npz").exists()
    monkeypatch.setattr(training_set, "SDSSInjectedSurvey", _NoSurvey)
    again_plan, again = build_training_set(catalog, FRAMES, seed=3, cache=cache, progress=False, psf_fwhm=FIELD_PSF)
    np.testing.assert_array_equal(again, images)
    assert list(again_plan["status"]) == list(plan["status"])
    np.testing.assert_array_equal(again_plan["split"], plan["split"])


def test_the_cache_of_another_seed_is_not_reused(built, catalog, cache_dir, tmp_path):
    plan, images, cache = built
    copy = tmp_path / cache.name
    copy.write_bytes(cache.read_bytes())
    other_plan, other = build_training_set(catalog, FRAMES, seed=4, cache=copy, progress=False, psf_fwhm=FIELD_PSF)
    assert other.shape == images.shape and not np.array_equal(other, images)
    assert not np.any(other_plan["ra"] == plan["ra"])
    assert list(other_plan["status"]) == [""] * 10 and list(other_plan["split"]).count("test") == 2
    with np.load(copy) as stored:
        np.testing.assert_array_equal(stored["images"], other)


def test_the_cache_of_another_catalogue_is_not_reused(built, catalog, tmp_path):
    plan, images, cache = built
    copy = tmp_path / cache.name
    copy.write_bytes(cache.read_bytes())
    brighter = Table.read(catalog)
    for band in "ugriz":
        brighter[band] -= 3.0
    path = tmp_path / "brighter.ecsv"
    brighter.write(path)
    _, other = build_training_set(path, FRAMES, seed=3, cache=copy, progress=False, psf_fwhm=FIELD_PSF)
    assert other.sum() > images.sum()


class _NoSurvey:
    """Stands in for the survey where a test expects the cache, not the frames, to be used."""

    def __init__(self, **options):
        raise AssertionError("the survey was called")


def test_a_held_out_field_holds_out_exactly_its_galaxies(catalog, cache_dir):
    plan, _ = build_training_set(catalog, FRAMES, seed=3, progress=False, psf_fwhm=FIELD_PSF,
                                 held_out_field="003918-3-0213")
    assert set(plan["field"]) == {"003918-3-0213"} and list(plan["split"]) == ["test"] * len(plan)


def test_an_unknown_held_out_field_is_refused(catalog, cache_dir):
    with pytest.raises(ValueError, match="held-out field '000001-1-0001' holds no planned galaxy; fields: 003918"):
        build_training_set(catalog, FRAMES, seed=3, progress=False, psf_fwhm=FIELD_PSF, held_out_field="000001-1-0001")
