"""Shared fixtures: the example third-party plugin, small real images, a clean registry."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn import registry

TESTS = Path(__file__).parent
DATA = TESTS / "data"
EXAMPLE_DIR = TESTS / "plugin_example"


def example_installed() -> bool:
    """Whether the example plugin distribution is installed (tox installs it)."""
    import importlib.metadata

    try:
        importlib.metadata.distribution("astro-cnn-example")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def clean_registry():
    """A registry rebuilt from the installed entry points, reset again afterwards."""
    registry.reset()
    yield registry
    registry.reset()


@pytest.fixture
def example_plugin(clean_registry):
    """The example plugin module, registered through its entry point when installed, else at run time."""
    if not example_installed():
        if os.environ.get("ASTRO_CNN_REQUIRE_EXAMPLE"):
            pytest.fail("the example plugin (tests/plugin_example) must be installed in this environment")
        sys.path.insert(0, str(EXAMPLE_DIR))
        module = importlib.import_module("astro_cnn_example.plugin")
        clean_registry.register(module, name="example")
    else:
        module = importlib.import_module("astro_cnn_example.plugin")
    return module


@pytest.fixture
def example_model(example_plugin, tmp_path):
    """A band-ratio model trained on the example survey and saved to disk."""
    from astro_cnn import TargetList

    dec = np.linspace(-30, 70, 40)
    targets = TargetList(np.full(40, 150.0), dec)
    survey = example_plugin.ExampleSky()
    batch = survey.cutouts(targets)
    predictor = example_plugin.BandRatioPredictor(name="example-model").fit(
        batch.images, example_plugin.true_colour(dec))
    path = predictor.save(tmp_path / "example.acnn")
    return path


@pytest.fixture
def galaxies() -> Table:
    """Five galaxies with ids, one outside the example survey footprint and one with no position."""
    return Table({
        "objid": np.array([11, 12, 13, 14, 15], dtype=np.int64),
        "ra": [150.1, 150.2, 150.3, 150.4, 150.5],
        "dec": [10.0, 20.0, 85.0, np.nan, -10.0],
    })
