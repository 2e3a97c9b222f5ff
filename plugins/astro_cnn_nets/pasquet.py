"""The photometric-redshift network of Pasquet et al. (2019, A&A 621, A26), as the authors published it,
and a compact variant.

``pasquet2019`` follows ``model()`` in the authors' code, ``network.py`` of the GitHub repository
jpasquet/Photoz (TensorFlow), layer for layer:

- a 5×5 convolution to 64 maps with PReLU, then 2×2 average pooling (stride 2);
- inception blocks ``(48, 64)`` and ``(64, 92)``, 2×2 average pooling;
- inception blocks ``(92, 128)`` and ``(92, 128)``, 2×2 average pooling;
- an inception block ``(92, 128)`` without its 5×5 branch, giving an 8×8×348 map for a 64×64 input;
- the map flattened (no global pooling).

Every convolution has stride 1, "same" padding, a bias and a PReLU (one slope per channel, starting at
0); weights start Glorot-uniform and biases at 0.1, as in the TensorFlow code.  The flattened map is
joined with E(B−V) once and goes through two 1,096-unit ReLU layers to 180 logits: that part takes the
per-object extras, so it is the ``pasquet2019`` head (:class:`astro_cnn_nets.heads.PasquetHead`).  With
a 5-band 64×64 input the backbone has 1,784,296 parameters and the network 27,596,372, the "about
27.6 M" of the published code.

To fit the engine's contract (a backbone returns a map of ``out_features`` channels, which a head
pools), the backbone returns the flattened map as a ``(N, 348 h w, 1, 1)`` tensor, so any head can
follow it and pooling over its single pixel is the flatten.

``pasquet2019-compact`` is an earlier, smaller inception network, not the published one: about half
the widths, a four-branch block throughout and an 8×8×256 map; 0.9 M parameters, 2.4 M with the
``pdf`` head on 64×64 inputs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from astro_cnn.exceptions import AstroCNNError

__all__ = ["PasquetInception", "CompactInception", "build_pasquet", "build_pasquet_compact"]


def _conv_prelu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """A stride-1 "same" convolution with bias and PReLU, initialised as in the authors' ``conv2d``."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.constant_(conv.bias, 0.1)
    return nn.Sequential(conv, nn.PReLU(out_channels, init=0.0))


