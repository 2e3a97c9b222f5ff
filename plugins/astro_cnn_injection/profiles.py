"""PSF-convolved Sérsic profiles rendered on a frame's own pixel grid, through its WCS."""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS
from scipy.ndimage import gaussian_filter

__all__ = ["GalaxyShape", "sersic_b", "render_galaxy"]

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


class GalaxyShape:
    """Shape of one galaxy on the sky.

    Parameters
    ----------
    ra, dec : float
        Centre (ICRS degrees).
    half_light_radius : float
        Circularised half-light radius (arcsec); the semi-major axis radius is this / sqrt(q).
    sersic_n : float
        Sérsic index (1: exponential disc, 4: de Vaucouleurs).
    axis_ratio : float
        Minor / major axis, in (0, 1].
    position_angle : float
        Major axis, degrees east of north.
    """

    def __init__(self, ra: float, dec: float, half_light_radius: float, sersic_n: float, axis_ratio: float,
                 position_angle: float):
        if not 0 < axis_ratio <= 1:  # also rejects NaN
            raise ValueError(f"axis_ratio must be in (0, 1], got {axis_ratio}")
        if not (half_light_radius > 0 and sersic_n > 0):
            raise ValueError("half_light_radius and sersic_n must be positive")
        self.ra, self.dec = float(ra), float(dec)
        self.half_light_radius = float(half_light_radius)
        self.sersic_n = float(sersic_n)
        self.axis_ratio = float(axis_ratio)
        self.position_angle = float(position_angle)


def sersic_b(n: float) -> float:
    """b_n of the Sérsic profile (Ciotti & Bertin 1999 asymptotic series), so r_e encloses half the light."""
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2) + 131.0 / (1148175.0 * n**3)


def render_galaxy(shape: GalaxyShape, flux: float, wcs: WCS, region: tuple[int, int, int, int], psf_fwhm: float,
                  oversample: int = 4) -> np.ndarray:
    """Render a galaxy convolved with a Gaussian PSF onto pixels ``region`` of a frame.

    The profile is evaluated on a grid ``oversample`` times finer than the frame's pixels, using
    the frame's local tangent-plane Jacobian at the galaxy centre (so each band's own WCS,
    orientation and pixel scale are honoured), normalised so the region holds ``flux`` before the
    PSF is applied, convolved with the PSF, and summed back into frame pixels.

    Parameters
    ----------
    shape : GalaxyShape
        The galaxy.
    flux : float
        Total flux in the frame's unit (nanomaggies).
    wcs : WCS
        The frame's WCS.
    region : (x0, x1, y0, y1)
        0-based pixel bounds (end exclusive) of the rendered cut-out of the frame.
    psf_fwhm : float
        PSF full width at half maximum (arcsec).
    oversample : int
        Sub-pixels per pixel side.

    Returns
    -------
    ndarray, shape (y1 - y0, x1 - x0)
        Flux per frame pixel.
    """
    x0, x1, y0, y1 = region
    cx, cy = wcs.all_world2pix([[shape.ra, shape.dec]], 0)[0]
    jacobian = wcs.pixel_scale_matrix * 3600.0  # intermediate (east, north) arcsec per (x, y) pixel
    step = 1.0 / oversample
    xs = x0 - 0.5 + step * (np.arange((x1 - x0) * oversample) + 0.5)
    ys = y0 - 0.5 + step * (np.arange((y1 - y0) * oversample) + 0.5)
    dx, dy = np.meshgrid(xs - cx, ys - cy)
    east = jacobian[0, 0] * dx + jacobian[0, 1] * dy
    north = jacobian[1, 0] * dx + jacobian[1, 1] * dy
    theta = np.radians(shape.position_angle)
    major = east * np.sin(theta) + north * np.cos(theta)
    minor = east * np.cos(theta) - north * np.sin(theta)
    q = shape.axis_ratio
    radius = np.hypot(major, minor / q)
    r_e = shape.half_light_radius / np.sqrt(q)
    n = shape.sersic_n
    fine = np.exp(-sersic_b(n) * ((radius / r_e) ** (1.0 / n) - 1.0))
    total = fine.sum()
    if not np.isfinite(total) or total <= 0:
        return np.zeros((y1 - y0, x1 - x0), np.float32)
    fine *= flux / total
    arcsec_per_pixel = float(np.sqrt(abs(np.linalg.det(jacobian))))
    sigma_fine = psf_fwhm / _FWHM_PER_SIGMA / arcsec_per_pixel * oversample
    fine = gaussian_filter(fine, sigma_fine, mode="constant")
    coarse = fine.reshape(y1 - y0, oversample, x1 - x0, oversample).sum(axis=(1, 3))
    return coarse.astype(np.float32)
