"""The download cache: atomic writes, keys as paths, corrupt files detected and dropped."""

from astro_cnn.downloads import Cache


def _strict(data: bytes) -> None:
    if not data.endswith(b"END"):
        raise ValueError("truncated")


def test_put_get_round_trip_and_no_temporary_files(tmp_path):
    cache = Cache(tmp_path)
    path = cache.put("jpeg/a.jpg", b"data END")
    assert path == tmp_path / "jpeg" / "a.jpg"
    assert cache.get("jpeg/a.jpg", _strict) == b"data END"
    assert [p.name for p in (tmp_path / "jpeg").iterdir()] == ["a.jpg"]


def test_missing_key_is_none(tmp_path):
    assert Cache(tmp_path).get("nothing/here") is None


def test_corrupt_file_is_removed(tmp_path):
    cache = Cache(tmp_path)
    cache.put("frames/x.fits.bz2", b"cut sho")
    assert cache.get("frames/x.fits.bz2", _strict) is None
    assert not cache.path("frames/x.fits.bz2").exists()


def test_hashed_is_stable_and_short():
    assert Cache.hashed("SELECT 1") == Cache.hashed("SELECT 1") != Cache.hashed("SELECT 2")
    assert len(Cache.hashed("SELECT 1")) == 24
