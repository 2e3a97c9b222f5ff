"""The shared checks of plain arguments (counts, numbers, layer widths, switches): what they keep and refuse."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from astro_cnn import AstroCNNError
from astro_cnn.arguments import checked_count, checked_number, checked_switch, checked_widths

ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
                     st.lists(st.integers(), max_size=3))


@given(ANYTHING, st.integers(-2, 2))
def test_a_count_is_an_integer_of_at_least_its_least_value_and_nothing_else(value, least):
    is_count = isinstance(value, int) and not isinstance(value, bool) and value >= least
    if is_count:
        assert checked_count(value, "n", least) == value
    else:
        with pytest.raises(AstroCNNError, match=f"n must be an integer of at least {least}, not"):
            checked_count(value, "n", least)


@given(ANYTHING, st.booleans())
def test_a_number_is_finite_and_above_0_or_at_least_0_when_zero_is_allowed(value, zero):
    is_number = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                 and (value > 0 or (zero and value == 0)))
    if is_number:
        assert checked_number(value, "option timeout", zero=zero) == float(value)
    else:
        bound = "of at least 0" if zero else "above 0"
        with pytest.raises(AstroCNNError, match=f"option timeout must be a number of seconds {bound}, not"):
            checked_number(value, "option timeout", zero=zero, unit="seconds")


def test_numpy_numbers_count_as_numbers_and_numpy_booleans_do_not():
    assert checked_number(np.float32(2.5), "x") == 2.5 and checked_number(np.int64(0), "x", zero=True) == 0.0
    with pytest.raises(AstroCNNError, match="x must be a number above 0, not"):
        checked_number(np.bool_(True), "x")


@given(st.lists(st.integers(-1, 4), max_size=4), st.booleans())
def test_layer_widths_are_a_list_or_tuple_of_counts(widths, as_tuple):
    given_widths = tuple(widths) if as_tuple else widths
    bad = [i for i, width in enumerate(widths) if width < 1]
    if bad:
        with pytest.raises(AstroCNNError, match=rf"hidden\[{bad[0]}\] must be an integer of at least 1"):
            checked_widths(given_widths, "hidden")
    else:
        assert checked_widths(given_widths, "hidden") == tuple(widths)


@pytest.mark.parametrize("value", [512, "512", None, np.array([8, 8])])
def test_one_value_where_layer_widths_go_is_refused(value):
    with pytest.raises(AstroCNNError, match="hidden must be a list of layer widths"):
        checked_widths(value, "hidden")


@pytest.mark.parametrize("value", ["no", "false", 0, 1, None])
def test_a_switch_is_true_or_false_only(value):
    assert checked_switch(np.bool_(True), "x") is True and checked_switch(False, "x") is False
    with pytest.raises(AstroCNNError, match="overwrite must be True or False, not"):
        checked_switch(value, "overwrite")
