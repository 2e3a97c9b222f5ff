"""SDSS catalogue queries (SkyServer SQL search), with units and named presets.

Queries go to ``<SkyServer URL>/SkyServerWS/SearchTools/SqlSearch`` through the plugin's one HTTP
client (:class:`astro_cnn.http_client.HTTPClient`: pooled connections, retries, ``Retry-After``, rate
limit); answers are kept as ECSV files in the plugin cache, so a repeated query is offline and instant.
"""

from __future__ import annotations

import re
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from astro_cnn.downloads import Cache, FetchError
from astro_cnn.exceptions import NetworkDisabledError, UnknownNameError
from astro_cnn.http_client import HTTPClient

from . import http
from .config import cache_dir as _cache_dir
from .config import conf
from .frames import parse_sql_csv, sql_url

__all__ = ["query_sql", "query_region", "preset_sql", "release_url", "PRESETS"]

#: The data release that ends a SkyServer URL (``https://skyserver.sdss.org/dr17``).
_RELEASE = re.compile(r"/dr\d+$")

#: Columns taken as magnitudes; a bare ``z`` is the redshift (select the z magnitude as ``z_mag``).
_MAGS = ("u", "g", "r", "i", "z_mag")

#: The Wu & Boada (2019) sample: the authors' query (``SDSS_sql_query.sql`` of the GitHub repository
#: jwuphysics/galaxy-cnns, run on DR14) with its columns, joins and cuts, plus ``run, rerun, camcol, field``
#: (to fetch the frames) and ``petroMag_r`` (a cut column); without its ``INTO mydb...`` (a CasJobs table,
#: which SkyServer's SQL search cannot write) and with ``{top}`` for its test limit ``top 100``.
_WU2019 = (
    "SELECT {top} G.objID, GSI.specObjID, G.ra, G.dec, G.run, G.rerun, G.camcol, G.field, "
    "S.z, S.zErr, S.velDisp, S.velDispErr, "
    "G.modelMag_u, G.modelMagErr_u, G.modelMag_g, G.modelMagErr_g, G.modelMag_r, G.modelMagErr_r, "
    "G.modelMag_i, G.modelMagErr_i, G.modelMag_z, G.modelMagErr_z, G.petroMag_r, G.petroR50_r, G.petroR90_r, "
    "GSL.nii_6584_flux, GSL.nii_6584_flux_err, GSL.h_alpha_flux, GSL.h_alpha_flux_err, "
    "GSL.oiii_5007_flux, GSL.oiii_5007_flux_err, GSL.h_beta_flux, GSL.h_beta_flux_err, "
    "GSL.h_delta_flux, GSL.h_delta_flux_err, GSX.d4000, GSX.d4000_err, GSE.bptclass, "
    "GSE.oh_p2p5, GSE.oh_p16, GSE.oh_p50, GSE.oh_p84, GSE.oh_p97p5, GSE.lgm_tot_p50, GSE.sfr_tot_p50 "
    "FROM SpecObj AS S "
    "JOIN Galaxy AS G ON G.objID = S.bestObjID "
    "JOIN GalSpecLine AS GSL ON GSL.specObjID = S.specObjID "
    "JOIN GalSpecInfo AS GSI ON GSI.specObjID = S.specObjID "
    "JOIN GalSpecIndx AS GSX ON GSX.specObjID = S.specObjID "
    "JOIN GalSpecExtra AS GSE ON GSE.specObjID = S.specObjID "
    "WHERE (G.petroMag_r > 10 AND G.petroMag_r < 18) "
    "AND (G.modelMag_u - G.modelMag_r) > 0 AND (G.modelMag_u - G.modelMag_r) < 6 "
    "AND (G.modelMag_u > 10 AND G.modelMag_u < 25) AND (G.modelMag_g > 10 AND G.modelMag_g < 25) "
    "AND (G.modelMag_r > 10 AND G.modelMag_r < 25) AND (G.modelMag_i > 10 AND G.modelMag_i < 25) "
    "AND (G.modelMag_z > 10 AND G.modelMag_z < 25) "
    "AND S.rChi2 < 2 AND (S.zErr > 0 AND S.zErr < 0.01) "
    "AND S.z > 0.02 AND GSE.oh_p50 != -9999"
)

