"""Catalogue-scale prediction: chunked, streamed to disk, resumable, optionally on a Dask cluster.

:func:`predict_to_file` writes each chunk of results as soon as it is ready, so memory does not
grow with the catalogue, and records its progress after every chunk so that an interrupted run
(Ctrl-C, a killed process, a lost connection) continues with ``resume=True`` and ends with the
same file an uninterrupted run would have written.  Results stream into ``OUTPUT.partial.ecsv``;
the output itself appears only when the run is complete (an ECSV output is renamed into place,
other formats are converted at the end).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from ._atomic import atomic_path, check_destination, same_file
from ._version import __version__
from .arguments import checked_count, checked_table
from .chunks import empty_columns, kept_columns, make_targets, output_table, predict_chunks, prediction_setup
from .exceptions import AstroCNNError
from .image_checks import MIN_CENTRE_SNR
from .partitions import partitions
from .predictor import Predictor
from .progress import RowProgress
from .survey import Survey
from .table_io import check_output_format, ecsv_text, read_table, write_table

__all__ = ["predict_to_file", "partial_paths", "PredictionSummary"]


@dataclass(frozen=True)
class PredictionSummary:
    """What :func:`predict_to_file` wrote: the output (usable wherever a path is) and how many rows are flagged.

    Attributes
    ----------
    path : Path
        The output file.
    rows : int
        Rows written (every input row).
    flagged : int
        Rows flagged (``flag`` True), whether their value was kept (an extrapolation) or not.
    reasons : dict of str to int
        How many rows were flagged for each reason (``status``).
    without_value : int
        Rows with no value (NaN: the image could not be measured, or the prediction was unusable).
    """

    path: Path
    rows: int
    flagged: int
    reasons: dict[str, int] = field(default_factory=dict)
    without_value: int = 0

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)


def partial_paths(output: str | Path) -> tuple[Path, Path]:
    """Return the partial-results file and the progress file of a run writing ``output``."""
    output = Path(output)
    return output.with_name(output.name + ".partial.ecsv"), output.with_name(output.name + ".progress.json")


def predict_to_file(
    table: Table | SkyCoord | str | Path,
    output: str | Path,
    quantity: str | None = None,
    survey: str | Survey | None = None,
    model: Predictor | str | Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 256,
    partition_rows: int = 100_000,
    progress: bool = True,
    client: Any = None,
    survey_options: Mapping[str, Any] | None = None,
    image_dir: str | Path | None = None,
    keep_columns: Sequence[str] = (),
    device: str = "auto",
    workers: int | None = None,
    min_centre_snr: float | None = MIN_CENTRE_SNR,
    resample: bool = False,
    **columns: str | None,
) -> PredictionSummary:
    """Predict for every row of a (large) table, streaming the results to ``output``.

    Parameters
    ----------
    table : Table, SkyCoord or path
        The targets, or a table file.  FITS and Parquet files are read ``partition_rows`` rows at
        a time; other formats are read whole.
    output : path
        Output table file; its format comes from the suffix (checked, with the packages it
        needs, before any work).  ECSV streams straight to disk with memory independent of the
        number of rows; other formats are converted at the end.
    quantity, survey, model : optional
        As in :func:`astro_cnn.predict`.
    resume : bool
        Continue an interrupted run writing the same ``output`` (same input, model, survey and
        its options, columns, image directory and ``batch_size``); without it, a left-over
        interrupted run is an error.
    overwrite : bool
        Replace an existing ``output``, or discard a left-over interrupted run.
    batch_size : int
        Rows per chunk.
    partition_rows : int
        Rows of the input read at a time (rounded up to a multiple of ``batch_size``).
    progress : bool
        Show rows done, rows per second, failures so far and the estimated time left.
    client : dask.distributed.Client, optional
        Map chunks over the client's workers (each receives the model once); results are
        identical to a single-process run.
    survey_options : mapping, optional
        Keyword arguments for the survey's factory.
    image_dir : path, optional
        Directory relative image paths are in (with ``image_column``).
    keep_columns : sequence of str
        Input columns to copy into the output.
    device, workers, min_centre_snr, resample : optional
        As in :func:`astro_cnn.predict`.
    **columns
        ``ra``, ``dec``, ``coord``, ``id_column``, ``image_column``: as in :func:`astro_cnn.predict`.

    Returns
    -------
    PredictionSummary
        The output path (``os.fspath`` gives it) with the number of rows and of flagged rows.

    Raises
    ------
    FileExistsError
        ``output`` exists and ``overwrite`` is false.
    AstroCNNError
        Another run is writing ``output``; ``resume`` was asked for a run made with other
        settings; a left-over interrupted run exists and neither ``resume`` nor ``overwrite``
        was given; the output format cannot be written; ``output`` is the input table, or its
        directory cannot be made.
    """
    output = Path(output)
    if isinstance(table, SkyCoord):  # as predict takes one: its ICRS positions, row for row
        table = QTable({"ra": table.icrs.ra.to(u.deg), "dec": table.icrs.dec.to(u.deg)})
    elif not isinstance(table, (str, os.PathLike)):
        checked_table(table)
    if resume and overwrite:
        raise AstroCNNError("resume=True continues an interrupted run and overwrite=True starts again: pass one")
    checked_count(partition_rows, "partition_rows")
    output_format = check_output_format(output)
    if isinstance(table, (str, os.PathLike)) and same_file(table, output):
        raise AstroCNNError(f"output {str(output)!r} is the input table: write the predictions to another file "
                            f"(the input would be lost)")
    check_destination(output, overwrite)
    setup = prediction_setup(model, quantity, survey, image_column=columns.get("image_column"), image_dir=image_dir,
                             survey_options=survey_options, batch_size=batch_size, device=device, workers=workers,
                             min_centre_snr=min_centre_snr, resample=resample)
    partition_rows = batch_size * max(1, -(-partition_rows // batch_size))
    parts = partitions(table, partition_rows)
    partial, state_path = partial_paths(output)
    fingerprint = {**parts.fingerprint, **setup.fingerprint(),
                   "columns": {k: v for k, v in sorted(columns.items()) if v is not None},
                   "image_dir": str(Path(image_dir).resolve()) if image_dir is not None else None,
                   "survey_options": repr(sorted(dict(survey_options or {}).items())),
                   "keep_columns": list(keep_columns), "astro_cnn_version": __version__}
    with _run_lock(output):
        start, reasons, without_value = _starting_row(partial, state_path, fingerprint, resume, overwrite)
        predictor = setup.predictor
        first_output = predictor.quantity.outputs[0].column
        positions = None
        with RowProgress(parts.n_rows, initial=start, disable=not progress,
                         desc=f"predict {predictor.quantity.name}") as bar:
            for offset, part in parts:
                targets = make_targets(part, predictor, setup.survey, **columns)
                carried = kept_columns(part, keep_columns, predictor, columns.get("image_column"))
                _check_text(output, output_format, {targets.id_column: targets.ids} if targets.id_column else {},
                            carried)
                positions = bool(np.isfinite(targets.ra).any()) if positions is None else positions
                if parts.n_rows == 0:
                    empty = output_table(targets, setup, empty_columns(predictor, 0), np.array([]), carried,
                                         positions=positions)
                    _append(partial, empty, header=True)
                if offset + len(part) <= start and parts.n_rows:
                    continue
                for rows, values, status in predict_chunks(targets, setup, max(0, start - offset), client=client):
                    chunk = output_table(targets.subset(rows), setup, values, status,
                                         None if carried is None else carried[rows], positions=positions)
                    _append(partial, chunk, header=offset + rows[0] == 0)
                    reasons.update(str(s) for s in status if s != "ok")
                    without_value += int(np.sum(~np.isfinite(np.asarray(values[first_output], dtype=float))))
                    _save_state(state_path, fingerprint, offset + int(rows[-1]) + 1, partial.stat().st_size,
                                reasons, without_value)
                    bar.predicted(len(rows), sum(reasons.values()))
        _finish(partial, state_path, output, overwrite)
    return PredictionSummary(output, parts.n_rows, sum(reasons.values()), dict(reasons.most_common()), without_value)


# --- private helpers ---------------------------------------------------------------------------
@contextlib.contextmanager
def _run_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUTPUT.lock`` for the run, so that two runs never write one output."""
    path = output.with_name(output.name + ".lock")  # its folders are no files: check_destination saw to it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AstroCNNError(f"cannot write output {str(output)!r}: its directory {str(path.parent)!r} cannot be "
                            f"made ({exc.strerror or exc})") from None
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AstroCNNError(f"another run (process {holder}) is writing {str(output)!r}; wait for it to "
                                f"finish, or write to another output") from None
        if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            break  # the lock file we hold is still the one in place (not removed by a run that just ended)
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


