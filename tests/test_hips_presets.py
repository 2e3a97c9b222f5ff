"""The HiPS presets: identifiers per band, colour HiPS, and the numbers each survey declares (with sources)."""

import astropy.units as u
import pytest

from astro_cnn_hips import PRESETS, HiPSSurvey


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_declares_its_numbers(name):
    preset = PRESETS[name]
    survey = HiPSSurvey(preset=name)
    assert survey.native_pixel_scale == preset.native_pixel_scale == survey.pixel_scale
    assert survey.data_release == preset.data_release and preset.sources
    assert survey.bands == tuple(preset.hips) and len(preset.colour_bands) == 3
    assert all(hips.startswith("CDS/P/") and hips.endswith(band) for band, hips in preset.hips.items())
    assert survey.psf_fwhm is None or set(survey.psf_fwhm) == set(survey.bands)
    description = survey.describe()
    assert description["hips"] == preset.hips and description["preset"] == name
    assert ("zero_point" in description) == (preset.zero_point is not None)


def test_the_documented_numbers():
    assert PRESETS["legacy-dr10"].native_pixel_scale == 0.262 * u.arcsec
    assert PRESETS["legacy-dr10"].flux_unit == u.nanomaggy and PRESETS["legacy-dr10"].zero_point == 22.5
    assert PRESETS["ps1-dr1"].native_pixel_scale == 0.25 * u.arcsec and PRESETS["ps1-dr1"].zero_point is None
    assert PRESETS["sdss-dr9"].native_pixel_scale == 0.396 * u.arcsec and PRESETS["sdss-dr9"].zero_point == 22.5
    assert PRESETS["des-dr2"].native_pixel_scale == 0.263 * u.arcsec and PRESETS["des-dr2"].zero_point == 30.0


def test_a_colour_preset_declares_no_flux():
    survey = HiPSSurvey(preset="ps1-dr1", colour=True)
    assert survey.bands == ("z", "zg", "g") and survey.band_hips["g"] == "CDS/P/PanSTARRS/DR1/color-z-zg-g"
    assert survey.flux_unit is None and survey.zero_point is None and survey.psf_fwhm is None
