"""The training loop: a recipe's stages and schedule, checkpoints every epoch, exact resume, logs."""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._atomic import atomic_path
from ..arguments import checked_count, checked_fraction, checked_number, checked_switch, checked_widths
from ..exceptions import AstroCNNError
from .augment import ALL_TRANSFORMS, apply_dihedral
from .batches import TrainingData, batch_loader
from .losses import loss_functions
from .network import Network
from .normalisation import sample_rows
from .speed import SPEED_SETTINGS, autocast, prepare_input, prepare_network, speed_setting

__all__ = ["TrainingData", "Schedule", "fit_network", "precise_batch_norm", "epoch_batches", "batch_slices",
           "RunShares", "distributed_rank", "checked_recipe_settings", "RECIPE_SETTINGS", "OPTIMIZERS", "SCHEDULES"]

#: Steps between updates of the progress bar's loss (each update waits for the device).
PROGRESS_EVERY = 25
#: Most training rows over which :func:`precise_batch_norm` averages the batch-norm statistics.
PRECISE_BN_ROWS = 8192


#: Optimisers and learning-rate schedules a recipe may name.
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine_restarts", "step", "constant")


def _choice(options: tuple[str, ...]):
    def check(value: Any, name: str) -> str:
        if value not in options:
            raise AstroCNNError(f"{name} must be one of {', '.join(map(repr, options))}, not {value!r}")
        return value
    return check


