"""The structure plugin's head, which sizes itself from the quantity's outputs."""

import astropy.units as u
import pytest
import torch

from astro_cnn import registry
from astro_cnn.quantity import Output, Quantity
from astro_cnn_structure.network import MultiOutputHead, build_multi_output_head


@pytest.mark.parametrize("outputs", [1, 2, 3, 5])
def test_head_gives_one_value_per_output(outputs):
    quantity = Quantity("q", outputs=tuple(Output(f"c{k}", u.one) for k in range(outputs)))
    head = build_multi_output_head(64, quantity, n_extras=2)
    assert head(torch.zeros(3, 64, 4, 4), torch.zeros(3, 2)).shape == (3, outputs)


def test_the_default_backbone_feeds_the_head():
    quantity = registry.get("quantity", "structure")
    backbone = registry.get("backbone", quantity.default_backbone).build(5, 64, width=16)
    features = backbone(torch.zeros(2, 5, 64, 64))
    assert features.shape == (2, backbone.out_features, 4, 4)
    assert isinstance(build_multi_output_head(backbone.out_features, quantity), MultiOutputHead)


def test_the_plugin_registers_its_parts():
    assert {"multi_output"} <= set(registry.names("head"))
    assert "structure" in registry.names("recipe") and "structure" in registry.names("quantity")


def test_a_variance_head_gives_a_log_variance_after_each_mean():
    quantity = registry.get("quantity", "structure")
    head = build_multi_output_head(64, quantity, variance=True)
    assert head.predicts_variance and head(torch.zeros(3, 64, 4, 4)).shape == (3, 2 * quantity.n_outputs)
