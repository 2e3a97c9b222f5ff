"""Training entry points: :func:`train` (Table or store in, model out), :func:`build_store`, :func:`cross_validate`."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import MaskedColumn, QTable, Table

from .. import registry
from ..arguments import checked_count, checked_names, checked_table
from ..exceptions import AstroCNNError, ColumnError, UnknownNameError
from ..image_checks import MIN_CENTRE_SNR
from ..partitions import table_digest
from ..predictor import image_array
from ..quantity import Prediction, values_in_unit
from ..survey_factory import make_survey
from ..target import image_file_names
from .batches import subset_extras
from .file_reading import read_image_files, store_workers
from .predictor import ImageRows, NetworkPredictor
from .store import TrainingStore, is_store, write_store
from .trainer import checked_recipe_settings, distributed_rank

__all__ = ["train", "lr_find", "build_store", "cross_validate"]


def train(
    table: Table | TrainingStore | str | Path,
    quantity: str,
    *,
    label_column: str | Sequence[str] | None = None,
    image_column: str | None = None,
    image_dir: str | Path | None = None,
    extras: Sequence[str] | None = None,
    survey: str | None = None,
    bands: Sequence[str] | None = None,
    pixel_scale: u.Quantity | None = None,
    backbone: str | None = None,
    head: str | None = None,
    backbone_options: Mapping[str, Any] | None = None,
    recipe: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    ensemble: int = 1,
    weights: str | Path | None = None,
    run_dir: str | Path | None = None,
    store: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    name: str | None = None,
    device: str = "auto",
    workers: int | None = None,
    init_model: str | Path | NetworkPredictor | None = None,
    band_map: Mapping[str, str] | None = None,
    min_centre_snr: float | None = MIN_CENTRE_SNR,
    progress: bool = True,
    log=print,
) -> NetworkPredictor:
    """Train a network predictor on labelled galaxies, reading the images a batch at a time from disk.

    Parameters
    ----------
    table : Table, TrainingStore or path of a store directory
        One row per training galaxy, with a label column and an image-file column (JPEG, PNG,
        FITS); or a store written by :func:`~astro_cnn.engine.train.build_store` (its labels and extras are used).
    quantity : str
        What to predict (a registered quantity).
    label_column : str or sequence of str, optional
        Label column; default: the first of the quantity's ``label_columns`` in the table.  For a
        quantity of several outputs (e.g. ``structure``), one column per output in their order;
        default: for each output, the first of its ``label_columns`` in the table.  A column with
        a unit is converted to its output's unit (e.g. ``r_e`` in pixels is refused, in
        degrees converted to arcsec).
    image_column, image_dir : optional
        Column naming image files, and the directory relative paths are in.
    extras : sequence of str, optional
        Extra per-object input columns (default: the quantity's, e.g. E(B−V) for photo-z).
    survey : str, optional
        Survey the images come from (default: the quantity's); its bands and pixel scale are
        recorded with the model.
    bands, pixel_scale : optional
        Needed only when ``survey`` is not registered.
    backbone, head, recipe : str, optional
        Registry names; default: the quantity's.
    backbone_options : mapping, optional
        Keyword arguments of the backbone factory (e.g. ``{"width": 16}`` for ``small_cnn``);
        with ``init_model`` and its backbone, the model's own.
    epochs, batch_size, lr : optional
        Override the recipe.
    ensemble : int
        Train this many networks with different seeds and average them (Pasquet et al.: 6).
    weights : path, optional
        Local pretrained backbone weights; without them training starts from random weights
        (stated in the log and the saved model).
    run_dir : path, optional
        Checkpoints (every epoch), ``history.ecsv`` and ``loss_curve.png``.
    store : path, optional
        Where to keep the training store built from ``table`` (default: ``run_dir/store`` with a
        ``run_dir``, else a temporary directory removed after training).  An existing store there
        is reused when resuming.
    resume : bool
        Continue an interrupted run from ``run_dir``.
    overwrite : bool
        Start again where ``run_dir`` holds an earlier run's checkpoints or ``store`` an earlier
        training store; without it (or ``resume``) such a run is refused, so that nothing is lost.
    seed : int
        Random seed (CPU training is deterministic for a given seed).
    name : str, optional
        Model name.
    device : str
        ``"auto"`` (a GPU when one is visible), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    workers : int, optional
        Processes reading batches ahead of the training step (see :meth:`NetworkPredictor.fit`).
    init_model : NetworkPredictor, path, name or URL, optional
        Fine-tune: start from this trained model's weights (its backbone and head unless given),
        its first layer mapped onto this survey's bands (see :mod:`astro_cnn.engine.finetune`).
    band_map : mapping of str to str, optional
        With ``init_model``: new band → the model's band whose filters it starts from (default:
        bands of the same name; others start from the mean filter).
    min_centre_snr : float or None
        Images that prediction would flag (no source at the centre: S/N below this; non-finite or
        blank) are left out of training and counted (see :meth:`NetworkPredictor.fit`).
    progress : bool
        Progress bars.
    log : callable
        Receives log lines.

    Returns
    -------
    NetworkPredictor

    Raises
    ------
    ColumnError
        Label, extra or image columns are missing; labels or extras are missing (masked, NaN) or
        labels lie outside the quantity's valid range.
    AstroCNNError
        The images do not all have one shape (the message names the first odd file), or ``band_map`` is
        given without ``init_model``.
    """
    q = registry.get("quantity", quantity)
    if band_map and init_model is None:
        raise AstroCNNError("band_map is given without init_model: it says which of a trained model's bands "
                            "each new band starts from, so it needs the model to start from")
    if resume and run_dir is None and store is None:
        raise AstroCNNError("resume=True continues the run kept in run_dir (or its store): give run_dir")
    _check_run_paths(run_dir, store, resume, overwrite)
    overrides = {k: v for k, v in {"batch_size": batch_size, "lr": lr}.items() if v is not None}
    with _opened_store(table, q, label_column=label_column, image_column=image_column, image_dir=image_dir,
                       extras=extras, survey=survey, bands=bands, pixel_scale=pixel_scale, store=store,
                       run_dir=run_dir, resume=resume, log=log) as opened:
        source = None
        if init_model is not None:
            from ..models import resolve_predictor

            source = resolve_predictor(init_model)
            backbone = backbone or source.architecture["backbone"]
            head = head or source.architecture["head"]
            if backbone == source.architecture["backbone"]:  # its weights fit only the same layer sizes
                backbone_options = source.architecture.get("backbone_options", {})
        predictor = _untrained(opened, q, backbone=backbone, head=head, weights=weights, name=name,
                               backbone_options=backbone_options,
                               head_options=source.architecture["head_options"] if source is not None
                               and head == source.architecture["head"] else None)
        predictor.device = device
        if source is not None:
            predictor.start_from(source, band_map, log)
        labels, extra_values = _labels_and_extras(opened, q, predictor.extras)
        predictor.fit(opened.images, labels, extra_values, recipe=recipe, epochs=epochs, ensemble=ensemble,
                      run_dir=run_dir, resume=resume, seed=seed, progress=progress, log=log, workers=workers,
                      min_centre_snr=min_centre_snr,
                      data_summary={"rows": len(opened), "label_column": opened.info["label_column"]},
                      **overrides)
    return predictor


def build_store(directory: str | Path, table: Table, quantity: str, *, image_column: str,
                label_column: str | Sequence[str] | None = None, image_dir: str | Path | None = None,
                extras: Sequence[str] | None = None, survey: str | None = None, bands: Sequence[str] | None = None,
                pixel_scale: u.Quantity | None = None, overwrite: bool = False, workers: int | None = None,
                log=print) -> TrainingStore:
    """Write the training store of a table of labelled image files (see :mod:`astro_cnn.engine.store`).

    Labels and extra inputs are checked first; then each file is read once (in worker processes,
    in table order, see :mod:`astro_cnn.engine.file_reading`) and appended, so memory does not
    grow with the number of rows.  Rows whose file cannot be read are left out (counted
    in a warning and in ``store.json``); a file of another shape than the first is an error.

    Parameters
    ----------
    directory : path
        The store directory to write.
    table, quantity, image_column, label_column, image_dir, extras, survey, bands, pixel_scale
        As :func:`~astro_cnn.engine.train`.
    overwrite : bool
        Replace an existing store.
    workers : int, optional
        Processes reading the files (0: this one); default: one per CPU.
    log : callable

    Returns
    -------
    TrainingStore
    """
    q = registry.get("quantity", quantity)
    kept, label_columns, extras = _store_rows(table, q, image_column, label_column, extras)
    repeated = len(kept) - len(set(kept["source"]))
    if repeated:
        log(f"{repeated} of {len(kept)} rows repeat the image file of an earlier row: a validation split may hold "
            "copies of images trained on, and its scores and calibration would be too good")
    bands, pixel_scale = _survey_geometry(survey or q.default_survey, bands, pixel_scale)
    files = read_image_files(list(kept["source"]), image_dir,
                             store_workers() if workers is None else checked_count(workers, "workers", 0))
    return write_store(directory, files, kept, bands=bands, pixel_scale=pixel_scale,
                       overwrite=overwrite, log=log,
                       info={"label_column": label_columns[0] if q.n_outputs == 1 else label_columns,
                             "extras": list(extras), "quantity": q.name,
                             "survey": survey or q.default_survey, "source_sha256": table_digest(kept)})


def _store_rows(table: Table, q, image_column: str, label_column, extras) -> tuple[Table, list[str], tuple[str, ...]]:
    """What a store keeps of a table (checked labels, extras and image file names), its label columns and extras."""
    label_columns = _label_columns(q, checked_table(table), label_column)
    extras = tuple(q.extras) if extras is None else checked_names(extras, "extras")
    columns = dict(zip(label_columns, _labels(table, q, label_columns)))
    for column in extras:
        columns[column] = _finite_column(table, column, "extra input")
    return Table({**columns, "source": image_file_names(table, image_column)}), label_columns, extras


def lr_find(table: Table, quantity: str, *, recipe: str | None = None, batch_size: int | None = None, seed: int = 0,
            min_centre_snr: float | None = MIN_CENTRE_SNR, log=print, **columns: Any) -> QTable:
    """The learning-rate range test (Smith 2015) on a table or store, as :func:`~astro_cnn.engine.train` takes it.

    Images that prediction would flag are left out (``min_centre_snr``, as in
    :func:`~astro_cnn.engine.train`) and ``log`` says how many.  ``batch_size`` replaces the recipe's, as
    in training.

    Returns
    -------
    QTable
        ``lr``, ``loss``, ``smoothed_loss``; ``meta["suggested_lr"]``.
    """
    from .lr_finder import lr_range_test

    q = registry.get("quantity", quantity)
    model_options = {k: columns.pop(k) for k in ("backbone", "head", "backbone_options", "head_options", "weights",
                                                  "name") if k in columns}
    with _opened_store(table, q, **columns, store=None, run_dir=None, resume=False, log=lambda line: None) as opened:
        predictor = _untrained(opened, q, **model_options)
        labels, extra_values = _labels_and_extras(opened, q, predictor.extras)
        name = recipe or q.default_recipe
        overrides = {} if batch_size is None else {"batch_size": batch_size}
        settings = checked_recipe_settings({**registry.get("recipe", name).settings, **overrides}, name)
        return lr_range_test(predictor, opened.images, labels, extra_values, recipe_settings=settings, seed=seed,
                             min_centre_snr=min_centre_snr, log=log)


def cross_validate(predictor_factory, images: np.ndarray, labels: np.ndarray,
                   extras: Mapping[str, np.ndarray] | None = None, *, folds: int = 5, seed: int = 0,
                   **fit_options: Any) -> tuple[Prediction, list[NetworkPredictor]]:
    """k-fold cross-validation: out-of-fold predictions for every object (Pasquet et al.: 5 folds).

    Parameters
    ----------
    predictor_factory : callable
        Returns a fresh, untrained :class:`NetworkPredictor`.
    images, labels, extras
        All the data.
    folds : int
        Number of folds, at least 2.
    seed : int
        Seeds the fold assignment and the training.
    **fit_options
        Passed to :meth:`NetworkPredictor.fit`; its log names the images a fold leaves out of training by
        their rows in ``images``.

    Returns
    -------
    Prediction
        Out-of-fold predictions, row-aligned with ``labels``.
    list of NetworkPredictor
        The model trained for each fold.
    """
    folds = checked_count(folds, "folds", 2)
    images = image_array(images)
    labels = np.asarray(labels, dtype=float) if isinstance(labels, (list, tuple)) else labels
    if len(labels) != len(images):
        raise AstroCNNError(f"{len(images)} images but {len(labels)} labels")
    if len(labels) < folds:
        raise AstroCNNError(f"{folds} folds need at least {folds} objects, not {len(labels)}")
    n = len(labels)
    fold_of = np.random.default_rng(seed).permutation(np.arange(n) % folds)
    value, error = np.full(n, np.nan), np.full(n, np.nan)
    pdf = None
    models = []
    for fold in range(folds):
        test = fold_of == fold
        predictor = predictor_factory()
        # read through ImageRows, so that images left out of a fold's training are logged by their rows of images
        predictor.fit(ImageRows(images, np.flatnonzero(~test)), labels[~test], subset_extras(extras, ~test),
                      seed=seed + fold, **fit_options)
        prediction = predictor.predict_images(images[test], subset_extras(extras, test))
        value[test], error[test] = prediction.value, prediction.error
        if prediction.pdf is not None:
            pdf = np.zeros((n, prediction.pdf.shape[1])) if pdf is None else pdf
            pdf[test] = prediction.pdf
        models.append(predictor)
    edges = predictor.quantity.bin_edges if pdf is not None else None
    return Prediction(value, error, pdf, edges), models


def _check_run_paths(run_dir: str | Path | None, store: str | Path | None, resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a run directory that is a file, and one (or a store) that holds an earlier run a
    new run would replace unless ``resume`` or ``overwrite`` says what to do with it."""
    if run_dir is not None and Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise AstroCNNError(f"run_dir {str(run_dir)!r} is a file, not a directory")
    if resume or overwrite:
        return
    earlier = sorted(Path(run_dir).glob("checkpoint.pt")) + sorted(Path(run_dir).glob("member_*/checkpoint.pt")) \
        if run_dir is not None else []
    kept = Path(store) if store is not None else Path(run_dir) / "store" if run_dir is not None else None
    if kept is not None and is_store(kept):
        earlier.append(kept)
    if earlier:
        raise AstroCNNError(f"{str(earlier[0])!r} is left by an earlier run: pass resume=True to continue it, or "
                            f"overwrite=True to start again in its place")


class _opened_store:
    """Context: the store to train from — the one given, one kept from an interrupted run, or one built now.

    Under ``torchrun`` (several processes) a store is built once: rank 0 writes it, in the directory
    it chose (told to the other ranks), and the others open it once it is complete.
    """

    def __init__(self, table, quantity, *, label_column=None, image_column=None, image_dir=None, extras=None,
                 survey=None, bands=None, pixel_scale=None, store=None, run_dir=None, resume=False, log=print):
        self.args = dict(label_column=label_column, image_column=image_column, image_dir=image_dir, extras=extras,
                         survey=survey, bands=bands, pixel_scale=pixel_scale)
        self.table, self.quantity, self.log = table, quantity, log
        self.store = Path(store) if store is not None else (Path(run_dir) / "store" if run_dir is not None else None)
        self.resume = resume
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._shared = False  # one store built by rank 0 for every rank

    def __enter__(self) -> TrainingStore:
        if isinstance(self.table, TrainingStore):
            return self.table
        if isinstance(self.table, (str, Path)):
            return TrainingStore(self.table)
        if self.args["image_column"] is None:
            raise ColumnError("give image_column: training reads images from files named in the table")
        rank, world = distributed_rank()
        if world == 1:
            return self._open_or_build()
        import torch.distributed as dist

        built: list = [None]  # rank 0's store directory, or the error that stopped it
        if rank == 0:
            try:
                built[0] = str(self._open_or_build().directory)
            except Exception as error:  # told to the other ranks, which would otherwise wait for ever
                built[0] = AstroCNNError(f"rank 0 could not build the training store: {error}")
                dist.broadcast_object_list(built, src=0)
                raise
        dist.broadcast_object_list(built, src=0)
        if isinstance(built[0], Exception):
            raise built[0]
        self._shared = True
        if not (Path(built[0]) / "store.json").is_file():  # e.g. another node, which cannot see rank 0's /tmp
            raise AstroCNNError(f"rank {rank} cannot see the training store {built[0]!r} that rank 0 wrote: give a "
                                f"store or run directory on a file system every node shares")
        return TrainingStore(built[0])

    def _open_or_build(self) -> TrainingStore:
        directory = self.store
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="astro_cnn-store-")
            directory = Path(self._tmp.name) / "store"
        elif self.resume and (directory / "store.json").is_file():
            store = TrainingStore(directory)
            self._check_same_source(store)
            self.log(f"reusing the training store {directory}")
            return store
        return build_store(directory, self.table, self.quantity.name, overwrite=not self.resume, log=self.log,
                           **self.args)

    def _check_same_source(self, store: TrainingStore) -> None:
        """Refuse to resume on a store built from another table or survey than the one given now: the run would
        go on training on the old images and labels, and the model would say nothing of it."""
        survey = self.args["survey"] or self.quantity.default_survey
        kept = _store_rows(self.table, self.quantity, self.args["image_column"], self.args["label_column"],
                           self.args["extras"])[0]
        recorded = store.info.get("source_sha256")
        if store.info.get("survey", survey) != survey or (recorded is not None and recorded != table_digest(kept)):
            raise AstroCNNError(f"resume=True continues the run on its training store {str(store.directory)!r}, "
                                f"built from another table or survey ({store.info.get('rows')} rows of survey "
                                f"{store.info.get('survey')!r}; now {len(kept)} rows of {survey!r}): resume with the "
                                "table the run started from, or pass overwrite=True to start again")

    def __exit__(self, exc_type, *exc) -> None:
        if self._shared and exc_type is None:
            import torch.distributed as dist

            dist.barrier()  # every rank is done reading before rank 0 removes a store it built in a temporary place
        if self._tmp is not None:
            self._tmp.cleanup()


