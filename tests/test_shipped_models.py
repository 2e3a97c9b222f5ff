"""The models that ship with astro_cnn: registered, small, documented, and working offline on their demo galaxies."""

import ast
import importlib
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

import astro_cnn
from astro_cnn import read_table, registry
from astro_cnn.cli import main
from astro_cnn_sdss.surveys import BUNDLED_JPEG_DIR

#: The default model of each quantity.
SHIPPED = {"metallicity": "metallicity-sdss-gri-v1", "photo_z": "photoz-sdss-injected-forest-v1",
           "stellar_mass": "stellar-mass-sdss-injected-forest-v1"}
#: The network and the aperture forest shipped for a quantity, scored side by side on the same held-out field.
INJECTED = {"photo_z": ("photoz-sdss-injected-v1", "photoz-sdss-injected-forest-v1"),
            "stellar_mass": ("stellar-mass-sdss-injected-v1", "stellar-mass-sdss-injected-forest-v1")}
#: Every model trained on injected galaxies.
INJECTED_MODELS = [name for pair in INJECTED.values() for name in pair]
#: The held-out metrics (lower is better) on which the network must beat the forest to be the default (issue 13).
COMPARED = {"photo_z": ("sigma_mad", "abs_bias", "outlier_fraction"), "stellar_mass": ("rmse",)}
#: The rows of the held-out comparison recorded in both models.
FOREST_ROW = "random forest, aperture photometry of the same stacks"


@pytest.fixture(scope="module")
def specs():
    registry.reset()
    return {quantity: astro_cnn.models.default_model(quantity) for quantity in SHIPPED}


@pytest.mark.parametrize("quantity", sorted(SHIPPED))
def test_each_quantity_has_a_small_documented_default_model(specs, quantity):
    spec = specs[quantity]
    assert spec.name == SHIPPED[quantity] and spec.default
    assert spec.path.is_file() and spec.path.stat().st_size < 10 * 2**20
    card = spec.card.read_text(encoding="utf-8")
    assert card.startswith(f"# {spec.name}") and "Reproduce: `python training/" in card and "## Limitations" in card
    assert spec.demo_table.is_file()


@pytest.mark.parametrize("quantity", sorted(SHIPPED))
def test_each_quantity_plugin_ships_its_own_demo_and_imports_no_other_plugin(specs, quantity):
    """A quantity plugin depends on the core only: its demo galaxies lie in its own package, and no module of it
    imports another plugin (``astro_cnn_<name>``)."""
    package = Path(specs[quantity].path).parent.parent
    assert package in Path(specs[quantity].demo_table).parents
    name = package.name
    assert Path(importlib.import_module(name).__file__).parent == package
    for module in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
        assert {m for m in imported if m.startswith("astro_cnn_")} <= {name}, module


@pytest.mark.parametrize("name", INJECTED_MODELS)
def test_injected_models_say_so_and_take_real_stack_geometry(name):
    spec = registry.get("model", name)
    card = spec.card.read_text(encoding="utf-8")
    assert card.startswith(f"# {name}") and "Reproduce: `python training/" in card and "## Limitations" in card
    assert "not science-grade" in card and "injected into real SDSS" in card and "## Uncertainty calibration" in card
    assert spec.path.stat().st_size < 10 * 2**20
    model = astro_cnn.resolve_predictor(name)
    assert (model.survey, model.bands, model.image_size, model.extras) == ("sdss-stack", tuple("ugriz"), 64, ())
    assert model.info["label_range"] and model.info["calibration"]
    if model.predictor_type == "network":
        assert model.info["weights_origin"] == "random"


@pytest.mark.parametrize("quantity", sorted(INJECTED))
def test_the_default_injected_model_is_the_better_one_on_the_held_out_field(quantity):
    """The network is the default only where it beats the aperture forest on every compared metric."""
    network, forest = (astro_cnn.resolve_predictor(name) for name in INJECTED[quantity])
    assert (network.predictor_type, forest.predictor_type) == ("network", "aperture-forest")
    recorded = network.info["held_out_metrics"]
    assert forest.info["held_out_metrics"] == recorded
    assert network.info["held_out_field"] == forest.info["held_out_field"]
    scores = recorded[next(iter(recorded))], recorded[FOREST_ROW]
    network_wins = all(scores[0][metric] < scores[1][metric] for metric in COMPARED[quantity])
    assert SHIPPED[quantity] == INJECTED[quantity][0 if network_wins else 1]


