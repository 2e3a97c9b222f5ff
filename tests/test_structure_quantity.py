"""Quantities with several outputs of different units: declaration, learned scales, columns, flags and guards."""

import astropy.units as u
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_cnn import registry
from astro_cnn.chunks import empty_columns, prediction_problems
from astro_cnn.engine.network import build_network
from astro_cnn.engine.predictor import NetworkPredictor, fit_error_models
from astro_cnn.exceptions import AstroCNNError
from astro_cnn.quantity import Output, Prediction, Quantity


@pytest.fixture(scope="module")
def structure():
    return registry.get("quantity", "structure")


def _predictor(structure, head=None):
    return NetworkPredictor(structure, "sdss-stack", "ugriz", 64, 0.396 * u.arcsec, name="test", head=head)


def test_a_single_output_quantity_declares_one_output_from_its_column():
    metallicity = registry.get("quantity", "metallicity")
    assert metallicity.n_outputs == 1
    (output,) = metallicity.outputs
    assert (output.column, output.unit, output.valid_range) == ("log_oh", u.dex, metallicity.valid_range)
    assert output.scale == "linear"


def test_structure_declares_three_outputs_with_their_units(structure):
    assert [o.column for o in structure.outputs] == ["sersic_n", "r_e", "q"]
    assert [o.unit for o in structure.outputs] == [u.dimensionless_unscaled, u.arcsec, u.dimensionless_unscaled]
    assert (structure.column, structure.unit) == ("sersic_n", u.dimensionless_unscaled)


def test_output_columns_carry_each_outputs_unit(structure):
    prediction = Prediction(np.array([[2.0, 1.5, 0.5], [4.0, 3.0, 0.9]]), np.array([[0.2, 0.1, 0.05]] * 2))
    columns = structure.output_columns(prediction)
    assert list(columns) == ["sersic_n", "sersic_n_err", "r_e", "r_e_err", "q", "q_err"]
    assert columns["r_e"].unit == u.arcsec and columns["r_e_err"].unit == u.arcsec
    assert columns["sersic_n"].unit == u.dimensionless_unscaled
    np.testing.assert_allclose(columns["q"].value, [0.5, 0.9])
    empty = empty_columns(_predictor(structure), 4)
    assert empty["r_e"].shape == (4,) and empty["r_e"].unit == u.arcsec and np.isnan(empty["q"].value).all()


def test_quantity_refuses_repeated_columns_pdf_with_outputs_and_neither_column_nor_outputs():
    a = Output("a", u.one)
    with pytest.raises(ValueError, match="repeat"):
        Quantity("x", outputs=(a, a))
    with pytest.raises(ValueError, match="kind='regression'"):
        Quantity("x", kind="pdf", outputs=(a, Output("b", u.one)))
    with pytest.raises(ValueError, match="column and a unit"):
        Quantity("x")
    with pytest.raises(ValueError, match="scale"):
        Output("a", u.one, scale="sqrt")


@settings(max_examples=50, deadline=None)
@given(n=st.floats(0.3, 12.0), r_e=st.floats(0.05, 60.0), q=st.floats(0.01, 0.99))
def test_learned_scales_round_trip(structure, n, r_e, q):
    values = np.array([[n, r_e, q]])
    np.testing.assert_allclose(structure.decode(structure.encode(values)), values, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(encoded=st.floats(-3.0, 3.0), sigma=st.floats(1e-4, 1e-2))
def test_errors_are_brought_back_to_the_outputs_units_to_first_order(structure, encoded, sigma):
    y = np.array([[encoded, encoded / 3, encoded]])
    error = structure.decode_error(y, np.full((1, 3), sigma))
    step = structure.decode(y + sigma) - structure.decode(y)
    np.testing.assert_allclose(error, step, rtol=0.05)


def test_each_output_is_standardised_on_its_own_scale(structure):
    """One mean and spread for all outputs would leave r_e (arcsec) and q (0-1) on one scale: each is standardised."""
    rng = np.random.default_rng(0)
    labels = np.column_stack([10 ** rng.uniform(-0.3, 0.8, 200), 10 ** rng.uniform(-0.3, 1.0, 200),
                              rng.uniform(0.2, 0.95, 200)])
    predictor = _predictor(structure)
    predictor.learn_normalisation(rng.normal(size=(8, 5, 64, 64)).astype(np.float32), labels, None)
    targets = predictor.encode_labels(labels).numpy()
    assert targets.shape == (200, 3)
    np.testing.assert_allclose(targets.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(targets.std(axis=0), 1, atol=1e-4)


def test_a_head_giving_one_value_is_refused_for_several_outputs(structure):
    """Guard: the one-value regression head would train on labels broadcast against a (N,) output (silently so
    for a batch of one), so building it for a three-output quantity must fail."""
    architecture = _predictor(structure, head="regression").architecture
    with pytest.raises(AstroCNNError, match="3 outputs"):
        build_network(architecture, structure)
    assert build_network(_predictor(structure).architecture, structure).head.layers[-1].out_features == 3


def test_labels_must_have_one_column_per_output(structure):
    predictor = _predictor(structure)
    images = np.zeros((4, 5, 64, 64), np.float32)
    with pytest.raises(AstroCNNError, match=r"shape \(4,\).*\(4, 3\)"):
        predictor.fit(images, np.ones(4))


def test_each_output_is_calibrated_on_its_own(structure):
    rng = np.random.default_rng(1)
    truth = np.column_stack([np.full(300, 2.0), np.full(300, 3.0), np.full(300, 0.5)])
    encoded = structure.encode(truth)
    spread = np.full((300, 3), 0.01)
    noise = rng.normal(size=(300, 3)) * np.array([0.3, 0.05, 1.0])
    calibration = fit_error_models(structure, truth, encoded + noise, spread)
    floors = [m["floor"] for m in calibration["outputs"]]
    assert [m["column"] for m in calibration["outputs"]] == ["sersic_n", "r_e", "q"]
    np.testing.assert_allclose(floors, [0.3, 0.05, 1.0], rtol=0.15)
    assert 0.6 < calibration["coverage_after"] < 0.76


def test_each_output_is_flagged_against_its_own_ranges(structure):
    predictor = _predictor(structure)
    predictor.info["label_range"] = [[0.5, 6.0], [0.5, 20.0], [0.1, 1.0]]
    value = np.array([[2.0, 1.0, 0.5], [7.0, 1.0, 0.5], [2.0, 80.0, 0.5], [np.nan, 1.0, 0.5], [13.0, 1.0, 0.05]])
    problems, unusable = prediction_problems(Prediction(value, np.full(value.shape, 0.1)), predictor)
    assert problems[0] == "" and not unusable[0]
    assert problems[1].startswith("extrapolation: sersic_n prediction 7") and not unusable[1]
    assert "r_e prediction 80 is outside the valid range" in problems[2] and unusable[2]
    assert "non-finite sersic_n prediction" in problems[3] and unusable[3]
    assert "sersic_n prediction 13" in problems[4] and "; extrapolation: q prediction 0.05" in problems[4]
    assert unusable[4]
