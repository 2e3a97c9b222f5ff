"""Checks of an image before a model sees it: finite pixels, not blank, a source at the centre.

A model asked about an image with no galaxy in it still returns a number; these checks turn such
rows into flagged rows with the reason.  The presence check measures the signal-to-noise ratio of
the light in a small aperture at the centre (photutils), against the sky level and noise of the
image's border (median and 1.4826 × MAD of the outer 12.5 % on each side, all bands summed).
On the bundled data every real galaxy has S/N ≥ 38 (injected stacks; SDSS cutouts ≥ 128), while the
same images shifted by 40 pixels (centre on empty sky) give a median S/N of −2.5, and 150 of 158
fall below 5 (the others land on a neighbour), so the default threshold of 5 flags empty
positions and keeps galaxies.

The same ratio, measured on a model's training images (:func:`centre_snr_range`, recorded as
``info["centre_snr_range"]``), tells prediction when an image is fainter or brighter than any the
model saw: such a row keeps its value and is flagged as an extrapolation
(:func:`astro_cnn.chunks.brightness_problems`).
"""

from __future__ import annotations

import functools

import astropy.units as u
import numpy as np

__all__ = ["MIN_CENTRE_SNR", "APERTURE_RADIUS", "SNR_SAMPLE_IMAGES", "image_problem", "check_image",
           "centre_signal_to_noise", "centre_snr_range", "aperture_weights"]

#: Rows whose centre has a lower signal-to-noise ratio are flagged as showing no source.
MIN_CENTRE_SNR = 5.0
#: Radius of the central aperture.
APERTURE_RADIUS = 1.0 * u.arcsec
#: Most training images whose centre S/N is measured for a model's ``info["centre_snr_range"]``.
SNR_SAMPLE_IMAGES = 10_000


def image_problem(image: np.ndarray, pixel_scale: u.Quantity, min_snr: float = MIN_CENTRE_SNR) -> str:
    """Why an image ``(C, H, W)`` cannot be measured, or "" when it can (see :func:`check_image`)."""
    return check_image(image, pixel_scale, min_snr)[0]


def check_image(image: np.ndarray, pixel_scale: u.Quantity, min_snr: float = MIN_CENTRE_SNR) -> tuple[str, float]:
    """Why an image ``(C, H, W)`` cannot be measured ("" when it can), and its centre's signal-to-noise ratio.

    Parameters
    ----------
    image : ndarray
        One image, bands first.
    pixel_scale : Quantity
        Its pixel scale (sets the aperture radius in pixels).
    min_snr : float
        Lowest signal-to-noise ratio at the centre that counts as a source.

    Returns
    -------
    problem : str
        "" for a usable image; else non-finite pixels, a blank (constant) image, or no source at
        the centre with its measured S/N.
    snr : float
        :func:`centre_signal_to_noise` (NaN for non-finite or blank images).
    """
    finite = np.isfinite(image)
    if not finite.all():
        return f"image has {int((~finite).sum())} non-finite pixels", np.nan
    if image.min() == image.max():
        return f"image is blank (every pixel is {float(image.flat[0]):g})", np.nan
    snr = centre_signal_to_noise(image, pixel_scale)
    if snr < min_snr:
        return (f"no source at the centre of the image (S/N {snr:.1f} < {min_snr:g} in a "
                f"{APERTURE_RADIUS.to_value(u.arcsec):g} arcsec aperture)"), snr
    return "", snr


def centre_snr_range(images, pixel_scale: u.Quantity, rows: np.ndarray, block: int = 256) -> list[float]:
    """The lowest and highest centre signal-to-noise ratio of some of a training set's images.

    Recorded with a model (``info["centre_snr_range"]``) so that prediction can flag images fainter
    or brighter than any it trained on.  The images are read ``block`` rows at a time, so memory does
    not grow with the number measured.

    Parameters
    ----------
    images : array-like, shape (N, C, H, W)
        The training images (an array, or a store's images: anything indexable by row arrays).
    pixel_scale : Quantity
    rows : ndarray of int
        The rows to measure (e.g. at most :data:`SNR_SAMPLE_IMAGES` spread evenly over the set).
    block : int
        Rows read at once.

    Returns
    -------
    list of float
        ``[lowest, highest]`` over the finite values.
    """
    rows = np.asarray(rows)
    values = np.array([check_image(np.asarray(image, dtype=np.float32), pixel_scale, -np.inf)[1]
                       for start in range(0, len(rows), block) for image in images[rows[start:start + block]]])
    values = values[np.isfinite(values)]
    return [float(values.min()), float(values.max())] if len(values) else [-np.inf, np.inf]


def centre_signal_to_noise(image: np.ndarray, pixel_scale: u.Quantity) -> float:
    """Signal-to-noise ratio of the sky-subtracted light in the central aperture (all bands summed)."""
    total = np.asarray(image, dtype=np.float64).sum(axis=0)
    height, width = total.shape
    edge = max(1, min(height, width) // 8)
    border = np.concatenate([total[:edge].ravel(), total[-edge:].ravel(),
                             total[edge:-edge, :edge].ravel(), total[edge:-edge, -edge:].ravel()])
    sky = np.median(border)
    noise = 1.4826 * np.median(np.abs(border - sky))
    if noise == 0:
        noise = np.std(border)
    weights, area = aperture_weights(height, width, pixel_scale)
    signal = float(np.einsum("ij,ij->", weights, total - sky))
    if noise == 0:
        return np.inf if signal > 0 else 0.0
    return signal / (noise * np.sqrt(area))


def aperture_weights(height: int, width: int, pixel_scale: u.Quantity) -> tuple[np.ndarray, float]:
    """Pixel weights (exact overlap) and area of the central aperture of an image of this shape and scale.

    Cached: call it before forking worker processes and they inherit it (and photutils, imported
    here once, which takes about a second).
    """
    radius = max(1.0, float((APERTURE_RADIUS / u.Quantity(pixel_scale, u.arcsec)).decompose()))
    return _aperture_weights(int(height), int(width), radius)


@functools.lru_cache(maxsize=64)
def _aperture_weights(height: int, width: int, radius: float) -> tuple[np.ndarray, float]:
    """Exact pixel overlap of the central circular aperture (photutils), and its area.

    Computed once per image shape and radius: the photometry of every image of a run is then a
    weighted sum, the same number as ``CircularAperture.do_photometry`` gives, at a fraction of its cost.
    """
    from photutils.aperture import CircularAperture  # photutils is imported only when images are checked

    aperture = CircularAperture(((width - 1) / 2, (height - 1) / 2), r=radius)
    weights = aperture.to_mask(method="exact").to_image((height, width))
    weights.setflags(write=False)
    return weights, float(aperture.area)
