"""A head that gives one number per output of its quantity."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MultiOutputHead", "build_multi_output_head"]


class MultiOutputHead(nn.Module):
    """Average and max pooling, extras joined, a hidden ReLU layer and a linear layer to ``n_outputs`` numbers
    (and, with ``variance``, as many log-variances after them).

    Parameters
    ----------
    in_features : int
        Channels of the backbone's feature map.
    n_outputs : int
        Numbers per galaxy (the quantity's outputs).
    n_extras : int
        Per-object scalars joined after pooling.
    hidden : int
        Width of the hidden layer.
    dropout : float
        Dropout before the last layer.
    variance : bool
        Also predict each output's log-variance, so that the network gives its own uncertainty
        (trained by the likelihood of its residuals, see :mod:`astro_cnn.engine.losses`) and
        needs no test-time augmentation for one.
    """

    def __init__(self, in_features: int, n_outputs: int, n_extras: int = 0, hidden: int = 128, dropout: float = 0.1,
                 variance: bool = False):
        super().__init__()
        width = 2 * in_features + n_extras
        self.predicts_variance = bool(variance)
        self.layers = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                    nn.Linear(hidden, n_outputs * (2 if variance else 1)))

    def forward(self, features: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Return shape (N, n_outputs) predictions (standardised, on each output's learned scale), followed by
        as many log-variances with ``variance``; shape (N,) for a single value."""
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        if extras is not None:
            pooled = torch.cat([pooled, extras], dim=1)
        out = self.layers(pooled)
        return out.squeeze(1) if out.shape[1] == 1 else out  # one value per galaxy: shape (N,), as regressions give


def build_multi_output_head(in_features: int, quantity, n_extras: int = 0, **options) -> MultiOutputHead:
    """Factory registered as the ``multi_output`` head: as many outputs as ``quantity.outputs``."""
    return MultiOutputHead(in_features, quantity.n_outputs, n_extras, **options)
