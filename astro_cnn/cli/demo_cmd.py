"""``astro-cnn demo``: the installed default models on the real galaxies their plugins ship, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from astropy.table import QTable

from .. import registry
from .._atomic import check_destination
from ..api import predict
from ..exceptions import ModelNotFoundError
from ..table_io import read_table, write_table
from .pdf_figures import pdf_figures

__all__ = ["add_parser", "run", "run_demo"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo", help="predict for the bundled real SDSS galaxies and evaluate (no network needed)",
        description="Run every installed default model on the real galaxies its plugin ships (with their cached "
                    "cutouts), write the predictions and an evaluation report, and print where they are.")
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("astro_cnn_demo"),
                        help="directory for the outputs (default ./astro_cnn_demo)")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs of an earlier demo")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the demo and print a summary."""
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise FileExistsError(f"--output-dir {str(args.output_dir)!r} is a file, not a directory")
    for line in run_demo(args.output_dir, overwrite=args.overwrite):
        print(line)
    return 0


def run_demo(output_dir: Path, overwrite: bool = False) -> list[str]:
    """Predict for each default model's demo table; returns the lines to print.

    Raises
    ------
    ModelNotFoundError
        No installed model ships a demo table.
    """
    from ..evaluation import evaluate, write_report
    from ..evaluation.photoz import evaluate_photoz
    from ..evaluation.report import check_report_destination

    specs = [c.spec for c in registry.components("model").values() if c.spec.default and c.spec.demo_table]
    if not specs:
        raise ModelNotFoundError("no installed model ships demo galaxies; install astro_cnn with its built-in "
                                 "plugins (pip install astro_cnn)")
    specs = sorted(specs, key=lambda s: s.quantity)
    for spec in specs:  # every output checked before any work, so that a demo is never left half written
        check_destination(output_dir / f"{spec.name}_predictions.ecsv", overwrite)
        if spec.demo_truth_column:
            check_report_destination(output_dir / f"{spec.name}_report", overwrite)
    lines = []
    for spec in specs:
        table = read_table(spec.demo_table)
        result = predict(table, model=spec.name, image_column=spec.demo_image_column,
                         image_dir=Path(spec.demo_table).parent if spec.demo_image_column else None)
        quantity = registry.get("quantity", spec.quantity)
        for extra in (spec.demo_truth_column, spec.demo_reference_column):
            if extra:
                result[extra] = table[extra]
        out = write_table(result, output_dir / f"{spec.name}_predictions.ecsv", overwrite=overwrite)
        lines.append(f"{spec.quantity}: predicted {len(result)} galaxies with model {spec.name!r} "
                     f"({int(result['flag'].sum())} flagged) -> {out}")
        if spec.demo_truth_column:
            compared = [quantity.column] + ([spec.demo_reference_column] if spec.demo_reference_column else [])
            if quantity.kind == "pdf":
                metrics = evaluate_photoz(result, true=spec.demo_truth_column, pred=quantity.column)
            else:
                metrics = QTable(evaluate(result, true=spec.demo_truth_column, pred=compared))
            for name in metrics.colnames:
                if metrics[name].dtype.kind == "f":
                    metrics[name].info.format = ".4f"
            report = write_report(result, output_dir / f"{spec.name}_report", true=spec.demo_truth_column,
                                  pred=quantity.column, overwrite=overwrite)
            if quantity.pdf_column in result.colnames:
                pdf_figures(result, spec.demo_truth_column, quantity.pdf_column, report)
            table_lines = metrics.pformat(max_lines=-1, max_width=-1)
            lines += ["", *table_lines, "", f"evaluation report (figures, metrics) -> {report}",
                      f"(model card, with held-out numbers: astro-cnn models --card {spec.name})", ""]
    return lines

