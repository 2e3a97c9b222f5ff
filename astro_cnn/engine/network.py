"""A backbone and a head from the registry, joined into one ``torch.nn.Module``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .. import registry
from ..exceptions import AstroCNNError
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
        """Raw head output: shape (N,) for a regression, (N, K) for one of K outputs, (N, bins) logits for a PDF."""
        return self.head(self.backbone(images), extras)

    @property
    def predicts_variance(self) -> bool:
        """Whether the head gives a log-variance after each mean (see :mod:`astro_cnn.engine.losses`)."""
        return bool(getattr(self.head, "predicts_variance", False))

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
        and optionally ``weights`` (a local pretrained file), ``backbone_options`` and
        ``head_options`` (keyword arguments of the two factories).
    quantity : Quantity
        What the head predicts; a head for a quantity of several outputs must size itself from
        ``quantity.outputs`` (one number per output).

    Returns
    -------
    Network

    Raises
    ------
    AstroCNNError
        The backbone or head cannot be built with the options given (an unknown option, or a value it
        refuses: the message names the argument and says why), or the head gives another number of values
        per galaxy than the quantity's outputs.
    """
    backbone_factory = registry.get("backbone", architecture["backbone"])
    backbone_options = architecture.get("backbone_options", {})
    with _options_named("backbone", architecture["backbone"], "backbone_options", backbone_options):
        backbone = backbone_factory.build(architecture["in_channels"], architecture["image_size"],
                                          weights=architecture.get("weights"), **backbone_options)
    head_factory = registry.get("head", architecture["head"])
    head_options = architecture.get("head_options", {})
    with _options_named("head", architecture["head"], "head_options", head_options):
        head = head_factory.build(backbone.out_features, quantity, n_extras=architecture.get("n_extras", 0),
                                  **head_options)
    network = Network(backbone, head)
    if network.predicts_variance and quantity.kind != "regression":
        raise AstroCNNError(f"head {architecture['head']!r} predicts variances, which only a regression quantity "
                            f"has; {quantity.name!r} is a {quantity.kind}")
    if quantity.kind == "regression":
        _check_head_width(network, architecture.get("n_extras", 0), architecture["head"], quantity)
    return network


@contextlib.contextmanager
def _options_named(kind: str, name: str, argument: str, options: dict[str, Any]) -> Iterator[None]:
    """Where options were given, turn a factory's refusal (an unknown option is a TypeError; a value it refuses,
    AstroCNNError or ValueError) into an error naming ``argument``; without options, its errors pass as they are."""
    try:
        yield
    except (TypeError, ValueError, AstroCNNError) as error:
        if not options:
            raise
        raise AstroCNNError(f"{kind} {name!r} cannot be built with {argument}={options!r}: {error}") from error


def _check_head_width(network: Network, n_extras: int, name: str, quantity: Quantity) -> None:
    """Refuse a head that does not give one value per output of ``quantity`` (it would train on broadcast labels).

    The head runs once in evaluation mode on zero features of 1×1 pixel (no dropout, no change to
    its running statistics or to any random state); a head that cannot run on those is not checked.
    """
    head = network.head
    was_training = head.training
    head.eval()
    try:
        with torch.no_grad():
            extras = torch.zeros(2, n_extras) if n_extras else None
            width = tuple(head(torch.zeros(2, network.backbone.out_features, 1, 1), extras).shape[1:])
    except RuntimeError:  # a head that needs a feature map of its own size: the first batch will tell
        return
    finally:
        head.train(was_training)
    expected = quantity.n_outputs * (2 if network.predicts_variance else 1)
    if width != ((expected,) if expected > 1 else ()):  # one value per galaxy comes as shape (N,)
        columns = ", ".join(o.column for o in quantity.outputs)
        given = "1 value" if not width else f"values of shape {width}"
        needed = (f"{expected} values (a mean and a log-variance for each)" if expected > quantity.n_outputs
                  else f"{expected} outputs" if expected > 1 else "one value per galaxy, shaped (N,)")
        raise AstroCNNError(f"head {name!r} gives {given} per galaxy but quantity {quantity.name!r} "
                            f"needs {needed} ({columns}): use a head that sizes itself from "
                            f"quantity.outputs (e.g. {quantity.default_head!r})")