def _check_text(output: Path, output_format: str, ids: Mapping[str, np.ndarray], carried: Table | None) -> None:
    """Refuse now, not after the predictions, text the output cannot hold: a line break in any value (the
    streamed ECSV would split the row), and anything but ASCII in FITS."""
    columns = dict(ids)
    columns.update({name: carried[name] for name in (carried.colnames if carried is not None else ())})
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind != "U":
            continue
        for row, value in enumerate(values):
            text = str(value)
            if len(text.splitlines()) > 1 or text.endswith(("\n", "\r")):
                raise AstroCNNError(f"cannot write {str(output)!r}: column {name!r} holds a line break in row {row} "
                                    f"({text!r}); remove it from the input table")
            if output_format == "fits" and not text.isascii():
                raise AstroCNNError(f"cannot write {str(output)!r}: FITS text is ASCII only, but column {name!r} "
                                    f"holds {text!r} (row {row}); write ECSV, VOTable, HDF5 or Parquet")


def _starting_row(partial: Path, state_path: Path, fingerprint: dict[str, Any], resume: bool,
                  overwrite: bool) -> tuple[int, collections.Counter, int]:
    """The row to start from, and the flagged rows' reasons and the rows without a value counted so far."""
    if not state_path.exists() or not partial.exists():
        partial.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        return 0, collections.Counter(), 0
    if not resume:
        if overwrite:
            partial.unlink()
            state_path.unlink()
            return 0, collections.Counter(), 0
        raise AstroCNNError(
            f"an interrupted run left {str(partial)!r}; pass resume=True to continue it, or overwrite=True to "
            f"discard it and start again")
    state = json.loads(state_path.read_text())
    differs = [k for k, v in fingerprint.items() if state["fingerprint"].get(k) != v]
    if differs:
        raise AstroCNNError(
            f"cannot resume {str(partial)!r}: the run was made with a different {', '.join(differs)}; "
            f"pass overwrite=True to start again")
    with open(partial, "r+b") as handle:  # drop anything written after the last completed chunk
        handle.truncate(state["bytes"])
    return int(state["rows_done"]), collections.Counter(state.get("reasons", {})), int(state.get("without_value", 0))


def _save_state(state_path: Path, fingerprint: dict[str, Any], rows_done: int, size: int,
                reasons: collections.Counter, without_value: int) -> None:
    with atomic_path(state_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "rows_done": rows_done, "bytes": size,
                                   "reasons": dict(reasons), "without_value": without_value}))


def _append(partial: Path, chunk: QTable, header: bool) -> None:
    with open(partial, "a" if not header else "w", encoding="utf-8") as handle:
        handle.write(ecsv_text(chunk, header=header))
        handle.flush()
        os.fsync(handle.fileno())


def _finish(partial: Path, state_path: Path, output: Path, overwrite: bool) -> None:
    if output.name.lower().endswith(".ecsv"):
        if output.exists() and not overwrite:
            raise FileExistsError(f"{str(output)!r} already exists; pass overwrite=True to replace it")
        os.replace(partial, output)
    else:
        write_table(read_table(partial), output, overwrite=overwrite)
        partial.unlink()
    state_path.unlink(missing_ok=True)
