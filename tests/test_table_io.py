"""Reading and writing every common table format, atomically."""

import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astro_cnn import AstroCNNError, read_table, write_table
from astro_cnn.table_io import check_output_format


def _table():
    return QTable({"objid": np.array([1, 2], dtype=np.int64), "log_oh": [8.9, 9.1] * u.dex,
                   "flag": [False, True]})


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".vot", ".csv", ".parquet", ".hdf5"])
def test_round_trip(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        pytest.importorskip("pandas")
    if suffix == ".hdf5":
        pytest.importorskip("h5py")
    path = write_table(_table(), tmp_path / f"out{suffix}")
    back = read_table(path)
    assert list(back["objid"]) == [1, 2]
    np.testing.assert_allclose(np.asarray(getattr(back["log_oh"], "value", back["log_oh"])), [8.9, 9.1])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "out.ecsv"
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_table(_table(), path)
    assert path.read_text() == "precious"
    write_table(_table(), path, overwrite=True)
    assert len(read_table(path)) == 2


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.fits"
    path.write_text("precious")
    bad = QTable({"obj": np.array([object(), object()], dtype=object)})
    with pytest.raises(AstroCNNError, match="out.fits"):
        write_table(bad, path, overwrite=True)
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.fits"]


def test_unreadable_table_names_the_file(tmp_path):
    with pytest.raises(AstroCNNError, match="missing.ecsv.*does not exist"):
        read_table(tmp_path / "missing.ecsv")
    (tmp_path / "bad.fits").write_text("not fits at all")
    with pytest.raises(AstroCNNError, match="cannot read table file .*bad.fits"):
        read_table(tmp_path / "bad.fits")


def test_fits_output_keeps_nested_metadata_as_header_keywords(tmp_path):
    from astropy.io import fits

    table = _table()
    table.meta["astro_cnn"] = {"model": "m1", "bands": ["g", "r", "i"], "image_size": 128}
    path = write_table(table, tmp_path / "out.fits")
    header = fits.getheader(path, 1)
    assert header["ASTRO_CNN MODEL"] == "m1"
    assert header["ASTRO_CNN BANDS"] == '["g", "r", "i"]'
    assert header["ASTRO_CNN IMAGE_SIZE"] == 128
    assert table.meta["astro_cnn"]["model"] == "m1"  # the caller's table is untouched


@pytest.mark.parametrize("name, expected", [("o.ecsv", "ascii.ecsv"), ("o.FITS", "fits"), ("o.vot", "votable"),
                                            ("o.csv.gz", "ascii.csv")])
def test_check_output_format_accepts_known_suffixes(tmp_path, name, expected):
    assert check_output_format(tmp_path / name) == expected
    assert not list(tmp_path.iterdir())  # nothing is written


def test_check_output_format_refuses_unknown_suffixes(tmp_path):
    with pytest.raises(AstroCNNError, match=r"'[^']*out\.xlsx'.*suffix '\.xlsx'.*\.ecsv.*\.parquet"):
        check_output_format(tmp_path / "out.xlsx")
    with pytest.raises(AstroCNNError, match="'[^']*out'.*no suffix"):
        check_output_format(tmp_path / "out")
    assert check_output_format(tmp_path / "out", format="ascii.ecsv") == "ascii.ecsv"
    with pytest.raises(AstroCNNError, match="format 'nonsense'"):
        check_output_format(tmp_path / "out.ecsv", format="nonsense")


@pytest.mark.parametrize("name, package", [("o.parquet", "pyarrow"), ("o.hdf5", "h5py"), ("o.h5", "h5py")])
def test_check_output_format_names_the_missing_package(tmp_path, monkeypatch, name, package):
    monkeypatch.setitem(sys.modules, package, None)  # as if not installed
    with pytest.raises(AstroCNNError, match=f"{name}'.*pip install {package}"):
        check_output_format(tmp_path / name)
