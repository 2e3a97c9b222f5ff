"""Declared resampling: a survey at another pixel scale is refused unless resampling is asked for, then resampled."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from astropy.wcs import WCS

import astro_cnn
from astro_cnn import TargetList
from astro_cnn.cli import main
from astro_cnn.resampling import (
    PixelScaleMismatchError,
    ResampledSurvey,
    overlap_matrix,
    resample_images,
    source_size,
    survey_for_model,
)

from .test_lsst_like_survey import synthetic_plan


def _gaussian(size: int, scale: float, sigma_arcsec: float, flux: float = 100.0) -> np.ndarray:
    """A centred round Gaussian of total ``flux`` sampled at pixel centres."""
    y, x = (np.mgrid[:size, :size] - (size - 1) / 2) * scale
    blob = np.exp(-(x**2 + y**2) / (2 * sigma_arcsec**2))
    return (flux * blob / blob.sum())[None, None].astype(np.float32)


def test_overlap_matrix_spreads_each_input_pixel_over_the_output_pixels_it_falls_in():
    halves = overlap_matrix(4, 1.0, 2, 2.0)  # 4 pixels of 1 onto 2 pixels of 2: each output takes two whole inputs
    assert np.allclose(halves, [[1, 1, 0, 0], [0, 0, 1, 1]])
    thirds = overlap_matrix(2, 1.5, 3, 1.0)  # 2 pixels of 1.5 onto 3 of 1: the middle one takes a third of each
    assert np.allclose(thirds, [[2 / 3, 0], [1 / 3, 1 / 3], [0, 2 / 3]])
    assert np.allclose(overlap_matrix(33, 0.2, 16, 0.396).sum(axis=0)[3:-3], 1.0)


def test_resampling_conserves_flux_both_ways():
    fine = _gaussian(source_size(32, 0.2 * u.arcsec, 0.396 * u.arcsec), 0.2, 0.8)
    coarse = resample_images(fine, 0.2 * u.arcsec, 0.396 * u.arcsec, 32)
    assert coarse.shape == (1, 1, 32, 32)
    assert coarse.sum() == pytest.approx(100.0, rel=1e-5)
    back = resample_images(coarse, 0.396 * u.arcsec, 0.2 * u.arcsec, 63)
    assert back.sum() == pytest.approx(100.0, rel=1e-5)
    level = resample_images(np.full((1, 1, 20, 20), 3.0), 0.2 * u.arcsec, 0.396 * u.arcsec, 10, conserve_flux=False)
    assert np.allclose(level, 3.0)  # colour values keep their level


def test_resampling_matches_reproject_exact_on_aligned_tangent_planes():
    from reproject import reproject_exact

    def grid(size, scale):
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = [150.0, 2.0]
        wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
        wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
        return wcs

    rng = np.random.default_rng(1)
    image = (_gaussian(40, 0.2, 0.6)[0, 0] + rng.normal(0, 0.01, (40, 40))).astype(np.float64)
    ours = resample_images(image[None, None], 0.2 * u.arcsec, 0.396 * u.arcsec, 20)[0, 0]
    theirs, _ = reproject_exact((image, grid(40, 0.2)), grid(20, 0.396), shape_out=(20, 20))
    theirs *= (0.396 / 0.2) ** 2  # reproject keeps surface brightness; flux per pixel scales with the area
    assert np.allclose(ours, theirs, atol=2e-4 * np.abs(theirs).max())


def _half_arcsec_sky(example_plugin):
    """The example survey's toy galaxies at 0.5″ per pixel, in a flux unit (the example model was trained at 1″)."""
    class HalfArcsecSky(example_plugin.ExampleSky):
        pixel_scale = 0.5 * u.arcsec
        flux_unit = u.nanomaggy

    return HalfArcsecSky()


def test_predict_refuses_another_pixel_scale_naming_both_and_the_argument(example_model, example_plugin, galaxies):
    survey = _half_arcsec_sky(example_plugin)
    with pytest.raises(PixelScaleMismatchError, match=r"1\.000 arcsec per pixel.*0\.500 arcsec per pixel.*"
                                                      r"resample=True"):
        astro_cnn.predict(galaxies, model=example_model, survey=survey)


def test_predict_with_resample_resamples_and_records_it(example_model, example_plugin, galaxies):
    survey = _half_arcsec_sky(example_plugin)
    out = astro_cnn.predict(galaxies, model=example_model, survey=survey, resample=True, min_centre_snr=None)
    resampling = out.meta["astro_cnn"]["resampling"]
    assert resampling["from_pixel_scale_arcsec"] == 0.5 and resampling["to_pixel_scale_arcsec"] == 1.0
    assert resampling["conserves"] == "flux"
    ok = out["status"] == "ok"
    assert list(ok) == [True, True, False, False, True]  # off-footprint and position-less rows stay flagged
    colour = example_plugin.true_colour(np.asarray(galaxies["dec"]))
    assert np.allclose(out["colour_ab"].value[ok], colour[ok], atol=1e-3)  # flux ratio unchanged


def test_a_survey_at_the_models_scale_is_used_as_it_is(example_plugin):
    survey = example_plugin.ExampleSky()
    assert survey_for_model(survey, "m", 1.01 * u.arcsec, 16) is survey
    resampled = survey_for_model(survey, "m", 0.5 * u.arcsec, 16, resample=True)
    assert isinstance(resampled, ResampledSurvey)
    batch = resampled.cutouts(TargetList(np.array([150.0]), np.array([10.0])))
    assert batch.images.shape == (1, 2, 16, 16) and batch.pixel_scale == 0.5 * u.arcsec
    assert resampled.describe()["resampling"]["from_pixel_scale_arcsec"] == 1.0


def test_cli_predict_names_the_resample_flag_and_resamples_with_it(example_plugin, tmp_path, capsys):
    plan = synthetic_plan(3)
    plan_path = tmp_path / "plan.ecsv"
    plan.write(plan_path)
    model = example_plugin.BandRatioPredictor(survey="lsst-like", bands="ugrizy", image_size=16,
                                              pixel_scale=0.4 * u.arcsec, name="ug-ratio")
    model.fit(np.abs(np.random.default_rng(0).normal(1, 0.1, (6, 6, 16, 16))), np.full(6, 0.5))
    model_path = model.save(tmp_path / "ug.acnn")
    Table(plan[["id", "ra", "dec"]]).write(tmp_path / "targets.ecsv")
    args = ["predict", str(tmp_path / "targets.ecsv"), "-m", str(model_path), "--survey", "lsst-like",
            "--survey-option", f"plan={plan_path}", "-o", str(tmp_path / "out.ecsv"), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "0.400 arcsec per pixel" in err and "0.200 arcsec per pixel" in err and "--resample" in err
    assert "resample=True" not in err
    assert main([*args, "--resample", "--min-centre-snr", "0"]) == 0
    out = Table.read(tmp_path / "out.ecsv")
    assert out.meta["astro_cnn"]["resampling"]["from_pixel_scale_arcsec"] == 0.2
    assert list(out["status"]) == ["ok"] * 3