class PasquetInception(nn.Module):
    """One inception block of the authors' ``inception()``: parallel branches concatenated along channels.

    The branches, in the authors' concatenation order: a 1×1 convolution to ``n_out``; 1×1 to
    ``n_reduce`` then 5×5 to ``n_out`` (unless ``with_5x5`` is False); 1×1 to ``n_reduce`` then 3×3 to
    ``n_out``; 1×1 to ``n_reduce`` then 2×2 average pooling with stride 1 ("same" padding, averaging only
    the pixels inside the map, as TensorFlow's ``avg_pool`` does).

    Parameters
    ----------
    in_channels : int
        Channels of the input map.
    n_reduce : int
        Width of the 1×1 convolutions before the 3×3, the 5×5 and the pooling (the authors' ``nbS1``).
    n_out : int
        Width of the 1×1, 3×3 and 5×5 branches (the authors' ``nbS2``).
    with_5x5 : bool
        Keep the 5×5 branch (the authors drop it in the last block).

    Attributes
    ----------
    out_channels : int
        ``3 n_out + n_reduce`` with the 5×5 branch, ``2 n_out + n_reduce`` without.
    """

    def __init__(self, in_channels: int, n_reduce: int, n_out: int, with_5x5: bool = True):
        super().__init__()
        self.b1 = _conv_prelu(in_channels, n_out, 1)
        self.b5 = (nn.Sequential(_conv_prelu(in_channels, n_reduce, 1), _conv_prelu(n_reduce, n_out, 5))
                   if with_5x5 else None)
        self.b3 = nn.Sequential(_conv_prelu(in_channels, n_reduce, 1), _conv_prelu(n_reduce, n_out, 3))
        # replicating the last row and column makes each edge window the mean of its pixels inside the map
        self.bp = nn.Sequential(_conv_prelu(in_channels, n_reduce, 1), nn.ReplicationPad2d((0, 1, 0, 1)),
                                nn.AvgPool2d(2, stride=1))
        self.out_channels = (3 if with_5x5 else 2) * n_out + n_reduce

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches (1×1, 5×5, 3×3, pooled)."""
        five = [] if self.b5 is None else [self.b5(x)]
        return torch.cat([self.b1(x), *five, self.b3(x), self.bp(x)], dim=1)


def build_pasquet(in_channels: int, image_size: int, weights: None = None) -> nn.Sequential:
    """Return the convolutional part of the published network, ending with the flattened map.

    Parameters
    ----------
    in_channels : int
        Input bands (5 for *ugriz*).
    image_size : int
        Input side in pixels (64 in the paper); the three poolings halve it, rounding up as TensorFlow's
        "same" pooling does, so the flattened map has ``348 * ceil(image_size / 8)**2`` features.
    weights : None
        The network has no pretrained weights here.

    Returns
    -------
    torch.nn.Sequential
        With ``out_features`` (the flattened map's length) and ``layer_groups`` (stem and first two
        blocks; the next two; the last block and the flatten).
    """
    if weights is not None:
        raise AstroCNNError("pasquet2019 has no pretrained weights; leave weights unset")
    blocks = [PasquetInception(64, 48, 64)]
    blocks.append(PasquetInception(blocks[-1].out_channels, 64, 92))
    blocks.append(PasquetInception(blocks[-1].out_channels, 92, 128))
    blocks.append(PasquetInception(blocks[-1].out_channels, 92, 128))
    blocks.append(PasquetInception(blocks[-1].out_channels, 92, 128, with_5x5=False))
    side = image_size
    for _ in range(3):
        side = math.ceil(side / 2)
    out_features = blocks[-1].out_channels * side * side
    stem = _conv_prelu(in_channels, 64, 5)
    body = nn.Sequential(
        stem[0], stem[1], nn.AvgPool2d(2, ceil_mode=True),
        blocks[0], blocks[1], nn.AvgPool2d(2, ceil_mode=True),
        blocks[2], blocks[3], nn.AvgPool2d(2, ceil_mode=True),
        blocks[4], nn.Sequential(nn.Flatten(), nn.Unflatten(1, (out_features, 1, 1))),
    )
    body.out_features = out_features
    body.layer_groups = [list(range(0, 5)), list(range(5, 8)), list(range(8, 11))]
    return body


class CompactInception(nn.Module):
    """The compact network's block: four parallel branches concatenated along channels.

    Parameters
    ----------
    in_channels : int
        Channels of the input map.
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


def build_pasquet_compact(in_channels: int, image_size: int, weights: None = None) -> nn.Sequential:
    """Return the compact inception network (not the published one); 64×64 inputs give an 8×8×256 map.

    Parameters
    ----------
    in_channels : int
        Input bands.
    image_size : int
        Input side (recorded only).
    weights : None
        The network has no pretrained weights.

    Returns
    -------
    torch.nn.Sequential
        With ``out_features`` (256) and ``layer_groups``.
    """
    if weights is not None:
        raise AstroCNNError("pasquet2019-compact has no pretrained weights; leave weights unset")
    body = nn.Sequential(
        nn.Conv2d(in_channels, 64, 5, padding=2), nn.PReLU(64),
        nn.AvgPool2d(2),
        CompactInception(64, 48, 32), CompactInception(128, 64, 48),
        nn.AvgPool2d(2),
        CompactInception(192, 64, 48), CompactInception(192, 92, 64),
        nn.AvgPool2d(2),
        CompactInception(256, 92, 64),
    )
    body.out_features = 256
    body.layer_groups = [list(range(0, 5)), list(range(5, 8)), list(range(8, 10))]
    return body
