"""Optional speed settings: channels-last memory layout, bfloat16 autocast and ``torch.compile``.

All are off by default; ``benchmarks/bench_training.py`` measures whether they help on a machine.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

__all__ = ["prepare_network", "prepare_input", "autocast"]


def prepare_network(network: nn.Module, *, channels_last: bool = False, compile: bool = False) -> nn.Module:
    """Return ``network`` in channels-last layout and/or compiled with ``torch.compile``."""
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    if compile:
        network = torch.compile(network)
    return network


def prepare_input(images: torch.Tensor, *, channels_last: bool = False) -> torch.Tensor:
    """Images in the memory layout the network expects."""
    return images.contiguous(memory_format=torch.channels_last) if channels_last else images


def autocast(device: torch.device | str, enabled: bool):
    """bfloat16 autocast on ``device`` when ``enabled``, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
