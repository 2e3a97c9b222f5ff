"""The one prediction pipeline behind :func:`astro_cnn.predict` and :func:`astro_cnn.predict_to_file`.

A chunk is a run of consecutive rows: its images are fetched in one call to the survey and
predicted in one call to the model, through :meth:`astro_cnn.Predictor.predict` (the same input guard a user
calling the model directly meets).  Images are read ahead of the model: by a background thread, or
by ``workers`` processes (a ``torch.utils.data.DataLoader`` over chunks) that decode files or
build stacks in parallel while the model works; :func:`dask_chunks` maps chunks over the workers of
a Dask cluster instead.  Every path yields chunks in row order.

Before and after the model, every row is checked: an image that is blank, constant, has
non-finite pixels or shows no source at its centre (:mod:`astro_cnn.image_checks`, run where the
images are read), and a prediction that is not finite or lies outside the quantity's valid range,
flags the row with the reason instead of returning a number marked "ok"; a prediction outside
the range of the labels the model was trained on, an image fainter or brighter than any it
trained on (:func:`brightness_problems`) and one whose pixel noise says it is in another flux
scale (:func:`~astro_cnn.image_checks.noise_problems`) keep their values but are flagged as extrapolations.
"""

from __future__ import annotations

import concurrent.futures
import copy
import datetime
import hashlib
import json
import pickle
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from . import survey_factory
from ._version import __version__
from .arguments import checked_count, checked_names
from .exceptions import AstroCNNError, ColumnError, IncompatibleImagesError
from .image_checks import (
    MIN_CENTRE_SNR,
    aperture_weights,
    check_images,
    checked_threshold,
    colour_range_problems,
    noise_problems,
    pixel_noise,
)
from .image_files import ImageFileSurvey
from .models import resolve_predictor
from .predictor import Predictor
from .quantity import Prediction
from .resampling import survey_for_model
from .survey import ImageBatch, Survey
from .target import TargetList

__all__ = ["PredictionSetup", "prediction_setup", "kept_columns", "make_targets", "make_survey", "predict_chunks",
           "dask_chunks", "checked_cutouts", "predict_batch", "brightness_problems",
           "empty_columns", "output_table"]


@dataclass
class PredictionSetup:
    """What one prediction run uses: the model (a private copy, on its device), the image source and options."""

    predictor: Predictor
    survey: Survey
    batch_size: int
    workers: int
    device: str
    min_centre_snr: float | None = MIN_CENTRE_SNR

    def precision(self) -> str:
        """"bfloat16" when the model runs in bfloat16 autocast on this run's device, else "float32"."""
        from .engine.speed import speed_setting

        bf16 = getattr(self.predictor, "bf16", False)
        return "bfloat16" if speed_setting("bf16", bf16, self.device) else "float32"

    def fingerprint(self) -> dict[str, Any]:
        """What decides the value of a row, for checking that a resumed run continues the same run."""
        return {"model": self.predictor.name, "model_saved": self.predictor.saved,
                "model_contents": model_fingerprint(self.predictor), "survey": self.survey.name,
                "survey_settings": repr(sorted(self.survey.describe().items())), "batch_size": self.batch_size,
                "min_centre_snr": self.min_centre_snr}


