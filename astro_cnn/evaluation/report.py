"""One call writes an evaluation report: metrics tables, figures and a short Markdown summary."""

from __future__ import annotations

from pathlib import Path

from astropy.table import Table

from ..table_io import write_table
from .figures import prediction_figure
from .metrics import binned_metrics, column_values, evaluate

__all__ = ["write_report"]


def write_report(table: Table, directory: str | Path, *, true: str, pred: str, by: str | None = None,
                 bins: int = 5, outlier_threshold: float = 0.3, overwrite: bool = False) -> Path:
    """Write ``metrics.ecsv``, ``binned_metrics.ecsv``, ``prediction.png``/``.pdf`` and ``summary.md``.

    Parameters
    ----------
    table : Table
        Predictions with the true values.
    directory : path
        Report directory (created); existing report files are kept unless ``overwrite``.
    true, pred : str
        Column names.
    by, bins, outlier_threshold
        As :func:`astro_cnn.evaluation.binned_metrics`.
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
    """
    directory = Path(directory)
    names = ["metrics.ecsv", "binned_metrics.ecsv", "prediction.png", "prediction.pdf", "summary.md"]
    existing = [n for n in names if (directory / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{str(directory / existing[0])!r} already exists; pass --overwrite to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    metrics = evaluate(table, true, pred, outlier_threshold=outlier_threshold)
    write_table(metrics, directory / "metrics.ecsv", overwrite=True)
    write_table(binned_metrics(table, true, pred, by, bins, outlier_threshold=outlier_threshold),
                directory / "binned_metrics.ecsv", overwrite=True)
    unit = str(getattr(table[true], "unit", "") or "")
    for suffix in ("png", "pdf"):
        prediction_figure(column_values(table, true), column_values(table, pred), directory / f"prediction.{suffix}",
                          label=pred, true_label=true, unit=unit)
    row = metrics[0]
    summary = (f"# Evaluation of `{pred}` against `{true}`\n\n"
               f"N = {row['n']} ({row['n_excluded']} flagged or missing rows left out)\n\n"
               f"| RMSE | NMAD | mean bias | median bias | outliers (>{outlier_threshold:g}) |\n|---|---|---|---|---|\n"
               f"| {_value(row['rmse']):.4f} | {_value(row['nmad']):.4f} | {_value(row['bias_mean']):+.4f} | "
               f"{_value(row['bias_median']):+.4f} | {100 * row['outlier_fraction']:.2f} % |\n\n"
               "Figures: `prediction.png` / `prediction.pdf`; metrics in bins: `binned_metrics.ecsv`.\n")
    (directory / "summary.md").write_text(summary, encoding="utf-8")
    return directory


def _value(quantity) -> float:
    return float(getattr(quantity, "value", quantity))
