"""The astro-cnn command line, run as a user would (a real subprocess) and in-process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn import load_predictor, read_table, write_table
from astro_cnn.cli import main

from .conftest import example_installed
from .photoz_outputs import FORMATS, predict_photoz


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
    assert "2 of 5 rows flagged (see the status column)" in capsys.readouterr().out
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


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("astro-cnn: error: "), err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory nobody may write in (/sys where the tests run as root, for whom permissions do not apply)."""
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        (directory / "probe").touch()
    except PermissionError:
        yield directory
    else:
        (directory / "probe").unlink()
        try:
            (Path("/sys") / "probe").touch()
        except PermissionError:
            yield Path("/sys")
        else:  # pragma: no cover
            pytest.skip("no read-only directory available")
    directory.chmod(0o755)


@pytest.mark.parametrize("argv, flag", [
    (["predict", "t.ecsv", "-q", "metallicity", "-o", "o.ecsv", "--batch-size", "0"], "--batch-size"),
    (["predict", "t.ecsv", "-q", "metallicity", "-o", "o.ecsv", "--batch-size", "-5"], "--batch-size"),
    (["cutouts", "t.ecsv", "-o", "out", "--batch-size", "0"], "--batch-size"),
    (["cutouts", "t.ecsv", "-o", "out", "--size", "0"], "--size"),
    (["evaluate", "t.ecsv", "--true", "a", "--pred", "b", "--outlier-threshold", "abc"], "--outlier-threshold"),
    (["evaluate", "t.ecsv", "--true", "a", "--pred", "b", "--bins", "0"], "--bins"),
    (["evaluate", "t.ecsv", "--true", "a", "--pred", "b", "--photoz", "--remove-widest", "1.5"], "--remove-widest"),
    (["predict", "t.ecsv", "-o", "o.ecsv", "--no-such-flag"], "--no-such-flag"),
    # nan turned the presence check off unasked; inf came back naming the library's min_centre_snr
    (["predict", "t.ecsv", "-q", "metallicity", "-o", "o.ecsv", "--min-centre-snr", "nan"], "--min-centre-snr"),
    (["predict", "t.ecsv", "-q", "metallicity", "-o", "o.ecsv", "--min-centre-snr", "inf"], "--min-centre-snr"),
    (["train", "t.ecsv", "-q", "metallicity", "-o", "m.acnn", "--min-centre-snr", "nan"], "--min-centre-snr"),
    (["baseline", "t.ecsv", "-o", "o.ecsv", "--min-centre-snr=-inf"], "--min-centre-snr"),
    # a negative threshold turned the check off as 0 does, without a word
    (["predict", "t.ecsv", "-q", "metallicity", "-o", "o.ecsv", "--min-centre-snr=-1"], "--min-centre-snr"),
    (["train", "t.ecsv", "-q", "metallicity", "-o", "m.acnn", "--min-centre-snr=-0.5"], "--min-centre-snr"),
    (["baseline", "t.ecsv", "-o", "o.ecsv", "--min-centre-snr=-3"], "--min-centre-snr"),
])
def test_bad_flag_values_are_one_line_usage_errors(capsys, argv, flag):
    assert main(argv) == 2
    _one_line_error(capsys, flag)


def test_survey_option_typos_list_the_accepted_options(tmp_path, example_model, galaxies, capsys):
    source = write_table(galaxies, tmp_path / "in.ecsv")
    out = tmp_path / "o.ecsv"
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out),
                 "--survey-option", "delya=1"]) == 2
    _one_line_error(capsys, "--survey-option", "'delya'", "example-sky", "delay")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out),
                 "--survey-option", "novalue"]) == 2
    _one_line_error(capsys, "'novalue'", "KEY=VALUE", "delay")
    assert main(["cutouts", str(source), "-o", str(tmp_path / "cut"), "--survey-option", "cach_dir=x"]) == 2
    _one_line_error(capsys, "'cach_dir'", "sdss-jpeg", "cache_dir", "jpeg_dir")
    assert main(["query", "--sql", "SELECT 1", "-o", str(out), "--survey", "sdss-stack",
                 "--survey-option", "frame_dir=x"]) == 2
    _one_line_error(capsys, "'frame_dir'", "frames_dir")
    assert not out.exists() and not (tmp_path / "cut").exists()


def test_survey_options_with_image_files_are_refused(tmp_path, example_model, capsys):
    from astropy.table import Table

    source = write_table(Table({"file": ["g.fits"]}), tmp_path / "t.ecsv")
    assert main(["predict", str(source), "--model", str(example_model), "--image-column", "file",
                 "--survey-option", "delay=1", "-o", str(tmp_path / "o.ecsv")]) == 2
    _one_line_error(capsys, "--survey-option", "--image-column")
    assert main(["predict", str(source), "--model", str(example_model), "--image-column", "file",
                 "--survey", "bogus", "-o", str(tmp_path / "o.ecsv")]) == 2  # was silently ignored
    _one_line_error(capsys, "--survey does not apply with --image-column")


