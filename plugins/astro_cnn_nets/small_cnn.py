"""A small, fast convolutional backbone for CPU training and tests."""

from __future__ import annotations

from torch import nn

from astro_cnn.arguments import checked_count
from astro_cnn.exceptions import AstroCNNError

__all__ = ["build_small_cnn"]

#: Layers in one block: conv-BN-ReLU twice, then a max-pool.
_BLOCK_LAYERS = 7


def build_small_cnn(in_channels: int, image_size: int, weights=None, width: int = 32,
                    space_to_depth: int = 1) -> nn.Module:
    """Return four conv blocks (conv-BN-ReLU ×2, max-pool) doubling the width each time.

    Parameters
    ----------
    in_channels : int
        Input bands.
    image_size : int
        Input side: at least 16 × ``space_to_depth`` pixels, for the four pooling blocks.
    weights : None
        Pretrained weights are not available for this network.
    width : int
        Channels of the first block (at least 1).
    space_to_depth : int
        Fold each ``space_to_depth`` × ``space_to_depth`` square of pixels into channels before the first block
        (``torch.nn.PixelUnshuffle``, which keeps every pixel value): at 2, the blocks run at half the
        resolution, so twice the width costs about the same as before.  1 (the default) folds nothing.
    """
    if weights is not None:
        raise AstroCNNError("small_cnn has no pretrained weights; leave weights unset")
    width, space_to_depth = checked_count(width, "width"), checked_count(space_to_depth, "space_to_depth")
    if image_size % space_to_depth or image_size < 16 * space_to_depth:
        raise AstroCNNError(f"image_size {image_size} must be a multiple of space_to_depth {space_to_depth} and at "
                            f"least {16 * space_to_depth}, for four pooling blocks")
    layers: list[nn.Module] = [nn.PixelUnshuffle(space_to_depth)] if space_to_depth > 1 else []
    channels = in_channels * space_to_depth**2
    for block in range(4):
        out = width * 2**block
        layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                   nn.Conv2d(out, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                   nn.MaxPool2d(2)]
        channels = out
    body = nn.Sequential(*layers)
    body.out_features = channels
    start = len(layers) - 4 * _BLOCK_LAYERS
    body.layer_groups = [list(range(0, start + 2 * _BLOCK_LAYERS)),
                         list(range(start + 2 * _BLOCK_LAYERS, start + 3 * _BLOCK_LAYERS)),
                         list(range(start + 3 * _BLOCK_LAYERS, len(layers)))]
    return body
