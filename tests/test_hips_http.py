"""astro_cnn's HTTP client as the HiPS plugin uses it, against the loopback server: cache, retries, Retry-After,
timeouts, rate limit."""

import logging
import time

import pytest

from astro_cnn.downloads import Cache, FetchError, RateLimit
from astro_cnn.exceptions import NetworkDisabledError
from astro_cnn.http_client import HTTPClient, url_with_query
from astro_cnn_hips.moc import MOC
from astro_cnn_hips.survey import MOCSERVER_PATH

from .hips_fixtures import MOC_PATH

pytest_plugins = ("tests.hips_fixtures",)

PARAMS = {"ID": "CDS/P/SDSS9/r", "get": "moc", "fmt": "fits"}
KEY = "moc/CDS_P_SDSS9_r.fits"


@pytest.fixture
def client(tmp_path):
    return HTTPClient(Cache(tmp_path / "cache"), timeout=5, retries=3, backoff=0.01, rate_limit=0)


def _url(hips_server, **params):
    return url_with_query(hips_server.url + MOCSERVER_PATH, {**PARAMS, **params})


def _get(client, hips_server):
    return client.get(_url(hips_server), KEY, MOC.from_fits)


def test_downloaded_once_then_read_from_the_cache(client, hips_server):
    assert _get(client, hips_server) == MOC_PATH.read_bytes()
    assert client.cache.path(KEY).read_bytes() == MOC_PATH.read_bytes()
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 1


def test_server_errors_then_success(client, hips_server):
    hips_server.fail(MOCSERVER_PATH, "500", "503", "drop")
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 4


def test_429_waits_as_retry_after_asks(client, hips_server):
    hips_server.fail(MOCSERVER_PATH, "429:1")
    start = time.monotonic()
    assert _get(client, hips_server) == MOC_PATH.read_bytes()
    assert time.monotonic() - start >= 0.95 and hips_server.times[1] - hips_server.times[0] >= 0.95


def test_a_long_retry_after_is_cut_to_max_retry_after(tmp_path, hips_server):
    client = HTTPClient(Cache(tmp_path), retries=1, backoff=0.01, rate_limit=0, max_retry_after=0.2)
    hips_server.fail(MOCSERVER_PATH, "429:3600")
    start = time.monotonic()
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and time.monotonic() - start < 5


def test_timeouts_are_retried(tmp_path, hips_server):
    client = HTTPClient(Cache(tmp_path), timeout=0.3, retries=2, backoff=0.01, rate_limit=0)
    hips_server.fail(MOCSERVER_PATH, "delay:1.5")
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 2


@pytest.mark.parametrize("fault", ["garbage", "truncate"])
def test_bad_bodies_are_retried_and_never_cached(client, hips_server, fault):
    hips_server.fail(MOCSERVER_PATH, fault)
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 2
    hips_server.fail(MOCSERVER_PATH, *[fault] * 4)
    client.cache.path(KEY).unlink()
    with pytest.raises(FetchError, match=r"(bad|truncated) body .* after 4 attempts"):
        _get(client, hips_server)
    assert not client.cache.path(KEY).exists()


def test_every_attempt_failing_is_one_error_naming_the_url(client, hips_server):
    hips_server.fail(MOCSERVER_PATH, *["500"] * 4)
    url = r"MocServer/query\?ID=CDS%2FP%2FSDSS9%2Fr&get=moc&fmt=fits"
    with pytest.raises(FetchError, match=url + r": HTTP 500 .*after 4 attempts"):
        _get(client, hips_server)
    assert len(hips_server.requests) == 4


def test_client_errors_are_not_retried(client, hips_server):
    with pytest.raises(FetchError, match="HTTP 404"):
        client.get(url_with_query(hips_server.url + "/nowhere", PARAMS), "x")
    assert len(hips_server.requests) == 1


def test_offline_uses_the_cache_only(tmp_path, hips_server):
    offline = HTTPClient(Cache(tmp_path), offline=True)
    with pytest.raises(NetworkDisabledError, match="not in the cache"):
        _get(offline, hips_server)
    HTTPClient(Cache(tmp_path), rate_limit=0).get(_url(hips_server), KEY)
    assert _get(offline, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 1


def test_an_invalid_cached_file_is_removed_and_fetched_again(client, hips_server):
    client.cache.put(KEY, b"half a file")
    assert _get(client, hips_server) == MOC_PATH.read_bytes() and len(hips_server.requests) == 1


def test_rate_limit_spaces_requests_over_all_threads(tmp_path, hips_server):
    from concurrent.futures import ThreadPoolExecutor

    client = HTTPClient(Cache(tmp_path), rate_limit=10, max_connections=4)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: client.download(_url(hips_server, n=i)), range(8)))
    times = sorted(hips_server.times)
    # The k-th request may arrive late but never before k intervals of 0.1 s after the first was sent;
    # 0.05 s allows for the first one's own delay in reaching the server.
    assert len(times) == 8 and all(t - times[0] >= 0.1 * k - 0.05 for k, t in enumerate(times))
    assert RateLimit(0).interval == 0


def test_retries_are_logged_by_the_one_client(client, hips_server, caplog, capsys):
    hips_server.fail(MOCSERVER_PATH, "503")
    with caplog.at_level(logging.DEBUG, logger="astro_cnn.http_client"):
        _get(client, hips_server)
    retry, done = caplog.records
    assert retry.levelno == logging.INFO and "MocServer/query" in retry.getMessage()
    assert "HTTP 503 Service Unavailable; retry 1 of 3" in retry.getMessage() and "downloaded" in done.getMessage()
    assert capsys.readouterr() == ("", "")
