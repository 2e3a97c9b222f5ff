"""The structure plugin's head, which sizes itself from the quantity's outputs."""

import astropy.units as u
import pytest
import torch

import astro_cnn
from astro_cnn import registry
from astro_cnn.quantity import Output, Quantity
from astro_cnn_structure.network import MultiOutputHead, build_multi_output_head


@pytest.mark.parametrize("outputs", [1, 2, 3, 5])
def test_head_gives_one_value_per_output(outputs):
    quantity = Quantity("q", outputs=tuple(Output(f"c{k}", u.one) for k in range(outputs)))
    head = build_multi_output_head(64, quantity, n_extras=2)
    assert head(torch.zeros(3, 64, 4, 4), torch.zeros(3, 2)).shape == ((3, outputs) if outputs > 1 else (3,))


@pytest.mark.parametrize("name, options, side", [("structure_cnn_folded", {"width": 32, "space_to_depth": 2}, 2),
                                                 ("structure_cnn", {"width": 16}, 4)])
def test_the_structure_backbones_are_small_cnns_and_feed_the_head(name, options, side):
    quantity = registry.get("quantity", "structure")
    backbone = registry.get("backbone", name).build(5, 64)
    reference = registry.get("backbone", "small_cnn").build(5, 64, **options)
    assert {k: v.shape for k, v in backbone.state_dict().items()} == \
        {k: v.shape for k, v in reference.state_dict().items()}  # models saved under either name load
    features = backbone(torch.zeros(2, 5, 64, 64))
    assert features.shape == (2, backbone.out_features, side, side)
    assert isinstance(build_multi_output_head(backbone.out_features, quantity), MultiOutputHead)


def test_the_default_backbone_is_the_bundled_model_s_network():
    from astro_cnn.models import default_model

    quantity = registry.get("quantity", "structure")
    bundled = astro_cnn.load_predictor(default_model("structure").path)
    default = registry.get("backbone", quantity.default_backbone).build(5, 64)
    assert {k: v.shape for k, v in default.state_dict().items()} == \
        {k.removeprefix("backbone."): v.shape for k, v in bundled.members_[0].items() if k.startswith("backbone.")}


def test_a_single_output_comes_as_one_value_per_galaxy(clean_registry):
    """On a one-output quantity the head gives shape (N,) as every regression head does (shape (N, 1) would
    broadcast against the labels in the squared error); the engine refuses a head that does not."""
    from astro_cnn import AstroCNNError
    from astro_cnn.engine.network import build_network

    metallicity = registry.get("quantity", "metallicity")
    assert build_multi_output_head(64, metallicity)(torch.zeros(3, 64, 4, 4)).shape == (3,)
    architecture = {"backbone": "small_cnn", "head": "multi_output", "in_channels": 3, "image_size": 32}
    build_network(architecture, metallicity)

    class Column(torch.nn.Module):
        def forward(self, features, extras=None):
            return features.mean(dim=(1, 2, 3))[:, None]

    class ColumnHeadPlugin:
        @astro_cnn.hookimpl
        def astro_cnn_heads(self):
            return [astro_cnn.HeadSpec("column_test_head", lambda *a, **k: Column(), "gives (N, 1)")]

    clean_registry.register(ColumnHeadPlugin(), name="column_head")
    with pytest.raises(AstroCNNError, match=r"gives values of shape \(1,\) per galaxy .* one value per galaxy"):
        build_network({**architecture, "head": "column_test_head"}, metallicity)


def test_the_plugin_registers_its_parts():
    assert {"structure_cnn", "structure_cnn_folded"} <= set(registry.names("backbone"))
    assert "multi_output" in registry.names("head")
    assert "structure" in registry.names("recipe") and "structure" in registry.names("quantity")


def test_a_variance_head_gives_a_log_variance_after_each_mean():
    quantity = registry.get("quantity", "structure")
    head = build_multi_output_head(64, quantity, variance=True)
    assert head.predicts_variance and head(torch.zeros(3, 64, 4, 4)).shape == (3, 2 * quantity.n_outputs)


def test_a_separate_variance_branch_does_not_train_the_backbone():
    """With the shared head the log-variances' likelihood also trained the backbone, which cost the means
    precision; a separate branch sees the features detached."""
    quantity = registry.get("quantity", "structure")
    for separate, reaches in ((False, True), (True, False)):
        head = build_multi_output_head(8, quantity, variance=True, separate_variance=separate)
        features = torch.randn(4, 8, 4, 4, requires_grad=True)
        out = head(features)
        assert out.shape == (4, 6) and head.predicts_variance
        out[:, 3:].sum().backward()  # the log-variances alone
        assert bool(features.grad.abs().sum() > 0) is reaches
    with pytest.raises(astro_cnn.AstroCNNError, match="separate_variance=True needs variance=True"):
        build_multi_output_head(8, quantity, separate_variance=True)


def test_the_shared_variance_head_keeps_the_layout_models_were_saved_with():
    shared = build_multi_output_head(128, registry.get("quantity", "structure"), variance=True)
    assert shared.variance_layers is None and shared.layers[-1].out_features == 6
    assert set(shared.state_dict()) == {"layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias"}
