"""The ``lsst-like`` survey: Rubin-like ugrizy images of an injection plan's galaxies."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astro_cnn import AstroCNNError, TargetList
from astro_cnn.survey_factory import make_survey
from astro_cnn_injection.inject import magnitude_to_nanomaggies
from astro_cnn_injection.plan import BANDS, PLAN_COLUMNS
from astro_cnn_injection.survey import LSST_LIKE, LSSTLikeSurvey, sky_noise, y_magnitude
from astro_cnn_sdss.surveys import SDSSStackSurvey


def synthetic_plan(n: int, *, sersic_n: float = 1.0, radius: float = 0.5) -> Table:
    """An injection plan of ``n`` small round galaxies (r = 17) in a field of median SDSS seeing."""
    plan = Table()
    plan["id"] = np.arange(n)
    plan["ra"] = 150.0 + 0.01 * np.arange(n)
    plan["dec"] = np.full(n, 2.0)
    plan["field"] = ["000001-1-0001"] * n
    for band, mag in zip(BANDS, (18.5, 17.6, 17.0, 16.7, 16.5)):
        plan[f"mag_{band}"] = np.full(n, mag)
    plan["redshift"] = np.full(n, 0.1)
    plan["r50_petrosian"] = plan["half_light_radius"] = np.full(n, radius)
    plan["sersic_n"] = np.full(n, sersic_n)
    plan["axis_ratio"] = np.ones(n)
    plan["position_angle"] = np.zeros(n)
    plan["log_mstar"] = np.full(n, 10.0)
    for band in BANDS:
        plan[f"psf_fwhm_{band}"] = np.full(n, SDSSStackSurvey.psf_fwhm[band].to_value(u.arcsec))
    assert set(PLAN_COLUMNS) <= set(plan.colnames)
    return plan


def test_y_is_z_plus_the_z_minus_i_colour_continued_in_wavelength():
    assert y_magnitude(17.0, 16.5) == pytest.approx(16.5 - 0.5 * 1000 / 1200)
    assert y_magnitude(17.0, 17.0) == 17.0  # flat spectrum stays flat


def test_sky_noise_gives_the_declared_5_sigma_depth():
    for band, (_, fwhm_eff, m5, _) in LSST_LIKE.items():
        n_eff = 2.266 * (fwhm_eff / 0.2) ** 2
        assert 5 * sky_noise(band) * np.sqrt(n_eff) == pytest.approx(magnitude_to_nanomaggies(m5))


def test_images_are_ugrizy_at_rubin_scale_with_the_catalogue_flux_and_the_declared_noise():
    plan = synthetic_plan(2)
    survey = make_survey("lsst-like", plan=plan)
    assert isinstance(survey, LSSTLikeSurvey)
    assert survey.bands == tuple("ugrizy") and survey.pixel_scale == 0.2 * u.arcsec
    assert survey.describe()["psf_fwhm_arcsec"]["r"] == pytest.approx(0.734)
    batch = survey.cutouts(TargetList.from_table(plan), size=64)
    assert list(batch.status) == ["", ""] and batch.images.shape == (2, 6, 64, 64)
    flux = batch.images[0].sum(axis=(1, 2))
    expected = [magnitude_to_nanomaggies(m) for m in (18.5, 17.6, 17.0, 16.7, 16.5, float(y_magnitude(16.7, 16.5)))]
    assert flux == pytest.approx(expected, rel=0.01)
    corner = batch.images[:, :, :12, :12]  # no galaxy light there: only the sky noise
    for c, band in enumerate(survey.bands):
        assert corner[:, c].std() == pytest.approx(sky_noise(band), rel=0.15)


def test_seeing_is_rubins_median_scaled_by_the_fields_sdss_seeing():
    plan = synthetic_plan(2)
    plan["psf_fwhm_r"][1] *= 1.5
    plan["psf_fwhm_z"][1] *= 0.8
    survey = LSSTLikeSurvey(plan=plan)
    median, sharp_field = survey.seeing(plan[0]), survey.seeing(plan[1])
    assert median["r"] == pytest.approx(0.734) and sharp_field["r"] == pytest.approx(1.5 * 0.734)
    assert sharp_field["y"] == pytest.approx(0.8 * 0.677)  # y follows the field's z
    noiseless = LSSTLikeSurvey(plan=synthetic_plan(1, radius=0.05), photon_noise=False)
    image = noiseless.cutouts(TargetList.from_table(noiseless.plan), size=32).images[0, 2]
    centre_row = image[15:17].sum(axis=0)  # the profile across the centre is the PSF's: FWHM about 0.73″
    assert (centre_row > centre_row.max() / 2).sum() * 0.2 == pytest.approx(0.75, abs=0.25)


def test_same_seed_same_images_and_unknown_ids_are_flagged():
    plan = synthetic_plan(2)
    one = LSSTLikeSurvey(plan=plan, seed=3).cutouts(TargetList.from_table(plan), size=32)
    two = LSSTLikeSurvey(plan=plan, seed=3).cutouts(TargetList.from_table(plan), size=32)
    assert np.array_equal(one.images, two.images)
    other = LSSTLikeSurvey(plan=plan, seed=4).cutouts(TargetList.from_table(plan), size=32)
    assert not np.array_equal(one.images, other.images)
    stranger = Table({"id": [99], "ra": [150.0], "dec": [2.0]})
    batch = LSSTLikeSurvey(plan=plan).cutouts(TargetList.from_table(stranger), size=32)
    assert "not in the injection plan" in batch.status[0]


def test_without_a_plan_the_survey_describes_its_images_and_refuses_to_make_any():
    survey = make_survey("lsst-like")
    assert survey.describe()["bands"] == list("ugrizy")
    with pytest.raises(AstroCNNError, match="plan="):
        survey.cutouts(TargetList.from_table(synthetic_plan(1)))


def test_a_subset_of_bands_is_rendered_in_the_order_asked():
    plan = synthetic_plan(1)
    full = LSSTLikeSurvey(plan=plan).cutouts(TargetList.from_table(plan), size=32).images[0]
    survey = make_survey("lsst-like", plan=plan, bands="zug")
    assert survey.bands == ("z", "u", "g") and set(survey.describe()["psf_fwhm_arcsec"]) == {"z", "u", "g"}
    assert survey.cutouts(TargetList.from_table(plan), size=32).images[0].sum(axis=(1, 2)) == pytest.approx(
        full[[4, 0, 1]].sum(axis=(1, 2)), rel=0.01)
    with pytest.raises(AstroCNNError, match="ugrizy"):
        LSSTLikeSurvey(plan=plan, bands="ugrizJ")