def model_fingerprint(predictor: Predictor) -> str:
    """SHA-256 of a model's learned state and of everything recorded with it that changes a prediction
    (test-time augmentation, calibration, precision), so a run never resumes with another model."""
    metadata = {k: v for k, v in predictor.metadata().items() if k != "saved"}
    for setting in ("bf16", "channels_last"):
        metadata[setting] = getattr(predictor, setting, None)
    digest = hashlib.sha256(predictor._state_bytes())
    digest.update(json.dumps(metadata, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def prediction_setup(model: Predictor | str | Path | None, quantity: str | None, survey: str | Survey | None, *,
                     image_column: str | None = None, image_dir: str | Path | None = None,
                     survey_options: Mapping[str, Any] | None = None, batch_size: int = 256,
                     device: str = "auto", workers: int | None = None,
                     min_centre_snr: float | None = MIN_CENTRE_SNR, resample: bool = False) -> PredictionSetup:
    """Check the run's arguments and resolve the model and survey (see :func:`astro_cnn.predict`).

    Raises
    ------
    AstroCNNError
        ``batch_size`` or ``workers`` is not a valid count, ``device`` is malformed, or the survey
        does not take one of ``survey_options``.
    """
    checked_count(batch_size, "batch_size")
    if workers is not None:
        checked_count(workers, "workers", 0)
    predictor = resolve_predictor(model, quantity)
    if predictor is model:  # the caller's own predictor: set this run's device on a copy, never on theirs
        predictor = copy.copy(predictor)
    if hasattr(predictor, "device"):
        from .engine.devices import check_device, resolve_device

        predictor.device = check_device(device)
        resolved = resolve_device(device)  # a GPU asked for and not visible is an error now, not per chunk
    else:
        resolved = "cpu"
    source = make_survey(predictor, survey, image_column=image_column, image_dir=image_dir, options=survey_options,
                         resample=resample)
    if workers is None:
        from .engine.devices import default_workers

        workers = default_workers(resolved, "prediction")
    return PredictionSetup(predictor, source, int(batch_size), int(workers), str(resolved),
                           checked_threshold(min_centre_snr))


def output_names(predictor: Predictor, image_column: str | None = None) -> set[str]:
    """The columns a prediction writes besides the id, positions and kept columns: the quantity's, ``status``,
    ``flag``, and with image files ``image_path`` (unless that is the image column's own name)."""
    names = set(empty_columns(predictor, 0)) | {"status", "flag"}
    return names | {"image_path"} if image_column not in (None, "image_path") else names


def kept_columns(table: Table | SkyCoord, names: Sequence[str], predictor: Predictor | None = None,
                 image_column: str | None = None) -> Table | None:
    """The input columns to carry into the output, checked to exist and not to clash with an output column
    (``output_names``; ``image_column`` as given to predict)."""
    names = checked_names(names, "keep_columns")
    if not names:
        return None
    if not isinstance(table, Table):
        raise ColumnError("keep_columns needs a table input")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ColumnError(f"columns {repeated} are named more than once in keep_columns")
    missing = [n for n in names if n not in table.colnames]
    if missing:
        raise ColumnError(f"columns {missing} to keep are not in the table; its columns are: "
                          f"{', '.join(table.colnames)}")
    if predictor is not None:
        produced = output_names(predictor, image_column)
        clash = [n for n in names if n in produced]
        if clash:
            raise ColumnError(f"columns {clash} to keep have the names of output columns of {predictor.name!r}; "
                              f"rename them in the input table first")
    return table[list(names)]


def make_targets(table: Table | SkyCoord, predictor: Predictor, survey: Survey | None = None,
                 **columns: str | None) -> TargetList:
    """Build the :class:`~astro_cnn.TargetList` for ``table``, asking for the extra inputs the model needs.

    Positions may be missing (an id-only table) when ``survey`` finds images by id.
    """
    if isinstance(table, SkyCoord):
        if predictor.extras:
            raise ColumnError(f"model {predictor.name!r} needs the extra input columns {list(predictor.extras)} "
                              f"besides positions; a SkyCoord carries none: pass a Table with those columns")
        return TargetList.from_skycoord(table)
    if not isinstance(table, Table):
        raise TypeError(f"predict takes an astropy Table, QTable or SkyCoord, not {type(table).__name__}")
    targets = TargetList.from_table(table, extras=predictor.extras,
                                    positions_optional=bool(getattr(survey, "finds_images_by_id", False)), **columns)
    if targets.id_column in output_names(predictor, columns.get("image_column")):
        raise ColumnError(f"the id column {targets.id_column!r} has the name of an output column of "
                          f"{predictor.name!r}: its values would be lost; rename it in the input table first")
    return targets


def make_survey(predictor: Predictor, survey: str | Survey | None, *, image_column: str | None = None,
                image_dir: str | Path | None = None, options: Mapping[str, Any] | None = None,
                resample: bool = False) -> Survey:
    """Return the survey images come from, checked against what the model takes.

    A survey at another pixel scale than the model's is refused, or with ``resample`` resampled to
    it (:func:`astro_cnn.resampling.survey_for_model`).
    """
    if image_column is not None:
        if survey is not None or options or resample:
            raise AstroCNNError(f"survey, survey_options and resample do not apply with image_column="
                                f"{image_column!r}: the images come from the files; leave them unset")
        return ImageFileSurvey(predictor.bands, predictor.pixel_scale, predictor.image_size, base_dir=image_dir)
    survey = survey_factory.make_survey(survey or predictor.survey, **dict(options or {}))
    if tuple(survey.bands) != predictor.bands:
        raise IncompatibleImagesError(
            f"model {predictor.name!r} takes bands {''.join(predictor.bands)} but survey {survey.name!r} "
            f"gives {''.join(survey.bands)}"
        )
    return survey_for_model(survey, predictor.name, predictor.pixel_scale, predictor.image_size, resample)


def checked_cutouts(survey: Survey, targets: TargetList, size: int, min_centre_snr: float | None,
                    measure_noise: bool = True) -> ImageBatch:
    """The survey's images for ``targets``, with rows whose image cannot be measured flagged in ``status``.

    Runs where the images are read (a worker process, a Dask worker), not in the loop that feeds
    the model; see :mod:`astro_cnn.image_checks`.  ``min_centre_snr`` None skips the presence check.
    Each read image's centre S/N and (with ``measure_noise``, for a model that knows its training
    images' noise) pixel noise per band go into ``batch.meta`` (``CHECKS``; NaN where not measured),
    for :func:`predict_batch` to compare with the model's training images.
    """
    batch = survey.cutouts(targets, size=size)
    status = np.asarray(batch.status, dtype=object).copy()
    snr = np.full(len(status), np.nan)
    noise = np.full((len(status), len(batch.bands)), np.nan)
    read = status == ""
    if read.any():
        images = batch.images if read.all() else batch.images[read]
        problems, snr[read] = check_images(images, batch.pixel_scale,
                                           -np.inf if min_centre_snr is None else min_centre_snr)
        status[read] = problems
        good = np.asarray(problems) == ""  # not the non-finite, blank or empty ones
        if measure_noise and good.any():
            noise[np.flatnonzero(read)[good]] = pixel_noise(images if good.all() else images[good])
    batch.status = status
    batch.meta["centre_snr"], batch.meta["pixel_noise"] = snr, noise
    return batch


#: What :func:`checked_cutouts` measures of each image, in ``ImageBatch.meta``.
CHECKS = ("centre_snr", "pixel_noise")


def predict_batch(targets: TargetList, batch: ImageBatch, predictor: Predictor) -> tuple[dict[str, Any], np.ndarray]:
    """Predict for the rows of ``batch`` whose status is empty; flag predictions that are not to be trusted.

    Returns
    -------
    values : dict of str to array
        Output columns (NaN where a row has no usable value).
    status : ndarray of str
        ``"ok"``, or why the row has no value or why its value is suspect.
    """
    status = np.asarray(batch.status, dtype=object).copy()
    ok = status == ""
    values = empty_columns(predictor, len(batch))
    if ok.any():
        images = batch.images if ok.all() else batch.images[ok]  # no copy of a chunk whose rows are all usable
        usable = ImageBatch(images, batch.bands, batch.pixel_scale, np.full(int(ok.sum()), ""))
        prediction = predictor.predict(usable, {k: v[ok] for k, v in targets.extras.items()})
        rows = np.flatnonzero(ok)
        status[rows], unusable = prediction_problems(prediction, predictor)
        snr, noise = batch.meta.get("centre_snr"), batch.meta.get("pixel_noise")
        if snr is not None:
            status[rows] = _join(status[rows], brightness_problems(np.asarray(snr)[rows], predictor))
        if noise is not None:
            status[rows] = _join(status[rows], noise_problems(np.asarray(noise)[rows], predictor))
        status[rows] = _join(status[rows], colour_range_problems(images, predictor))
        for name, column in predictor.quantity.output_columns(prediction).items():
            values[name][rows] = column
        for name in values:
            values[name][rows[unusable]] = np.nan
    return values, np.where(status == "", "ok", status).astype(str)


def prediction_problems(prediction: Prediction, predictor: Predictor) -> tuple[np.ndarray, np.ndarray]:
    """Per row, why a prediction is not to be trusted ("" when it is), and which rows have no usable value.

    A value that is not finite or lies outside the quantity's valid range is unusable (its row gets
    NaN); a value outside the range of the labels the model was trained on (``info["label_range"]``)
    is kept but flagged as an extrapolation.  A NaN error with a value is an uncertainty the model does not
    measure (see :meth:`~astro_cnn.engine.NetworkPredictor.predict_images`), not a problem of the row.  For
    a quantity of several outputs each output is checked against its own ranges, the message names it, and a
    row's problems are joined by "; ".

    Returns
    -------
    problems : ndarray of str
    unusable : ndarray of bool
    """
    quantity = predictor.quantity
    several = quantity.n_outputs > 1
    trained = predictor.info.get("label_range")
    problems = np.full(len(prediction), "", dtype=object)
    unusable = np.zeros(len(prediction), dtype=bool)
    for k, output in enumerate(quantity.outputs):
        value, error = prediction.output(k)
        name = f"{output.column} " if several else ""
        lo, hi = output.valid_range
        found = np.full(len(value), "", dtype=object)
        bad = ~np.isfinite(value) | (~np.isfinite(error) & ~np.isnan(error))  # a NaN error: none was measured
        found[bad] = f"model {predictor.name!r} gave a non-finite {name}prediction"
        outside = ~bad & ((value < lo) | (value > hi))
        found[outside] = [f"{name}prediction {v:.4g} is outside the valid range {lo:g}..{hi:g} of {quantity.name!r}"
                          for v in value[outside]]
        if trained:
            low, high = trained[k] if several else trained
            beyond = ~bad & ~outside & ((value < low) | (value > high))
            found[beyond] = [f"extrapolation: {name}prediction {v:.4g} is outside the range {low:.4g}..{high:.4g} "
                             f"of the labels model {predictor.name!r} was trained on" for v in value[beyond]]
        problems = _join(problems, found)
        unusable |= bad | outside
    return problems, unusable


def brightness_problems(snr: np.ndarray, predictor: Predictor) -> np.ndarray:
    """Per row, "" or why its image lies outside the brightness the model trained on.

    An image whose centre signal-to-noise ratio (:func:`astro_cnn.image_checks.centre_signal_to_noise`)
    is below the faintest or above the brightest of the model's training images
    (``info["centre_snr_range"]``) is an extrapolation: its value is kept and flagged, as the model's
    errors there are unknown.
    """
    trained = predictor.info.get("centre_snr_range")
    found = np.full(len(snr), "", dtype=object)
    if not trained:
        return found
    low, high = trained
    margin = 1e-4 * np.abs(np.asarray(trained))  # the same image stored as 8-bit or float differs in the last digits
    for k in np.flatnonzero(np.isfinite(snr) & ((snr < low - margin[0]) | (snr > high + margin[1]))):
        side = "fainter" if snr[k] < low else "brighter"
        found[k] = (f"extrapolation: the image is {side} than any model {predictor.name!r} was trained on (centre S/N "
                    f"{snr[k]:.3g}, trained on {low:.3g}..{high:.3g})")
    return found


def _join(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.array([f"{a}; {b}" if a and b else a or b for a, b in zip(first, second)], dtype=object)


def empty_columns(predictor: Predictor, n: int) -> dict[str, Any]:
    """NaN-filled output columns (with units) for ``n`` rows."""
    quantity = predictor.quantity
    k = quantity.pdf_bins
    shape = (1,) if quantity.n_outputs == 1 else (1, quantity.n_outputs)
    probe = Prediction(np.full(shape, np.nan), np.full(shape, np.nan),
                       np.full((1, k), 1.0 / k) if quantity.kind == "pdf" else None,
                       quantity.bin_edges if quantity.kind == "pdf" else None)
    columns = {}
    for name, column in quantity.output_columns(probe).items():
        shape = (n,) + np.shape(column)[1:]
        filled = np.full(shape, np.nan, dtype=np.asarray(getattr(column, "value", column)).dtype)
        columns[name] = filled * column.unit if isinstance(column, u.Quantity) else filled
    return columns


def output_table(targets: TargetList, setup: PredictionSetup, columns: Mapping[str, Any], status: np.ndarray,
                 carried: Table | None = None, *, positions: bool | None = None) -> QTable:
    """Assemble the output QTable (row order and ids of the input) with its metadata.

    ``carried`` holds input columns to copy into the output (same rows, in order).  ``positions``
    says whether to write ``ra``/``dec`` (default: when any target has a position); a streamed run
    decides once, so that every chunk has the same columns.
    """
    predictor, survey = setup.predictor, setup.survey
    out = QTable()
    if targets.id_column is not None:
        out[targets.id_column] = targets.ids
    if targets.image_paths is not None:
        out["image_path"] = targets.image_paths
    if np.isfinite(targets.ra).any() if positions is None else positions:
        out["ra"] = targets.ra * u.deg
        out["dec"] = targets.dec * u.deg
    for name in carried.colnames if carried is not None else ():
        if name not in out.colnames:
            out[name] = carried[name]
    for name, column in columns.items():
        out[name] = column
    out["status"] = np.asarray(status, dtype=str)
    out["flag"] = out["status"] != "ok"
    quantity = predictor.quantity
    quantity.describe(out, targets.id_column)
    meta = {
        "model": predictor.name,
        "model_saved": predictor.saved,
        "predictor_type": predictor.predictor_type,
        "quantity": quantity.name,
        "quantity_description": quantity.description,
        "survey": survey.name,
        "bands": list(predictor.bands),
        "image_size": predictor.image_size,
        "pixel_scale_arcsec": float(predictor.pixel_scale.to_value(u.arcsec)),
        "device": setup.device,
        "precision": setup.precision(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "astro_cnn_version": __version__,
    }
    if getattr(survey, "resampling", None):  # declared resampling (astro_cnn.resampling)
        meta["resampling"] = dict(survey.resampling)
    if quantity.kind == "pdf":
        meta["pdf_bin_edges"] = [float(e) for e in quantity.bin_edges]
    out.meta["astro_cnn"] = meta
    return out


def predict_chunks(targets: TargetList, setup: PredictionSetup, start: int = 0,
                   client: Any = None) -> Iterator[tuple[np.ndarray, dict[str, Any], np.ndarray]]:
    """Predict chunk by chunk, in row order.

    Parameters
    ----------
    targets : TargetList
    setup : PredictionSetup
    start : int
        First row (a multiple of the batch size; used when resuming).
    client : dask.distributed.Client, optional
        Compute the chunks on the client's workers.

    Yields
    ------
    rows : ndarray of int
        Row indices of the chunk.
    values : dict of str to array
        Output columns for those rows (NaN where a row is flagged).
    status : ndarray of str
        ``"ok"`` or why the row has no value.
    """
    if client is not None:
        yield from dask_chunks(targets, setup, start, client)
        return
    for rows, batch in _images_ahead(targets, setup, start):
        yield (rows, *predict_batch(targets.subset(rows), batch, setup.predictor))


def _images_ahead(targets: TargetList, setup: PredictionSetup, start: int) -> Iterator[tuple[np.ndarray, ImageBatch]]:
    """Each chunk's images, read while the model works on the one before."""
    chunks = _ChunkImages(targets, setup, _chunk_starts(len(targets), setup.batch_size, start))
    if not len(chunks):
        return
    if setup.workers:
        from torch.utils.data import DataLoader

        if setup.min_centre_snr is not None:  # the forked workers inherit the presence check's aperture
            size, scale = setup.predictor.image_size, getattr(setup.survey, "pixel_scale", None)
            aperture_weights(size, size, setup.predictor.pixel_scale if scale is None else scale)

        # images travel from the workers as tensors (through shared memory, not pickled through a pipe),
        # into pinned memory when the model is on a GPU
        from .engine.devices import usable_workers

        workers = usable_workers(setup.workers, len(chunks))
        yield from map(_as_batch, DataLoader(chunks, batch_size=None, shuffle=False, num_workers=workers,
                                             collate_fn=_as_is, prefetch_factor=2,
                                             pin_memory=setup.device.startswith("cuda")))
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(chunks.__getitem__, 0)
        for index in range(1, len(chunks) + 1):
            item = pending.result()
            if index < len(chunks):
                pending = pool.submit(chunks.__getitem__, index)
            yield _as_batch(item)


class _ChunkImages:
    """Item ``i``: the rows of chunk ``i`` and their images (plain arrays, cheap to send between processes)."""

    def __init__(self, targets: TargetList, setup: PredictionSetup, starts: list[int]):
        self.targets, self.survey, self.starts = targets, setup.survey, starts
        self.size, self.batch_size, self.min_centre_snr = setup.predictor.image_size, setup.batch_size, \
            setup.min_centre_snr
        self.measure_noise = setup.predictor.training_pixel_noise is not None

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int):
        first = self.starts[i]
        rows = np.arange(first, min(first + self.batch_size, len(self.targets)))
        try:
            batch = checked_cutouts(self.survey, self.targets.subset(rows), self.size, self.min_centre_snr,
                                    self.measure_noise)
        except Exception as exc:  # handed back as the item, so the caller sees the survey's own error
            return _Failure(exc, traceback.format_exc())
        import torch

        return (rows, torch.from_numpy(batch.images), list(batch.status), batch.bands,
                float(batch.pixel_scale.to_value(u.arcsec)), {key: batch.meta[key] for key in CHECKS})


class _Failure:
    """A survey's exception in a worker process, re-raised as itself in the process that predicts.

    ``DataLoader`` would re-raise it as a new exception built from its message, which fails for
    exceptions that take other arguments (they then arrive as a ``RuntimeError``).
    """

    def __init__(self, exc: Exception, trace: str):
        self.trace = trace
        try:
            self.exc: Exception | None = pickle.loads(pickle.dumps(exc))
        except Exception:  # not picklable: described by the message and the trace
            self.exc = None
        self.text = f"{type(exc).__name__}: {exc}"

    def reraise(self):
        if self.exc is not None:
            raise self.exc
        raise AstroCNNError(f"reading images failed in a worker process: {self.text}\n{self.trace}")


def _as_is(item):
    return item


def _as_batch(item) -> tuple[np.ndarray, ImageBatch]:
    if isinstance(item, _Failure):
        item.reraise()
    rows, images, status, bands, scale, checks = item
    return rows, ImageBatch(images.numpy(), bands, scale * u.arcsec, status, meta=checks)


def dask_chunks(targets: TargetList, setup: PredictionSetup, start: int,
                client: Any) -> Iterator[tuple[np.ndarray, dict[str, Any], np.ndarray]]:
    """Chunks computed on the workers of a Dask ``client``, yielded in row order.

    The model and survey are sent to every worker once; at most two chunks per worker are in
    flight, so memory stays bounded.  A model on ``device="auto"`` runs on each worker's own GPU
    (see :func:`worker_device`).  Yields as :func:`predict_chunks`.
    """
    batch_size = setup.batch_size
    starts = _chunk_starts(len(targets), batch_size, start)
    shared_predictor, shared_survey = client.scatter([setup.predictor, setup.survey], broadcast=True, hash=False)
    window = 2 * max(1, len(client.scheduler_info().get("workers", {})))
    futures: list[Any] = []
    for index, first in enumerate(starts):
        rows = np.arange(first, min(first + batch_size, len(targets)))
        futures.append(client.submit(_worker_chunk, targets.subset(rows), shared_predictor, shared_survey, rows,
                                     setup.min_centre_snr, pure=False))
        if index >= window:
            yield _with_units(futures[index - window].result())
            futures[index - window] = None
    for future in futures[max(0, len(futures) - window):]:
        if future is not None:
            yield _with_units(future.result())


def _chunk_starts(n: int, batch_size: int, start: int) -> list[int]:
    if start % batch_size and start != n:
        raise AstroCNNError(f"{start} rows are recorded as done, which is not a multiple of the batch size")
    return list(range(start, n, batch_size))


def worker_device(requested: str) -> str:
    """The device of a Dask worker: ``auto`` becomes one GPU per worker when the machine has several.

    A worker started by dask-cuda sees one GPU (``CUDA_VISIBLE_DEVICES``), which ``auto`` picks; a
    plain worker on a machine with N GPUs takes GPU ``index % N``, where ``index`` is the worker's
    name when it is a number (``LocalCluster`` names workers 0, 1, ...).
    """
    if requested != "auto":
        return requested
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count <= 1:
        return requested
    from distributed import get_worker

    name = get_worker().name
    index = int(name) if str(name).isdigit() else sum(map(ord, str(name)))
    return f"cuda:{index % count}"


def _worker_chunk(chunk: TargetList, predictor: Predictor, survey: Survey, rows: np.ndarray,
                  min_centre_snr: float | None):
    # Dask serialises ndarray subclasses as plain arrays: send units separately
    if hasattr(predictor, "device"):
        predictor.device = worker_device(predictor.device)
    batch = checked_cutouts(survey, chunk, predictor.image_size, min_centre_snr,
                            predictor.training_pixel_noise is not None)
    values, status = predict_batch(chunk, batch, predictor)
    plain = {name: (np.asarray(getattr(v, "value", v)), getattr(v, "unit", None)) for name, v in values.items()}
    return rows, plain, status


def _with_units(result):
    rows, plain, status = result
    return rows, {name: v if unit is None else v * unit for name, (v, unit) in plain.items()}, status