def _untrained(store: TrainingStore, quantity, *, backbone=None, head=None, weights=None, name=None,
               backbone_options=None, head_options=None) -> NetworkPredictor:
    """The untrained predictor for a store's images."""
    survey = store.info.get("survey", quantity.default_survey)
    extras = tuple(store.info.get("extras", quantity.extras))
    return NetworkPredictor(quantity, survey, store.bands, store.info["shape"][-1], store.pixel_scale, extras, name,
                            backbone=backbone, head=head, weights=weights, backbone_options=backbone_options,
                            head_options=head_options)


def _label_columns(quantity, table: Table, given: str | Sequence[str] | None) -> list[str]:
    """The label column of each output of ``quantity``: the ones given, or each output's first name in ``table``."""
    if given is not None:
        columns = [given] if isinstance(given, str) else list(given)
        if len(columns) != quantity.n_outputs:
            names = ", ".join(o.column for o in quantity.outputs)
            raise ColumnError(f"quantity {quantity.name!r} has {quantity.n_outputs} outputs ({names}): give one label "
                              f"column for each, not {len(columns)} ({', '.join(columns)})")
        return columns
    columns = []
    for output in quantity.outputs:
        found = next((c for c in output.label_columns if c in table.colnames), None)
        if found is None:
            what = f"output {output.column!r} of {quantity.name!r}" if quantity.n_outputs > 1 else repr(quantity.name)
            raise ColumnError(f"no label column for {what}: give label_column (looked for "
                              f"{', '.join(output.label_columns) or 'no usual name'}); the table's columns are: "
                              f"{', '.join(table.colnames)}")
        columns.append(found)
    return columns


