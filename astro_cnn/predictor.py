"""The :class:`Predictor` interface: a trained model for one quantity, saved with everything it needs."""

from __future__ import annotations

import abc
import dataclasses
import datetime
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from . import registry
from ._atomic import atomic_path
from ._version import __version__
from .arguments import checked_count, checked_names
from .exceptions import AstroCNNError, IncompatibleImagesError, ModelNotFoundError, UnknownNameError
from .image_checks import (
    NOISE_RATIO_LIMITS,
    TrainingImages,
    colour_range_problems,
    noise_problems,
    pixel_noise,
    screen_training_images,
)
from .quantity import Prediction, Quantity, values_in_unit
from .survey import ImageBatch

__all__ = ["Predictor", "load_predictor", "MODEL_SUFFIX", "checked_labels"]

#: File suffix of saved models (a zip archive of ``metadata.json`` and ``state.bin``).
MODEL_SUFFIX = ".acnn"
_FORMAT_VERSION = 1


class Predictor(abc.ABC):
    """A model that predicts one quantity from images of one survey.

    Subclasses implement :meth:`fit`, :meth:`predict_images`, :meth:`_state_bytes` and
    :meth:`_from_state`, and set :attr:`predictor_type` to the name they are registered
    under (hook ``astro_cnn_predictor_types``) so that :func:`load_predictor` finds them.

    Parameters
    ----------
    quantity : Quantity or str
        What it predicts (a registered name or a :class:`Quantity`).
    survey : str
        Registry name of the survey whose images it takes.
    bands : sequence of str
        Bands of the input channels, in order; a string stands for one-letter bands (``"ugriz"``).
    image_size : int
        Side of the input images in pixels.
    pixel_scale : Quantity
        Pixel scale of the input images.
    extras : sequence of str
        Per-object scalar inputs besides images (e.g. ``("ebv",)``).
    name : str, optional
        Model name recorded in outputs.
    """

    predictor_type: str = ""

    def __init__(
        self,
        quantity: Quantity | str,
        survey: str,
        bands: Sequence[str],
        image_size: int,
        pixel_scale: u.Quantity,
        extras: Sequence[str] = (),
        name: str | None = None,
    ):
        self.quantity = quantity if isinstance(quantity, Quantity) else registry.get("quantity", quantity)
        self.survey = survey
        self.bands, self.image_size, self.pixel_scale = _checked_geometry(bands, image_size, pixel_scale)
        self.extras = checked_names(extras, "extras")
        self.name = name or f"{self.quantity.name}-{survey}-{self.predictor_type}"
        self.info: dict[str, Any] = {}
        self.saved = ""

    # --- what subclasses implement -------------------------------------------------------------
    @abc.abstractmethod
    def fit(self, images: np.ndarray, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
            **options: Any) -> Predictor:
        """Train on images ``(N, C, H, W)`` and labels ``(N,)``; returns ``self``."""

    @abc.abstractmethod
    def predict_images(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None) -> Prediction:
        """Predict for float images ``(N, C, H, W)`` (:meth:`predict` also reads 8-bit colour values and checks
        their range).

        Implementations refuse an array of another shape with
        :class:`~astro_cnn.exceptions.IncompatibleImagesError` before any computation
        (:meth:`images_of_shape` does it)."""

    @abc.abstractmethod
    def _state_bytes(self) -> bytes:
        """Serialise the learned state (weights, normalisation, ...)."""

    @classmethod
    @abc.abstractmethod
    def _from_state(cls, metadata: dict[str, Any], state: bytes) -> Predictor:
        """Rebuild a predictor from its metadata and :meth:`_state_bytes` output."""

    # --- shared behaviour ------------------------------------------------------------------------
    def calibration_set(self, images: Any, labels: Any, min_centre_snr: float | None,
                        log=print) -> tuple[Any, np.ndarray, TrainingImages]:
        """Check the images and labels a calibration is asked to learn from, and screen the images as prediction
        checks its inputs.

        Prediction gives no value for a non-finite or blank image, or one with no source at its centre
        (:mod:`astro_cnn.image_checks`), and flags one whose pixel noise says it is in another flux unit or
        scale (:func:`~astro_cnn.image_checks.noise_problems`), so such rows must not calibrate the
        uncertainties either, just as training leaves out the first kind.

        Parameters
        ----------
        images : array-like, shape (N, C, H, W)
            An array, a list of images, or a training store's images.
        labels : array-like, shape (N,) or (N, K)
            The true values, one column per output of the quantity.
        min_centre_snr : float or None
            Lowest centre S/N that counts as a source (None: no presence check).
        log : callable
            Receives the line saying which images are left out, if any.

        Returns
        -------
        images : array-like
            ``images``, as an array if a list was given.
        labels : ndarray of float
        screened : TrainingImages
            Which rows calibrate (``rows``), and those left out, counted by reason.

        Raises
        ------
        AstroCNNError
            ``images`` and ``labels`` differ in length or shape from what the model takes, a label is missing, not
            finite or outside its output's valid range (the rows are named), or no image can be used.
        """
        images = self.images_of_shape(images)
        labels = checked_labels(labels, self.quantity, len(images))
        if not len(images):
            raise AstroCNNError("no calibration images were given: calibration needs held-out galaxies")
        screened = self._left_out_for_noise(images, screen_training_images(images, self.pixel_scale, min_centre_snr))
        if not len(screened.rows):
            raise AstroCNNError(f"none of the {screened.total} calibration images can be used "
                                f"({screened.reasons()}): prediction would flag every one of them")
        if screened.left_out:
            log(screened.summary("calibration images"))
        return images, labels, screened

    def _left_out_for_noise(self, images: Any, screened: TrainingImages, block: int = 256) -> TrainingImages:
        """``screened`` less the usable rows whose pixel noise prediction would flag (another flux unit or scale)."""
        if self.training_pixel_noise is None:
            return screened
        usable = screened.usable.copy()
        for start in range(0, len(usable), block):
            rows = np.arange(start, min(start + block, len(usable)))
            rows = rows[usable[rows]]
            if len(rows):
                noise = pixel_noise(np.asarray(images[rows]))
                usable[rows[noise_problems(noise, self) != ""]] = False
        count = int(screened.usable.sum() - usable.sum())
        if not count:
            return screened
        low, high = NOISE_RATIO_LIMITS
        reason = f"a pixel noise outside {low:g} to {high:g} times the training images' (another flux unit or scale)"
        return dataclasses.replace(screened, usable=usable, left_out={**screened.left_out, reason: count})

    def predict(self, batch: ImageBatch | np.ndarray, extras: Mapping[str, np.ndarray] | None = None) -> Prediction:
        """Predict for an :class:`ImageBatch` (checked against the model) or a plain array.

        A plain array of uint8 holds 8-bit colour values (0-255, divided by 255 as decoded JPEGs are); any
        other is taken as float32.  With no rows to flag, an array that a model trained on colour values would flag
        (:func:`~astro_cnn.image_checks.colour_range_problems`) is refused.

        Raises
        ------
        IncompatibleImagesError
            The images' bands, size or pixel scale differ from those the model was trained on, or an array
            given to a model trained on colour values lies outside their 0..1 (a uint16 image, or one scaled
            by 255).
        """
        if isinstance(batch, ImageBatch):
            self.check_images(batch)
            images = batch.images
        else:
            images = np.asarray(batch)
            images = (images.astype(np.float32) / 255.0 if images.dtype == np.uint8
                      else images.astype(np.float32, copy=False))
            self._check_shape(images.shape)
            problems = [problem for problem in colour_range_problems(images, self) if problem]
            if problems:
                raise IncompatibleImagesError(f"{len(problems)} of {len(images)} images are not colour values "
                                              f"as model {self.name!r} takes them: {problems[0]}")
        return self.predict_images(images, checked_extras(extras, self.extras, len(images), self.name,
                                                          training=False))

    @property
    def training_pixel_noise(self) -> np.ndarray | None:
        """Typical pixel noise of each band in the images the model trained on, in their units, or None where
        the model does not know it.

        Prediction compares it with each image's (:func:`astro_cnn.image_checks.pixel_noise`) and flags
        images whose flux scale differs from the training images' (:func:`astro_cnn.image_checks.noise_problems`).
        """
        return None

    @property
    def trained_on_colour(self) -> bool:
        """Whether the model learned from 8-bit colour values (JPEG or PNG,
        :func:`astro_cnn.image_checks.colour_values`), as recorded at training
        (``info["training_data"]["colour_values"]``; False where not recorded).

        Prediction flags images whose pixels lie outside the 0..1 of such values
        (:func:`astro_cnn.image_checks.colour_range_problems`).
        """
        return bool(self.info.get("training_data", {}).get("colour_values", False))

    def check_images(self, batch: ImageBatch) -> None:
        """Refuse images the model was not trained for, saying what differs."""
        if tuple(batch.bands) != self.bands:
            raise IncompatibleImagesError(
                f"model {self.name!r} was trained on bands {''.join(self.bands)} but the images have "
                f"bands {''.join(batch.bands)}"
            )
        if not np.isclose(batch.pixel_scale.to_value(u.arcsec), self.pixel_scale.to_value(u.arcsec), rtol=0.02):
            raise IncompatibleImagesError(
                f"model {self.name!r} was trained at {self.pixel_scale:.3f} per pixel but the images have "
                f"{batch.pixel_scale:.3f} per pixel"
            )
        self._check_shape(batch.images.shape)

    def images_of_shape(self, images: Any) -> Any:
        """``images`` (as ``image_array`` gives them) if they are ``(N, bands, size, size)`` as the model
        takes them.

        Raises
        ------
        IncompatibleImagesError
            They have another shape (the message names it, and how to move bands given last).
        """
        images = image_array(images)
        self._check_shape(np.shape(images))
        return images

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        """Refuse an array of images that is not ``(N, bands, size, size)``, saying what it got."""
        expected = (len(self.bands), self.image_size, self.image_size)
        shape = tuple(shape)
        if len(shape) != 4 or shape[1:] != expected:
            bands_last = len(shape) == 4 and shape[1:] == expected[1:] + expected[:1] != expected
            hint = "; its bands are on the last axis: np.moveaxis(images, -1, 1) puts them second" if bands_last else ""
            raise IncompatibleImagesError(
                f"model {self.name!r} takes images of shape {expected} (bands, height, width), in an array of shape "
                f"(N, {', '.join(map(str, expected))}), but got an array of shape {shape}{hint}"
            )

    def metadata(self) -> dict[str, Any]:
        """Everything recorded with the model besides its learned state."""
        return {
            "format_version": _FORMAT_VERSION,
            "predictor_type": self.predictor_type,
            "name": self.name,
            "quantity": self.quantity.name,
            "survey": self.survey,
            "bands": list(self.bands),
            "image_size": self.image_size,
            "pixel_scale_arcsec": float(self.pixel_scale.to_value(u.arcsec)),
            "extras": list(self.extras),
            "astro_cnn_version": __version__,
            "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "info": self.info,
        }

    @property
    def trained(self) -> bool:
        """Whether the model has learned anything to predict with (a predictor type without a way to tell: True)."""
        return True

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model to one file (atomically).

        Parameters
        ----------
        path : path
            Destination; ``.acnn`` is the conventional suffix.
        overwrite : bool
            Replace an existing file.

        Returns
        -------
        Path

        Raises
        ------
        AstroCNNError
            The model is not :attr:`trained` (its file would load and then fail to predict).
        """
        if not self.trained:
            raise AstroCNNError(f"model {self.name!r} has not been trained: there is nothing to save")
        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("metadata.json", json.dumps(self.metadata(), indent=2, default=_json_default))
                archive.writestr("state.bin", self._state_bytes())
        return path

    @staticmethod
    def load(path: str | Path) -> Predictor:
        """Load a model saved by :meth:`save` (same as :func:`load_predictor`)."""
        return load_predictor(path)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name!r}: {self.quantity.name} from {self.survey} "
                f"{''.join(self.bands)} {self.image_size}px>")


def load_predictor(path: str | Path) -> Predictor:
    """Load a saved model, dispatching on the predictor type recorded in it.

    Raises
    ------
    ModelNotFoundError
        The file does not exist.
    AstroCNNError
        The file is not an astro_cnn model, is damaged (its metadata lacks what the predictor
        needs, or its learned state does not load), or its predictor type is not installed;
        the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a model file" if path.is_dir() else "does not exist"
        raise ModelNotFoundError(f"model file {str(path)!r} {what}")
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
            state = archive.read("state.bin")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AstroCNNError(f"model file {str(path)!r} is not an astro_cnn model ({exc})") from None
    if not isinstance(metadata, dict) or "predictor_type" not in metadata:
        raise AstroCNNError(f"model file {str(path)!r} is not an astro_cnn model (its metadata.json records no "
                            "predictor_type)")
    try:
        spec = registry.get("predictor_type", metadata["predictor_type"])
    except UnknownNameError as exc:
        raise AstroCNNError(f"model file {str(path)!r} needs predictor type {exc.name!r}, which no installed plugin "
                            f"provides (installed: {', '.join(exc.known) or 'none'})") from None
    if not isinstance(metadata.get("bands"), list):
        raise AstroCNNError(f"model file {str(path)!r} is damaged: its bands are recorded as "
                            f"{metadata.get('bands')!r}, not a list of band names")
    try:
        predictor = spec.resolve()._from_state(metadata, state)
    except UnknownNameError:
        raise
    except AstroCNNError as exc:
        raise AstroCNNError(f"model file {str(path)!r} is damaged: {exc}") from None
    except Exception as exc:  # a predictor type's loader may fail in any way on damaged contents
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise AstroCNNError(f"model file {str(path)!r} is damaged: its metadata or learned state does not load "
                            f"({type(exc).__name__}: {first_line})") from None
    predictor.info = dict(metadata.get("info", {}))
    predictor.saved = metadata.get("saved", "")
    predictor.name = metadata.get("name", predictor.name)
    return predictor


