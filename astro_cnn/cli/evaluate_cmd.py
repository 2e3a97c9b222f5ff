"""``astro-cnn evaluate``: metrics of a predictions table against true values, optionally a report."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    parser.add_argument("--outlier-threshold", default=None,
                        help="|pred - true| above this is an outlier (default 0.3; with --photoz |dz| > 0.05, "
                             "or 'rail' for max(0.06, 3 sigma_IQR))")
    parser.add_argument("--photoz", action="store_true",
                        help="photo-z metrics on dz = (pred - true)/(1 + true): bias, sigma_MAD, outliers, and "
                             "CRPS and PIT from the z_pdf column when present")
    parser.add_argument("--remove-widest", type=float, default=0.0, metavar="FRACTION",
                        help="with --photoz: leave out this fraction of the widest PDFs (z_width68) first")
    parser.add_argument("--by", help="also report metrics in bins of this column (default: the true value)")
    parser.add_argument("--bins", type=int, default=5, help="number of equal-count bins (default 5)")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write figures, metrics tables and a summary for the first --pred column here")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the metrics; write the report if asked."""
    from ..evaluation import binned_metrics, evaluate, write_report
    from ..table_io import read_table

    table = read_table(args.table)
    if args.photoz:
        from ..evaluation import evaluate_photoz

        threshold = "rail" if args.outlier_threshold == "rail" else float(args.outlier_threshold or 0.05)
        evaluate_photoz(table, args.true, args.pred[0], outlier_threshold=threshold,
                        remove_widest=args.remove_widest).pprint(max_lines=-1, max_width=-1)
        return 0
    threshold = float(args.outlier_threshold or 0.3)
    evaluate(table, args.true, args.pred, outlier_threshold=threshold).pprint(max_lines=-1, max_width=-1)
    if args.by:
        print()
        binned_metrics(table, args.true, args.pred[0], args.by, args.bins,
                       outlier_threshold=threshold).pprint(max_lines=-1, max_width=-1)
    if args.report:
        directory = write_report(table, args.report, true=args.true, pred=args.pred[0], by=args.by, bins=args.bins,
                                 outlier_threshold=threshold, overwrite=args.overwrite)
        print(f"\nreport written to {directory}")
    return 0
