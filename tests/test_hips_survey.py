"""The ``hips`` survey against the loopback hips2fits server: real pixels, footprint, bands, scale, faults, resume."""

import urllib.parse

import astropy.units as u
import numpy as np
import pytest
from astropy.wcs.utils import proj_plane_pixel_scales

from astro_cnn import AstroCNNError, TargetList, make_survey
from astro_cnn_hips import HiPSSurvey
from astro_cnn_hips.moc import MOC
from astro_cnn_hips.survey import HIPS2FITS_PATH, tangent_wcs

from .hips_fixtures import GALAXY, MOC_PATH

pytest_plugins = ("tests.hips_fixtures",)

SIZE = 24


def _targets(*positions, status=None):
    ra, dec = zip(*positions)
    return TargetList(list(ra), list(dec), status=status)


def _cutout_requests(hips_server):
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(r).query) for r in hips_server.requests
            if r.startswith(HIPS2FITS_PATH)]


def test_real_pixels_on_the_target_tangent_plane(hips_server, hips_options):
    from reproject import reproject_interp

    survey = HiPSSurvey(preset="legacy-dr10", **hips_options)
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    assert list(batch.status) == [""] and batch.bands == ("g", "r", "i", "z")
    assert batch.pixel_scale == 0.262 * u.arcsec and batch.images.shape == (1, 4, SIZE, SIZE)
    expected, _ = reproject_interp(hips_server.frames["r"], tangent_wcs(*GALAXY, SIZE, 0.262), shape_out=(SIZE, SIZE),
                                   order="bilinear")
    assert np.allclose(batch.images[0, 1], expected, rtol=1e-5)
    assert batch.images[0, 1, SIZE // 2 - 2:SIZE // 2 + 2, SIZE // 2 - 2:SIZE // 2 + 2].max() > \
        3 * np.median(batch.images[0, 1])  # the galaxy is in the middle
    wcs = batch.meta["wcs"][0]
    assert wcs.pixel_to_world((SIZE - 1) / 2, (SIZE - 1) / 2).separation(server_galaxy()).arcsec < 0.01
    assert proj_plane_pixel_scales(wcs) * 3600 == pytest.approx([0.262, 0.262])
    query = _cutout_requests(hips_server)[0]
    assert {k: v[0] for k, v in query.items()} == {
        "hips": "CDS/P/DESI-Legacy-Surveys/DR10/g", "width": str(SIZE), "height": str(SIZE), "projection": "TAN",
        "fov": repr(SIZE * 0.262 / 3600), "ra": repr(GALAXY[0]), "dec": repr(GALAXY[1]), "format": "fits"}
    assert np.all(batch.weights == 1)


def server_galaxy():
    from astropy.coordinates import SkyCoord

    return SkyCoord(GALAXY[0] * u.deg, GALAXY[1] * u.deg)


def test_outside_the_footprint_is_a_flagged_row_and_nothing_is_cut(hips_server, hips_options):
    survey = HiPSSurvey(preset="sdss-dr9", bands="gr", **hips_options)
    batch = survey.cutouts(_targets((10.0, -30.0), GALAXY, (GALAXY[0] + 0.05, GALAXY[1])), size=SIZE)
    assert list(batch.status) == ["outside the SDSS DR9 footprint", "", "outside the SDSS DR9 footprint"]
    assert np.all(batch.images[[0, 2]] == 0) and np.all(batch.weights[[0, 2]] == 0)
    assert len(_cutout_requests(hips_server)) == 2
    mocs = [r for r in hips_server.requests if r.startswith("/MocServer")]
    assert len(mocs) == 2  # one MOC per HiPS, fetched once for all rows
    assert (survey.cache.root / "moc" / "CDS_P_SDSS9_g.fits").read_bytes() == MOC_PATH.read_bytes()


def test_blank_pixels_get_zero_weight(hips_options):
    moc = MOC.from_fits(MOC_PATH.read_bytes())
    corner = moc.starts[0]  # a covered cell at the edge of the frame: part of a wide cutout falls off it
    from astropy.coordinates import ICRS
    from astropy_healpix import HEALPix

    lon, lat = HEALPix(nside=2**29, order="nested", frame=ICRS()).healpix_to_lonlat(corner)
    batch = HiPSSurvey(preset="sdss-dr9", bands="r", **hips_options).cutouts(_targets((lon.deg, lat.deg)), size=96)
    assert batch.status[0] == "" and 0 < batch.weights[0].mean() < 1
    assert np.all(batch.images[0][batch.weights[0] == 0] == 0)


def test_preset_status_and_missing_positions_are_kept(hips_server, hips_options):
    targets = TargetList([GALAXY[0], GALAXY[0], None], [GALAXY[1], GALAXY[1], None], status=["", "skip me", ""])
    batch = HiPSSurvey(preset="sdss-dr9", bands="r", **hips_options).cutouts(targets, size=SIZE)
    assert list(batch.status) == ["", "skip me", "row 2 has no position"]
    assert len(_cutout_requests(hips_server)) == 1


def test_pixel_scale_option_cuts_at_a_model_scale(hips_server, hips_options):
    survey = make_survey("hips", preset="legacy-dr10", pixel_scale=0.396, bands="gri", **hips_options)
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    assert batch.pixel_scale == 0.396 * u.arcsec and batch.status[0] == ""
    assert float(_cutout_requests(hips_server)[0]["fov"][0]) == pytest.approx(SIZE * 0.396 / 3600)
    description = survey.describe()
    assert description["pixel_scale_arcsec"] == 0.396 and description["native_pixel_scale_arcsec"] == 0.262
    assert description["flux_unit"] == "nmgy" and description["zero_point"] == 22.5
    assert description["data_release"] == "DR10" and description["preset"] == "legacy-dr10"


def test_band_map_fetches_a_band_under_another_name(hips_server, hips_options):
    survey = HiPSSurvey(preset="sdss-dr9", bands="gri", band_map="i=z", **hips_options)
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    direct = HiPSSurvey(preset="sdss-dr9", bands="z", **hips_options).cutouts(_targets(GALAXY), size=SIZE)
    assert batch.bands == ("g", "r", "i") and np.array_equal(batch.images[0, 2], direct.images[0, 0])
    assert survey.band_hips["i"] == "CDS/P/SDSS9/z"
    assert survey.psf_fwhm == {"g": 1.44 * u.arcsec, "r": 1.32 * u.arcsec, "i": 1.29 * u.arcsec}


def test_custom_hips_without_a_preset(hips_server, hips_options):
    survey = HiPSSurvey(hips="a=CDS/P/SDSS9/g,b=CDS/P/SDSS9/r", pixel_scale=0.5, **hips_options)
    batch = survey.cutouts(_targets(GALAXY, (10.0, 0.0)), size=SIZE)
    assert batch.bands == ("a", "b") and batch.status[0] == ""
    assert batch.status[1] == "outside the CDS/P/SDSS9/g footprint"
    assert survey.flux_unit is None and "flux_unit" not in survey.describe()


@pytest.mark.parametrize("image_format", ["jpg", "png"])
def test_colour_hips(hips_server, hips_options, image_format):
    survey = HiPSSurvey(preset="des-dr2", colour=True, image_format=image_format, **hips_options)
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    assert batch.bands == ("i", "r", "g") and batch.status[0] == "" and batch.images.dtype == np.float32
    assert 0 <= batch.images.min() and batch.images.max() <= 1 and batch.images[0, :, SIZE // 2, SIZE // 2].min() > 0.3
    (query,) = _cutout_requests(hips_server)
    assert query["hips"] == ["CDS/P/DES-DR2/ColorIRG"] and query["format"] == [image_format]
    assert survey.flux_unit is None and survey.native_pixel_scale == 0.263 * u.arcsec
    top = batch.meta["wcs"][0].pixel_to_world(SIZE / 2, 0).dec.deg
    assert top > GALAXY[1]  # rows from north down


def test_server_faults_then_success(hips_server, hips_options):
    hips_server.fail(HIPS2FITS_PATH, "500", "429:1", "drop", "garbage", "truncate")
    survey = HiPSSurvey(preset="sdss-dr9", bands="gr", retries=5, **hips_options)  # each fault is one retry
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    assert list(batch.status) == [""] and len(_cutout_requests(hips_server)) == 7


def test_lasting_garbage_flags_the_row_caches_nothing_and_a_rerun_resumes(hips_server, hips_options):
    hips_server.fail(HIPS2FITS_PATH, *["garbage"] * 2)
    survey = HiPSSurvey(preset="sdss-dr9", bands="r", retries=1, **hips_options)
    batch = survey.cutouts(_targets(GALAXY), size=SIZE)
    assert batch.status[0].startswith(f"{hips_server.url}{HIPS2FITS_PATH}?hips=CDS%2FP%2FSDSS9%2Fr&")
    assert "bad body (not a FITS image" in batch.status[0] and batch.status[0].endswith("after 2 attempts")
    assert not list((survey.cache.root / "hips2fits").rglob("*.fits"))
    again = HiPSSurvey(preset="sdss-dr9", bands="r", **hips_options).cutouts(_targets(GALAXY), size=SIZE)
    assert again.status[0] == ""
    offline = HiPSSurvey(preset="sdss-dr9", bands="r", offline=True, **hips_options)
    requests = len(hips_server.requests)
    assert np.array_equal(offline.cutouts(_targets(GALAXY), size=SIZE).images, again.images)
    assert len(hips_server.requests) == requests


def test_offline_without_a_cache_flags_rows(hips_server, hips_options):
    survey = HiPSSurvey(preset="sdss-dr9", bands="r", **{**hips_options, "offline": True})
    batch = survey.cutouts(_targets(GALAXY), size=8)
    assert "network access is off (offline=True)" in batch.status[0] and hips_server.requests == []


def test_concurrent_fetches_are_capped_by_max_workers(hips_server, hips_options):
    hips_server.latency = 0.1
    offsets = np.linspace(-0.002, 0.002, 8)
    survey = HiPSSurvey(preset="sdss-dr9", bands="r", max_workers=4, check_coverage=False, **hips_options)
    batch = survey.cutouts(_targets(*[(GALAXY[0] + d, GALAXY[1]) for d in offsets]), size=8)
    assert list(batch.status) == [""] * 8 and 2 <= hips_server.max_in_flight <= 4


@pytest.mark.parametrize("kwargs, message", [
    ({"preset": "lsst"}, "unknown HiPS preset 'lsst'; the presets are: legacy-dr10, ps1-dr1, sdss-dr9, des-dr2"),
    ({}, "no HiPS to cut"),
    ({"preset": "legacy-dr10", "bands": "ugr"}, "band 'u' has no HiPS; the bands available are: g, r, i, z"),
    ({"preset": "legacy-dr10", "bands": "ug", "band_map": "u=y"}, "band 'u' \\(mapped to 'y' by band_map\\)"),
    ({"preset": "legacy-dr10", "bands": "g", "band_map": "r=z"}, "band_map names \\['r'\\]"),
    ({"preset": "legacy-dr10", "band_map": "u"}, "band_map must be NAME=VALUE pairs"),
    ({"preset": "legacy-dr10", "colour": True, "bands": "gr"}, "a colour HiPS has 3 channels"),
    ({"preset": "legacy-dr10", "colour": True, "band_map": "u=g"}, "band_map does not apply"),
    ({"preset": "legacy-dr10", "image_format": "gif"}, "image_format must be jpg or png"),
    ({"preset": "legacy-dr10", "pixel_scale": 0}, "pixel_scale must be a number above 0"),
    ({"preset": "legacy-dr10", "max_workers": 0}, "max_workers must be an integer of at least 1"),
    ({"preset": "legacy-dr10", "offline": "maybe"}, "option offline must be True or False, not .maybe."),
    ({"preset": "legacy-dr10", "rate_limit": -1}, "rate_limit must be a number of requests per second of at least 0"),
])
def test_bad_options_are_refused_naming_them(kwargs, message):
    with pytest.raises(AstroCNNError, match=message):
        HiPSSurvey(**kwargs)
