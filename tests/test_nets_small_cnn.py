"""small_cnn: four conv blocks, optionally after folding pixels into channels."""

import pytest
import torch

from astro_cnn import AstroCNNError, registry


def _build(**options):
    return registry.get("backbone", "small_cnn").build(5, 64, **options)


def test_four_blocks_halve_the_side_and_double_the_width():
    body = _build(width=16)
    assert body(torch.zeros(2, 5, 64, 64)).shape == (2, 128, 4, 4) and body.out_features == 128
    assert [len(group) for group in body.layer_groups] == [14, 7, 7]


def test_space_to_depth_folds_pixels_into_channels_and_keeps_every_pixel():
    body = _build(width=32, space_to_depth=2)
    assert isinstance(body[0], torch.nn.PixelUnshuffle) and body[1].in_channels == 20
    assert body(torch.zeros(2, 5, 64, 64)).shape == (2, 256, 2, 2) and body.out_features == 256
    # the fold loses nothing: every input pixel lands in exactly one channel of the first convolution's input
    image = torch.arange(5 * 64 * 64, dtype=torch.float32).reshape(1, 5, 64, 64)
    assert torch.equal(body[0](image).flatten().sort().values, image.flatten())
    # the discriminative learning-rate groups are the same blocks, the fold (no parameters) in the first
    groups = body.layer_groups
    assert groups[0] == list(range(15)) and groups[1] == list(range(15, 22)) and groups[2] == list(range(22, 29))


@pytest.mark.parametrize("options, size, message", [
    ({"space_to_depth": 0}, 64, "space_to_depth must be an integer of at least 1"),
    ({"space_to_depth": 1.5}, 64, "space_to_depth must be an integer of at least 1"),
    ({"space_to_depth": 2.0}, 64, "space_to_depth must be an integer of at least 1"),
    ({"space_to_depth": 3}, 64, "multiple of space_to_depth 3"),
    ({"space_to_depth": 2}, 16, "at least 32, for four pooling blocks"),
    ({}, 8, "at least 16, for four pooling blocks")])
def test_a_fold_or_an_image_that_does_not_fit_is_refused(options, size, message):
    with pytest.raises(AstroCNNError, match=message):
        registry.get("backbone", "small_cnn").build(5, size, **options)
