"""Training entry points: :func:`train` (Table in, model out), :func:`fit_predictor`, :func:`cross_validate`."""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
import torch
from astropy.table import QTable, Table

from .. import registry
from ..exceptions import AstroCNNError, ColumnError
from ..image_files import read_image
from ..quantity import Prediction
from .predictor import NetworkPredictor
from .trainer import TrainingData, fit_network

__all__ = ["train", "lr_find", "fit_predictor", "cross_validate", "load_training_images"]


def train(
    table: Table,
    quantity: str,
    *,
    label_column: str | None = None,
    image_column: str | None = None,
    image_dir: str | Path | None = None,
    extras: Sequence[str] | None = None,
    survey: str | None = None,
    bands: Sequence[str] | None = None,
    pixel_scale: u.Quantity | None = None,
    backbone: str | None = None,
    head: str | None = None,
    recipe: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    ensemble: int = 1,
    weights: str | Path | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    name: str | None = None,
    progress: bool = True,
    log=print,
) -> NetworkPredictor:
    """Train a network predictor from a table of labelled galaxies.

    Parameters
    ----------
    table : Table
        One row per training galaxy, with a label column and either an image-file column
        (JPEG, PNG, FITS) or coordinates (images then come from ``survey``).
    quantity : str
        What to predict (a registered quantity).
    label_column : str, optional
        Label column; default: the first of the quantity's ``label_columns`` in the table.
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
    epochs, batch_size, lr : optional
        Override the recipe.
    ensemble : int
        Train this many networks with different seeds and average them (Pasquet et al.: 6).
    weights : path, optional
        Local pretrained backbone weights; without them training starts from random weights
        (stated in the log and the saved model).
    run_dir : path, optional
        Checkpoints (every epoch), ``history.ecsv`` and ``loss_curve.png``.
    resume : bool
        Continue an interrupted run from ``run_dir``.
    seed : int
        Random seed (CPU training is deterministic for a given seed).
    name : str, optional
        Model name.
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
        Label or image columns are missing; labels are missing or outside the quantity's valid range.
    """
    predictor, images, labels, extra_values, summary = _prepare(
        table, quantity, label_column=label_column, image_column=image_column, image_dir=image_dir, extras=extras,
        survey=survey, bands=bands, pixel_scale=pixel_scale, backbone=backbone, head=head, weights=weights,
        name=name)
    overrides = {k: v for k, v in {"batch_size": batch_size, "lr": lr}.items() if v is not None}
    return fit_predictor(predictor, images, labels, extra_values, recipe=recipe, epochs=epochs, ensemble=ensemble,
                         run_dir=run_dir, resume=resume, seed=seed, progress=progress, log=log, data_summary=summary,
                         **overrides)


def lr_find(table: Table, quantity: str, *, recipe: str | None = None, seed: int = 0, **columns: Any) -> QTable:
    """The learning-rate range test (Smith 2015) on a table, as :func:`train` takes it.

    Returns
    -------
    QTable
        ``lr``, ``loss``, ``smoothed_loss``; ``meta["suggested_lr"]``.
    """
    from .lr_finder import lr_range_test

    predictor, images, labels, extras, _ = _prepare(table, quantity, **columns)
    settings = registry.get("recipe", recipe or predictor.quantity.default_recipe).settings
    return lr_range_test(predictor, images, labels, extras, recipe_settings=settings, seed=seed)


