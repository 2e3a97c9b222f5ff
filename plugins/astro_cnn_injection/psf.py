"""Each frame's own PSF, measured from its stars, so galaxies are injected with the seeing of the frame they go into."""

from __future__ import annotations

import threading
import warnings

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS
from photutils.detection import DAOStarFinder
from photutils.psf import fit_fwhm

from astro_cnn_sdss.frames import Frame

__all__ = ["MIN_STARS", "PSFMeasurement", "measure_psf", "pixel_scale", "PSFCache"]

#: Fewest stars a PSF measurement accepts.
MIN_STARS = 5
#: Detection threshold (times the sky noise) of the stars used: bright enough for a clean fit.
_THRESHOLD_SIGMA = 30.0
#: Side (pixels) of the box each star is fitted in.
_FIT_BOX = 11
#: Stars closer than this (pixels) to another detection are left out.
_ISOLATION = 15.0


class PSFMeasurement:
    """The PSF of one frame: the median FWHM of a circular Gaussian fitted to its isolated stars.

    Attributes
    ----------
    fwhm : float
        Sigma-clipped median FWHM (arcsec).
    fwhm_pixels : float
        The same in frame pixels.
    n_stars : int
        Stars fitted.
    scatter : float
        Sigma-clipped standard deviation of the stars' FWHMs (arcsec).
    """

    def __init__(self, fwhm: float, fwhm_pixels: float, n_stars: int, scatter: float):
        self.fwhm = float(fwhm)
        self.fwhm_pixels = float(fwhm_pixels)
        self.n_stars = int(n_stars)
        self.scatter = float(scatter)

    def __repr__(self) -> str:
        return (f"PSFMeasurement(fwhm={self.fwhm:.3f}″, fwhm_pixels={self.fwhm_pixels:.3f}, "
                f"n_stars={self.n_stars}, scatter={self.scatter:.3f}″)")


def pixel_scale(wcs: WCS) -> float:
    """Mean pixel scale (arcsec per pixel) of a celestial WCS."""
    return float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600.0)


def measure_psf(data: np.ndarray, wcs: WCS, *, guess_fwhm: float = 1.3) -> PSFMeasurement:
    """Measure the PSF FWHM of a sky-subtracted image from its point sources.

    Sources at least 30 σ above the sky (sigma-clipped statistics of the image) are found with
    photutils' :class:`~photutils.detection.DAOStarFinder`, whose sharpness (0.3-1) and roundness
    (absolute roundness below 0.5) cuts drop most galaxies and cosmic rays; sources within 15 px of another
    detection, within 10 px of the edge and the brightest 1 % (possibly saturated) are left out.
    A circular Gaussian is fitted to each in an 11 × 11 px box
    (:func:`photutils.psf.fit_fwhm`) and the sigma-clipped (2.5 σ) median FWHM is returned, which
    also rejects the few resolved galaxies that pass the cuts.

    Parameters
    ----------
    data : ndarray
        The image (sky-subtracted, e.g. an SDSS corrected frame in nanomaggies).
    wcs : WCS
        Its WCS (for the pixel scale).
    guess_fwhm : float
        FWHM (arcsec) of the detection kernel and first guess of the fits.

    Returns
    -------
    PSFMeasurement

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_STARS` stars could be fitted.
    """
    image = np.asarray(data, dtype=float)
    scale = pixel_scale(wcs)
    _, median, std = sigma_clipped_stats(image, sigma=3.0)
    image = image - median
    guess = guess_fwhm / scale
    finder = DAOStarFinder(threshold=_THRESHOLD_SIGMA * std, fwhm=guess, exclude_border=True,
                           sharpness_range=(0.3, 1.0), roundness_range=(-0.5, 0.5))
    sources = finder(image)
    if sources is None or len(sources) < MIN_STARS:
        raise ValueError(f"found {0 if sources is None else len(sources)} point sources, "
                         f"a PSF needs at least {MIN_STARS}")
    x, y = np.asarray(sources["x_centroid"], float), np.asarray(sources["y_centroid"], float)
    peak = np.asarray(sources["peak"], float)
    distance = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    np.fill_diagonal(distance, np.inf)
    ny, nx = image.shape
    edge = _FIT_BOX
    keep = ((distance.min(axis=1) > _ISOLATION) & (x > edge) & (x < nx - 1 - edge) & (y > edge)
            & (y < ny - 1 - edge) & (peak <= np.percentile(peak, 99)))
    if keep.sum() < MIN_STARS:
        raise ValueError(f"only {int(keep.sum())} isolated point sources, a PSF needs at least {MIN_STARS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)  # photutils warns about fits that did not converge
        fitted = np.asarray(fit_fwhm(image, xypos=np.column_stack([x[keep], y[keep]]), fit_shape=_FIT_BOX,
                                     fwhm=guess), float)
    fitted = fitted[np.isfinite(fitted) & (fitted > 0.5) & (fitted < _FIT_BOX)]
    if len(fitted) < MIN_STARS:
        raise ValueError(f"only {len(fitted)} stars could be fitted, a PSF needs at least {MIN_STARS}")
    _, fwhm_pixels, spread = sigma_clipped_stats(fitted, sigma=2.5)
    return PSFMeasurement(fwhm_pixels * scale, fwhm_pixels, len(fitted), spread * scale)


class PSFCache:
    """Measure each frame's PSF once and keep it, keyed by the frame's ``path`` (thread-safe).

    Parameters
    ----------
    guess_fwhm : float
        Passed to :func:`measure_psf`.
    """

    def __init__(self, guess_fwhm: float = 1.3):
        self.guess_fwhm = float(guess_fwhm)
        self._measured: dict[str, PSFMeasurement] = {}
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Lock] = {}

    def get(self, frame: Frame) -> PSFMeasurement:
        """Return the PSF of ``frame``, measuring it the first time its path is seen.

        Raises
        ------
        ValueError
            The frame has too few stars (the message names it).
        """
        with self._lock:
            pending = self._pending.setdefault(frame.path, threading.Lock())
        with pending:
            with self._lock:
                if frame.path in self._measured:
                    return self._measured[frame.path]
            try:
                measured = measure_psf(frame.data, frame.wcs, guess_fwhm=self.guess_fwhm)
            except ValueError as exc:
                raise ValueError(f"{frame.path}: cannot measure its PSF ({exc})") from None
            with self._lock:
                self._measured[frame.path] = measured
        return measured

    def __len__(self) -> int:
        return len(self._measured)
