"""Add one rendered galaxy, with its photon noise, to a copy of the part of a real frame around it."""

from __future__ import annotations

import numpy as np

from astro_cnn_sdss.frames import Frame

from .profiles import GalaxyShape, render_galaxy

__all__ = ["GAIN", "magnitude_to_nanomaggies", "inject"]

#: Electrons per data number per band: typical SDSS camera gains, for the photon noise of injected light.
GAIN = {"u": 1.7, "g": 3.9, "r": 4.7, "i": 5.1, "z": 4.7}


def magnitude_to_nanomaggies(magnitude: float) -> float:
    """SDSS AB magnitude to flux in nanomaggies: 10^(−0.4 (m − 22.5))."""
    return float(10 ** (-0.4 * (magnitude - 22.5)))


def inject(frame: Frame, shape: GalaxyShape, flux: float, psf_fwhm: float, gain: float | None,
           rng: np.random.Generator, half_width: int) -> Frame:
    """Return the part of ``frame`` around ``shape`` with the galaxy and its photon noise added.

    The frame itself is not changed.  The galaxy is rendered through the frame's own WCS
    (:func:`~astro_cnn_injection.profiles.render_galaxy`); its photon noise is Gaussian with variance
    flux × NMGY / gain (in
    nanomaggies², from the frame's own calibration ``NMGY``); the frame's sky noise is already in
    its pixels.

    Parameters
    ----------
    frame : Frame
        A real frame (nanomaggies).
    shape : GalaxyShape
        Where and how the galaxy looks.
    flux : float
        Total flux (nanomaggies).
    psf_fwhm : float
        FWHM (arcsec) of the frame's Gaussian PSF (:func:`astro_cnn_injection.psf.measure_psf`).
    gain : float or None
        Electrons per data number; None adds no photon noise.
    rng : numpy.random.Generator
        Source of the noise.
    half_width : int
        Half side (frame pixels) of the returned part.

    Returns
    -------
    Frame
        The part, with its sliced WCS.

    Raises
    ------
    ValueError
        The galaxy centre is not on the frame.
    """
    ny, nx = frame.data.shape
    cx, cy = frame.wcs.all_world2pix([[shape.ra, shape.dec]], 0)[0]
    if not (-0.5 <= cx < nx - 0.5 and -0.5 <= cy < ny - 0.5):
        raise ValueError(f"galaxy at RA {shape.ra:.6f}, Dec {shape.dec:+.6f} is not on frame {frame.path}")
    x0, x1 = max(int(round(cx)) - half_width, 0), min(int(round(cx)) + half_width + 1, nx)
    y0, y1 = max(int(round(cy)) - half_width, 0), min(int(round(cy)) + half_width + 1, ny)
    model = render_galaxy(shape, flux, frame.wcs, (x0, x1, y0, y1), psf_fwhm)
    part = frame.data[y0:y1, x0:x1] + model
    if gain and frame.nmgy:
        part += rng.normal(size=model.shape).astype(np.float32) * np.sqrt(np.maximum(model, 0) * frame.nmgy / gain)
    wcs = frame.wcs.slice((slice(y0, y1), slice(x0, x1)))
    return Frame(part.astype(np.float32), wcs, f"{frame.path}[{y0}:{y1},{x0}:{x1}]+galaxy", frame.nmgy)
