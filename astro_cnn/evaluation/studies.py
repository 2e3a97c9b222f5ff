"""The Wu & Boada (2019) studies: image resolution, and the mass–metallicity relation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from astropy.table import QTable

from .metrics import regression_metrics

__all__ = ["rebin", "resolution_study", "tremonti_mzr", "TREMONTI_COEFFICIENTS"]

#: Tremonti et al. (2004) mass–metallicity relation, 12+log(O/H) = a + b x + c x², x = log(M*/Msun).
TREMONTI_COEFFICIENTS = (-1.492, 1.847, -0.08026)


def tremonti_mzr(log_mstar: np.ndarray) -> np.ndarray:
    """12+log(O/H) predicted from log stellar mass by the Tremonti et al. (2004) polynomial (valid 8.5–11.5)."""
    a, b, c = TREMONTI_COEFFICIENTS
    x = np.asarray(log_mstar, dtype=float)
    return a + b * x + c * x**2


def rebin(images: np.ndarray, size: int) -> np.ndarray:
    """Block-average images (N, C, H, W) down to ``size`` × ``size`` pixels (H must be a multiple of ``size``)."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    if h % size or w % size:
        raise ValueError(f"cannot rebin {h}x{w} images to {size}x{size}: not a whole number of pixels per block")
    return images.reshape(n, c, size, h // size, size, w // size).mean(axis=(3, 5))


def resolution_study(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                     test_labels: np.ndarray,
                     fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                     sizes: Sequence[int] = (128, 64, 32, 16, 8, 4, 2, 1)) -> QTable:
    """Train and score one model per image resolution (Wu & Boada 2019, Fig. 4).

    Parameters
    ----------
    train_images, train_labels, test_images, test_labels
        Full-resolution data.
    fit_predict : callable
        ``fit_predict(train_images, train_labels, test_images) -> predictions`` at one resolution.
    sizes : sequence of int
        Image sides to rebin to.

    Returns
    -------
    QTable
        One row per size: ``size``, ``n``, ``rmse``, ``nmad``, ``bias_mean``, ...
    """
    rows = []
    for size in sizes:
        predictions = fit_predict(rebin(train_images, size), np.asarray(train_labels), rebin(test_images, size))
        rows.append({"size": size, **regression_metrics(test_labels, predictions)})
    return QTable(rows=rows)
