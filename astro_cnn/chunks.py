"""The chunked prediction loop shared by :func:`astro_cnn.predict` and :func:`astro_cnn.predict_to_file`.

A chunk is a run of consecutive rows: its images are fetched in one call to the survey and
predicted in one call to the model.  :func:`local_chunks` overlaps fetching the next chunk with
predicting the current one; :func:`dask_chunks` maps chunks over the workers of a Dask cluster.
Both yield chunks in row order.
"""

from __future__ import annotations

import concurrent.futures
import datetime
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from . import registry
from ._version import __version__
from .exceptions import AstroCNNError, ColumnError, IncompatibleImagesError
from .image_files import ImageFileSurvey
from .predictor import Predictor
from .quantity import Prediction
from .survey import Survey
from .target import TargetList

__all__ = ["kept_columns", "make_targets", "make_survey", "iter_predictions", "local_chunks", "dask_chunks",
           "empty_columns", "output_table"]


def kept_columns(table: Table | SkyCoord, names: Sequence[str]) -> Table | None:
    """The input columns to carry into the output, checked to exist."""
    if not names:
        return None
    if not isinstance(table, Table):
        raise ColumnError("keep_columns needs a table input")
    missing = [n for n in names if n not in table.colnames]
    if missing:
        raise ColumnError(f"columns {missing} to keep are not in the table; its columns are: "
                          f"{', '.join(table.colnames)}")
    return table[list(names)]


def make_targets(table: Table | SkyCoord, predictor: Predictor, survey: Survey | None = None,
                 **columns: str | None) -> TargetList:
    """Build the :class:`TargetList` for ``table``, asking for the extra inputs the model needs.

    Positions may be missing (an id-only table) when ``survey`` finds images by id.
    """
    if isinstance(table, SkyCoord):
        return TargetList.from_skycoord(table)
    if not isinstance(table, Table):
        raise TypeError(f"predict takes an astropy Table, QTable or SkyCoord, not {type(table).__name__}")
    return TargetList.from_table(table, extras=predictor.extras,
                                 positions_optional=bool(getattr(survey, "finds_images_by_id", False)), **columns)


def make_survey(predictor: Predictor, survey: str | Survey | None, *, image_column: str | None = None,
                image_dir: str | Path | None = None, options: Mapping[str, Any] | None = None) -> Survey:
    """Return the survey images come from, checked against what the model takes."""
    if image_column is not None:
        return ImageFileSurvey(predictor.bands, predictor.pixel_scale, predictor.image_size, base_dir=image_dir)
    if not isinstance(survey, Survey):
        spec = registry.get("survey", survey or predictor.survey)
        survey = spec.factory(**dict(options or {}))
    if tuple(survey.bands) != predictor.bands:
        raise IncompatibleImagesError(
            f"model {predictor.name!r} takes bands {''.join(predictor.bands)} but survey {survey.name!r} "
            f"gives {''.join(survey.bands)}"
        )
    return survey


def iter_predictions(targets: TargetList, predictor: Predictor, survey: Survey,
                     batch_size: int = 256) -> Iterator[tuple[np.ndarray, dict[str, Any], np.ndarray]]:
    """Fetch images and predict chunk by chunk.

    Yields
    ------
    rows : ndarray of int
        Row indices of the chunk.
    values : dict of str to array
        Output columns for those rows (NaN where a row failed).
    status : ndarray of str
        ``"ok"`` or why the row failed.
    """
    for start in range(0, len(targets), batch_size):
        rows = np.arange(start, min(start + batch_size, len(targets)))
        chunk = targets.subset(rows)
        batch = survey.cutouts(chunk, size=predictor.image_size)
        predictor.check_images(batch)
        ok = batch.ok
        values = empty_columns(predictor, len(rows))
        if ok.any():
            extras = {k: v[ok] for k, v in chunk.extras.items()}
            prediction = predictor.predict_images(batch.images[ok], extras)
            for name, column in predictor.quantity.output_columns(prediction).items():
                values[name][ok] = column
        yield rows, values, np.where(ok, "ok", batch.status)


