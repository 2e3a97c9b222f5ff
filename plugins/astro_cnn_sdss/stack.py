"""Resample frames onto one tangent-plane grid centred on a target and co-add them (flux-conserving)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_area

from .frames import Frame

__all__ = ["stack_wcs", "resample", "stack"]


def stack_wcs(ra: float, dec: float, size: int, scale_arcsec: float) -> WCS:
    """Return a north-up, east-left TAN WCS of ``size`` × ``size`` pixels centred on (ra, dec).

    The target lies at the centre of the grid: pixel ``((size - 1) / 2, (size - 1) / 2)`` (0-based).
    """
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(size + 1) / 2.0, (size + 1) / 2.0]
    wcs.wcs.cdelt = [-scale_arcsec / 3600.0, scale_arcsec / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.radesys = "ICRS"
    wcs.array_shape = (size, size)
    return wcs


def resample(frame: Frame, out_wcs: WCS, size: int, order: str = "bicubic") -> tuple[np.ndarray, np.ndarray]:
    """Resample one frame onto ``out_wcs``, conserving flux per unit sky area.

    Only the part of the frame around the output grid is interpolated (a margin of a few
    pixels keeps the spline kernel exact), so the cost does not depend on the frame size.

    Parameters
    ----------
    frame : Frame
        Pixels in flux units per pixel (nanomaggies) and their WCS.
    out_wcs : WCS
        Output grid.
    size : int
        Output side in pixels.
    order : str
        Interpolation of :func:`reproject.reproject_interp` (``"bicubic"`` is a cubic spline).

    Returns
    -------
    image, footprint : ndarray, shape (size, size)
        Flux per output pixel (0 outside the frame) and coverage (1 inside, 0 outside).
    """
    from reproject import reproject_interp

    ny, nx = frame.data.shape
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    sky = out_wcs.all_pix2world(corners, 0)
    pix = frame.wcs.all_world2pix(sky, 0)
    margin = 6
    x0 = max(int(np.floor(pix[:, 0].min())) - margin, 0)
    x1 = min(int(np.ceil(pix[:, 0].max())) + margin + 1, nx)
    y0 = max(int(np.floor(pix[:, 1].min())) - margin, 0)
    y1 = min(int(np.ceil(pix[:, 1].max())) + margin + 1, ny)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((size, size), np.float32), np.zeros((size, size), np.float32)
    sub = frame.data[y0:y1, x0:x1]
    sub_wcs = frame.wcs.slice((slice(y0, y1), slice(x0, x1)))
    image, footprint = reproject_interp((sub, sub_wcs), out_wcs, shape_out=(size, size), order=order)
    footprint = np.where(np.isfinite(image), footprint, 0.0)
    area_ratio = proj_plane_pixel_area(out_wcs) / proj_plane_pixel_area(frame.wcs)
    image = np.where(footprint > 0, np.nan_to_num(image) * area_ratio, 0.0)
    return image.astype(np.float32), footprint.astype(np.float32)


def stack(frames: Mapping[str, Sequence[Frame]], bands: Sequence[str], ra: float, dec: float, size: int,
          scale_arcsec: float, order: str = "bicubic") -> tuple[np.ndarray, np.ndarray, WCS]:
    """Co-add every frame of every band onto one grid centred on (ra, dec).

    Each band goes through its own frames' WCS (the bands of one SDSS field are not pixel-aligned).
    Where frames overlap the result is their coverage-weighted mean.

    Parameters
    ----------
    frames : mapping of band to sequence of Frame
        Frames per band.
    bands : sequence of str
        Output channel order.
    ra, dec : float
        Centre (ICRS degrees).
    size : int
        Side in pixels.
    scale_arcsec : float
        Output pixel scale.
    order : str
        Interpolation order for :func:`resample`.

    Returns
    -------
    image : ndarray, shape (C, size, size), float32
        Flux per pixel in the frames' unit (nanomaggies).
    weight : ndarray, shape (C, size, size), float32
        Number of frames covering each pixel (0: no data).
    wcs : WCS
        The grid.

    Raises
    ------
    ValueError
        A band has no frame covering the centre.
    """
    wcs = stack_wcs(ra, dec, size, scale_arcsec)
    image = np.zeros((len(bands), size, size), np.float32)
    weight = np.zeros((len(bands), size, size), np.float32)
    centre = size // 2
    for c, band in enumerate(bands):
        for frame in frames.get(band, ()):
            data, footprint = resample(frame, wcs, size, order)
            image[c] += data * footprint
            weight[c] += footprint
        if weight[c, centre, centre] <= 0:
            raise ValueError(f"no frame covers RA {ra:.6f}, Dec {dec:+.6f} in band {band}")
    covered = weight > 0
    image[covered] /= weight[covered]
    return image, weight, wcs
