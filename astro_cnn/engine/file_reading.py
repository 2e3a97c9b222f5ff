"""Reading a training set's image files in order, in worker processes when there are many.

A training store (:mod:`astro_cnn.engine.store`) is written from a stream of images in table order.
Decoding and checking a file (a JPEG's coded data is walked in full, see
:mod:`astro_cnn.jpeg_check`) costs a millisecond or more, so a million files take a quarter of an
hour on one core: :func:`read_image_files` reads them in worker processes, a few files per task
and at most a window of tasks ahead of the writer, so memory does not grow with the number of files, and yields them in
the table's order, so the store is the same whichever way it was read.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..image_files import check_image_dir, image_path, read_image
from .devices import usable_workers
from .store import compact_image

__all__ = ["read_image_files", "store_workers"]

#: Files a worker reads per task (one task per file would spend more on the hand-over than on reading).
FILES_PER_TASK = 16
#: Tasks queued ahead of the writer, per worker process.
TASKS_AHEAD_PER_WORKER = 4
#: Fewer files than this are read in this process (starting workers would cost more than it saves).
MIN_FILES_FOR_WORKERS = 64


def store_workers() -> int:
    """Worker processes to read a training set's files with: every CPU, as nothing else runs meanwhile
    (0, reading in this process, on a machine with one CPU or in a daemon process, which may not start
    processes of its own)."""
    count = os.cpu_count() or 1
    return count if count > 1 and not multiprocessing.current_process().daemon else 0


def read_image_files(sources: Sequence[str], image_dir: str | Path | None = None,
                     workers: int = 0) -> Iterator[tuple[int, np.ndarray | None, str]]:
    """Read image files in order, each as :func:`astro_cnn.read_image` reads it.

    Parameters
    ----------
    sources : sequence of str
        File names, one per table row.
    image_dir : path, optional
        Directory that relative names are in.
    workers : int
        Worker processes (0: read in this process, as also for fewer than 64 files, where
        starting workers would cost more than it saves).

    Yields
    ------
    row : int
        The file's position in ``sources``.
    image : ndarray or None
        The image ``(C, H, W)`` as a store keeps it (an 8-bit colour image as uint8 values 0-255,
        else float32: :func:`~astro_cnn.engine.store.compact_image`), or None when the file could not
        be read or is corrupt.
    path : str
        The file read (for messages).
    """
    check_image_dir(image_dir)
    paths = [image_path(name, image_dir) for name in sources]
    workers = usable_workers(workers, -(-len(paths) // FILES_PER_TASK))
    if workers <= 0 or len(paths) < MIN_FILES_FOR_WORKERS:
        for row, path in enumerate(paths):
            yield row, _read_compact(path), str(path)
        return
    tasks = (range(start, min(start + FILES_PER_TASK, len(paths))) for start in range(0, len(paths), FILES_PER_TASK))
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers)
    try:
        pending = deque((rows, pool.submit(_read_all, [paths[k] for k in rows]))
                        for rows in itertools.islice(tasks, TASKS_AHEAD_PER_WORKER * workers))
        while pending:
            rows, future = pending.popleft()
            following = next(tasks, None)
            if following is not None:
                pending.append((following, pool.submit(_read_all, [paths[k] for k in following])))
            for row, image in zip(rows, future.result()):
                yield row, image, str(paths[row])
    finally:  # also when the writer stops early (an odd shape): files not yet read are not read
        pool.shutdown(wait=True, cancel_futures=True)


def _read_all(paths: list[Path]) -> list[np.ndarray | None]:
    return [_read_compact(path) for path in paths]


def _read_compact(path: Path) -> np.ndarray | None:
    """The image as the store keeps it (colour as uint8: a quarter of the bytes to hand over), or None."""
    try:
        return compact_image(read_image(path))
    except (OSError, ValueError):
        return None
