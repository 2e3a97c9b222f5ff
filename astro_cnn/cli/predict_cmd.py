"""``astro-cnn predict``: a table file in, a table file of predictions out."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..api import predict
from ..table_io import read_table, write_table

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``predict`` sub-command."""
    parser = subparsers.add_parser(
        "predict", help="predict a quantity for every row of a table",
        description="Read a table of galaxies (ECSV, FITS, VOTable, CSV, Parquet, ...), predict a quantity "
                    "for every row and write the table of predictions (same rows, same order).")
    parser.add_argument("table", type=Path, help="input table file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output table file (format from suffix)")
    parser.add_argument("-q", "--quantity", help="quantity to predict (see `astro-cnn plugins --kind quantity`)")
    parser.add_argument("-m", "--model", help="saved model file or installed model name (default: the "
                                              "quantity's default model)")
    parser.add_argument("--survey", help="survey to take images from (default: the model's)")
    parser.add_argument("--ra", help="right ascension column (found automatically if omitted)")
    parser.add_argument("--dec", help="declination column")
    parser.add_argument("--coord", help="SkyCoord column to use instead of --ra/--dec")
    parser.add_argument("--id-column", help="identifier column carried to the output")
    parser.add_argument("--image-column", help="column naming image files (JPEG, PNG, FITS) to use instead "
                                               "of survey cutouts")
    parser.add_argument("--image-dir", type=Path, help="directory relative image paths are in "
                                                       "(default: the input table's directory)")
    parser.add_argument("--batch-size", type=int, default=256, help="rows per chunk (default 256)")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument("--format", help="astropy format name of the input, overriding its suffix")
    return parser


def run(args: argparse.Namespace) -> int:
    """Predict and write the output table atomically."""
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{str(args.output)!r} already exists; pass --overwrite to replace it")
    table = read_table(args.table, format=args.format)
    image_dir = args.image_dir if args.image_dir is not None else args.table.resolve().parent
    result = predict(table, quantity=args.quantity, survey=args.survey, model=args.model, ra=args.ra,
                     dec=args.dec, coord=args.coord, id_column=args.id_column, image_column=args.image_column,
                     image_dir=image_dir, batch_size=args.batch_size, progress=True)
    write_table(result, args.output, overwrite=args.overwrite)
    n_flagged = int(result["flag"].sum())
    print(f"wrote {len(result)} rows to {args.output} ({n_flagged} flagged)")
    return 0
