"""write_cutouts: one file per row plus an index that always matches the files written."""

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn.cutouts import write_cutouts
from astro_cnn.target import TargetList

LONG_ID = "x" * 300


def test_id_too_long_for_a_file_name_flags_its_row_and_the_rest_are_written(example_plugin, tmp_path):
    targets = TargetList(np.full(3, 150.0), np.array([10.0, 20.0, 30.0]), ["a", LONG_ID, "b"])
    index = write_cutouts(targets, tmp_path, example_plugin.ExampleSky(), progress=False)
    assert list(index["status"][[0, 2]]) == ["ok", "ok"]
    assert LONG_ID in index["status"][1] and "name too long" in index["status"][1].lower()
    assert list(index["file"]) == ["a.fits", "", "b.fits"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fits", "b.fits", "index.ecsv"]
    assert list(Table.read(tmp_path / "index.ecsv")["file"].filled("")) == ["a.fits", "", "b.fits"]


def test_a_run_that_stops_leaves_no_file_behind(example_plugin, tmp_path):
    class Failing(example_plugin.ExampleSky):
        calls = 0

        def cutouts(self, targets, **kwargs):
            Failing.calls += 1
            if Failing.calls == 3:
                raise RuntimeError("archive went away")
            return super().cutouts(targets, **kwargs)

    targets = TargetList(np.full(4, 150.0), np.linspace(10, 40, 4), ["a", "b", "c", "d"])
    with pytest.raises(RuntimeError, match="archive went away"):
        write_cutouts(targets, tmp_path, Failing(), batch_size=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fits_cutouts_carry_the_survey_flux_unit_or_none(tmp_path, example_plugin):
    from astropy.io import fits

    targets = TargetList([150.0], [10.0], ids=["a"])
    write_cutouts(targets, tmp_path / "none", example_plugin.ExampleSky(), progress=False)
    assert "BUNIT" not in fits.getheader(tmp_path / "none" / "a.fits")  # the example survey declares none

    class Declared(example_plugin.ExampleSky):
        flux_unit = "adu"

    write_cutouts(targets, tmp_path / "adu", Declared(), progress=False)
    assert fits.getheader(tmp_path / "adu" / "a.fits")["BUNIT"] == "adu"


def test_a_masked_id_names_its_file_by_row_and_stays_masked_in_the_index(example_plugin, tmp_path):
    from astropy.table import MaskedColumn

    table = Table({"id": MaskedColumn(["a", "b", "c"], mask=[False, True, False]), "ra": [150.0] * 3,
                   "dec": [10.0, 20.0, 30.0]})
    index = write_cutouts(TargetList.from_table(table), tmp_path, example_plugin.ExampleSky(), progress=False)
    assert list(index["file"]) == ["a.fits", "row1.fits", "c.fits"]  # not "--.fits", the mask's printed form
    assert list(np.ma.getmaskarray(Table.read(tmp_path / "index.ecsv")["id"])) == [False, True, False]


def test_a_size_too_large_for_memory_is_refused_before_anything_is_made(example_plugin, tmp_path):
    """--size 100000 raised a MemoryError traceback for 447 GiB and left an empty output directory behind."""
    from astropy.table import Table

    table = Table({"ra": [150.0], "dec": [10.0]})
    with pytest.raises(ValueError, match=r"size=100000 px with batch_size=1 needs \d+ GiB for one batch"):
        write_cutouts(table, tmp_path / "out", "example-sky", size=100000, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options, message", [({"batch_size": -1}, "batch_size must be an integer of at least 1"),
                                              ({"batch_size": 1.5}, "batch_size must be an integer"),
                                              ({"size": 0}, "size must be an integer of at least 1"),
                                              ({"size": True}, "size must be an integer of at least 1"),
                                              ({"size": "16"}, "size must be an integer")])
def test_counts_that_are_not_positive_integers_are_refused(example_plugin, tmp_path, options, message):
    """batch_size=-1 wrote nothing and returned an index of unflagged, unmeasured rows; size=True wrote 1-pixel
    images marked ok."""
    from astro_cnn import AstroCNNError

    with pytest.raises(AstroCNNError, match=message):
        write_cutouts(Table({"ra": [150.0], "dec": [10.0]}), tmp_path / "out", "example-sky", progress=False,
                      **options)
    assert not (tmp_path / "out").exists()
