"""Heads: from a backbone's feature map (plus optional per-object scalars) to a quantity's raw output."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RegressionHead", "PDFHead", "build_regression_head", "build_pdf_head"]


class RegressionHead(nn.Module):
    """The Wu & Boada (2019) head: concatenated average+max pooling, BN, dropout 0.25, linear, ReLU,
    BN, dropout 0.5, linear to one number.

    Parameters
    ----------
    in_features : int
        Channels of the backbone's feature map.
    n_extras : int
        Per-object scalars joined after pooling.
    hidden : int
        Width of the hidden layer.
    """

    def __init__(self, in_features: int, n_extras: int = 0, hidden: int = 512):
        super().__init__()
        width = 2 * in_features + n_extras
        self.layers = nn.Sequential(
            nn.BatchNorm1d(width), nn.Dropout(0.25), nn.Linear(width, hidden), nn.ReLU(inplace=True),
            nn.BatchNorm1d(hidden), nn.Dropout(0.5), nn.Linear(hidden, 1),
        )

    def forward(self, features: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Return shape (N,) predictions (in standardised label units)."""
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        if extras is not None:
            pooled = torch.cat([pooled, extras], dim=1)
        return self.layers(pooled).squeeze(1)


class PDFHead(nn.Module):
    """A binned-PDF classifier: pooled features and extra scalars through dense PReLU layers to
    logits over ``n_bins`` bins (softmax gives the PDF).  With ``hidden=(1024, 1024)`` these are the
    two dense layers of Pasquet et al. (2019), the extra inputs (E(B−V)) joined at each.

    Parameters
    ----------
    in_features : int
        Channels of the backbone's feature map.
    n_bins : int
        Number of PDF bins.
    n_extras : int
        Per-object scalars joined at every dense layer.
    hidden : tuple of int
        Widths of the dense layers.
    """

    def __init__(self, in_features: int, n_bins: int, n_extras: int = 0, hidden: tuple[int, ...] = (1024, 1024)):
        super().__init__()
        self.n_extras = n_extras
        widths = [in_features, *hidden]
        self.dense = nn.ModuleList(
            nn.Sequential(nn.Linear(widths[i] + n_extras, widths[i + 1]), nn.PReLU(widths[i + 1]))
            for i in range(len(hidden))
        )
        self.out = nn.Linear(widths[-1], n_bins)

    def forward(self, features: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits of shape (N, n_bins)."""
        x = features.mean(dim=(2, 3))
        for layer in self.dense:
            x = layer(torch.cat([x, extras], dim=1) if extras is not None else x)
        return self.out(x)


def build_regression_head(in_features: int, quantity, n_extras: int = 0, **options) -> RegressionHead:
    """Factory registered as the ``regression`` head."""
    return RegressionHead(in_features, n_extras, **options)


def build_pdf_head(in_features: int, quantity, n_extras: int = 0, **options) -> PDFHead:
    """Factory registered as the ``pdf`` head (bins from the quantity)."""
    return PDFHead(in_features, quantity.pdf_bins, n_extras, **options)
