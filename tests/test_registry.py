"""Plugin discovery through the entry-point group, clashes, unknown names, broken plugins."""

import sys
import textwrap

import pytest

import astro_cnn
from astro_cnn import registry
from astro_cnn.exceptions import PluginClashError, UnknownNameError

from .conftest import example_installed


def test_builtin_plugins_are_found_through_the_entry_point_group(clean_registry):
    quantities = clean_registry.components("quantity")
    assert {"metallicity", "stellar_mass", "photo_z"} <= set(quantities)
    for name in ("metallicity", "stellar_mass", "photo_z"):
        assert quantities[name].distribution == "astro_cnn"
        assert quantities[name].version == astro_cnn.__version__


def test_core_imports_no_plugin_by_name():
    from pathlib import Path

    core = Path(astro_cnn.__file__).parent
    for path in core.rglob("*.py"):
        text = path.read_text()
        for plugin in ("astro_cnn_sdss", "astro_cnn_nets", "astro_cnn_metallicity", "astro_cnn_photoz",
                       "astro_cnn_stellar_mass"):
            assert f"import {plugin}" not in text and f"from {plugin}" not in text, (path, plugin)


def test_third_party_plugin_is_discovered_with_its_distribution(example_plugin):
    if not example_installed():
        pytest.skip("example plugin registered at run time; tox installs it as a distribution")
    survey = registry.components("survey")["example-sky"]
    assert survey.distribution == "astro-cnn-example"
    assert survey.version == "0.2.0"
    assert registry.components("quantity")["example_colour"].plugin == "example"


def test_unknown_name_lists_the_known_ones(clean_registry):
    with pytest.raises(UnknownNameError) as info:
        clean_registry.get("quantity", "metalicity")
    message = str(info.value)
    assert "unknown quantity 'metalicity'" in message
    assert "'metallicity'" in message and "'photo_z'" in message


def test_unknown_kind_is_an_error(clean_registry):
    with pytest.raises(UnknownNameError, match="component kind"):
        clean_registry.components("surveys")


def test_two_plugins_registering_one_name_name_both(example_plugin):
    class Copycat:
        @astro_cnn.hookimpl
        def astro_cnn_surveys(self):
            return [astro_cnn.SurveySpec("example-sky", example_plugin.ExampleSky, "a copy")]

    registry.register(Copycat(), name="copycat")
    with pytest.raises(PluginClashError) as info:
        registry.components("survey")
    message = str(info.value)
    assert "'example-sky'" in message and "'copycat'" in message and "'example'" in message
    assert "(registered at run time)" in message


def _fake_distribution(tmp_path, name, version, entry_points):
    info = tmp_path / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_entry_point_clash_between_distributions_names_both(tmp_path, clean_registry, monkeypatch):
    _fake_distribution(tmp_path, "astro-cnn-rogue", "1.0", "[astro_cnn]\nmetallicity = json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginClashError) as info:
        clean_registry.plugin_manager()
    assert "'astro_cnn'" in str(info.value) and "'astro-cnn-rogue'" in str(info.value)


def test_broken_plugin_warns_and_the_others_still_load(tmp_path, clean_registry, monkeypatch):
    _fake_distribution(tmp_path, "astro-cnn-broken", "0.1", "[astro_cnn]\nbroken = no_such_module_xyz.plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(registry.PluginLoadWarning, match="astro-cnn-broken"):
        clean_registry.plugin_manager()
    assert "metallicity" in clean_registry.components("quantity")
    sys.modules.pop("no_such_module_xyz", None)
