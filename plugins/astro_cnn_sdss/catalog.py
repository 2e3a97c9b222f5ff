"""SDSS catalogue queries through :mod:`astroquery.sdss` (SkyServer SQL), with units and named presets.

The SkyServer URL is :data:`astroquery.sdss.conf.skyserver_baseurl`; answers are kept as ECSV
files in the plugin cache, so a repeated query is offline and instant.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from astro_cnn.exceptions import NetworkDisabledError, UnknownNameError

from .cache import Cache
from .config import cache_dir as _cache_dir
from .config import conf

__all__ = ["query_sql", "query_region", "preset_sql", "PRESETS"]

#: Columns taken as magnitudes; a bare ``z`` is the redshift (select the z magnitude as ``z_mag``).
_MAGS = ("u", "g", "r", "i", "z_mag")

#: Named sample selections: name -> (SQL template with ``{top}``, data release, description).
PRESETS: dict[str, tuple[str, int, str]] = {
    "wu2019": (
        "SELECT {top} p.objID, p.ra, p.dec, p.run, p.rerun, p.camcol, p.field, "
        "p.u, p.g, p.r, p.i, p.z AS z_mag, p.petroMag_r, s.specObjID, s.z, s.zErr, s.rChi2, "
        "g.oh_p50, g.lgm_tot_p50 "
        "FROM PhotoObj AS p JOIN SpecObj AS s ON s.bestObjID = p.objID "
        "JOIN galSpecExtra AS g ON g.specObjID = s.specObjID "
        "WHERE g.oh_p50 > 0 AND s.rChi2 < 2 "
        "AND p.u BETWEEN 10 AND 25 AND p.g BETWEEN 10 AND 25 AND p.r BETWEEN 10 AND 25 "
        "AND p.i BETWEEN 10 AND 25 AND p.z BETWEEN 10 AND 25 "
        "AND p.u - p.r BETWEEN 0 AND 6 AND s.z > 0.02 AND s.zErr < 0.01 AND p.petroMag_r < 18",
        17,
        "Wu & Boada (2019): MPA-JHU galaxies with oh_p50 and stellar mass lgm_tot_p50",
    ),
    "pasquet2019": (
        "SELECT {top} p.objID, p.ra, p.dec, p.run, p.rerun, p.camcol, p.field, "
        "p.petroMag_r, p.petroMag_r - p.extinction_r AS dered_petroMag_r, "
        "p.extinction_u, p.extinction_g, p.extinction_r, p.extinction_i, p.extinction_z, "
        "p.extinction_r / 2.751 AS ebv, s.specObjID, s.z, s.zErr "
        "FROM PhotoObj AS p JOIN SpecObj AS s ON s.bestObjID = p.objID "
        "WHERE (s.legacy_target1 & 64) > 0 AND s.class = 'GALAXY' AND s.zWarning = 0 "
        "AND p.clean = 1 AND p.petroMag_r - p.extinction_r <= 17.8 AND s.z <= 0.4",
        12,
        "Pasquet et al. (2019): DR12 Main Galaxy Sample, dereddened Petrosian r <= 17.8, z <= 0.4, "
        "clean photometry, E(B-V) = extinction_r / 2.751",
    ),
}


def preset_sql(name: str, top: int | None = None) -> str:
    """Return the SQL of a named sample selection (see :data:`PRESETS`), optionally ``TOP n`` rows.

    Raises
    ------
    UnknownNameError
        Unknown preset (a ``KeyError``); the message lists the known ones.
    """
    if name not in PRESETS:
        raise UnknownNameError("SDSS preset", name, list(PRESETS))
    return PRESETS[name][0].format(top=f"TOP {int(top)}" if top else "")


def query_sql(sql: str, *, data_release: int | None = None, preset: str | None = None,
              cache_dir: str | Path | None = None, offline: bool | None = None, refresh: bool = False,
              timeout: float | None = None) -> Table:
    """Run a SkyServer SQL query through astroquery and return a Table with units.

    Parameters
    ----------
    sql : str
        SQL text (SkyServer dialect).
    data_release : int, optional
        SDSS data release (default: astroquery's, or the preset's).
    preset : str, optional
        Name of the preset ``sql`` came from; sets the default data release.
    cache_dir : path, optional
        Plugin cache (default :func:`astro_cnn_sdss.config.cache_dir`).
    offline : bool, optional
        Raise :class:`NetworkDisabledError` unless the answer is cached (default ``conf.offline``).
    refresh : bool
        Ask the service again even if the answer is cached.
    timeout : float, optional
        Seconds (default ``conf.timeout``).

    Returns
    -------
    Table
        Empty (no rows) when nothing matched; magnitudes (``u g r i z_mag``, ``petroMag_*``,
        ``extinction_*``, ...) in mag, positions in deg, ``oh_p50`` and ``lgm_tot_p50`` in dex; a
        column named ``z`` is the redshift (dimensionless).
    """
    from astroquery.sdss import SDSS
    from astroquery.sdss import conf as aq_conf

    if data_release is None:
        data_release = PRESETS[preset][1] if preset else int(aq_conf.default_release)
    cache = Cache(_cache_dir(cache_dir))
    key = f"query/dr{data_release}_{Cache.hashed(aq_conf.skyserver_baseurl + sql)}.ecsv"
    path = cache.path(key)
    if path.is_file() and not refresh:
        try:
            return Table.read(path, format="ascii.ecsv")
        except (ValueError, OSError):
            path.unlink()
    if conf.offline if offline is None else offline:
        raise NetworkDisabledError(f"SQL answer not cached ({path}) and network access is off: {sql[:120]}")
    table = SDSS.query_sql(sql, data_release=data_release, timeout=timeout or conf.timeout, cache=False)
    table = Table() if table is None else table
    _add_units(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.ecsv")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    tmp.replace(path)
    return table


def query_region(coord: SkyCoord, radius: u.Quantity = 1 * u.arcmin, *, columns: str = "", top: int | None = None,
                 **options) -> Table:
    """Return the photometric objects within ``radius`` of ``coord`` (SkyServer ``fGetNearbyObjEq``).

    Parameters
    ----------
    coord : SkyCoord
        Centre.
    radius : Quantity
        Search radius (angle).
    columns : str
        Extra ``PhotoObj`` columns, comma-separated (``p.`` prefix), added to objID, ra, dec, type,
        ugriz and petroMag_r.
    top : int, optional
        At most this many rows, nearest first.
    **options
        Passed to :func:`query_sql`.
    """
    icrs = coord.icrs
    extra = f", {columns}" if columns else ""
    sql = (f"SELECT {f'TOP {int(top)} ' if top else ''}p.objID, p.ra, p.dec, p.type, p.u, p.g, p.r, p.i, "
           f"p.z AS z_mag, p.petroMag_r, n.distance{extra} "
           f"FROM dbo.fGetNearbyObjEq({icrs.ra.deg:.7f}, {icrs.dec.deg:.7f}, {radius.to_value(u.arcmin):.6f}) AS n "
           "JOIN PhotoObj AS p ON p.objID = n.objID ORDER BY n.distance")
    table = query_sql(sql, **options)
    if "distance" in table.colnames:
        table["distance"].unit = u.arcmin
    return table


def _add_units(table: Table) -> None:
    for name in table.colnames:
        low = name.lower()
        if low in ("ra", "dec"):
            table[name].unit = u.deg
        elif low in _MAGS or low.startswith(("petromag", "modelmag", "dered", "extinction_",
                                                                 "psfmag", "cmodelmag", "fibermag")):
            table[name].unit = u.mag
        elif low in ("oh_p50", "lgm_tot_p50"):
            table[name].unit = u.dex
        elif low == "ebv":
            table[name].unit = u.mag
