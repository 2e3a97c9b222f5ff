"""Speed settings: channels-last memory layout, bfloat16 autocast and ``torch.compile``.

Each setting is ``True``, ``False`` or ``"auto"`` (also ``None``, unset).  ``"auto"`` turns a setting on
when the network runs on a CUDA GPU and :data:`CUDA_AUTO` says it pays there, and off on the CPU, so
CPU runs keep their exact, bit-identical behaviour.  :data:`CUDA_AUTO` holds what
``benchmarks/bench_gpu.py`` measured on an NVIDIA H200 (see ``docs/training_at_scale.rst``).
``compile`` is never turned on by ``"auto"``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

__all__ = ["CUDA_AUTO", "SPEED_SETTINGS", "speed_setting", "prepare_network", "prepare_input", "autocast"]

#: The speed settings, and whether ``"auto"`` turns each on on a CUDA GPU (training and prediction).
CUDA_AUTO = {"channels_last": True, "bf16": True, "compile": False}
#: Names of the speed settings.
SPEED_SETTINGS = tuple(CUDA_AUTO)


def speed_setting(name: str, value: Any, device: torch.device | str) -> bool:
    """Whether speed setting ``name`` is on for a network running on ``device``.

    Parameters
    ----------
    name : {"channels_last", "bf16", "compile"}
    value : bool, "auto" or None
        The requested setting; ``"auto"`` and ``None`` follow :data:`CUDA_AUTO` on a CUDA device and
        are off elsewhere.
    device : torch.device or str

    Raises
    ------
    ValueError
        ``name`` is not a speed setting or ``value`` is not True, False, "auto" or None.
    """
    if name not in CUDA_AUTO:
        raise ValueError(f"{name!r} is not a speed setting; they are {', '.join(SPEED_SETTINGS)}")
    if value is None or (isinstance(value, str) and value.lower() == "auto"):
        return torch.device(device).type == "cuda" and CUDA_AUTO[name]
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ValueError(f"speed setting {name} must be True, False or 'auto', not {value!r}")


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
