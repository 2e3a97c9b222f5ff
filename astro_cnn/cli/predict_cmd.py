"""``astro-cnn predict``: a table file in, a table file of predictions out (streamed, resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._atomic import check_destination
from ..exceptions import AstroCNNError
from ..image_checks import MIN_CENTRE_SNR
from ..resampling import PixelScaleMismatchError
from ..streaming import PredictionSummary, predict_to_file
from .options import non_negative_int, non_negative_number, positive_int, survey_options

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``predict`` sub-command."""
    parser = subparsers.add_parser(
        "predict", help="predict a quantity for every row of a table",
        description="Read a table of galaxies (ECSV, FITS, VOTable, CSV, Parquet, ...), predict a quantity "
                    "for every row and write the table of predictions (same rows, same order). Results are "
                    "streamed to OUTPUT.partial.ecsv as they come; an interrupted run continues with --resume.")
    parser.add_argument("table", type=Path, help="input table file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output table file (format from suffix; "
                                                                         ".ecsv streams with constant memory)")
    parser.add_argument("-q", "--quantity", help="quantity to predict (see `astro-cnn plugins --kind quantity`)")
    parser.add_argument("-m", "--model", help="saved model file or installed model name (default: the "
                                              "quantity's default model)")
    parser.add_argument("--survey", help="survey to take images from (default: the model's)")
    parser.add_argument("--survey-option", action="append", default=[], metavar="KEY=VALUE",
                        help="option for the survey, e.g. cache_dir=/data/cache or offline=true (repeatable)")
    parser.add_argument("--ra", help="right ascension column (found automatically if omitted)")
    parser.add_argument("--dec", help="declination column")
    parser.add_argument("--coord", help="SkyCoord column to use instead of --ra/--dec")
    parser.add_argument("--id-column", help="identifier column carried to the output")
    parser.add_argument("--image-column", help="column naming image files (JPEG, PNG, FITS) to use instead "
                                               "of survey cutouts")
    parser.add_argument("--image-dir", type=Path, help="directory relative image paths are in "
                                                       "(default: the input table's directory)")
    parser.add_argument("--keep-column", action="append", default=[], metavar="NAME",
                        help="copy this input column into the output (repeatable), e.g. spectroscopic values")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="rows per chunk (default 256)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run writing OUTPUT")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (e.g. tcp://host:8786): "
                                                               "map chunks over its workers")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument("--device", default="auto", help="where the model runs: auto (a GPU when one is visible), "
                                                         "cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--workers", type=non_negative_int,
                        help="processes reading images ahead of the model (default: none on a CPU; on a GPU, all "
                             "CPUs but one; never more than the chunks to read or 4 per CPU)")
    parser.add_argument("--min-centre-snr", type=non_negative_number, default=MIN_CENTRE_SNR,
                        help="flag rows whose image shows no source at the centre: signal-to-noise ratio in a "
                             f"1 arcsec aperture below this (default {MIN_CENTRE_SNR:g}; 0 keeps every image)")
    parser.add_argument("--resample", action="store_true",
                        help="resample the survey's images, flux-conserving, to the model's pixel scale when they "
                             "differ (without it such a survey is refused)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--format", help="astropy format name of the input, overriding its suffix")
    return parser


def run(args: argparse.Namespace) -> int:
    """Predict, streaming to the output file."""
    from ..table_io import check_output_format, read_table

    check_output_format(args.output)
    check_destination(args.output, args.overwrite)
    options = _survey_options(args)
    table = read_table(args.table, format=args.format) if args.format else args.table
    image_dir = args.image_dir if args.image_dir is not None else args.table.resolve().parent
    client = _client(args.scheduler)
    try:
        summary = predict_to_file(table, args.output, quantity=args.quantity, survey=args.survey, model=args.model,
                                  resume=args.resume, overwrite=args.overwrite, batch_size=args.batch_size,
                                  progress=not args.no_progress,
                                  client=client, survey_options=options, device=args.device, workers=args.workers,
                                  min_centre_snr=args.min_centre_snr if args.min_centre_snr > 0 else None,
                                  image_dir=image_dir, ra=args.ra, dec=args.dec, coord=args.coord,
                                  id_column=args.id_column, image_column=args.image_column,
                                  keep_columns=args.keep_column, resample=args.resample)
    except PixelScaleMismatchError as exc:  # the same refusal, naming the flag instead of the argument
        raise PixelScaleMismatchError(exc.model, exc.model_scale, exc.survey, exc.survey_scale,
                                      option="--resample") from None
    finally:
        if client is not None:
            client.close()
    return report(summary, args.table)


def report(summary: PredictionSummary, source: Path) -> int:
    """Print what was written and how many rows are flagged; 1 when no row has a value, else 0."""
    print(f"wrote {summary.rows} rows of {source} to {summary.path}: {summary.flagged} of {summary.rows} "
          f"rows flagged (see the status column)")
    for reason, count in list(summary.reasons.items())[:5]:
        print(f"  {count} x {reason}")
    if summary.rows and summary.without_value == summary.rows:
        print("astro-cnn: error: no row could be measured", file=sys.stderr)
        return 1
    return 0


def _survey_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--survey-option`` values checked against the survey images come from (--survey, else the model's)."""
    if args.image_column is not None and (args.survey_option or args.survey is not None or args.resample):
        flag = "--survey-option" if args.survey_option else "--survey" if args.survey is not None else "--resample"
        raise AstroCNNError(f"{flag} does not apply with --image-column: the images come from the files")
    if not args.survey_option:
        return {}
    if args.survey is not None:
        return survey_options(args.survey_option, args.survey)
    from ..models import resolve_predictor

    return survey_options(args.survey_option, resolve_predictor(args.model, args.quantity).survey)


def _client(address: str | None):
    if address is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise AstroCNNError("--scheduler needs Dask: pip install 'astro_cnn[dask]'") from None
    try:
        return Client(address)
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler --scheduler {address}: {exc}") from None
