"""``astro-cnn train`` end to end on real SDSS cutouts, then ``astro-cnn predict`` with the model."""

import astropy.units as u
import numpy as np
import pytest

from astro_cnn import load_predictor, read_table
from astro_cnn.cli import main

from .conftest import DATA

GALAXIES = DATA / "gri_small" / "galaxies.ecsv"


def test_train_then_predict_from_files(tmp_path, capsys):
    model = tmp_path / "m.acnn"
    args = ["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--backbone", "small_cnn",
            "--recipe", "quick", "--epochs", "1", "--run-dir", str(tmp_path / "run"), "-o", str(model)]
    assert main(args) == 0
    assert "saved model" in capsys.readouterr().out
    assert (tmp_path / "run" / "checkpoint.pt").exists() and (tmp_path / "run" / "history.ecsv").exists()
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    out = tmp_path / "p.ecsv"
    assert main(["predict", str(GALAXIES), "--model", str(model), "--image-column", "image", "-o", str(out)]) == 0
    result = read_table(out)
    # every image reaches the model; one epoch on 16 galaxies may leave some predictions outside the labels' range
    assert len(result) == 16 and all(s == "ok" or s.startswith("extrapolation") for s in result["status"])
    assert np.all(np.isfinite(result["log_oh"].value))


def test_lr_find(tmp_path, capsys):
    out = tmp_path / "lr.ecsv"
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--backbone",
                 "small_cnn", "--recipe", "quick", "--lr-find", "-o", str(out)]) == 0
    curve = read_table(out)
    assert len(curve) > 5 and np.all(np.diff(curve["lr"]) > 0)
    assert "suggested learning rate" in capsys.readouterr().out


def test_resume_needs_a_run_dir(tmp_path, capsys):
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--resume",
                 "-o", str(tmp_path / "m.acnn")]) == 2
    assert "--run-dir" in capsys.readouterr().err


@pytest.mark.parametrize("column", ["nope"])
def test_missing_image_column_is_named(tmp_path, capsys, column):
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", column,
                 "-o", str(tmp_path / "m.acnn")]) == 2
    assert "'nope' is not in the table" in capsys.readouterr().err


@pytest.mark.parametrize("band_map, init_model, says", [
    (["y=z"], [], "--band-map is given without --init-model"),
    (["y=z", "y=i"], ["--init-model", "m.acnn"], "--band-map gives band 'y' twice ('y=i' and 'y=z')"),
])
def test_a_band_map_needs_a_model_to_start_from_and_each_band_once(tmp_path, capsys, band_map, init_model, says):
    """Without --init-model the map was ignored; given twice, the last one silently won."""
    flags = [item for pair in band_map for item in ("--band-map", pair)]
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", *flags, *init_model,
                 "-o", str(tmp_path / "m.acnn")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err


@pytest.mark.parametrize("flag", ["--batch-size", "--epochs", "--ensemble"])
def test_counts_must_be_positive(tmp_path, capsys, flag):
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", flag, "0",
                 "-o", str(tmp_path / "m.acnn")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and flag in err and "positive" in err


