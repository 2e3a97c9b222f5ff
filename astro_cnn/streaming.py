"""Catalogue-scale prediction: chunked, streamed to disk, resumable, optionally on a Dask cluster.

:func:`predict_to_file` writes each chunk of results as soon as it is ready, so memory does not
grow with the catalogue, and records its progress after every chunk so that an interrupted run
(Ctrl-C, a killed process, a lost connection) continues with ``resume=True`` and ends with the
same file an uninterrupted run would have written.  Results stream into ``OUTPUT.partial.ecsv``;
the output itself appears only when the run is complete (an ECSV output is renamed into place,
other formats are converted at the end).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import QTable, Table
from tqdm.auto import tqdm

from ._atomic import atomic_path
from ._version import __version__
from .chunks import dask_chunks, empty_columns, kept_columns, local_chunks, make_survey, make_targets, output_table
from .exceptions import AstroCNNError
from .models import resolve_predictor
from .partitions import partitions
from .predictor import Predictor
from .survey import Survey
from .table_io import read_table, write_table

__all__ = ["predict_to_file", "partial_paths"]


def partial_paths(output: str | Path) -> tuple[Path, Path]:
    """Return the partial-results file and the progress file of a run writing ``output``."""
    output = Path(output)
    return output.with_name(output.name + ".partial.ecsv"), output.with_name(output.name + ".progress.json")


def predict_to_file(
    table: Table | str | Path,
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
    **columns: str | None,
) -> Path:
    """Predict for every row of a (large) table, streaming the results to ``output``.

    Parameters
    ----------
    table : Table or path
        The targets, or a table file.  FITS and Parquet files are read ``partition_rows`` rows at
        a time; other formats are read whole.
    output : path
        Output table file; its format comes from the suffix.  ECSV streams straight to disk with
        memory independent of the number of rows; other formats are converted at the end.
    quantity, survey, model : optional
        As in :func:`astro_cnn.predict`.
    resume : bool
        Continue an interrupted run writing the same ``output`` (same input, model and
        ``batch_size``); without it, a left-over interrupted run is an error.
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
    **columns
        ``ra``, ``dec``, ``coord``, ``id_column``, ``image_column``: as in :func:`astro_cnn.predict`.

    Returns
    -------
    Path
        ``output``.

    Raises
    ------
    FileExistsError
        ``output`` exists and ``overwrite`` is false.
    AstroCNNError
        ``resume`` was asked for a run made with another input, model or batch size, or a
        left-over interrupted run exists and neither ``resume`` nor ``overwrite`` was given.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise FileExistsError(f"{str(output)!r} already exists; pass --overwrite to replace it")
    partition_rows = batch_size * max(1, -(-partition_rows // batch_size))
    parts = partitions(table, partition_rows)
    predictor = resolve_predictor(model, quantity)
    source = make_survey(predictor, survey, image_column=columns.get("image_column"), image_dir=image_dir,
                         options=survey_options)
    partial, state_path = partial_paths(output)
    fingerprint = {**parts.fingerprint, "model": predictor.name, "model_saved": predictor.saved,
                   "survey": source.name, "batch_size": batch_size, "astro_cnn_version": __version__}
    start = _starting_row(partial, state_path, fingerprint, resume, overwrite)
    runner = dask_chunks if client is not None else local_chunks
    failures = 0
    with tqdm(total=parts.n_rows, initial=start, disable=not progress, unit="row", smoothing=0.1,
              desc=f"predict {predictor.quantity.name}") as bar:
        for offset, part in parts:
            if offset + len(part) <= start and parts.n_rows:
                continue
            targets = make_targets(part, predictor, source, **columns)
            carried = kept_columns(part, keep_columns)
            if parts.n_rows == 0:
                empty = output_table(targets, predictor, source, empty_columns(predictor, 0), np.array([]))
                _append(partial, empty, header=True)
            for rows, values, status in runner(targets, predictor, source, batch_size, max(0, start - offset),
                                               client=client):
                chunk = output_table(targets.subset(rows), predictor, source, values, status,
                                     None if carried is None else carried[rows])
                _append(partial, chunk, header=offset + rows[0] == 0)
                _save_state(state_path, fingerprint, offset + int(rows[-1]) + 1, partial.stat().st_size)
                failures += int(chunk["flag"].sum())
                bar.update(len(rows))
                bar.set_postfix(failed=failures)
    _finish(partial, state_path, output, overwrite)
    return output


# --- private helpers ---------------------------------------------------------------------------
def _starting_row(partial: Path, state_path: Path, fingerprint: dict[str, Any], resume: bool,
                  overwrite: bool) -> int:
    if not state_path.exists() or not partial.exists():
        partial.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        return 0
    if not resume:
        if overwrite:
            partial.unlink()
            state_path.unlink()
            return 0
        raise AstroCNNError(
            f"an interrupted run left {str(partial)!r}; pass --resume to continue it or --overwrite to start again")
    state = json.loads(state_path.read_text())
    differs = [k for k, v in fingerprint.items() if state["fingerprint"].get(k) != v]
    if differs:
        raise AstroCNNError(
            f"cannot resume {str(partial)!r}: the run was made with a different {', '.join(differs)}; "
            f"pass --overwrite to start again")
    with open(partial, "r+b") as handle:  # drop anything written after the last completed chunk
        handle.truncate(state["bytes"])
    return int(state["rows_done"])


def _save_state(state_path: Path, fingerprint: dict[str, Any], rows_done: int, size: int) -> None:
    with atomic_path(state_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "rows_done": rows_done, "bytes": size}))


def _append(partial: Path, chunk: QTable, header: bool) -> None:
    buffer = io.StringIO()
    chunk.write(buffer, format="ascii.ecsv")
    lines = buffer.getvalue().splitlines(keepends=True)
    if not header:  # ECSV: '#' header lines, then one line of column names, then the data
        body = [line for line in lines if not line.startswith("#")]
        lines = body[1:]
    with open(partial, "a" if not header else "w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())


def _finish(partial: Path, state_path: Path, output: Path, overwrite: bool) -> None:
    if output.name.lower().endswith(".ecsv"):
        if output.exists() and not overwrite:
            raise FileExistsError(f"{str(output)!r} already exists; pass --overwrite to replace it")
        os.replace(partial, output)
    else:
        write_table(read_table(partial), output, overwrite=overwrite)
        partial.unlink()
    state_path.unlink()
