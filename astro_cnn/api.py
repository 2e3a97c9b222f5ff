"""Table in, QTable out: :func:`predict`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from .chunks import empty_columns, kept_columns, make_targets, output_table, predict_chunks, prediction_setup
from .image_checks import MIN_CENTRE_SNR
from .predictor import Predictor
from .progress import RowProgress
from .survey import Survey

__all__ = ["predict"]


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
    client: Any = None,
    keep_columns: Sequence[str] = (),
    device: str = "auto",
    workers: int | None = None,
    min_centre_snr: float | None = MIN_CENTRE_SNR,
    resample: bool = False,
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
        Show a progress bar (rows done, rows per second, failures, time left).
    client : dask.distributed.Client, optional
        Map chunks over the client's workers; results are identical to a local run.
    keep_columns : sequence of str
        Input columns to copy into the output (e.g. spectroscopic values to compare with).
    device : str
        Where the model runs: ``"auto"`` (a GPU when one is visible), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``; recorded in ``meta["astro_cnn"]["device"]``.
    workers : int, optional
        Processes that read images (decode files, build stacks) ahead of the model; default none
        (a background thread) on a CPU, every CPU but one with a GPU.
    min_centre_snr : float or None
        Rows whose image has a lower signal-to-noise ratio in a 1 arcsec aperture at the centre
        are flagged as showing no source (see :mod:`astro_cnn.image_checks`); None skips the check.
    resample : bool
        Resample the survey's images, flux-conserving, from its declared pixel scale to the
        model's when they differ (:mod:`astro_cnn.resampling`; recorded in
        ``meta["astro_cnn"]["resampling"]``); without it such a survey is refused.

    Returns
    -------
    QTable
        Same rows in the same order: the id column (if any), ``ra``/``dec``, the predicted
        quantity with its unit, its uncertainty, PDF summaries for PDF quantities,
        ``status`` (``"ok"`` or why the row failed) and ``flag`` (True where it failed).  Rows
        whose image is blank or not finite, or whose prediction is not finite or outside the
        quantity's valid range, are flagged too.
        ``meta["astro_cnn"]`` records model, survey, bands, date and version.

    Raises
    ------
    AstroCNNError
        ``batch_size``, ``workers`` or ``device`` is not valid.
    ColumnError
        Coordinate/id/extra columns are missing or ambiguous, or a kept column has the name of
        an output column.
    UnknownNameError
        Unknown quantity, survey or model; the message lists the known names.
    IncompatibleImagesError
        The survey's images differ from those the model was trained on
        (:class:`~astro_cnn.resampling.PixelScaleMismatchError` for the pixel scale without ``resample``).

    See Also
    --------
    astro_cnn.predict_to_file : the same, streamed to disk and resumable, for large catalogues.
    """
    setup = prediction_setup(model, quantity, survey, image_column=image_column, image_dir=image_dir,
                             survey_options=survey_options, batch_size=batch_size, device=device, workers=workers,
                             min_centre_snr=min_centre_snr, resample=resample)
    predictor = setup.predictor
    carried = kept_columns(table, keep_columns, predictor, image_column)
    targets = make_targets(table, predictor, setup.survey, ra=ra, dec=dec, coord=coord, id_column=id_column,
                           image_column=image_column)
    columns = empty_columns(predictor, len(targets))
    status = np.array(targets.status, dtype=object)
    failures = 0
    with RowProgress(len(targets), disable=not progress, desc=f"predict {predictor.quantity.name}") as bar:
        for rows, values, chunk_status in predict_chunks(targets, setup, client=client):
            for name, column in values.items():
                columns[name][rows] = column
            status[rows] = chunk_status
            failures += int(np.sum(chunk_status != "ok"))
            bar.predicted(len(rows), failures)
    return output_table(targets, setup, columns, status, carried)
