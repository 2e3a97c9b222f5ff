"""Reading and writing every common table format, atomically."""

import json
import sys
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, QTable, Table

from astro_cnn import AstroCNNError, read_table, registry, write_table
from astro_cnn.table_io import check_output_format

from .photoz_outputs import FORMATS, predict_photoz


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


def _ucd(column):
    return (column.info.meta or {}).get("ucd")


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "out.ecsv"
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):  # the library speaks of its argument
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


def test_fits_output_keeps_nested_metadata_as_one_json_keyword(tmp_path):
    from astropy.io import fits

    table = _table()
    table.meta["astro_cnn"] = {"model": "m1", "bands": ["g", "r", "i"], "image_size": 128}
    path = write_table(table, tmp_path / "out.fits")
    header = fits.getheader(path, 1)
    assert json.loads(header["ASTROCNN"]) == table.meta["astro_cnn"]
    assert not [key for key in header if key.startswith("ASTRO_CNN")]  # not flattened into HIERARCH keys
    assert read_table(path).meta["astro_cnn"] == table.meta["astro_cnn"]
    assert table.meta["astro_cnn"]["model"] == "m1"  # the caller's table is untouched


@pytest.mark.parametrize("suffix", FORMATS)
def test_units_descriptions_and_ucds_survive_every_format(tmp_path, suffix):
    table = QTable({"log_oh": [8.9, 9.1] * u.dex, "log_mstar": [10.2, 11.0] * u.dex(u.Msun),
                    "ra": [10.0, 11.0] * u.hourangle, "n": [1, 2]})
    table["log_oh"].info.description = "12 + log(O/H)"
    table["log_oh"].info.meta = {"ucd": "phys.abund.Z"}
    table["log_mstar"].info.description = "stellar mass"
    table["log_mstar"].info.meta = {"ucd": "phys.mass"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no W50 'Invalid unit string', no UnitsWarning, no VerifyWarning
        back = read_table(write_table(table, tmp_path / f"out{suffix}"))
    for name in table.colnames:
        assert getattr(back[name], "unit", None) == getattr(table[name], "unit", None), name
        assert back[name].info.description == table[name].info.description, name
        assert _ucd(back[name]) == _ucd(table[name]), name
    np.testing.assert_allclose(back["log_mstar"].to_value(u.dex(u.Msun)), [10.2, 11.0])
    assert back["ra"][0].to_value(u.deg) == pytest.approx(150.0)


def test_fits_and_votable_units_are_standard_strings(tmp_path):
    from astropy.io import fits
    from astropy.io.votable import parse_single_table

    table = QTable({"log_oh": [8.9] * u.dex, "log_mstar": [10.2] * u.dex(u.Msun)})
    table["log_oh"].info.description = "12 + log(O/H)"
    table["log_oh"].info.meta = {"ucd": "phys.abund.Z"}
    header = fits.getheader(write_table(table, tmp_path / "out.fits"), 1)
    assert (header["TUNIT1"], header["TUNIT2"]) == ("dex", "log(solMass)")  # FITS 4.0 unit function log()
    assert (header["TCOMM1"], header["TUCD1"]) == ("12 + log(O/H)", "phys.abund.Z")  # read by TOPCAT
    fields = parse_single_table(write_table(table, tmp_path / "out.vot")).fields
    assert [f.unit.to_string() if hasattr(f.unit, "to_string") else f.unit for f in fields][1] == "log(solMass)"


@pytest.mark.parametrize("suffix", FORMATS)
def test_photoz_prediction_round_trips_every_format(tmp_path, suffix):
    reference = read_table(predict_photoz(tmp_path / "reference.ecsv"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=u.UnitsWarning)
        back = read_table(predict_photoz(tmp_path / f"out{suffix}"))
    quantity = registry.get("quantity", "photo_z")
    assert back.colnames == reference.colnames
    for name in reference.colnames:
        assert getattr(back[name], "unit", None) == getattr(reference[name], "unit", None), name
        assert back[name].info.description == reference[name].info.description, name
        assert _ucd(back[name]) == _ucd(reference[name]), name
    for name in [quantity.column, quantity.error_column, quantity.pdf_column, "ra", "dec", "flag", "status"]:
        assert back[name].info.description and _ucd(back[name]), name
    assert back["z_phot"].info.meta["ucd"].startswith("src.redshift.phot")
    assert back["flag"].info.meta["ucd"] == "meta.code.qual"
    np.testing.assert_allclose(back.meta["astro_cnn"]["pdf_bin_edges"], quantity.bin_edges)
    assert back.meta["astro_cnn"] == reference.meta["astro_cnn"] | {"date": back.meta["astro_cnn"]["date"]}
    np.testing.assert_allclose(np.asarray(back["z_pdf"]), np.asarray(reference["z_pdf"]), rtol=1e-6)


def test_fits_and_votable_carry_the_pdf_bin_edges_for_other_readers(tmp_path):
    from astropy.io import fits
    from astropy.io.votable import parse_single_table

    edges = registry.get("quantity", "photo_z").bin_edges
    with fits.open(predict_photoz(tmp_path / "out.fits", rows=2)) as hdul:
        bins = hdul["PDF_BINS"].data
        np.testing.assert_allclose(bins["BIN_LO"], edges[:-1])
        np.testing.assert_allclose(bins["BIN_HI"], edges[1:])
    params = {p.name: p for p in parse_single_table(predict_photoz(tmp_path / "out.vot", rows=2)).params}
    np.testing.assert_allclose(params["pdf_bin_edges"].value, edges)


@pytest.mark.parametrize("suffix", FORMATS)
def test_resumed_photoz_run_gives_the_same_table_in_every_format(tmp_path, suffix, monkeypatch):
    from astro_cnn.image_files import ImageFileSurvey
    from astro_cnn.streaming import partial_paths

    reference = read_table(predict_photoz(tmp_path / f"reference{suffix}"))
    cutouts, calls = ImageFileSurvey.cutouts, []

    def interrupted(self, targets, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # like Ctrl-C while the third chunk's images are read
        return cutouts(self, targets, **kwargs)

    out = tmp_path / f"out{suffix}"
    monkeypatch.setattr(ImageFileSurvey, "cutouts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_photoz(out)
    monkeypatch.setattr(ImageFileSurvey, "cutouts", cutouts)
    assert not out.exists() and partial_paths(out)[0].exists()
    back = read_table(predict_photoz(out, resume=True))
    assert back.colnames == reference.colnames and back["z_phot"].info.description
    for name in reference.colnames:
        assert getattr(back[name], "unit", None) == getattr(reference[name], "unit", None), name
        assert back[name].info.description == reference[name].info.description, name
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(reference[name]))
    assert back.meta["astro_cnn"] == reference.meta["astro_cnn"] | {"date": back.meta["astro_cnn"]["date"]}
    np.testing.assert_allclose(back.meta["astro_cnn"]["pdf_bin_edges"],
                               registry.get("quantity", "photo_z").bin_edges)


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


def test_read_table_names_a_directory_and_reads_a_csv_with_a_byte_order_mark(tmp_path):
    with pytest.raises(AstroCNNError, match="is a directory, not a table file"):
        read_table(tmp_path)
    (tmp_path / "bom.csv").write_bytes("\ufeffra,dec\n10.0,20.0\n".encode("utf-8"))
    assert read_table(tmp_path / "bom.csv").colnames == ["ra", "dec"]


def test_an_unreadable_table_is_one_line(tmp_path):
    (tmp_path / "x.weird").write_text("not a table")
    with pytest.raises(AstroCNNError) as info:
        read_table(tmp_path / "x.weird")
    message = str(info.value)
    assert "\n" not in message and "its suffix names no table format and its contents name none either" in message


def test_fits_output_spells_non_ascii_descriptions_in_ascii(tmp_path):
    """A FITS header holds ASCII only: a description such as 'Sérsic' or 'M☉' is written, not an error."""
    table = QTable({"sersic_n": [1.5, 4.0], "log_mass": [10.1, 11.2] * u.dex(u.solMass)})
    table["sersic_n"].info.description = "Sérsic index n (r_e in ″)"
    table["log_mass"].info.description = "log M*/M☉ ± 0.1"
    table.meta["note"] = "Δr ≥ 1σ, χ² < 2"
    write_table(table, tmp_path / "t.fits")
    back = read_table(tmp_path / "t.fits")
    assert back["sersic_n"].info.description == "Sersic index n (r_e in arcsec)"
    assert back["log_mass"].info.description == "log M*/Msun +/- 0.1"
    assert back.meta["NOTE"] == "Deltar >= 1sigma, ?2 < 2"  # a symbol with no spelling becomes '?'


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz"])
def test_csv_keeps_units_and_metadata_and_stays_a_csv_after_its_comment_lines(tmp_path, name):
    """Plain CSV lost every unit and meta["astro_cnn"]; a .gz name was not even compressed."""
    import csv
    import gzip

    table = QTable({"id": [1, 2], "r_e": [1.5, 2.5] * u.arcsec, "note": ["a, b", "c"]})
    table.meta["astro_cnn"] = {"model": "m"}
    path = write_table(table, tmp_path / name)
    back = read_table(path)
    assert back["r_e"].unit == u.arcsec and back.meta["astro_cnn"] == {"model": "m"}
    assert list(back["note"]) == ["a, b", "c"]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        rows = list(csv.reader(line for line in handle if not line.startswith("#")))
    assert rows == [["id", "r_e", "note"], ["1", "1.5", "a, b"], ["2", "2.5", "c"]]


@pytest.mark.parametrize("name", ["out.txt", "out.dat", "out.txt.gz"])
def test_plain_text_keeps_units_and_metadata_and_stays_a_plain_table(tmp_path, name):
    """A .txt or .dat output lost every unit and meta["astro_cnn"] (astropy's basic format keeps neither)."""
    table = QTable({"id": [1, 2], "r_e": [1.5, 2.5] * u.arcsec, "note": ["a b", "c"]})
    table.meta["astro_cnn"] = {"model": "m"}
    back = read_table(write_table(table, tmp_path / name))
    assert back["r_e"].unit == u.arcsec and back.meta["astro_cnn"] == {"model": "m"}
    plain = Table.read(tmp_path / name, format="ascii.basic")  # a reader that skips the '#' lines
    assert plain.colnames == ["id", "r_e", "note"] and list(plain["note"]) == ["a b", "c"]


@pytest.mark.parametrize("text", ["id r\n1 16.5\n2 17.0\n", "# a comment\nid r\n1 16.5\n2 17.0\n",
                                  "# id r\n1 16.5\n2 17.0\n", "id\tr\n1\t16.5\n2\t17.0\n"])
def test_a_plain_text_table_that_is_not_ecsv_reads_as_before(tmp_path, text):
    path = tmp_path / "targets.txt"
    path.write_text(text)
    table = read_table(path)
    assert table.colnames == ["id", "r"] and list(table["r"]) == [16.5, 17.0]


@pytest.mark.parametrize("name", ["out.ecsv", "out.csv", "out.ecsv.gz", "out.txt", "out.dat"])
def test_values_starting_with_a_hash_are_not_taken_for_comments(tmp_path, name):
    """astropy writes '#c' bare, and reading then dropped the row as a comment."""
    table = QTable({"name": ["#c", '#q"x', "x", "#a b"], "v": [1, 2, 3, 4]})
    back = read_table(write_table(table, tmp_path / name))
    assert [str(v) for v in back["name"]] == ["#c", '#q"x', "x", "#a b"] and list(back["v"]) == [1, 2, 3, 4]


def test_a_text_table_of_one_line_is_read_as_a_table_not_as_a_file_name(tmp_path):
    """astropy takes a string without a line break for a file name: a one-line CSV naming another file was read
    as that file, and a header-only one as a missing file."""
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "header.csv").write_text("other.csv")  # no line break
    table = read_table(tmp_path / "header.csv")
    assert table.colnames == ["other.csv"] and len(table) == 0
    (tmp_path / "empty.ecsv").write_text("")
    with pytest.raises(AstroCNNError, match=r"cannot read table file '.*empty.ecsv': ValueError: the file is empty"):
        read_table(tmp_path / "empty.ecsv")


@pytest.mark.parametrize("suffix", FORMATS)
def test_masked_text_stays_masked_in_every_format(tmp_path, suffix):
    """FITS and VOTable have no null for text: a masked id came back as an ordinary empty string."""
    table = Table({"r": [16.0, 16.5, 17.0, 17.5],
                   "obj id&": MaskedColumn(["a", "b", "c", "d"], mask=[False, True, False, True])})
    back = read_table(write_table(table, tmp_path / f"t{suffix}"))
    name = back.colnames[1]  # VOTable readers name the column by its ID, "obj_id_"
    assert list(np.ma.getmaskarray(back[name])) == [False, True, False, True]
    assert back[name][0] == "a" and back[name][2] == "c"
    assert "TEXTNULL" not in back.meta and "masked_text" not in back.meta


def test_a_textnull_keyword_of_another_tool_stays_in_the_metadata(tmp_path):
    table = Table({"objid": ["a", "b"]}, meta={"TEXTNULL": "something else"})
    back = read_table(write_table(table, tmp_path / "t.fits"))
    assert back.meta["TEXTNULL"] == "something else" and not np.ma.getmaskarray(back["objid"]).any()
    table["objid"] = MaskedColumn(["a", "b"], mask=[True, False])
    with pytest.raises(AstroCNNError, match="meta has a key 'TEXTNULL'"):
        write_table(table, tmp_path / "u.fits")


@pytest.mark.parametrize("suffix", [".fits", ".vot"])
def test_a_column_fits_and_votable_cannot_hold_is_named(tmp_path, suffix):
    """A SkyCoord column gave VOTable writers "AttributeError: 'SkyCoord' object has no attribute 'dtype'"."""
    from astropy.coordinates import SkyCoord

    table = QTable({"objid": [1, 2], "where": SkyCoord([150, 151] * u.deg, [10, 11] * u.deg)})
    with pytest.raises(AstroCNNError, match=r"column 'where' is a SkyCoord, which a (FITS|VOTable) table cannot hold"):
        write_table(table, tmp_path / f"t{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_rows_lost_to_an_unclosed_quote_are_an_error_naming_the_line(tmp_path):
    """astropy's CSV reader kept 1 of these 4 rows without a word: predict then wrote 1 row for 4."""
    import gzip

    text = 'objid,size,image\n1,1.2",a.jpg\n2,3,"b.jpg\n3,4,c.jpg\n4,5,d.jpg\n'  # an arcsecond mark opens no quote
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    (tmp_path / "bad.csv.gz").write_bytes(gzip.compress(text.encode()))
    for name, given in (("bad.csv", None), ("bad.csv.gz", None), ("bad.csv", "csv")):
        with pytest.raises(AstroCNNError, match=r"has 4 data lines but only 1 could be read as rows: line 3 opens a "
                                                r"quoted value that does not close"):
            read_table(tmp_path / name, format=given)
    good = tmp_path / "good.csv"  # a quoted value over two lines is one row, a form feed inside a value no break
    good.write_text('objid,note\n1,"two\nlines"\n2,plain\x0cpage\n\n', encoding="utf-8")
    assert list(read_table(good)["objid"]) == [1, 2]


@pytest.mark.parametrize("overwrite", ["no", 1, None])
def test_overwrite_must_be_true_or_false(tmp_path, overwrite):
    """overwrite="no" replaced the file: a non-empty string counts as true."""
    path = write_table(Table({"a": [1]}), tmp_path / "keep.ecsv")
    before = path.read_bytes()
    with pytest.raises(AstroCNNError, match="overwrite must be True or False"):
        write_table(Table({"a": [2]}), path, overwrite=overwrite)
    assert path.read_bytes() == before


def test_an_unknown_output_suffix_is_one_short_line(tmp_path):
    """write_table dumped astropy's list of some 3,000 characters of format names."""
    with pytest.raises(AstroCNNError, match=r"its suffix '.xyz' is not a known table format") as info:
        write_table(Table({"a": [1]}), tmp_path / "x.xyz")
    assert len(str(info.value)) < 400 and not (tmp_path / "x.xyz").exists()


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_photoz_prediction_of_no_rows_reads_back_with_its_pdf_column(tmp_path, suffix):
    """astropy cannot read an ECSV table of no rows with an array column ("shape mismatch"): the empty output
    of an empty input could not be read back from ECSV, CSV or text."""
    back = read_table(predict_photoz(tmp_path / f"empty{suffix}", rows=0))
    assert len(back) == 0 and back["z_pdf"].shape[1:] == (180,)
    assert "photometric redshift" in back["z_phot"].info.description
    assert len(back.meta["astro_cnn"]["pdf_bin_edges"]) == 181
