"""The plugin's one HTTP client: pooled connections, retries with backoff and ``Retry-After``, an optional rate limit.

Every request of the plugin (ImgCutout JPEGs, SAS frames, SkyServer SQL) goes through a
:class:`Fetcher`: one :class:`urllib3.PoolManager` whose connections are kept open and shared by
all threads, and one :class:`urllib3.util.Retry` policy counting every failed attempt, whatever
went wrong (connection, timeout, HTTP 429/5xx, truncated or corrupt body).  Retries and
downloads are reported on the ``astro_cnn_sdss`` logger.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, ProtocolError
from urllib3.util import Retry

from astro_cnn.downloads import Cache, FetchError, RateLimit
from astro_cnn.exceptions import NetworkDisabledError

from . import options
from .config import conf

__all__ = ["Fetcher", "FetchError", "url_with_query"]

log = logging.getLogger(__name__)

#: Statuses retried (after the server's ``Retry-After`` when it sends one, else the backoff).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Redirects followed per request.
MAX_REDIRECTS = 5


class Fetcher:
    """Download URLs into a :class:`Cache` through one pool of kept-open connections; safe from many threads.

    Parameters
    ----------
    cache : Cache
        Where downloads are kept; a valid cached file is returned without any network access.
    offline : bool
        Raise :class:`~astro_cnn.exceptions.NetworkDisabledError` instead of touching the network.
    timeout : float
        Seconds for connecting and for each read.
    retries : int
        Attempts after the first on timeouts, connection errors, HTTP 429 and 5xx, and bodies that
        fail validation.
    backoff : float
        Seconds before the first retry, doubled after each; a ``Retry-After`` header sent with
        HTTP 429 or 503 is waited for instead.
    rate_limit : float, optional
        Most requests started per second, retries included (0: no limit); default ``conf.rate_limit``.
    max_connections : int, optional
        Connections open at once to each host; more threads wait for a free one.  Default
        ``conf.max_workers`` (give a survey's ``max_workers``).
    """

    def __init__(self, cache: Cache, *, offline: bool = False, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.5, rate_limit: float | None = None, max_connections: int | None = None):
        self.cache = cache
        self.offline = bool(offline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.rate_limit = options.rate("rate_limit", conf.rate_limit if rate_limit is None else rate_limit)
        connections = options.count("max_connections",
                                    conf.max_workers if max_connections is None else max_connections, 1)
        self._pool = urllib3.PoolManager(maxsize=connections, block=True,
                                         headers={"User-Agent": "astro_cnn_sdss"})
        self._retry = _Retry(total=self.retries, status_forcelist=RETRY_STATUSES, backoff_factor=self.backoff,
                             allowed_methods=None)
        self._pace = RateLimit(self.rate_limit)

    def get(self, url: str, key: str, validate: Callable[[bytes], None] | None = None) -> bytes:
        """Return the body of ``url``, from the cache under ``key`` when there, else downloaded and cached.

        Parameters
        ----------
        url : str
            Full URL (query string included).
        key : str
            Cache key.
        validate : callable, optional
            ``validate(body)`` raises ``ValueError`` for a corrupt or truncated body; such a body
            is retried like a server error and never cached.

        Returns
        -------
        bytes
            The body.

        Raises
        ------
        NetworkDisabledError
            Not cached and the fetcher is offline.
        FetchError
            Every attempt failed; says how many and why the last one did.
        """
        cached = self.cache.get(key, validate)
        if cached is not None:
            return cached
        if self.offline:
            raise NetworkDisabledError(f"{url} is not in the cache ({self.cache.path(key)}) and network access "
                                       "is off (offline=True)")
        body = self.download(url, validate)
        self.cache.put(key, body)
        return body

    def download(self, url: str, validate: Callable[[bytes], None] | None = None, *,
                 timeout: float | None = None) -> bytes:
        """Download ``url`` (no cache), retrying transient failures; see :meth:`get`.

        Parameters
        ----------
        url : str
            Full URL.
        validate : callable, optional
            As in :meth:`get`.
        timeout : float, optional
            Seconds to wait for the connection and for each read (default :attr:`timeout`).

        Returns
        -------
        bytes
            The body.
        """
        if self.offline:
            raise NetworkDisabledError(f"network access is off (offline=True); refusing to fetch {url}")
        retry = self._retry
        wait = urllib3.Timeout(connect=timeout or self.timeout, read=timeout or self.timeout)
        while True:
            self._pace.wait()
            response = error = None
            try:
                response = self._pool.request("GET", url, timeout=wait, retries=_ONE_TRY)
            except MaxRetryError as exc:
                error = exc.reason or exc
            except HTTPError as exc:
                error = exc
            if error is not None:
                problem = _describe(error)
            elif retry.is_retry("GET", response.status, "Retry-After" in response.headers):
                problem = f"HTTP {response.status} {response.reason}"
            elif response.status >= 400:
                raise FetchError(f"{url}: HTTP {response.status} {response.reason}")
            else:
                try:
                    if validate is not None:
                        validate(response.data)
                    log.debug("downloaded %s (%d bytes)", url, len(response.data))
                    return response.data
                except ValueError as exc:
                    problem, error, response = f"bad body ({exc})", exc, None
            attempts = len(retry.history) + 1
            try:
                retry = retry.increment("GET", url, response=response, error=error)
            except MaxRetryError:
                raise FetchError(f"{url}: {problem} after {attempts} attempts") from None
            log.info("%s: %s; retry %d of %d", url, problem, attempts, self.retries)
            retry.sleep(response)


def url_with_query(base: str, params: dict[str, Any]) -> str:
    """Return ``base?key=value&...`` with the values URL-encoded."""
    return f"{base}?{urllib.parse.urlencode(params)}"


class _Retry(Retry):
    """urllib3's policy with this plugin's backoff: ``backoff_factor`` before the first retry, doubled after each.

    (urllib3 itself retries the first time at once.)
    """

    def get_backoff_time(self) -> float:
        if not self.history:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (len(self.history) - 1))


#: One attempt per request (``Fetcher.download`` counts the retries) that still follows redirects.
_ONE_TRY = Retry(total=None, connect=0, read=0, status=0, other=0, redirect=MAX_REDIRECTS)


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib3.exceptions.TimeoutError) and not isinstance(error, NewConnectionError):
        return "timed out"
    if isinstance(error, ProtocolError) and "IncompleteRead" in str(error):
        return f"truncated body ({error})"
    return f"connection error ({type(error).__name__}: {error})"
