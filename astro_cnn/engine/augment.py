"""The dihedral group D4 (8 flips and 90° rotations) for training augmentation and test-time augmentation."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["dihedral", "random_dihedral", "ALL_TRANSFORMS"]

#: Indices of the 8 dihedral transforms: k quarter turns, then a horizontal flip for 4..7.
ALL_TRANSFORMS = tuple(range(8))


def dihedral(images: torch.Tensor, k: int) -> torch.Tensor:
    """Apply dihedral transform ``k`` (0..7) to images of shape (N, C, H, W)."""
    out = torch.rot90(images, k % 4, dims=(2, 3))
    return out.flip(3) if k >= 4 else out


def random_dihedral(images: torch.Tensor, generator: torch.Generator,
                    transforms: Sequence[int] = ALL_TRANSFORMS) -> torch.Tensor:
    """Apply an independently drawn dihedral transform to each image (vectorised per transform)."""
    choice = torch.randint(len(transforms), (images.shape[0],), generator=generator)
    out = images.clone()
    for index, k in enumerate(transforms):
        selected = choice == index
        if selected.any():
            out[selected] = dihedral(images[selected], k)
    return out
