"""Models that travel: a model file named by URL with its checksum, fetched once into astropy's download cache.

A model is published as a URL with its SHA-256 in the fragment, e.g.
``https://zenodo.org/records/123/files/photoz.acnn#sha256=9f2c...``.  The file is downloaded once
(astropy's download cache, package ``astro_cnn``), checked against the checksum before it is used
(a mismatch removes it from the cache and is an error), and loaded like any model file: its
metadata is JSON and its weights are read with ``torch.load(weights_only=True)``, so no code in it
runs.  With astropy's ``allow_internet`` off, a cached model still loads.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .exceptions import AstroCNNError, ModelNotFoundError

__all__ = ["is_model_url", "fetch_model", "cached_models", "CACHE_PACKAGE"]

#: The astropy download-cache package models are kept under.
CACHE_PACKAGE = "astro_cnn"
_CHECKSUM = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


def is_model_url(text: str) -> bool:
    """True when ``text`` names a model by http(s) URL."""
    return str(text).lower().startswith(("http://", "https://"))


def fetch_model(url: str, *, timeout: float = 60.0) -> Path:
    """The local path of the model at ``url`` (``...#sha256=HEX``), downloaded once and verified.

    Parameters
    ----------
    url : str
        The model's URL with ``#sha256=`` and its 64-digit SHA-256.
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    Path
        The verified file in astropy's download cache.

    Raises
    ------
    AstroCNNError
        The URL carries no checksum, or the file's checksum differs (the file is then removed
        from the cache).
    ModelNotFoundError
        The file cannot be downloaded (and is not cached).
    """
    from astropy.utils.data import clear_download_cache, download_file

    base, _, fragment = str(url).partition("#")
    match = _CHECKSUM.match(fragment)
    if match is None:
        raise AstroCNNError(f"model URL {url!r} has no checksum: append #sha256=<64 hex digits> so the file can "
                            f"be verified before it is used")
    expected = match.group(1).lower()
    try:
        path = Path(download_file(base, cache=True, show_progress=False, timeout=timeout, pkgname=CACHE_PACKAGE))
    except Exception as exc:  # urllib, socket and astropy raise many kinds for a failed download
        raise ModelNotFoundError(f"cannot download the model {base!r}: {type(exc).__name__}: {exc}") from None
    actual = _sha256(path)
    if actual != expected:
        clear_download_cache(base, pkgname=CACHE_PACKAGE)
        raise AstroCNNError(f"model {base!r} has SHA-256 {actual}, not the {expected} its URL gives: refused "
                            f"(and removed from the cache)")
    return path


def cached_models() -> dict[str, Path]:
    """Model URLs in the download cache and their local files."""
    from astropy.utils.data import download_file, get_cached_urls

    urls = get_cached_urls(pkgname=CACHE_PACKAGE, on_missing="ignore")
    return {url: Path(download_file(url, cache=True, show_progress=False, pkgname=CACHE_PACKAGE)) for url in urls}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
