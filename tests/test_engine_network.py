"""Building a network from an architecture record: options a backbone or head refuses are named, not a torch error."""

import pytest

from astro_cnn import AstroCNNError, registry
from astro_cnn.engine.network import build_network

BAD_OPTIONS = [
    ("structure", "structure_cnn_folded", "multi_output", {"width": 0}, {},
     r"backbone_options=\{'width': 0\}: width must be an integer of at least 1, not 0"),
    ("structure", "small_cnn", "multi_output", {"width": 2.5}, {}, r"width must be an integer of at least 1, not 2.5"),
    ("structure", "small_cnn", "multi_output", {"widht": 8}, {}, r"backbone 'small_cnn'.*unexpected keyword.*'widht'"),
    ("structure", "small_cnn", "multi_output", {}, {"hidden": 0}, r"head_options=\{'hidden': 0\}: hidden must be"),
    ("structure", "small_cnn", "multi_output", {}, {"dropout": 1.0}, r"dropout must be a number from 0 up to"),
    ("structure", "small_cnn", "multi_output", {}, {"variance": "no"}, r"variance must be True or False, not 'no'"),
    ("metallicity", "small_cnn", "regression", {}, {"hidden": -1}, r"head 'regression'.*hidden must be an integer"),
    ("photo_z", "small_cnn", "pdf", {}, {"hidden": (1024, 0)}, r"hidden\[1\] must be an integer of at least 1, not 0"),
    ("photo_z", "small_cnn", "pasquet2019", {}, {"hidden": 1096}, r"hidden must be a list of layer widths"),
]


@pytest.mark.parametrize("quantity, backbone, head, backbone_options, head_options, says", BAD_OPTIONS)
def test_options_a_factory_refuses_are_named_with_the_argument(quantity, backbone, head, backbone_options,
                                                               head_options, says):
    """A width of 0 failed in torch ("expected weight to be at least 1 at dimension 0"), a hidden layer of
    0 units trained a head that gave the same PDF for every galaxy, and variance="no" was taken as true."""
    architecture = {"backbone": backbone, "head": head, "in_channels": 5, "image_size": 32, "n_extras": 0,
                    "backbone_options": backbone_options, "head_options": head_options}
    with pytest.raises(AstroCNNError, match=says):
        build_network(architecture, registry.get("quantity", quantity))


def test_layer_widths_saved_as_json_lists_build_the_same_head():
    architecture = {"backbone": "small_cnn", "head": "pdf", "in_channels": 5, "image_size": 32, "n_extras": 0,
                    "backbone_options": {"width": 4}, "head_options": {"hidden": [16, 8]}}
    network = build_network(architecture, registry.get("quantity", "photo_z"))
    assert [layer[0].out_features for layer in network.head.dense] == [16, 8]


def test_an_unknown_network_and_a_factorys_own_refusal_without_options_pass_as_they_are():
    from astro_cnn import UnknownNameError

    architecture = {"backbone": "nope", "head": "regression", "in_channels": 3, "image_size": 32}
    with pytest.raises(UnknownNameError, match="nope"):
        build_network(architecture, registry.get("quantity", "metallicity"))
    architecture = {"backbone": "small_cnn", "head": "regression", "in_channels": 3, "image_size": 8}
    with pytest.raises(AstroCNNError, match="image_size 8 must be a multiple of space_to_depth 1 and at least 16"):
        build_network(architecture, registry.get("quantity", "metallicity"))


def test_a_pdf_head_without_dense_layers_is_refused_where_it_would_ignore_the_extra_inputs():
    """With hidden=[] the head gave logits from the pooled features alone: E(B-V) was taken and never used."""
    architecture = {"backbone": "small_cnn", "head": "pdf", "in_channels": 5, "image_size": 32, "n_extras": 1,
                    "backbone_options": {"width": 4}, "head_options": {"hidden": []}}
    with pytest.raises(AstroCNNError, match=r"with hidden=\[\] it has none and would ignore them"):
        build_network(architecture, registry.get("quantity", "photo_z"))
    architecture["n_extras"] = 0
    assert build_network(architecture, registry.get("quantity", "photo_z")).head.out.in_features == 32
