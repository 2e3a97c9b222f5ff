"""SkyServer colour JPEG cutouts (sdss-jpeg), end to end against the local server."""

from pathlib import Path

import numpy as np
import pytest

from astro_cnn.image_files import read_image
from astro_cnn.target import TargetList
from astro_cnn_sdss.jpeg import cutout_key, cutout_url, decode_jpeg, validate_jpeg
from astro_cnn_sdss.surveys import SDSSJpegSurvey
from astro_cnn_sdss.testing import garble

pytest_plugins = ("tests.sdss_fixtures",)

DATA = Path(__file__).parent / "data" / "sdss"

JPEGS = sorted((DATA / "jpeg").glob("*.jpg"))


def _targets(n=3, status=None):
    return TargetList(np.linspace(150.0, 151.0, n), np.linspace(1.0, 2.0, n), status=status)


def test_url_and_key():
    url = cutout_url("https://skyserver.sdss.org/dr17/", 150.1, -2.5, 128, 0.296)
    assert url.startswith("https://skyserver.sdss.org/dr17/SkyServerWS/ImgCutout/getjpeg?")
    assert "ra=150.1000000" in url and "dec=-2.5000000" in url and "scale=0.296" in url
    assert "width=128" in url and "height=128" in url
    assert cutout_key(150.1, -2.5, 128, 0.296) == "jpeg/150.1000000_-2.5000000_0.296_128.jpg"


def test_decode_matches_read_image_exactly():
    for path in JPEGS:
        image = decode_jpeg(path.read_bytes())
        assert image.dtype == np.float32 and image.shape == (3, 128, 128)
        np.testing.assert_array_equal(image, read_image(path))


