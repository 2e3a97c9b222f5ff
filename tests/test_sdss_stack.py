"""Five-band stacks from real SDSS frames (committed crops): centring, flux conservation, coverage, service."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.wcs.utils import proj_plane_pixel_scales
from photutils.aperture import CircularAperture, aperture_photometry
from photutils.centroids import centroid_2dg

from astro_cnn.target import TargetList
from astro_cnn_sdss.frames import read_frame
from astro_cnn_sdss.stack import stack, stack_wcs
from astro_cnn_sdss.surveys import SDSSStackSurvey

pytest_plugins = ("tests.sdss_fixtures",)

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
BANDS = ("u", "g", "r", "i", "z")
#: SkyServer default galaxy (objID 1237662301903192106) and a bright star 10" east of it, both in 3918-3-213.
GALAXY = (229.525575753922, 42.7458537608544)
STAR_R_PIXEL = (153, 173)


@pytest.fixture(scope="module")
def frames():
    return {b: [read_frame((FRAMES / f"frame-{b}-003918-3-0213.fits.bz2").read_bytes(), b)] for b in BANDS}


def _centroid(image, x, y, half=5):
    x0, y0 = int(round(x)) - half, int(round(y)) - half
    cx, cy = centroid_2dg(image[y0:y0 + 2 * half + 1, x0:x0 + 2 * half + 1])
    return cx + x0, cy + y0


def test_stack_wcs_is_centred_north_up():
    wcs = stack_wcs(*GALAXY, 64, 0.396)
    x, y = wcs.all_world2pix([GALAXY], 0)[0]
    assert (x, y) == pytest.approx((31.5, 31.5))
    assert proj_plane_pixel_scales(wcs) * 3600 == pytest.approx([0.396, 0.396])
    assert wcs.wcs.cdelt[0] < 0


def test_star_lands_at_the_centre_of_all_five_bands(frames):
    r = frames["r"][0]
    star = r.wcs.all_pix2world([_centroid(r.data, *STAR_R_PIXEL)], 0)[0]
    image, weight, wcs = stack(frames, BANDS, *star, 64, 0.396)
    for c, band in enumerate(BANDS):
        cx, cy = _centroid(image[c], 31.5, 31.5)
        assert abs(cx - 31.5) < 0.5 and abs(cy - 31.5) < 0.5, band
        frame = frames[band][0]
        fx, fy = _centroid(frame.data, *frame.wcs.all_world2pix([star], 0)[0])
        ex, ey = wcs.all_world2pix(frame.wcs.all_pix2world([[fx, fy]], 0), 0)[0]
        assert abs(cx - ex) < 0.05 and abs(cy - ey) < 0.05, band


def test_aperture_flux_matches_the_original_frame(frames):
    image, weight, wcs = stack(frames, BANDS, *GALAXY, 64, 0.396)
    radius = 5.0 / 0.396
    for c, band in enumerate(BANDS):
        frame = frames[band][0]
        original = aperture_photometry(frame.data, CircularAperture(frame.wcs.all_world2pix([GALAXY], 0)[0],
                                                                    radius))["aperture_sum"][0]
        stacked = aperture_photometry(image[c], CircularAperture((31.5, 31.5), radius))["aperture_sum"][0]
        assert stacked == pytest.approx(original, rel=0.01), band
    assert image.dtype == np.float32 and image.shape == (5, 64, 64)
    assert np.all(weight == 1)


def test_overlapping_frames_are_co_added(frames):
    single, _, _ = stack(frames, BANDS, *GALAXY, 32, 0.396)
    double, weight, _ = stack({b: f * 2 for b, f in frames.items()}, BANDS, *GALAXY, 32, 0.396)
    np.testing.assert_allclose(double, single, rtol=1e-6, atol=1e-6)
    assert np.all(weight == 2)


def test_partial_coverage_shows_in_the_weights(frames):
    r = frames["r"][0]
    edge = r.wcs.all_pix2world([[100, 185]], 0)[0]
    image, weight, _ = stack(frames, BANDS, *edge, 64, 0.396)
    assert weight[2].min() == 0 and weight[2].max() == 1
    assert np.all(image[2][weight[2] == 0] == 0)


def test_band_without_frames_is_an_error(frames):
    with pytest.raises(ValueError, match="no frame covers RA 229.525576, Dec \\+42.745854 in band u"):
        stack({b: f for b, f in frames.items() if b != "u"}, BANDS, *GALAXY, 16, 0.396)


def test_survey_end_to_end_through_the_services(server, options):
    targets = TargetList([GALAXY[0], 10.0], [GALAXY[1], 0.0], ids=[1237662301903192106, 7])
    batch = SDSSStackSurvey(**options).cutouts(targets, progress=True)
    assert batch.status[0] == "" and "no SDSS frame covers RA 10.000000" in batch.status[1]
    assert batch.bands == BANDS and batch.images.shape == (2, 5, 64, 64) and batch.weights.shape == (2, 5, 64, 64)
    assert batch.meta["wcs"][1] is None
    assert batch.meta["wcs"][0].all_world2pix([GALAXY], 0)[0] == pytest.approx([31.5, 31.5])
    assert not np.any(batch.images[1])
    assert sum("/sas/" in r for r in server.requests) == 5
    n = len(server.requests)
    again = SDSSStackSurvey(**{**options, "offline": True}).cutouts(targets)
    assert len(server.requests) == n
    np.testing.assert_array_equal(again.images, batch.images)
    assert list(again.status) == list(batch.status)


def test_frames_shared_by_many_targets_are_downloaded_once(server, options):
    targets = TargetList(np.full(8, GALAXY[0]), np.full(8, GALAXY[1]))
    batch = SDSSStackSurvey(**{**options, "max_workers": 8}).cutouts(targets, size=16)
    assert list(batch.status) == [""] * 8
    assert sum("/sas/" in r for r in server.requests) == 5


def test_corrupt_and_failed_frames(server, options):
    targets = TargetList([GALAXY[0]], [GALAXY[1]])
    server.fail("/sas", "corrupt", "drop")
    assert SDSSStackSurvey(**options).cutouts(targets).status[0] == ""
    server.fail("/sas", "500", "500", "500")
    fresh = {**options, "cache_dir": options["cache_dir"].parent / "other"}
    status = SDSSStackSurvey(**fresh).cutouts(targets).status[0]
    assert "HTTP 500" in status and "after 3 attempts" in status and "frame-u-003918-3-0213" in status


def test_wrong_band_frame_in_the_cache_is_fetched_again(server, options):
    targets = TargetList([GALAXY[0]], [GALAXY[1]])
    first = SDSSStackSurvey(**options).cutouts(targets, size=16)
    cached = options["cache_dir"] / "frames" / "301" / "3918" / "3"
    shutil.copy(cached / "frame-g-003918-3-0213.fits.bz2", cached / "frame-r-003918-3-0213.fits.bz2")
    n = len(server.requests)
    again = SDSSStackSurvey(**options).cutouts(targets, size=16)
    assert again.status[0] == "" and server.requests[n:] == [
        "/sas/dr17/eboss/photoObj/frames/301/3918/3/frame-r-003918-3-0213.fits.bz2"]
    np.testing.assert_array_equal(again.images, first.images)
    assert (cached / "frame-r-003918-3-0213.fits.bz2").read_bytes() == (FRAMES / "frame-r-003918-3-0213.fits.bz2"
                                                                        ).read_bytes()


@pytest.mark.parametrize("answer", [b"#Table1\nobjID,ra,dec\n1,2.0,3.0\n",
                                    b"#Table1\nrun,rerun,camcol,field\n3918,,3,213\n"], ids=["columns", "masked"])
def test_unusable_cached_field_search_is_fetched_again(server, options, answer):
    targets = TargetList([GALAXY[0]], [GALAXY[1]])
    first = SDSSStackSurvey(**options).cutouts(targets, size=16)
    (cached,) = (options["cache_dir"] / "sql").glob("*.csv")
    cached.write_bytes(answer)
    n = len(server.requests)
    again = SDSSStackSurvey(**options).cutouts(targets, size=16)
    assert again.status[0] == "" and len(server.requests) == n + 1 and "SqlSearch" in server.requests[n]
    np.testing.assert_array_equal(again.images, first.images)
    assert b"3918,301,3,213" in cached.read_bytes()


@pytest.mark.parametrize("content", [b"SIMPLE  = garbage", (FRAMES / "frame-g-003918-3-0213.fits.bz2").read_bytes()],
                         ids=["corrupt", "another band"])
def test_bad_file_in_frames_dir_flags_only_the_rows_that_need_it(tmp_path, options, content):
    frames_dir = tmp_path / "frames"
    shutil.copytree(FRAMES, frames_dir)
    (frames_dir / "frame-u-003918-3-0213.fits.bz2").write_bytes(content)
    local = {"frames_dir": frames_dir, "offline": True, "cache_dir": options["cache_dir"]}
    targets = TargetList([GALAXY[0], GALAXY[0]], [GALAXY[1], 0.0])
    batch = SDSSStackSurvey(**local).cutouts(targets, size=16)
    assert "frame-u-003918-3-0213.fits.bz2" in batch.status[0] and not np.any(batch.images[0])
    assert "frame-u" not in batch.status[1] and batch.status[1]
    without_u = SDSSStackSurvey(bands=("g", "r", "i", "z"), **local).cutouts(targets, size=16)
    assert without_u.status[0] == ""


def test_local_frames_directory_needs_no_network(server, options):
    survey = SDSSStackSurvey(frames_dir=FRAMES, offline=True, cache_dir=options["cache_dir"])
    batch = survey.cutouts(TargetList([GALAXY[0], GALAXY[0]], [GALAXY[1], 0.0], status=["", "skip me"]), size=32)
    assert list(batch.status) == ["", "skip me"] and batch.images.shape == (2, 5, 32, 32)
    assert server.requests == []
    assert survey.describe() == {"survey": "sdss-stack", "bands": list(BANDS), "pixel_scale_arcsec": 0.396,
                                 "image_size": 64, "flux_unit": "nmgy", "zero_point": 22.5,
                                 "native_pixel_scale_arcsec": 0.396, "data_release": "DR17",
                                 "psf_fwhm_arcsec": {"u": 1.53, "g": 1.44, "r": 1.32, "i": 1.26, "z": 1.29}}


@pytest.mark.remote_data
def test_real_skyserver_and_sas(tmp_path):
    batch = SDSSStackSurvey(cache_dir=tmp_path).cutouts(TargetList([GALAXY[0]], [GALAXY[1]]), size=32)
    assert batch.status[0] == "" and batch.weights[:, :, 16, 16].min() >= 1
    assert batch.images[0, 2, 14:18, 14:18].max() > 1
