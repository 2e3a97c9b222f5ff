"""A head that gives one number per output of its quantity."""

from __future__ import annotations

import torch
from torch import nn

from astro_cnn.arguments import checked_count, checked_fraction, checked_switch
from astro_cnn.exceptions import AstroCNNError

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
        Width of the hidden layer (at least 1).
    dropout : float
        Dropout before the last layer, at least 0 and below 1.
    variance : bool
        Also predict each output's log-variance, so that the network gives its own uncertainty
        (trained by the likelihood of its residuals, see :mod:`astro_cnn.engine.losses`) and
        needs no test-time augmentation for one.
    separate_variance : bool
        With ``variance``: the log-variances come from a hidden layer of their own that sees the pooled
        features detached, so that their likelihood trains only that branch and the backbone learns from
        the means' squared error alone.  Sharing the backbone cost the structure network precision: after
        20 epochs on the same 5,867 stacks its held-out scatter of n, r_e and q was 0.076, 0.068 and 0.041
        with the shared head against 0.063, 0.054 and 0.030 without a variance head.
    """

    def __init__(self, in_features: int, n_outputs: int, n_extras: int = 0, hidden: int = 128, dropout: float = 0.1,
                 variance: bool = False, separate_variance: bool = False):
        super().__init__()
        hidden = checked_count(hidden, "hidden")
        variance, separate_variance = checked_switch(variance, "variance"), checked_switch(separate_variance,
                                                                                          "separate_variance")
        dropout = checked_fraction(dropout, "dropout")
        if separate_variance and not variance:
            raise AstroCNNError("separate_variance=True needs variance=True")
        width = 2 * in_features + n_extras
        self.predicts_variance = bool(variance)
        shared = variance and not separate_variance
        self.layers = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                    nn.Linear(hidden, n_outputs * (2 if shared else 1)))
        self.variance_layers = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True),
                                             nn.Linear(hidden, n_outputs)) if separate_variance else None

    def forward(self, features: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Return shape (N, n_outputs) predictions (standardised, on each output's learned scale), followed by
        as many log-variances with ``variance``; shape (N,) for a single value."""
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        if extras is not None:
            pooled = torch.cat([pooled, extras], dim=1)
        out = self.layers(pooled)
        if self.variance_layers is not None:
            out = torch.cat([out, self.variance_layers(pooled.detach())], dim=1)
        return out.squeeze(1) if out.shape[1] == 1 else out  # one value per galaxy: shape (N,), as regressions give


def build_multi_output_head(in_features: int, quantity, n_extras: int = 0, **options) -> MultiOutputHead:
    """Factory registered as the ``multi_output`` head: as many outputs as ``quantity.outputs``."""
    return MultiOutputHead(in_features, quantity.n_outputs, n_extras, **options)
