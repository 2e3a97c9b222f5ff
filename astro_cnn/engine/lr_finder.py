"""The learning-rate range test of Smith (2015): train briefly while raising the learning rate geometrically."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from astropy.table import QTable

from ..image_checks import MIN_CENTRE_SNR
from .losses import loss_functions, rise_limit
from .trainer import _optimizer

if TYPE_CHECKING:
    from .predictor import NetworkPredictor

__all__ = ["lr_range_test", "suggested_lr"]


def lr_range_test(predictor: NetworkPredictor, images: Any, labels: np.ndarray,
                  extras: Mapping[str, np.ndarray] | None = None, *, recipe_settings: Mapping, lr_min: float = 1e-6,
                  lr_max: float = 1.0, steps: int = 60, seed: int = 0,
                  min_centre_snr: float | None = MIN_CENTRE_SNR, log=print) -> QTable:
    """Loss against learning rate for one pass of increasing learning rates (all layers trainable).

    Parameters
    ----------
    predictor : NetworkPredictor
        Untrained predictor (its architecture is built afresh).
    images, labels, extras
        Training data (images as :meth:`~astro_cnn.engine.NetworkPredictor.fit` takes them).
    recipe_settings : mapping
        Optimiser settings (``optimizer``, ``weight_decay``, ``batch_size``).
    lr_min, lr_max : float
        Range of learning rates.
    steps : int
        Number of mini-batches (learning rates).
    seed : int
    min_centre_snr : float or None
        Images that prediction would flag are left out, as in training (see
        :meth:`~astro_cnn.engine.NetworkPredictor.fit`).
    log : callable
        Receives the line saying which images were left out.

    Returns
    -------
    QTable
        Columns ``lr``, ``loss`` and ``smoothed_loss``; ``meta["suggested_lr"]`` is the learning
        rate of the steepest fall of the smoothed loss before its minimum (see :func:`suggested_lr`).
        Stops early when the loss diverges.
    """
    torch.manual_seed(seed)
    screened, data = predictor.training_set(images, labels, extras, 0.0, seed, min_centre_snr, log)
    rows = screened.rows
    normaliser = data.normaliser
    network = predictor.new_network().train()
    optimizer = _optimizer(network, {**recipe_settings, "lr": lr_min, "lr_ratios": (1.0,)}, "all")
    loss_fn, _ = loss_functions(predictor.quantity.kind, network.predicts_variance)
    generator = torch.Generator().manual_seed(seed)
    batch = int(recipe_settings.get("batch_size", 32))
    lrs, losses, smoothed, average = [], [], [], 0.0
    for step in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (step / max(1, steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = rows[torch.randint(len(rows), (min(batch, len(rows)),), generator=generator).numpy()]
        pixels, targets, extra_inputs = data.batch(index)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(network(normaliser(pixels), extra_inputs), targets)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        average = 0.9 * average + 0.1 * value
        lrs.append(lr)
        losses.append(value)
        smoothed.append(average / (1 - 0.9 ** (step + 1)))
        if not math.isfinite(value) or smoothed[-1] > rise_limit(smoothed, 4.0, network.predicts_variance):
            break
    table = QTable({"lr": lrs, "loss": losses, "smoothed_loss": smoothed})
    table.meta["suggested_lr"] = suggested_lr(np.asarray(lrs), np.asarray(smoothed))
    return table


def suggested_lr(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """The learning rate of the steepest fall of the smoothed loss before its minimum.

    The first tenth of the sweep is skipped (the running average still starts up there, so its
    slope says nothing), as is everything after the minimum, where the loss has begun to diverge.
    """
    if len(lrs) < 5:
        return float(lrs[0]) if len(lrs) else float("nan")
    lowest = int(np.argmin(smoothed))
    start = max(1, len(lrs) // 10)
    if lowest <= start:
        return float(lrs[lowest])
    slope = np.gradient(smoothed, np.log(lrs))
    return float(lrs[start + int(np.argmin(slope[start:lowest + 1]))])