def _labels_and_extras(store: TrainingStore, quantity, extras: Sequence[str]) -> tuple[np.ndarray, dict]:
    recorded = store.info["label_column"]
    columns = [recorded] if isinstance(recorded, str) else list(recorded)
    if len(columns) != quantity.n_outputs:
        raise ColumnError(f"the training store holds labels for {len(columns)} outputs ({', '.join(columns)}) but "
                          f"quantity {quantity.name!r} has {quantity.n_outputs}")
    labels = _labels(store.table, quantity, columns)
    values = labels[0] if quantity.n_outputs == 1 else np.stack(labels, axis=1)
    return values, {e: _finite_column(store.table, e, "extra input") for e in extras}


def _labels(table: Table, quantity, columns: Sequence[str]) -> list[np.ndarray]:
    """Each output's labels from its column, in the output's unit, finite and inside its valid range."""
    labels = []
    for output, column in zip(quantity.outputs, columns):
        labels.append(_finite_column(table, column, "label", output.unit))
        _check_labels(labels[-1], output.valid_range, quantity, column)
    return labels


def _finite_column(table: Table, name: str, role: str, unit: u.UnitBase | None = None) -> np.ndarray:
    """A numeric column as float (in ``unit`` when the column has a unit), refusing missing (masked) or non-finite
    values with the rows named, and a unit that does not convert."""
    if name not in table.colnames:
        raise ColumnError(f"{role} column {name!r} is not in the table; its columns are: {', '.join(table.colnames)}")
    column = table[name]
    if column.dtype.kind not in "biuf":
        raise ColumnError(f"{role} column {name!r} is not numeric (dtype {column.dtype})")
    if column.ndim > 1:
        raise ColumnError(f"{role} column {name!r} holds {int(np.prod(column.shape[1:]))} values per row, not one")
    values = np.asarray(getattr(column, "value", column), dtype=float)
    if unit is not None:
        values = values_in_unit(values, getattr(column, "unit", None), u.Unit(unit), f"{role} column {name!r}",
                                ColumnError)
    mask = np.asarray(column.mask, bool) if isinstance(column, MaskedColumn) or hasattr(column, "mask") \
        else np.zeros(len(values), bool)
    bad = np.flatnonzero(np.broadcast_to(mask, values.shape) | ~np.isfinite(values))
    if len(bad):
        raise ColumnError(f"{role} column {name!r} has missing or non-finite values in rows {bad[:10].tolist()}"
                          f"{' and more' if len(bad) > 10 else ''}: fill them or leave those rows out")
    return values


def _survey_geometry(survey: str, bands, pixel_scale):
    if bands is None or pixel_scale is None:
        try:
            instance = make_survey(survey)
        except UnknownNameError:
            raise AstroCNNError(f"survey {survey!r} is not installed: give bands and pixel_scale for the images") \
                from None
        bands, pixel_scale = bands or instance.bands, pixel_scale or instance.pixel_scale
    try:
        return tuple(bands), u.Quantity(pixel_scale, u.arcsec)
    except (u.UnitsError, TypeError, ValueError):
        raise AstroCNNError(f"pixel_scale must be an angle (arcsec per pixel), not {pixel_scale!r}") from None


def _check_labels(labels: np.ndarray, valid_range: tuple[float, float], quantity, column: str) -> None:
    lo, hi = valid_range
    outside = np.flatnonzero((labels < lo) | (labels > hi))
    if len(outside):
        raise ColumnError(f"label column {column!r} has values outside the valid range {lo}..{hi} of "
                          f"{quantity.name!r} in rows {outside[:10].tolist()} (e.g. {labels[outside[0]]:g})")
