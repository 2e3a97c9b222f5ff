"""SDSS frame names, SAS URLs, the SkyServer field search, frame validation and local frame directories."""

import bz2
import shutil
from pathlib import Path

import numpy as np
import pytest

from astro_cnn_sdss.frames import (
    FrameId,
    FrameStore,
    LocalFrameIndex,
    frames_sql,
    parse_fields,
    parse_frame_name,
    parse_sql_csv,
    read_frame,
    sql_url,
    validate_frame,
)

FRAMES = Path(__file__).parent / "data" / "sdss" / "frames"
GALAXY = (229.525575753922, 42.7458537608544)


def test_names_urls_and_keys():
    field = FrameId(3918, 3, 213)
    assert field.filename("r") == "frame-r-003918-3-0213.fits.bz2"
    assert field.url("https://data.sdss.org/sas/dr17/eboss/", "g") == (
        "https://data.sdss.org/sas/dr17/eboss/photoObj/frames/301/3918/3/frame-g-003918-3-0213.fits.bz2")
    assert field.key("z") == "frames/301/3918/3/frame-z-003918-3-0213.fits.bz2"
    assert parse_frame_name("/x/frame-u-001992-1-0087.fits.bz2") == ("u", FrameId(1992, 1, 87))
    assert parse_frame_name("frame-i-004510-4-0030.fits") == ("i", FrameId(4510, 4, 30))
    assert parse_frame_name("fpC-001992-u1-0087.fit") is None


def test_field_search_sql():
    sql = frames_sql(*GALAXY, margin_arcsec=12.672)
    assert sql.startswith("SELECT DISTINCT run, rerun, camcol, field FROM Field WHERE")
    assert "229.5255758" in sql and "42.7458538" in sql
    assert "decMin - 0.003520" in sql
    url = sql_url("http://127.0.0.1:1/dr17", sql)
    assert url.startswith("http://127.0.0.1:1/dr17/SkyServerWS/SearchTools/SqlSearch?cmd=SELECT+DISTINCT")
    assert url.endswith("&format=csv")


def test_parse_sql_csv():
    table = parse_sql_csv(b"#Table1\nrun,rerun,camcol,field\n3918,301,3,213\n1992,301,1,87\n")
    assert list(table["run"]) == [3918, 1992] and list(table["field"]) == [213, 87]
    empty = parse_sql_csv(b"#Table1\nrun,rerun,camcol,field\n")
    assert len(empty) == 0 and empty.colnames == ["run", "rerun", "camcol", "field"]
    with pytest.raises(ValueError, match="not a SkyServer CSV"):
        parse_sql_csv(b"<html><body>Server Error</body></html>")


def test_validate_frame_detects_truncation_and_corruption():
    data = (FRAMES / "frame-r-003918-3-0213.fits.bz2").read_bytes()
    validate_frame(data)
    with pytest.raises(ValueError, match="corrupt or truncated"):
        validate_frame(data[: len(data) - 100])
    middle = len(data) // 2
    with pytest.raises(ValueError, match="corrupt or truncated"):
        validate_frame(data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 64]) + data[middle + 64:])
    raw = bz2.decompress(data)
    validate_frame(raw)
    with pytest.raises(ValueError, match="truncated"):
        validate_frame(raw[: len(raw) // 2])


def test_read_frame_gives_nanomaggies_and_wcs():
    frame = read_frame((FRAMES / "frame-i-003918-3-0213.fits.bz2").read_bytes(), "i")
    assert frame.data.shape == (200, 200) and frame.data.dtype == np.float32
    x, y = frame.wcs.all_world2pix([GALAXY], 0)[0]
    assert abs(x - 99.5) < 1 and abs(y - 99.5) < 1


def test_local_index_finds_covering_frames_per_band():
    index = LocalFrameIndex(FRAMES)
    assert len(index) == 5
    for band in "ugriz":
        assert [p.name for p in index.covering(*GALAXY, band)] == [f"frame-{band}-003918-3-0213.fits.bz2"]
    assert index.covering(10.0, 0.0, "r") == []
    with pytest.raises(FileNotFoundError, match="missing"):
        LocalFrameIndex(FRAMES / "missing")


def test_frame_store_decodes_once():
    calls = []
    path = FRAMES / "frame-g-003918-3-0213.fits.bz2"

    def load():
        calls.append(1)
        return path.read_bytes()

    store = FrameStore(size=1)
    first = store.get("g", load)
    assert store.get("g", load) is first and len(calls) == 1
    store.get("other", load)
    store.get("g", load)
    assert len(calls) == 3


def test_frame_of_another_band_is_refused_by_name():
    data = (FRAMES / "frame-g-003918-3-0213.fits.bz2").read_bytes()
    validate_frame(data, "frames/301/3918/3/frame-g-003918-3-0213.fits.bz2")
    with pytest.raises(ValueError, match=r"frame-r-003918-3-0213.*band g, not r"):
        validate_frame(data, "frames/301/3918/3/frame-r-003918-3-0213.fits.bz2")
    with pytest.raises(ValueError, match="band g, not r"):
        read_frame(data, "/x/frame-r-003918-3-0213.fits.bz2")


def test_parse_fields_refuses_answers_without_usable_fields():
    assert parse_fields(b"#Table1\nrun,rerun,camcol,field\n3918,301,3,213\n") == [FrameId(3918, 3, 213)]
    assert parse_fields(b"#Table1\nrun,rerun,camcol,field\n") == []
    with pytest.raises(ValueError, match="lacks column run"):
        parse_fields(b"#Table1\nobjID,ra,dec\n1,2.0,3.0\n")
    with pytest.raises(ValueError, match="empty or non-integer"):
        parse_fields(b"#Table1\nrun,rerun,camcol,field\n3918,,3,213\n")
    with pytest.raises(ValueError, match="empty or non-integer"):
        parse_fields(b"#Table1\nrun,rerun,camcol,field\n3918,301,3,2.5\n")


def _frames_copy(tmp_path, broken_band, content):
    for path in FRAMES.glob("*.fits.bz2"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / f"frame-{broken_band}-003918-3-0213.fits.bz2").write_bytes(content)
    return tmp_path


@pytest.mark.parametrize("content", [b"not a FITS file", (FRAMES / "frame-g-003918-3-0213.fits.bz2").read_bytes()],
                         ids=["corrupt", "another band"])
def test_local_index_keeps_bad_files_for_the_positions_that_need_them(tmp_path, content):
    index = LocalFrameIndex(_frames_copy(tmp_path, "u", content))
    assert len(index) == 4 and FrameId(3918, 3, 213) in index.fields()
    assert [p.name for p in index.covering(*GALAXY, "r")] == ["frame-r-003918-3-0213.fits.bz2"]
    with pytest.raises(ValueError, match=r"frame-u-003918-3-0213.fits.bz2"):
        index.covering(*GALAXY, "u")
    assert index.covering(10.0, 0.0, "u") == []
