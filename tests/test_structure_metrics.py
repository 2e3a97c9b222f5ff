"""Fractional-error metrics of Sérsic parameters: bias, robust scatter, outliers; a missing value is an outlier."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_cnn_structure.metrics import fractional_error_metrics, structure_metrics


def test_exact_measurements_have_no_error():
    m = fractional_error_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0]))
    assert (m["median"], m["scatter"], m["outlier_rate"], m["measured"], m["rows"]) == (0.0, 0.0, 0.0, 1.0, 3)


def test_a_missing_value_is_an_outlier_and_left_out_of_the_scatter():
    m = fractional_error_metrics(np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.1, 1.1, np.nan, 2.0]))
    assert m["outlier_rate"] == 0.5 and m["measured"] == 0.75 and m["median"] == pytest.approx(0.1)


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.01, 0.3), bias=st.floats(-0.2, 0.2), seed=st.integers(0, 2**16))
def test_scatter_and_bias_of_gaussian_errors_are_recovered(sigma, bias, seed):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.5, 6.0, 4000)
    measured = truth * (1 + bias + sigma * rng.normal(size=truth.size))
    m = fractional_error_metrics(truth, measured)
    assert m["median"] == pytest.approx(bias, abs=0.05 * sigma + 0.01)
    assert m["scatter"] == pytest.approx(sigma, rel=0.1)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="positive"):
        fractional_error_metrics(np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="length|shape|values"):
        fractional_error_metrics(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        structure_metrics(np.ones((4, 2)), np.ones((4, 2)))


def test_structure_metrics_names_each_parameter():
    truth = np.array([[1.0, 2.0, 0.5], [4.0, 1.0, 0.9]])
    assert set(structure_metrics(truth, truth)) == {"sersic_n", "r_e", "q"}
