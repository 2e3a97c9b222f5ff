"""The ``sdss-injected`` survey on the committed real frames: injected flux and position, noise, flags, files, CLI."""

import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astro_cnn import registry
from astro_cnn.cli import main
from astro_cnn.cutouts import write_cutouts
from astro_cnn.exceptions import ColumnError
from astro_cnn.target import TargetList
from astro_cnn_injection.plan import BANDS, plan_injections
from astro_cnn_sdss.surveys import SDSSStackSurvey

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
#: PSF FWHM (arcsec) measured from the stars of the full frames of field 3918-3-213; the committed crops hold too few.
FIELD_PSF = {"u": 1.36, "g": 1.21, "r": 1.16, "i": 1.05, "z": 1.03}
SIZE = 32
CENTRE = (SIZE - 1) / 2


@pytest.fixture(scope="module")
def plan():
    """Four compact exponential discs (half-light radius 0.8") of r = 16.5-17.5 at planned positions."""
    galaxies = Table({"u": [19.0, 18.8, 19.5, 18.9], "g": [18.0, 17.6, 18.1, 17.2], "r": [17.0, 16.8, 17.5, 16.5],
                      "i": [16.7, 16.5, 17.2, 16.1], "z": [16.5, 16.3, 17.0, 15.9], "redshift": [0.05, 0.1, 0.15, 0.2]})
    plan = plan_injections(galaxies, FRAMES, seed=11, size=SIZE, psf_fwhm=FIELD_PSF)
    plan["half_light_radius"] = 0.8
    plan["sersic_n"] = 1.0
    return plan


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    """Survey options: the committed frames, no network, a private (unused) download cache."""
    return {"frames_dir": FRAMES, "offline": True, "cache_dir": tmp_path_factory.mktemp("sdss_cache")}


@pytest.fixture(scope="module")
def survey(plan, options):
    return registry.get("survey", "sdss-injected").factory(plan=plan, **options)


@pytest.fixture(scope="module")
def targets(plan):
    return TargetList.from_table(plan)


@pytest.fixture(scope="module")
def batch(survey, targets):
    return survey.cutouts(targets, size=SIZE)


@pytest.fixture(scope="module")
def plain(targets, options):
    """Plain ``sdss-stack`` stacks of the same frames at the same positions."""
    return SDSSStackSurvey(**options).cutouts(targets, size=SIZE).images.astype(float)


@pytest.fixture(scope="module")
def injected(batch, plain):
    """The injected light alone, with its photon noise."""
    return batch.images - plain


@pytest.fixture(scope="module")
def quiet(plan, targets, plain, options):
    """The injected light alone, without photon noise."""
    survey = registry.get("survey", "sdss-injected").factory(plan=plan, photon_noise=False, **options)
    return survey.cutouts(targets, size=SIZE).images - plain


def test_survey_is_registered():
    assert "sdss-injected" in registry.names("survey")
    assert "plan=" in registry.get("survey", "sdss-injected").description


def test_stacks_look_like_sdss_stack(survey, batch):
    assert list(batch.status) == [""] * 4
    assert batch.bands == BANDS and batch.images.shape == (4, 5, SIZE, SIZE) and batch.images.dtype == np.float32
    assert np.all(batch.weights == 1)
    assert batch.meta["wcs"][0].all_world2pix([[survey.plan["ra"][0], survey.plan["dec"][0]]], 0)[0] == \
        pytest.approx([CENTRE, CENTRE])
    assert survey.describe() == {"survey": "sdss-injected", "bands": list(BANDS), "pixel_scale_arcsec": 0.396,
                                 "image_size": 64, "flux_unit": "nmgy", "zero_point": 22.5,
                                 "native_pixel_scale_arcsec": 0.396, "data_release": "DR17",
                                 "psf_fwhm_arcsec": {"u": 1.53, "g": 1.44, "r": 1.32, "i": 1.26, "z": 1.29}}


@pytest.mark.parametrize("light, tolerance", [("injected", 0.05), ("quiet", 0.005)])
def test_injected_flux_is_the_catalogue_magnitude(plan, light, tolerance, request):
    images = request.getfixturevalue(light)
    for k in range(len(plan)):
        for c, band in enumerate(BANDS):
            expected = 10 ** (-0.4 * (plan[f"mag_{band}"][k] - 22.5))
            assert images[k, c].sum() == pytest.approx(expected, rel=tolerance), (k, band)


def test_injected_galaxy_is_at_the_stack_centre(quiet):
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for c, band in enumerate(BANDS):
        light = quiet[:, c]
        cx = (light * xx).sum(axis=(1, 2)) / light.sum(axis=(1, 2))
        cy = (light * yy).sum(axis=(1, 2)) / light.sum(axis=(1, 2))
        np.testing.assert_allclose(cx, CENTRE, atol=0.05, err_msg=band)
        np.testing.assert_allclose(cy, CENTRE, atol=0.05, err_msg=band)
        peaks = [np.unravel_index(image.argmax(), image.shape) for image in light]
        assert all(15 <= y <= 16 and 15 <= x <= 16 for y, x in peaks), band


