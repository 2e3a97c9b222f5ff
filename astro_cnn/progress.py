"""The progress bar of a prediction: rows, moving as each row's image is read, with its rate and time left.

Images are read a chunk at a time (by a thread, or by :class:`~torch.utils.data.DataLoader`
worker processes), and a chunk of a few hundred cutouts fetched from an archive can take
minutes.  While a :class:`RowProgress` is open, :meth:`astro_cnn.TargetSurvey.cutouts` counts
each row it is done with (:func:`rows_read`) in a counter shared with the worker processes forked
meanwhile, and a thread moves the bar to it a few times a second; so the rate and the time left
are those of the images read.  Rows also move the bar when their chunk is predicted, which is all
that moves it for surveys that are not a :class:`~astro_cnn.TargetSurvey`, for Dask workers and
for worker processes that are not forked (the ``spawn`` and ``forkserver`` start methods).
"""

from __future__ import annotations

import multiprocessing
import threading
from types import TracebackType

from tqdm.auto import tqdm

__all__ = ["RowProgress", "rows_read"]

#: The open bar's count of rows read, shared with worker processes forked while it is open; None when no bar is.
_read = None


def rows_read(n: int = 1) -> None:
    """Count ``n`` rows whose image was read (or that need none) towards the open :class:`RowProgress`, if any.

    Parameters
    ----------
    n : int
        Rows done.
    """
    counter = _read
    if counter is not None and n:
        with counter.get_lock():
            counter.value += n


class RowProgress:
    """A tqdm bar of rows predicted that moves as each row's image is read; a context manager.

    Parameters
    ----------
    total : int
        Rows in the run.
    initial : int
        Rows already done (a resumed run).
    disable : bool
        Show nothing.
    desc : str, optional
        Label of the bar.
    interval : float
        Seconds between moves of the bar to the rows read.
    """

    def __init__(self, total: int, *, initial: int = 0, disable: bool = False, desc: str | None = None,
                 interval: float = 0.2):
        self.bar = tqdm(total=total, initial=initial, disable=disable, unit="row", smoothing=0.1, desc=desc)
        self._initial, self._rows, self._interval = initial, 0, interval
        self._read = None if disable else multiprocessing.Value("q", 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="astro_cnn progress", daemon=True)

    def __enter__(self) -> RowProgress:
        global _read
        if self._read is not None:
            _read = self._read
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        global _read
        if self._read is not None:
            _read = None
            self._stop.set()
            self._thread.join()
        self.bar.close()

    def predicted(self, n: int, failed: int) -> None:
        """Record ``n`` more rows predicted, ``failed`` rows flagged so far."""
        with self._lock:
            self._rows += n
            self._move()
            self.bar.set_postfix(failed=failed)

    def _follow(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                self._move()

    def _move(self) -> None:
        read = 0 if self._read is None else self._read.value
        done = min(self.bar.total, self._initial + max(self._rows, read))
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