#: Named sample selections: name -> (SQL template with ``{top}``, data release, description).
PRESETS: dict[str, tuple[str, int, str]] = {
    "wu2019": (
        _WU2019,
        14,
        "Wu & Boada (2019), the authors' DR14 query: Galaxy view with MPA-JHU line, index and oh_p50 "
        "measurements; 10 < petroMag_r < 18, 10 < ugriz model mags < 25, 0 < u-r < 6, rChi2 < 2, "
        "0 < zErr < 0.01, z > 0.02, oh_p50 != -9999",
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
    """Return the SQL of a named sample selection (:data:`~astro_cnn_sdss.catalog.PRESETS`), optionally ``TOP n`` rows.

    Raises
    ------
    UnknownNameError
        Unknown preset (a ``KeyError``); the message lists the known ones.
    """
    if name not in PRESETS:
        raise UnknownNameError("SDSS preset", name, list(PRESETS))
    return PRESETS[name][0].format(top=f"TOP {int(top)}" if top else "")


def query_sql(sql: str, *, data_release: int | None = None, preset: str | None = None,
              base_url: str | None = None, client: HTTPClient | None = None, cache_dir: str | Path | None = None,
              offline: bool | None = None, refresh: bool = False, timeout: float | None = None) -> Table:
    """Run a SkyServer SQL query and return a Table with units.

    Parameters
    ----------
    sql : str
        SQL text (SkyServer dialect).
    data_release : int, optional
        SDSS data release: replaces the ``/dr<N>`` that ends ``base_url`` (default: the preset's,
        else ``base_url``'s own).
    preset : str, optional
        Name of the preset ``sql`` came from; sets the default data release.
    base_url : str, optional
        SkyServer base URL, e.g. ``https://skyserver.sdss.org/dr17`` (default ``conf.skyserver_url``).
    client : HTTPClient, optional
        The HTTP client (a survey's), whose cache, offline switch, retries and rate limit apply;
        default: one made from ``cache_dir``, ``offline`` and :data:`astro_cnn_sdss.config.conf`.
    cache_dir : path, optional
        Plugin cache (default :func:`astro_cnn_sdss.config.cache_dir`); not with ``client``.
    offline : bool, optional
        Raise :class:`~astro_cnn.exceptions.NetworkDisabledError` unless the answer is cached
        (default ``conf.offline``); not with ``client``.
    refresh : bool
        Ask the service again even if the answer is cached.
    timeout : float, optional
        Seconds to wait for the connection and for each read (default: the client's, ``conf.timeout``).

    Returns
    -------
    Table
        Empty (no rows) when nothing matched; magnitudes (``u g r i z_mag``, ``petroMag_*``,
        ``modelMag*``, ``extinction_*``, ...) in mag, positions in deg, ``oh_p*`` (percentiles of
        12 + log O/H) in dex, ``lgm_*`` (log stellar mass) in dex(solMass), ``petroR*`` in arcsec,
        ``velDisp*`` in km/s; a column named ``z`` is the redshift (dimensionless).

    Raises
    ------
    NetworkDisabledError
        Not cached and network access is off.
    FetchError
        The service failed after the last retry, or answered with an error page.
    """
    if client is None:
        client = http.client(Cache(_cache_dir(cache_dir)), offline=offline)
    elif cache_dir is not None or offline is not None:
        raise TypeError("query_sql takes cache_dir and offline, or a client that has them, not both")
    if data_release is None and preset:
        data_release = PRESETS[preset][1]
    url = sql_url(release_url(base_url or conf.skyserver_url, data_release), sql)
    path = client.cache.path(f"query/{Cache.hashed(url)}.ecsv")
    if path.is_file() and not refresh:
        try:
            return Table.read(path, format="ascii.ecsv")
        except (ValueError, OSError):
            path.unlink()
    if client.offline:
        raise NetworkDisabledError(f"SQL answer not cached ({path}) and network access is off: {sql[:120]}")
    try:  # an error page is the answer to this SQL: asking again would not help
        table = parse_sql_csv(client.download(url, timeout=timeout))
    except ValueError as exc:
        raise FetchError(f"SkyServer did not answer the query with a table: {exc}") from None
    _add_units(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.ecsv")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    tmp.replace(path)
    return table


def release_url(base_url: str, data_release: int | None) -> str:
    """Return the SkyServer ``base_url`` of ``data_release``: its ending ``/dr<N>`` replaced (unchanged for None).

    Raises
    ------
    ValueError
        A data release is asked for but ``base_url`` does not end in ``/dr<N>``.
    """
    base = base_url.rstrip("/")
    if data_release is None:
        return base
    if not _RELEASE.search(base):
        raise ValueError(f"SkyServer URL {base_url!r} does not end in /dr<N>, so data release {data_release} "
                         "cannot be asked of it; give the URL of that release instead")
    return _RELEASE.sub(f"/dr{int(data_release)}", base)


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
        elif low.startswith("oh_p"):
            table[name].unit = u.dex
        elif low.startswith("lgm_"):  # log stellar mass: the unit astro_cnn's stellar-mass predictions carry
            table[name].unit = u.dex(u.Msun)
        elif low.startswith("petror"):
            table[name].unit = u.arcsec
        elif low.startswith("veldisp"):
            table[name].unit = u.km / u.s
        elif low == "ebv":
            table[name].unit = u.mag