def fit_predictor(predictor: NetworkPredictor, images: np.ndarray, labels: np.ndarray,
                  extras: Mapping[str, np.ndarray] | None = None, *, recipe: str | None = None,
                  epochs: int | None = None, ensemble: int = 1, run_dir: str | Path | None = None,
                  resume: bool = False, seed: int = 0, progress: bool = True, log=print,
                  data_summary: Mapping[str, Any] | None = None, **overrides: Any) -> NetworkPredictor:
    """Train ``predictor`` on arrays; records recipe, weights origin and training summary in ``predictor.info``.

    Parameters
    ----------
    predictor : NetworkPredictor
    images : ndarray, shape (N, C, H, W)
    labels : ndarray, shape (N,)
    extras : mapping of str to ndarray, optional
    recipe : str, optional
        Registered recipe name (default: the quantity's).
    epochs : int, optional
        All-layer epochs, overriding the recipe.
    ensemble : int
        Number of networks (seeds ``seed``, ``seed + 1``, ...).
    run_dir, resume, seed, progress, log
        As :func:`train`; members of an ensemble use ``run_dir/member_<i>``.
    data_summary : mapping, optional
        Recorded in the model's metadata.
    **overrides
        Recipe settings to override (``batch_size``, ``lr``, ...).
    """
    recipe_name = recipe or predictor.quantity.default_recipe
    settings = {**registry.get("recipe", recipe_name).settings, **overrides}
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=float)
    if len(images) != len(labels):
        raise AstroCNNError(f"{len(images)} images but {len(labels)} labels")
    predictor._check_shape(images.shape)
    weights = predictor.architecture.get("weights")
    origin = f"pretrained weights from {weights}" if weights else "random initial weights (no pretrained file given)"
    log(f"training {predictor.name}: {predictor.architecture['backbone']} + {predictor.architecture['head']}, "
        f"recipe {recipe_name}, {len(images)} images, starting from {origin}")
    predictor.learn_normalisation(images, labels, extras)
    data = _split(predictor, images, labels, extras, settings, seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    members, histories = [], []
    for member in range(ensemble):
        torch.manual_seed(seed + member)
        np.random.seed(seed + member)
        network = predictor.new_network()
        member_dir = None
        if run_dir is not None:
            member_dir = Path(run_dir) / f"member_{member}" if ensemble > 1 else Path(run_dir)
        history = fit_network(network, data, settings, predictor.quantity.kind, seed=seed + member, epochs=epochs,
                              run_dir=member_dir, resume=resume, progress=progress, log=log, device=predictor.device)
        members.append({k: v.detach().cpu().clone() for k, v in network.state_dict().items()})
        histories.append(history)
    predictor.members_ = members
    predictor.tta = bool(settings.get("tta", True)) if predictor.tta is True else predictor.tta
    predictor.info.update({
        "recipe": recipe_name, "recipe_settings": {k: list(v) if isinstance(v, tuple) else v
                                                   for k, v in settings.items()},
        "weights_origin": weights or "random", "seed": seed, "ensemble_size": ensemble,
        "epochs": len(histories[0]), "final_train_loss": histories[0][-1]["train_loss"] if histories[0] else None,
        "training_data": dict(data_summary or {"rows": len(images)}),
        "label_range": [float(labels.min()), float(labels.max())],
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    return predictor


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
        Number of folds.
    seed : int
        Seeds the fold assignment and the training.
    **fit_options
        Passed to :func:`fit_predictor`.

    Returns
    -------
    Prediction
        Out-of-fold predictions, row-aligned with ``labels``.
    list of NetworkPredictor
        The model trained for each fold.
    """
    n = len(labels)
    fold_of = np.random.default_rng(seed).permutation(np.arange(n) % folds)
    value, error = np.full(n, np.nan), np.full(n, np.nan)
    pdf = None
    models = []
    for fold in range(folds):
        test = fold_of == fold
        predictor = predictor_factory()
        fit_predictor(predictor, images[~test], labels[~test], _subset(extras, ~test), seed=seed + fold,
                      **fit_options)
        prediction = predictor.predict_images(images[test], _subset(extras, test))
        value[test], error[test] = prediction.value, prediction.error
        if prediction.pdf is not None:
            pdf = np.zeros((n, prediction.pdf.shape[1])) if pdf is None else pdf
            pdf[test] = prediction.pdf
        models.append(predictor)
    edges = predictor.quantity.bin_edges if pdf is not None else None
    return Prediction(value, error, pdf, edges), models


def _subset(extras: Mapping[str, np.ndarray] | None, mask: np.ndarray) -> dict[str, np.ndarray] | None:
    return None if extras is None else {k: np.asarray(v)[mask] for k, v in extras.items()}


def load_training_images(table: Table, image_column: str, image_dir: str | Path | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Read every row's image file; returns the images of readable rows and the mask of those rows."""
    if image_column not in table.colnames:
        raise ColumnError(f"image column {image_column!r} is not in the table; its columns are: "
                          f"{', '.join(table.colnames)}")
    base = Path(image_dir) if image_dir is not None else None
    images, keep, shape = [], np.zeros(len(table), bool), None
    for i, name in enumerate(table[image_column]):
        path = Path(str(name))
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            image = read_image(path)
        except (OSError, ValueError):
            continue
        if shape is None:
            shape = image.shape
        if image.shape != shape:
            continue
        images.append(image)
        keep[i] = True
    if not images:
        raise AstroCNNError(f"no readable image in column {image_column!r}")
    return np.stack(images), keep


def _prepare(table: Table, quantity: str, *, label_column=None, image_column=None, image_dir=None, extras=None,
             survey=None, bands=None, pixel_scale=None, backbone=None, head=None, weights=None, name=None):
    """Check a training table and read its images: (untrained predictor, images, labels, extras, summary)."""
    q = registry.get("quantity", quantity)
    survey_name = survey or q.default_survey
    bands, pixel_scale = _survey_geometry(survey_name, bands, pixel_scale)
    label_column = label_column or next((c for c in q.label_columns if c in table.colnames), None)
    if label_column is None or label_column not in table.colnames:
        raise ColumnError(f"no label column for {quantity!r}: give label_column (looked for "
                          f"{', '.join(q.label_columns)}); the table's columns are: {', '.join(table.colnames)}")
    labels = np.asarray(getattr(table[label_column], "value", table[label_column]), dtype=float)
    _check_labels(labels, q, label_column)
    extras = tuple(q.extras if extras is None else extras)
    extra_values = {}
    for column in extras:
        if column not in table.colnames:
            raise ColumnError(f"extra input column {column!r} is not in the table")
        extra_values[column] = np.asarray(table[column], dtype=float)
    if image_column is None:
        raise ColumnError("give image_column: training reads images from files named in the table")
    images, keep = load_training_images(table, image_column, image_dir)
    if not keep.all():
        warnings.warn(f"{int((~keep).sum())} training rows have no readable image and are left out "
                      f"(rows {np.flatnonzero(~keep)[:10].tolist()}...)", stacklevel=2)
    predictor = NetworkPredictor(q, survey_name, bands, images.shape[-1], pixel_scale, extras, name,
                                 backbone=backbone, head=head, weights=weights)
    summary = {"rows": int(keep.sum()), "label_column": label_column}
    return predictor, images, labels[keep], {k: v[keep] for k, v in extra_values.items()}, summary


def _split(predictor, images, labels, extras, settings, seed) -> TrainingData:
    n = len(images)
    fraction = float(settings.get("val_fraction", 0.0))
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(fraction * n)) if n >= 20 else 0
    val, fit = order[:n_val], order[n_val:]
    x = predictor.prepare(images)
    y = predictor.encode_labels(labels)
    e = predictor.prepare_extras(extras, n)
    return TrainingData(_rows(x, fit), _rows(y, fit), _rows(e, fit),
                        _rows(x, val) if n_val else None, _rows(y, val) if n_val else None,
                        _rows(e, val) if n_val else None)


def _rows(tensor: torch.Tensor | None, index: np.ndarray) -> torch.Tensor | None:
    return None if tensor is None else tensor[torch.as_tensor(index)]


def _survey_geometry(survey: str, bands, pixel_scale):
    if bands is not None and pixel_scale is not None:
        return tuple(bands), u.Quantity(pixel_scale, u.arcsec)
    try:
        spec = registry.get("survey", survey)
    except KeyError:
        raise AstroCNNError(f"survey {survey!r} is not installed: give bands and pixel_scale for the images") \
            from None
    instance = spec.factory()
    return tuple(bands or instance.bands), u.Quantity(pixel_scale or instance.pixel_scale, u.arcsec)


def _check_labels(labels: np.ndarray, quantity, column: str) -> None:
    bad = np.flatnonzero(~np.isfinite(labels))
    if len(bad):
        raise ColumnError(f"label column {column!r} has missing or non-finite values in rows {bad[:10].tolist()}")
    lo, hi = quantity.valid_range
    outside = np.flatnonzero((labels < lo) | (labels > hi))
    if len(outside):
        raise ColumnError(f"label column {column!r} has values outside the valid range {lo}..{hi} of "
                          f"{quantity.name!r} in rows {outside[:10].tolist()} (e.g. {labels[outside[0]]:g})")
