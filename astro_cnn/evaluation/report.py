"""One call writes an evaluation report: metrics tables, figures and a short Markdown summary."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from .._atomic import atomic_path
from ..exceptions import AstroCNNError
from ..quantity import Quantity
from ..table_io import write_table
from .figures import AXIS_LABELS, prediction_figure
from .metrics import binned_metrics, column_values, evaluate, value_bins
from .photoz import evaluate_photoz, photoz_metrics

__all__ = ["write_report", "quantity_of"]


def quantity_of(table: Table, true: str, pred: str) -> Quantity | None:
    """The registered quantity a predictions table holds, or None.

    Taken from the table's metadata (``meta["astro_cnn"]["quantity"]``, written by :func:`astro_cnn.predict`),
    else from the column names: a quantity whose output column or a training-label column is ``pred`` or ``true``
    (``oh_p50`` is metallicity, ``z_spec`` photo-z).
    """
    from .. import registry

    quantities = {name: c.spec for name, c in registry.components("quantity").items()}
    name = (table.meta.get("astro_cnn") or {}).get("quantity")
    if name in quantities:
        return quantities[name]
    for column in (pred, true):
        for quantity in quantities.values():
            if column in (quantity.column, *quantity.label_columns):
                return quantity
    return None


def write_report(table: Table, directory: str | Path, *, true: str, pred: str, by: str | None = None,
                 bins: int = 5, outlier_threshold: float | str | None = None,
                 residual: Literal["difference", "delta_z"] | None = None, remove_widest: float = 0.0,
                 overwrite: bool = False) -> Path:
    """Write ``metrics.ecsv``, ``binned_metrics.ecsv``, ``prediction.png``/``.pdf`` and ``summary.md``.

    The figure's axes are labelled with the quantity's physical label
    (:data:`~astro_cnn.evaluation.figures.AXIS_LABELS`, the quantity found by
    :func:`~astro_cnn.evaluation.report.quantity_of`).  Photometric redshifts are judged on
    Δz = (z_phot − z_spec)/(1 + z_spec)
    with the metrics of :func:`astro_cnn.evaluation.evaluate_photoz` (bias, σ_MAD, outlier fraction η, and
    CRPS and PIT from the PDFs when the table has them), the same numbers ``astro-cnn evaluate --photoz``
    prints.

    Parameters
    ----------
    table : Table
        Predictions with the true values.
    directory : path
        Report directory (created); existing report files are kept unless ``overwrite``.
    true, pred : str
        Column names.
    by, bins
        As :func:`astro_cnn.evaluation.binned_metrics`.
    outlier_threshold : float or "rail", optional
        Outlier limit on the residual; default 0.3 (in the unit of the values), or 0.05 on Δz for photo-z;
        "rail" (photo-z only) as :func:`astro_cnn.evaluation.photoz_metrics`.
    residual : {"difference", "delta_z"}, optional
        Judge ``pred − true`` or the photo-z Δz; default "delta_z" for a PDF quantity (photo-z), else "difference".
    remove_widest : float
        Photo-z only: leave out this fraction of the widest PDFs first (as ``evaluate_photoz``).
    overwrite : bool
        Replace an earlier report.

    Returns
    -------
    Path
        The report directory.

    Raises
    ------
    FileExistsError
        A report file exists and ``overwrite`` is false.
    ValueError
        ``residual`` is neither "difference" nor "delta_z", ``outlier_threshold`` is "rail" or
        ``remove_widest`` is given for a report that is not on Δz, or the column binned on (``by``, default
        ``true``) has no finite value (nothing is written).
    AstroCNNError
        No row has both a usable prediction and a true value (nothing is written).
    """
    directory = Path(directory)
    check_report_destination(directory, overwrite)
    quantity = quantity_of(table, true, pred)
    if residual is None:
        residual = "delta_z" if quantity is not None and quantity.kind == "pdf" else "difference"
    if residual not in ("delta_z", "difference"):
        raise ValueError(f"residual must be 'difference' or 'delta_z', not {residual!r}")
    photoz = residual == "delta_z"
    if remove_widest and not photoz:
        raise ValueError("remove_widest leaves out the widest photo-z PDFs: it goes with residual='delta_z'")
    if outlier_threshold is None:
        outlier_threshold = 0.05 if photoz else 0.3
    if outlier_threshold == "rail" and not photoz:
        raise ValueError("outlier_threshold='rail' goes with photo-z residuals (residual='delta_z')")
    _check_rows(table, true, pred)
    if photoz:
        has_pdf = "z_pdf" in table.colnames and "pdf_bin_edges" in (table.meta.get("astro_cnn") or {})
        metrics = evaluate_photoz(table, true, pred, pdf="z_pdf" if has_pdf else None,
                                  outlier_threshold=outlier_threshold, remove_widest=remove_widest)
        binned = _binned_photoz(table, true, pred, by, bins, outlier_threshold)
        row = metrics[0]
        threshold = float(row["outlier_threshold"])
        header = "| N | ⟨Δz⟩ | σ_MAD | outliers η (|Δz|/(1+z_spec) > {t:g}) |\n|---|---|---|---|\n"
        table_md = (header.format(t=threshold)
                    + f"| {row['n']} | {row['bias']:+.4f} | {row['sigma_mad']:.4f} | "
                      f"{100 * row['outlier_fraction']:.2f} % |\n")
        counted = f"N = {row['n']} (Δz = (z_phot − z_spec)/(1 + z_spec))"
    else:
        metrics = evaluate(table, true, pred, outlier_threshold=outlier_threshold)
        binned = binned_metrics(table, true, pred, by, bins, outlier_threshold=outlier_threshold)
        row = metrics[0]
        threshold = float(outlier_threshold)
        table_md = (f"| RMSE | NMAD | mean bias | median bias | outliers (|pred − true| > {threshold:g}) |\n"
                    "|---|---|---|---|---|\n"
                    f"| {_value(row['rmse']):.4f} | {_value(row['nmad']):.4f} | {_value(row['bias_mean']):+.4f} | "
                    f"{_value(row['bias_median']):+.4f} | {100 * row['outlier_fraction']:.2f} % |\n")
        counted = f"N = {row['n']} ({row['n_excluded']} flagged or missing rows left out)"
    directory.mkdir(parents=True, exist_ok=True)
    write_table(metrics, directory / "metrics.ecsv", overwrite=True)
    write_table(binned, directory / "binned_metrics.ecsv", overwrite=True)
    unit = getattr(table[true], "unit", None) or (quantity.unit if quantity is not None else None)
    logarithmic = isinstance(unit, u.FunctionUnitBase) or unit == u.dex
    label = AXIS_LABELS.get(quantity.name, true) if quantity is not None else true
    values_unit = "" if logarithmic or unit in (None, u.dimensionless_unscaled) else unit.to_string()
    for suffix in ("png", "pdf"):
        prediction_figure(column_values(table, true), column_values(table, pred), directory / f"prediction.{suffix}",
                          label=label, unit=values_unit, residual_unit="dex" if logarithmic else values_unit,
                          residual=residual, outlier_threshold=threshold)
    summary = (f"# Evaluation of `{pred}` against `{true}`\n\n{counted}\n\n{table_md}\n"
               "Figures: `prediction.png` / `prediction.pdf`; metrics in bins: `binned_metrics.ecsv`.\n")
    with atomic_path(directory / "summary.md", overwrite=True) as tmp:
        tmp.write_text(summary, encoding="utf-8")
    return directory


#: The files :func:`write_report` writes into its directory, and the PDF figures written beside them.
REPORT_FILES = ("metrics.ecsv", "binned_metrics.ecsv", "prediction.png", "prediction.pdf", "summary.md", "pit.png",
                "pdf_gallery.png")


def check_report_destination(directory: str | Path, overwrite: bool = False) -> None:
    """Refuse a report directory holding an earlier report's files unless ``overwrite``.

    Raises
    ------
    FileExistsError
        One of :data:`REPORT_FILES` exists in ``directory`` and ``overwrite`` is false.
    """
    existing = [name for name in REPORT_FILES if (Path(directory) / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{str(Path(directory) / existing[0])!r} already exists; pass overwrite=True to "
                              "replace it")


def _check_rows(table: Table, true: str, pred: str) -> None:
    """Refuse, before any file is written, a table in which no row has both a usable prediction and a true value
    (a half-written report would need --overwrite to redo)."""
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(column_values(table, true)) & np.isfinite(column_values(table, pred))
    if not usable.any():
        raise AstroCNNError(f"no row of {len(table)} has both a usable {pred!r} and a true {true!r} (flagged, masked "
                            f"or non-finite rows are left out): there is nothing to report")


def _binned_photoz(table: Table, true: str, pred: str, by: str | None, bins: int,
                   outlier_threshold: float | str) -> QTable:
    """Photo-z metrics in equal-count bins of ``by`` (default the true redshift)."""
    z_spec, z_phot = column_values(table, true), column_values(table, pred)
    key = column_values(table, by or true, booleans=by is not None)
    rows = [{"bin_low": lo, "bin_high": hi,
             **photoz_metrics(z_spec[inside], z_phot[inside], outlier_threshold=outlier_threshold)}
            for lo, hi, inside in value_bins(key, bins, name=f"column {by or true!r}")]
    out = QTable(rows=rows)
    out.meta.update({"true": true, "pred": pred, "by": by or true})
    return out


def _value(quantity) -> float:
    return float(getattr(quantity, "value", quantity))
