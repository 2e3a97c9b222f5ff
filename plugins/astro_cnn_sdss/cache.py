"""On-disk cache of downloaded files: one file per key, written atomically, checked when read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from astro_cnn import atomic_path

__all__ = ["Cache"]


class Cache:
    """A directory of cached downloads.

    Parameters
    ----------
    root : path
        Cache directory (created when first written).

    Notes
    -----
    Keys are relative paths (``"jpeg/<ra>_<dec>_<scale>_<w>x<h>.jpg"``, ``"frames/301/3918/3/frame-...bz2"``)
    so the cache can be browsed and a directory of frames copied into it by hand.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Return the file that holds ``key``."""
        return self.root / key

    def get(self, key: str, validate: Callable[[bytes], None] | None = None) -> bytes | None:
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
        """Write ``data`` under ``key`` atomically (the package's one atomic writer)."""
        path = self.path(key)
        with atomic_path(path, overwrite=True) as tmp:
            tmp.write_bytes(data)
        return path

    @staticmethod
    def hashed(text: str) -> str:
        """Return a short stable hash of ``text`` (for keys of SQL queries)."""
        return hashlib.sha256(text.encode()).hexdigest()[:24]