def test_noise_is_reproducible_and_keyed_by_plan_row(survey, targets, batch):
    again = survey.cutouts(targets, size=SIZE)
    np.testing.assert_array_equal(again.images, batch.images)
    reverse = survey.cutouts(targets.subset(np.arange(4)[::-1]), size=SIZE)
    np.testing.assert_array_equal(reverse.images[::-1], batch.images)


def test_photon_noise_has_the_expected_size(plan, targets, plain, injected, quiet, options):
    noise = injected - quiet
    r_flux = 10 ** (-0.4 * (np.asarray(plan["mag_r"]) - 22.5))
    # the noise of the whole stamp is that of all the injected electrons: sqrt(flux * NMGY / gain)
    sigma = np.sqrt(r_flux * 0.00511409 / 4.7)
    assert np.all(np.abs(noise[:, 2].sum(axis=(1, 2))) < 4 * sigma)
    assert np.abs(noise[:, 2]).max() > 0.01
    other = registry.get("survey", "sdss-injected").factory(plan=plan, seed=1, **options)
    other_noise = other.cutouts(targets, size=SIZE).images - plain - quiet
    assert np.abs(other_noise - noise).max() > 0.01
    assert other_noise[:, 2].std() == pytest.approx(noise[:, 2].std(), rel=0.2)


def test_psf_option_changes_only_its_band(plan, targets, plain, batch, quiet, options):
    wide = registry.get("survey", "sdss-injected").factory(plan=plan, psf_fwhm={"r": 3.0}, **options)
    images = wide.cutouts(targets, size=SIZE).images
    light = images - plain
    assert light[0, 2, 15:17, 15:17].sum() < 0.6 * quiet[0, 2, 15:17, 15:17].sum()
    assert light[0, 2].sum() == pytest.approx(quiet[0, 2].sum(), rel=0.03)
    for c in (0, 1, 3, 4):
        np.testing.assert_array_equal(images[:, c], batch.images[:, c])


def test_target_found_by_id_without_a_position(survey, plan, batch):
    bare = TargetList([np.nan], [np.nan], ids=[plan["id"][2]])
    np.testing.assert_array_equal(survey.cutouts(bare, size=SIZE).images[0], batch.images[2])


def test_unknown_id_is_flagged_not_raised(survey, plan):
    targets = TargetList([plan["ra"][0], plan["ra"][1]], [plan["dec"][0], plan["dec"][1]], ids=[0, 99])
    result = survey.cutouts(targets, size=SIZE)
    assert result.status[0] == ""
    assert re.fullmatch(r"row 1: id \S*99\S* is not in the injection plan", result.status[1])
    assert not np.any(result.images[1])


def test_position_differing_from_the_plan_is_flagged(survey, plan):
    ra, dec = float(plan["ra"][1]), float(plan["dec"][1])
    shifted = ra + 1.0 / 3600 / np.cos(np.radians(dec))
    result = survey.cutouts(TargetList([ra + 1e-6, shifted], [dec, dec], ids=[1, 1]), size=SIZE)
    assert result.status[0] == ""
    assert re.fullmatch(r"row 1: position differs from the injection plan's for id \S*1\S*", result.status[1])


def test_plan_without_needed_columns_is_refused(plan, options):
    with pytest.raises(ColumnError, match="injection plan lacks column\\(s\\) field, mag_u, mag_g"):
        registry.get("survey", "sdss-injected").factory(plan=plan[["id", "ra", "dec"]], **options)


def test_write_cutouts_writes_readable_fits(survey, plan, batch, tmp_path):
    index = write_cutouts(plan, tmp_path, survey=survey, size=SIZE, progress=False)
    assert list(index["status"]) == ["ok"] * 4 and index.meta["survey"] == "sdss-injected"
    with fits.open(tmp_path / index["file"][3]) as hdus:
        np.testing.assert_array_equal(hdus[0].data, batch.images[3])
        assert hdus[0].header["BUNIT"] == "nanomaggy" and hdus[0].header["BANDS"] == "ugriz"
        assert hdus["WEIGHT"].data.shape == (5, SIZE, SIZE)


def test_cli_cutouts_with_the_injected_survey(plan, batch, options, tmp_path, capsys):
    plan_file = tmp_path / "plan.ecsv"
    plan.write(plan_file)
    outdir = tmp_path / "out"
    pairs = [f"plan={plan_file}", f"frames_dir={FRAMES}", "offline=true", "seed=0", f"cache_dir={options['cache_dir']}"]
    code = main(["cutouts", str(plan_file), "--survey", "sdss-injected", *(f"--survey-option={p}" for p in pairs),
                 "--size", str(SIZE), "--no-progress", "-o", str(outdir)])
    assert code == 0 and "wrote 4 images" in capsys.readouterr().out
    index = Table.read(outdir / "index.ecsv")
    assert list(index["status"]) == ["ok"] * 4 and list(index["file"]) == [f"{k}.fits" for k in range(4)]
    np.testing.assert_array_equal(fits.getdata(outdir / "2.fits"), batch.images[2])
