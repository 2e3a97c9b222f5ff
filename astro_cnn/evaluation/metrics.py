"""Regression metrics (RMSE, NMAD, bias, outlier fraction), globally and in bins of any column."""

from __future__ import annotations

from collections.abc import Sequence

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from ..arguments import checked_table
from ..exceptions import ColumnError

__all__ = ["rmse", "nmad", "regression_metrics", "evaluate", "binned_metrics", "column_values", "flag_values"]


def rmse(residual: np.ndarray) -> float:
    """Root mean square of the residuals."""
    return float(np.sqrt(np.mean(np.square(residual))))


def nmad(residual: np.ndarray) -> float:
    """Normalised median absolute deviation, ``1.4826 × median(|x − median(x)|)``."""
    residual = np.asarray(residual, dtype=float)
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def regression_metrics(true: np.ndarray, pred: np.ndarray, outlier_threshold: float = 0.3) -> dict[str, float]:
    """RMSE, NMAD, mean and median bias and the fraction of ``|pred − true|`` > ``outlier_threshold``.

    Rows where either value is not finite are left out and counted in ``n_excluded``.
    """
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    good = np.isfinite(true) & np.isfinite(pred)
    residual = pred[good] - true[good]
    if not len(residual):
        return {"n": 0, "n_excluded": int((~good).sum()), "rmse": np.nan, "nmad": np.nan, "bias_mean": np.nan,
                "bias_median": np.nan, "outlier_fraction": np.nan}
    return {"n": int(good.sum()), "n_excluded": int((~good).sum()), "rmse": rmse(residual), "nmad": nmad(residual),
            "bias_mean": float(residual.mean()), "bias_median": float(np.median(residual)),
            "outlier_fraction": float(np.mean(np.abs(residual) > outlier_threshold))}


def column_values(table: Table, name: str, *, booleans: bool = False) -> np.ndarray:
    """A column as plain floats (units dropped, masked values and flagged rows as NaN).

    ``booleans=True`` takes a column of booleans as 0 and 1 (a column to bin on, such as ``is_agn``); true
    values and predictions are numbers.

    Raises
    ------
    ColumnError
        The column is not in the table, or does not hold one number per row (text, booleans, arrays).
    """
    if name not in checked_table(table).colnames:
        raise ColumnError(f"column {name!r} is not in the table; its columns are: {', '.join(table.colnames)}")
    column = table[name]
    values = getattr(column, "value", column)
    kind = getattr(values, "dtype", np.dtype(object)).kind
    if kind not in ("biuf" if booleans else "iuf"):
        what = "text" if kind in "US" else "booleans" if kind == "b" else f"{values.dtype} values"
        raise ColumnError(f"column {name!r} holds {what}, not numbers")
    if np.ndim(values) != 1:
        raise ColumnError(f"column {name!r} holds several values per row ({np.shape(values)[1:]}), not one number")
    values = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    if "flag" in table.colnames:
        values = np.where(flag_values(table["flag"]), np.nan, values)
    return values


def flag_values(column) -> np.ndarray:
    """A ``flag`` column as booleans: booleans or numbers as they are, text as written (``True``/``False``, as CSV
    and other text tables hold them; any case); a masked (unknown) flag counts as flagged.

    Parameters
    ----------
    column : Column or array-like

    Returns
    -------
    ndarray of bool

    Raises
    ------
    ColumnError
        Text that is neither ``True`` nor ``False`` (the first such row is named).
    """
    masked = np.ma.getmaskarray(column) if hasattr(column, "mask") else np.zeros(len(column), bool)
    values = np.asarray(np.ma.getdata(column))
    if values.dtype.kind not in "US":
        return values.astype(bool) | masked
    text = np.char.lower(np.char.strip(values.astype(str)))
    odd = np.flatnonzero(~np.isin(text, ["true", "false"]) & ~masked)
    if len(odd):
        raise ColumnError(f"column 'flag' holds {str(values[odd[0]])!r} in row {int(odd[0])}: expected True or False")
    return (text == "true") | masked


def _in_unit_of(table: Table, name: str, reference: str) -> np.ndarray:
    """Column ``name`` as floats in the unit of column ``reference`` (either may have none).

    Raises
    ------
    ColumnError
        Both columns have units and one cannot be converted to the other.
    """
    values = column_values(table, name)
    unit, target = getattr(table[name], "unit", None), getattr(table[reference], "unit", None)
    if unit is None or target is None or unit == target:
        return values
    try:
        return (values * unit).to_value(target)
    except u.UnitsError:
        raise ColumnError(f"column {name!r} is in {unit} but {reference!r} is in {target}: they cannot be "
                          f"compared") from None


def evaluate(table: Table, true: str, pred: str | Sequence[str], *, outlier_threshold: float = 0.3) -> QTable:
    """Table in, table of metrics out: one row per prediction column.

    Parameters
    ----------
    table : Table
        Holds the true values and one or more prediction columns (e.g. the output of
        :func:`astro_cnn.predict` joined with spectroscopic values).  Rows flagged in a ``flag``
        column or with NaN are left out and counted.
    true : str
        Column of true values.
    pred : str or sequence of str
        Prediction column(s), compared on the same rows.
    outlier_threshold : float
        Absolute residuals above this count as outliers.

    Returns
    -------
    QTable
        Columns ``method``, ``n``, ``n_excluded``, ``rmse``, ``nmad``, ``bias_mean``, ``bias_median``,
        ``outlier_fraction``; error columns carry the unit of the true column (dex for log quantities).
    """
    outlier_threshold = check_threshold(outlier_threshold)
    names = [pred] if isinstance(pred, str) else list(pred)
    truth = column_values(table, true)
    rows = [{"method": name, **regression_metrics(truth, _in_unit_of(table, name, true), outlier_threshold)}
            for name in names]
    out = QTable(rows=rows)
    unit = _difference_unit(table[true])
    for name in ("rmse", "nmad", "bias_mean", "bias_median"):
        if unit is not None:
            out[name] = out[name] * unit
        out[name].info.format = ".4f"
    out["outlier_fraction"].info.format = ".4f"
    out.meta["true"] = true
    out.meta["outlier_threshold"] = outlier_threshold
    return out


