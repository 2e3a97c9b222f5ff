"""Accuracy of Sérsic parameters: median and scatter of the fractional error, and the outlier rate."""

from __future__ import annotations

import numpy as np

__all__ = ["OUTLIER_FRACTION", "fractional_error_metrics", "structure_metrics"]

#: A measurement is an outlier when its fractional error exceeds this (or it has no value).
OUTLIER_FRACTION = 0.5


def fractional_error_metrics(truth: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """Metrics of ``(measured − truth) / truth`` for one parameter.

    Rows without a finite measurement count as outliers and are left out of the median and
    scatter (a method that fails on a galaxy is not rewarded for it).

    Returns
    -------
    dict
        ``median`` (bias), ``scatter`` (1.4826 × median absolute deviation: robust σ),
        ``outlier_rate`` (fraction with ``|error|`` > :data:`OUTLIER_FRACTION` or no value),
        ``measured`` (fraction with a value) and ``rows``.

    Raises
    ------
    ValueError
        ``truth`` and ``measured`` differ in length, or a true value is not positive.
    """
    truth = np.asarray(truth, dtype=float)
    measured = np.asarray(measured, dtype=float)
    if truth.shape != measured.shape:
        raise ValueError(f"truth has {truth.shape} values but measured has {measured.shape}")
    if not np.all(truth > 0):
        raise ValueError("fractional errors need positive true values")
    finite = np.isfinite(measured)
    error = (measured[finite] - truth[finite]) / truth[finite]
    median = float(np.median(error)) if len(error) else np.nan
    scatter = float(1.4826 * np.median(np.abs(error - median))) if len(error) else np.nan
    outliers = (~finite).sum() + int(np.sum(np.abs(error) > OUTLIER_FRACTION))
    return {"median": median, "scatter": scatter, "outlier_rate": float(outliers / max(len(truth), 1)),
            "measured": float(finite.mean()) if len(truth) else np.nan, "rows": int(len(truth))}


def structure_metrics(truth: np.ndarray, measured: np.ndarray,
                      names: tuple[str, ...] = ("sersic_n", "r_e", "q")) -> dict[str, dict[str, float]]:
    """:func:`fractional_error_metrics` of each column of ``(N, K)`` arrays, keyed by ``names``.

    Raises
    ------
    ValueError
        The arrays are not ``(N, len(names))``.
    """
    truth, measured = np.asarray(truth, dtype=float), np.asarray(measured, dtype=float)
    if truth.ndim != 2 or truth.shape[1] != len(names) or measured.shape != truth.shape:
        raise ValueError(f"truth {truth.shape} and measured {measured.shape} must both be (N, {len(names)})")
    return {name: fractional_error_metrics(truth[:, k], measured[:, k]) for k, name in enumerate(names)}
