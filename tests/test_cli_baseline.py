"""``astro-cnn baseline``: a random forest on aperture photometry of the same images, beside a CNN's predictions."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astro_cnn import read_table
from astro_cnn.cli import main
from astro_cnn.models import default_model
from astro_cnn_sdss.surveys import BUNDLED_JPEG_DIR


def _split(table: Table, directory, image_dir) -> tuple[str, str]:
    """Every third row as the test table, the rest as the training table; image paths made absolute."""
    table = Table(table)
    table["image"] = [str(image_dir / name) for name in table["image"]]
    test = np.arange(len(table)) % 3 == 0
    train_path, test_path = directory / "train.ecsv", directory / "test.ecsv"
    table[~test].write(train_path)
    table[test].write(test_path)
    return str(train_path), str(test_path)


@pytest.fixture
def metallicity_split(tmp_path):
    """The 100 real metallicity demo cutouts, with one test image missing and one not an image."""
    table = Table(read_table(default_model("metallicity").demo_table))
    table["image"] = [f"{objid}.jpg" for objid in table["objid"]]
    train, test = _split(table, tmp_path, BUNDLED_JPEG_DIR)
    rows = Table.read(test)
    rows["image"] = rows["image"].astype(object)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    rows["image"][1], rows["image"][4] = str(tmp_path / "absent.jpg"), str(tmp_path / "broken.jpg")
    rows.write(test, overwrite=True)
    return train, test


def test_baseline_flags_unreadable_rows_and_beats_the_mean_on_real_cutouts(tmp_path, metallicity_split, capsys):
    train, test = metallicity_split
    out = tmp_path / "baseline.ecsv"
    assert main(["baseline", train, test, "-q", "metallicity", "--image-column", "image", "--pixel-scale", "0.296",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    written, given = read_table(out), read_table(test)
    assert list(written["objid"]) == list(given["objid"])
    assert written["log_oh"].unit == u.dex and written.meta["astro_cnn"]["model"] == "aperture-forest"
    assert list(np.flatnonzero(written["flag"])) == [1, 4]
    assert "does not exist" in written["status"][1] and "not a readable image" in written["status"][4]
    assert np.isnan(written["log_oh"][[1, 4]].value).all() and (written["status"][~written["flag"]] == "ok").all()
    assert "training on 66 of 66 rows" in printed and "2 of 34 rows flagged" in printed
    assert "on the 32 of 34 test rows that every method measured" in printed
    forest, mean = (float(line.split()[-5]) for line in printed.splitlines()
                    if line.lstrip().startswith(("aperture-forest", "mean predictor")))
    assert forest < 0.8 * mean  # rmse


def test_compare_scores_a_cnn_on_the_same_rows_and_refuses_other_rows(tmp_path, metallicity_split, capsys):
    train, test = metallicity_split
    truth = read_table(test)
    cnn = Table({"objid": truth["objid"], "log_oh": truth["oh_p50"] + 0.05 * u.dex,
                 "flag": np.arange(len(truth)) == 7})
    cnn.write(tmp_path / "cnn.ecsv")
    args = ["baseline", train, test, "-q", "metallicity", "--image-column", "image", "--pixel-scale", "0.296",
            "-o", str(tmp_path / "b.ecsv"), "--compare", str(tmp_path / "cnn.ecsv")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "on the 31 of 34 test rows" in printed
    row = next(line for line in printed.splitlines() if "cnn.ecsv (--compare)" in line).split()
    assert row[2:5] == ["31", "0", "0.0500"]  # n, n_excluded, rmse
    cnn["objid"][0] = 1
    cnn.write(tmp_path / "cnn.ecsv", overwrite=True)
    assert main([*args, "--overwrite"]) == 2
    assert "--compare" in capsys.readouterr().err


def test_baseline_beside_the_bundled_photoz_cnn_on_injected_flux_stacks(tmp_path, capsys):
    demo = default_model("photo_z").demo_table
    train, test = _split(read_table(demo), tmp_path, demo.parent)
    cnn = tmp_path / "cnn.ecsv"
    assert main(["predict", test, "--image-column", "image", "-q", "photo_z", "-o", str(cnn), "--device", "cpu"]) == 0
    out = tmp_path / "baseline.fits"
    assert main(["baseline", train, test, "-q", "photo_z", "--image-column", "image", "--pixel-scale", "0.396",
                 "-o", str(out), "--compare", str(cnn)]) == 0
    printed = capsys.readouterr().out
    written = read_table(out)
    assert len(written) == 14 and not written["flag"].any() and "z_spec" in written.colnames
    assert {"sigma_mad", "bias", "outlier_fraction"} <= set(printed.split())
    assert "cnn.ecsv (--compare)" in printed and "on the 14 of 14 test rows" in printed


@pytest.mark.parametrize("extra, message", [(["--label-column", "nope"], "give --label-column"),
                                            (["--radii", "1,30"], "--radii: the largest aperture"),
                                            (["--image-column", "objid2"], "--image-column 'objid2'")])
def test_bad_input_is_reported_by_its_flag(tmp_path, metallicity_split, capsys, extra, message):
    train, test = metallicity_split
    args = ["baseline", train, test, "-q", "metallicity", "--image-column", "image", "--pixel-scale", "0.296",
            "-o", str(tmp_path / "b.ecsv"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_the_output_is_never_the_test_or_training_table(tmp_path, metallicity_split, capsys):
    """`-o test.ecsv --overwrite` replaced the test table with the predictions."""
    train, test = metallicity_split
    before = Path(test).read_bytes()
    for target, role in ((test, "test"), (train, "training")):
        assert main(["baseline", train, test, "-q", "metallicity", "--image-column", "image", "--pixel-scale",
                     "0.296", "-o", str(target), "--overwrite"]) == 2
        assert f"is the {role} table: write the predictions to another file" in capsys.readouterr().err
    assert Path(test).read_bytes() == before


def _args(train, test, out, *extra):
    return ["baseline", str(train), str(test), "-q", "metallicity", "--image-column", "image", "--pixel-scale",
            "0.296", "-o", str(out), *extra]


def test_true_values_named_like_the_prediction_do_not_replace_it(tmp_path, metallicity_split, capsys):
    """With the true values in a column named log_oh (one of the label's usual names), the output's log_oh held the
    true values instead of the forest's, and the baseline scored a perfect 0."""
    train, test = metallicity_split
    for path in (train, test):
        table = Table.read(path)
        table.rename_column("oh_p50", "log_oh")
        table.write(path, overwrite=True)
    assert main(_args(train, test, tmp_path / "b.ecsv")) == 0
    written = read_table(tmp_path / "b.ecsv")
    truth = read_table(test)["log_oh"]
    assert written.meta["astro_cnn"]["true_column"] == "log_oh_true"
    np.testing.assert_array_equal(np.asarray(written["log_oh_true"]), np.asarray(truth))
    measured = ~written["flag"]
    assert np.all(np.abs(written["log_oh"][measured].value - np.asarray(truth)[measured]) > 1e-6)
    forest = next(line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("aperture-forest"))
    assert float(forest.split()[-5]) > 0.01  # rmse


@pytest.mark.parametrize("extra, message", [
    (["--id-column", "status"], "--id-column 'status' has the name of an output column"),
    (["--id-column", "nope"], "--id-column 'nope' is not a column of")])
def test_an_id_column_that_would_be_lost_is_refused(tmp_path, metallicity_split, capsys, extra, message):
    train, test = metallicity_split
    table = Table.read(test)
    table["status"] = table["objid"]
    table.write(test, overwrite=True)
    assert main(_args(train, test, tmp_path / "b.ecsv", *extra)) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "b.ecsv").exists()


