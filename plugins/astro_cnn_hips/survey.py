"""The ``hips`` survey: cutouts of any HiPS, resampled by a hips2fits service onto each target's tangent plane."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from astro_cnn import AstroCNNError, Cutout, TargetSurvey
from astro_cnn.arguments import checked_count, checked_number, checked_switch
from astro_cnn.downloads import Cache
from astro_cnn.http_client import HTTPClient, url_with_query
from astro_cnn.target import Target

from .config import cache_dir as _cache_dir
from .config import conf
from .moc import MOC
from .presets import PRESETS

__all__ = ["HiPSSurvey", "HIPS2FITS_PATH", "MOCSERVER_PATH", "tangent_wcs", "hips2fits_params"]

#: Path of the hips2fits service under the base URL.
HIPS2FITS_PATH = "/hips-image-services/hips2fits"
#: Path of the MOC server (``?ID=<hips>&get=moc&fmt=fits`` answers the MOC of a HiPS) under the base URL.
MOCSERVER_PATH = "/MocServer/query"

_IMAGE_FORMATS = ("fits", "jpg", "png")


class HiPSSurvey(TargetSurvey):
    """Cutouts of a HiPS on each target's tangent plane, at any size and pixel scale, through hips2fits.

    Each band is one hips2fits request (``hips``, ``width``, ``height``, ``projection=TAN``, ``fov``,
    ``ra``, ``dec``, ``format``): FITS images of flux for a per-band HiPS, or one JPEG/PNG for a
    colour HiPS (channels red, green, blue as float32 in [0, 1], rows from north down, as the
    ``sdss-jpeg`` survey).  FITS rows run from south up, as in the file; blank pixels (outside
    the survey's images) are 0 with weight 0, others weight 1; ``meta["wcs"]`` holds each row's WCS.

    Before anything is fetched for a target, its position is checked against the MOC of every
    HiPS it needs (each MOC fetched once from the MOC server and cached): outside, the row is
    flagged ``"outside the <survey> footprint"``.  Downloads are cached on disk (written
    atomically, checked when read, so a rerun resumes where it stopped), retried on timeouts,
    429 (after its ``Retry-After``) and 5xx, bodies that fail to parse are retried and never
    cached, and requests are spread out by a rate limit shared by all threads.

    Parameters
    ----------
    preset : str, optional
        A name in :data:`astro_cnn_hips.presets.PRESETS` (``legacy-dr10``, ``ps1-dr1``, ``sdss-dr9``,
        ``des-dr2``): its HiPS per band, colour HiPS, native pixel scale and declared attributes.
    hips : str or mapping, optional
        HiPS identifier of each band, as a mapping or ``"g=ID,r=ID"``; instead of, or added to, the
        preset's.  With ``colour=True``: one identifier, of a colour HiPS.
    bands : str or sequence of str, optional
        Bands returned, in channel order, named as the model that reads them names them
        (``"gri"``, ``"g,r,i"`` or a sequence; default: every band of the preset or ``hips``,
        or the colour HiPS's channels).  Each is fetched from the HiPS of the band of the same name,
        or of ``band_map[name]``.
    band_map : str or mapping, optional
        Band returned -> band of the survey it is fetched from (``"u=g,i=z"`` or a mapping), for a
        model whose bands are named differently from the survey's.  Never guessed.
    colour : bool
        Cut the colour HiPS (``image_format`` jpg or png) instead of the per-band FITS HiPS.
    image_format : str
        ``"jpg"`` or ``"png"`` for a colour HiPS (default ``"jpg"``).
    pixel_scale : float, optional
        Arcsec per pixel of the cutouts (default: the preset's native scale, else 1.0); set it to
        a model's pixel scale to feed the model images cut at its scale (the declared resampling).
    image_size : int
        Default side in pixels (64).
    check_coverage : bool
        Check each position against the HiPS MOCs before fetching (default True).
    title : str, optional
        Survey name in messages (default: the preset's title, else the first HiPS identifier).
    base_url : str, optional
        Root of the services: hips2fits at ``<base_url>/hips-image-services/hips2fits``, the MOC
        server at ``<base_url>/MocServer/query`` (default ``conf.base_url``, CDS).
    cache_dir, offline, max_workers, timeout, retries, backoff, rate_limit : optional
        Network options; defaults from :data:`astro_cnn_hips.config.conf`.

    Raises
    ------
    AstroCNNError
        An unknown preset, no HiPS, a band with no HiPS, a bad band map or a bad option value.
    """

    name = "hips"
    has_weights = True
    row_meta = ("wcs",)

    def __init__(self, *, preset: str | None = None, hips: str | Mapping[str, str] | None = None,
                 bands: str | Sequence[str] | None = None, band_map: str | Mapping[str, str] | None = None,
                 colour: bool = False, image_format: str = "jpg", pixel_scale: float | None = None,
                 image_size: int = 64, check_coverage: bool = True, title: str | None = None,
                 base_url: str | None = None, cache_dir: str | Path | None = None, offline: bool | None = None,
                 max_workers: int | None = None, timeout: float | None = None, retries: int | None = None,
                 backoff: float | None = None, rate_limit: float | None = None):
        if preset is not None and preset not in PRESETS:
            raise AstroCNNError(f"unknown HiPS preset {preset!r}; the presets are: {', '.join(PRESETS)}")
        self.preset = None if preset is None else PRESETS[preset]
        self.colour = checked_switch(colour, "option colour")
        self.image_format = str(image_format).lower()
        if self.image_format not in _IMAGE_FORMATS[1:]:
            raise AstroCNNError(f"option image_format must be jpg or png, not {image_format!r}")
        self.band_map = _pairs("band_map", band_map)
        if self.colour:
            self.bands, self.band_hips = self._colour_channels(hips, bands)
        else:
            self.bands, self.band_hips = self._band_sources(hips, bands)
        scale = pixel_scale if pixel_scale is not None else (
            self.preset.native_pixel_scale.to_value(u.arcsec) if self.preset else 1.0)
        self.scale = checked_number(scale, "option pixel_scale")
        self.pixel_scale = self.scale * u.arcsec
        self.image_size = checked_count(image_size, "option image_size")
        self.check_coverage = checked_switch(check_coverage, "option check_coverage")
        self.title = title or (self.preset.title if self.preset else next(iter(self.band_hips.values())))
        self._declare()
        root = (base_url or conf.base_url).rstrip("/")
        self.hips2fits_url, self.moc_url = root + HIPS2FITS_PATH, root + MOCSERVER_PATH
        self.max_workers = checked_count(conf.max_workers if max_workers is None else max_workers, "option max_workers")
        self.cache = Cache(_cache_dir(cache_dir))
        self.client = HTTPClient.from_options(
            self.cache, conf, user_agent="astro_cnn_hips", offline=offline, timeout=timeout, retries=retries,
            backoff=backoff, rate_limit=rate_limit, max_connections=self.max_workers)
        self._mocs: dict[str, MOC] = {}
        self._moc_lock = threading.Lock()

    def _band_sources(self, hips: str | Mapping[str, str] | None,
                      bands: str | Sequence[str] | None) -> tuple[tuple[str, ...], dict[str, str]]:
        """The bands returned and the HiPS each is cut from (the preset's, updated with ``hips``, via ``band_map``)."""
        sources = dict(self.preset.hips) if self.preset else {}
        sources.update(_pairs("hips", hips))
        names = _band_list(bands) if bands is not None else tuple(sources)
        if not names:
            raise AstroCNNError("no HiPS to cut: give preset=... or hips=BAND=ID,...")
        band_hips = {}
        for band in names:
            source = self.band_map.get(band, band)
            if source not in sources:
                mapped = f" (mapped to {source!r} by band_map)" if source != band else ""
                raise AstroCNNError(f"band {band!r}{mapped} has no HiPS; the bands available are: "
                                    f"{', '.join(sources) or 'none'}; map a band onto one of them with "
                                    "band_map=NAME=BAND")
            band_hips[band] = sources[source]
        unused = sorted(set(self.band_map) - set(names))
        if unused:
            raise AstroCNNError(f"band_map names {unused}, which are not among the bands {list(names)}")
        return names, band_hips

    def _colour_channels(self, hips: str | Mapping[str, str] | None,
                         bands: str | Sequence[str] | None) -> tuple[tuple[str, ...], dict[str, str]]:
        """The names of the red, green and blue channels and the colour HiPS they all come from."""
        if hips is not None and (not isinstance(hips, str) or "=" in hips):
            raise AstroCNNError("with colour=true, hips is one colour HiPS identifier, not band=ID pairs")
        if hips is None and self.preset is None:
            raise AstroCNNError("colour=true needs preset=... or hips=<colour HiPS identifier>")
        if self.band_map:
            raise AstroCNNError("band_map does not apply to a colour HiPS; name its channels with bands=...")
        identifier = hips or self.preset.colour_hips
        names = _band_list(bands) if bands is not None else (
            self.preset.colour_bands if self.preset and hips is None else ("red", "green", "blue"))
        if len(names) != 3:
            raise AstroCNNError(f"a colour HiPS has 3 channels (red, green, blue), not the bands {list(names)}")
        return names, {band: identifier for band in names}

    def _declare(self) -> None:
        """Fill in the declared attributes of :class:`~astro_cnn.Survey` from the preset."""
        if self.preset is None:
            return
        self.native_pixel_scale = self.preset.native_pixel_scale
        self.data_release = self.preset.data_release
        if not self.colour:
            self.flux_unit, self.zero_point = self.preset.flux_unit, self.preset.zero_point
            source = {band: self.band_map.get(band, band) for band in self.bands}
            if self.preset.psf_fwhm is not None:
                self.psf_fwhm = {band: self.preset.psf_fwhm[source[band]] for band in self.bands
                                 if source[band] in self.preset.psf_fwhm}

    def footprint(self, hips: str) -> MOC:
        """Return the MOC of ``hips`` (fetched from the MOC server once, cached on disk and in memory)."""
        with self._moc_lock:
            if hips not in self._mocs:
                body = self.client.get(url_with_query(self.moc_url, {"ID": hips, "get": "moc", "fmt": "fits"}),
                                       f"moc/{_safe(hips)}.fits", MOC.from_fits)
                self._mocs[hips] = MOC.from_fits(body)
            return self._mocs[hips]

    def covers(self, ra: float, dec: float) -> bool:
        """Return whether (ra, dec) in degrees lies in the MOC of every HiPS the survey cuts."""
        return all(bool(self.footprint(hips).contains(ra, dec)[0]) for hips in dict.fromkeys(self.band_hips.values()))

    def fetch(self, hips: str, ra: float, dec: float, size: int, image_format: str = "fits") -> bytes:
        """Return one hips2fits cutout of ``hips`` (cached, else downloaded, checked and cached)."""
        params = hips2fits_params(hips, ra, dec, size, self.scale, image_format)
        key = f"hips2fits/{_safe(hips)}/{ra:.7f}_{dec:+.7f}_{self.scale:.5f}_{size}.{image_format}"
        check = (lambda body: _read_fits(body, size)) if image_format == "fits" else \
            (lambda body: _read_colour(body, size))
        return self.client.get(url_with_query(self.hips2fits_url, params), key, check)

    def cutout(self, target: Target, size: int) -> Cutout:
        """Return one target's image, its weight (0 on blank pixels) and WCS; raise to flag its row.

        Raises
        ------
        ValueError
            The target has no position, or lies outside the survey's footprint.
        """
        if target.coord is None:
            raise ValueError(f"row {target.row} has no position")
        ra, dec = float(target.coord.ra.deg), float(target.coord.dec.deg)
        if self.check_coverage and not self.covers(ra, dec):
            raise ValueError(f"outside the {self.title} footprint")
        if self.colour:
            image = _read_colour(self.fetch(self.band_hips[self.bands[0]], ra, dec, size, self.image_format), size)
            wcs = tangent_wcs(ra, dec, size, self.scale)
            wcs.wcs.cdelt = [wcs.wcs.cdelt[0], -wcs.wcs.cdelt[1]]  # rows from north down, as the image
            return Cutout(image, np.ones_like(image), {"wcs": wcs})
        planes, wcs = [], None
        for band in self.bands:
            plane, header = _read_fits(self.fetch(self.band_hips[band], ra, dec, size), size)
            planes.append(plane)
            wcs = wcs or WCS(header)
        image = np.stack(planes).astype(np.float32)
        weight = np.isfinite(image).astype(np.float32)
        return Cutout(np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0), weight, {"wcs": wcs})

    def describe(self) -> dict[str, Any]:
        """Return :meth:`astro_cnn.Survey.describe` with the HiPS of each band and the preset."""
        description = super().describe()
        description["hips"] = dict(self.band_hips)
        if self.preset is not None:
            description["preset"] = self.preset.name
        return description


def hips2fits_params(hips: str, ra: float, dec: float, size: int, scale: float,
                     image_format: str = "fits") -> dict[str, Any]:
    """Return the hips2fits query of a ``size`` x ``size`` TAN cutout at ``scale`` arcsec per pixel.

    Parameters
    ----------
    hips : str
        HiPS identifier.
    ra, dec : float
        Centre, degrees (ICRS).
    size : int
        Side in pixels.
    scale : float
        Arcsec per pixel.
    image_format : str
        ``fits``, ``jpg`` or ``png``.

    Returns
    -------
    dict
        ``hips``, ``width``, ``height``, ``projection``, ``fov`` (degrees, the side), ``ra``,
        ``dec``, ``format``.
    """
    return {"hips": hips, "width": int(size), "height": int(size), "projection": "TAN",
            "fov": repr(size * scale / 3600.0), "ra": repr(float(ra)), "dec": repr(float(dec)),
            "format": image_format}


def tangent_wcs(ra: float, dec: float, size: int, scale: float) -> WCS:
    """Return the WCS hips2fits gives a ``size`` x ``size`` TAN cutout: centred, north up, east left.

    Parameters
    ----------
    ra, dec : float
        Centre, degrees.
    size : int
        Side in pixels.
    scale : float
        Arcsec per pixel.
    """
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    wcs.wcs.cdelt = [-scale / 3600.0, scale / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs


def _read_fits(body: bytes, size: int) -> tuple[np.ndarray, fits.Header]:
    """Return the image and header of a hips2fits FITS answer; ``ValueError`` if it is not one of that size."""
    try:
        with fits.open(io.BytesIO(body)) as hdul:
            data, header = hdul[0].data, hdul[0].header.copy()
            if data is None:
                raise ValueError("FITS file without an image")
            data = np.array(data, dtype=np.float32)
    except (OSError, TypeError, IndexError) as exc:
        raise ValueError(f"not a FITS image ({type(exc).__name__}: {exc})") from None
    if data.shape != (size, size):
        raise ValueError(f"FITS image of shape {data.shape}, not {(size, size)}")
    return data, header


def _read_colour(body: bytes, size: int) -> np.ndarray:
    """Return a JPEG/PNG answer as float32 (3, size, size) in [0, 1]; ``ValueError`` if it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as picture:
            picture.load()
            pixels = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise ValueError(f"not a colour image ({type(exc).__name__}: {exc})") from None
    if pixels.shape[:2] != (size, size):
        raise ValueError(f"colour image of {pixels.shape[1]}x{pixels.shape[0]} px, not {size}x{size}")
    return np.moveaxis(pixels, -1, 0)


def _safe(hips: str) -> str:
    """A HiPS identifier as one file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", hips)


def _pairs(option: str, value: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"a=x,b=y"`` or a mapping as a dict of str; AstroCNNError naming ``option`` otherwise."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    pairs: dict[str, str] = {}
    for item in str(value).split(","):
        key, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not key or not target:
            raise AstroCNNError(f"option {option} must be NAME=VALUE pairs separated by commas, not {value!r}")
        pairs[key] = target
    return pairs


def _band_list(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"gri"``, ``"g,r,i"`` or a sequence as a tuple of band names."""
    if isinstance(value, str):
        return tuple(b.strip() for b in value.split(",") if b.strip()) if "," in value else tuple(value)
    return tuple(str(b) for b in value)
