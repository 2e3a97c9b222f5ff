"""The dihedral group D4 (8 flips and 90° rotations) for training augmentation and test-time augmentation."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["dihedral", "random_dihedral", "apply_dihedral", "ALL_TRANSFORMS"]

#: Indices of the 8 dihedral transforms: k quarter turns, then a horizontal flip for 4..7.
ALL_TRANSFORMS = tuple(range(8))


def dihedral(images: torch.Tensor, k: int) -> torch.Tensor:
    """Apply dihedral transform ``k`` (0..7) to images of shape (N, C, H, W).

    Transform 0 returns ``images`` itself (no copy).  The others return a new tensor (or a view of
    one), channels-last when ``images`` are, so that a network set up for channels-last input gets
    it whichever transform it sees.
    """
    if k == 0:
        return images
    out = torch.rot90(images, k % 4, dims=(2, 3))
    out = out.flip(3) if k >= 4 else out
    if images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous():
        return out.contiguous(memory_format=torch.channels_last)
    return out


def random_dihedral(images: torch.Tensor, generator: torch.Generator,
                    transforms: Sequence[int] = ALL_TRANSFORMS) -> torch.Tensor:
    """Apply an independently drawn dihedral transform to each image (vectorised per transform)."""
    choice = torch.randint(len(transforms), (images.shape[0],), generator=generator)
    return apply_dihedral(images, choice, transforms)


def apply_dihedral(images: torch.Tensor, choice: torch.Tensor,
                   transforms: Sequence[int] = ALL_TRANSFORMS) -> torch.Tensor:
    """Apply transform ``transforms[choice[i]]`` to image ``i``, on the images' device.

    The choices are drawn on the CPU (so training is reproducible on any device) and only
    applied here; squares transform in place, so the output keeps the input's shape.
    """
    choice = choice.to(images.device, non_blocking=True)
    out = images.clone()
    for index, k in enumerate(transforms):
        selected = choice == index
        out = torch.where(selected.view(-1, 1, 1, 1), dihedral(images, k), out) if k else out
    return out
