"""Configuration of the SDSS plugin (an :class:`astropy.config.ConfigNamespace`).

Every value can be set in the file ``astro_cnn_sdss.cfg`` of astropy's configuration directory
(:func:`astropy.config.get_config_dir`, e.g. ``~/.astropy/config`` or ``$XDG_CONFIG_HOME/astropy``),
section ``[config]`` (read at import, or again by ``conf.reload()``); changed at run time
(``conf.offline = True``) or temporarily (``with conf.set_temp(...)``); and overridden per survey
through keyword options.
"""

from __future__ import annotations

from pathlib import Path

from astropy import config as _config

from astro_cnn.downloads import cache_root

__all__ = ["conf", "Conf", "cache_dir"]


class Conf(_config.ConfigNamespace):
    """Defaults of the SDSS plugin."""

    skyserver_url = _config.ConfigItem(
        "https://skyserver.sdss.org/dr17",
        "SkyServer base URL: ImgCutout at <url>/SkyServerWS/ImgCutout/getjpeg, SQL at "
        "<url>/SkyServerWS/SearchTools/SqlSearch.")
    sas_url = _config.ConfigItem(
        "https://data.sdss.org/sas/dr17/eboss",
        "SAS base URL; frames are at "
        "<url>/photoObj/frames/<rerun>/<run>/<camcol>/frame-<band>-<run6>-<camcol>-<field4>.fits.bz2.")
    cache_dir = _config.ConfigItem(
        "", "Directory of the download cache (empty: <astropy cache dir>/astro_cnn_sdss).")
    offline = _config.ConfigItem(False, "Make any network access an error (only cache and local files are used).")
    max_workers = _config.ConfigItem(16, "Downloads in flight at once.")
    timeout = _config.ConfigItem(30.0, "Seconds to wait for a connection or for data.")
    retries = _config.ConfigItem(4, "Attempts after the first one on timeouts, connection errors, 5xx, bad bodies.")
    backoff = _config.ConfigItem(0.5, "Seconds before the first retry; doubled after each (a Retry-After header "
                                      "sent with HTTP 429 or 503 is waited for instead).")
    rate_limit = _config.ConfigItem(0.0, "Most requests started per second, retries included (0: no limit).")


#: The plugin's settings (see :class:`Conf`); each survey option left out is taken from here.
conf = Conf()


def cache_dir(override: str | Path | None = None) -> Path:
    """Return the cache directory: ``override``, else ``conf.cache_dir``, else astropy's cache dir."""
    return cache_root(override, conf.cache_dir, "astro_cnn_sdss")
