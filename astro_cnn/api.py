"""Table in, QTable out: :func:`predict` and the chunked loop behind it."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table
from tqdm.auto import tqdm

from . import registry
from ._version import __version__
from .exceptions import IncompatibleImagesError
from .image_files import ImageFileSurvey
from .models import resolve_predictor
from .predictor import Predictor
from .survey import Survey
from .target import TargetList

__all__ = ["predict", "make_targets", "make_survey", "iter_predictions", "empty_columns", "output_table"]


def predict(
    table: Table | SkyCoord,
    quantity: str | None = None,
    survey: str | Survey | None = None,
    model: Predictor | str | Path | None = None,
    *,
    ra: str | None = None,
    dec: str | None = None,
    coord: str | None = None,
    id_column: str | None = None,
    image_column: str | None = None,
    image_dir: str | Path | None = None,
    survey_options: Mapping[str, Any] | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> QTable:
    """Predict a galaxy property for every row of a table.

    Parameters
    ----------
    table : Table, QTable or SkyCoord
        One row per galaxy, with coordinates (``ra``/``dec`` or a SkyCoord column) or,
        with ``image_column``, the user's own image files.
    quantity : str, optional
        ``"metallicity"``, ``"stellar_mass"``, ``"photo_z"`` or any quantity a plugin adds;
        optional when ``model`` is given.
    survey : str or Survey, optional
        Where images come from; defaults to the survey the model was trained on.
    model : Predictor, path or str, optional
        A predictor, saved-model file or registered model name; default: the installed
        default model for ``quantity``.
    ra, dec, coord, id_column : str, optional
        Column names, when they cannot be found automatically.
    image_column : str, optional
        Column naming image files (JPEG, PNG, FITS) to use instead of survey cutouts.
    image_dir : path, optional
        Directory that relative paths in ``image_column`` are relative to.
    survey_options : mapping, optional
        Keyword arguments for the survey's factory (cache directory, offline mode, ...).
    batch_size : int
        Rows per chunk (cutouts fetched and predicted together).
    progress : bool
        Show a progress bar.

    Returns
    -------
    QTable
        Same rows in the same order: the id column (if any), ``ra``/``dec``, the predicted
        quantity with its unit, its uncertainty, PDF summaries for PDF quantities,
        ``status`` (``"ok"`` or why the row failed) and ``flag`` (True where it failed).
        ``meta["astro_cnn"]`` records model, survey, bands, date and version.

    Raises
    ------
    ColumnError
        Coordinate/id/extra columns are missing or ambiguous.
    UnknownNameError
        Unknown quantity, survey or model; the message lists the known names.
    IncompatibleImagesError
        The survey's images differ from those the model was trained on.
    """
    predictor = resolve_predictor(model, quantity)
    targets = make_targets(table, predictor, ra=ra, dec=dec, coord=coord, id_column=id_column,
                           image_column=image_column)
    source = make_survey(predictor, survey, image_column=image_column, image_dir=image_dir,
                         options=survey_options)
    columns = empty_columns(predictor, len(targets))
    status = np.array(targets.status, dtype=object)
    chunks = iter_predictions(targets, predictor, source, batch_size=batch_size)
    with tqdm(total=len(targets), disable=not progress, unit="row", desc=f"predict {predictor.quantity.name}") as bar:
        for rows, values, chunk_status in chunks:
            for name, column in values.items():
                columns[name][rows] = column
            status[rows] = chunk_status
            bar.update(len(rows))
    return output_table(targets, predictor, source, columns, status)


def make_targets(table: Table | SkyCoord, predictor: Predictor, **columns: str | None) -> TargetList:
    """Build the :class:`TargetList` for ``table``, asking for the extra inputs the model needs."""
    if isinstance(table, SkyCoord):
        return TargetList.from_skycoord(table)
    if not isinstance(table, Table):
        raise TypeError(f"predict takes an astropy Table, QTable or SkyCoord, not {type(table).__name__}")
    return TargetList.from_table(table, extras=predictor.extras, **columns)


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
    from .quantity import Prediction

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
                 status: np.ndarray) -> QTable:
    """Assemble the output QTable (row order and ids of the input) with its metadata."""
    out = QTable()
    if targets.id_column is not None:
        out[targets.id_column] = targets.ids
    if targets.image_paths is not None:
        out["image_path"] = targets.image_paths
    if np.isfinite(targets.ra).any():
        out["ra"] = targets.ra * u.deg
        out["dec"] = targets.dec * u.deg
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
        "n_rows": len(out),
        "n_flagged": int(out["flag"].sum()),
    }
    if quantity.kind == "pdf":
        meta["pdf_bin_edges"] = [float(e) for e in quantity.bin_edges]
    out.meta["astro_cnn"] = meta
    return out
