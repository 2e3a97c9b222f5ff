"""Configuration of the HiPS plugin (an :class:`astropy.config.ConfigNamespace`, section ``[astro_cnn_hips.config]``).

Every value can be set in the astropy configuration file, changed at run time
(``conf.offline = True``) or temporarily (``with conf.set_temp(...)``), and overridden per
survey through keyword options.
"""

from __future__ import annotations

from pathlib import Path

from astropy import config as _config

from astro_cnn.downloads import cache_root

__all__ = ["conf", "Conf", "cache_dir"]


class Conf(_config.ConfigNamespace):
    """Defaults of the HiPS plugin."""

    base_url = _config.ConfigItem(
        "https://alasky.cds.unistra.fr",
        "Root of the HiPS services: hips2fits at <url>/hips-image-services/hips2fits, the MOC server at "
        "<url>/MocServer/query.")
    cache_dir = _config.ConfigItem("", "Directory of the download cache (empty: <astropy cache dir>/astro_cnn_hips).")
    offline = _config.ConfigItem(False, "Make any network access an error (only the cache is used).")
    max_workers = _config.ConfigItem(4, "Targets fetched at once.")
    rate_limit = _config.ConfigItem(
        4.0, "Requests started per second at most, over all threads (0: no limit); public HiPS services cap "
             "request rates.")
    timeout = _config.ConfigItem(60.0, "Seconds to wait for a connection or for data.")
    retries = _config.ConfigItem(4, "Attempts after the first on timeouts, connection errors, 429, 5xx, bad bodies.")
    backoff = _config.ConfigItem(1.0, "Seconds before the first retry; doubled after each.")
    max_retry_after = _config.ConfigItem(120.0, "Longest Retry-After (seconds) honoured; longer waits are cut to it.")


#: The plugin's settings (see :class:`Conf`); each survey option left out is taken from here.
conf = Conf()


def cache_dir(override: str | Path | None = None) -> Path:
    """Return the cache directory: ``override``, else ``conf.cache_dir``, else astropy's cache dir."""
    return cache_root(override, conf.cache_dir, "astro_cnn_hips")
