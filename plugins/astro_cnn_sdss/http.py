"""The SDSS plugin's HTTP client: astro_cnn's one client, :class:`~astro_cnn.http_client.HTTPClient`, set up from conf.

Every request of the plugin (ImgCutout JPEGs, SAS frames, SkyServer SQL) goes through the client
:func:`client` returns: pooled connections, retries with backoff and ``Retry-After``, an optional
rate limit, logged on the ``astro_cnn.http_client`` logger.
"""

from __future__ import annotations

from astro_cnn.downloads import Cache
from astro_cnn.http_client import HTTPClient

from .config import conf

__all__ = ["client"]


def client(cache: Cache, *, offline: bool | None = None, timeout: float | None = None, retries: int | None = None,
           backoff: float | None = None, rate_limit: float | None = None,
           max_connections: int | None = None) -> HTTPClient:
    """Return an HTTP client for the SDSS services; each option left out is taken from the plugin's ``conf``.

    Parameters
    ----------
    cache : Cache
        Where downloads are kept.
    offline : bool, optional
        Refuse any network access (default ``conf.offline``).
    timeout : float, optional
        Seconds for connecting and for each read, above 0 (default ``conf.timeout``).
    retries : int, optional
        Attempts after the first (default ``conf.retries``).
    backoff : float, optional
        Seconds before the first retry, doubled after each (default ``conf.backoff``).
    rate_limit : float, optional
        Most requests started per second, retries included, 0 for no limit (default ``conf.rate_limit``).
    max_connections : int, optional
        Connections open at once to each host (default ``conf.max_workers``).

    Raises
    ------
    AstroCNNError
        An option has a wrong value; the message names it.
    """
    return HTTPClient.from_options(
        cache, conf, user_agent="astro_cnn_sdss", offline=offline, timeout=timeout, retries=retries, backoff=backoff,
        rate_limit=rate_limit, max_connections=conf.max_workers if max_connections is None else max_connections)
