"""Models that travel: a model file named by URL with its checksum, fetched once into astropy's download cache.

A model is published as a URL with its SHA-256 in the fragment, e.g.
``https://zenodo.org/records/123/files/photoz.acnn#sha256=9f2c...``.  The file is downloaded once,
by astro_cnn's one HTTP client (:class:`~astro_cnn.http_client.HTTPClient`: retries, ``Retry-After``),
checked against the checksum (a mismatch is an error and nothing is kept), kept in astropy's download
cache (package ``astro_cnn``), and loaded like any model file: its metadata is JSON and its weights
are read with ``torch.load(weights_only=True)``, so no code in it runs.  With astropy's
``allow_internet`` off, a cached model still loads.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .downloads import FetchError
from .exceptions import AstroCNNError, ModelNotFoundError, NetworkDisabledError
from .http_client import HTTPClient

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
        The URL carries no checksum, or the downloaded file's checksum differs (it is then not kept;
        a cached file that differs is dropped and downloaded again).
    ModelNotFoundError
        The file is not cached and cannot be downloaded (astropy's ``allow_internet`` is off, or
        the server failed or refused).
    """
    from astropy.utils.data import cache_contents, clear_download_cache, conf, import_file_to_cache

    base, _, fragment = str(url).partition("#")
    match = _CHECKSUM.match(fragment)
    if match is None:
        raise AstroCNNError(f"model URL {url!r} has no checksum: append #sha256=<64 hex digits> so the file can "
                            f"be verified before it is used")
    expected = match.group(1).lower()
    cached = cache_contents(pkgname=CACHE_PACKAGE, on_missing="ignore").get(base)
    if cached is not None:
        if _sha256(Path(cached)) == expected:
            return Path(cached)
        clear_download_cache(base, pkgname=CACHE_PACKAGE)  # another version of the file: the URL's checksum rules
    client = HTTPClient(offline=not conf.allow_internet, timeout=timeout)
    try:
        body = client.download(base)
    except (FetchError, NetworkDisabledError) as exc:
        raise ModelNotFoundError(f"cannot download the model {base!r}: {exc}") from None
    actual = hashlib.sha256(body).hexdigest()
    if actual != expected:
        raise AstroCNNError(f"model {base!r} has SHA-256 {actual}, not the {expected} its URL gives: refused "
                            f"(and not kept)")
    handle, name = tempfile.mkstemp(suffix=".acnn")
    with os.fdopen(handle, "wb") as file:
        file.write(body)
    return Path(import_file_to_cache(base, name, remove_original=True, pkgname=CACHE_PACKAGE))


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
