"""``astro-cnn baseline``: the fair baseline, a random forest on aperture photometry of the same images.

Fitted on the labelled rows of a training table and run on the rows of a test table, it writes
predictions in the same table contract as ``astro-cnn predict`` and, where the test table holds
the true values, prints its metrics next to the mean predictor's and a CNN's (``--compare``).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections import Counter
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from .._atomic import check_destination, same_file
from ..exceptions import AstroCNNError, ColumnError
from ..image_checks import MIN_CENTRE_SNR
from .options import non_negative_int, non_negative_number

__all__ = ["add_parser", "run"]

METHOD = "aperture-forest"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``baseline`` sub-command."""
    parser = subparsers.add_parser(
        "baseline", help="fit the fair baseline (random forest on aperture photometry) and predict a test table",
        description="Measure every image of a training and a test table with circular apertures (photutils; "
                    "magnitudes, colours and concentration in each band), fit a random forest to the training "
                    "labels and write its predictions for the test rows (same rows, same order; a row whose "
                    "image cannot be read or measured is flagged with the reason). Where the test table has "
                    "the true values, print the metrics of this baseline, of the mean predictor and, with "
                    "--compare, of a CNN's predictions on the same rows: a CNN earns its cost where it beats "
                    "this baseline.")
    parser.add_argument("train", type=Path, help="training table: an image-file column and a label column")
    parser.add_argument("test", type=Path, help="test table: the same image-file column (labels optional)")
    parser.add_argument("-q", "--quantity", required=True, help="quantity predicted (names the output column)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="predictions table to write")
    parser.add_argument("--image-column", required=True, help="column naming image files (JPEG, PNG, FITS)")
    parser.add_argument("--pixel-scale", type=_positive_float, required=True, metavar="ARCSEC",
                        help="pixel scale of the images in arcsec (SDSS cutouts 0.296, SDSS stacks 0.396)")
    parser.add_argument("--label-column", help="label column of both tables (default: the quantity's usual name)")
    parser.add_argument("--image-dir", type=Path, help="directory relative image paths are in (default: each "
                                                       "table's own directory)")
    parser.add_argument("--id-column", help="identifier column carried to the output (found automatically)")
    parser.add_argument("--radii", type=_radii, default=(1.0, 2.0, 4.0, 8.0), metavar="R1,R2,...",
                        help="aperture radii in arcsec, increasing (default 1,2,4,8)")
    parser.add_argument("--min-centre-snr", type=non_negative_number, default=MIN_CENTRE_SNR,
                        help="flag rows whose image shows no source at the centre: signal-to-noise ratio in a "
                             f"1 arcsec aperture below this (default {MIN_CENTRE_SNR:g}; 0 keeps every image)")
    parser.add_argument("--compare", type=Path, metavar="PREDICTIONS",
                        help="a predictions table of the test rows (e.g. from astro-cnn predict) to score beside "
                             "the baseline")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed of the forest (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    return parser


def run(args: argparse.Namespace) -> int:
    """Fit the baseline, write its predictions and print the comparison."""
    from .. import registry
    from ..evaluation.baselines import aperture_forest
    from ..evaluation.metrics import column_values
    from ..image_files import check_image_dir
    from ..table_io import check_output_format, read_table, write_table
    from ..target import ID_NAMES, find_optional_column

    check_output_format(args.output)
    for table_file, role in ((args.train, "training"), (args.test, "test")):
        if same_file(args.output, table_file):
            raise AstroCNNError(f"--output {str(args.output)!r} is the {role} table: write the predictions to "
                                f"another file (the table would be lost)")
    check_destination(args.output, args.overwrite)
    quantity = registry.get("quantity", args.quantity)
    train, test = read_table(args.train), read_table(args.test)
    for table, path, role in ((train, args.train, "training"), (test, args.test, "test")):
        if not len(table):
            raise ValueError(f"the {role} table {str(path)!r} has no rows")
    label = args.label_column or next((c for c in quantity.label_columns if c in train.colnames), None)
    if label is None or label not in train.colnames:
        raise ValueError(f"the training table {str(args.train)!r} has no label column "
                         f"{label or ' or '.join(quantity.label_columns)!r}; give --label-column")
    id_column = args.id_column or find_optional_column(test, ID_NAMES)
    names = _output_names(test, quantity, args, id_column, label)
    try:
        labels = column_values(train, label)
    except ColumnError as exc:
        raise ColumnError(f"the training table {str(args.train)!r}: {exc}") from None
    check_image_dir(args.image_dir)
    # read now, so that a table that cannot be compared is refused before any work
    compared = _compared_values(args.compare, test, quantity, id_column) if args.compare is not None else None
    min_snr = args.min_centre_snr if args.min_centre_snr > 0 else None
    train_images, train_status = _read_images(train, args, args.train, None, min_snr)
    test_images, status = _read_images(test, args, args.test, train_images.shape[1:], min_snr)
    usable = (train_status == "ok") & np.isfinite(labels)
    print(f"training on {int(usable.sum())} of {len(train)} rows of {args.train}")
    for reason, count in Counter(train_status[train_status != "ok"]).most_common(3):
        print(f"  left out {count} x {reason}")
    if usable.sum() < 2:
        raise ValueError(f"the training table {str(args.train)!r} has {int(usable.sum())} rows with a usable image "
                         f"and a finite label in column {label!r}: a forest needs at least 2")
    values = np.full(len(test), np.nan)
    measured = status == "ok"
    if measured.any():
        try:
            values[measured] = aperture_forest(train_images[usable], labels[usable], test_images[measured],
                                               args.pixel_scale * u.arcsec, args.radii, seed=args.seed)
        except ValueError as exc:
            raise ValueError(str(exc).replace("radii_arcsec", "--radii").replace("train_images, train_labels",
                                                                                   f"{args.train}")) from None
    status[measured & ~np.isfinite(values)] = "aperture photometry is not finite"
    out = _output(test, quantity, values, status, args, names, label, int(usable.sum()))
    write_table(out, args.output, overwrite=args.overwrite)
    print(f"wrote {len(out)} rows of {args.test} to {args.output}: {int(out['flag'].sum())} of {len(out)} rows "
          f"flagged (see the status column)")
    for reason, count in Counter(status[status != "ok"]).most_common(5):
        print(f"  {count} x {reason}")
    if out["flag"].all():
        print(f"astro-cnn: error: no row of {len(out)} could be measured", file=sys.stderr)
        return 1
    if names["truth"] is not None:
        comparison, common = _comparison(out, quantity, names["truth"], labels[usable], compared)
        print(f"\non the {common} of {len(out)} test rows that every method measured:")
        comparison.pprint(max_lines=-1, max_width=-1)
    return 0


def _output_names(test: Table, quantity, args: argparse.Namespace, id_column: str | None,
                  label: str) -> dict[str, str | None]:
    """The output's id column (``"id"``) and true-value column (``"truth"``: ``label``, or ``label_true`` when an
    output column has that name; None when the test table has no true values), refusing an id or image column
    named like an output column, which would be lost."""
    written = {quantity.column, "status", "flag"}
    for flag, column in (("--id-column", id_column), ("--image-column", args.image_column)):
        if column is not None and column in written:
            raise ValueError(f"{flag} {column!r} has the name of an output column ({', '.join(sorted(written))}): "
                             "its values would be lost; rename the column")
    if id_column is not None and id_column not in test.colnames:
        raise ValueError(f"--id-column {id_column!r} is not a column of {str(args.test)!r}; its columns are: "
                         f"{', '.join(test.colnames)}")
    truth = None
    if label in test.colnames:
        truth = label if label not in written | {id_column, args.image_column} else f"{label}_true"
    return {"id": id_column, "truth": truth}


def _read_images(table: Table, args: argparse.Namespace, source: Path, shape: tuple[int, ...] | None,
                 min_snr: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Every row's image (zeros where it cannot be used) and its status, "ok" or why not.

    Images must have ``shape`` (default: the most common shape among the table's readable images).
    """
    from ..image_checks import image_problem
    from ..image_files import read_image
    from ..target import image_file_names

    if args.image_column not in table.colnames:
        raise ValueError(f"--image-column {args.image_column!r} is not a column of {str(source)!r}; its columns "
                         f"are: {', '.join(table.colnames)}")
    directory = args.image_dir if args.image_dir is not None else source.resolve().parent
    status = np.full(len(table), "ok", dtype=object)
    images: list[np.ndarray | None] = []
    for row, name in enumerate(image_file_names(table, args.image_column)):
        try:
            if not name:
                raise ValueError(f"no image file in column {args.image_column!r}")
            images.append(read_image(directory / name))
        except (OSError, ValueError) as exc:
            images.append(None)
            status[row] = str(exc)
    shapes = Counter(image.shape for image in images if image is not None)
    if shape is None and not shapes:
        raise ValueError(f"no image of {str(source)!r} could be read (first: {status[0]})")
    shape = shape or shapes.most_common(1)[0][0]
    stack = np.zeros((len(table), *shape), dtype=np.float32)
    for row, image in enumerate(images):
        if image is None:
            continue
        problem = (f"image has shape {image.shape}, expected {shape} (the training images')"
                   if image.shape != shape else image_problem(image, args.pixel_scale * u.arcsec, min_snr or -np.inf))
        if problem:
            status[row] = problem
        else:
            stack[row] = image
    return stack, status.astype(str)


def _output(test: Table, quantity, values: np.ndarray, status: np.ndarray, args: argparse.Namespace,
            names: dict[str, str | None], label: str, training_rows: int) -> QTable:
    """The predictions table: id, image, the quantity with its unit, the true value if known, status and flag."""
    from .._version import __version__

    out = QTable()
    if names["id"] is not None:
        out[names["id"]] = test[names["id"]]
    out[args.image_column] = test[args.image_column]
    out[quantity.column] = np.where(status == "ok", values, np.nan) * quantity.unit
    if names["truth"] is not None:
        out[names["truth"]] = test[label]
    out["status"] = status
    out["flag"] = status != "ok"
    quantity.describe(out, names["id"])
    out[quantity.column].info.description = (f"{quantity.description}: random forest on aperture photometry "
                                             "(baseline)")
    out.meta["astro_cnn"] = {
        "model": METHOD, "predictor_type": "random forest on aperture photometry (astro-cnn baseline)",
        "quantity": quantity.name, "quantity_description": quantity.description,
        "training_table": str(args.train), "training_rows": training_rows, "label_column": label,
        "true_column": names["truth"],
        "pixel_scale_arcsec": args.pixel_scale, "radii_arcsec": list(args.radii), "seed": args.seed,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "astro_cnn_version": __version__,
    }
    return out


def _comparison(out: QTable, quantity, truth_column: str, train_labels: np.ndarray,
                compared: tuple[str, np.ndarray] | None) -> tuple[QTable, int]:
    """Metrics of the baseline, the mean predictor and the ``--compare`` predictions (its name and values) on the
    rows all of them have, and the number of those rows."""
    from ..evaluation.baselines import mean_predictor
    from ..evaluation.metrics import column_values, regression_metrics
    from ..evaluation.photoz import photoz_metrics

    truth = column_values(out, truth_column)
    methods = {f"{METHOD} (this baseline)": column_values(out, quantity.column),
               "mean predictor": mean_predictor(train_labels, len(out))}
    if compared is not None:
        methods[f"{compared[0]} (--compare)"] = compared[1]
    common = np.isfinite(truth) & np.logical_and.reduce([np.isfinite(v) for v in methods.values()])
    score = photoz_metrics if quantity.kind == "pdf" else regression_metrics
    table = QTable(rows=[{"method": name, **score(truth[common], value[common])} for name, value in methods.items()])
    for name in table.colnames[1:]:
        if table[name].dtype.kind == "f":
            table[name].info.format = ".4f"
    return table, int(common.sum())


def _compared_values(path: Path, test: Table, quantity, id_column: str | None) -> tuple[str, np.ndarray]:
    """The ``--compare`` table's name and predictions (NaN where flagged), checked to be of the test rows, in
    order."""
    from ..evaluation.metrics import column_values
    from ..table_io import read_table

    compared = read_table(path)
    if len(compared) != len(test):
        raise ValueError(f"--compare {str(path)!r} has {len(compared)} rows; the test table has {len(test)}")
    if id_column in compared.colnames and [str(v) for v in compared[id_column]] != [str(v) for v in test[id_column]]:
        raise ValueError(f"--compare {str(path)!r}: its {id_column!r} column differs from the test table's "
                         "(the rows must be the test rows, in order)")
    if quantity.column not in compared.colnames:
        raise ValueError(f"--compare {str(path)!r} has no column {quantity.column!r} (predictions of "
                         f"{quantity.name})")
    return path.name, column_values(compared, quantity.column)


def _positive_float(text: str) -> float:
    """Argument type: a number above 0 (a pixel scale)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _radii(text: str) -> tuple[float, ...]:
    """Argument type: comma-separated increasing positive numbers (aperture radii in arcsec)."""
    try:
        radii = tuple(float(part) for part in text.split(","))
    except ValueError:
        radii = ()
    if not radii or any(not r > 0 for r in radii) or any(b <= a for a, b in zip(radii, radii[1:])):
        raise argparse.ArgumentTypeError(f"must be increasing positive numbers separated by commas, got {text!r}")
    return radii
