"""``astro-cnn train`` and ``astro-cnn lr-find``: train a model from a table of labelled images."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from .._atomic import check_destination
from ..exceptions import AstroCNNError
from ..image_checks import MIN_CENTRE_SNR
from .options import non_negative_int, non_negative_number, positive_int, positive_number

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Attach the ``train`` sub-command."""
    parser = subparsers.add_parser(
        "train", help="train a model on a table of labelled galaxy images",
        description="Train a network (backbone + head, a named recipe) on images named in a table column and "
                    "labels in another, or on a training store. The images are first written once to a store "
                    "on disk (--store, default RUN_DIR/store or a temporary directory) and read back a batch at "
                    "a time, so memory does not grow with the number of images. Checkpoints every epoch in "
                    "--run-dir, and --resume continues an interrupted run to the same weights. Launched by "
                    "torchrun (e.g. torchrun --nproc_per_node=4 -m astro_cnn train ...), it trains with "
                    "DistributedDataParallel, one GPU per process.")
    parser.add_argument("table", type=Path, help="table with an image-file column and a label column, or a "
                                                 "training store directory (written by --store)")
    parser.add_argument("-q", "--quantity", required=True, help="quantity to predict")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.acnn)")
    parser.add_argument("--label-column", action="append", metavar="COLUMN",
                        help="label column (default: the quantity's usual name); for a quantity of several outputs "
                             "repeat it, one per output in their order (e.g. --label-column sersic_n --label-column "
                             "r_e --label-column q for structure)")
    parser.add_argument("--image-column", help="column naming image files (JPEG, PNG, FITS); needed unless TABLE "
                                               "is a store")
    parser.add_argument("--image-dir", type=Path, help="directory of relative image paths (default: the table's)")
    parser.add_argument("--survey", help="survey the images come from (default: the quantity's)")
    inputs = parser.add_mutually_exclusive_group()
    inputs.add_argument("--extra", action="append", metavar="COLUMN",
                        help="a column the network takes besides the image (repeat for several; default: the "
                             "quantity's, e.g. ebv for photo_z)")
    inputs.add_argument("--no-extras", action="store_true", help="train on the images alone")
    parser.add_argument("--backbone", help="backbone (see `astro-cnn plugins --kind backbone`)")
    parser.add_argument("--head", help="head (see `astro-cnn plugins --kind head`)")
    parser.add_argument("--recipe", help="training recipe (see `astro-cnn plugins --kind recipe`; default: the "
                                         "quantity's, or its small-data variant when the batch size would leave "
                                         "fewer than 20 steps per epoch)")
    parser.add_argument("--epochs", type=positive_int,
                        help="all-layer epochs, as one cosine cycle, run after the recipe's head-only epochs "
                             "(wu2019: 2); overrides the recipe's cycles")
    parser.add_argument("--batch-size", type=positive_int, help="override the recipe's batch size")
    parser.add_argument("--lr", type=positive_number, help="override the recipe's peak learning rate")
    parser.add_argument("--ensemble", type=positive_int, default=1, help="number of networks to average (default 1)")
    parser.add_argument("--init-model", metavar="MODEL",
                        help="fine-tune: start from this trained model (file, installed name, or URL with "
                             "#sha256=), its first layer mapped onto the new bands by name")
    parser.add_argument("--band-map", action="append", default=[], metavar="NEW=OLD",
                        help="with --init-model: start new band NEW from the model's band OLD (repeatable)")
    parser.add_argument("--weights", type=Path, help="local pretrained backbone weights (ImageNet state dict)")
    parser.add_argument("--run-dir", type=Path, help="checkpoints, history.ecsv and loss_curve.png go here")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in --run-dir")
    parser.add_argument("--store", type=Path, help="write the training store here (and reuse it with --resume); "
                                                   "pass it as TABLE to train again without reading the files")
    parser.add_argument("--device", default="auto", help="auto (a GPU when one is visible; under torchrun the "
                                                         "rank's own), cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--workers", type=non_negative_int,
                        help="processes reading batches ahead of the step (default: none on a CPU, 4 with a GPU; "
                             "never more than 4 per CPU)")
    parser.add_argument("--min-centre-snr", type=non_negative_number, default=MIN_CENTRE_SNR,
                        help="leave out (and count) training images that prediction would flag as showing no "
                             "source at the centre: signal-to-noise ratio in a 1 arcsec aperture below this "
                             f"(default {MIN_CENTRE_SNR:g}, as predict; 0 keeps every image that has finite pixels "
                             "and is not blank)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output model, and an earlier run in --run-dir or --store, if they exist")
    parser.add_argument("--lr-find", action="store_true",
                        help="run the learning-rate range test (Smith 2015) instead of training; "
                             "writes the loss curve table to --output")
    return parser