def test_extra_inputs_can_be_named_or_left_out(tmp_path, capsys):
    """photo_z takes E(B-V) by default; --no-extras trains on the images alone, --extra names the inputs."""
    demo = DATA.parent.parent / "plugins" / "astro_cnn_photoz" / "demo" / "galaxies.ecsv"
    common = ["train", str(demo), "-q", "photo_z", "--image-column", "image", "--label-column", "z_spec",
              "--backbone", "small_cnn", "--recipe", "quick", "--epochs", "1"]
    assert main(common + ["-o", str(tmp_path / "a.acnn")]) == 2
    assert "ebv" in capsys.readouterr().err
    assert main(common + ["--no-extras", "-o", str(tmp_path / "b.acnn")]) == 0
    assert load_predictor(tmp_path / "b.acnn").extras == ()
    assert main(common + ["--extra", "half_light_radius", "-o", str(tmp_path / "c.acnn")]) == 0
    assert load_predictor(tmp_path / "c.acnn").extras == ("half_light_radius",)
    assert main(common + ["--extra", "ebv", "--no-extras", "-o", str(tmp_path / "d.acnn")]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_quantity_of_several_outputs_trains_from_one_label_column_each(tmp_path, capsys):
    """structure (n, r_e, q) from a table: each output's label column by its usual name or named in order, a column
    with a unit converted to the output's unit, one that does not convert refused, a wrong count refused."""
    import astropy.units as u
    from astropy.table import Table

    demo = DATA.parent.parent / "plugins" / "astro_cnn_photoz" / "demo"
    table = Table.read(demo / "galaxies.ecsv")
    table["image"] = [str(demo / name) for name in table["image"]]
    table["r_e"] = table["half_light_radius"].to(u.deg)  # converted to the output's arcsec
    table["q"] = np.linspace(0.3, 0.95, len(table))
    table["b_over_a"] = table["q"]
    path = tmp_path / "structure.ecsv"
    table.write(path)
    common = ["train", str(path), "-q", "structure", "--image-column", "image", "--backbone", "small_cnn",
              "--recipe", "quick", "--epochs", "1"]
    assert main(common + ["-o", str(tmp_path / "a.acnn")]) == 0
    model = load_predictor(tmp_path / "a.acnn")
    assert model.info["training_data"]["label_column"] == ["sersic_n", "r_e", "q"]
    assert model.info["label_range"][1][1] == pytest.approx(table["half_light_radius"].max(), rel=1e-6)  # arcsec
    named = ["--label-column", "sersic_n", "--label-column", "r_e", "--label-column", "b_over_a"]
    assert main(common + named + ["-o", str(tmp_path / "b.acnn")]) == 0
    assert load_predictor(tmp_path / "b.acnn").info["training_data"]["label_column"] == ["sersic_n", "r_e",
                                                                                          "b_over_a"]
    capsys.readouterr()
    assert main(common + named[:4] + ["-o", str(tmp_path / "c.acnn")]) == 2
    assert "has 3 outputs (sersic_n, r_e, q): give one label column for each, not 2" in capsys.readouterr().err
    table["r_e"] = table["half_light_radius"].value * u.pix
    table.write(path, overwrite=True)
    assert main(common + ["-o", str(tmp_path / "d.acnn")]) == 2
    assert "label column 'r_e' is in pix, which does not convert to arcsec" in capsys.readouterr().err


def test_training_leaves_out_images_with_no_source_at_the_centre(tmp_path, capsys):
    """--min-centre-snr: the images prediction would flag are left out of training and counted, as predict flags
    them; none left is an error that names the flag."""
    from astro_cnn.image_checks import centre_signal_to_noise
    from astro_cnn.image_files import read_image

    table = read_table(GALAXIES)
    snr = np.array([centre_signal_to_noise(read_image(GALAXIES.parent / name), 0.296 * u.arcsec)
                    for name in table["image"]])
    threshold = float(np.sort(snr)[3] + 1e-6)  # as if the 4 faintest showed no source
    model = tmp_path / "m.acnn"
    args = ["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--backbone", "small_cnn",
            "--recipe", "quick", "--epochs", "1", "-o", str(model), "--min-centre-snr", str(threshold)]
    assert main(args) == 0
    assert f"left out 4 of 16 training images, as prediction would flag them: 4 with no source at the centre " \
           f"(S/N below {threshold:g})" in capsys.readouterr().out
    info = load_predictor(model).info
    assert info["training_data"]["left_out"] == {f"no source at the centre (S/N below {threshold:g})": 4}
    assert info["centre_snr_range"][0] == pytest.approx(np.sort(snr)[4], rel=1e-6)
    assert main(args[:-1] + ["1e9", "--overwrite"]) == 2
    error = capsys.readouterr().err
    assert "none of the 16 training images can be used (16 with no source at the centre" in error
    assert "--min-centre-snr 0 skips the presence check" in error and "min_centre_snr" not in error


def test_images_left_out_of_training_are_named_by_their_table_rows(tmp_path, capsys):
    """With a row whose file cannot be read before them, the rows named as left out were positions among the
    readable images: one less than the table rows they meant."""
    from astro_cnn.image_checks import centre_signal_to_noise
    from astro_cnn.image_files import read_image

    table = read_table(GALAXIES)
    snr = np.array([centre_signal_to_noise(read_image(GALAXIES.parent / name), 0.296 * u.arcsec)
                    for name in table["image"]])
    threshold = float(np.mean(np.sort(snr[1:])[1:3]))  # as if the 2 faintest after the first showed no source
    faint = np.flatnonzero(snr < threshold)
    faint = faint[faint > 0]
    table["image"] = [str(tmp_path / "missing.jpg")] + [str(GALAXIES.parent / name) for name in table["image"][1:]]
    path = tmp_path / "t.ecsv"
    table.write(path)
    with pytest.warns(UserWarning, match="1 of 16 training rows have no readable image"):
        assert main(["train", str(path), "-q", "metallicity", "--image-column", "image", "--backbone", "small_cnn",
                     "--recipe", "quick", "--epochs", "1", "-o", str(tmp_path / "m.acnn"), "--min-centre-snr",
                     str(threshold)]) == 0
    out = capsys.readouterr().out
    assert (f"left out 2 of 15 training images, as prediction would flag them: 2 with no source at the centre "
            f"(S/N below {threshold:g}) (rows {faint[0]}, {faint[1]})") in out


def test_a_run_dir_holding_an_earlier_run_is_not_replaced_without_overwrite(tmp_path, capsys):
    """Training again into the same --run-dir without --resume silently replaced the earlier run's checkpoint and
    store; it is refused before any work, and --overwrite starts again."""
    run = tmp_path / "run"
    args = ["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--backbone", "small_cnn",
            "--recipe", "quick", "--epochs", "1", "--run-dir", str(run)]
    assert main(args + ["-o", str(tmp_path / "a.acnn")]) == 0
    checkpoint = (run / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main(args + ["--seed", "5", "-o", str(tmp_path / "b.acnn")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt' is left by an earlier run: pass --resume to continue it, or --overwrite" in err
    assert (run / "checkpoint.pt").read_bytes() == checkpoint and not (tmp_path / "b.acnn").exists()
    assert main(args + ["--seed", "5", "--overwrite", "-o", str(tmp_path / "b.acnn")]) == 0
    assert (run / "checkpoint.pt").read_bytes() != checkpoint
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    assert main(args[:-2] + ["--run-dir", str(tmp_path / "file"), "-o", str(tmp_path / "c.acnn")]) == 2
    err = capsys.readouterr().err
    assert "--run-dir" in err and "is a file, not a directory" in err


def test_resume_refuses_another_table_or_network_than_the_run_started_with(tmp_path, capsys):
    """--resume went on training on the run's own store whatever table was given, and with another backbone it
    ended in torch's long state_dict error."""
    run = tmp_path / "run"
    args = ["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--backbone", "small_cnn",
            "--recipe", "quick", "--epochs", "1", "--run-dir", str(run)]
    assert main(args + ["-o", str(tmp_path / "a.acnn")]) == 0
    fewer = tmp_path / "fewer.ecsv"
    table = read_table(GALAXIES)[:8]
    table["image"] = [str(GALAXIES.parent / name) for name in table["image"]]
    table.write(fewer)
    capsys.readouterr()
    assert main([args[0], str(fewer)] + args[2:] + ["--resume", "-o", str(tmp_path / "b.acnn")]) == 2
    err = capsys.readouterr().err
    assert "--resume continues the run on its training store" in err and "16 rows" in err and "now 8 rows" in err
    other = [a if a != "small_cnn" else "resnet18" for a in args]
    assert main(other + ["--resume", "-o", str(tmp_path / "c.acnn")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt' was written by another network" in err and "Missing key" not in err
    assert main(args + ["--resume", "-o", str(tmp_path / "d.acnn")]) == 0  # the same table and network resume


@pytest.mark.parametrize("value", ["-1", "0", "nan"])
def test_a_learning_rate_that_cannot_train_is_refused_by_its_flag_before_any_work(tmp_path, capsys, value):
    """It was refused only after the training store was built, as "lr must be ...", naming no flag."""
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--lr", value,
                 "--run-dir", str(tmp_path / "run"), "-o", str(tmp_path / "m.acnn")]) == 2
    assert "--lr" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_a_missing_image_dir_is_refused_before_reading(tmp_path, capsys):
    """Every row was read as a missing file, and training stopped on "none of the 16 rows has a readable image"."""
    assert main(["train", str(GALAXIES), "-q", "metallicity", "--image-column", "image", "--image-dir",
                 str(tmp_path / "nope"), "-o", str(tmp_path / "m.acnn")]) == 2
    error = capsys.readouterr().err
    assert "--image-dir" in error and "is not a directory" in error and not (tmp_path / "m.acnn").exists()
