"""The one HTTP client of astro_cnn: pooled connections, retries honouring ``Retry-After``, a polite rate limit.

Every download of the package and its built-in plugins (SDSS ImgCutout JPEGs, SAS frames and
SkyServer SQL, hips2fits cutouts and MOCs, models named by URL) goes through an
:class:`HTTPClient`: one :class:`requests.Session` whose connections are kept open and shared by
all threads, and one :class:`urllib3.util.Retry` policy counting every failed attempt, whatever
went wrong (connection, timeout, HTTP 429/5xx, truncated or corrupt body).  Retries and downloads
are reported on the ``astro_cnn.http_client`` logger (:mod:`logging`); nothing is printed.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util import Retry

from .arguments import checked_count, checked_number, checked_switch
from .downloads import Cache, FetchError, RateLimit
from .exceptions import NetworkDisabledError

__all__ = ["HTTPClient", "url_with_query", "RETRY_STATUSES", "OPTION_CHECKS"]

log = logging.getLogger(__name__)

#: Statuses retried (after the server's ``Retry-After`` when it sends one, else the backoff).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Redirects followed per request.
MAX_REDIRECTS = 5
#: The check of each option :meth:`HTTPClient.from_options` takes, called as ``check(value, name)``.
OPTION_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "offline": checked_switch,
    "timeout": functools.partial(checked_number, unit="seconds"),
    "retries": functools.partial(checked_count, least=0),
    "backoff": functools.partial(checked_number, zero=True, unit="seconds"),
    "rate_limit": functools.partial(checked_number, zero=True, unit="requests per second"),
    "max_retry_after": functools.partial(checked_number, zero=True, unit="seconds"),
    "max_connections": checked_count,
}


class HTTPClient:
    """Download URLs, through a :class:`~astro_cnn.downloads.Cache`, over one pool of kept-open connections.

    Safe to use from many threads at once.

    Parameters
    ----------
    cache : Cache, optional
        Where :meth:`get` keeps downloads; a valid cached file is returned without any network access.
        Without one, only :meth:`download` is available.
    offline : bool
        Raise :class:`~astro_cnn.exceptions.NetworkDisabledError` instead of touching the network.
    timeout : float
        Seconds for connecting and for each read.
    retries : int
        Attempts after the first on timeouts, connection errors, HTTP 429 and 5xx, and bodies that
        fail validation, all counted together.
    backoff : float
        Seconds before the first retry, doubled after each; a ``Retry-After`` header sent with
        HTTP 429 or 503 is waited for instead.
    rate_limit : float
        Most requests started per second over all threads, retries included (0: no limit).
    max_retry_after : float
        Longest ``Retry-After`` honoured, in seconds; longer waits are cut to it.
    max_connections : int
        Connections open at once to each host; more threads wait for a free one.
    user_agent : str
        The ``User-Agent`` header sent.
    """

    def __init__(self, cache: Cache | None = None, *, offline: bool = False, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.5, rate_limit: float = 0.0, max_retry_after: float = 120.0,
                 max_connections: int = 4, user_agent: str = "astro_cnn"):
        self.cache = cache
        self.offline = bool(offline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.rate_limit = float(rate_limit)
        self.max_connections = int(max_connections)
        self._pace = RateLimit(self.rate_limit)
        self._retry = _Retry(total=self.retries, status_forcelist=RETRY_STATUSES, backoff_factor=self.backoff,
                             allowed_methods=None, max_retry_after=float(max_retry_after))
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.max_redirects = MAX_REDIRECTS
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.max_connections, pool_block=True, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @classmethod
    def from_options(cls, cache: Cache | None, defaults: Any, *, user_agent: str, **options: Any) -> HTTPClient:
        """A client from a survey plugin's options, each checked as a user's option.

        Parameters
        ----------
        cache : Cache or None
            As for the constructor.
        defaults : object
            The plugin's configured values as attributes (its astropy ``conf``): an option not given, or given
            as None, takes the attribute of its name, or the constructor's default where there is none.
        user_agent : str
            The ``User-Agent`` header sent.
        **options
            Any of the constructor's ``offline``, ``timeout``, ``retries``, ``backoff``, ``rate_limit``,
            ``max_retry_after`` and ``max_connections`` (the keys of :data:`OPTION_CHECKS`).

        Raises
        ------
        AstroCNNError
            A value is of the wrong kind or out of its range; the message names ``option <name>``.
        TypeError
            An option this client does not have.
        """
        unknown = sorted(set(options) - set(OPTION_CHECKS))
        if unknown:
            raise TypeError(f"HTTPClient has no options {unknown}; it has {sorted(OPTION_CHECKS)}")
        values = {}
        for name, check in OPTION_CHECKS.items():
            value = getattr(defaults, name, None) if options.get(name) is None else options[name]
            if value is not None:
                values[name] = check(value, f"option {name}")
        return cls(cache, user_agent=user_agent, **values)

    def get(self, url: str, key: str, validate: Callable[[bytes], Any] | None = None) -> bytes:
        """Return the body of ``url``, from the cache under ``key`` when there, else downloaded and cached.

        Parameters
        ----------
        url : str
            Full URL (query string included, see :func:`url_with_query`).
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
        TypeError
            The client has no cache.
        NetworkDisabledError
            Not cached and the client is offline.
        FetchError
            Every attempt failed (the message says how many and why the last one did), or the
            server answered a 4xx other than 429.
        """
        if self.cache is None:
            raise TypeError("HTTPClient.get needs a client made with a cache; HTTPClient.download needs none")
        cached = self.cache.get(key, validate)
        if cached is not None:
            return cached
        if self.offline:
            raise NetworkDisabledError(f"{url} is not in the cache ({self.cache.path(key)}) and network access "
                                       "is off (offline=True)")
        body = self.download(url, validate)
        self.cache.put(key, body)
        return body

    def download(self, url: str, validate: Callable[[bytes], Any] | None = None, *,
                 timeout: float | None = None) -> bytes:
        """Download ``url`` without the cache, retrying transient failures; see :meth:`get`.

        Parameters
        ----------
        url : str
            Full URL.
        validate : callable, optional
            As in :meth:`get`.
        timeout : float, optional
            Seconds to wait for the connection and for each read (default: the client's ``timeout``).

        Returns
        -------
        bytes
            The body.
        """
        if self.offline:
            raise NetworkDisabledError(f"network access is off (offline=True); refusing to fetch {url}")
        retry = self._retry
        while True:
            self._pace.wait()
            body, problem, response = self._attempt(url, validate, timeout or self.timeout)
            if problem is None:
                return body
            attempts = len(retry.history) + 1
            try:
                retry = retry.increment("GET", url, response=response,
                                        error=None if response is not None else _Failed(problem))
            except MaxRetryError:
                raise FetchError(f"{url}: {problem} after {attempts} attempts") from None
            log.info("%s: %s; retry %d of %d", url, problem, attempts, self.retries)
            retry.sleep(response)

    def _attempt(self, url: str, validate: Callable[[bytes], Any] | None,
                 timeout: float) -> tuple[bytes | None, str | None, Any]:
        """Make one request: ``(body, None, None)``, or ``(None, problem, response)`` when it is worth retrying.

        ``response`` is the urllib3 response of a retried HTTP status (its ``Retry-After`` is read),
        else None.  A 4xx other than 429, or too many redirects, raise :class:`FetchError`.
        """
        try:
            response = self._session.get(url, timeout=timeout)
            body = response.content
        except requests.exceptions.Timeout:
            return None, "timed out", None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            return None, f"truncated body ({_reason(exc)})", None
        except requests.exceptions.TooManyRedirects:
            raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects") from None
        except requests.exceptions.RequestException as exc:
            return None, f"connection error ({type(exc).__name__}: {_reason(exc)})", None
        status = response.status_code
        if self._retry.is_retry("GET", status, "Retry-After" in response.headers):
            return None, f"HTTP {status} {response.reason}", response.raw
        if status >= 400:
            text = " ".join(response.text.split())[:200]
            raise FetchError(f"{url}: HTTP {status} {response.reason}" + (f": {text}" if text else ""))
        if validate is not None:
            try:
                validate(body)
            except ValueError as exc:
                return None, f"bad body ({exc})", None
        log.debug("downloaded %s (%d bytes)", url, len(body))
        return body, None, None


def url_with_query(base: str, params: Mapping[str, Any]) -> str:
    """Return ``base?key=value&...`` with the values URL-encoded."""
    return f"{base}?{urllib.parse.urlencode(dict(params))}"


class _Retry(Retry):
    """urllib3's policy with a backoff of ``backoff_factor`` before the first retry, doubled after each,
    and ``Retry-After`` honoured for at most ``max_retry_after`` seconds (urllib3 retries the first time
    at once, and waits as long as any ``Retry-After`` says)."""

    def __init__(self, *args: Any, max_retry_after: float = 120.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kwargs: Any) -> _Retry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_backoff_time(self) -> float:
        if not self.history:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (len(self.history) - 1))

    def get_retry_after(self, response: Any) -> float | None:
        try:
            value = super().get_retry_after(response)
        except InvalidHeader:  # neither seconds nor an HTTP date: wait the backoff instead
            return None
        return None if value is None else min(value, self.max_retry_after)


class _Failed(Exception):
    """A failed attempt without an HTTP response, as urllib3's :class:`~urllib3.util.Retry` counts it."""


def _reason(error: BaseException) -> str:
    """The innermost message of a requests error (its urllib3 cause), on one line."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    return " ".join(text.split())[:200]
