"""A small, fast convolutional backbone for CPU training and tests."""

from __future__ import annotations

from torch import nn

__all__ = ["build_small_cnn"]


def build_small_cnn(in_channels: int, image_size: int, weights=None, width: int = 32) -> nn.Module:
    """Return four conv blocks (conv-BN-ReLU ×2, max-pool) doubling the width each time.

    Parameters
    ----------
    in_channels : int
        Input bands.
    image_size : int
        Input side (recorded only).
    weights : None
        Pretrained weights are not available for this network.
    width : int
        Channels of the first block.
    """
    if weights is not None:
        raise ValueError("small_cnn has no pretrained weights; leave weights unset")
    layers: list[nn.Module] = []
    channels = in_channels
    for block in range(4):
        out = width * 2**block
        layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                   nn.Conv2d(out, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                   nn.MaxPool2d(2)]
        channels = out
    body = nn.Sequential(*layers)
    body.out_features = channels
    body.layer_groups = [list(range(0, 14)), list(range(14, 21)), list(range(21, 28))]
    return body
