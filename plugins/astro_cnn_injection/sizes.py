"""Sizes as the size relation measures them: the Petrosian R50 of a seeing-convolved Sérsic profile, and back.

Shen et al. (2003) give R50, the SDSS r-band Petrosian half-light radius, measured on images
blurred by the seeing.  A Sérsic profile's intrinsic half-light radius r_e is a different thing: a
Petrosian aperture misses part of a concentrated profile's light (R50 < r_e for n = 4) and the PSF
widens small galaxies (R50 > r_e when r_e is comparable to the seeing).  :func:`intrinsic_radius`
chooses the r_e whose PSF-convolved profile has the wanted Petrosian R50.

The conversion is tabulated: for each Sérsic index the ratio R50 / r_e is computed once on 41
values of FWHM / r_e from 0.02 to 50 (log-spaced; :func:`petrosian_r50_ratio`) and interpolated
in log–log.  Each value is exact for a round galaxy and a circular Gaussian PSF: the profile is
convolved radially (the Hankel form of a 2-d convolution), the Petrosian ratio is taken as SDSS
defines it (surface brightness in the annulus 0.8-1.25 r over the mean inside r, Petrosian radius
where it is 0.2, Petrosian flux inside twice that radius, R50 the radius holding half of it), and
pixelisation is neglected.  :func:`measure_petrosian_r50` measures the same quantity on an image
(photutils circular apertures), and is what the checks use.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from photutils.aperture import CircularAperture, aperture_photometry
from scipy.special import i0e

from .profiles import sersic_b

__all__ = ["PETROSIAN_RATIO", "petrosian_r50_ratio", "petrosian_r50", "intrinsic_radius", "measure_petrosian_r50"]

#: Petrosian ratio at the Petrosian radius (SDSS).
PETROSIAN_RATIO = 0.2
#: FWHM / r_e values of the table (log-spaced).
_TABLE = np.geomspace(0.02, 50.0, 41)
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def petrosian_r50_ratio(n: float, fwhm_over_re: float) -> float:
    """Petrosian R50 / r_e of a round Sérsic profile convolved with a circular Gaussian PSF.

    Parameters
    ----------
    n : float
        Sérsic index.
    fwhm_over_re : float
        PSF FWHM in units of the intrinsic half-light radius (0 for no PSF).

    Returns
    -------
    float
        The Petrosian half-light radius in units of r_e.
    """
    sigma = fwhm_over_re / _FWHM_PER_SIGMA
    radius_max = 40.0 + 12.0 * sigma
    r = np.concatenate([[0.0], np.geomspace(1e-5, radius_max, 800)])
    weight = np.gradient(r)  # trapezoid-like quadrature weights on the uneven grid
    profile = np.exp(-sersic_b(n) * (r ** (1.0 / n) - 1.0))
    if sigma > 0:
        kernel = (r[None, :] / sigma**2 * np.exp(-(r[:, None] - r[None, :]) ** 2 / (2 * sigma**2))
                  * i0e(r[:, None] * r[None, :] / sigma**2)) * weight[None, :]
        # each row integrates a normalised 2-d Gaussian over the plane: normalise the discrete sum to 1
        kernel /= kernel.sum(axis=1, keepdims=True)
        profile = kernel @ profile
    enclosed = np.concatenate([[0.0], np.cumsum(0.5 * (profile[1:] * r[1:] + profile[:-1] * r[:-1]) * np.diff(r))])
    radii = r[1:][r[1:] * 1.25 < radius_max]

    def light(radius):
        return np.interp(radius, r, enclosed)

    annulus = (light(1.25 * radii) - light(0.8 * radii)) / (1.25**2 - 0.8**2)
    ratio = annulus / np.maximum(light(radii), 1e-300)
    below = np.flatnonzero((ratio < PETROSIAN_RATIO) & (radii > 1e-3))
    k = below[0]
    petrosian = np.interp(PETROSIAN_RATIO, [ratio[k], ratio[k - 1]], [radii[k], radii[k - 1]])
    return float(np.interp(0.5 * light(2.0 * petrosian), enclosed, r))


@lru_cache(maxsize=32)
def _table(n: float) -> np.ndarray:
    """R50 / r_e on :data:`_TABLE` for Sérsic index ``n``."""
    return np.array([petrosian_r50_ratio(n, t) for t in _TABLE])


def petrosian_r50(r_e: np.ndarray, n: np.ndarray, psf_fwhm: np.ndarray) -> np.ndarray:
    """Petrosian R50 (same unit as ``r_e``) of Sérsic profiles of half-light radius ``r_e`` seen through a Gaussian PSF.

    Interpolated in the tabulated ratio (see the module docstring); FWHM / r_e outside
    0.02-50 is clipped to the table (the ratio is flat there).
    """
    r_e, n, psf_fwhm = np.broadcast_arrays(np.asarray(r_e, float), np.asarray(n, float),
                                           np.asarray(psf_fwhm, float))
    out = np.empty(r_e.shape)
    for index in np.unique(n):
        rows = n == index
        t = np.clip(psf_fwhm[rows] / r_e[rows], _TABLE[0], _TABLE[-1])
        out[rows] = r_e[rows] * np.exp(np.interp(np.log(t), np.log(_TABLE), np.log(_table(float(index)))))
    return out


def intrinsic_radius(r50: np.ndarray, n: np.ndarray, psf_fwhm: np.ndarray) -> np.ndarray:
    """The intrinsic Sérsic half-light radius r_e whose PSF-convolved Petrosian R50 is ``r50``.

    Parameters
    ----------
    r50 : array-like
        Wanted Petrosian half-light radius (e.g. arcsec).
    n : array-like
        Sérsic index.
    psf_fwhm : array-like
        FWHM of the Gaussian PSF, same unit as ``r50``.

    Returns
    -------
    ndarray
        r_e, same unit.  Where ``r50`` is smaller than a point source's Petrosian R50 through that
        PSF (an unresolved galaxy), r_e is the table's smallest, FWHM / 50: no profile can be smaller.
    """
    r50, n, psf_fwhm = np.broadcast_arrays(np.asarray(r50, float), np.asarray(n, float),
                                           np.asarray(psf_fwhm, float))
    out = np.empty(r50.shape)
    for index in np.unique(n):
        rows = n == index
        # log R50/FWHM grows monotonically as r_e/FWHM = 1/t grows: invert by interpolation
        log_re = -np.log(_TABLE[::-1])
        log_r50 = log_re + np.log(_table(float(index))[::-1])
        wanted = np.log(r50[rows] / psf_fwhm[rows])
        beyond = np.log(_table(float(index))[0])  # r_e ≫ FWHM: the ratio no longer changes
        log_out = np.where(wanted > log_r50[-1], wanted - beyond, np.interp(wanted, log_r50, log_re))
        out[rows] = psf_fwhm[rows] * np.exp(log_out)
    return out


def measure_petrosian_r50(image: np.ndarray, x: float, y: float, *, step: float = 0.25) -> float:
    """Measure the Petrosian R50 (pixels) of the source centred at (x, y) of a background-free image.

    Circular-aperture photometry (photutils) every ``step`` pixels out to the nearest image edge;
    the Petrosian ratio, radius and flux as SDSS defines them (see the module docstring).

    Raises
    ------
    ValueError
        The Petrosian ratio does not fall to 0.2 before the image edge, or twice the Petrosian
        radius reaches beyond it.
    """
    image = np.asarray(image, float)
    ny, nx = image.shape
    largest = min(x, y, nx - 1 - x, ny - 1 - y)
    radii = np.arange(step, largest, step)
    table = aperture_photometry(image, [CircularAperture((x, y), r) for r in radii], method="exact")
    enclosed = np.array([float(table[f"aperture_sum_{k}"][0]) for k in range(len(radii))])

    def light(radius):
        return np.interp(radius, radii, enclosed)

    inner = radii[radii * 1.25 <= radii[-1]]
    ratio = (light(1.25 * inner) - light(0.8 * inner)) / (1.25**2 - 0.8**2) / light(inner)
    below = np.flatnonzero(ratio < PETROSIAN_RATIO)
    if len(below) == 0 or below[0] == 0:
        raise ValueError("the Petrosian ratio does not reach 0.2 inside the image")
    k = below[0]
    petrosian = float(np.interp(PETROSIAN_RATIO, [ratio[k], ratio[k - 1]], [inner[k], inner[k - 1]]))
    if 2.0 * petrosian > radii[-1]:
        raise ValueError(f"twice the Petrosian radius ({2 * petrosian:.1f} px) reaches beyond the image")
    return float(np.interp(0.5 * light(2.0 * petrosian), enclosed, radii))
