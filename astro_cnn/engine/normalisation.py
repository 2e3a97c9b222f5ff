"""Input normalisation: statistics learned from a sample of training images, applied on any device.

Statistics come from at most :data:`SAMPLE_IMAGES` images spread evenly over the training set, so
learning them costs the same for 1,000 or 1,000,000 images, and a store on disk and the same
images in memory give identical statistics.  :class:`ImageNormaliser` turns raw pixels (8-bit
colour values or float fluxes) into network input on whatever device the batch is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["SAMPLE_IMAGES", "sample_rows", "image_statistics", "ImageNormaliser"]

#: Most images read to learn the per-band statistics.
SAMPLE_IMAGES = 1024


def sample_rows(n: int, limit: int = SAMPLE_IMAGES) -> np.ndarray:
    """Indices of at most ``limit`` rows spread evenly over ``n`` (all rows when ``n <= limit``)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def as_float_images(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Pixels as float32: 8-bit colour values are scaled to [0, 1], anything else is kept."""
    array = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    return array.astype(np.float32, copy=False)


def image_statistics(sample: np.ndarray) -> dict[str, Any]:
    """Per-band statistics of a sample of images ``(N, C, H, W)``.

    Images with a negative pixel are sky-subtracted fluxes, which have heavy tails: they first get
    an asinh stretch with a per-band noise scale (1.4826 × MAD).  Others (8-bit colour values
    scaled to [0, 1], 16-bit greyscale, counts with the sky left in, which an asinh would squeeze
    into its logarithmic part) are standardised per band as they are.  This asks whether the sky
    was subtracted, not whether the image is colour (:func:`~astro_cnn.image_checks.colour_values`,
    which decides how a training store keeps the images and whether a forest knows their noise).

    Returns
    -------
    dict
        ``stretch`` ("linear" or "asinh"), and per band ``scale``, ``mean`` and ``std``.
    """
    images = as_float_images(sample)
    stretch = "asinh" if images.min() < 0 else "linear"
    per_band = images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1)
    scale = np.ones(images.shape[1], np.float32)
    if stretch == "asinh":
        median = np.median(per_band, axis=1, keepdims=True)
        scale = np.maximum(1.4826 * np.median(np.abs(per_band - median), axis=1), 1e-6).astype(np.float32)
        per_band = np.arcsinh(per_band / scale[:, None])
    return {"stretch": stretch, "scale": scale.tolist(), "mean": per_band.mean(axis=1).tolist(),
            "std": np.maximum(per_band.std(axis=1), 1e-6).tolist()}


def scalar_statistics(values: Mapping[str, np.ndarray] | None, names: Sequence[str]) -> tuple[list, list]:
    """Means and standard deviations of per-object scalar inputs, in the order of ``names``."""
    if not values or not names:
        return [], []
    return ([float(np.mean(values[e])) for e in names],
            [float(max(np.std(values[e]), 1e-6)) for e in names])


class ImageNormaliser(nn.Module):
    """Raw pixels → standardised float32 network input (uint8 colour values are divided by 255 first).

    Parameters
    ----------
    statistics : mapping
        As returned by :func:`image_statistics`.
    """

    def __init__(self, statistics: Mapping[str, Any]):
        super().__init__()
        self.asinh = statistics["stretch"] == "asinh"
        self.register_buffer("scale", torch.tensor(statistics["scale"], dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("mean", torch.tensor(statistics["mean"], dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(statistics["std"], dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Normalise a batch ``(N, C, H, W)`` on its own device."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        if self.asinh:
            x = torch.asinh(x / self.scale)
        return (x - self.mean) / self.std
