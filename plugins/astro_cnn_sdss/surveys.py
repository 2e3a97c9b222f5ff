"""The two SDSS surveys: SkyServer colour JPEGs (``sdss-jpeg``) and 5-band frame stacks (``sdss-stack``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from astro_cnn.arguments import checked_count
from astro_cnn.downloads import Cache
from astro_cnn.target import Target
from astro_cnn.target_survey import Cutout, TargetSurvey

from . import catalog, http, jpeg
from .config import cache_dir as _cache_dir
from .config import conf
from .frames import (
    Frame,
    FrameId,
    FrameStore,
    LocalFrameIndex,
    frames_sql,
    parse_fields,
    sql_url,
    validate_fields,
    validate_frame,
)
from .stack import stack

__all__ = ["SDSSJpegSurvey", "SDSSStackSurvey", "BUNDLED_JPEG_DIR"]

#: Real SkyServer ImgCutout JPEGs (128 px, 0.296″/px) shipped with the plugin, named ``<objID>.jpg``.
BUNDLED_JPEG_DIR = Path(__file__).parent / "bundled" / "jpeg"


#: Median PSF FWHM of the SDSS imaging per band (SDSS imaging documentation, "Understanding SDSS imaging data").
_MEDIAN_PSF_FWHM = {band: fwhm * u.arcsec for band, fwhm in zip("ugriz", (1.53, 1.44, 1.32, 1.26, 1.29))}


class _SDSSSurvey(TargetSurvey):
    """Options shared by both SDSS surveys (each defaults to :data:`astro_cnn_sdss.config.conf`)."""

    def __init__(self, *, cache_dir: str | Path | None = None, offline: bool | None = None,
                 base_url: str | None = None, sas_url: str | None = None, max_workers: int | None = None,
                 timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
                 rate_limit: float | None = None):
        self.base_url = base_url or conf.skyserver_url
        self.sas_url = sas_url or conf.sas_url
        self.max_workers = checked_count(conf.max_workers if max_workers is None else max_workers, "option max_workers")
        self.cache = Cache(_cache_dir(cache_dir))
        self.client = http.client(self.cache, offline=offline, timeout=timeout, retries=retries, backoff=backoff,
                                  rate_limit=rate_limit, max_connections=self.max_workers)

    def query(self, sql: str | None = None, *, preset: str | None = None, top: int | None = None,
              **kwargs: Any) -> Table:
        """Run a SkyServer SQL query or a named preset, cached in this survey's cache.

        Parameters
        ----------
        sql : str, optional
            SQL text.
        preset : str, optional
            Name in :data:`astro_cnn_sdss.catalog.PRESETS`, instead of ``sql``.
        top : int, optional
            With ``preset``: at most this many rows.
        **kwargs
            ``data_release``, ``refresh``, ``timeout`` of :func:`astro_cnn_sdss.catalog.query_sql`.
        """
        if preset is not None:
            sql = catalog.preset_sql(preset, top=top)
        if sql is None:
            raise ValueError("give an SQL string or preset=...")
        return catalog.query_sql(sql, preset=preset, base_url=self.base_url, client=self.client, **kwargs)


class SDSSJpegSurvey(_SDSSSurvey):
    """SDSS gri colour JPEGs from the SkyServer ImgCutout service (the Wu & Boada 2019 input).

    Channels are the JPEG's R, G, B = SDSS i, r, g, as float32 in [0, 1] (Pillow decode / 255,
    identical to reading the same file with :func:`astro_cnn.image_files.read_image`).

    Cutouts are looked up by each target's id in ``jpeg_dir``, then among the real SkyServer
    cutouts that ship with this plugin (:data:`BUNDLED_JPEG_DIR`, 128 px at 0.296″/px, e.g. the
    metallicity demo galaxies), then in the download cache, and only then downloaded; so a table
    of ids alone (no coordinates) works offline for the bundled galaxies.

    Parameters
    ----------
    jpeg_dir : path, optional
        Directory of ``<id>.jpg`` files looked up by each target's id before any download.
    scale : float
        Arcsec per pixel asked of the service (default 0.296).
    bundled : bool
        Use the bundled cutouts (default True).
    **options
        ``cache_dir``, ``offline``, ``base_url`` (SkyServer), ``max_workers``, ``timeout``,
        ``retries``, ``backoff``, ``rate_limit`` (requests per second, 0: none); defaults from
        :data:`astro_cnn_sdss.config.conf`.
    """

    name = "sdss-jpeg"
    bands = ("i", "r", "g")
    pixel_scale = 0.296 * u.arcsec
    image_size = 128
    finds_images_by_id = True
    row_meta = ("jpeg",)
    native_pixel_scale = 0.396 * u.arcsec  # the SDSS camera (Gunn et al. 1998)
    psf_fwhm = {band: _MEDIAN_PSF_FWHM[band] for band in "irg"}
    data_release = "DR17"

    def __init__(self, *, jpeg_dir: str | Path | None = None, scale: float = 0.296, bundled: bool = True,
                 **options: Any):
        super().__init__(**options)
        self.bundled = bool(bundled)
        self.jpeg_dir = None if jpeg_dir is None else Path(jpeg_dir)
        if self.jpeg_dir is not None and not self.jpeg_dir.is_dir():
            raise FileNotFoundError(f"JPEG directory {str(self.jpeg_dir)!r} does not exist")
        self.scale = float(scale)
        self.pixel_scale = self.scale * u.arcsec

    def fetch(self, ra: float, dec: float, size: int | None = None) -> bytes:
        """Return the JPEG bytes of one cutout (from the cache, or downloaded and cached)."""
        size = int(size or self.image_size)
        return self.client.get(jpeg.cutout_url(self.base_url, ra, dec, size, self.scale),
                                jpeg.cutout_key(ra, dec, size, self.scale), jpeg.validate_jpeg)

    def cutout(self, target: Target, size: int) -> Cutout:
        """Return one target's JPEG decoded, with its bytes as ``meta["jpeg"]``; raise when there is none.

        The cutout is looked up by the target's id (``jpeg_dir``, the bundled cutouts), else
        fetched at its position (the download cache, else the service).
        """
        name = _cutout_name(target.id)
        data = None if name is None else self._local(name, size)
        if data is None:
            if target.coord is None:
                if name is None:
                    raise ValueError(f"row {target.row} has no position, and its id {str(target.id)!r} is not a "
                                     "file name (it holds a path separator), so no local cutout is looked up")
                where = f" in {str(self.jpeg_dir)!r}" if self.jpeg_dir else ""
                raise ValueError(f"row {target.row} has no position and no cutout {name}{where} or among the "
                                 "bundled cutouts")
            data = self.fetch(*_position(target), size)
        image = jpeg.decode_jpeg(data)
        if image.shape[1:] != (size, size):
            raise ValueError(f"JPEG of row {target.row} is {image.shape[2]}x{image.shape[1]} px, not {size}x{size}")
        return Cutout(image, meta={"jpeg": data})

    def _local(self, name: str, size: int) -> bytes | None:
        """Return the bytes of the local cutout file ``name``, checked; None when there is none."""
        directories = [] if self.jpeg_dir is None else [self.jpeg_dir]
        if self.bundled and size == 128 and abs(self.scale - 0.296) < 1e-9:
            directories.append(BUNDLED_JPEG_DIR)
        for directory in directories:
            path = directory / name
            if path.is_file():
                data = path.read_bytes()
                try:
                    jpeg.validate_jpeg(data)
                except ValueError as exc:
                    raise ValueError(f"cutout file {str(path)!r}: {exc}") from None
                return data
        return None


class SDSSStackSurvey(_SDSSSurvey):
    """Five-band SDSS stacks (the Pasquet et al. 2019 input) resampled from the corrected frames.

    Every band of every frame overlapping a target is resampled through its own WCS onto one
    tangent-plane grid centred on the target and co-added.  Pixels are nanomaggies; the weight
    plane counts the frames covering each pixel; ``meta["wcs"]`` holds each row's grid WCS.

    Parameters
    ----------
    frames_dir : path, optional
        Directory of ``frame-*.fits[.bz2|.gz]`` files searched (by WCS footprint) before any download.
    scale : float
        Output arcsec per pixel (default 0.396, the SDSS native scale).
    order : str
        Interpolation of :func:`reproject.reproject_interp` (default ``"bicubic"``).
    bands : sequence of str
        Bands to stack (default ugriz).
    **options
        ``cache_dir``, ``offline``, ``base_url`` (SkyServer, for the frame search), ``sas_url``,
        ``max_workers``, ``timeout``, ``retries``, ``backoff``, ``rate_limit``.
    """

    name = "sdss-stack"
    bands = ("u", "g", "r", "i", "z")
    pixel_scale = 0.396 * u.arcsec
    image_size = 64
    has_weights = True
    row_meta = ("wcs",)
    flux_unit = u.nanomaggy  # corrected frames; AB zero point 22.5 (SDSS frame data model)
    zero_point = 22.5
    native_pixel_scale = 0.396 * u.arcsec
    psf_fwhm = _MEDIAN_PSF_FWHM
    data_release = "DR17"

    def __init__(self, *, frames_dir: str | Path | None = None, scale: float = 0.396, order: str = "bicubic",
                 bands: tuple[str, ...] = ("u", "g", "r", "i", "z"), **options: Any):
        super().__init__(**options)
        self.local = None if frames_dir is None else LocalFrameIndex(frames_dir)
        self.scale = float(scale)
        self.pixel_scale = self.scale * u.arcsec
        self.order = order
        self.bands = tuple(bands)
        self.store = FrameStore()

    def fields(self, ra: float, dec: float, size: int | None = None) -> list[FrameId]:
        """Return the SDSS fields whose box covers (ra, dec) and the stack around it (SkyServer SQL, cached)."""
        margin = 0.5 * int(size or self.image_size) * self.scale
        sql = frames_sql(ra, dec, margin)
        return parse_fields(self.client.get(sql_url(self.base_url, sql), f"sql/{Cache.hashed(sql)}.csv",
                                             validate_fields))

    def frames_for(self, ra: float, dec: float, size: int | None = None) -> dict[str, list[Frame]]:
        """Return the frames of each band that cover (ra, dec): local files first, else the SAS (cached).

        Raises
        ------
        ValueError
            No SDSS field covers the position.
        """
        frames: dict[str, list[Frame]] = {band: [] for band in self.bands}
        if self.local is not None:
            for band in self.bands:
                for path in self.local.covering(ra, dec, band):
                    frames[band].append(self.store.get(str(path), path.read_bytes))
        if any(frames.values()):
            return frames
        fields = self.fields(ra, dec, size)
        if not fields:
            raise ValueError(f"no SDSS frame covers RA {ra:.6f}, Dec {dec:+.6f}")
        for field in fields:
            for band in self.bands:
                url, key = field.url(self.sas_url, band), field.key(band)
                frames[band].append(self.store.get(
                    key, lambda url=url, key=key: self.client.get(url, key, partial(validate_frame, name=key))))
        return frames

    def cutout(self, target: Target, size: int) -> Cutout:
        """Return one target's stack, its frame count per pixel as the weight and its grid WCS as ``meta["wcs"]``."""
        ra, dec = _position(target)
        image, weight, wcs = stack(self.frames_for(ra, dec, size), self.bands, ra, dec, size, self.scale, self.order)
        return Cutout(image, weight, {"wcs": wcs})


def _cutout_name(identifier: Any) -> str | None:
    """Return ``<id>.jpg``, or None when the id is missing (masked) or not a plain file name (it could name a file
    elsewhere)."""
    if identifier is np.ma.masked:
        return None
    name = f"{identifier}.jpg"
    if "/" in name or "\\" in name or "\0" in name or Path(name).name != name:
        return None
    return name


def _position(target: Target) -> tuple[float, float]:
    """Return the target's (ra, dec) in degrees; raise ``ValueError`` when it has none."""
    if target.coord is None:
        raise ValueError(f"row {target.row} has no position")
    return float(target.coord.ra.deg), float(target.coord.dec.deg)
