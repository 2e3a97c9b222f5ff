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