def run(args: argparse.Namespace) -> int:
    """Train (or run the range test) and write the output atomically."""
    from ..engine.store import is_store
    from ..engine.train import train
    from ..table_io import read_table, write_table

    check_destination(args.output, args.overwrite)
    if args.weights is not None and not args.weights.is_file():
        raise FileNotFoundError(f"--weights {str(args.weights)!r} is not a file")
    if args.resume and args.run_dir is None:
        raise AstroCNNError("--resume needs the --run-dir of the interrupted run")
    if is_store(args.table):
        table = args.table
    elif args.image_column is None:
        raise AstroCNNError(f"{str(args.table)!r} is a table, not a training store: give --image-column")
    else:
        table = read_table(args.table)
    image_dir = args.image_dir if args.image_dir is not None else args.table.resolve().parent
    options = dict(label_column=args.label_column, image_column=args.image_column, image_dir=image_dir,
                   survey=args.survey, backbone=args.backbone, head=args.head,
                   min_centre_snr=args.min_centre_snr if args.min_centre_snr > 0 else None,
                   extras=() if args.no_extras else None if args.extra is None else tuple(args.extra))
    if args.lr_find:
        from ..engine.train import lr_find

        curve = lr_find(table, args.quantity, **options, recipe=args.recipe, batch_size=args.batch_size,
                        seed=args.seed)
        write_table(curve, args.output, overwrite=args.overwrite)
        print(f"suggested learning rate {curve.meta['suggested_lr']:.3g}; curve written to {args.output}")
        return 0
    rank = _join_process_group()
    model = train(table, args.quantity, recipe=args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, ensemble=args.ensemble, weights=args.weights, run_dir=args.run_dir,
                  store=args.store, resume=args.resume, overwrite=args.overwrite, seed=args.seed, device=args.device,
                  init_model=args.init_model, band_map=_band_map(args.band_map, args.init_model),
                  workers=args.workers, progress=rank == 0, log=print if rank == 0 else _silent, **options)
    if rank == 0:
        model.save(args.output, overwrite=args.overwrite)
        print(f"saved model {model.name!r} to {args.output}")
    return 0


def _band_map(pairs: list[str], init_model: str | None) -> dict[str, str] | None:
    """``--band-map NEW=OLD`` values as a mapping (a map of bands onto those of the ``--init-model``)."""
    if pairs and init_model is None:
        raise AstroCNNError("--band-map is given without --init-model: it says which of a trained model's bands "
                            "each new band starts from, so it needs the model to start from")
    mapping = {}
    for pair in pairs:
        new, sep, old = pair.partition("=")
        if not sep or not new.strip() or not old.strip():
            raise AstroCNNError(f"--band-map {pair!r} is not of the form NEW=OLD (e.g. y=z)")
        if new.strip() in mapping:
            raise AstroCNNError(f"--band-map gives band {new.strip()!r} twice ({pair!r} and "
                                f"'{new.strip()}={mapping[new.strip()]}'): give each new band once")
        mapping[new.strip()] = old.strip()
    return mapping or None


#: How long a rank waits for the others (under torchrun): rank 0 may spend this long writing the training store
#: (a million JPEG cutouts take about 23 minutes on one core) while the others wait for it.
STORE_BUILD_TIMEOUT = datetime.timedelta(hours=3)


def _join_process_group() -> int:
    """Under torchrun (WORLD_SIZE > 1) join the process group (NCCL on GPUs, else gloo); returns the rank."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():  # one GPU per rank, before NCCL picks cuda:0 for everyone
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
        # the other ranks wait in a collective while rank 0 writes the training store from the files
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", timeout=STORE_BUILD_TIMEOUT)
    return dist.get_rank()


def _silent(line: str) -> None:
    """Log sink of processes other than rank 0."""
