"""Downloads against the local SDSS server: retries, Retry-After, timeouts, faults, offline mode, concurrency,
kept-open connections, rate limit, logging."""

import logging
import time
from pathlib import Path

import pytest

from astro_cnn.downloads import Cache, FetchError
from astro_cnn.exceptions import AstroCNNError, NetworkDisabledError
from astro_cnn.target_survey import map_concurrent
from astro_cnn_sdss import conf
from astro_cnn_sdss.frames import validate_frame
from astro_cnn_sdss.http import client

pytest_plugins = ("tests.sdss_fixtures",)

DATA = Path(__file__).parent / "data" / "sdss"

FRAME = "frame-r-003918-3-0213.fits.bz2"


def _url(server):
    return f"{server.sas_url}/photoObj/frames/301/3918/3/{FRAME}"


def _fetcher(tmp_path, **kw):
    return client(Cache(tmp_path), **{"backoff": 0.01, "retries": 2, "timeout": 5, **kw})


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


def _jpeg_urls(server, n):
    return [f"{server.skyserver_url}/SkyServerWS/ImgCutout/getjpeg?ra={i}&dec=0" for i in range(n)]


def test_sixteen_threads_keep_sixteen_connections_open(server, tmp_path):
    fetcher = _fetcher(tmp_path, max_connections=16)
    urls = _jpeg_urls(server, 64)
    out = map_concurrent(lambda i: fetcher.download(urls[i]), range(64), max_workers=16)
    assert all(isinstance(b, bytes) for b in out) and len(server.requests) == 64
    assert server.connections <= 16  # one connection per request opened 64


def test_connections_are_capped_by_max_connections(server, tmp_path):
    fetcher = _fetcher(tmp_path, max_connections=2)
    urls = _jpeg_urls(server, 12)
    map_concurrent(lambda i: fetcher.download(urls[i]), range(12), max_workers=6)
    assert len(server.requests) == 12 and server.connections <= 2


@pytest.mark.parametrize("status", ["429", "503"])
def test_retry_after_is_waited_for(server, tmp_path, status):
    server.fail("/sas", f"{status} Retry-After: 1")
    body = _fetcher(tmp_path).get(_url(server), "f", validate_frame)  # backoff alone would retry after 0.01 s
    assert body == (DATA / "frames" / FRAME).read_bytes()
    assert len(server.times) == 2 and server.times[1] - server.times[0] >= 1.0


def test_too_many_requests_is_retried_then_reported(server, tmp_path):
    server.fail("/sas", "429", "429", "429")
    with pytest.raises(FetchError, match=r"HTTP 429 Too Many Requests after 3 attempts"):
        _fetcher(tmp_path).get(_url(server), "f")


def test_backoff_doubles_from_the_first_retry(server, tmp_path):
    server.fail("/sas", "500", "500")
    _fetcher(tmp_path, backoff=0.2).get(_url(server), "f")
    first, second = (b - a for a, b in zip(server.times, server.times[1:]))
    assert 0.2 <= first < 0.4 and 0.4 <= second < 0.6


def test_rate_limit_spaces_requests(server, tmp_path):
    fetcher = _fetcher(tmp_path, rate_limit=10)
    urls = _jpeg_urls(server, 6)
    map_concurrent(lambda i: fetcher.download(urls[i]), range(6), max_workers=6)
    times = sorted(server.times)
    # 0.1 s apart when sent; threads and new connections shift their arrival by a few ms
    assert times[-1] - times[0] >= 0.45 and all(b - a >= 0.05 for a, b in zip(times, times[1:]))


def test_rate_limit_defaults_to_the_configuration(server, tmp_path):
    assert _fetcher(tmp_path).rate_limit == 0  # off unless asked for
    with conf.set_temp("rate_limit", 4):
        fetcher = _fetcher(tmp_path)
    assert fetcher.rate_limit == 4
    for url in _jpeg_urls(server, 3):
        fetcher.download(url)
    assert server.times[-1] - server.times[0] >= 0.49


@pytest.mark.parametrize("value", [-1, "fast", float("inf"), True])
def test_bad_rate_limit_names_the_option(tmp_path, value):
    with pytest.raises(AstroCNNError, match="option rate_limit must be a number of requests per second"):
        _fetcher(tmp_path, rate_limit=value)


def test_retries_and_downloads_are_logged(server, tmp_path, caplog, capsys):
    server.fail("/sas", "503")
    with caplog.at_level(logging.DEBUG, logger="astro_cnn.http_client"):
        _fetcher(tmp_path).get(_url(server), "f", validate_frame)
    retry, done = caplog.records
    assert retry.name == "astro_cnn.http_client" and retry.levelno == logging.INFO
    assert FRAME in retry.getMessage() and "HTTP 503 Service Unavailable; retry 1 of 2" in retry.getMessage()
    assert done.levelno == logging.DEBUG and "downloaded" in done.getMessage()
    assert capsys.readouterr() == ("", "")  # nothing printed
