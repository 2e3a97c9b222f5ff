"""torchvision ResNet-18/34 backbones for any number of input bands, optionally from local ImageNet weights."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

__all__ = ["build_resnet"]


def build_resnet(depth: int, in_channels: int, image_size: int, weights: str | Path | None = None) -> nn.Module:
    """Return a ResNet feature extractor (no pooling, no classifier) with ``out_features`` channels.

    Parameters
    ----------
    depth : {18, 34}
        Which ResNet.
    in_channels : int
        Number of input bands.  With ImageNet weights and ``in_channels != 3`` the first
        convolution's filters are averaged over RGB and repeated for every band (scaled by 3/C),
        so each band starts with the ImageNet response to brightness.
    image_size : int
        Input side in pixels (any size works; recorded for the model card).
    weights : path, optional
        A local torchvision ImageNet state-dict file (e.g. ``resnet34-b627a593.pth``); None starts
        from random weights.

    Returns
    -------
    torch.nn.Module
    """
    from torchvision import models

    factory = {18: models.resnet18, 34: models.resnet34}[depth]
    net = factory(weights=None)
    if weights is not None:
        state = torch.load(Path(weights), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    if in_channels != 3:
        old = net.conv1
        new = nn.Conv2d(in_channels, old.out_channels, kernel_size=7, stride=2, padding=3, bias=False)
        if weights is not None:
            with torch.no_grad():
                mean = old.weight.mean(dim=1, keepdim=True)
                new.weight.copy_(mean.repeat(1, in_channels, 1, 1) * 3.0 / in_channels)
        net.conv1 = new
    body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    body.out_features = 512
    # layer groups for discriminative learning rates: stem+layer1+layer2, layer3, layer4
    body.layer_groups = [list(range(0, 6)), [6], [7]]
    return body
