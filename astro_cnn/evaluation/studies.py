"""The Wu & Boada (2019) studies: image resolution (by training per size, or from predictions per size), and
the mass–metallicity relation."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from astropy.table import QTable, Table

from .metrics import evaluate, regression_metrics, value_bins

__all__ = ["rebin", "resolution_study", "prediction_resolution_study", "tremonti_mzr", "mzr_study",
           "TREMONTI_COEFFICIENTS", "TREMONTI_RANGE"]

#: Tremonti et al. (2004) mass–metallicity relation, 12+log(O/H) = a + b x + c x², x = log(M*/Msun).
TREMONTI_COEFFICIENTS = (-1.492, 1.847, -0.08026)
#: Stellar masses log(M*/Msun) over which the Tremonti et al. (2004) fit holds.
TREMONTI_RANGE = (8.5, 11.5)


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


def prediction_resolution_study(table: Table, true: str, columns: Sequence[str],
                                sizes: Sequence[int] | None = None) -> QTable:
    """The resolution study from predictions already made at several image sizes, one column per size.

    Parameters
    ----------
    table : Table
        True values and one prediction column per image size (e.g. the Wu & Boada 2019 catalogue's
        ``cnn_pred_128`` … ``cnn_pred_16``).
    true : str
        Column of true values.
    columns : sequence of str
        Prediction columns.
    sizes : sequence of int, optional
        Image side of each column in pixels; default the number that ends each column's name.

    Returns
    -------
    QTable
        One row per column, in the given order: ``size``, then the columns of :func:`astro_cnn.evaluate`.

    Raises
    ------
    ValueError
        A column's name does not end in its image size and ``sizes`` is not given, or ``sizes`` has
        another length than ``columns``.
    """
    columns = list(columns)
    if sizes is None:
        found = [re.search(r"(\d+)$", name) for name in columns]
        missing = [name for name, match in zip(columns, found) if match is None]
        if missing:
            raise ValueError(f"cannot tell the image size of column(s) {', '.join(missing)}: name each "
                             f"prediction column after its image side (e.g. cnn_pred_64) or give the sizes")
        sizes = [int(match.group(1)) for match in found]
    if len(sizes) != len(columns):
        raise ValueError(f"{len(sizes)} image sizes for {len(columns)} prediction columns")
    study = evaluate(table, true, columns)
    study.add_column(np.asarray(sizes, dtype=int), name="size", index=0)
    return study


def mzr_study(log_mstar: np.ndarray, pred: np.ndarray, *, true: np.ndarray | None = None,
              bins: int | Sequence[float] = 8) -> QTable:
    """Median metallicity in bins of stellar mass, predicted (and true), against Tremonti et al. (2004).

    Parameters
    ----------
    log_mstar : ndarray
        log(M*/Msun) of each galaxy.
    pred : ndarray
        Predicted 12+log(O/H).
    true : ndarray, optional
        Measured 12+log(O/H) of the same galaxies.
    bins : int or sequence of float
        Number of equal-count mass bins, or bin edges.

    Returns
    -------
    QTable
        One row per bin: ``bin_low``, ``bin_high``, ``n``, ``log_mstar`` (median mass), ``median_pred``,
        ``tremonti`` (the relation at the median mass; NaN outside its range), ``offset_pred_tremonti``, and with
        ``true`` also ``median_true`` and ``median_pred_minus_true``.  Galaxies with a non-finite mass or
        prediction are left out.

    Raises
    ------
    ValueError
        Equal-count bins were asked and no galaxy has both a finite mass and a finite prediction, or
        ``bins`` is not a positive number of bins nor increasing edges.
    """
    mass, pred = np.asarray(log_mstar, dtype=float), np.asarray(pred, dtype=float)
    truth = None if true is None else np.asarray(true, dtype=float)
    usable = np.where(np.isfinite(pred), mass, np.nan)
    rows = []
    for lo, hi, inside in value_bins(usable, bins, name="log_mstar of the galaxies with a finite pred"):
        centre = float(np.median(mass[inside])) if inside.any() else 0.5 * (lo + hi)
        in_range = TREMONTI_RANGE[0] <= centre <= TREMONTI_RANGE[1]
        row = {"bin_low": lo, "bin_high": hi, "n": int(inside.sum()), "log_mstar": centre,
               "median_pred": float(np.median(pred[inside])) if inside.any() else np.nan,
               "tremonti": float(tremonti_mzr(centre)) if in_range else np.nan}
        row["offset_pred_tremonti"] = row["median_pred"] - row["tremonti"]
        if truth is not None:
            known = inside & np.isfinite(truth)
            row["median_true"] = float(np.median(truth[known])) if known.any() else np.nan
            row["median_pred_minus_true"] = row["median_pred"] - row["median_true"]
        rows.append(row)
    out = QTable(rows=rows)
    for name in out.colnames:
        if out[name].dtype.kind == "f":
            out[name].info.format = ".4f"
    return out
