"""Heads: from a backbone's feature map (plus optional per-object scalars) to a quantity's raw output."""

from __future__ import annotations

import torch
from torch import nn

from astro_cnn.arguments import checked_count, checked_widths
from astro_cnn.exceptions import AstroCNNError

__all__ = ["RegressionHead", "PDFHead", "PasquetHead", "build_regression_head", "build_pdf_head", "build_pasquet_head"]


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
        Width of the hidden layer (at least 1).
    """

    def __init__(self, in_features: int, n_extras: int = 0, hidden: int = 512):
        super().__init__()
        hidden = checked_count(hidden, "hidden")
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
    """A binned-PDF classifier: average-pooled features and extra scalars through dense PReLU layers to
    logits over ``n_bins`` bins (softmax gives the PDF), the extra inputs joined at every dense layer.
    (The published Pasquet et al. 2019 layers are :class:`PasquetHead`.)

    Parameters
    ----------
    in_features : int
        Channels of the backbone's feature map.
    n_bins : int
        Number of PDF bins.
    n_extras : int
        Per-object scalars joined at every dense layer.
    hidden : sequence of int
        Widths of the dense layers (each at least 1; none: logits straight from the pooled features, for a
        model without extra inputs).
    """

    def __init__(self, in_features: int, n_bins: int, n_extras: int = 0, hidden: tuple[int, ...] = (1024, 1024)):
        super().__init__()
        hidden = checked_widths(hidden, "hidden")
        if n_extras and not hidden:
            raise AstroCNNError("the pdf head joins the extra inputs at its dense layers: with hidden=[] it has "
                                "none and would ignore them; give it at least one (e.g. hidden=[1024])")
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


class PasquetHead(nn.Module):
    """The dense layers of Pasquet et al. (2019) as in the authors' code (jpasquet/Photoz, ``network.py``):
    the backbone's features, pooled over its map (for the ``pasquet2019`` backbone, whose map is a single
    pixel holding the flattened 8×8×348 map, this is the flatten), joined once with the extra scalars
    (E(B−V)), then dense ReLU layers of 1,096 units and a linear layer to the outputs.  Weights start
    Glorot-uniform and biases at 0.1, as in the TensorFlow code.

    Parameters
    ----------
    in_features : int
        Channels of the backbone's feature map.
    n_outputs : int
        Logits (PDF bins: 180 in the paper), or 1 for a regression, whose output is then squeezed to ``(N,)``.
    n_extras : int
        Per-object scalars joined before the first dense layer.
    hidden : sequence of int
        Widths of the dense ReLU layers (each at least 1).
    """

    def __init__(self, in_features: int, n_outputs: int, n_extras: int = 0,
                 hidden: tuple[int, ...] = (1096, 1096)):
        super().__init__()
        hidden = checked_widths(hidden, "hidden")
        widths = [in_features + n_extras, *hidden]
        layers: list[nn.Module] = []
        for i in range(len(hidden)):
            layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(widths[-1], n_outputs))
        self.layers = nn.Sequential(*layers)
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.constant_(layer.bias, 0.1)

    def forward(self, features: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits of shape (N, n_outputs), or (N,) predictions when ``n_outputs`` is 1."""
        x = features.mean(dim=(2, 3))
        if extras is not None:
            x = torch.cat([x, extras], dim=1)
        out = self.layers(x)
        return out.squeeze(1) if out.shape[1] == 1 else out


def build_regression_head(in_features: int, quantity, n_extras: int = 0, **options) -> RegressionHead:
    """Factory registered as the ``regression`` head."""
    return RegressionHead(in_features, n_extras, **options)


def build_pdf_head(in_features: int, quantity, n_extras: int = 0, **options) -> PDFHead:
    """Factory registered as the ``pdf`` head (bins from the quantity)."""
    return PDFHead(in_features, quantity.pdf_bins, n_extras, **options)


def build_pasquet_head(in_features: int, quantity, n_extras: int = 0, **options) -> PasquetHead:
    """Factory registered as the ``pasquet2019`` head: the quantity's PDF bins, or one output for a regression."""
    return PasquetHead(in_features, quantity.pdf_bins if quantity.kind == "pdf" else 1, n_extras, **options)
