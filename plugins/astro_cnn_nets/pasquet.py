"""The inception-style network of Pasquet et al. (2019, A&A 621, A26, Table A1), as a backbone.

A 5×5 convolution (64 maps, PReLU), average pooling, then five inception blocks (parallel 1×1,
1×1→3×3, 1×1→5×5 and average-pool→1×1 branches with PReLU activations) with average pooling
between them.  Its two dense layers of 1024 units, which take the extra scalar inputs such as
E(B−V), are in the ``pdf`` head (``hidden=(1024, 1024)``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_pasquet", "Inception"]


class Inception(nn.Module):
    """One inception block: four parallel branches concatenated along channels.

    Parameters
    ----------
    in_channels : int
    reduce : int
        Width of the 1×1 reductions before the 3×3 and 5×5 convolutions.
    out_branch : int
        Width of every branch (the block outputs ``4 * out_branch`` channels).
    """

    def __init__(self, in_channels: int, reduce: int, out_branch: int):
        super().__init__()

        def conv(cin: int, cout: int, k: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.PReLU(cout))

        self.b1 = conv(in_channels, out_branch, 1)
        self.b3 = nn.Sequential(conv(in_channels, reduce, 1), conv(reduce, out_branch, 3))
        self.b5 = nn.Sequential(conv(in_channels, reduce, 1), conv(reduce, out_branch, 5))
        self.bp = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), conv(in_channels, out_branch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches."""
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


def build_pasquet(in_channels: int, image_size: int, weights=None) -> nn.Module:
    """Return the Pasquet et al. convolutional part; 64×64 inputs give an 8×8 feature map of 256 channels."""
    if weights is not None:
        raise ValueError("pasquet2019 has no pretrained weights; leave weights unset")
    body = nn.Sequential(
        nn.Conv2d(in_channels, 64, 5, padding=2), nn.PReLU(64),
        nn.AvgPool2d(2),
        Inception(64, 48, 32), Inception(128, 64, 48),
        nn.AvgPool2d(2),
        Inception(192, 64, 48), Inception(192, 92, 64),
        nn.AvgPool2d(2),
        Inception(256, 92, 64),
    )
    body.out_features = 256
    body.layer_groups = [list(range(0, 5)), list(range(5, 8)), list(range(8, 10))]
    return body