def test_damaged_model_is_one_line(tmp_path, galaxies, capsys):
    import zipfile

    source = write_table(galaxies, tmp_path / "in.ecsv")
    with zipfile.ZipFile(tmp_path / "bad.acnn", "w") as archive:
        archive.writestr("metadata.json", '{"predictor_type": "band-ratio"}')
        archive.writestr("state.bin", b"garbage")
    assert main(["predict", str(source), "--model", str(tmp_path / "bad.acnn"), "-o", str(tmp_path / "o.ecsv")]) == 2
    _one_line_error(capsys, "bad.acnn")


def test_output_format_is_checked_before_any_work(tmp_path, example_model, galaxies, capsys, monkeypatch):
    source = write_table(galaxies, tmp_path / "in.ecsv")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.xlsx")]) == 2
    _one_line_error(capsys, "o.xlsx", ".parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.parquet")]) == 2
    _one_line_error(capsys, "o.parquet", "pip install pyarrow")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.acnn", "in.ecsv"]


def test_read_only_output_directory_is_a_failure_and_debug_shows_the_traceback(
        tmp_path, example_model, galaxies, capsys, read_only_dir):
    source = write_table(galaxies, tmp_path / "in.ecsv")
    out = read_only_dir / "o.ecsv"
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(out)]) == 1
    _one_line_error(capsys, str(out), "--debug")
    assert main(["--debug", "predict", str(source), "--model", str(example_model), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "PermissionError" in err
    assert main(["cutouts", str(source), "-o", str(read_only_dir / "cut"), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_dead_scheduler_is_a_one_line_failure(tmp_path, example_model, galaxies, capsys):
    pytest.importorskip("distributed")
    import dask

    source = write_table(galaxies, tmp_path / "in.ecsv")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.ecsv"),
                     "--scheduler", "tcp://127.0.0.1:1"]) == 1
    _one_line_error(capsys, "--scheduler", "tcp://127.0.0.1:1")


def test_query_without_network_is_a_one_line_failure(tmp_path, capsys):
    from astro_cnn_sdss import conf

    # nothing listens: as offline
    with conf.set_temp("skyserver_url", "http://127.0.0.1:9/dr17"), conf.set_temp("retries", 0):
        assert main(["query", "--sql", "SELECT TOP 1 objID FROM PhotoObj", "-o", str(tmp_path / "q.ecsv"),
                     "--survey-option", f"cache_dir={tmp_path / 'cache'}"]) == 1
    _one_line_error(capsys, "127.0.0.1")
    assert not (tmp_path / "q.ecsv").exists()


def test_evaluate_text_column_is_named(tmp_path, capsys):
    from astropy.table import Table

    source = write_table(Table({"t": [8.9, 9.0], "p": ["a.jpg", "b.jpg"]}), tmp_path / "e.ecsv")
    assert main(["evaluate", str(source), "--true", "t", "--pred", "p"]) == 2
    _one_line_error(capsys, "'p' holds text")


def test_predict_exits_non_zero_when_no_row_has_a_value(tmp_path, example_model, capsys):
    source = write_table(Table({"ra": [150.0, 151.0], "dec": [85.0, 86.0]}), tmp_path / "north.ecsv")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.ecsv")]) == 1
    captured = capsys.readouterr()
    assert "2 of 2 rows flagged" in captured.out and "1 x Dec 85.00 deg is outside" in captured.out
    assert "no row could be measured" in captured.err and (tmp_path / "o.ecsv").exists()


def test_predict_exits_zero_when_every_row_is_flagged_but_keeps_its_value(tmp_path, example_model, capsys):
    """Every row an extrapolation (values kept) ended with "no row could be measured" and exit status 1."""
    model = load_predictor(example_model)
    model.info["label_range"] = [0.0, 0.01]  # as if trained on a sliver of colours: every galaxy extrapolates
    narrow = model.save(tmp_path / "narrow.acnn")
    source = write_table(Table({"ra": [150.0, 151.0], "dec": [10.0, 11.0]}), tmp_path / "t.ecsv")
    assert main(["predict", str(source), "--model", str(narrow), "-o", str(tmp_path / "o.ecsv")]) == 0
    captured = capsys.readouterr()
    assert "2 of 2 rows flagged" in captured.out and "extrapolation" in captured.out
    assert "no row could be measured" not in captured.err


def test_predict_device_and_workers_flags(tmp_path, example_model, capsys):
    source = write_table(Table({"ra": [150.0], "dec": [10.0]}), tmp_path / "in.ecsv")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.ecsv"),
                 "--device", "cpu", "--workers", "1"]) == 0
    assert read_table(tmp_path / "o.ecsv").meta["astro_cnn"]["device"] == "cpu"
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "p.ecsv"),
                 "--workers", "-1"]) == 2
    assert "must be a non-negative integer" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", FORMATS)
