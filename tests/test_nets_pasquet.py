"""The Pasquet et al. (2019) network as in the authors' code (jpasquet/Photoz, network.py), and its compact variant."""

import astropy.units as u
import numpy as np
import pytest
import torch
from torch import nn

from astro_cnn import AstroCNNError, registry
from astro_cnn.engine import NetworkPredictor
from astro_cnn_nets.pasquet import PasquetInception

torch.set_num_threads(1)


def _published(quantity="photo_z", size=64, bands="ugriz", extras=("ebv",)):
    survey = "sdss-stack" if quantity == "photo_z" else "sdss-jpeg"
    return NetworkPredictor(quantity, survey, bands, size, 0.396 * u.arcsec, backbone="pasquet2019",
                            head="pasquet2019", extras=extras).new_network().eval()


def test_published_network_layer_shapes_and_parameter_count(clean_registry):
    network = _published()
    shapes = []
    hooks = [child.register_forward_hook(lambda module, args, out: shapes.append(tuple(out.shape[1:])))
             for child in network.backbone.children()]
    with torch.no_grad():
        logits = network(torch.zeros(2, 5, 64, 64), torch.zeros(2, 1))
    for hook in hooks:
        hook.remove()
    # conv 5x5 (64) + PReLU, pool; inception (48,64), (64,92), pool; (92,128) twice, pool; (92,128) without 5x5
    assert shapes == [(64, 64, 64), (64, 64, 64), (64, 32, 32), (240, 32, 32), (340, 32, 32), (340, 16, 16),
                      (476, 16, 16), (476, 16, 16), (476, 8, 8), (348, 8, 8), (348 * 8 * 8, 1, 1)]
    assert network.backbone[0].kernel_size == (5, 5) and isinstance(network.backbone[1], nn.PReLU)
    assert all(isinstance(network.backbone[i], nn.AvgPool2d) for i in (2, 5, 8))
    # E(B-V) joined once, before two 1,096-unit ReLU layers; 180 outputs
    linears = [m for m in network.head.layers if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(22272 + 1, 1096), (1096, 1096), (1096, 180)]
    assert [type(m) for m in network.head.layers] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert logits.shape == (2, 180)
    # conv part 1,784,296 (stem 8,128; blocks 118,432 + 269,288 + 539,064 + 594,008 + 255,376, PReLU slopes
    # included); dense (22,272 + 1) x 1,096 + 1,096 x 1,096 + 1,096 x 180 + biases = 25,812,076
    assert sum(p.numel() for p in network.backbone.parameters()) == 1_784_296
    assert sum(p.numel() for p in network.parameters()) == 27_596_372


def test_published_network_reads_the_extra_input_and_starts_as_in_the_authors_code(clean_registry):
    torch.manual_seed(0)
    network = _published()
    images = torch.rand(2, 5, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(network(images, torch.zeros(2, 1)), network(images, torch.ones(2, 1)))
    prelus = [m for m in network.modules() if isinstance(m, nn.PReLU)]
    convs = [m for m in network.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 4 * 6 + 4 and len(prelus) == len(convs)
    assert all(torch.all(m.weight == 0) for m in prelus)
    assert all(torch.all(m.bias == 0.1) for m in [*convs, *network.head.layers] if hasattr(m, "bias"))


def test_inception_block_branches_and_same_padding_pooling():
    torch.manual_seed(0)
    block = PasquetInception(8, 3, 5).eval()
    last = PasquetInception(8, 3, 5, with_5x5=False).eval()
    x = torch.randn(1, 8, 5, 7)
    with torch.no_grad():
        out, reduced = block(x), block.bp[0](x)
        assert out.shape == (1, 3 * 5 + 3, 5, 7) and last(x).shape == (1, 2 * 5 + 3, 5, 7)
        # branch order as the authors concatenate: 1x1, 5x5, 3x3, pooled
        torch.testing.assert_close(out[:, :5], block.b1(x))
        torch.testing.assert_close(out[:, 5:10], block.b5(x))
        torch.testing.assert_close(out[:, 10:15], block.b3(x))
    # TensorFlow's 2x2 stride-1 "same" average pooling: pads after, averages only the pixels inside the map
    r = reduced.numpy()
    expected = np.array([[r[0, :, i:i + 2, j:j + 2].mean(axis=(1, 2)) for j in range(7)] for i in range(5)])
    np.testing.assert_allclose(out[0, 15:].numpy(), expected.transpose(2, 0, 1), rtol=1e-5, atol=1e-6)


def test_published_network_other_sizes_and_a_regression_quantity(clean_registry):
    # 20 -> 10 -> 5 -> 3: "same" pooling rounds up, as in TensorFlow
    network = _published(size=20)
    assert network.backbone.out_features == 348 * 3 * 3
    with torch.no_grad():
        assert network(torch.zeros(2, 5, 20, 20), torch.zeros(2, 1)).shape == (2, 180)
    regression = _published("metallicity", size=16, bands="irg", extras=())
    with torch.no_grad():
        assert regression(torch.zeros(2, 3, 16, 16)).shape == (2,)


def test_compact_variant_is_registered_separately(clean_registry):
    assert {"pasquet2019", "pasquet2019-compact"} <= set(registry.names("backbone"))
    assert {"pdf", "pasquet2019"} <= set(registry.names("head"))
    compact = registry.get("backbone", "pasquet2019-compact").build(5, 64)
    assert compact.out_features == 256
    assert compact(torch.zeros(1, 5, 64, 64)).shape == (1, 256, 8, 8)
    with pytest.raises(AstroCNNError, match="no pretrained weights"):
        registry.get("backbone", "pasquet2019").build(5, 64, weights="x.pth")
