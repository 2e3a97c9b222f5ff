"""SkyServer ImgCutout colour JPEGs: the request URL, cache key, validation and decoding."""

from __future__ import annotations

import numpy as np

from astro_cnn.http_client import url_with_query
from astro_cnn.image_files import decode_colour
from astro_cnn.jpeg_check import check_entropy

__all__ = ["cutout_url", "cutout_key", "validate_jpeg", "decode_jpeg"]

#: Path of the ImgCutout service below the SkyServer base URL.
SERVICE_PATH = "/SkyServerWS/ImgCutout/getjpeg"


def cutout_url(base_url: str, ra: float, dec: float, size: int, scale: float) -> str:
    """Return the ImgCutout URL of a ``size`` × ``size`` gri JPEG centred on (ra, dec) in degrees.

    Parameters
    ----------
    base_url : str
        SkyServer base URL, e.g. ``https://skyserver.sdss.org/dr17``.
    ra, dec : float
        Centre (ICRS degrees).
    size : int
        Side in pixels.
    scale : float
        Arcsec per pixel.
    """
    params = {"ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "scale": f"{scale:g}", "width": int(size),
              "height": int(size)}
    return url_with_query(base_url.rstrip("/") + SERVICE_PATH, params)


def cutout_key(ra: float, dec: float, size: int, scale: float) -> str:
    """Return the cache key of a cutout (position to 1e-7 deg, scale and size)."""
    return f"jpeg/{ra:.7f}_{dec:+.7f}_{scale:g}_{int(size)}.jpg"


def validate_jpeg(data: bytes) -> None:
    """Raise ``ValueError`` unless ``data`` is a complete, uncorrupted, decodable JPEG.

    A body cut short lacks its end; a garbled one fails the strict check of its coded data
    (:func:`astro_cnn.jpeg_check.check_entropy`), which Pillow alone would decode to a
    plausible but wrong image; anything else must decode completely.
    """
    check_entropy(data)
    decode_jpeg(data)


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode a JPEG to float32 (3, H, W) in [0, 1], channels R, G, B as stored.

    The core's :func:`astro_cnn.image_files.decode_colour`, which :func:`astro_cnn.read_image` also
    uses for files: a cutout from the service and the same JPEG on disk give identical pixels.

    Raises
    ------
    ValueError
        The bytes are not a decodable image.
    """
    try:
        return decode_colour(data)
    except ValueError as exc:
        raise ValueError(f"undecodable JPEG ({exc})") from None
