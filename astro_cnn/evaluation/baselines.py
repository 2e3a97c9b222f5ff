"""Baselines to run beside a CNN on the same split: the mean, and random forests (scikit-learn)."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_predictor", "mean_colours", "mean_colour_forest", "photometry_forest"]


def mean_predictor(train_labels: np.ndarray, n: int) -> np.ndarray:
    """Predict the mean training label for ``n`` objects."""
    return np.full(n, float(np.mean(np.asarray(train_labels, dtype=float))))


def mean_colours(images: np.ndarray) -> np.ndarray:
    """The "1×1 pixel" image: each band's mean over the image, and the differences between bands."""
    return _with_differences(np.asarray(images, dtype=float).mean(axis=(2, 3)))


def mean_colour_forest(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                       seed: int = 0) -> np.ndarray:
    """A random forest on :func:`mean_colours` (Wu & Boada's 1-pixel limit): predictions for ``test_images``."""
    return _forest(mean_colours(train_images), train_labels, mean_colours(test_images), seed)


def photometry_forest(train_magnitudes: np.ndarray, train_labels: np.ndarray, test_magnitudes: np.ndarray,
                      seed: int = 0) -> np.ndarray:
    """A random forest on magnitudes plus all their colours (e.g. Wu & Boada's gri, Pasquet-style ugriz)."""
    return _forest(_with_differences(np.asarray(train_magnitudes, dtype=float)), train_labels,
                   _with_differences(np.asarray(test_magnitudes, dtype=float)), seed)


def _with_differences(values: np.ndarray) -> np.ndarray:
    """Columns of ``values`` followed by every pairwise difference (colours)."""
    n = values.shape[1]
    return np.column_stack([values, *(values[:, i] - values[:, j] for i in range(n) for j in range(i + 1, n))])


def _forest(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=300, min_samples_leaf=3, random_state=seed, n_jobs=-1)
    forest.fit(train_x, np.asarray(train_y, dtype=float))
    return forest.predict(test_x)
