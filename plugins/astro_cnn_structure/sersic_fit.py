"""The classical baseline: a PSF-convolved Sérsic profile fitted to one band of a stack with astropy.modeling.

:class:`PSFConvolvedSersic2D` is :class:`astropy.modeling.functional_models.Sersic2D` evaluated on
a grid ``oversample`` times finer than the pixels, convolved with a circular Gaussian PSF of the
frame's FWHM and summed back into pixels (as the injection renders galaxies); :func:`fit_sersic`
fits it with astropy's Levenberg-Marquardt fitter
(:class:`~astropy.modeling.fitting.LevMarLSQFitter`, with parameter bounds; on these fits it
reached the same minimum as the trust-region fitter about ten times faster; a fit that ends on a
bound of n or r_e, where Levenberg-Marquardt's clipped steps can stick, is redone with the
trust-region fitter :class:`~astropy.modeling.fitting.TRFLSQFitter`), weighting pixels by
the sky noise and masking neighbouring sources, as a GALFIT user would.  :func:`fit_stacks` runs it over many stacks.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from astropy.modeling import Fittable2DModel, Parameter
from astropy.modeling.fitting import LevMarLSQFitter, TRFLSQFitter
from astropy.modeling.functional_models import Sersic2D
from astropy.stats import sigma_clipped_stats
from astropy.utils.exceptions import AstropyUserWarning
from photutils.detection import find_peaks
from photutils.segmentation import detect_sources
from scipy.ndimage import binary_dilation, gaussian_filter
from scipy.special import gamma, gammaincinv

__all__ = ["N_BOUNDS", "PSFConvolvedSersic2D", "SersicFit", "fit_sersic", "fit_stacks"]

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Noise of white noise smoothed by a Gaussian of 1 pixel, per unit noise (1 / (2 √π)).
_SMOOTHED_NOISE = 1.0 / (2.0 * np.sqrt(np.pi))
#: Range of Sérsic indices the fit may take (beyond it the profile is not a galaxy's).
N_BOUNDS = (0.3, 8.0)
#: Largest ellipticity 1 − q the fit may take.
MAX_ELLIPTICITY = 0.95
#: How far (pixels) the fitted centre may move from the stack's centre.
CENTRE_FREEDOM = 3.0


class PSFConvolvedSersic2D(Fittable2DModel):
    """A Sérsic profile convolved with a circular Gaussian PSF, integrated over pixels.

    Parameters are those of :class:`~astropy.modeling.functional_models.Sersic2D` (``r_eff``
    along the major axis, ``ellip`` = 1 − q, ``theta`` in radians, all lengths in pixels).
    The inputs ``x``, ``y`` must be the full pixel grid of the image (``np.mgrid``-like, pixel
    centres at integers): the convolution is done on that grid.

    Parameters
    ----------
    psf_sigma : float
        Standard deviation of the Gaussian PSF in pixels.
    oversample : int
        Sub-pixels per pixel side.
    **parameters
        Initial values (and ``bounds``) of the Sérsic parameters.
    """

    amplitude = Parameter(default=1.0)
    r_eff = Parameter(default=3.0)
    n = Parameter(default=2.0)
    x_0 = Parameter(default=0.0)
    y_0 = Parameter(default=0.0)
    ellip = Parameter(default=0.0)
    theta = Parameter(default=0.0)

    def __init__(self, psf_sigma: float, oversample: int = 3, **parameters):
        self.psf_sigma = float(psf_sigma)
        self.oversample = int(oversample)
        super().__init__(**parameters)

    def evaluate(self, x, y, amplitude, r_eff, n, x_0, y_0, ellip, theta):
        """Flux per pixel on the grid ``x``, ``y``."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if x.ndim != 2 or x.shape != y.shape:
            raise ValueError("PSFConvolvedSersic2D needs the image's 2-d pixel grids x, y")
        s = self.oversample
        offsets = (np.arange(s) + 0.5) / s - 0.5
        fine_x = (x[:, None, :, None] + offsets[None, None, None, :]).repeat(s, axis=1)
        fine_y = (y[:, None, :, None] + offsets[None, :, None, None]).repeat(s, axis=3)
        ny, nx = x.shape
        fine = Sersic2D.evaluate(fine_x.reshape(ny * s, nx * s), fine_y.reshape(ny * s, nx * s), amplitude,
                                 r_eff, n, x_0, y_0, ellip, theta)
        if self.psf_sigma > 0:
            fine = gaussian_filter(fine, self.psf_sigma * s, mode="constant")
        return fine.reshape(ny, s, nx, s).mean(axis=(1, 3))