def test_tables_that_cannot_train_or_be_measured_are_reported_not_crashed(tmp_path, metallicity_split, capsys):
    """Each of these gave a numpy traceback message ("cannot reshape array of size 0", "index 0 is out of bounds",
    "operands could not be broadcast") or trained on booleans."""
    from astropy.table import MaskedColumn

    train, test = metallicity_split
    given_train, given_test = Table.read(train), Table.read(test)
    cases = []
    given_test[:0].write(tmp_path / "empty.ecsv")
    cases.append((train, tmp_path / "empty.ecsv", 2, "the test table"))
    given_train[:0].write(tmp_path / "empty_train.ecsv")
    cases.append((tmp_path / "empty_train.ecsv", test, 2, "the training table"))
    nan = Table(given_train)
    nan["oh_p50"] = np.nan
    nan.write(tmp_path / "nan.ecsv")
    cases.append((tmp_path / "nan.ecsv", test, 2, "has 0 rows with a usable image and a finite label in column "
                                                  "'oh_p50': a forest needs at least 2"))
    wide = Table(given_train)
    wide["oh_p50"] = np.ones((len(wide), 3))
    wide.write(tmp_path / "wide.ecsv")
    cases.append((tmp_path / "wide.ecsv", test, 2, "column 'oh_p50' holds several values per row"))
    flags = Table(given_train)
    flags["oh_p50"] = np.arange(len(flags)) % 2 == 0
    flags.write(tmp_path / "flags.ecsv")
    cases.append((tmp_path / "flags.ecsv", test, 2, "flags.ecsv': column 'oh_p50' holds booleans"))
    numbers = Table(given_test)
    numbers["image"] = np.arange(len(numbers))
    numbers.write(tmp_path / "numbers.ecsv")
    cases.append((train, tmp_path / "numbers.ecsv", 2, "image column 'image' holds int64 numbers, not file names"))
    cases.append((train, test, 2, "--image-dir"))  # a directory that is not there, given below
    for k, (training, testing, status, message) in enumerate(cases):
        extra = ["--image-dir", str(tmp_path / "nope")] if message == "--image-dir" else []
        assert main(_args(training, testing, tmp_path / f"o{k}.ecsv", *extra)) == status, message
        assert message in capsys.readouterr().err
        assert not (tmp_path / f"o{k}.ecsv").exists()
    unreadable = Table(given_test)
    unreadable["image"] = MaskedColumn([str(tmp_path / "absent.jpg")] * len(unreadable),
                                       mask=np.arange(len(unreadable)) == 0)
    unreadable.write(tmp_path / "unreadable.ecsv")
    assert main(_args(train, tmp_path / "unreadable.ecsv", tmp_path / "u.ecsv")) == 1
    assert "no row of 34 could be measured" in capsys.readouterr().err
    written = read_table(tmp_path / "u.ecsv")
    assert written["flag"].all() and written["status"][0] == "no image file in column 'image'"
    assert "does not exist" in written["status"][1]


def test_a_compare_table_of_other_rows_is_refused_before_any_output(tmp_path, metallicity_split, capsys):
    train, test = metallicity_split
    Table({"objid": [1, 2], "log_oh": [8.9, 9.0]}).write(tmp_path / "cnn.ecsv")
    assert main(_args(train, test, tmp_path / "b.ecsv", "--compare", str(tmp_path / "cnn.ecsv"))) == 2
    assert "has 2 rows; the test table has 34" in capsys.readouterr().err and not (tmp_path / "b.ecsv").exists()


def test_the_id_column_is_found_in_any_case(tmp_path, metallicity_split):
    train, test = metallicity_split
    table = Table.read(test)
    table.rename_column("objid", "ObjID")
    table.write(test, overwrite=True)
    assert main(_args(train, test, tmp_path / "b.ecsv")) == 0
    assert read_table(tmp_path / "b.ecsv").colnames[0] == "ObjID"
