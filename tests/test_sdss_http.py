"""Downloads against the local SDSS server: retries, timeouts, faults, offline mode, concurrency."""

import time
from pathlib import Path

import pytest

from astro_cnn.exceptions import NetworkDisabledError
from astro_cnn.target_survey import map_concurrent
from astro_cnn_sdss.cache import Cache
from astro_cnn_sdss.frames import validate_frame
from astro_cnn_sdss.http import Fetcher, FetchError

pytest_plugins = ("tests.sdss_fixtures",)

DATA = Path(__file__).parent / "data" / "sdss"

FRAME = "frame-r-003918-3-0213.fits.bz2"


def _url(server):
    return f"{server.sas_url}/photoObj/frames/301/3918/3/{FRAME}"


def _fetcher(tmp_path, **kw):
    return Fetcher(Cache(tmp_path), **{"backoff": 0.01, "retries": 2, "timeout": 5, **kw})


def test_download_is_cached_and_second_get_is_offline(server, tmp_path):
    fetcher = _fetcher(tmp_path)
    body = fetcher.get(_url(server), "f", validate_frame)
    assert body == (DATA / "frames" / FRAME).read_bytes()
    offline = _fetcher(tmp_path, offline=True)
    assert offline.get(_url(server), "f", validate_frame) == body
    assert len(server.requests) == 1


@pytest.mark.parametrize("fault", ["500", "503", "drop", "truncate", "corrupt", "delay:1.5"])
def test_transient_fault_is_retried(server, tmp_path, fault):
    server.fail("/sas", fault)
    body = _fetcher(tmp_path, timeout=0.5).get(_url(server), "f", validate_frame)
    assert body == (DATA / "frames" / FRAME).read_bytes()
    assert len(server.requests) == 2


def test_clear_error_after_last_retry(server, tmp_path):
    server.fail("/sas", "500", "500", "500")
    with pytest.raises(FetchError, match=r"frame-r-003918-3-0213.*HTTP 500.*after 3 attempts"):
        _fetcher(tmp_path).get(_url(server), "f", validate_frame)
    assert not (tmp_path / "f").exists()


def test_truncated_every_time_names_the_problem(server, tmp_path):
    server.fail("/sas", "truncate", "truncate", "truncate")
    with pytest.raises(FetchError, match="truncated body|corrupt or truncated"):
        _fetcher(tmp_path).get(_url(server), "f", validate_frame)


def test_client_error_is_not_retried(server, tmp_path):
    with pytest.raises(FetchError, match="HTTP 404"):
        _fetcher(tmp_path).get(f"{server.sas_url}/photoObj/frames/301/1/1/frame-r-000001-1-0001.fits.bz2", "x")
    assert len(server.requests) == 1


def test_offline_refuses_the_network(server, tmp_path):
    with pytest.raises(NetworkDisabledError, match="offline"):
        _fetcher(tmp_path, offline=True).get(_url(server), "f")
    assert server.requests == []


def test_corrupt_cached_file_is_fetched_again(server, tmp_path):
    fetcher = _fetcher(tmp_path)
    fetcher.get(_url(server), "f", validate_frame)
    good = (tmp_path / "f").read_bytes()
    (tmp_path / "f").write_bytes(good[: len(good) // 3])
    assert fetcher.get(_url(server), "f", validate_frame) == good
    assert len(server.requests) == 2


def test_map_concurrent_keeps_order_and_returns_failures():
    def work(x):
        if x == 3:
            raise ValueError("three")
        time.sleep(0.01 * (5 - x))
        return x * 10

    out = map_concurrent(work, list(range(5)), max_workers=4)
    assert out[:3] == [0, 10, 20] and out[4] == 40
    assert isinstance(out[3], ValueError)
    assert map_concurrent(work, [1, 2], max_workers=1) == [10, 20]


def test_requests_run_concurrently(server, tmp_path):
    server.latency = 0.2
    fetcher = _fetcher(tmp_path)
    urls = [f"{server.skyserver_url}/SkyServerWS/ImgCutout/getjpeg?ra={i}&dec=0" for i in range(8)]
    out = map_concurrent(lambda i: fetcher.get(urls[i], f"jpeg/{i}.jpg"), range(8), max_workers=8)
    assert server.max_in_flight > 1  # requests overlapped at the server (speed is measured in bench_fetch.py)
    assert all(isinstance(b, bytes) for b in out)
