"""Catalogue-scale prediction: chunked, streamed to disk, resumable, optionally on a Dask cluster.

:func:`predict_to_file` writes each chunk of results as soon as it is ready, so memory does not
grow with the catalogue, and records its progress after every chunk so that an interrupted run
(Ctrl-C, a killed process, a lost connection) continues with ``resume=True`` and ends with the
same file an uninterrupted run would have written.  Results stream into ``OUTPUT.partial.ecsv``;
the output itself appears only when the run is complete (an ECSV output is renamed into place,
other formats are converted at the end).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import QTable, Table
from tqdm.auto import tqdm

from ._atomic import atomic_path
from ._version import __version__
from .chunks import dask_chunks, empty_columns, local_chunks, make_survey, make_targets, output_table
from .exceptions import AstroCNNError
from .models import resolve_predictor
from .predictor import Predictor
from .survey import Survey
from .table_io import read_table, write_table
from .target import TargetList

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
    progress: bool = True,
    client: Any = None,
    survey_options: Mapping[str, Any] | None = None,
    image_dir: str | Path | None = None,
    **columns: str | None,
) -> Path:
    """Predict for every row of a (large) table, streaming the results to ``output``.

    Parameters
    ----------
    table : Table or path
        The targets, or a table file (read with :func:`astro_cnn.read_table`).
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
    progress : bool
        Show rows done, rows per second, failures so far and the estimated time left.
    client : dask.distributed.Client, optional
        Map chunks over the client's workers (each loads the model once); results are identical
        to a single-process run.
    survey_options : mapping, optional
        Keyword arguments for the survey's factory.
    image_dir : path, optional
        Directory relative image paths are in (with ``image_column``).
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
    if not isinstance(table, Table):
        table = read_table(table)
    predictor = resolve_predictor(model, quantity)
    targets = make_targets(table, predictor, **columns)
    source = make_survey(predictor, survey, image_column=columns.get("image_column"), image_dir=image_dir,
                         options=survey_options)
    partial, state_path = partial_paths(output)
    fingerprint = _fingerprint(targets, predictor, source, batch_size)
    start = _starting_row(partial, state_path, fingerprint, resume, overwrite)
    runner = dask_chunks if client is not None else local_chunks
    chunks = runner(targets, predictor, source, batch_size, start, client=client)
    failures = 0
    with tqdm(total=len(targets), initial=start, disable=not progress, unit="row", smoothing=0.1,
              desc=f"predict {predictor.quantity.name}") as bar:
        for rows, values, status in chunks:
            chunk = output_table(targets.subset(rows), predictor, source, values, status)
            _append(partial, chunk, header=rows[0] == 0)
            _save_state(state_path, fingerprint, int(rows[-1]) + 1, partial.stat().st_size)
            failures += int(chunk["flag"].sum())
            bar.update(len(rows))
            bar.set_postfix(failed=failures)
    if len(targets) == 0:
        _append(partial, output_table(targets, predictor, source, empty_columns(predictor, 0), np.array([])), True)
    _finish(partial, state_path, output, overwrite)
    return output


# --- private helpers ---------------------------------------------------------------------------
def _fingerprint(targets: TargetList, predictor: Predictor, survey: Survey, batch_size: int) -> dict[str, Any]:
    digest = hashlib.sha256()
    for array in (targets.ra, targets.dec):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(np.asarray(targets.ids).astype(str).tobytes())
    if targets.image_paths is not None:
        digest.update(np.asarray(targets.image_paths).astype(str).tobytes())
    return {"rows": len(targets), "targets_sha256": digest.hexdigest(), "model": predictor.name,
            "model_saved": predictor.saved, "survey": survey.name, "batch_size": batch_size,
            "astro_cnn_version": __version__}


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
