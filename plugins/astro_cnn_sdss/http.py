"""HTTP downloads with a cache, retries with exponential backoff and timeouts, safe to call from many threads."""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from astro_cnn.exceptions import AstroCNNError, NetworkDisabledError

from .cache import Cache

__all__ = ["Fetcher", "FetchError", "url_with_query"]


class FetchError(AstroCNNError):
    """A download failed after its last retry; the message names the URL and the last problem."""


class Fetcher:
    """Download URLs into a :class:`Cache`.

    Parameters
    ----------
    cache : Cache
        Where downloads are kept; a valid cached file is returned without any network access.
    offline : bool
        Raise :class:`~astro_cnn.exceptions.NetworkDisabledError` instead of touching the network.
    timeout : float
        Seconds for connecting and for each read.
    retries : int
        Attempts after the first on timeouts, connection errors, HTTP 5xx and bodies that fail validation.
    backoff : float
        Seconds before the first retry, doubled after each.
    """

    def __init__(self, cache: Cache, *, offline: bool = False, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.5):
        self.cache = cache
        self.offline = bool(offline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)

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

    def download(self, url: str, validate: Callable[[bytes], None] | None = None) -> bytes:
        """Download ``url`` (no cache), retrying transient failures; see :meth:`get`."""
        if self.offline:
            raise NetworkDisabledError(f"network access is off (offline=True); refusing to fetch {url}")
        delay = self.backoff
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                body = self._request(url)
                if validate is not None:
                    validate(body)
                return body
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code} {exc.reason}"
                if exc.code < 500 and exc.code != 429:
                    raise FetchError(f"{url}: {problem}") from None
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
                problem = _describe(exc)
            except ValueError as exc:
                problem = f"bad body ({exc})"
        raise FetchError(f"{url}: {problem} after {self.retries + 1} attempts")

    def _request(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": "astro_cnn_sdss"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read()
            length = response.headers.get("Content-Length")
        if length is not None and len(body) != int(length):
            raise http.client.IncompleteRead(body, int(length) - len(body))
        return body


def url_with_query(base: str, params: dict[str, Any]) -> str:
    """Return ``base?key=value&...`` with the values URL-encoded."""
    return f"{base}?{urllib.parse.urlencode(params)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timed out"
        return f"connection error ({reason})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated body ({len(exc.partial)} bytes, {exc.expected} more expected)"
    return f"connection error ({type(exc).__name__}: {exc})"


