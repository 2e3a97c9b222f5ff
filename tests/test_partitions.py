"""Large inputs read in partitions give the same predictions as the table read whole."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table

import astro_cnn
from astro_cnn import AstroCNNError, read_table, write_table
from astro_cnn.partitions import partitions


def _table(n=50):
    rng = np.random.default_rng(5)
    return Table({"objid": np.arange(n), "ra": rng.uniform(0, 360, n), "dec": rng.uniform(-50, 85, n)})


@pytest.mark.parametrize("suffix", [".fits", ".parquet", ".ecsv"])
def test_partitions_cover_every_row_once(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        pytest.importorskip("pandas")
    path = write_table(_table(), tmp_path / f"in{suffix}")
    parts = partitions(path, 16)
    assert parts.n_rows == 50 and parts.fingerprint["rows"] == 50
    seen = [(start, list(part["objid"])) for start, part in parts]
    assert [s for s, _ in seen] == [0, 16, 32, 48]
    assert sum((ids for _, ids in seen), []) == list(range(50))


def test_partitioned_file_streams_to_the_same_result(tmp_path, example_model):
    table = _table()
    path = write_table(table, tmp_path / "in.fits")
    expected = astro_cnn.predict(table, model=example_model)
    out = astro_cnn.predict_to_file(path, tmp_path / "out.ecsv", model=example_model, batch_size=8,
                                    partition_rows=20, progress=False)
    result = read_table(out)
    assert list(result["objid"]) == list(expected["objid"])
    np.testing.assert_allclose(result["colour_ab"].value, expected["colour_ab"].value, equal_nan=True)
    assert list(result["status"]) == list(expected["status"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AstroCNNError, match="nope.fits"):
        partitions(tmp_path / "nope.fits", 10)


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
def test_partitions_keep_units_and_descriptions(tmp_path, suffix):
    table = QTable({"objid": np.arange(5), "ra": np.arange(5.0) * u.hourangle, "dec": np.zeros(5) * u.deg,
                    "log_m": np.full(5, 10.5) * u.dex(u.Msun)})
    table["ra"].info.description = "right ascension"
    path = write_table(table, tmp_path / f"in{suffix}")
    for start, part in partitions(path, 2):
        assert part["ra"].unit == u.hourangle and part["log_m"].unit == u.dex(u.Msun)
        assert part["ra"].info.description == "right ascension"
        np.testing.assert_allclose(part["ra"].to_value(u.deg), 15.0 * np.arange(start, start + len(part)))


def test_a_fits_image_given_as_the_table_says_so(tmp_path):
    """The message ended in an empty reason: a StopIteration has no text, yet counts as true."""
    from astropy.io import fits

    image = tmp_path / "stack.fits"
    fits.writeto(image, np.zeros((5, 8, 8), np.float32))
    with pytest.raises(AstroCNNError, match=r"cannot read table file .*stack\.fits': it has no binary table "
                                            r"extension \(is it an image\?\)$"):
        partitions(image, 100)


def test_an_in_memory_table_with_other_values_masked_is_another_input():
    """Masked ids stay missing in the output, so a resume must not take a table with other ids masked for the
    same input (its values alone are the same)."""
    from astropy.table import MaskedColumn

    first = Table({"objid": MaskedColumn([1, 2, 3], mask=[False, True, False]), "ra": [1.0, 2.0, 3.0]})
    second = Table({"objid": MaskedColumn([1, 2, 3], mask=[False, False, True]), "ra": [1.0, 2.0, 3.0]})
    assert partitions(first, 2).fingerprint != partitions(second, 2).fingerprint
    assert partitions(first, 2).fingerprint == partitions(first.copy(), 2).fingerprint
