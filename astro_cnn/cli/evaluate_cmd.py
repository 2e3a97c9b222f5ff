"""``astro-cnn evaluate``: metrics of a predictions table against true values, optionally a report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .options import fraction, outlier_threshold, positive_int

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate", help="metrics (RMSE, NMAD, bias, outliers) of predictions against true values",
        description="Print RMSE, NMAD, mean and median bias, outlier fraction and N of one or more prediction "
                    "columns against a column of true values; flagged rows are left out and counted.")
    parser.add_argument("table", type=Path, help="table file with the true and predicted columns")
    parser.add_argument("--true", required=True, help="column of true values (e.g. oh_p50)")
    parser.add_argument("--pred", required=True, action="append", help="prediction column (repeatable)")
    parser.add_argument("--outlier-threshold", type=outlier_threshold, default=None,
                        help="|pred - true| above this is an outlier (default 0.3; with --photoz |dz| > 0.05, "
                             "or 'rail' for max(0.06, 3 sigma_IQR))")
    parser.add_argument("--photoz", action="store_true",
                        help="photo-z metrics on dz = (pred - true)/(1 + true): bias, sigma_MAD, outliers, and "
                             "CRPS and PIT from the z_pdf column when present")
    parser.add_argument("--remove-widest", type=fraction, default=0.0, metavar="FRACTION",
                        help="with --photoz: leave out this fraction of the widest PDFs (z_width68) first")
    parser.add_argument("--by", help="also report metrics in bins of this column (default: the true value)")
    parser.add_argument("--bins", type=positive_int, default=5, help="number of equal-count bins (default 5)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write figures, metrics tables and a summary for the first --pred column here "
                             "(with --photoz on dz, with pit.png and pdf_gallery.png from z_pdf)")
    parser.add_argument("--resolution-study", action="store_true",
                        help="with --report: the --pred columns are one model each at an image size named by the "
                             "number ending the column (e.g. cnn_pred_64); write resolution.ecsv and "
                             "resolution.png/.pdf (scatter against image size, Wu & Boada 2019 Fig. 4)")
    parser.add_argument("--mzr", metavar="MASS_COLUMN",
                        help="with --report: write the mass-metallicity relation of the first --pred column and "
                             "the true values against this log(M*/Msun) column (mzr.ecsv, mzr.png/.pdf, with "
                             "Tremonti et al. 2004)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the metrics; write the report if asked."""
    from ..evaluation import binned_metrics, evaluate
    from ..table_io import read_table

    if (args.resolution_study or args.mzr) and not args.report:
        raise ValueError(f"{'--resolution-study' if args.resolution_study else '--mzr'} writes its table and "
                         f"figure into a report: add --report DIR")
    table = read_table(args.table)
    if args.outlier_threshold == "rail" and not args.photoz:
        raise ValueError("--outlier-threshold rail goes with --photoz; give a number")
    if args.photoz:
        from ..evaluation import evaluate_photoz

        threshold = 0.05 if args.outlier_threshold is None else args.outlier_threshold
        pdf = "z_pdf" if "pdf_bin_edges" in table.meta.get("astro_cnn", {}) else None
        if pdf is None and "z_pdf" in table.colnames:
            print(f"note: {args.table} has a z_pdf column but no PDF bin edges in its metadata "
                  f"(astro_cnn.pdf_bin_edges, written by astro-cnn predict); CRPS and PIT are left out")
        metrics = evaluate_photoz(table, args.true, args.pred[0], pdf=pdf, outlier_threshold=threshold,
                                  remove_widest=args.remove_widest)
        metrics.pprint(max_lines=-1, max_width=-1)
        if not _scored(metrics, table):
            return 1
        if args.report:
            _report(table, args, threshold, photoz=True)
        return 0
    threshold = 0.3 if args.outlier_threshold is None else args.outlier_threshold
    metrics = evaluate(table, args.true, args.pred, outlier_threshold=threshold)
    metrics.pprint(max_lines=-1, max_width=-1)
    if not _scored(metrics, table):
        return 1
    if args.by:
        print()
        binned_metrics(table, args.true, args.pred[0], args.by, args.bins,
                       outlier_threshold=threshold).pprint(max_lines=-1, max_width=-1)
    if args.report:
        _report(table, args, threshold)
    return 0


def _scored(metrics, table) -> bool:
    """Whether any row was scored; if none was, say so (as predict does when it measured none)."""
    if any(int(n) for n in metrics["n"]):
        return True
    print(f"astro-cnn: error: no row of {len(table)} could be scored (every row is flagged, or lacks a prediction "
          "or a true value)", file=sys.stderr)
    return False


def _report(table, args: argparse.Namespace, outlier_threshold, photoz: bool = False) -> None:
    """Write the report (with PDFs also the PIT and a PDF gallery) and the studies asked for.

    The studies are computed first, so that a study the table cannot give (a mass column of text, say)
    is refused before any of the report is written.
    """
    from ..evaluation import write_report
    from .pdf_figures import pdf_figures

    studies = []
    if args.resolution_study:
        studies.append(_resolution_study(table, args))
    if args.mzr:
        studies.append(_mzr_study(table, args))
    directory = write_report(table, args.report, true=args.true, pred=args.pred[0], by=args.by, bins=args.bins,
                             outlier_threshold=outlier_threshold, residual="delta_z" if photoz else "difference",
                             remove_widest=args.remove_widest, overwrite=args.overwrite)
    if photoz and "z_pdf" in table.colnames and "pdf_bin_edges" in table.meta.get("astro_cnn", {}):
        pdf_figures(table, args.true, "z_pdf", directory)
    for write_study in studies:
        write_study(directory)
    print(f"\nreport written to {directory}")


def _resolution_study(table, args: argparse.Namespace) -> Callable[[Path], None]:
    """Compute the resolution study; return what writes its table and figures into a report directory."""
    from ..evaluation import prediction_resolution_study, resolution_figure
    from ..table_io import write_table

    study = prediction_resolution_study(table, args.true, args.pred)
    unit = getattr(study["rmse"], "unit", None)

    def write(directory: Path) -> None:
        write_table(study, directory / "resolution.ecsv", overwrite=True)
        for suffix in ("png", "pdf"):
            resolution_figure(study, directory / f"resolution.{suffix}", unit=unit.to_string() if unit else "")
    return write


def _mzr_study(table, args: argparse.Namespace) -> Callable[[Path], None]:
    """Compute the mass-metallicity study; return what writes its table and figures into a report directory."""
    from ..evaluation import mzr_figure, mzr_study
    from ..evaluation.metrics import column_values
    from ..table_io import write_table

    mass, pred, true = (column_values(table, name) for name in (args.mzr, args.pred[0], args.true))
    if not np.any(np.isfinite(mass) & np.isfinite(pred)):
        raise ValueError(f"no row has both a finite --mzr {args.mzr!r} and a finite --pred {args.pred[0]!r} "
                         "(flagged rows are left out): there is no mass-metallicity relation to measure")
    study = mzr_study(mass, pred, true=true)

    def write(directory: Path) -> None:
        write_table(study, directory / "mzr.ecsv", overwrite=True)
        for suffix in ("png", "pdf"):
            mzr_figure(mass, pred, directory / f"mzr.{suffix}", true_metallicity=true)
    return write