def image_array(images: Any) -> Any:
    """``images`` as they are if an array or a store's images (read a batch at a time, as ``row_shape`` says),
    else (a list or tuple of images, say) as a float32 array."""
    if isinstance(images, np.ndarray) or hasattr(images, "row_shape"):
        return images
    return np.asarray(images, dtype=np.float32)


def checked_extras(extras: Any, names: Sequence[str], n_images: int, model: str, *,
                   training: bool) -> dict[str, np.ndarray] | None:
    """The extra inputs a model takes besides its images (per-object scalars such as E(B-V)), one number per image.

    Parameters
    ----------
    extras : mapping of str to array-like, or None
        Values by input name; a masked value (masked array or column) counts as missing.
    names : sequence of str
        The inputs the model takes (its ``extras``).
    n_images : int
        The number of images the values go with.
    model : str
        The model's name, for messages.
    training : bool
        Whether the values train or calibrate the model: then a missing or non-finite value is an error naming
        its rows, and an input the model does not take is refused (it would be ignored).  For prediction such
        a value is NaN (its prediction is NaN) and other inputs are passed over.

    Returns
    -------
    dict of str to ndarray of float, or None
        Each input the model takes, in ``names``' order; None for a model that takes none.

    Raises
    ------
    AstroCNNError
        ``extras`` is not a mapping, lacks an input the model takes, or has values that are not numbers, not one
        per image, or (``training``) missing or not finite.
    """
    extras = {} if extras is None else extras
    if not isinstance(extras, Mapping):
        raise AstroCNNError(f"extras must be a mapping of input name to values (e.g. {{'ebv': values}}), not a "
                            f"{type(extras).__name__}")
    missing = [name for name in names if name not in extras]
    if missing:
        raise AstroCNNError(f"model {model!r} needs the extra inputs {missing} besides images")
    unused = [name for name in extras if name not in names]
    if training and unused:
        takes = f"the extra inputs {list(names)}" if names else "no extra inputs"
        raise AstroCNNError(f"model {model!r} takes {takes}, so extras {unused} would be ignored: leave them out, "
                            f"or build the model with extras={[*names, *unused]}")
    checked = {}
    for name in names:
        given = extras[name]
        masked = np.ma.getmaskarray(given) if np.ma.isMaskedArray(given) else getattr(given, "mask", None)
        try:
            values = np.array(getattr(given, "unmasked", np.ma.getdata(given)), dtype=float)
        except (TypeError, ValueError) as exc:
            raise AstroCNNError(f"extra input {name!r} must be numbers ({exc})") from None
        if values.ndim != 1 or len(values) != n_images:
            raise AstroCNNError(f"extra input {name!r} needs one value per image: {n_images} images but values of "
                                f"shape {values.shape}")
        if masked is not None:
            values[np.broadcast_to(np.asarray(masked, bool), values.shape)] = np.nan
        bad = np.flatnonzero(~np.isfinite(values))
        if training and len(bad):
            shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
            raise AstroCNNError(f"extra input {name!r} is missing or not finite in {len(bad)} of {n_images} rows "
                                f"(rows {shown})")
        checked[name] = values
    return checked if names else None


