"""Declared resampling: a survey's images brought to the pixel scale a model was trained at.

A model sees a galaxy through its pixels: the same galaxy at another pixel scale covers another
number of pixels, and a network trained at one scale has never seen it at another.  Prediction
therefore refuses a survey whose declared pixel scale differs from the model's
(:class:`PixelScaleMismatchError`, naming both) unless resampling is asked for explicitly
(``astro_cnn.predict(..., resample=True)``, ``astro-cnn predict --resample``).  Then
:class:`ResampledSurvey` cuts each image at the survey's own scale, large enough to cover the
model's field of view, and resamples it onto the model's grid (same centre, same orientation).

The resampling is **pixel-area overlap** (a drizzle with pixfrac 1, which for two aligned grids is
what ``reproject.reproject_exact`` computes): each output pixel receives from every input pixel the
fraction of that input pixel it covers.  Because the cutouts share their centre and orientation,
the overlap is separable and the whole resampling is two small matrix products per image.  It is
chosen over interpolation (bilinear, bicubic, Lanczos) because it

- conserves flux exactly, so the photometry a model reads from the pixels (colours, magnitudes,
  concentration) is unchanged: interpolation samples the image at points and, going to larger
  pixels, loses the light between them;
- never rings or goes negative around a compact source (no Gibbs lobes as with sinc/Lanczos);
- is linear and local, so the noise stays Gaussian (it becomes correlated between neighbouring
  pixels, as in any co-added survey image).

For images in a flux unit (the survey declares :attr:`~astro_cnn.Survey.flux_unit`: flux per
pixel, e.g. nanomaggies) the overlaps are summed, which conserves total flux; for images with no
declared flux unit (colour JPEG/PNG values, a surface brightness) they are averaged, which keeps
the pixel values' level.  Going to smaller pixels it is a piecewise-constant (nearest-area)
resampling: it adds no resolution, and the PSF is as the survey's pixels and seeing made it.
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from .exceptions import IncompatibleImagesError
from .survey import ImageBatch, Survey
from .target import TargetList

__all__ = ["METHOD", "SCALE_TOLERANCE", "PixelScaleMismatchError", "overlap_matrix", "resample_images",
           "source_size", "ResampledSurvey", "survey_for_model"]

#: What the output metadata records as the method.
METHOD = "pixel-area overlap (flux-conserving drizzle, pixfrac 1)"
#: Relative difference of pixel scales within which images are taken as they are (as the model's own check).
SCALE_TOLERANCE = 0.02


class PixelScaleMismatchError(IncompatibleImagesError):
    """The survey's pixel scale is not the model's and resampling was not asked for.

    Parameters
    ----------
    model : str
        The model's name.
    model_scale, survey_scale : Quantity
        Pixel scales of the model and of the survey.
    survey : str
        The survey's name.
    option : str
        How to ask for resampling (``"resample=True"`` in the library, ``"--resample"`` on the command line).
    """

    def __init__(self, model: str, model_scale: u.Quantity, survey: str, survey_scale: u.Quantity,
                 option: str = "resample=True"):
        self.model, self.survey, self.option = model, survey, option
        self.model_scale, self.survey_scale = u.Quantity(model_scale, u.arcsec), u.Quantity(survey_scale, u.arcsec)
        super().__init__(
            f"model {model!r} was trained at {self.model_scale.value:.3f} arcsec per pixel but the images have "
            f"{self.survey_scale.value:.3f} arcsec per pixel (survey {survey!r}); pass {option} to resample them "
            f"to the model's scale, or take images at {self.model_scale.value:.3f} arcsec per pixel")

    def __reduce__(self):
        return type(self), (self.model, self.model_scale, self.survey, self.survey_scale, self.option)


def overlap_matrix(n_in: int, scale_in: float, n_out: int, scale_out: float) -> np.ndarray:
    """Fraction of each input pixel that falls in each output pixel, along one axis.

    Both grids are centred on the same point (the target, at the centre of the cutout).

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output pixels.
    scale_in, scale_out : float
        Their sizes (any one angular unit).

    Returns
    -------
    ndarray, shape (n_out, n_in)
        Each column sums to 1 where the input pixel lies wholly inside the output grid.
    """
    edges_in = (np.arange(n_in + 1) - n_in / 2) * scale_in
    edges_out = (np.arange(n_out + 1) - n_out / 2) * scale_out
    low = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    high = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    return np.clip(high - low, 0.0, None) / scale_in


def resample_images(images: np.ndarray, scale_in: u.Quantity, scale_out: u.Quantity, size: int, *,
                    conserve_flux: bool = True) -> np.ndarray:
    """Resample centred square cutouts onto a centred grid of ``size`` pixels at ``scale_out``.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Cutouts centred on their targets.
    scale_in, scale_out : Quantity
        Pixel scales of the input and of the output.
    size : int
        Side of the output in pixels.
    conserve_flux : bool
        Sum the overlapping light (images in flux per pixel); False averages it (surface
        brightness, colour values).

    Returns
    -------
    ndarray, shape (N, C, size, size), float32
    """
    images = np.asarray(images, dtype=np.float64)
    s_in = u.Quantity(scale_in, u.arcsec).to_value(u.arcsec)
    s_out = u.Quantity(scale_out, u.arcsec).to_value(u.arcsec)
    rows = overlap_matrix(images.shape[-2], s_in, size, s_out)
    columns = overlap_matrix(images.shape[-1], s_in, size, s_out)
    if not conserve_flux:
        rows = rows / np.maximum(rows.sum(axis=1, keepdims=True), 1e-300)
        columns = columns / np.maximum(columns.sum(axis=1, keepdims=True), 1e-300)
    return np.einsum("yh,nchw,xw->ncyx", rows, images, columns, optimize=True).astype(np.float32)


def source_size(size: int, scale_in: u.Quantity, scale_out: u.Quantity) -> int:
    """Side (pixels at ``scale_in``) of the cutout that covers ``size`` pixels at ``scale_out``."""
    ratio = float(u.Quantity(scale_out, u.arcsec) / u.Quantity(scale_in, u.arcsec))
    return max(1, int(np.ceil(size * ratio - 1e-9)))


class ResampledSurvey(Survey):
    """A survey's images resampled to another pixel scale (see the module notes).

    It has the wrapped survey's name, bands and declared attributes; its
    :attr:`~astro_cnn.Survey.pixel_scale` and :attr:`~astro_cnn.Survey.image_size` are the target
    grid's, :attr:`~astro_cnn.Survey.native_pixel_scale` the survey's own when it declares one
    (else the scale it cut at), and ``resampling`` records what was done.

    Parameters
    ----------
    survey : Survey
        Where the images come from, at its declared :attr:`~astro_cnn.Survey.pixel_scale`.
    pixel_scale : Quantity
        Pixel scale to resample to.
    image_size : int
        Default side of the resampled images.
    """

    def __init__(self, survey: Survey, pixel_scale: u.Quantity, image_size: int):
        self.survey = survey
        self.name = survey.name
        self.bands = tuple(survey.bands)
        self.pixel_scale = u.Quantity(pixel_scale, u.arcsec)
        self.image_size = int(image_size)
        self.finds_images_by_id = survey.finds_images_by_id
        self.flux_unit = survey.flux_unit
        self.zero_point = survey.zero_point
        self.native_pixel_scale = survey.pixel_scale if survey.native_pixel_scale is None else survey.native_pixel_scale
        self.psf_fwhm = survey.psf_fwhm
        self.data_release = survey.data_release
        self.resampling = {"from_pixel_scale_arcsec": float(survey.pixel_scale.to_value(u.arcsec)),
                           "to_pixel_scale_arcsec": float(self.pixel_scale.to_value(u.arcsec)),
                           "method": METHOD,
                           "conserves": "flux" if survey.flux_unit is not None else "surface brightness"}

    def cutouts(self, targets: TargetList, *, size: int | None = None, progress: bool = False) -> ImageBatch:
        """The survey's cutouts around ``targets``, resampled to ``pixel_scale`` (status kept row by row)."""
        size = int(size or self.image_size)
        batch = self.survey.cutouts(targets, size=source_size(size, self.survey.pixel_scale, self.pixel_scale),
                                    progress=progress)
        conserve = self.flux_unit is not None
        images = resample_images(batch.images, batch.pixel_scale, self.pixel_scale, size, conserve_flux=conserve)
        weights = None
        if batch.weights is not None:  # coverage: the mean over what each output pixel draws from
            weights = resample_images(batch.weights, batch.pixel_scale, self.pixel_scale, size, conserve_flux=False)
        return ImageBatch(images, batch.bands, self.pixel_scale, batch.status, weights,
                          {**batch.meta, "resampling": dict(self.resampling)})

    def query(self, *args: Any, **kwargs: Any):
        """The wrapped survey's catalogue query."""
        return self.survey.query(*args, **kwargs)

    def describe(self) -> dict[str, Any]:
        """The wrapped survey's description at the resampled scale and size, with the resampling."""
        description = {**self.survey.describe(), **super().describe()}
        description["resampling"] = dict(self.resampling)
        return description


def survey_for_model(survey: Survey, model: str, pixel_scale: u.Quantity, image_size: int,
                     resample: bool = False) -> Survey:
    """``survey`` when its pixel scale is the model's, resampled to it when ``resample`` is true, else refused.

    Parameters
    ----------
    survey : Survey
    model : str
        The model's name (for the error).
    pixel_scale : Quantity
        The model's pixel scale.
    image_size : int
        The model's image side in pixels.
    resample : bool
        Resample a survey at another scale (:class:`ResampledSurvey`).

    Raises
    ------
    PixelScaleMismatchError
        The scales differ by more than :data:`SCALE_TOLERANCE` and ``resample`` is false.
    """
    model_scale = u.Quantity(pixel_scale, u.arcsec)
    if np.isclose(survey.pixel_scale.to_value(u.arcsec), model_scale.value, rtol=SCALE_TOLERANCE):
        return survey
    if not resample:
        raise PixelScaleMismatchError(model, model_scale, survey.name, survey.pixel_scale)
    return ResampledSurvey(survey, model_scale, image_size)
