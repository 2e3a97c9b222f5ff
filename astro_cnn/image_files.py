"""A survey made of the user's own image files (JPEG, PNG or FITS), one file per row."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from .jpeg_check import check_entropy
from .target import Target
from .target_survey import TargetSurvey

__all__ = ["ImageFileSurvey", "read_image", "image_path", "check_image_dir", "decode_colour"]

_COLOUR_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}
#: Pillow modes of greyscale images (8-bit, bilevel, with alpha); 16-bit ones are "I;16..." modes.
_GREY_MODES = {"L", "LA", "La", "1"}
_FITS_SUFFIXES = {".fits", ".fit", ".fts", ".fits.gz", ".fits.bz2", ".fz"}


def read_image(path: str | Path) -> np.ndarray:
    """Read one image file as a float32 array of shape (C, H, W).

    Colour files (JPEG, PNG, ...) give 3 channels in file order scaled to [0, 1], greyscale ones
    (8- or 16-bit) one channel, so that a colour model flags them; a FITS file gives its first
    image HDU, a 2-D image as one channel or a 3-D cube as (C, H, W).  A JPEG's coded data are
    checked too (:func:`astro_cnn.jpeg_check.check_entropy`): a garbled JPEG, which Pillow would
    decode to a plausible but wrong image, is refused.

    Raises
    ------
    FileNotFoundError, ValueError
        The file is missing, not a readable image or a corrupt JPEG; the message names it.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"image file {str(path)!r} is a directory, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"image file {str(path)!r} does not exist")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() in {".gz", ".bz2"} else path.suffix.lower()
    if suffix in _FITS_SUFFIXES:
        return _read_fits(path)
    if suffix in _COLOUR_SUFFIXES:
        return _read_colour(path)
    raise ValueError(f"image file {str(path)!r}: unknown image type {suffix!r} (use JPEG, PNG or FITS)")


class ImageFileSurvey(TargetSurvey):
    """Images read from files named by each target's ``image_path``.

    Parameters
    ----------
    bands : sequence of str
        Band of each channel the files hold (e.g. ``("i", "r", "g")`` for SDSS colour JPEGs).
    pixel_scale : Quantity
        Pixel scale of the files (taken on trust: files carry no reliable scale).
    image_size : int
        Expected side in pixels; files of another shape are flagged.
    base_dir : path, optional
        Directory relative paths are resolved against.

    Raises
    ------
    NotADirectoryError
        ``base_dir`` is not a directory (every row would be flagged as a missing file).
    """

    name = "image-files"

    def __init__(self, bands: Sequence[str], pixel_scale: u.Quantity, image_size: int, base_dir=None):
        self.bands = tuple(bands)
        self.pixel_scale = u.Quantity(pixel_scale, u.arcsec)
        self.image_size = int(image_size)
        self.base_dir = check_image_dir(base_dir)

    def cutout(self, target: Target, size: int) -> np.ndarray:
        """Read the target's file; raise when it is missing, unreadable or of another shape."""
        if target.image_path is None:
            raise ValueError("no image file given for this row")
        path = image_path(target.image_path, self.base_dir)
        image = read_image(path)
        expected = (len(self.bands), size, size)
        if image.shape != expected:
            raise ValueError(f"image file {str(path)!r} has shape {image.shape}, expected {expected}")
        return image


def check_image_dir(image_dir: str | Path | None) -> Path | None:
    """The directory relative image paths are in, checked to be one (None stays None).

    Raises
    ------
    NotADirectoryError
        ``image_dir`` is not a directory: every row would be flagged as a missing file.
    """
    if image_dir is None:
        return None
    if not Path(image_dir).is_dir():
        raise NotADirectoryError(f"image_dir {str(image_dir)!r} is not a directory")
    return Path(image_dir)


def image_path(name: str | Path, base_dir: str | Path | None = None) -> Path:
    """The file an image column names: relative names are inside ``base_dir`` when one is given."""
    path = Path(name)
    return Path(base_dir) / path if base_dir is not None and not path.is_absolute() else path


def decode_colour(source: bytes | Path) -> np.ndarray:
    """Decode a colour image (file path or bytes, e.g. a downloaded JPEG) to float32 (3, H, W) in [0, 1].

    Channels are R, G, B as stored (Pillow, ``convert("RGB")``, divided by 255); a greyscale
    image is repeated in the three channels (16-bit ones divided by 65535).  Every colour image
    astro_cnn sees, from a file or from a survey service, is decoded by the same code, so a model
    trained on files and one fed by a service see identical pixels.

    Raises
    ------
    ValueError
        The data are not a decodable image, are too large to decode safely (Pillow's
        decompression-bomb limit, :data:`PIL.Image.MAX_IMAGE_PIXELS`), or hold 32-bit integer or
        float pixels, whose range is unknown.
    """
    pixels = _decode(source)
    if pixels.shape[0] == 1:
        pixels = np.repeat(pixels, 3, axis=0)
    return pixels


def _decode(source: bytes | Path) -> np.ndarray:
    """Decode an image to float32 (C, H, W) in [0, 1]: one channel if it is greyscale, else R, G, B."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return _unit_pixels(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"image too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        # Pillow names the in-memory buffer it was given ("<_io.BytesIO object at 0x...>"): say what it found
        reason = "not an image format Pillow knows" if isinstance(exc, UnidentifiedImageError) else exc
        raise ValueError(f"not a decodable image ({reason})") from None


def _unit_pixels(image) -> np.ndarray:
    """Return a Pillow image as float32 (C, H, W) in [0, 1], C = 1 for greyscale, else 3."""
    if image.mode in ("I", "F"):
        kind = "integer" if image.mode == "I" else "float"
        raise ValueError(f"32-bit {kind} pixels (mode {image.mode}) have no known range to scale to [0, 1]; "
                         "save the image as FITS, or as 8- or 16-bit")
    if image.mode.startswith("I;16"):
        pixels, full_scale = np.asarray(image)[..., None], 65535.0
    elif image.mode in _GREY_MODES:
        pixels, full_scale = np.asarray(image.convert("L"))[..., None], 255.0
    else:
        pixels, full_scale = np.asarray(image.convert("RGB")), 255.0
    # scaled straight into the bands-first layout: one pass over the pixels, no float copy to transpose
    out = np.empty((pixels.shape[2], pixels.shape[0], pixels.shape[1]), np.float32)
    np.divide(pixels.transpose(2, 0, 1), np.float32(full_scale), out=out)
    return out


def _read_colour(path: Path) -> np.ndarray:
    try:
        data = path.read_bytes()
        image = _decode(data)  # first, so that an image too large to decode is refused before the walk
        if data.startswith(b"\xff\xd8"):  # a JPEG, whatever its suffix
            check_entropy(data)
        return image
    except ValueError as exc:
        raise ValueError(f"image file {str(path)!r} is not a readable image ({exc})") from None


def _read_fits(path: Path) -> np.ndarray:
    try:
        with fits.open(path) as hdul:
            data = next((h.data for h in hdul if h.data is not None and h.is_image), None)
            if data is not None:
                with np.errstate(over="ignore"):  # values beyond float32 become inf, flagged as non-finite
                    data = np.array(data, dtype=np.float32)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"image file {str(path)!r} is not a readable FITS file ({exc})") from None
    except TypeError as exc:  # numpy's "buffer is too small" when the data are cut short
        raise ValueError(f"image file {str(path)!r} is a truncated FITS file ({exc})") from None
    if data is None:
        raise ValueError(f"image file {str(path)!r} holds no image HDU")
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f"image file {str(path)!r} has {data.ndim} dimensions; expected 2 or 3")
    return data
