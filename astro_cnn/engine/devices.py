"""Which device a network runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, resolved in the process that runs it."""

from __future__ import annotations

import os

import torch

from ..exceptions import AstroCNNError

__all__ = ["resolve_device", "check_device", "default_workers", "usable_workers", "DEVICE_CHOICES",
           "TRAINING_WORKERS_ON_GPU", "MAX_WORKERS_PER_CPU"]

#: What ``device`` arguments accept.
DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
#: Worker processes reading training batches for a GPU.  Reading a stored batch is cheap, and more
#: workers compete for the CPU with the process that launches the GPU's work: on an NVIDIA H200
#: machine with 16 CPUs, ResNet-34 trained at 0.81x the bare step rate with 4 workers and 0.67x
#: with 15 (``benchmarks/bench_gpu.py --loop-variants``).
TRAINING_WORKERS_ON_GPU = 4


def check_device(spec: str | torch.device) -> str:
    """Check the form of a device request without resolving it (a Dask worker may resolve it later).

    Raises
    ------
    AstroCNNError
        ``spec`` is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """
    text = str(spec).strip().lower()
    kind, _, index = text.partition(":")
    if text in {"auto", "cpu", "cuda"} or (kind == "cuda" and index.isdigit()):
        return text
    raise AstroCNNError(f"device {str(spec)!r} is not one of {DEVICE_CHOICES}")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The device a request names, here and now.

    ``auto`` is the GPU of this process when one is visible (``cuda:LOCAL_RANK`` under ``torchrun``,
    so that each rank has its own), else the CPU.

    Raises
    ------
    AstroCNNError
        The request is malformed, or names a GPU this process cannot see.
    """
    text = check_device(spec)
    if text == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    device = torch.device(text)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise AstroCNNError(f"device {text!r} was asked for but no CUDA GPU is visible to this process")
        if device.index is not None and device.index >= count:
            raise AstroCNNError(f"device {text!r} was asked for but this process sees {count} GPU(s)")
    return device


#: Most image-reading processes started per CPU, however many are asked for: beyond a few per core they add
#: memory (each a copy of the interpreter) and no speed.
MAX_WORKERS_PER_CPU = 4


def usable_workers(asked: int, tasks: int) -> int:
    """The image-reading processes worth starting for ``tasks`` pieces of work (chunks or batches).

    No more than ``asked``, than there are tasks (an idle process still costs its memory), nor than
    :data:`MAX_WORKERS_PER_CPU` per CPU of this machine: ``workers=99999`` on a small table started
    processes until the machine ran out of memory.
    """
    return max(0, min(int(asked), int(tasks), MAX_WORKERS_PER_CPU * (os.cpu_count() or 1)))


def default_workers(device: str | torch.device, task: str) -> int:
    """Worker processes to read images with when none are asked for.

    None on the CPU (reading in the background would take the cores the network uses); on a GPU,
    :data:`TRAINING_WORKERS_ON_GPU` for ``task="training"`` and every CPU but one for
    ``task="prediction"``, where decoding and checking image files is the work that limits the rate.

    Raises
    ------
    ValueError
        ``task`` is not "training" or "prediction".
    """
    if task not in ("training", "prediction"):
        raise ValueError(f"task must be 'training' or 'prediction', not {task!r}")
    if torch.device(device).type != "cuda":
        return 0
    spare = max(1, (os.cpu_count() or 2) - 1)
    return min(TRAINING_WORKERS_ON_GPU, spare) if task == "training" else spare