def test_evaluate_photoz_reads_a_prediction_in_every_format(tmp_path, suffix, capsys):
    path = predict_photoz(tmp_path / f"out{suffix}", rows=4)
    assert main(["evaluate", str(path), "--true", "z_spec", "--pred", "z_phot", "--photoz",
                 "--report", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "crps" in out and "pit_ks" in out  # the PDFs and their bin edges were read back
    assert (tmp_path / "report" / "pit.png").exists()


def test_evaluate_photoz_without_bin_edges_says_what_is_left_out(tmp_path, capsys):
    z = np.linspace(0.05, 0.3, 8)
    source = write_table(Table({"z_spec": z, "z_phot": z + 0.01, "z_pdf": np.ones((8, 4))}), tmp_path / "pz.fits")
    assert main(["evaluate", str(source), "--true", "z_spec", "--pred", "z_phot", "--photoz"]) == 0
    out = capsys.readouterr().out
    assert "no PDF bin edges" in out and "sigma_mad" in out and "crps" not in out


def test_predict_no_progress_and_cutouts_output_dir(tmp_path, example_model, capsys):
    source = write_table(Table({"ra": [150.0], "dec": [10.0]}), tmp_path / "in.ecsv")
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(tmp_path / "o.ecsv"),
                 "--no-progress"]) == 0
    assert "predict example_colour" not in capsys.readouterr().err
    assert main(["cutouts", str(source), "--survey", "example-sky", "--output-dir", str(tmp_path / "cut"),
                 "--no-progress"]) == 0
    assert (tmp_path / "cut" / "index.ecsv").is_file()


@pytest.mark.parametrize("photoz", [False, True])
def test_evaluate_that_scores_no_row_fails(tmp_path, capsys, photoz):
    """With every row flagged it printed n = 0 and exited 0, as if it had measured something."""
    names = ("z_spec", "z_phot") if photoz else ("oh_p50", "log_oh")
    Table({names[0]: [0.1, 0.2], names[1]: [0.11, 0.19], "flag": [True, True]}).write(tmp_path / "t.ecsv")
    args = ["evaluate", str(tmp_path / "t.ecsv"), "--true", names[0], "--pred", names[1]] + (["--photoz"] if photoz
                                                                                             else [])
    assert main(args) == 1
    assert "no row of 2 could be scored" in capsys.readouterr().err


@pytest.mark.parametrize("photoz", [False, True])
def test_evaluate_binned_on_a_column_with_no_finite_value_is_refused_before_the_report(tmp_path, capsys, photoz):
    """--by on an all-NaN column gave an IndexError traceback, and with --report after part of it was written."""
    names = ("z_spec", "z_phot") if photoz else ("oh_p50", "log_oh")
    Table({names[0]: [0.1, 0.2, 0.3], names[1]: [0.11, 0.19, 0.3], "m": [np.nan] * 3}).write(tmp_path / "t.ecsv")
    args = ["evaluate", str(tmp_path / "t.ecsv"), "--true", names[0], "--pred", names[1], "--by", "m",
            "--report", str(tmp_path / "report")] + (["--photoz"] if photoz else [])
    assert main(args) == 2
    _one_line_error(capsys, "column 'm' has no finite value to bin on")
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("mass, message", [(["a", "b", "c"], "'mass' holds text"),
                                           ([np.nan] * 3, "no row has both a finite --mzr 'mass' and a finite "
                                                          "--pred 'log_oh'")])
def test_evaluate_mzr_that_cannot_be_made_is_refused_before_the_report(tmp_path, capsys, mass, message):
    """--mzr was checked only after the report was written, leaving a report without the study asked for."""
    Table({"oh_p50": [8.8, 8.9, 9.0], "log_oh": [8.85, 8.9, 8.95], "mass": mass}).write(tmp_path / "t.ecsv")
    assert main(["evaluate", str(tmp_path / "t.ecsv"), "--true", "oh_p50", "--pred", "log_oh", "--mzr", "mass",
                 "--report", str(tmp_path / "report")]) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "report").exists()


def test_evaluate_report_over_an_earlier_one_names_the_flag(tmp_path, capsys):
    """The library's error told CLI users and Python users alike to "pass --overwrite"."""
    from astro_cnn.evaluation import write_report

    table = Table({"oh_p50": [8.8, 8.9, 9.0], "log_oh": [8.85, 8.9, 8.95]})
    table.write(tmp_path / "t.ecsv")
    args = ["evaluate", str(tmp_path / "t.ecsv"), "--true", "oh_p50", "--pred", "log_oh", "--report",
            str(tmp_path / "report")]
    assert main(args) == 0
    before = (tmp_path / "report" / "summary.md").read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    _one_line_error(capsys, "already exists; pass --overwrite to replace it")
    with pytest.raises(FileExistsError, match=r"pass overwrite=True"):
        write_report(table, tmp_path / "report", true="oh_p50", pred="log_oh")
    assert (tmp_path / "report" / "summary.md").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