def checked_labels(labels: Any, quantity: Quantity, n_images: int) -> np.ndarray:
    """True values as float, one per image and one column per output of ``quantity``, each finite and inside its
    output's valid range.

    Parameters
    ----------
    labels : array-like, shape (N,) or (N, K)
        A column per output of ``quantity`` when it has K > 1.  Masked values (a masked array, a masked
        column, a masked Quantity) count as missing, never as the value under the mask; a Quantity is
        converted to the output's unit (a logarithmic one is taken as it is).
    quantity : Quantity
    n_images : int
        The number of images the labels go with.

    Returns
    -------
    ndarray of float

    Raises
    ------
    AstroCNNError
        The labels are not numbers, are not ``n_images`` long, have the wrong shape or a unit that does not
        convert, or some are masked, not finite or outside the valid range (the output and the first rows are
        named).
    """
    if np.ma.isMaskedArray(labels):
        data, masked = np.ma.getdata(labels), np.ma.getmaskarray(labels)
    else:
        data, masked = getattr(labels, "unmasked", labels), getattr(labels, "mask", None)
    if isinstance(data, u.Quantity):
        data = _label_values(data, quantity)
    try:
        values = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AstroCNNError(f"labels must be numbers ({exc})") from None
    if len(values) != n_images:
        raise AstroCNNError(f"{n_images} images but {len(values)} labels")
    expected = (len(values),) if quantity.n_outputs == 1 else (len(values), quantity.n_outputs)
    if values.shape != expected:
        columns = ", ".join(o.column for o in quantity.outputs)
        raise AstroCNNError(f"labels have shape {values.shape} but quantity {quantity.name!r} predicts "
                            f"{quantity.n_outputs} output(s) ({columns}): give labels of shape {expected}")
    columns = values.reshape(len(values), quantity.n_outputs)
    missing = np.broadcast_to(np.asarray(False if masked is None else masked, bool), values.shape)
    missing = missing.reshape(columns.shape)
    for k, output in enumerate(quantity.outputs):
        lo, hi = output.valid_range
        for problem, bad in (("missing or not finite", missing[:, k] | ~np.isfinite(columns[:, k])),
                             (f"outside the valid range {lo:g}..{hi:g}", (columns[:, k] < lo) | (columns[:, k] > hi))):
            rows = np.flatnonzero(bad)
            if len(rows):
                raise AstroCNNError(f"labels of {output.column!r} are {problem} in rows {rows[:10].tolist()}"
                                    f"{' and more' if len(rows) > 10 else ''}")
    return values