@dataclass
class SersicFit:
    """The fitted structure of one galaxy.

    Attributes
    ----------
    sersic_n, r_e, q : float
        Sérsic index, effective radius along the major axis (arcsec) and axis ratio; NaN when
        the fit failed.
    status : str
        Empty when the fit converged inside its bounds, else why it is not to be trusted.
    """

    sersic_n: float
    r_e: float
    q: float
    status: str


def fit_sersic(image: np.ndarray, psf_fwhm: float, pixel_scale: float = 0.396, *, oversample: int = 3,
               max_iterations: int = 200) -> SersicFit:
    """Fit a PSF-convolved Sérsic profile to the source at the centre of a sky-subtracted image.

    The image is taken as sky-subtracted (SDSS corrected frames are); the sky noise is the
    sigma-clipped standard deviation of its outer 4-pixel border.  Sources detected at 2 σ
    (photutils segmentation) other than the central one are masked (grown by 2 pixels), and so is
    the part of the central segment nearer to another 5 σ peak than to the galaxy's (a neighbour
    whose light runs into the galaxy's).  The fit starts from the central source's moments (axis
    ratio, angle, half-light radius along the major axis, n = 2) and is bounded: n in
    :data:`N_BOUNDS`, q ≥ 1 − :data:`MAX_ELLIPTICITY`, centre within :data:`CENTRE_FREEDOM`
    pixels, radius between a tenth of a pixel and the image size.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        One band, sky-subtracted (e.g. the r band of an ``sdss-stack`` in nanomaggies).
    psf_fwhm : float
        FWHM of the image's PSF (arcsec).
    pixel_scale : float
        Arcsec per pixel.
    oversample : int
        Sub-pixels per pixel side of the model.
    max_iterations : int
        Most iterations of the fitter.

    Returns
    -------
    SersicFit
        ``status`` says why a fit is not to be trusted: no source at the centre, the fitter failed
        or did not converge, or a parameter ended on its bound (the values are kept).

    Raises
    ------
    ValueError
        ``image`` is not 2-d or not finite, or ``psf_fwhm`` / ``pixel_scale`` is not positive.
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or not np.isfinite(image).all():
        raise ValueError(f"image must be a finite 2-d array, got shape {image.shape}"
                         + ("" if image.ndim != 2 else " with non-finite pixels"))
    if not (psf_fwhm > 0 and pixel_scale > 0):
        raise ValueError(f"psf_fwhm and pixel_scale must be positive, not {psf_fwhm!r} and {pixel_scale!r}")
    ny, nx = image.shape
    cy, cx = (ny - 1) / 2, (nx - 1) / 2
    border = np.concatenate([image[:4].ravel(), image[-4:].ravel(), image[4:-4, :4].ravel(), image[4:-4, -4:].ravel()])
    noise = float(sigma_clipped_stats(border, sigma=3.0)[2])
    noise = noise if noise > 0 else float(np.abs(image).max() * 1e-3) or 1.0
    data = image
    smoothed = gaussian_filter(data, 1.0)
    segments = detect_sources(smoothed, 2.0 * noise * _SMOOTHED_NOISE, n_pixels=5)
    centre = 0 if segments is None else int(segments.data[int(round(cy)), int(round(cx))])
    if centre == 0:
        return SersicFit(np.nan, np.nan, np.nan, "no source detected at the centre")
    own = segments.data == centre
    others = _neighbours_in_segment(smoothed, own, noise * _SMOOTHED_NOISE, cx, cy)
    own &= ~others
    weights = np.where(binary_dilation(((segments.data > 0) & ~own) | others, iterations=2), 0.0, 1.0 / noise)
    start = _moments(data, own, cx, cy)
    model = PSFConvolvedSersic2D(psf_fwhm / pixel_scale / _FWHM_PER_SIGMA, oversample, **start)
    model.n.bounds = N_BOUNDS
    model.r_eff.bounds = (0.1, float(max(nx, ny)))
    model.ellip.bounds = (0.0, MAX_ELLIPTICITY)
    model.x_0.bounds = (cx - CENTRE_FREEDOM, cx + CENTRE_FREEDOM)
    model.y_0.bounds = (cy - CENTRE_FREEDOM, cy + CENTRE_FREEDOM)
    model.amplitude.bounds = (0.0, None)
    grid = np.mgrid[:ny, :nx].astype(float)[::-1]
    try:
        fitted, info = _fit(LevMarLSQFitter(), model, grid, data, weights, max_iterations)
        stuck = _bound_problems(fitted) or fitted.ellip.value <= 1e-6  # ellipticity 0: axis ratio exactly 1
        if stuck or not _converged(info):  # Levenberg-Marquardt clips steps at bounds and can stick there
            again, again_info = _fit(TRFLSQFitter(), model, grid, data, weights, max_iterations)
            chi2, chi2_again = _chi2(fitted, grid, data, weights), _chi2(again, grid, data, weights)
            # the better fit; as good a fit that converged is better than one that ran out of steps
            if chi2_again < chi2 or (_converged(again_info) and not _converged(info) and chi2_again <= 1.001 * chi2):
                fitted, info = again, again_info
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        return SersicFit(np.nan, np.nan, np.nan, f"fit failed: {exc}")
    status = _bound_problems(fitted)
    if not _converged(info):
        message = " ".join(str(info.get("message", "")).split())
        status = "; ".join(s for s in (f"fit did not converge ({message})", status) if s)
    return SersicFit(float(fitted.n.value), float(fitted.r_eff.value) * pixel_scale, 1.0 - float(fitted.ellip.value),
                     status)


def _converged(info: dict) -> bool:
    """Whether a fit converged (scipy's leastsq ``ierr`` 1-4; the trust-region fitter's is set alike)."""
    return info.get("ierr") in (1, 2, 3, 4)


def _fit(fitter, model: PSFConvolvedSersic2D, grid: np.ndarray, data: np.ndarray, weights: np.ndarray,
         max_iterations: int) -> tuple[PSFConvolvedSersic2D, dict]:
    """One bounded fit; returns the fitted model and the fitter's ``fit_info`` (``ierr`` set for the trust-region
    fitter from its ``success`` so both read alike)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)  # "the fit may be unsuccessful": ierr says so
        fitted = fitter(model, grid[0], grid[1], data, weights=weights, maxiter=max_iterations)
    info = dict(fitter.fit_info)
    if "ierr" not in info:
        info["ierr"] = 1 if info.get("success", True) else 0
    return fitted, info


