"""Finding coordinates, ids and extra inputs in tables; flagging unusable rows."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, QTable, Table

from astro_cnn import ColumnError, TargetList
from astro_cnn.target import ID_NAMES


def test_plain_degree_columns_and_id():
    t = Table({"RA": [10.0, 20.0], "Dec": [-5.0, 5.0], "objID": [1, 2]})
    targets = TargetList.from_table(t)
    assert targets.id_column == "objID"
    np.testing.assert_allclose(targets.ra, [10, 20])
    assert list(targets.status) == ["", ""]
    assert targets[1].coord.dec.deg == pytest.approx(5.0)


def test_units_are_converted_to_degrees():
    t = QTable({"ra": [np.pi] * u.rad, "dec": [600.0] * u.arcmin})
    targets = TargetList.from_table(t)
    assert targets.ra[0] == pytest.approx(180.0)
    assert targets.dec[0] == pytest.approx(10.0)


def test_non_angle_unit_is_an_error_naming_the_column():
    t = QTable({"ra": [1.0] * u.mag, "dec": [1.0] * u.deg})
    with pytest.raises(ColumnError, match="'ra' has unit mag"):
        TargetList.from_table(t)


def test_skycoord_column_in_any_frame():
    c = SkyCoord(l=[0.0, 90.0] * u.deg, b=[0.0, 30.0] * u.deg, frame="galactic")
    targets = TargetList.from_table(QTable({"pos": c, "name": ["a", "b"]}))
    np.testing.assert_allclose(targets.ra, c.icrs.ra.deg)
    assert targets.id_column == "name"


def test_sexagesimal_text():
    t = Table({"ra": ["10:00:00", "bad"], "dec": ["+30:00:00", "+1:0:0"]})
    targets = TargetList.from_table(t)
    assert targets.ra[0] == pytest.approx(150.0)
    assert targets.dec[0] == pytest.approx(30.0)
    assert "ra is missing or not a number in row 1" in targets.status[1]


def test_missing_coordinates_list_the_columns():
    with pytest.raises(ColumnError, match="no right ascension column found.*columns are: x, y"):
        TargetList.from_table(Table({"x": [1], "y": [2]}))


def test_ambiguous_coordinate_columns():
    with pytest.raises(ColumnError, match="ambiguous right ascension"):
        TargetList.from_table(Table({"ra": [1.0], "RAJ2000": [1.0], "dec": [0.0]}))


def test_named_column_that_does_not_exist():
    with pytest.raises(ColumnError, match="'alpha2' is not in the table"):
        TargetList.from_table(Table({"ra": [1.0], "dec": [0.0]}), ra="alpha2")


def test_bad_rows_are_flagged_not_dropped():
    ra = MaskedColumn([10.0, 20.0, 30.0, 400.0, 50.0], mask=[False, True, False, False, False])
    t = Table({"ra": ra, "dec": [0.0, 0.0, 95.0, 0.0, np.nan]})
    targets = TargetList.from_table(t)
    assert len(targets) == 5
    assert targets.status[0] == ""
    assert "missing" in targets.status[1] and "row 1" in targets.status[1]
    assert "outside -90..90 in row 2" in targets.status[2]
    assert "outside 0..360 in row 3" in targets.status[3]
    assert "dec is missing" in targets.status[4]
    assert list(targets.ok) == [True, False, False, False, False]


def test_extras_are_required_and_checked():
    t = Table({"ra": [1.0, 2.0], "dec": [0.0, 0.0], "ebv": [0.02, np.nan]})
    targets = TargetList.from_table(t, extras=["ebv"])
    assert targets.extras["ebv"][0] == pytest.approx(0.02)
    assert "extra input 'ebv'" in targets.status[1]
    with pytest.raises(ColumnError, match="'ebv' needed by the model"):
        TargetList.from_table(Table({"ra": [1.0], "dec": [0.0]}), extras=["ebv"])


def test_image_column_makes_positions_optional():
    t = Table({"path": ["a.jpg", ""], "objid": [1, 2]})
    targets = TargetList.from_table(t, image_column="path")
    assert list(targets.image_paths) == ["a.jpg", ""]
    assert targets.status[0] == "" and "no image file" in targets.status[1]
    assert np.isnan(targets.ra).all()


def test_with_image_files_a_position_off_the_sky_flags_its_row_and_a_missing_one_does_not():
    """Before, ra = 400 came back "ok" and carried into the output, and dec = 100 flagged its row with astropy's
    message, which named no column or row."""
    t = Table({"path": ["a.fits", "b.fits", "c.fits", "d.fits"], "ra": [400.0, 10.0, np.nan, 20.0],
               "dec": [1.0, 100.0, np.nan, -5.0]})
    targets = TargetList.from_table(t, image_column="path")
    assert list(targets.status) == ["ra = 400 deg is outside 0..360 in row 0",
                                    "dec = 100 deg is outside -90..90 in row 1", "", ""]
    assert [target.coord is None for target in targets] == [False, True, True, False]


def test_with_image_files_half_a_position_flags_its_row():
    """A row with an RA but no Dec (or the reverse) was measured and carried half a position into the output."""
    t = Table({"path": ["a.fits", "b.fits", "c.fits"], "ra": [10.0, np.nan, 12.0],
               "dec": [np.nan, 5.0, 6.0]})
    targets = TargetList.from_table(t, image_column="path")
    assert list(targets.status) == ["dec is missing or not a number in row 0",
                                    "ra is missing or not a number in row 1", ""]


def test_from_skycoord_and_subset_keep_order():
    c = SkyCoord([1, 2, 3] * u.deg, [4, 5, 6] * u.deg)
    targets = TargetList.from_skycoord(c, ids=["x", "y", "z"])
    sub = targets.subset(np.array([2, 0]))
    assert list(sub.ids) == ["z", "x"]
    np.testing.assert_allclose(sub.dec, [6, 4])
    assert [t.id for t in targets[1:]] == ["y", "z"]


@pytest.mark.parametrize("column", ["ra", "dec"])
def test_boolean_coordinates_are_refused_naming_the_column(column):
    t = Table({"ra": [10.0, 20.0], "dec": [1.0, 2.0], "objid": [1, 2]})
    t[column] = [True, False]
    with pytest.raises(ColumnError, match=f"'{column}' holds booleans"):
        TargetList.from_table(t)
    with pytest.raises(ColumnError, match=f"'{column}' holds booleans"):
        TargetList.from_table(t, positions_optional=True)


def test_coordinates_that_are_not_angles_are_refused():
    with pytest.raises(ColumnError, match="'ra' holds text that is not an angle.*'NGC 1'"):
        TargetList.from_table(Table({"ra": ["NGC 1", "NGC 2"], "dec": [1.0, 2.0]}))
    with pytest.raises(ColumnError, match="'dec' holds complex"):
        TargetList.from_table(Table({"ra": [1.0], "dec": np.array([1 + 1j])}))


def test_id_only_table_needs_no_positions_when_asked():
    targets = TargetList.from_table(Table({"objid": [1, 2], "oh_p50": [8.9, 9.0]}), positions_optional=True)
    assert np.isnan(targets.ra).all() and list(targets.ok) == [True, True]


@pytest.mark.parametrize("names", [("RightAsc", "Declin"), ("RA_J2000_deg", "DE_J2000_deg"), ("ra2", "dec2")])
def test_unrecognised_coordinates_beside_an_id_are_an_error(names):
    t = Table({"objid": [1, 2], names[0]: [150.1, 150.2], names[1]: [2.0, 2.1]})
    with pytest.raises(ColumnError, match=f"no right ascension column found.*CLI: --ra.*objid, {names[0]}"):
        TargetList.from_table(t, positions_optional=True)


def test_a_masked_id_stays_missing_and_flags_a_row_found_by_id():
    """A masked id hides a value under its mask: with no position the row would be looked up by that hidden value
    and marked "ok"; it is flagged, and the id stays masked through subsets and into the output."""
    table = Table({"objid": MaskedColumn([11, 22, 33], mask=[False, True, False])})
    targets = TargetList.from_table(table, positions_optional=True)
    assert list(targets.status) == ["", "no position and no identifier (masked) in column 'objid'", ""]
    assert list(np.ma.getmaskarray(targets.ids)) == [False, True, False]
    assert list(np.ma.getmaskarray(targets.subset(np.array([2, 1])).ids)) == [False, True]
    placed = Table({"objid": MaskedColumn([11, 22], mask=[True, False]), "ra": [150.0, 151.0], "dec": [2.0, 3.0]})
    targets = TargetList.from_table(placed)
    assert list(targets.status) == ["", ""]  # a position finds the image; the id is only carried, still masked
    assert targets[0].id is np.ma.masked and targets[1].id == 22


def test_columns_differing_only_in_case_resolve_to_the_same_one_everywhere():
    """With objid and OBJID, predict took OBJID (the last) and cutouts took objid."""
    from astro_cnn.target import find_optional_column

    table = Table({"OBJID": [1], "objid": [2], "Name": ["a"]})
    assert find_optional_column(table, ID_NAMES) == "objid"
    assert find_optional_column(Table({"ObjID": [1], "OBJID": [2]}), ID_NAMES) == "ObjID"  # the first in the table
    assert TargetList.from_table(Table({"OBJID": [1], "objid": [2], "ra": [1.0], "dec": [2.0]})).ids[0] == 2


@pytest.mark.parametrize("values, what", [(np.arange(2), "int64 numbers"), (np.array([True, False]), "booleans"),
                                          (np.ones((2, 2)), "several values per row")])
def test_an_image_column_that_does_not_hold_file_names_is_refused(values, what):
    """Numbers became file names ('1', 'True', '[0. 0.]') and every row was flagged as a missing file."""
    with pytest.raises(ColumnError, match=f"image column 'path' holds {what}, not file names"):
        TargetList.from_table(Table({"path": values}), image_column="path")


def test_a_dict_or_a_string_of_extras_is_refused():
    """A dict gave an AttributeError; extras="ebv" looked for columns 'e', 'b' and 'v'."""
    with pytest.raises(TypeError, match="table must be an astropy Table or QTable, not a dict"):
        TargetList.from_table({"ra": [1.0], "dec": [2.0]})
    with pytest.raises(ColumnError, match=r"extras must be a list of column names, not the string 'dec' "
                                          r"\(write \['dec'\]\)"):
        TargetList.from_table(Table({"ra": [1.0], "dec": [2.0]}), extras="dec")


def test_a_column_given_where_its_name_goes_is_refused():
    """predict(t, ra=t["ra"]) gave "The truth value of an array with more than one element is ambiguous"."""
    table = Table({"ra": [1.0, 2.0], "dec": [3.0, 4.0]})
    with pytest.raises(TypeError, match="ra must be the name of a column, not a Column"):
        TargetList.from_table(table, ra=table["ra"])
