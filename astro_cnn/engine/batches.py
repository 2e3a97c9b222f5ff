"""Training batches: raw images read a batch at a time (from memory or a store) through a ``DataLoader``.

Images stay in their stored form (uint8 colour values or float32 fluxes) until they reach the
device, where :class:`~astro_cnn.engine.normalisation.ImageNormaliser` standardises them; so the
host holds at most a few batches, and 8-bit images cross the bus at a quarter of the float size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .devices import usable_workers
from .normalisation import ImageNormaliser

__all__ = ["TrainingData", "RowBatches", "batch_loader", "subset_extras"]


@dataclass
class TrainingData:
    """Everything the training loop reads.

    Attributes
    ----------
    images : ndarray or StoreImages
        Raw images ``(N, C, H, W)``, indexable by an array of rows.
    targets : Tensor
        Encoded labels ``(N,)`` (standardised values, or bin indices for a PDF).
    normaliser : ImageNormaliser
        Raw pixels → network input.
    extras : Tensor, optional
        Standardised extra inputs ``(N, E)``.
    fit_rows, val_rows : ndarray of int, optional
        Rows to train on (default: all) and rows to report a validation loss on.
    """

    images: Any
    targets: torch.Tensor
    normaliser: ImageNormaliser
    extras: torch.Tensor | None = None
    fit_rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.images) != len(self.targets):
            raise ValueError(f"{len(self.images)} images but {len(self.targets)} targets")
        if self.fit_rows is None:
            self.fit_rows = np.arange(len(self.targets))

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Raw images, targets and extras of ``rows`` (CPU tensors)."""
        rows = np.asarray(rows, dtype=np.int64)
        images = torch.from_numpy(np.ascontiguousarray(self.images[rows]))
        index = torch.from_numpy(rows)
        return images, self.targets[index], None if self.extras is None else self.extras[index]


class RowBatches(Dataset):
    """A dataset whose item ``i`` is the whole ``i``-th batch of rows (so workers read batches, not rows)."""

    def __init__(self, data: TrainingData, batches: Sequence[np.ndarray]):
        self.data = data
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return self.data.batch(self.batches[i])


def _as_is(batch):
    return batch


def batch_loader(data: TrainingData, batches: Sequence[np.ndarray], *, workers: int = 0,
                 pin_memory: bool = False) -> DataLoader:
    """A ``DataLoader`` yielding ``(images, targets, extras)`` for each row batch, in order.

    Parameters
    ----------
    data : TrainingData
    batches : sequence of ndarray
        Row indices of each batch (a list, or a sequence that draws them when read, such as
        :class:`~astro_cnn.engine.trainer.RunShares`).
    workers : int
        Worker processes reading batches ahead of the training step (0: read in this process).
    pin_memory : bool
        Page-locked host memory, for asynchronous copies to a GPU.
    """
    # its own generator: a loader seeds its workers from the global generator otherwise, which would shift
    # what dropout draws (and break exact resume) depending on when loaders are made
    workers = usable_workers(workers, len(batches))
    return DataLoader(RowBatches(data, batches), batch_size=None, shuffle=False, num_workers=workers,
                      collate_fn=_as_is, pin_memory=pin_memory, prefetch_factor=4 if workers else None,
                      persistent_workers=False, generator=torch.Generator().manual_seed(0))


def subset_extras(extras: Mapping[str, np.ndarray] | None, rows: np.ndarray) -> dict[str, np.ndarray] | None:
    """The ``rows`` (indices or a mask) of each extra input; None without extras."""
    return None if extras is None else {k: np.asarray(v)[rows] for k, v in extras.items()}