def _chi2(model: PSFConvolvedSersic2D, grid: np.ndarray, data: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sum((weights * (model(grid[0], grid[1]) - data)) ** 2))


def _neighbours_in_segment(smoothed: np.ndarray, own: np.ndarray, noise: float, cx: float, cy: float) -> np.ndarray:
    """Pixels of the central segment nearer to another peak than to the galaxy's (a neighbour whose light runs
    into the galaxy's shares its segment).  Peaks are local maxima 5 σ above the sky; the galaxy's is the one
    nearest the centre; another counts when it lies 4 pixels or more from the centre and rises 5 σ above the
    faintest point on the line to the galaxy's peak (a saddle, not a flat top)."""
    peaks = find_peaks(np.where(own, smoothed, 0.0), 5.0 * noise, box_size=5)
    others = np.zeros_like(own)
    if peaks is None:
        return others
    px, py = np.asarray(peaks["x_peak"], int), np.asarray(peaks["y_peak"], int)
    distance = np.hypot(px - cx, py - cy)
    main = int(np.argmin(distance))
    y, x = np.nonzero(own)
    to_main = np.hypot(x - px[main], y - py[main])
    for k in np.flatnonzero(distance >= 4.0):
        t = np.linspace(0.0, 1.0, 25)
        line = smoothed[np.round(py[main] + t * (py[k] - py[main])).astype(int),
                        np.round(px[main] + t * (px[k] - px[main])).astype(int)]
        if k != main and smoothed[py[k], px[k]] - line.min() > 5.0 * noise:
            nearer = np.hypot(x - px[k], y - py[k]) < to_main
            others[y[nearer], x[nearer]] = True
    return others


