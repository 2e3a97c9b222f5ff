"""Every kind of component has one documented hook, and only those hooks exist."""

import inspect

import pytest

import astro_cnn
from astro_cnn import hookspecs, registry
from astro_cnn.exceptions import AstroCNNError


def test_each_kind_has_a_documented_hook():
    hooks = {name for name, f in vars(hookspecs).items() if name.startswith("astro_cnn_") and callable(f)}
    assert hooks == set(registry.KINDS.values())
    for name in hooks:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and "Returns" in doc, name


def test_a_misspelled_hook_is_refused_with_its_name(clean_registry):
    class Typo:
        @astro_cnn.hookimpl
        def astro_cnn_survey(self):  # missing the final "s"
            return []

    with pytest.raises(AstroCNNError, match="astro_cnn_survey"):
        clean_registry.register(Typo(), name="typo")
    assert "typo" not in [n for n, _ in clean_registry.plugin_manager().list_name_plugin()]
