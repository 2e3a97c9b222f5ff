"""What every download needs alike: the on-disk cache, the download error, a rate limit and the cache directory.

Plugins build their own URLs (a survey's services, parameters and answers differ) and send them
through :class:`astro_cnn.http_client.HTTPClient`, which keeps what it downloads in a
:class:`Cache`, reports a failed download as :class:`FetchError` (a ``ConnectionError``: the
command line exits 1) and paces requests with :class:`RateLimit`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._atomic import atomic_path
from .exceptions import AstroCNNError

__all__ = ["Cache", "FetchError", "RateLimit", "cache_root"]


class FetchError(AstroCNNError, ConnectionError):
    """A download failed for good (after its last retry, or refused); the message names the URL and why."""


class Cache:
    """A directory of downloaded bodies, one file per key, written atomically and checked when read.

    Parameters
    ----------
    root : path
        Cache directory (created when first written).

    Notes
    -----
    Keys are relative paths (e.g. ``"jpeg/<ra>_<dec>_<scale>_<w>x<h>.jpg"``), so a cache can be
    browsed, and files can be copied into it by hand.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Return the file that holds ``key``."""
        return self.root / key

    def get(self, key: str, validate: Callable[[bytes], Any] | None = None) -> bytes | None:
        """Return the cached bytes of ``key``, or None when absent or invalid (an invalid file is removed).

        Parameters
        ----------
        key : str
            Cache key.
        validate : callable, optional
            Raises ``ValueError`` on a corrupt or truncated body.
        """
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if validate is not None:
            try:
                validate(data)
            except ValueError:
                path.unlink(missing_ok=True)
                return None
        return data

    def put(self, key: str, data: bytes) -> Path:
        """Write ``data`` under ``key`` atomically and return its path."""
        path = self.path(key)
        with atomic_path(path, overwrite=True) as tmp:
            tmp.write_bytes(data)
        return path

    @staticmethod
    def hashed(text: str) -> str:
        """Return a short stable hash of ``text`` (for keys of queries)."""
        return hashlib.sha256(text.encode()).hexdigest()[:24]


class RateLimit:
    """At most ``per_second`` request starts per second, shared by all threads (0: no limit).

    Parameters
    ----------
    per_second : float
        Largest request rate.
    """

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second and per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def cache_root(override: str | Path | None, configured: str | None, package: str) -> Path:
    """A plugin's cache directory: ``override``, else its configured one, else ``package`` in astropy's cache dir."""
    if override:
        return Path(override).expanduser()
    if configured:
        return Path(configured).expanduser()
    from astropy.config import get_cache_dir

    return Path(get_cache_dir()) / package