@pytest.mark.parametrize("name", [SHIPPED["metallicity"], *INJECTED_MODELS])
def test_card_numbers_are_the_saved_models_held_out_numbers(name):
    """The comparison table in each card is the one recorded in the model file when it was trained."""
    model = astro_cnn.resolve_predictor(name)
    card = registry.get("model", name).card.read_text(encoding="utf-8")
    recorded = model.info["held_out_metrics"]
    metric = "sigma_mad" if model.quantity.name == "photo_z" else "rmse"
    compared = 2 if model.quantity.name in INJECTED else 1  # the network and the aperture forest, or the model
    for method in list(recorded)[:compared]:
        row = next(line for line in card.splitlines() if line.startswith(f"| {method} |"))
        assert f"{recorded[method][metric]:.4f}" in row


def test_id_only_table_uses_the_bundled_cutouts_offline():
    bundled = sorted(p.stem for p in BUNDLED_JPEG_DIR.glob("*.jpg"))
    assert len(bundled) == 100
    table = Table({"objid": np.array([int(bundled[0]), 1237600000000000001, int(bundled[1])])})
    out = astro_cnn.predict(table, quantity="metallicity", survey_options={"offline": True})
    assert list(out["flag"]) == [False, True, False]
    assert "no position and no cutout 1237600000000000001.jpg" in out["status"][1]
    assert np.all((out["log_oh"].value[[0, 2]] > 8.0) & (out["log_oh"].value[[0, 2]] < 9.4))


def test_table_without_ids_or_coordinates_is_still_an_error():
    with pytest.raises(astro_cnn.ColumnError, match="no right ascension column"):
        astro_cnn.predict(Table({"x": [1.0]}), quantity="metallicity")


def test_demo_runs_every_shipped_model_offline(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for quantity, name in SHIPPED.items():
        assert re.search(rf"{quantity}: predicted \d+ galaxies with model '{name}' \(0 flagged\)", printed)
        assert (tmp_path / f"{name}_report" / "prediction.png").stat().st_size > 0
    assert (tmp_path / f"{SHIPPED['photo_z']}_report" / "pit.png").is_file()
    metallicity = read_table(tmp_path / "metallicity-sdss-gri-v1_predictions.ecsv")
    residual = _values(metallicity["log_oh"]) - _values(metallicity["oh_p50"])
    assert len(metallicity) == 100 and np.sqrt(np.mean(residual**2)) < 0.15
    photoz = read_table(tmp_path / f"{SHIPPED['photo_z']}_predictions.ecsv")
    z_spec = _values(photoz["z_spec"])
    dz = (_values(photoz["z_phot"]) - z_spec) / (1 + z_spec)
    assert len(photoz) == 40 and np.median(np.abs(dz)) < 0.03 and photoz["z_pdf"].shape == (40, 180)


def test_cli_predicts_photoz_from_the_bundled_fits_stacks(specs, tmp_path):
    demo = specs["photo_z"].demo_table
    out = tmp_path / "photoz.ecsv"
    assert main(["predict", str(demo), "-q", "photo_z", "--image-column", "image", "--image-dir",
                 str(demo.parent), "-o", str(out)]) == 0
    table = read_table(out)
    assert len(table) == 40 and not table["flag"].any()
    assert table.meta["astro_cnn"]["model"] == SHIPPED["photo_z"]


def _values(column) -> np.ndarray:
    return np.asarray(getattr(column, "value", column), dtype=float)


def test_fluxes_given_to_the_colour_model_are_flagged(tmp_path):
    """The metallicity model learned from JPEG colour values and knows no pixel noise to compare with, so a FITS file
    of fluxes (a colour image times 2, or shifted below zero) got a confident value marked "ok"."""
    from astropy.io import fits

    from astro_cnn.image_files import decode_colour

    assert astro_cnn.resolve_predictor("metallicity-sdss-gri-v1").trained_on_colour
    jpeg = sorted(BUNDLED_JPEG_DIR.glob("*.jpg"))[0]
    colour = decode_colour(jpeg)  # R, G, B: the model's bands i, r, g
    names = []
    for k, image in enumerate((colour, 2 * colour, colour - 0.5)):
        fits.writeto(tmp_path / f"g{k}.fits", image.astype(np.float32))
        names.append(f"g{k}.fits")
    out = astro_cnn.predict(Table({"file": names}), quantity="metallicity", image_column="file", image_dir=tmp_path)
    assert list(out["flag"]) == [False, True, True]
    assert all(out["status"][k].startswith("extrapolation: pixel values from ") for k in (1, 2))
    assert "outside the 0..1 of the 8-bit colour images model 'metallicity-sdss-gri-v1'" in out["status"][1]
    assert np.isfinite(out["log_oh"].value).all()  # flagged, values kept
