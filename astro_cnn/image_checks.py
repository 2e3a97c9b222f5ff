"""Checks of an image before a model sees it: finite pixels, not blank, a source at the centre.

A model asked about an image with no galaxy in it still returns a number; these checks turn such
rows into flagged rows with the reason.  The presence check measures the signal-to-noise ratio of
the light in a small aperture at the centre (photutils), against the sky level and noise of the
image's border (median and 1.4826 × MAD of the outer 12.5 % on each side, all bands summed).
On the bundled data every real galaxy has S/N ≥ 38 (injected stacks; SDSS cutouts ≥ 128), while the
same images shifted by 40 pixels (centre on empty sky) give a median S/N of −2.5, and 150 of 158
fall below 5 (the others land on a neighbour), so the default threshold of 5 flags empty
positions and keeps galaxies.

Training applies the same checks (:func:`screen_training_images`): a model does not learn from
images that prediction would flag, and the range of the ratio over the images it learned from,
recorded as ``info["centre_snr_range"]``, tells prediction when an image is fainter or brighter
than any the model saw: such a row keeps its value and is flagged as an extrapolation
(:func:`astro_cnn.chunks.brightness_problems`).

A model also expects the flux scale of its training images: the same galaxy in other units (counts
for nanomaggies, a flux scaled by 1,000, 8-bit values) passes the checks above, since the S/N does
not change with the scale, and gets a confident wrong value.  :func:`pixel_noise` measures each
band's pixel noise, which prediction compares with the typical noise of the model's training
images (:func:`noise_problems`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from typing import TYPE_CHECKING

import astropy.units as u
import numpy as np

from .arguments import checked_number

if TYPE_CHECKING:  # the predictor module imports this one
    from .predictor import Predictor

__all__ = ["MIN_CENTRE_SNR", "APERTURE_RADIUS", "image_problem", "check_image", "check_images",
           "TrainingImages", "screen_training_images", "checked_threshold", "snr_range", "centre_signal_to_noise",
           "aperture_weights", "NOISE_RATIO_LIMITS", "pixel_noise", "sky_border_width", "colour_values",
           "noise_problems", "colour_range_problems"]

#: Rows whose centre has a lower signal-to-noise ratio are flagged as showing no source.
MIN_CENTRE_SNR = 5.0
#: Radius of the central aperture.
APERTURE_RADIUS = 1.0 * u.arcsec
#: Lowest and highest ratio of an image's :func:`pixel_noise` to the typical noise of a model's training images
#: (:attr:`astro_cnn.Predictor.training_pixel_noise`) in any band before its row is flagged.  Over the 17,083
#: injected ``sdss-stack`` stacks the bundled structure model was trained and scored on, the ratio to its noise
#: scale runs from 0.42 to 1.39 (all five bands); the same images in another flux unit or scale land outside (a
#: scale of 10: 5.9 to 8.1 in the median image's bands).
NOISE_RATIO_LIMITS = (0.2, 5.0)


def colour_values(images: np.ndarray, block: int = 256, rows: np.ndarray | None = None) -> bool:
    """Whether ``images`` hold 8-bit colour values (a JPEG's or PNG's), not fluxes.

    The rule by which a training store decides how to keep the images (8-bit values as uint8) and a
    forest whether its training images have a flux scale whose pixel noise prediction checks: uint8
    values, or floats in [0, 1] that are whole multiples of 1/255 (to 1e-3 of one, as decoding to
    float32 gives them).  Anything else (sky-subtracted fluxes, counts, a 16-bit greyscale image, a
    colour image resampled off the 1/255 grid) is not.  A network's input stretch asks another
    question, whether the sky was subtracted (:func:`astro_cnn.engine.normalisation.image_statistics`).

    Parameters
    ----------
    images : ndarray
        One image or many, of any shape.
    block : int
        Rows (along the first axis) checked at a time, so that memory does not grow with their number.
    rows : ndarray of int, optional
        Only these rows (default: all), read a block at a time like the others.

    Returns
    -------
    bool
        True for 8-bit colour values; False for anything else, and for no pixels or rows at all.
    """
    array = np.atleast_1d(np.asarray(images))
    if array.dtype == np.uint8:
        return True
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return False
    chosen = np.arange(len(array)) if rows is None else np.asarray(rows)
    if not len(chosen):
        return False
    for start in range(0, len(chosen), block):
        part = array[chosen[start:start + block]]
        with np.errstate(invalid="ignore"):
            scaled = part * np.float32(255.0)
            if not (part.min() >= 0 and part.max() <= 1 and np.abs(scaled - np.rint(scaled)).max() < 1e-3):
                return False
    return True


def image_problem(image: np.ndarray, pixel_scale: u.Quantity, min_snr: float = MIN_CENTRE_SNR) -> str:
    """Why an image ``(C, H, W)`` cannot be measured, or "" when it can (see :func:`check_image`)."""
    return check_image(image, pixel_scale, min_snr)[0]


def check_image(image: np.ndarray, pixel_scale: u.Quantity, min_snr: float = MIN_CENTRE_SNR) -> tuple[str, float]:
    """Why an image ``(C, H, W)`` cannot be measured ("" when it can), and its centre's signal-to-noise ratio.

    The check of :func:`check_images` for one image.
    """
    problems, snr = check_images(np.asarray(image)[None], pixel_scale, min_snr)
    return problems[0], float(snr[0])


def check_images(images: np.ndarray, pixel_scale: u.Quantity,
                 min_snr: float = MIN_CENTRE_SNR) -> tuple[list[str], np.ndarray]:
    """Why each image ``(C, H, W)`` of a stack cannot be measured ("" when it can), and its centre's S/N.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        The images, bands first.
    pixel_scale : Quantity
        Their pixel scale (sets the aperture radius in pixels).
    min_snr : float
        Lowest signal-to-noise ratio at the centre that counts as a source.

    Returns
    -------
    problems : list of str
        "" for a usable image; else non-finite pixels, a blank (constant) image, or no source at
        the centre with its measured S/N.
    snr : ndarray of float
        :func:`centre_signal_to_noise` of each image (NaN for non-finite or blank images).
    """
    images = np.asarray(images)
    flat = images.reshape(len(images), int(np.prod(images.shape[1:])))
    with np.errstate(invalid="ignore"):  # inf - inf: a non-finite image, counted below
        total = images.sum(axis=1, dtype=np.float64)  # all bands: the presence check measures their sum
        # a non-finite pixel makes its image's sum non-finite (float64 cannot overflow on float32 pixels)
        odd = ~np.isfinite(total.sum(axis=(1, 2)))
    non_finite = np.zeros(len(images), dtype=int)
    non_finite[odd] = (~np.isfinite(flat[odd])).sum(axis=1)
    finite = non_finite == 0
    blank = finite & (flat.min(axis=1) == flat.max(axis=1))  # any dtype (an image has at least one pixel)
    measured = finite & ~blank
    snr = np.full(len(images), np.nan)
    if measured.any():
        snr[measured] = _centre_snr(total if measured.all() else total[measured], pixel_scale)
    problems = []
    for k in range(len(images)):
        if non_finite[k]:
            problems.append(f"image has {int(non_finite[k])} non-finite pixels")
        elif blank[k]:
            problems.append(f"image is blank (every pixel is {float(flat[k, 0]):g})")
        elif snr[k] < min_snr:
            problems.append(f"no source at the centre of the image (S/N {snr[k]:.1f} < {min_snr:g} in a "
                            f"{APERTURE_RADIUS.to_value(u.arcsec):g} arcsec aperture)")
        else:
            problems.append("")
    return problems, snr


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingImages:
    """Which images of a training set a model learns from: those prediction would measure.

    Attributes
    ----------
    usable : ndarray of bool
        Whether each row is learned from.
    left_out : dict of str to int
        Rows left out, counted by reason (non-finite pixels, blank, no source at the centre).
    snr : ndarray of float
        Every row's centre S/N (NaN for non-finite or blank images).
    table_rows : ndarray of int or None
        The training table's row of each image, named in the log (None: the image's position is its row).
    """

    usable: np.ndarray
    left_out: dict[str, int]
    snr: np.ndarray
    table_rows: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """The usable rows, in order."""
        return np.flatnonzero(self.usable)

    @property
    def total(self) -> int:
        """Rows checked."""
        return len(self.usable)

    @property
    def first_left_out(self) -> np.ndarray:
        """The first few rows left out (at most 10), for the log: rows of the training table where known."""
        first = np.flatnonzero(~self.usable)[:10]
        return first if self.table_rows is None else np.asarray(self.table_rows)[first]

    @property
    def snr_range(self) -> list[float]:
        """``[lowest, highest]`` centre S/N of the usable rows: recorded with a model
        (``info["centre_snr_range"]``), it tells prediction when an image is fainter or brighter than
        any the model trained on."""
        return snr_range(self.snr[self.usable])

    def reasons(self) -> str:
        """Why rows were left out, with their counts (e.g. "3 with non-finite pixels; 2 with no source ...")."""
        return "; ".join(f"{count} with {reason}" for reason, count in self.left_out.items())

    def summary(self, what: str = "training images") -> str:
        """One line saying how many of the ``what`` were left out and why (empty when none was)."""
        if not self.left_out:
            return ""
        left_out, first = int(np.sum(~self.usable)), self.first_left_out
        more = ", ..." if left_out > len(first) else ""
        return (f"left out {left_out} of {self.total} {what}, as prediction would flag them: "
                f"{self.reasons()} (rows {', '.join(map(str, first))}{more})")


def screen_training_images(images, pixel_scale: u.Quantity, min_snr: float | None = MIN_CENTRE_SNR,
                           block: int = 256) -> TrainingImages:
    """Check every training image as prediction checks its inputs (:func:`check_images`).

    A model should not learn from images that prediction refuses to measure: such rows would teach
    it to give a value where it should flag.  The images are read ``block`` rows at a time, so memory
    does not grow with their number.

    Parameters
    ----------
    images : array-like, shape (N, C, H, W)
        The training images (an array, or a store's images: anything indexable by row arrays; a
        ``table_rows`` attribute, as a store's images have, names the table row of each in the log).
    pixel_scale : Quantity
    min_snr : float or None
        Lowest centre signal-to-noise ratio that counts as a source (None: no presence check;
        non-finite and blank images are still left out).
    block : int
        Rows read at once.

    Returns
    -------
    TrainingImages

    Raises
    ------
    AstroCNNError
        ``min_snr`` is not a finite number of at least 0, or None.
    """
    given = checked_threshold(min_snr)
    threshold = -np.inf if given is None else given
    problems, snr = [], []
    for start in range(0, len(images), block):
        part = np.asarray(images[np.arange(start, min(start + block, len(images)))], dtype=np.float32)
        found, values = check_images(part, pixel_scale, threshold)
        problems += found
        snr.append(values)
    snr_values = np.concatenate([np.empty(0)] + snr)
    usable = np.array([not problem for problem in problems], dtype=bool)
    reasons = Counter(("a blank image" if problem.startswith("image is blank") else "non-finite pixels")
                      if not np.isfinite(value) else f"no source at the centre (S/N below {threshold:g})"
                      for problem, value in zip(problems, snr_values) if problem)
    return TrainingImages(usable, dict(reasons.most_common()), snr_values, getattr(images, "table_rows", None))


def checked_threshold(min_snr: float | None) -> float | None:
    """A presence-check threshold as a float (None: no check).

    Raises
    ------
    AstroCNNError
        It is not a finite number of at least 0 or None (a negative S/N would call noise a source, and
        looks like a way to turn the check off, which None is).
    """
    return None if min_snr is None else checked_number(min_snr, "min_centre_snr", zero=True)


def snr_range(snr: np.ndarray) -> list[float]:
    """``[lowest, highest]`` of the finite centre S/N values (``[-inf, inf]`` without any)."""
    measured = snr[np.isfinite(snr)]
    return [float(measured.min()), float(measured.max())] if len(measured) else [-np.inf, np.inf]


def pixel_noise(images: np.ndarray) -> np.ndarray:
    """Each band's pixel noise in each image of a stack ``(N, C, H, W)``: 1.4826 × the median absolute deviation
    of the second differences along rows, x[i-1] − 2 x[i] + x[i+1], in every other row of the image's border (its
    outer eighth on each side, as for the presence check), over √6.

    Smooth light (a galaxy's wings, a sky gradient) cancels in the second differences, so even a galaxy
    that fills the image leaves the noise of the sky.  8-bit values are scaled to 0-1 first, as the networks see them.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Finite images (check them first: a non-finite pixel makes its band's noise meaningless).

    Returns
    -------
    ndarray, shape (N, C)
        The noise, in the images' units; NaN where it cannot be measured: a border that is mostly flat (a
        survey's zero fill outside its footprint) or an image under three pixels wide.
    """
    array = np.asarray(images)
    values = array.astype(np.float32) / np.float32(255.0) if array.dtype == np.uint8 else array
    n, c, height, width = values.shape
    if n == 0 or width < 3:  # no images, or too narrow for second differences
        return np.full((n, c), np.nan)
    edge = sky_border_width(height, width)
    # every other row of the border (enough for the median, half the work); the side strips with the two
    # columns their differences need
    strips = (values[:, :, :edge:2], values[:, :, -edge::2], values[:, :, edge:-edge:2, :edge + 2],
              values[:, :, edge:-edge:2, -edge - 2:])
    border = np.concatenate([np.diff(strip, n=2, axis=3).reshape(n, c, -1) for strip in strips], axis=2)
    deviation = np.abs(border - np.median(border, axis=2, keepdims=True))
    noise = 1.4826 / np.sqrt(6.0) * np.median(deviation, axis=2).astype(np.float64)
    noise[noise == 0] = np.nan
    return noise


def centre_signal_to_noise(image: np.ndarray, pixel_scale: u.Quantity) -> float:
    """Signal-to-noise ratio of the sky-subtracted light in the central aperture (all bands summed)."""
    return float(_centre_snr(np.asarray(image).sum(axis=0, dtype=np.float64)[None], pixel_scale)[0])


def _centre_snr(total: np.ndarray, pixel_scale: u.Quantity) -> np.ndarray:
    """:func:`centre_signal_to_noise` of each image of a stack, from its bands' sum ``(N, H, W)`` (float64)."""
    n, height, width = total.shape
    edge = sky_border_width(height, width)
    border = np.concatenate([total[:, :edge].reshape(n, -1), total[:, -edge:].reshape(n, -1),
                             total[:, edge:-edge, :edge].reshape(n, -1), total[:, edge:-edge, -edge:].reshape(n, -1)],
                            axis=1)
    sky = np.median(border, axis=1)
    noise = 1.4826 * np.median(np.abs(border - sky[:, None]), axis=1)
    flat = noise == 0
    if flat.any():
        noise[flat] = border[flat].std(axis=1)
    weights, area = aperture_weights(height, width, pixel_scale)
    rows, columns = np.nonzero(weights)  # the aperture's box: the photometry sums only there
    box = (slice(rows.min(), rows.max() + 1), slice(columns.min(), columns.max() + 1))
    signal = np.einsum("ij,nij->n", weights[box], total[:, box[0], box[1]] - sky[:, None, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = signal / (noise * np.sqrt(area))
    still_flat = noise == 0
    snr[still_flat] = np.where(signal[still_flat] > 0, np.inf, 0.0)
    return snr


def sky_border_width(height: int, width: int) -> int:
    """Width in pixels of the border where an image's sky is measured (by the presence and noise checks and
    the aperture-photometry baseline): its outer eighth on each side, at least one pixel."""
    return max(1, min(height, width) // 8)


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


def noise_problems(noise: np.ndarray, predictor: Predictor) -> np.ndarray:
    """Per row, "" or why its image's flux scale differs from that of the images the model trained on.

    An image whose pixel noise (:func:`astro_cnn.image_checks.pixel_noise`) in any band is below or
    above :data:`~astro_cnn.image_checks.NOISE_RATIO_LIMITS` times the model's
    (:attr:`astro_cnn.Predictor.training_pixel_noise`) is in other units or another scale, or far deeper or
    shallower than any the model saw: its value is kept and flagged as an extrapolation.  Models that
    do not know their training images' noise (8-bit colour images) are not checked.

    Parameters
    ----------
    noise : ndarray, shape (N, C)
        Each image's pixel noise per band (NaN: not measured, not checked).
    predictor : Predictor
        The model, with its bands, name and training pixel noise.

    Returns
    -------
    ndarray of str (object)
    """
    trained = predictor.training_pixel_noise
    found = np.full(len(noise), "", dtype=object)
    if trained is None or not len(noise):
        return found
    low, high = NOISE_RATIO_LIMITS
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(noise, dtype=float) / np.asarray(trained, dtype=float)
    outside = np.isfinite(ratio) & ((ratio < low) | (ratio > high))
    for k in np.flatnonzero(outside.any(axis=1)):
        with np.errstate(divide="ignore"):
            worst = int(np.argmax(np.where(outside[k], np.abs(np.log(ratio[k])), -np.inf)))
        found[k] = (f"extrapolation: the pixel noise in band {predictor.bands[worst]} is {ratio[k, worst]:.3g} times "
                    f"that of the images model {predictor.name!r} was trained on ({low:g} to {high:g} expected); "
                    f"are the fluxes in the units and scale of its training images?")
    return found


def colour_range_problems(images: np.ndarray, predictor: Predictor) -> np.ndarray:
    """Per row, "" or why an image given to a model trained on 8-bit colour images is not one.

    Such a model (``Predictor.trained_on_colour``) knows no pixel noise to compare with
    (:func:`noise_problems`), so fluxes given to it (a FITS stack in nanomaggies, a colour image scaled by
    255 or shifted) would pass every other check; their pixels lie outside the 0..1 that colour values
    decode to.  The value is kept and flagged as an extrapolation.  Models trained on fluxes are not checked.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        The images as read (uint8 values, or floats).
    predictor : Predictor
        The model, with its name and ``trained_on_colour``.

    Returns
    -------
    ndarray of str (object)
    """
    images = np.asarray(images)
    found = np.full(len(images), "", dtype=object)
    if not predictor.trained_on_colour or images.dtype == np.uint8 or not len(images):
        return found
    flat = images.reshape(len(images), -1)
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(flat, axis=1), np.nanmax(flat, axis=1)
    for k in np.flatnonzero((low < 0) | (high > 1)):
        found[k] = (f"extrapolation: pixel values from {low[k]:.3g} to {high[k]:.3g}, outside the 0..1 of the 8-bit "
                    f"colour images model {predictor.name!r} was trained on; are these colour images?")
    return found
