"""HTTP for the HiPS services: a checked on-disk cache, retries honouring Retry-After, timeouts and a rate limit."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from astro_cnn.downloads import Cache, FetchError, RateLimit
from astro_cnn.exceptions import NetworkDisabledError

__all__ = ["Cache", "Client", "FetchError", "RateLimit"]


class _CappedRetry(Retry):
    """:class:`urllib3.util.retry.Retry` that honours Retry-After for at most ``max_retry_after`` seconds."""

    def __init__(self, *args: Any, max_retry_after: float = 120.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kwargs: Any) -> _CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            value = super().get_retry_after(response)
        except InvalidHeader:  # not seconds nor an HTTP date: wait the backoff instead
            return None
        return None if value is None else min(value, self.max_retry_after)


class Client:
    """GET requests through a :class:`Cache`, with retries, a timeout and a rate limit; safe from many threads.

    Parameters
    ----------
    cache : Cache
        A valid cached body is returned without any network access.
    offline : bool
        Raise :class:`~astro_cnn.exceptions.NetworkDisabledError` instead of touching the network.
    timeout : float
        Seconds for connecting and for each read.
    retries : int
        Attempts after the first on timeouts, connection errors, HTTP 429 and 5xx (urllib3 ``Retry``,
        waiting as a ``Retry-After`` header asks, up to ``max_retry_after``), and, separately,
        on bodies that fail validation.
    backoff : float
        Seconds before the first retry, doubled after each.
    rate_limit : float
        Requests started per second at most (0: no limit); each attempt counts.
    max_retry_after : float
        Longest ``Retry-After`` honoured, in seconds.
    pool_size : int
        Connections kept open (the number of threads that fetch at once).
    """

    def __init__(self, cache: Cache, *, offline: bool = False, timeout: float = 60.0, retries: int = 4,
                 backoff: float = 1.0, rate_limit: float = 4.0, max_retry_after: float = 120.0, pool_size: int = 4):
        self.cache = cache
        self.offline = bool(offline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.limit = RateLimit(rate_limit)
        retry = _CappedRetry(total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
                             other=0, backoff_factor=self.backoff / 2, status_forcelist=(429, 500, 502, 503, 504),
                             allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
                             raise_on_status=False, max_retry_after=max_retry_after)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "astro_cnn_hips"
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=max(1, pool_size))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(self, url: str, params: Mapping[str, Any], key: str,
            validate: Callable[[bytes], Any] | None = None) -> bytes:
        """Return the body of ``url?params``, from the cache under ``key`` when there, else downloaded and cached.

        Parameters
        ----------
        url : str
            Service URL.
        params : mapping
            Query parameters.
        key : str
            Cache key.
        validate : callable, optional
            ``validate(body)`` raises ``ValueError`` for a corrupt or truncated body; such a body
            is retried and never cached.

        Raises
        ------
        NetworkDisabledError
            Not cached and the client is offline.
        FetchError
            Every attempt failed, or the service answered a 4xx other than 429.
        """
        cached = self.cache.get(key, validate)
        if cached is not None:
            return cached
        if self.offline:
            raise NetworkDisabledError(f"{url} ({_query(params)}) is not in the cache ({self.cache.path(key)}) "
                                       "and network access is off (offline=True)")
        body = self.download(url, params, validate)
        self.cache.put(key, body)
        return body

    def download(self, url: str, params: Mapping[str, Any], validate: Callable[[bytes], Any] | None = None) -> bytes:
        """Download ``url?params`` (no cache), retrying as described in :class:`Client`; see :meth:`get`."""
        if self.offline:
            raise NetworkDisabledError(f"network access is off (offline=True); refusing to fetch {url}")
        delay = self.backoff
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                body = self._request(url, params)
                if validate is not None:
                    validate(body)
                return body
            except ValueError as exc:
                problem = f"bad body ({exc})"
        raise FetchError(f"{url} ({_query(params)}): {problem} after {self.retries + 1} attempts")

    def _request(self, url: str, params: Mapping[str, Any]) -> bytes:
        """One request with the transport retries of the session; the body of a 200 answer.

        A body cut short raises ``ValueError`` so that :meth:`download` retries it like a bad body.
        """
        self.limit.wait()
        try:
            response = self.session.get(url, params=dict(params), timeout=self.timeout)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise ValueError(f"body cut short: {type(exc).__name__}") from None
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"{url} ({_query(params)}): gave up after {self.retries + 1} attempts ({exc})") \
                from None
        except requests.exceptions.Timeout:
            raise FetchError(f"{url} ({_query(params)}): timed out after {self.retries + 1} attempts") from None
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"{url} ({_query(params)}): connection error after {self.retries + 1} attempts "
                             f"({type(exc).__name__})") from None
        if response.status_code != 200:
            text = " ".join(response.text.split())[:200]
            tries = f" after {self.retries + 1} attempts" if response.status_code in (429, 500, 502, 503, 504) \
                else ""
            raise FetchError(f"{url} ({_query(params)}): HTTP {response.status_code} {response.reason}{tries}"
                             + (f": {text}" if text else ""))
        return response.content


def _query(params: Mapping[str, Any]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items())
