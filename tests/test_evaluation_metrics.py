"""Metrics reproduce the Wu & Boada (2019) numbers from their own per-galaxy predictions."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, QTable, Table
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_cnn import ColumnError
from astro_cnn.evaluation import binned_metrics, evaluate, nmad, regression_metrics, rmse

from .conftest import DATA


@pytest.fixture(scope="module")
def paper():
    return Table.read(DATA / "evaluation" / "wu2019_paper_predictions.ecsv.gz", format="ascii.ecsv")


@pytest.mark.parametrize("column, expected_rmse, expected_nmad", [
    ("cnn_pred_128", 0.0849, 0.0651), ("cnn_pred_64", 0.0879, 0.0678),
    ("cnn_pred_32", 0.0930, 0.0709), ("cnn_pred_16", 0.1043, 0.0799)])
def test_paper_numbers_are_reproduced(paper, column, expected_rmse, expected_nmad):
    row = evaluate(paper, "oh_p50", column)[0]
    assert row["n"] == 20466
    assert row["rmse"].to_value(u.dex) == pytest.approx(expected_rmse, abs=5e-5)
    assert row["nmad"].to_value(u.dex) == pytest.approx(expected_nmad, abs=5e-5)


def test_mean_predictor_of_the_paper_sample(paper):
    truth = np.asarray(paper["oh_p50"])
    assert rmse(truth - truth.mean()) == pytest.approx(0.2002, abs=5e-5)


def test_nmad_definition():
    x = np.array([0.0, 1.0, 2.0, 3.0, 100.0])
    assert nmad(x) == pytest.approx(1.4826 * 1.0)


def test_flagged_and_missing_rows_are_left_out_and_counted():
    table = QTable({"true": [1.0, 2.0, 3.0, 4.0] * u.dex, "pred": [1.1, np.nan, 2.9, 9.0] * u.dex,
                    "flag": [False, False, False, True]})
    row = evaluate(table, "true", "pred")[0]
    assert row["n"] == 2 and row["n_excluded"] == 2
    assert row["rmse"].to_value(u.dex) == pytest.approx(0.1)
    metrics = regression_metrics(np.array([0.0, 0.0]), np.array([0.1, 0.5]), outlier_threshold=0.3)
    assert metrics["outlier_fraction"] == 0.5 and metrics["bias_median"] == pytest.approx(0.3)


def test_binned_metrics_by_any_column():
    rng = np.random.default_rng(0)
    true = rng.uniform(8, 9.2, 1000)
    table = Table({"true": true, "pred": true + rng.normal(0, 0.1, 1000), "mass": rng.uniform(9, 11, 1000)})
    by_truth = binned_metrics(table, "true", "pred", bins=4)
    assert len(by_truth) == 4 and by_truth["n"].sum() == 1000
    by_mass = binned_metrics(table, "true", "pred", by="mass", bins=[9, 10, 11])
    assert list(by_mass["n"]) == [int(((table["mass"] >= 9) & (table["mass"] < 10)).sum()),
                                  int((table["mass"] >= 10).sum())]
    assert np.all(np.abs(by_mass["rmse"] - 0.1) < 0.02)


def test_missing_column_is_named():
    with pytest.raises(ColumnError, match="'cnn' is not in the table"):
        evaluate(Table({"a": [1.0]}), "a", "cnn")


def test_text_columns_are_refused_naming_the_column():
    table = Table({"true": [8.9, 9.0], "pred": ["a.jpg", "b.jpg"]})
    with pytest.raises(ColumnError, match="column 'pred' holds text"):
        evaluate(table, "true", "pred")


@pytest.mark.parametrize("bins", [0, -2, [1.0], [9.0, 8.0]])
def test_bad_bins_are_refused(bins):
    table = Table({"t": np.linspace(8, 9, 20), "p": np.linspace(8, 9, 20)})
    with pytest.raises(ValueError, match="bins must be"):
        binned_metrics(table, "t", "p", bins=bins)


def test_binning_on_a_column_with_no_finite_value_is_refused_naming_it():
    """It raised an IndexError from numpy (the quantiles of no value)."""
    table = Table({"t": [8.0, 9.0, 8.5], "p": [8.1, 9.1, 8.4], "mass": [np.nan, np.inf, np.nan]})
    with pytest.raises(ValueError, match="column 'mass' has no finite value to bin on"):
        binned_metrics(table, "t", "p", by="mass")
    assert binned_metrics(table, "t", "p", by="mass", bins=[9.0, 10.0])["n"][0] == 0  # edges given: empty bins


def test_a_boolean_column_may_be_binned_on_but_is_no_true_value():
    table = Table({"t": [8.0, 9.0, 8.5, 9.5], "p": [8.1, 9.1, 8.4, 9.4], "agn": [True, False, False, True]})
    assert list(binned_metrics(table, "t", "p", by="agn", bins=[-0.5, 0.5, 1.5])["n"]) == [2, 2]
    with pytest.raises(ColumnError, match="column 'agn' holds booleans, not numbers"):
        evaluate(table, "agn", "p")


def test_bin_edges_may_be_infinite_and_a_single_number_is_a_count():
    table = Table({"t": [8.0, 9.0, 8.5, 9.5], "p": [8.1, 9.1, 8.4, 9.4]})
    assert list(binned_metrics(table, "t", "p", bins=[-np.inf, 9.0, np.inf])["n"]) == [2, 2]
    assert len(binned_metrics(table, "t", "p", bins=np.array(2))) == 2
    with pytest.raises(ValueError, match=r"bins must be at least two increasing edges, got \[8.0, nan\]"):
        binned_metrics(table, "t", "p", bins=[8.0, np.nan])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                          st.sampled_from([0.0, 1.0, 1.0, 2.0])), min_size=1, max_size=40),
       st.integers(1, 7))
def test_value_bins_put_each_finite_value_in_one_bin(values, bins):
    from astro_cnn.evaluation.metrics import value_bins

    key = np.array(values, dtype=float)
    finite = np.isfinite(key)
    if not finite.any():
        with pytest.raises(ValueError, match="no finite value"):
            value_bins(key, bins, name="key")
        return
    found = value_bins(key, bins, name="key")
    assert len(found) == bins
    counts = np.sum([inside for _, _, inside in found], axis=0)
    assert np.all(counts[~finite] == 0)
    assert np.all(counts[finite] == 1)  # also where tied values make equal edges
    assert all(lo <= hi for lo, hi, _ in found)


@pytest.mark.parametrize("threshold", [-0.1, np.nan, "abc"])
def test_bad_outlier_threshold_is_refused(threshold):
    table = Table({"t": [8.0, 9.0], "p": [8.1, 9.1]})
    with pytest.raises(ValueError, match="outlier_threshold must be"):
        evaluate(table, "t", "p", outlier_threshold=threshold)


def test_columns_in_units_that_do_not_convert_are_refused_and_others_converted():
    import astropy.units as u
    from astropy.table import QTable

    from astro_cnn import ColumnError
    from astro_cnn.evaluation import evaluate

    table = QTable({"true": [1.0, 2.0, 3.0] * u.m, "pred": [1.0, 2.0, 3.0] * u.s, "cm": [110.0, 200, 300] * u.cm})
    with pytest.raises(ColumnError, match="column 'pred' is in s but 'true' is in m: they cannot be compared"):
        evaluate(table, "true", "pred")
    assert evaluate(table, "true", "cm")["bias_mean"][0].to_value(u.m) == pytest.approx(0.1 / 3)


def test_flags_read_back_from_text_tables_are_parsed():
    """A CSV gives the flag column back as the text 'True'/'False': any non-empty text counted as flagged, so every
    row was left out."""
    from astro_cnn.evaluation.metrics import flag_values

    table = Table({"log_oh": [8.5, 8.7, 8.9, 9.0], "oh_p50": [8.5, 8.8, 8.9, 9.1],
                   "flag": ["False", "True", " false ", "FALSE"]})
    assert list(flag_values(table["flag"])) == [False, True, False, False]
    assert evaluate(table, "oh_p50", ["log_oh"])["n"][0] == 3
    masked = MaskedColumn([False, False, True], mask=[False, True, False])
    assert list(flag_values(masked)) == [False, True, True]  # an unknown flag is not trusted
    with pytest.raises(ColumnError, match=r"column 'flag' holds 'maybe' in row 1: expected True or False"):
        flag_values(np.array(["True", "maybe"]))


def test_binned_metrics_keep_units_and_convert_edges_and_predictions():
    """The errors and bin edges came back without units, edges in mK were compared with a column in K as numbers,
    and a prediction in another unit than the truth was compared as numbers."""
    table = QTable({"t": [1.0, 2.0, 3.0, 4.0] * u.arcsec, "p": ([1.0, 2.0, 3.0, 4.0] * u.arcsec).to(u.arcmin),
                    "T": [1000.0, 3000.0, 8000.0, 15000.0] * u.K})
    binned = binned_metrics(table, "t", "p", by="T", bins=np.array([0, 5000, 20000]) * 1000 * u.mK)
    assert list(binned["n"]) == [2, 2] and binned["bin_high"].unit == u.K
    assert binned["rmse"].unit == u.arcsec and np.allclose(binned["rmse"].value, 0.0)
    with pytest.raises(ColumnError, match="bins are in m, which does not convert to the K of column 'T'"):
        binned_metrics(table, "t", "p", by="T", bins=[0, 1] * u.m)


def test_a_table_that_is_not_an_astropy_table_is_refused_saying_how_to_make_one():
    """A pandas DataFrame or a dict gave "AttributeError: ... has no attribute 'colnames'"."""
    pandas = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"table must be an astropy Table or QTable, not a DataFrame: make one with "
                                        r"astropy.table.Table.from_pandas\(df\)"):
        evaluate(pandas.DataFrame({"t": [1.0], "p": [1.0]}), "t", "p")
    with pytest.raises(TypeError, match="not a dict"):
        evaluate({"t": [1.0], "p": [1.0]}, "t", "p")


def test_a_boolean_outlier_threshold_is_refused():
    with pytest.raises(ValueError, match="outlier_threshold must be a non-negative number, got True"):
        evaluate(Table({"t": [1.0], "p": [1.0]}), "t", "p", outlier_threshold=True)
