"""Surveys that fetch one target at a time: :class:`TargetSurvey` owns the per-row loop, :class:`Cutout` is one row."""

from __future__ import annotations

import abc
import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .progress import rows_read
from .survey import ImageBatch, Survey, empty_batch
from .target import Target, TargetList

__all__ = ["Cutout", "TargetSurvey", "map_concurrent"]


@dataclass
class Cutout:
    """The image of one target, as :meth:`TargetSurvey.cutout` returns it.

    Attributes
    ----------
    image : ndarray, shape (C, H, W)
        Pixels, one channel per band of the survey.
    weight : ndarray, shape (C, H, W), optional
        Weight (coverage) plane; required when the survey's :attr:`~TargetSurvey.has_weights` is true.
    meta : mapping of str to object
        Per-row extras, e.g. ``{"wcs": wcs}``; each key must be one of the survey's
        :attr:`~TargetSurvey.row_meta`, and ``batch.meta[key]`` lists them row by row.
    """

    image: np.ndarray
    weight: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


class TargetSurvey(Survey):
    """A survey that makes each target's image on its own; subclasses implement :meth:`cutout`.

    :meth:`cutouts` keeps the status of rows that already have one, calls :meth:`cutout` for
    every other row (in up to :attr:`max_workers` threads), flags a row whose call raises with
    the exception's message, and assembles the :class:`~astro_cnn.ImageBatch`.

    Attributes
    ----------
    max_workers : int
        Targets fetched at once (1: one after the other in the calling thread).
    has_weights : bool
        Whether each :class:`Cutout` carries a weight plane (``batch.weights``, zeros for failed rows).
    row_meta : tuple of str
        Keys of the per-row extras of each :class:`Cutout`; ``batch.meta[key]`` is a list with one
        entry per row (None for failed rows).
    """

    max_workers: int = 1
    has_weights: bool = False
    row_meta: tuple[str, ...] = ()

    @abc.abstractmethod
    def cutout(self, target: Target, size: int) -> Cutout | np.ndarray:
        """Return the image of one target; raise to flag its row.

        Parameters
        ----------
        target : Target
            The target; ``target.row`` is its row in the list given to :meth:`cutouts`.
        size : int
            Side in pixels.

        Returns
        -------
        Cutout or ndarray
            The image, shape ``(len(bands), size, size)``, alone or with a weight plane and extras.

        Raises
        ------
        Exception
            Any exception flags the row; its message (one line) becomes the row's status.
        """

    def cutouts(self, targets: TargetList, *, size: int | None = None, progress: bool = False) -> ImageBatch:
        """Return one image per target; a failed row gets zeros and a status saying why (never raised).

        Parameters
        ----------
        targets : TargetList
            Rows whose status is already set are skipped and keep it.
        size : int, optional
            Side in pixels (default :attr:`image_size`).
        progress : bool
            Show a tqdm progress bar.

        Returns
        -------
        ImageBatch
        """
        size = int(size or self.image_size)
        batch = empty_batch(len(targets), self.bands, size, self.pixel_scale, np.array(targets.status, dtype=object))
        batch.weights = np.zeros_like(batch.images) if self.has_weights else None
        batch.meta = {key: [None] * len(targets) for key in self.row_meta}
        rows = np.flatnonzero(targets.ok)
        rows_read(len(targets) - len(rows))

        def read(i: int) -> Cutout:
            try:
                return self._checked_cutout(targets[int(i)], size)
            finally:
                rows_read()  # moves an open prediction bar row by row, not chunk by chunk

        results = map_concurrent(read, rows, max_workers=self.max_workers, progress=progress,
                                 description=self.name)
        for i, result in zip(rows, results):
            if isinstance(result, BaseException):
                batch.status[i] = _failure_reason(result)
                continue
            batch.images[i] = result.image
            if batch.weights is not None:
                batch.weights[i] = result.weight
            for key, value in result.meta.items():
                batch.meta[key][i] = value
        return batch

    def _checked_cutout(self, target: Target, size: int) -> Cutout:
        """:meth:`cutout` as a :class:`Cutout` whose planes and extras fit the batch (else ValueError)."""
        result = self.cutout(target, size)
        if not isinstance(result, Cutout):
            result = Cutout(result)
        expected = (len(self.bands), size, size)
        if np.shape(result.image) != expected:
            raise ValueError(f"row {target.row}: image of shape {np.shape(result.image)}, expected {expected}")
        if self.has_weights and np.shape(result.weight) != expected:
            raise ValueError(f"row {target.row}: weight plane of shape {np.shape(result.weight)}, expected {expected}")
        unknown = sorted(set(result.meta) - set(self.row_meta))
        if unknown:
            raise ValueError(f"row {target.row}: extras {unknown} are not among the survey's row_meta "
                             f"{list(self.row_meta)}")
        return result


def _failure_reason(exc: BaseException) -> str:
    """One line saying why a row failed: the message of a ValueError or OSError, else ``Type: message``."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {text}"


def map_concurrent(function: Callable[[Any], Any], items: Sequence[Any], *, max_workers: int = 16,
                   progress: bool = False, description: str = "") -> list[Any]:
    """Call ``function`` on every item with at most ``max_workers`` in flight; keep the order.

    An exception raised for one item is returned in its place (never raised), so one failure
    does not stop the batch.

    Parameters
    ----------
    function : callable
        Called as ``function(item)``.
    items : sequence
        Inputs.
    max_workers : int
        Calls in flight at once (1 runs them one at a time in this thread).
    progress : bool
        Show a tqdm progress bar.
    description : str
        Label of the progress bar.

    Returns
    -------
    list
        Result or exception of each item, in input order.
    """
    from tqdm.auto import tqdm

    results: list[Any] = [None] * len(items)
    bar = tqdm(total=len(items), disable=not progress, desc=description or None, unit="img")
    try:
        if max_workers <= 1:
            for i, item in enumerate(items):
                results[i] = _call(function, item)
                bar.update(1)
            return results
        with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
            futures = {pool.submit(_call, function, item): i for i, item in enumerate(items)}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    finally:
        bar.close()
    return results


def _call(function: Callable[[Any], Any], item: Any) -> Any:
    try:
        return function(item)
    except Exception as exc:  # one failed item must not stop the batch; the caller reports it
        return exc
