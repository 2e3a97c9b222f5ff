"""Bad paths given to the sub-commands: one line naming the flag or file, exit 2, before any work."""


from astropy.table import Table

from astro_cnn.cli import main


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("astro-cnn: error:") and "Errno" not in err
    return err


def test_cutouts_outdir_that_is_a_file(tmp_path, capsys):
    Table({"ra": [10.0], "dec": [1.0]}).write(tmp_path / "t.ecsv")
    (tmp_path / "taken").write_text("x")
    code = main(["cutouts", str(tmp_path / "t.ecsv"), "-o", str(tmp_path / "taken"), "--survey", "sdss-jpeg",
                 "--survey-option", "offline=true", "--no-progress"])
    assert code == 2 and "is a file, not a directory" in _one_error_line(capsys)
    assert (tmp_path / "taken").read_text() == "x"


def test_demo_output_dir_that_is_a_file_is_refused_before_predicting(tmp_path, capsys, monkeypatch):
    import astro_cnn.cli.demo_cmd as demo_cmd

    def predict(*args, **kwargs):
        raise AssertionError("the demo predicted before checking --output-dir")

    monkeypatch.setattr(demo_cmd, "predict", predict)
    (tmp_path / "taken").write_text("x")
    assert main(["demo", "-o", str(tmp_path / "taken")]) == 2
    assert "--output-dir" in _one_error_line(capsys)


def test_train_missing_weights_file_names_the_flag(tmp_path, capsys):
    Table({"image": ["a.jpg"], "oh": [8.5]}).write(tmp_path / "t.ecsv")
    code = main(["train", str(tmp_path / "t.ecsv"), "-q", "metallicity", "--image-column", "image",
                 "--label-column", "oh", "-o", str(tmp_path / "m.acnn"), "--weights", str(tmp_path / "none.pt")])
    assert code == 2 and "--weights" in _one_error_line(capsys)


def test_query_missing_sql_file_names_the_flag(tmp_path, capsys):
    code = main(["query", "--sql-file", str(tmp_path / "none.sql"), "-o", str(tmp_path / "q.ecsv"),
                 "--survey-option", "offline=true"])
    assert code == 2 and "--sql-file" in _one_error_line(capsys)


def test_predict_output_that_is_a_directory_is_refused_before_predicting(tmp_path, capsys, monkeypatch):
    """With --overwrite a directory named as the output ran every prediction, then failed to rename the result."""
    import astro_cnn.cli.predict_cmd as predict_cmd

    def predict_to_file(*args, **kwargs):
        raise AssertionError("predicted before checking the output")

    monkeypatch.setattr(predict_cmd, "predict_to_file", predict_to_file)
    Table({"ra": [10.0], "dec": [1.0]}).write(tmp_path / "t.ecsv")
    (tmp_path / "out.ecsv").mkdir()
    code = main(["predict", str(tmp_path / "t.ecsv"), "-q", "metallicity", "-o", str(tmp_path / "out.ecsv"),
                 "--overwrite", "--no-progress"])
    assert code == 2 and "'out.ecsv' is a directory: name a file to write" in _one_error_line(capsys).replace(
        str(tmp_path) + "/", "")
    assert (tmp_path / "out.ecsv").is_dir() and not list((tmp_path / "out.ecsv").iterdir())


def test_train_output_that_is_a_directory_is_refused_before_training(tmp_path, capsys):
    Table({"image": ["a.fits"], "log_oh": [8.9]}).write(tmp_path / "t.ecsv")
    (tmp_path / "model.acnn").mkdir()
    code = main(["train", str(tmp_path / "t.ecsv"), "-q", "metallicity", "--image-column", "image",
                 "-o", str(tmp_path / "model.acnn"), "--overwrite"])
    assert code == 2 and "is a directory: name a file to write" in _one_error_line(capsys)


def test_a_model_output_below_a_file_is_refused_before_training(tmp_path, capsys):
    """It trained, then failed to write with a bare "[Errno 17] File exists"."""
    from .conftest import DATA

    (tmp_path / "taken").write_text("x")
    code = main(["train", str(DATA / "gri_small" / "galaxies.ecsv"), "-q", "metallicity", "--image-column", "image",
                 "--backbone", "small_cnn", "--recipe", "quick", "--epochs", "1",
                 "-o", str(tmp_path / "taken" / "m.acnn")])
    assert code == 2 and "is a file, not a directory" in _one_error_line(capsys)
    assert (tmp_path / "taken").read_text() == "x"