def test_validate_rejects_truncated_and_non_jpeg():
    data = JPEGS[0].read_bytes()
    validate_jpeg(data)
    with pytest.raises(ValueError, match="truncated"):
        validate_jpeg(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a JPEG"):
        validate_jpeg(b"<html>error</html>")


def test_validate_rejects_the_test_servers_garbled_body():
    for path in JPEGS:
        with pytest.raises(ValueError, match="corrupt JPEG"):
            validate_jpeg(garble(path.read_bytes()))


def test_garbled_download_is_fetched_again(server, options):
    server.jpeg_at(150.0, 1.0, JPEGS[1].name)
    server.fail("/dr17/SkyServerWS/ImgCutout", "corrupt")
    survey = SDSSJpegSurvey(**options)
    batch = survey.cutouts(_targets(1))
    assert batch.status[0] == "" and len(server.requests) == 2
    np.testing.assert_array_equal(batch.images[0], read_image(JPEGS[1]))
    assert survey.cache.path(cutout_key(150.0, 1.0, 128, 0.296)).read_bytes() == JPEGS[1].read_bytes()


def test_garbled_every_time_flags_the_row_and_caches_nothing(server, options):
    server.fail("/dr17/SkyServerWS/ImgCutout", "corrupt", "corrupt", "corrupt")
    survey = SDSSJpegSurvey(**options)
    batch = survey.cutouts(_targets(1))
    assert "corrupt JPEG" in batch.status[0] and "after 3 attempts" in batch.status[0]
    assert not np.any(batch.images[0])
    assert not survey.cache.path(cutout_key(150.0, 1.0, 128, 0.296)).exists()


def test_garbled_cached_cutout_is_discarded_and_fetched_again(server, options):
    server.jpeg_at(150.0, 1.0, JPEGS[2].name)
    survey = SDSSJpegSurvey(**options)
    survey.cutouts(_targets(1))
    cached = survey.cache.path(cutout_key(150.0, 1.0, 128, 0.296))
    cached.write_bytes(garble(cached.read_bytes()))
    batch = SDSSJpegSurvey(**options).cutouts(_targets(1))
    assert batch.status[0] == "" and len(server.requests) == 2
    np.testing.assert_array_equal(batch.images[0], read_image(JPEGS[2]))
    assert cached.read_bytes() == JPEGS[2].read_bytes()


def test_garbled_local_cutout_is_flagged_naming_the_file(tmp_path, options):
    (tmp_path / "5.jpg").write_bytes(garble(JPEGS[0].read_bytes()))
    targets = TargetList([np.nan], [np.nan], [5])
    batch = SDSSJpegSurvey(jpeg_dir=tmp_path, offline=True, cache_dir=options["cache_dir"]).cutouts(targets)
    assert "5.jpg" in batch.status[0] and "corrupt JPEG" in batch.status[0]
    assert not np.any(batch.images[0])


def test_survey_fetches_real_jpegs_row_aligned(server, options):
    survey = SDSSJpegSurvey(**options)
    server.jpeg_at(150.0, 1.0, JPEGS[1].name)
    batch = survey.cutouts(_targets(), progress=True)
    assert list(batch.status) == ["", "", ""]
    assert batch.images.shape == (3, 3, 128, 128) and batch.bands == ("i", "r", "g")
    np.testing.assert_array_equal(batch.images[0], read_image(JPEGS[1]))
    assert 0.0 <= batch.images.min() and batch.images.max() <= 1.0
    assert survey.describe()["pixel_scale_arcsec"] == pytest.approx(0.296)
    assert "scale=0.296" in server.requests[0] and "width=128" in server.requests[0]


def test_second_run_is_served_from_cache_offline(server, options):
    first = SDSSJpegSurvey(**options).cutouts(_targets())
    n = len(server.requests)
    second = SDSSJpegSurvey(**{**options, "offline": True}).cutouts(_targets())
    assert len(server.requests) == n == 3
    np.testing.assert_array_equal(first.images, second.images)


def test_failed_row_is_flagged_and_the_run_goes_on(server, options):
    server.jpeg_at(150.5, 1.5, JPEGS[0].name)
    server.fail("/dr17/SkyServerWS/ImgCutout", "500", "500", "500")
    batch = SDSSJpegSurvey(**{**options, "max_workers": 1}).cutouts(_targets())
    assert "HTTP 500" in batch.status[0] and "after 3 attempts" in batch.status[0]
    assert not np.any(batch.images[0])
    assert list(batch.status[1:]) == ["", ""]
    np.testing.assert_array_equal(batch.images[1], read_image(JPEGS[0]))


def test_rows_with_status_are_skipped(server, options):
    batch = SDSSJpegSurvey(**options).cutouts(_targets(status=["", "bad position", ""]))
    assert batch.status[1] == "bad position" and not np.any(batch.images[1])
    assert len(server.requests) == 2


def test_offline_without_cache_flags_rows(server, options):
    batch = SDSSJpegSurvey(**{**options, "offline": True}).cutouts(_targets(1))
    assert "offline" in batch.status[0] and server.requests == []


def test_local_jpeg_dir_by_id_needs_no_position_or_network(server, options):
    ids = np.array([int(p.stem) for p in JPEGS] + [42])
    targets = TargetList(np.full(4, np.nan), np.full(4, np.nan), ids)
    batch = SDSSJpegSurvey(jpeg_dir=DATA / "jpeg", offline=True, cache_dir=options["cache_dir"]).cutouts(targets)
    for k, path in enumerate(JPEGS):
        np.testing.assert_array_equal(batch.images[k], read_image(path))
    assert "no position" in batch.status[3] and "42.jpg" in batch.status[3]
    assert server.requests == []


def _outside(tmp_path):
    """A jpeg_dir, a valid cutout beside it (outside it) and ids that point at that cutout."""
    (tmp_path / "jpegs").mkdir()
    (tmp_path / "secret.jpg").write_bytes(JPEGS[0].read_bytes())
    return tmp_path / "jpegs", ["../secret", str(tmp_path / "secret"), f"{'../' * 12}{str(tmp_path)[1:]}/secret"]


def test_ids_that_are_paths_never_read_outside_the_directories(tmp_path, options):
    jpeg_dir, ids = _outside(tmp_path)
    targets = TargetList(np.full(3, np.nan), np.full(3, np.nan), ids)
    batch = SDSSJpegSurvey(jpeg_dir=jpeg_dir, offline=True, cache_dir=options["cache_dir"]).cutouts(targets)
    assert not np.any(batch.images)
    for status, identifier in zip(batch.status, ids):
        assert "no position" in status and repr(identifier) in status and "not a file name" in status


def test_ids_that_are_paths_are_looked_up_by_position(server, options, tmp_path):
    jpeg_dir, ids = _outside(tmp_path)
    server.jpeg_at(150.0, 1.0, JPEGS[1].name)
    targets = TargetList(np.full(3, 150.0), np.full(3, 1.0), ids)
    batch = SDSSJpegSurvey(jpeg_dir=jpeg_dir, **options).cutouts(targets)
    assert list(batch.status) == ["", "", ""]
    for image in batch.images:
        np.testing.assert_array_equal(image, read_image(JPEGS[1]))


def test_size_mismatch_of_local_file_is_flagged(options):
    targets = TargetList([np.nan], [np.nan], [int(JPEGS[0].stem)])
    batch = SDSSJpegSurvey(jpeg_dir=DATA / "jpeg", offline=True).cutouts(targets, size=64)
    assert "128x128 px, not 64x64" in batch.status[0]


def test_missing_jpeg_dir_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        SDSSJpegSurvey(jpeg_dir=tmp_path / "nowhere")


@pytest.mark.remote_data
def test_real_imgcutout_service(tmp_path):
    targets = TargetList([229.525575753922], [42.7458537608544])
    batch = SDSSJpegSurvey(cache_dir=tmp_path).cutouts(targets)
    assert batch.status[0] == "" and batch.images.shape == (1, 3, 128, 128) and batch.images.max() > 0.2