def _positive_numbers(value: Any, name: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise AstroCNNError(f"{name} must be a list of numbers above 0, e.g. [0.01, 0.1, 1.0], not {value!r}")
    return tuple(checked_number(v, f"{name}[{i}]") for i, v in enumerate(value))


def _checked_by_the_predictor(value: Any, name: str) -> Any:
    """A setting the predictor checks where it takes it up (``tta``)."""
    return value


def _speed(value: Any, name: str) -> Any:
    try:
        speed_setting(name, value, "cpu")
    except ValueError as error:
        raise AstroCNNError(str(error)) from None
    return value


#: Every setting a recipe (or an override of it) may give, and its check, called as ``check(value, name)``;
#: :mod:`astro_cnn_nets.recipes` describes them.
RECIPE_SETTINGS: dict[str, Any] = {
    "optimizer": _choice(OPTIMIZERS),
    "lr": checked_number,
    "lr_ratios": _positive_numbers,
    "weight_decay": functools.partial(checked_number, zero=True),
    "batch_size": functools.partial(checked_count, least=2),
    "head_epochs": functools.partial(checked_count, least=0),
    "cycles": functools.partial(checked_widths, what="cycle lengths in epochs", example="[1, 1, 2, 4]"),
    "epochs": checked_count,
    "schedule": _choice(SCHEDULES),
    "augment": checked_switch,
    "tta": _checked_by_the_predictor,
    "val_fraction": checked_fraction,
    **{name: _speed for name in SPEED_SETTINGS},
}


def checked_recipe_settings(settings: Mapping[str, Any], recipe: str, epochs: int | None = None) -> dict[str, Any]:
    """Return a recipe's settings (with any overrides) if the trainer knows each and its value is one it can use.

    Parameters
    ----------
    settings : mapping
        The recipe's settings, overrides included.
    recipe : str
        The recipe's name, for messages.
    epochs : int, optional
        Epochs asked for instead of the recipe's own (then its schedule needs neither ``cycles`` nor ``epochs``).

    Raises
    ------
    AstroCNNError
        A setting the trainer does not know (a misspelt override such as ``learning_rate`` was ignored
        before), a value it cannot use, or neither ``cycles`` nor ``epochs`` for the schedule; the message
        names the setting.
    """
    unknown = sorted(set(settings) - set(RECIPE_SETTINGS))
    if unknown:
        raise AstroCNNError(f"recipe {recipe!r}: unknown settings {unknown}, which training would ignore; the "
                            f"settings are {', '.join(RECIPE_SETTINGS)}")
    checked = {name: RECIPE_SETTINGS[name](value, name) if value is not None else value
               for name, value in settings.items()}
    needed = "cycles" if checked.get("schedule", "cosine_restarts") == "cosine_restarts" else "epochs"
    if epochs is None and checked.get(needed) is None:
        raise AstroCNNError(f"recipe {recipe!r}: schedule {checked.get('schedule', 'cosine_restarts')!r} needs "
                            f"the setting {needed!r}")
    return checked


@dataclass
class Schedule:
    """Epoch plan from a recipe: stages (head only, then all layers) and the learning-rate factor per step."""

    settings: Mapping[str, Any]
    epochs_override: int | None = None
    stages: list[str] = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        if s.get("schedule", "cosine_restarts") == "cosine_restarts":
            self.cycles = (self.epochs_override,) if self.epochs_override else tuple(s["cycles"])
            body_epochs = sum(self.cycles)
        else:
            body_epochs = self.epochs_override or int(s["epochs"])
            self.cycles = (body_epochs,)
        self.head_epochs = int(s.get("head_epochs", 0))
        self.stages = ["head"] * self.head_epochs + ["all"] * body_epochs

    def factor(self, epoch: int, step: int, steps_per_epoch: int) -> float:
        """Multiplier of the peak learning rate at ``step`` of ``epoch`` (0-based, counting all epochs)."""
        kind = self.settings.get("schedule", "cosine_restarts")
        if epoch < self.head_epochs:
            t = (epoch * steps_per_epoch + step) / max(1, self.head_epochs * steps_per_epoch)
            return 0.5 * (1 + math.cos(math.pi * t))
        body_epoch = epoch - self.head_epochs
        if kind == "constant":
            return 1.0
        if kind == "step":
            return 1.0 if body_epoch < math.ceil(2 * len(self.stages[self.head_epochs:]) / 3) else 0.1
        start = 0
        for length in self.cycles:  # cosine annealing with warm restarts, cycles in epochs
            if body_epoch < start + length:
                t = ((body_epoch - start) * steps_per_epoch + step) / (length * steps_per_epoch)
                return 0.5 * (1 + math.cos(math.pi * t))
            start += length
        return 0.0


def fit_network(network: Network, data: TrainingData, settings: Mapping[str, Any], loss_kind: str, *,
                seed: int = 0, epochs: int | None = None, run_dir: Path | None = None, resume: bool = False,
                progress: bool = True, log=print, device: str | torch.device = "cpu",
                workers: int = 0) -> list[dict[str, float]]:
    """Train ``network`` in place following a recipe; returns the per-epoch history.

    Parameters
    ----------
    network : Network
    data : TrainingData
        Raw images (in memory or a store on disk), encoded targets, the normaliser and the
        train/validation rows.
    settings : mapping
        Recipe settings (see :mod:`astro_cnn_nets.recipes` for the keys).
    loss_kind : {"regression", "pdf"}
        The quantity's kind; with the network's head it decides the loss
        (:func:`~astro_cnn.engine.losses.loss_functions`): mean squared error on standardised
        labels (with a variance head, plus the likelihood of the residuals), or cross-entropy over bins.
    seed : int
        Seeds batch order and augmentation (dropout uses the global torch generator).
    epochs : int, optional
        Override the recipe's all-layer epochs (one cosine cycle).
    run_dir : Path, optional
        Where ``checkpoint.pt`` (every epoch), ``history.ecsv`` and ``loss_curve.png`` go.
    resume : bool
        Continue from ``run_dir/checkpoint.pt``; ends with the same weights as an uninterrupted run.
    progress : bool
        tqdm bar per epoch.
    log : callable
        Receives one line per epoch.
    device : str or torch.device
    workers : int
        ``DataLoader`` worker processes reading batches ahead of the step.

    Notes
    -----
    Batches are read as stored (uint8 or float32), copied to the device (pinned and asynchronous on
    a GPU), normalised and augmented there; the running loss stays on the device and is read once
    per epoch (and every :data:`PROGRESS_EVERY` steps when a progress bar is shown), so the host never
    waits for the device inside an epoch.

    Under ``torch.distributed`` (e.g. launched by ``torchrun``) the network is wrapped in
    ``DistributedDataParallel``, wrapped again whenever a stage changes which layers train (so
    head-only stages work): every process draws the same batch order and augmentation from the seed
    and reads only its share of each batch, so N processes follow the single-process run up to
    floating point (exactly so for networks without batch normalisation or dropout): each process's
    loss is its share of the batch's summed loss scaled to the whole batch's mean, so uneven shares
    weigh right, and a tail batch with fewer rows than processes is skipped.  Only rank 0 logs and
    writes checkpoints.

    Returns
    -------
    list of dict
    """
    schedule = Schedule(settings, epochs)
    device = torch.device(device)
    network.to(device)
    rank, world = distributed_rank()
    channels_last, bf16, compile_ = (speed_setting(name, settings.get(name), device)
                                     for name in ("channels_last", "bf16", "compile"))
    prepared = prepare_network(network, channels_last=channels_last, compile=compile_)
    normaliser = data.normaliser.to(device)
    loss_fn, sum_loss_fn = loss_functions(loss_kind, network.predicts_variance)
    batch_size = int(settings["batch_size"])
    augment = bool(settings.get("augment", True))
    pin = device.type == "cuda"
    fit_rows = np.asarray(data.fit_rows)
    n = len(fit_rows)
    if batch_size < 2 * world:
        raise AstroCNNError(f"batch_size {batch_size} gives each of the {world} processes fewer than 2 images a "
                            f"step, and batch normalisation needs 2: use a batch_size of at least {2 * world}")
    steps = len(batch_slices(n, batch_size, world))
    history: list[dict[str, float]] = []
    start_epoch, stage, optimizer, model = 0, None, None, prepared
    checkpoint_path = run_dir / "checkpoint.pt" if run_dir is not None else None
    rows = _rows_digest(data)
    if resume and checkpoint_path is not None and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        if state.get("rows", rows) != rows:
            raise AstroCNNError(f"{str(checkpoint_path)!r} was written by a run on other training rows (other "
                                "images, or other images left out by the presence check): resume with the same "
                                "images and min_centre_snr, or start a new run_dir")
        try:
            network.load_state_dict(state["model"])
        except RuntimeError:  # missing or unexpected layers, other sizes: torch's message lists every one
            raise AstroCNNError(f"{str(checkpoint_path)!r} was written by another network (its weights do not fit "
                                "this backbone and head): resume with the run's own backbone, head and options, or "
                                "start again in another run_dir") from None
        start_epoch, history = state["epoch"], state["history"]
        if start_epoch < len(schedule.stages):
            stage = schedule.stages[start_epoch]
            _set_trainable(network, stage)
            optimizer = _optimizer(network, settings, stage)
            model = _data_parallel(prepared, device) if world > 1 else prepared
            if state["stage"] == stage:
                optimizer.load_state_dict(state["optimizer"])
        _set_rng_states(state["rng"])
        log(f"resumed from {checkpoint_path} after epoch {start_epoch}")
    # one loader for the whole run, so its worker processes start once, not every epoch
    loader = iter(batch_loader(data, RunShares(fit_rows, batch_size, seed, range(start_epoch, len(schedule.stages)),
                                               rank, world), workers=workers, pin_memory=pin))
    for epoch in range(start_epoch, len(schedule.stages)):
        if schedule.stages[epoch] != stage:
            stage = schedule.stages[epoch]
            _set_trainable(network, stage)
            optimizer = _optimizer(network, settings, stage)
            model = _data_parallel(prepared, device) if world > 1 else prepared
        network.train()
        batches, choices = epoch_batches(fit_rows, batch_size, seed, epoch, world, augment)
        if augment:  # one copy of the epoch's choices to the device: a per-step copy from pageable memory would
            # make the host wait for the device at every step
            flat = torch.cat(choices).to(device) if choices else torch.zeros(0, dtype=torch.long, device=device)
            choices = list(torch.split(flat, [len(c) for c in choices]))
        used = sum(len(rows) for rows in batches)
        total = torch.zeros((), device=device, dtype=torch.float64)
        bar = tqdm((next(loader) for _ in batches), total=steps, disable=not progress,
                   desc=f"epoch {epoch + 1}/{len(schedule.stages)} ({stage})", leave=False, unit="batch")
        for step, (images, targets, extras) in enumerate(bar):
            x = normaliser(images.to(device, non_blocking=pin))
            if choices[step] is not None:
                x = apply_dihedral(x, choices[step][rank::world])
            extras = extras.to(device, non_blocking=pin) if extras is not None else None
            factor = schedule.factor(epoch, step, steps)
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                output = model(prepare_input(x, channels_last=channels_last), extras)
            if world > 1:
                # each process's share of the batch's summed loss, scaled so that DDP's average over processes
                # is the mean over the whole batch, however unevenly the batch divides
                summed = sum_loss_fn(output.float(), targets.to(device, non_blocking=pin))
                loss = summed * (world / len(batches[step]))
            else:
                loss = loss_fn(output.float(), targets.to(device, non_blocking=pin))
                summed = loss * len(targets)
            loss.backward()
            optimizer.step()
            total += summed.detach()
            if progress and step % PROGRESS_EVERY == 0:
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        record = {"epoch": epoch + 1, "stage": stage, "lr": optimizer.param_groups[-1]["lr"],
                  "train_loss": _sum_over_processes(total, world) / used}
        if not math.isfinite(record["train_loss"]):
            raise AstroCNNError(f"training diverged in epoch {epoch + 1} (the loss is not finite): lower the "
                                f"learning rate (lr={settings['lr']:g} now)")
        if data.val_rows is not None and len(data.val_rows):
            record["val_loss"] = _evaluate(network, data, normaliser, loss_fn, batch_size, device, workers)
        history.append(record)
        if rank == 0:
            log("  ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
            if checkpoint_path is not None:
                _save_checkpoint(checkpoint_path, network, optimizer, stage, epoch + 1, history, rows)
    _set_trainable(network, "all")
    counted = precise_batch_norm(network, data, normaliser, batch_size, seed, device, workers)
    if counted and rank == 0:
        log(f"batch-norm statistics recomputed over {counted} training images with the final weights")
    network.eval()
    if world > 1:  # buffers the batch-norm pass did not recompute may differ between ranks: keep rank 0's, as DDP
        # does (the recomputed statistics are the same on every rank already)
        _broadcast_buffers(network)
    if run_dir is not None and history and rank == 0:
        write_history(history, run_dir)
    return history


def epoch_batches(fit_rows: np.ndarray, batch_size: int, seed: int, epoch: int, world: int = 1,
                  augment: bool = True) -> tuple[list[np.ndarray], list[torch.Tensor | None]]:
    """The row batches of one epoch and each batch's augmentation choices, drawn from the seed.

    Every process draws the same batches (:func:`batch_slices`) and the whole batch's choices, then keeps
    its share (``rows[rank::world]``).
    """
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    n = len(fit_rows)
    order = fit_rows[torch.randperm(n, generator=generator).numpy()]
    batches = [order[part] for part in batch_slices(n, batch_size, world)]
    choices = [torch.randint(len(ALL_TRANSFORMS), (len(rows),), generator=generator) if augment else None
               for rows in batches]
    return batches, choices


def batch_slices(n: int, batch_size: int, world: int = 1) -> list[slice]:
    """The batches of an epoch's ``n`` rows: ``batch_size`` each, and a last one of what is left.

    Parameters
    ----------
    n : int
        Rows in the epoch.
    batch_size : int
        Rows per batch, over all processes.
    world : int
        Processes training together, each taking every ``world``-th row of a batch.

    Returns
    -------
    list of slice
        Each batch's rows of the epoch's order, the same for any ``world`` (so that several processes train
        as one would), except that with several processes a last batch smaller than their number is left
        out, as it would leave a process nothing to train on.  A last batch of one row joins the batch
        before it: batch normalisation in training cannot normalise a single value (torch refuses it), so
        17 rows in batches of 16 failed.
    """
    starts = list(range(0, max(n, 1), batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    parts = [slice(start, stop) for start, stop in zip(starts, starts[1:] + [n])]
    return [part for part in parts if part.stop - part.start >= world] if world > 1 else parts


class RunShares:
    """This process's rows of every batch of ``epochs``, as one sequence (item ``j``: the ``j``-th batch of the run).

    Items are redrawn from the seed where they are read (:func:`epoch_batches`), so a loader's
    worker processes need only this small object, and one loader serves the whole run.
    """

    def __init__(self, fit_rows: np.ndarray, batch_size: int, seed: int, epochs: range, rank: int = 0,
                 world: int = 1):
        self.fit_rows, self.batch_size, self.seed, self.rank, self.world = fit_rows, batch_size, seed, rank, world
        self.epochs, self.per_epoch = epochs, len(batch_slices(len(fit_rows), batch_size, world))
        self._drawn: tuple[int, list[np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self.epochs) * self.per_epoch

    def __getitem__(self, j: int) -> np.ndarray:
        epoch = self.epochs[j // self.per_epoch]
        if self._drawn is None or self._drawn[0] != epoch:
            self._drawn = (epoch, epoch_batches(self.fit_rows, self.batch_size, self.seed, epoch, self.world,
                                                augment=False)[0])
        return self._drawn[1][j % self.per_epoch][self.rank::self.world]


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless ``torch.distributed`` is initialised (torchrun)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _broadcast_buffers(network: nn.Module) -> None:
    import torch.distributed as dist

    for buffer in network.buffers():
        dist.broadcast(buffer, 0)


def _sum_over_processes(total: torch.Tensor, world: int) -> float:
    if world > 1:
        import torch.distributed as dist

        total = total.clone()
        dist.all_reduce(total)
    return float(total)


def _data_parallel(network: nn.Module, device: torch.device) -> nn.Module:
    """Wrap for data-parallel training; only parameters that train in this stage are synchronised."""
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(network, device_ids=device_ids, find_unused_parameters=False)


def write_history(history: list[dict[str, Any]], run_dir: Path) -> None:
    """Write ``history.ecsv`` and ``loss_curve.png`` to ``run_dir``."""
    from astropy.table import Table

    table = Table(rows=[{k: r.get(k, np.nan) for k in history[-1]} for r in history])
    with atomic_path(run_dir / "history.ecsv", overwrite=True) as tmp:
        table.write(tmp, format="ascii.ecsv")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["epoch"], table["train_loss"], "o-", label="train")
    if "val_loss" in table.colnames:
        ax.plot(table["epoch"], table["val_loss"], "s-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    losses = np.concatenate([np.asarray(table[c], float) for c in ("train_loss", "val_loss") if c in table.colnames])
    if np.nanmin(losses) > 0:
        ax.set_yscale("log")  # a variance head's likelihood can be negative: then the axis stays linear
    ax.legend()
    with atomic_path(run_dir / "loss_curve.png", overwrite=True) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def _set_trainable(network: Network, stage: str) -> None:
    for p in network.backbone.parameters():
        p.requires_grad_(stage != "head")


def _optimizer(network: Network, settings: Mapping[str, Any], stage: str) -> torch.optim.Optimizer:
    lr = float(settings["lr"])
    if stage == "head":
        groups = [{"params": list(network.head.parameters()), "lr": lr}]
    else:
        ratios = list(settings.get("lr_ratios", (1.0,)))
        layer_groups = network.layer_groups
        ratios = ratios[-len(layer_groups):] if len(ratios) >= len(layer_groups) else \
            [ratios[0]] * (len(layer_groups) - len(ratios)) + ratios
        groups = [{"params": params, "lr": lr * r} for params, r in zip(layer_groups, ratios)]
    for group in groups:
        group["initial_lr"] = group["lr"]
    kind = settings.get("optimizer", "adamw")
    decay = float(settings.get("weight_decay", 0.0))
    if kind == "adamw":
        return torch.optim.AdamW(groups, weight_decay=decay)
    if kind == "adam":
        return torch.optim.Adam(groups, weight_decay=decay)
    if kind == "sgd":
        return torch.optim.SGD(groups, momentum=0.9, weight_decay=decay)
    raise AstroCNNError(f"unknown optimizer {kind!r} in recipe (use {', '.join(map(repr, OPTIMIZERS))})")


def precise_batch_norm(network: nn.Module, data: TrainingData, normaliser: nn.Module, batch_size: int, seed: int,
                       device: str | torch.device = "cpu", workers: int = 0) -> int:
    """Set each batch-norm layer's running statistics to their mean over training batches, with the final weights.

    During training a layer keeps an exponential moving average of the last few batches' statistics;
    that estimate is noisy, and a network predicts with it.  On the bundled structure model it shifted
    every effective radius by +3 % (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", call the
    remedy precise batch norm).  Here up to :data:`PRECISE_BN_ROWS` training rows, spread evenly over
    the fit rows and shuffled with ``seed``, pass through the network in batches of ``batch_size``
    (unaugmented, without gradients, dropout off), and each layer's statistics become the plain mean
    over those batches.  Deterministic, so a resumed run ends as an uninterrupted one; every process
    of a distributed run computes the same.

    Returns
    -------
    int
        Rows used (0 when the network has no batch normalisation with running statistics).
    """
    layers = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    rows = np.asarray(data.fit_rows)
    if not layers or not len(rows):
        return 0
    rows = rows[sample_rows(len(rows), PRECISE_BN_ROWS)]
    rows = rows[np.random.default_rng(seed).permutation(len(rows))]
    if len(rows) >= batch_size:  # whole batches only: every batch counts the same in the mean
        rows = rows[:len(rows) // batch_size * batch_size]
    batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    momenta = [layer.momentum for layer in layers]
    network.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative mean
        layer.train()
    try:
        with torch.no_grad():
            for images, _, extras in batch_loader(data, batches, workers=workers):
                network(normaliser(images.to(device)), extras.to(device) if extras is not None else None)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        network.eval()
    return len(rows)


def _evaluate(network: Network, data: TrainingData, normaliser: nn.Module, loss_fn, batch_size: int, device,
              workers: int) -> float:
    network.eval()
    rows = np.asarray(data.val_rows)
    batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    total = torch.zeros((), device=device, dtype=torch.float64)
    with torch.inference_mode():
        for images, targets, extras in batch_loader(data, batches, workers=workers):
            extras = extras.to(device) if extras is not None else None
            out = network(normaliser(images.to(device)), extras)
            total += loss_fn(out.float(), targets.to(device)) * len(targets)
    network.train()
    return float(total) / len(rows)


def _rng_states() -> dict[str, Any]:
    """The global generators' states as tensors, lists and numbers (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, python_state, python_gauss = random.getstate()
    states = {"torch": torch.get_rng_state(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos,
                                                        has_gauss, gauss],
              "python": [version, list(python_state), python_gauss]}
    if torch.cuda.is_available():  # dropout on a GPU draws from the device's generators
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, python_state, python_gauss = states["python"]
    random.setstate((version, tuple(python_state), python_gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _rows_digest(data: TrainingData) -> str:
    """A fingerprint of the rows a run trains and validates on (kept in its checkpoints, checked on resume)."""
    digest = hashlib.sha256(np.asarray(data.fit_rows, dtype=np.int64).tobytes())
    digest.update(b"|" + (b"" if data.val_rows is None else np.asarray(data.val_rows, dtype=np.int64).tobytes()))
    return digest.hexdigest()


def _save_checkpoint(path: Path, network: Network, optimizer, stage: str, epoch: int, history, rows: str) -> None:
    state = {"model": network.state_dict(), "optimizer": optimizer.state_dict(), "stage": stage, "epoch": epoch,
             "history": history, "rng": _rng_states(), "rows": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(state, tmp)
