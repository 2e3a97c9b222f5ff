"""Property-based tests of the Table contract: any table in, the same rows in the same order out, readable."""

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import astro_cnn
from astro_cnn import read_table

# Ids ('#' first, inner spaces, unicode, duplicates); readers strip outer spaces and FITS text is ASCII only.
ID_TEXT = st.text(alphabet=st.sampled_from(list("ab #é–_-.0λ")), min_size=1, max_size=8).filter(
    lambda s: s and s == s.strip())
FORMATS = [".ecsv", ".fits", ".vot", ".csv", ".txt", ".parquet", ".hdf5"]


@st.composite
def tables(draw):
    """Tables of 0-12 rows: text ids (unicode, '#', spaces, duplicates), NaN and masked positions."""
    n = draw(st.integers(0, 12))
    ids = draw(st.lists(ID_TEXT, min_size=n, max_size=n))
    dec = np.array(draw(st.lists(st.one_of(st.floats(-60, 89), st.just(np.nan)), min_size=n, max_size=n)),
                   dtype=float)
    masked = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return Table({"name": ids, "ra": np.full(n, 150.0), "dec": MaskedColumn(dec, mask=masked)})


def _values(column):
    return np.asarray(getattr(column, "value", column), dtype=float)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), batch_size=st.integers(1, 5), suffix=st.sampled_from(FORMATS))
def test_streamed_output_keeps_every_row_in_order_in_every_format(tmp_path_factory, example_model, table,
                                                                   batch_size, suffix):
    if suffix == ".fits":
        table["name"] = [v.encode("ascii", "replace").decode() for v in table["name"]]
    expected = astro_cnn.predict(table, model=example_model, id_column="name", batch_size=batch_size)
    out = tmp_path_factory.mktemp("out") / f"o{suffix}"
    summary = astro_cnn.predict_to_file(table, out, model=example_model, id_column="name", batch_size=batch_size,
                                        progress=False)
    written = read_table(out)
    assert len(expected) == len(table) == len(written) == summary.rows
    assert [str(v) for v in written["name"]] == [str(v) for v in table["name"]]
    flags = [str(v) == "True" for v in written["flag"]]  # CSV has no types: its booleans come back as text
    assert flags == list(expected["flag"]) and summary.flagged == int(np.sum(expected["flag"]))
    np.testing.assert_allclose(_values(written["colour_ab"]), _values(expected["colour_ab"]), equal_nan=True)
    bad_position = np.asarray(table["dec"].mask) | ~np.isfinite(np.asarray(table["dec"].filled(np.nan)))
    assert all(np.asarray(flags, bool)[bad_position])
    assert all(s != "ok" for s, flagged in zip(written["status"], flags) if flagged)


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_output_format_round_trips_an_awkward_table(tmp_path, example_model, suffix):
    names = ["#a b", "#c", "e l" if suffix == ".fits" else "é λ", "#c", "x"]
    table = Table({"name": names, "ra": [150.0] * 5, "dec": [10.0, np.nan, 85.0, 20, 30]})
    written = read_table(astro_cnn.predict_to_file(table, tmp_path / f"o{suffix}", model=example_model,
                                                   id_column="name", batch_size=2, progress=False))
    assert [str(v) for v in written["name"]] == names
    assert [str(v) == "True" for v in written["flag"]] == [False, True, True, False, False]
