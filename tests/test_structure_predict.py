"""End to end: ``astro_cnn.predict(table, quantity="structure")`` and ``astro-cnn predict -q structure`` on the
structure plugin's bundled demo stacks (held-out injected galaxies), through the usual Table-in/QTable-out contract."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

import astro_cnn
from astro_cnn import read_table
from astro_cnn.cli import main
from astro_cnn_structure.plugin import HERE, MODEL

DEMO = HERE / "demo" / "galaxies.ecsv"
COLUMNS = ("sersic_n", "sersic_n_err", "r_e", "r_e_err", "q", "q_err")


@pytest.fixture(scope="module")
def demo():
    return read_table(DEMO)


@pytest.fixture(scope="module")
def predicted(demo):
    return astro_cnn.predict(demo, quantity="structure", image_column="image", image_dir=DEMO.parent,
                             keep_columns=["true_sersic_n", "true_r_e", "true_q"])


def test_structure_comes_back_with_units_errors_and_flags(predicted, demo):
    assert len(predicted) == len(demo)
    assert set(COLUMNS) <= set(predicted.colnames) and {"status", "flag"} <= set(predicted.colnames)
    assert predicted["r_e"].unit == u.arcsec and predicted["r_e_err"].unit == u.arcsec
    for name in ("sersic_n", "sersic_n_err", "q", "q_err"):
        assert predicted[name].unit == u.dimensionless_unscaled
    ok = ~predicted["flag"]
    assert ok.sum() >= len(predicted) - 1
    assert np.all(predicted["q"][ok] > 0) and np.all(predicted["q"][ok] < 1)
    assert np.all(predicted["r_e_err"][ok] > 0 * u.arcsec)
    assert predicted.meta["astro_cnn"]["quantity"] == "structure"
    assert predicted["r_e"].info.meta["ucd"].startswith("phys.angSize")


def test_predictions_follow_the_truth(predicted):
    ok = ~predicted["flag"]
    ratio = predicted["r_e"][ok].to_value(u.arcsec) / np.asarray(predicted["true_r_e"][ok].to_value(u.arcsec))
    assert np.median(np.abs(np.log(ratio))) < np.log(1.5)


def test_a_blank_stack_is_flagged_not_dropped(demo, tmp_path):
    from astropy.io import fits

    table = demo[:2].copy()
    blank = tmp_path / "blank.fits"
    fits.writeto(blank, np.zeros((5, 64, 64), np.float32))
    table["image"] = [str(DEMO.parent / table["image"][0]), str(blank)]
    out = astro_cnn.predict(table, quantity="structure", image_column="image")
    assert len(out) == 2 and not out["flag"][0] and out["flag"][1]
    assert "blank" in out["status"][1] or "constant" in out["status"][1]
    assert np.isnan(out["r_e"][1]) and np.isnan(out["q_err"][1])


def test_cli_predict_writes_the_structure_columns(tmp_path, capsys):
    out = tmp_path / "structure.fits"
    assert main(["predict", str(DEMO), "-q", "structure", "--image-column", "image", "-o", str(out)]) == 0
    table = read_table(out)
    assert set(COLUMNS) <= set(table.colnames) and table["r_e"].unit == u.arcsec


def test_the_bundled_model_says_it_was_trained_on_injected_galaxies():
    card = Path(MODEL.card).read_text(encoding="utf-8")
    assert card.startswith(f"# {MODEL.name}") and "trained on Sérsic galaxies injected into real SDSS" in card
    assert "003918-3-0213" in card and "## Limitations" in card
    assert MODEL.path.stat().st_size < 3 * 2**20
    model = astro_cnn.resolve_predictor(MODEL.name)
    assert model.info["training_data"]["held_out_field"] == "003918-3-0213"
    assert model.info["calibration"]["kind"] == "gaussian" and len(model.info["calibration"]["outputs"]) == 3


@pytest.mark.parametrize("workers", [0, 1])
def test_a_stack_in_another_flux_scale_is_flagged_not_trusted(demo, tmp_path, workers):
    """The same galaxy in counts instead of nanomaggies, or 1,000 times too faint, has the same S/N, so only its
    noise tells; the model would otherwise give a confident, very different answer."""
    from astropy.io import fits

    stack = fits.getdata(DEMO.parent / demo["image"][0], ext=1)
    names = []
    for scale in (1.0, 1e-3, 10.0, 150.0):
        names.append(str(tmp_path / f"scaled_{scale:g}.fits"))
        fits.writeto(names[-1], (stack * scale).astype(np.float32))
    out = astro_cnn.predict(Table({"image": names}), quantity="structure", image_column="image", workers=workers)
    assert list(out["status"][:1]) == ["ok"]
    for status in out["status"][1:]:
        assert status.startswith("extrapolation: the pixel noise in band ")
        assert "are the fluxes in the units and scale of its training images?" in status
    assert np.all(out["flag"][1:]) and np.all(np.isfinite(out["r_e"]))  # values kept, flagged