def _label_values(labels: u.Quantity, quantity: Quantity) -> np.ndarray:
    """Labels given with a unit, in their output's unit (several outputs: a dimensionless one)."""
    unit = quantity.outputs[0].unit if quantity.n_outputs == 1 else u.dimensionless_unscaled
    return values_in_unit(np.asarray(labels.value), labels.unit, u.Unit(unit),
                          f"each label of quantity {quantity.name!r}")


def _checked_geometry(bands: Sequence[str], image_size: int,
                      pixel_scale: u.Quantity) -> tuple[tuple[str, ...], int, u.Quantity]:
    """Return bands, image size and pixel scale as a predictor keeps them, refusing impossible ones."""
    # a string is the usual shorthand for one-letter bands ("ugriz")
    names = tuple(bands) if isinstance(bands, (str, Iterable)) else ()
    if not names or not all(isinstance(b, str) and b for b in names):
        raise AstroCNNError(f"bands must be a non-empty sequence of band names, not {bands!r}")
    checked_count(image_size, "image_size")
    try:
        scale = u.Quantity(pixel_scale, u.arcsec)
    except (TypeError, ValueError, u.UnitsError) as exc:
        raise AstroCNNError(f"pixel_scale must be an angle, not {pixel_scale!r} ({exc})") from None
    if scale.ndim or not np.isfinite(scale.value) or scale.value <= 0:
        raise AstroCNNError(f"pixel_scale must be a positive angle, not {pixel_scale!r}")
    return tuple(str(b) for b in names), int(image_size), scale


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, u.Quantity):
        return {"value": value.value.tolist() if value.ndim else float(value.value), "unit": value.unit.to_string()}
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot record {type(value).__name__} in model metadata")