def empty_columns(predictor: Predictor, n: int) -> dict[str, Any]:
    """NaN-filled output columns (with units) for ``n`` rows."""
    quantity = predictor.quantity
    k = quantity.pdf_bins
    probe = Prediction(np.full(1, np.nan), np.full(1, np.nan),
                       np.full((1, k), 1.0 / k) if quantity.kind == "pdf" else None,
                       quantity.bin_edges if quantity.kind == "pdf" else None)
    columns = {}
    for name, column in quantity.output_columns(probe).items():
        shape = (n,) + np.shape(column)[1:]
        filled = np.full(shape, np.nan, dtype=np.asarray(getattr(column, "value", column)).dtype)
        columns[name] = filled * column.unit if isinstance(column, u.Quantity) else filled
    return columns


def output_table(targets: TargetList, predictor: Predictor, survey: Survey, columns: Mapping[str, Any],
                 status: np.ndarray, carried: Table | None = None) -> QTable:
    """Assemble the output QTable (row order and ids of the input) with its metadata.

    ``carried`` holds input columns to copy into the output (same rows, in order).
    """
    out = QTable()
    if targets.id_column is not None:
        out[targets.id_column] = targets.ids
    if targets.image_paths is not None:
        out["image_path"] = targets.image_paths
    if np.isfinite(targets.ra).any():
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
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "astro_cnn_version": __version__,
    }
    if quantity.kind == "pdf":
        meta["pdf_bin_edges"] = [float(e) for e in quantity.bin_edges]
    out.meta["astro_cnn"] = meta
    return out


def local_chunks(targets: TargetList, predictor: Predictor, survey: Survey, batch_size: int, start: int = 0,
                 client: Any = None) -> Iterator[tuple[np.ndarray, dict[str, Any], np.ndarray]]:
    """Chunks computed here, fetching the next chunk's images while the model works on the current one.

    Parameters
    ----------
    targets, predictor, survey
        What to predict, with which model, from which images.
    batch_size : int
        Rows per chunk.
    start : int
        First row (a multiple of ``batch_size``; used when resuming).
    client : None
        Present for a signature shared with :func:`dask_chunks`.

    Yields
    ------
    rows, values, status
        As :func:`iter_predictions`.
    """
    starts = _chunk_starts(len(targets), batch_size, start)
    if not starts:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_compute_chunk, targets, predictor, survey, starts[0], batch_size)
        for first in starts[1:]:
            result = pending.result()
            pending = pool.submit(_compute_chunk, targets, predictor, survey, first, batch_size)
            yield result
        yield pending.result()


def dask_chunks(targets: TargetList, predictor: Predictor, survey: Survey, batch_size: int, start: int = 0,
                client: Any = None) -> Iterator[tuple[np.ndarray, dict[str, Any], np.ndarray]]:
    """Chunks computed on the workers of a Dask ``client``, yielded in row order.

    The model and survey are sent to every worker once; at most two chunks per worker are in
    flight, so memory stays bounded.  Arguments and yields as :func:`local_chunks`.
    """
    starts = _chunk_starts(len(targets), batch_size, start)
    shared_predictor, shared_survey = client.scatter([predictor, survey], broadcast=True, hash=False)
    window = 2 * max(1, len(client.scheduler_info().get("workers", {})))
    futures: list[Any] = []
    for index, first in enumerate(starts):
        rows = np.arange(first, min(first + batch_size, len(targets)))
        futures.append(client.submit(_worker_chunk, targets.subset(rows), shared_predictor, shared_survey, rows,
                                     pure=False))
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


def _compute_chunk(targets: TargetList, predictor: Predictor, survey: Survey, first: int, batch_size: int):
    rows = np.arange(first, min(first + batch_size, len(targets)))
    return _remote_chunk(targets.subset(rows), predictor, survey, rows)


def _remote_chunk(chunk: TargetList, predictor: Predictor, survey: Survey, rows: np.ndarray):
    ((_, values, status),) = iter_predictions(chunk, predictor, survey, batch_size=len(rows))
    return rows, values, status


def _worker_chunk(chunk: TargetList, predictor: Predictor, survey: Survey, rows: np.ndarray):
    # Dask serialises ndarray subclasses as plain arrays: send units separately
    rows, values, status = _remote_chunk(chunk, predictor, survey, rows)
    plain = {name: (np.asarray(getattr(v, "value", v)), getattr(v, "unit", None)) for name, v in values.items()}
    return rows, plain, status


def _with_units(result):
    rows, plain, status = result
    return rows, {name: v if unit is None else v * unit for name, (v, unit) in plain.items()}, status