def binned_metrics(table: Table, true: str, pred: str, by: str | None = None, bins: int | Sequence[float] = 5,
                   *, outlier_threshold: float = 0.3) -> QTable:
    """Metrics in bins of ``by`` (default: the true value), one row per bin.

    Parameters
    ----------
    table, true, pred, outlier_threshold
        As :func:`evaluate`.
    by : str, optional
        Column to bin on (e.g. stellar mass); default ``true``.
    bins : int, sequence of float or Quantity
        Number of equal-count bins, or bin edges (a Quantity is converted to the unit of ``by``).

    Returns
    -------
    QTable
        One row per bin: ``bin_low`` and ``bin_high`` (in the unit of ``by``), and the columns of
        :func:`evaluate`, its errors in the unit of ``true``.

    Raises
    ------
    ValueError
        ``bins`` is not a positive number of bins nor increasing edges, the column binned on has no
        finite value to bin, or ``outlier_threshold`` is not a non-negative number.
    ColumnError
        ``pred`` cannot be converted to the unit of ``true``, or ``bins`` has a unit that ``by`` does not.
    """
    outlier_threshold = check_threshold(outlier_threshold)
    truth, values = column_values(table, true), _in_unit_of(table, pred, true)
    key = column_values(table, by or true, booleans=by is not None)
    key_unit = getattr(table[by or true], "unit", None)
    if isinstance(bins, u.Quantity):
        if key_unit is None:
            raise ColumnError(f"bins are in {bins.unit} but column {by or true!r} has no unit")
        try:
            bins = bins.to_value(key_unit)
        except u.UnitsError:
            raise ColumnError(f"bins are in {bins.unit}, which does not convert to the {key_unit} of column "
                              f"{by or true!r}") from None
    rows = [{"bin_low": lo, "bin_high": hi, **regression_metrics(truth[inside], values[inside], outlier_threshold)}
            for lo, hi, inside in value_bins(key, bins, name=f"column {by or true!r}")]
    out = QTable(rows=rows)
    unit = _difference_unit(table[true])
    for name in ("rmse", "nmad", "bias_mean", "bias_median") if unit is not None else ():
        out[name] = out[name] * unit
    for name in ("bin_low", "bin_high") if key_unit is not None else ():
        out[name] = out[name] * key_unit
    out.meta.update({"true": true, "pred": pred, "by": by or true})
    return out


def value_bins(key: np.ndarray, bins: int | Sequence[float], *, name: str
               ) -> list[tuple[float, float, np.ndarray]]:
    """Bins of ``key``, the last closed on its upper edge.

    With equal-count bins every finite value lies in exactly one bin (tied values, which make equal
    edges, in the last bin that starts at them).

    Parameters
    ----------
    key : ndarray
        The values binned on; non-finite ones fall in no bin.
    bins : int or sequence of float
        Number of equal-count bins of the finite values, or increasing bin edges (the outer ones may be
        infinite).
    name : str
        What ``key`` is, for the error (e.g. ``"column 'mass'"``).

    Returns
    -------
    list of (float, float, ndarray of bool)
        Each bin's lower and upper edge and which values of ``key`` lie in it.

    Raises
    ------
    ValueError
        ``bins`` is not a positive number of bins nor at least two increasing edges, or equal-count bins
        were asked of a ``key`` with no finite value.
    """
    key = np.asarray(key, dtype=float)
    good = np.isfinite(key)
    if np.ndim(bins) == 0:
        count = bins.item() if isinstance(bins, np.ndarray) else bins
        if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"bins must be a positive number of bins or a sequence of edges, got {count!r}")
        if not good.any():
            raise ValueError(f"{name} has no finite value to bin on")
        edges = np.quantile(key[good], np.linspace(0, 1, int(count) + 1))
    else:
        try:
            edges = np.asarray(bins, dtype=float)
        except (TypeError, ValueError):
            edges = np.array([np.nan])
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.isnan(edges)) or np.any(np.diff(edges) <= 0):
            given = np.asarray(bins).tolist()
            shown = given[:10] + ["..."] if isinstance(given, list) and len(given) > 10 else given
            raise ValueError(f"bins must be at least two increasing edges, got {shown}")
    last = len(edges) - 2
    return [(float(lo), float(hi), good & (key >= lo) & ((key < hi) | ((k == last) & (key <= hi))))
            for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]


def check_threshold(value: object) -> float:
    """Return an outlier threshold as a float; refuse one that is not a finite, non-negative number.

    Raises
    ------
    ValueError
        ``value`` is text, negative, NaN or infinite.
    """
    try:
        threshold = np.nan if isinstance(value, (bool, np.bool_)) else float(value)
    except (TypeError, ValueError):
        threshold = np.nan
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"outlier_threshold must be a non-negative number, got {value!r}")
    return threshold


def _difference_unit(column) -> u.UnitBase | None:
    unit = getattr(column, "unit", None)
    if unit is None:
        return None
    return u.dex if isinstance(unit, u.FunctionUnitBase) or unit == u.dex else unit