def test_cutouts_never_write_over_their_input_table(tmp_path, example_model, capsys):
    """With the table at OUT/index.ecsv, `cutouts ... -o OUT --overwrite` replaced it with the index."""
    (tmp_path / "cut").mkdir()
    source = write_table(Table({"ra": [150.0], "dec": [10.0]}), tmp_path / "cut" / "index.ecsv")
    before = source.read_bytes()
    assert main(["cutouts", str(source), "--survey", "example-sky", "-o", str(tmp_path / "cut"), "--overwrite",
                 "--no-progress"]) == 2
    _one_line_error(capsys, "is the index that cutouts writes into --output-dir")
    assert source.read_bytes() == before
    assert main(["cutouts", str(source), "--survey", "example-sky", "-o", str(source), "--no-progress"]) == 2
    _one_line_error(capsys, "--output-dir", "is a file, not a directory")


def test_messages_name_flags_not_python_arguments(tmp_path, capsys):
    """Each named a Python argument (format, keep_columns, ignore_missing_simple=True) to a command-line user."""
    source = write_table(Table({"ra": [150.0], "dec": [10.0]}), tmp_path / "in.ecsv")
    (tmp_path / "in.weird").write_text("ra dec\n1 2\n")
    cases = [(["predict", str(tmp_path / "in.weird"), "-q", "metallicity", "-o", str(tmp_path / "a.ecsv")],
              "give it one of the suffixes .ecsv"),
             (["predict", str(source), "--format", "fits", "-q", "metallicity", "-o", str(tmp_path / "b.ecsv")],
              "cannot read table file"),
             (["predict", str(source), "-q", "metallicity", "-o", str(tmp_path / "c.ecsv"), "--keep-column", "ra",
               "--keep-column", "ra", "--no-progress"], "named more than once in --keep-column")]
    for args, needle in cases:
        assert main(args) == 2
        line = _one_line_error(capsys, needle)
        assert "format=" not in line and "=True" not in line and "keep_columns" not in line


def test_query_checks_its_output_and_sql_file_before_asking_the_service(tmp_path, capsys):
    """An existing output was reported only after the query had run (and retried, offline, for seconds)."""
    existing = write_table(Table({"a": [1]}), tmp_path / "q.ecsv")
    (tmp_path / "latin1.sql").write_bytes("SELECT 'é'".encode("latin-1"))
    assert main(["query", "--sql", "SELECT 1", "-o", str(existing)]) == 2
    _one_line_error(capsys, "already exists; pass --overwrite")
    assert main(["query", "--sql", "SELECT 1", "-o", str(tmp_path / "q.weird")]) == 2
    _one_line_error(capsys, "is not a known table format")
    assert main(["query", "--sql-file", str(tmp_path / "latin1.sql"), "-o", str(tmp_path / "r.ecsv")]) == 2
    _one_line_error(capsys, "--sql-file", "is not UTF-8 text")
    assert main(["query", "--sql", "SELECT 1", "--data-release", "-3", "-o", str(tmp_path / "s.ecsv")]) == 2
    assert "--data-release" in capsys.readouterr().err


def test_a_missing_image_dir_and_an_empty_card_name_are_refused(tmp_path, capsys):
    """A missing --image-dir flagged every row as a missing file; `models --card ''` listed every model."""
    source = write_table(Table({"image": ["a.jpg"]}), tmp_path / "in.ecsv")
    assert main(["predict", str(source), "-q", "metallicity", "--image-column", "image", "--image-dir",
                 str(tmp_path / "nope"), "-o", str(tmp_path / "o.ecsv")]) == 2
    _one_line_error(capsys, "--image-dir", "is not a directory")
    assert not (tmp_path / "o.ecsv").exists()
    assert main(["models", "--card", ""]) == 2
    _one_line_error(capsys, "unknown model ''")


def test_argument_names_become_flags_outside_quoted_paths_only():
    """A path such as '/data/image_dir/x' became '/data/--image-dir/x'; 'size=1024' stayed a Python argument."""
    from astro_cnn.cli import _message

    text = _message(ValueError("the run's store in '/data/image_dir/keep_columns.csv': size=1024 px with "
                               "batch_size=2; pass overwrite=True"), hint=False)
    assert text == ("ValueError: the run's store in '/data/image_dir/keep_columns.csv': --size 1024 px with "
                    "--batch-size=2; pass --overwrite")
