"""A backbone and a head from the registry, joined into one ``torch.nn.Module``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import registry
from ..quantity import Quantity

__all__ = ["Network", "build_network"]


class Network(nn.Module):
    """Backbone → head, with per-object extra scalars passed to the head.

    Attributes
    ----------
    backbone, head : torch.nn.Module
    layer_groups : list of list of torch.nn.Parameter
        Parameter groups for discriminative learning rates, earliest first; the head is in the last.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor, extras: torch.Tensor | None = None) -> torch.Tensor:
        """Raw head output: shape (N,) for regression, (N, bins) logits for a PDF."""
        return self.head(self.backbone(images), extras)

    @property
    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Backbone groups (as the backbone declares them) with the head added to the last group."""
        children = list(self.backbone.children())
        groups = [[p for i in idx for p in children[i].parameters()] for idx in self.backbone.layer_groups]
        groups[-1] = groups[-1] + list(self.head.parameters())
        return groups


def build_network(architecture: dict[str, Any], quantity: Quantity) -> Network:
    """Build a :class:`Network` from an architecture record.

    Parameters
    ----------
    architecture : dict
        ``backbone``, ``head`` (registry names), ``in_channels``, ``image_size``, ``n_extras``,
        and optionally ``weights`` (a local pretrained file) and ``head_options``.
    quantity : Quantity
        What the head predicts.

    Returns
    -------
    Network
    """
    backbone = registry.get("backbone", architecture["backbone"]).build(
        architecture["in_channels"], architecture["image_size"], weights=architecture.get("weights"))
    head = registry.get("head", architecture["head"]).build(
        backbone.out_features, quantity, n_extras=architecture.get("n_extras", 0),
        **architecture.get("head_options", {}))
    return Network(backbone, head)
