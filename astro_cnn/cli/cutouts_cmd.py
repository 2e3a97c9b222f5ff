"""``astro-cnn cutouts``: a table of galaxies in, one image file per row plus an index table out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._atomic import same_file
from ..cutouts import as_targets, write_cutouts
from .options import positive_int, survey_options

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``cutouts`` sub-command."""
    parser = subparsers.add_parser(
        "cutouts", help="fetch survey images for every row of a table",
        description="Read a table of galaxies and write one image per row into OUTDIR (JPEG for colour "
                    "cutouts, FITS with WCS and a WEIGHT extension for stacks) plus OUTDIR/index.ecsv with a "
                    "status column; failed rows are listed there with the reason.")
    parser.add_argument("table", type=Path, help="input table file (ECSV, FITS, VOTable, CSV, ...)")
    parser.add_argument("-o", "--output-dir", "--outdir", dest="outdir", type=Path, required=True,
                        help="output directory (as in `astro-cnn demo`; --outdir is the former name)")
    parser.add_argument("--survey", help="survey (default: the survey an installed plugin marks as the "
                                         "default; see `astro-cnn plugins --kind survey`)")
    parser.add_argument("--size", type=positive_int, help="side in pixels (default: the survey's)")
    parser.add_argument("--survey-option", action="append", default=[], metavar="KEY=VALUE",
                        help="survey option, e.g. cache_dir=DIR, offline=true, jpeg_dir=DIR, frames_dir=DIR "
                             "(repeatable)")
    parser.add_argument("--ra", help="right ascension column (found automatically if omitted)")
    parser.add_argument("--dec", help="declination column")
    parser.add_argument("--id-column", help="identifier column (names the files)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="rows fetched together (default 256)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--format", help="astropy format name of the input, overriding its suffix")
    return parser


def run(args: argparse.Namespace) -> int:
    """Fetch and write the images."""
    from ..survey_factory import default_survey
    from ..table_io import read_table

    if same_file(args.table, args.outdir / "index.ecsv"):
        raise FileExistsError(f"the table {str(args.table)!r} is the index that cutouts writes into --output-dir "
                              f"{str(args.outdir)!r}: give another --output-dir (the table would be lost)")
    args.survey = args.survey or default_survey()
    options = survey_options(args.survey_option, args.survey)
    table = read_table(args.table, format=args.format)
    targets = as_targets(table, ra=args.ra, dec=args.dec, id_column=args.id_column)
    index = write_cutouts(targets, args.outdir, args.survey, size=args.size, batch_size=args.batch_size,
                          overwrite=args.overwrite, progress=not args.no_progress, **options)
    failed = int((index["status"] != "ok").sum())
    print(f"wrote {len(index) - failed} images to {args.outdir} ({failed} failed; see {args.outdir / 'index.ecsv'})")
    if len(index) and failed == len(index):  # as predict: nothing made is a failure, not a success
        print(f"astro-cnn: error: no image could be made for any of the {len(index)} rows", file=sys.stderr)
        return 1
    return 0
