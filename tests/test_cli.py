"""The astro-cnn command line, run as a user would (a real subprocess) and in-process."""

import subprocess
import sys

import numpy as np
import pytest

from astro_cnn import read_table, write_table
from astro_cnn.cli import main

from .conftest import example_installed


def test_console_script_lists_builtin_plugins():
    run = subprocess.run(["astro-cnn", "plugins"], capture_output=True, text=True, check=True)
    for name in ("metallicity", "stellar_mass", "photo_z", "astro_cnn"):
        assert name in run.stdout
    if example_installed():
        assert "example-sky" in run.stdout and "astro-cnn-example" in run.stdout


def test_python_m_and_version():
    run = subprocess.run([sys.executable, "-m", "astro_cnn", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and "astro_cnn" in run.stdout


def test_plugins_kind_filter(capsys, clean_registry):
    assert main(["plugins", "--kind", "quantity"]) == 0
    out = capsys.readouterr().out
    assert "photo_z" in out and "survey " not in out


def test_predict_writes_output_and_never_overwrites(tmp_path, example_model, galaxies, capsys):
    source = write_table(galaxies, tmp_path / "in.ecsv")
    out = tmp_path / "out.fits"
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out)]) == 0
    result = read_table(out)
    assert len(result) == 5 and list(result["objid"]) == [11, 12, 13, 14, 15]
    assert list(result["flag"]) == [False, False, True, True, False]
    assert "wrote predictions for every row" in capsys.readouterr().out
    before = out.read_bytes()
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out), "--overwrite"]) == 0


def test_predict_errors_are_one_line(tmp_path, example_model, capsys):
    assert main(["predict", str(tmp_path / "none.ecsv"), "--model", str(example_model),
                 "-o", str(tmp_path / "o.ecsv")]) == 2
    assert "none.ecsv' does not exist" in capsys.readouterr().err
    from astropy.table import Table

    source = write_table(Table({"x": [1.0]}), tmp_path / "nocoords.csv")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.ecsv")]) == 2
    err = capsys.readouterr().err
    assert "astro-cnn: error: no right ascension column" in err and "Traceback" not in err
    assert not (tmp_path / "o.ecsv").exists()


def test_predict_with_image_column(tmp_path, example_model, example_plugin):
    from astropy.io import fits
    from astropy.table import Table

    import astro_cnn

    image = example_plugin.ExampleSky().cutouts(astro_cnn.TargetList(np.zeros(1), np.array([30.0]))).images[0]
    fits.writeto(tmp_path / "g.fits", image)
    source = write_table(Table({"file": ["g.fits"]}), tmp_path / "t.ecsv")
    out = tmp_path / "o.ecsv"
    assert main(["predict", str(source), "--model", str(example_model), "--image-column", "file",
                 "-o", str(out)]) == 0
    assert read_table(out)["colour_ab"][0].value == pytest.approx(0.8, abs=1e-6)


def test_models_command(capsys, clean_registry):
    assert main(["models"]) == 0
    assert capsys.readouterr().out.strip()