def _moments(data: np.ndarray, own: np.ndarray, cx: float, cy: float) -> dict[str, float]:
    """Starting parameters from the central source's light: centroid, axis ratio, angle, half-light radius."""
    y, x = np.nonzero(own)
    flux = np.clip(data[y, x], 0, None)
    total = float(flux.sum()) or 1.0
    mx, my = float((flux * x).sum() / total), float((flux * y).sum() / total)
    if np.hypot(mx - cx, my - cy) > CENTRE_FREEDOM:
        mx, my = cx, cy
    dx, dy = x - mx, y - my
    cov = np.array([[np.sum(flux * dx * dx), np.sum(flux * dx * dy)],
                    [np.sum(flux * dx * dy), np.sum(flux * dy * dy)]]) / total
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    q = float(np.sqrt(max(eigenvalues[0], 1e-6) / max(eigenvalues[1], 1e-6)))
    q = min(max(q, 1.0 - MAX_ELLIPTICITY + 0.01), 0.99)
    theta = float(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
    along = dx * np.cos(theta) + dy * np.sin(theta)
    across = -dx * np.sin(theta) + dy * np.cos(theta)
    radius = np.hypot(along, across / q)
    order = np.argsort(radius)
    half = radius[order][np.searchsorted(np.cumsum(flux[order]), 0.5 * total)]
    r_eff = float(max(half, 0.5))
    n = 2.0
    b = float(gammaincinv(2 * n, 0.5))
    amplitude = total / (2 * np.pi * q * r_eff**2 * n * np.exp(b) * gamma(2 * n) / b ** (2 * n))
    return {"amplitude": amplitude, "r_eff": r_eff, "n": n, "x_0": mx, "y_0": my, "ellip": 1.0 - q, "theta": theta}


def _bound_problems(fitted: PSFConvolvedSersic2D) -> str:
    """Which of n and r_eff ended on a bound (their values are then limits, not measurements)."""
    problems = []
    for name in ("n", "r_eff"):
        parameter = getattr(fitted, name)
        low, high = parameter.bounds
        value = float(parameter.value)
        for bound in (low, high):
            if bound is not None and abs(value - bound) <= 1e-3 * max(abs(bound), 1.0):
                problems.append(f"{'Sérsic index' if name == 'n' else 'radius'} at its bound {bound:g}")
    return "; ".join(problems)


def fit_stacks(images: np.ndarray, psf_fwhm: np.ndarray, *, band: int = 2, pixel_scale: float = 0.396,
               oversample: int = 3) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit :func:`fit_sersic` to one band of each stack.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Stacks (e.g. ``sdss-stack`` ugriz: the default ``band=2`` is r).
    psf_fwhm : array-like, shape (N,)
        PSF FWHM (arcsec) of each stack's ``band``.
    band : int
        Channel fitted.
    pixel_scale : float
        Arcsec per pixel.
    oversample : int
        Sub-pixels per pixel side of the model.

    Returns
    -------
    values : ndarray, shape (N, 3)
        n, r_e (arcsec), q; NaN where a fit failed.
    status : ndarray of str
        Per stack, empty or why its fit is not to be trusted.
    seconds : float
        Wall-clock time of the fits.

    Raises
    ------
    ValueError
        ``psf_fwhm`` does not have one value per stack.
    """
    images = np.asarray(images)
    psf_fwhm = np.broadcast_to(np.asarray(psf_fwhm, dtype=float), (len(images),)) \
        if np.ndim(psf_fwhm) == 0 else np.asarray(psf_fwhm, dtype=float)
    if psf_fwhm.shape != (len(images),):
        raise ValueError(f"psf_fwhm has {psf_fwhm.size} values for {len(images)} stacks")
    values = np.full((len(images), 3), np.nan)
    status = np.full(len(images), "", dtype=object)
    start = time.perf_counter()
    for k, (image, fwhm) in enumerate(zip(images, psf_fwhm)):
        if not np.isfinite(image[band]).all():
            status[k] = "image has non-finite pixels"
            continue
        fit = fit_sersic(image[band], float(fwhm), pixel_scale, oversample=oversample)
        values[k] = fit.sersic_n, fit.r_e, fit.q
        status[k] = fit.status
    return values, status.astype(str), time.perf_counter() - start
