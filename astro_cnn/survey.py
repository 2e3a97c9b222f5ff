"""The :class:`Survey` interface (where pixels come from) and the :class:`ImageBatch` it returns."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .exceptions import AstroCNNError
from .target import TargetList

__all__ = ["Survey", "ImageBatch"]


@dataclass
class ImageBatch:
    """Images for N targets, row-aligned with the targets they were made for.

    Attributes
    ----------
    images : ndarray, shape (N, C, H, W), float32
        Pixels: calibrated flux (e.g. nanomaggies) for FITS stacks, or colour values in
        [0, 1] for 8-bit colour images.  Rows that failed hold zeros.
    bands : tuple of str
        Band of each channel, in order.
    pixel_scale : Quantity
        Angular size of one pixel (arcsec).
    status : ndarray of str, shape (N,)
        ``""`` for rows with an image, else why there is none.
    weights : ndarray, shape (N, C, H, W), optional
        Weight (coverage) plane; 0 where no data.
    meta : dict
        Anything else, e.g. the WCS of each stack under ``"wcs"``.
    """

    images: np.ndarray
    bands: tuple[str, ...]
    pixel_scale: u.Quantity
    status: np.ndarray
    weights: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images, dtype=np.float32)
        self.status = np.asarray(self.status, dtype=object)
        self.bands = tuple(self.bands)
        if self.images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {self.images.shape}")
        if self.images.shape[1] != len(self.bands):
            raise ValueError(f"{self.images.shape[1]} channels but {len(self.bands)} bands {self.bands}")
        if len(self.status) != len(self.images):
            raise ValueError("status must have one entry per image")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of rows that have an image."""
        return np.array([not s for s in self.status], dtype=bool)

    @property
    def image_size(self) -> int:
        """Side length in pixels (images are square)."""
        return int(self.images.shape[-1])


class Survey(abc.ABC):
    """Where pixels come from: a survey's bands, pixel scale, cutouts and catalogue.

    Subclasses set the class attributes and implement :meth:`cutouts`; a survey with a
    catalogue service also overrides :meth:`query`.

    Attributes
    ----------
    name : str
        Registry name.
    bands : tuple of str
        Bands of the images it returns, in channel order.
    pixel_scale : Quantity
        Pixel scale of the images it returns.
    image_size : int
        Default cutout side in pixels.
    finds_images_by_id : bool
        True when :meth:`cutouts` can serve targets that have an id but no position (from local
        or bundled image files named by id); tables without coordinate columns are then accepted.
    flux_unit : Unit, optional
        Unit of the pixel values (e.g. nanomaggies); None when not declared or not a flux (colour images).
    zero_point : float, optional
        AB magnitude of a pixel sum of 1 ``flux_unit`` (22.5 for nanomaggies); None when not declared.
    native_pixel_scale : Quantity, optional
        Pixel scale of the survey's own images, which :attr:`pixel_scale` may differ from when the
        survey resamples; None when not declared.
    psf_fwhm : dict of str to Quantity, optional
        Typical (median) PSF FWHM of each band; None when not declared.
    data_release : str, optional
        Data release the pixels come from (e.g. ``"DR17"``); None when not declared.

    Notes
    -----
    The declared attributes let a model check and adapt to a survey's images; they default to
    None (nothing declared), and :meth:`describe` lists only those that are declared.
    """

    name: str = ""
    bands: tuple[str, ...] = ()
    pixel_scale: u.Quantity = 1.0 * u.arcsec
    image_size: int = 64
    finds_images_by_id: bool = False
    flux_unit: u.UnitBase | None = None
    zero_point: float | None = None
    native_pixel_scale: u.Quantity | None = None
    psf_fwhm: dict[str, u.Quantity] | None = None
    data_release: str | None = None

    @abc.abstractmethod
    def cutouts(self, targets: TargetList, *, size: int | None = None, progress: bool = False) -> ImageBatch:
        """Return one image per target, row-aligned; failures are flagged in ``status``, never raised.

        Parameters
        ----------
        targets : TargetList
            Targets; rows whose status is already set get no image and keep their status.
        size : int, optional
            Side in pixels (default :attr:`image_size`).
        progress : bool
            Show a progress bar.

        Returns
        -------
        ImageBatch
        """

    def query(self, *args: Any, **kwargs: Any) -> Table:
        """Query the survey's catalogue; surveys without one say so."""
        raise AstroCNNError(f"survey {self.name!r} has no catalogue query")

    def describe(self) -> dict[str, Any]:
        """Return what a model must record about its input images, with the survey's declared attributes.

        Returns
        -------
        dict
            ``survey``, ``bands``, ``pixel_scale_arcsec``, ``image_size``, and those of
            ``flux_unit`` (a unit string), ``zero_point``, ``native_pixel_scale_arcsec``,
            ``psf_fwhm_arcsec`` (band to arcsec) and ``data_release`` that are declared.
        """
        description: dict[str, Any] = {
            "survey": self.name,
            "bands": list(self.bands),
            "pixel_scale_arcsec": float(self.pixel_scale.to_value(u.arcsec)),
            "image_size": int(self.image_size),
        }
        declared = {
            "flux_unit": None if self.flux_unit is None else u.Unit(self.flux_unit).to_string(),
            "zero_point": None if self.zero_point is None else float(self.zero_point),
            "native_pixel_scale_arcsec": (None if self.native_pixel_scale is None
                                          else float(self.native_pixel_scale.to_value(u.arcsec))),
            "psf_fwhm_arcsec": (None if self.psf_fwhm is None
                                else {band: float(u.Quantity(fwhm).to_value(u.arcsec))
                                      for band, fwhm in self.psf_fwhm.items()}),
            "data_release": self.data_release,
        }
        description.update({key: value for key, value in declared.items() if value is not None})
        return description

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} bands={''.join(self.bands)} {self.pixel_scale:.3f}/px>"


def empty_batch(n: int, bands: Sequence[str], size: int, pixel_scale: u.Quantity, status) -> ImageBatch:
    """Return an all-zero :class:`ImageBatch` of ``n`` rows with the given status (helper for surveys)."""
    return ImageBatch(np.zeros((n, len(bands), size, size), np.float32), tuple(bands), pixel_scale, status)
