"""Models found by path, by registered name, or as the default of a quantity."""

import pytest

import astro_cnn
from astro_cnn import ModelNotFoundError, registry
from astro_cnn.models import default_model, resolve_predictor


def test_registered_models_and_default(example_model, example_plugin):
    class Shipper:
        @astro_cnn.hookimpl
        def astro_cnn_models(self):
            return [
                astro_cnn.ModelSpec("colour-b", "example_colour", example_model, description="second"),
                astro_cnn.ModelSpec("colour-a", "example_colour", example_model, default=True, description="main"),
            ]

    registry.register(Shipper(), name="shipper")
    assert set(astro_cnn.available_models("example_colour")) == {"colour-a", "colour-b"}
    assert default_model("example_colour").name == "colour-a"
    assert resolve_predictor(None, "example_colour").quantity.name == "example_colour"
    assert resolve_predictor("colour-b").name == "example-model"
    assert resolve_predictor(str(example_model)).bands == ("a", "b")


def test_resolve_needs_something(clean_registry):
    with pytest.raises(ModelNotFoundError, match="name a quantity or a model"):
        resolve_predictor(None)


def test_a_missing_model_file_is_model_not_found(tmp_path):
    from astro_cnn import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="nope.acnn' does not exist"):
        resolve_predictor(str(tmp_path / "nope.acnn"))
