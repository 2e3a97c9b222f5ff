"""Streaming prediction to disk: same answer as in memory, resumable after an interruption or a kill."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.table import Table

import astro_cnn
from astro_cnn import AstroCNNError, read_table, write_table
from astro_cnn.streaming import partial_paths

from .conftest import EXAMPLE_DIR, example_installed


def _many(n=60):
    rng = np.random.default_rng(3)
    dec = rng.uniform(-60, 88, n)  # some rows north of +80: flagged by the example survey
    dec[min(7, n - 1)] = np.nan
    return Table({"objid": np.arange(1000, 1000 + n), "ra": rng.uniform(0, 360, n), "dec": dec})


def _same(a, b):
    assert a.colnames == b.colnames
    for name in a.colnames:
        x, y = np.asarray(getattr(a[name], "value", a[name])), np.asarray(getattr(b[name], "value", b[name]))
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-12, equal_nan=True)
        else:
            assert list(x) == list(y), name


def test_streamed_output_equals_in_memory_prediction(tmp_path, example_model):
    table = _many()
    expected = astro_cnn.predict(table, model=example_model)
    path = astro_cnn.predict_to_file(table, tmp_path / "out.ecsv", model=example_model, batch_size=8,
                                     progress=False)
    _same(read_table(path), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.acnn", "out.ecsv"]
    fits_path = astro_cnn.predict_to_file(table, tmp_path / "out.fits", model=example_model, batch_size=8,
                                          progress=False)
    assert len(read_table(fits_path)) == len(table)


def test_interrupted_run_resumes_to_the_same_table(tmp_path, example_model, example_plugin):
    class Interrupting(example_plugin.ExampleSky):
        """Raises KeyboardInterrupt on its 4th call, like a user pressing Ctrl-C."""

        calls = 0

        def cutouts(self, targets, **kwargs):
            type(self).calls += 1
            if type(self).calls == 4:
                raise KeyboardInterrupt
            return super().cutouts(targets, **kwargs)

    table, out = _many(), tmp_path / "out.ecsv"
    reference = astro_cnn.predict_to_file(table, tmp_path / "ref.ecsv", model=example_model, batch_size=8,
                                          progress=False)
    with pytest.raises(KeyboardInterrupt):
        astro_cnn.predict_to_file(table, out, model=example_model, survey=Interrupting(), batch_size=8,
                                  progress=False)
    partial, state = partial_paths(out)
    assert not out.exists() and partial.exists()
    done = json.loads(state.read_text())["rows_done"]
    assert 0 < done < len(table) and done % 8 == 0
    with pytest.raises(AstroCNNError, match="pass resume=True to continue it, or overwrite=True"):
        astro_cnn.predict_to_file(table, out, model=example_model, batch_size=8, progress=False)
    with pytest.raises(AstroCNNError, match="different batch_size"):
        astro_cnn.predict_to_file(table, out, model=example_model, batch_size=16, resume=True, progress=False)
    astro_cnn.predict_to_file(table, out, model=example_model, batch_size=8, resume=True, progress=False)
    _same(read_table(out), read_table(reference))
    assert not partial.exists() and not state.exists()


def test_existing_output_is_never_replaced(tmp_path, example_model):
    out = tmp_path / "out.ecsv"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        astro_cnn.predict_to_file(_many(5), out, model=example_model, progress=False)
    assert out.read_text() == "precious"


def test_the_input_table_is_never_the_output_even_with_overwrite(tmp_path, example_model, capsys):
    from astro_cnn.cli import main

    source = write_table(_many(5), tmp_path / "in.ecsv")
    before = source.read_bytes()
    with pytest.raises(AstroCNNError, match="is the input table: write the predictions to another file"):
        astro_cnn.predict_to_file(source, tmp_path / "." / "in.ecsv", model=example_model, overwrite=True,
                                  progress=False)
    assert main(["predict", str(source), "--model", str(example_model), "-o", str(source), "--overwrite",
                 "--no-progress"]) == 2
    assert "is the input table" in capsys.readouterr().err
    assert source.read_bytes() == before


def test_an_output_whose_directory_cannot_be_made_is_named(tmp_path, example_model):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"cannot write '.*afile/out\.ecsv': '.*afile' is a file, not a "
                                                r"directory"):
        astro_cnn.predict_to_file(_many(5), tmp_path / "afile" / "out.ecsv", model=example_model, progress=False)
    with pytest.raises(AstroCNNError, match=r"cannot write output '/proc/astro_cnn_none/out\.ecsv': its directory "
                                            r"'/proc/astro_cnn_none' cannot be made"):
        astro_cnn.predict_to_file(_many(5), "/proc/astro_cnn_none/out.ecsv", model=example_model, progress=False)
    assert (tmp_path / "afile").read_text() == "x"


def test_killed_cli_run_resumes_to_an_identical_result(tmp_path, example_model, example_plugin):
    if not example_installed():
        pytest.skip("the CLI subprocess finds the example survey only when the plugin is installed (tox)")
    source = write_table(_many(120), tmp_path / "targets.ecsv")
    command = [sys.executable, "-m", "astro_cnn", "predict", str(source), "--model", str(example_model),
               "--batch-size", "6", "--survey-option", "delay=0.05"]
    subprocess.run(command + ["-o", str(tmp_path / "reference.ecsv")], check=True, capture_output=True)
    out = tmp_path / "out.ecsv"
    partial, state = partial_paths(out)
    process = subprocess.Popen(command + ["-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["rows_done"] >= 30:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists() and partial.exists()
    run = subprocess.run(command + ["-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 2 and "--resume" in run.stderr
    other = [sys.executable, "-m", "astro_cnn", "predict", str(source), "--model", str(example_model),
             "--batch-size", "12", "--survey-option", "delay=0.05", "-o", str(out), "--resume"]
    run = subprocess.run(other, capture_output=True, text=True)
    assert run.returncode == 2 and "different --batch-size" in run.stderr and "batch_size" not in run.stderr
    subprocess.run(command + ["-o", str(out), "--resume"], check=True, capture_output=True)
    _same(read_table(out), read_table(tmp_path / "reference.ecsv"))


def test_dask_local_cluster_gives_identical_results(tmp_path, example_model, example_plugin, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(EXAMPLE_DIR), os.environ.get("PYTHONPATH", "")]))
    table = _many(40)
    local = astro_cnn.predict(table, model=example_model, batch_size=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = astro_cnn.predict(table, model=example_model, batch_size=4, client=client)
        path = astro_cnn.predict_to_file(table, tmp_path / "dask.ecsv", model=example_model, batch_size=4,
                                         client=client, progress=False)
    _same(remote, local)
    _same(read_table(path), local)


def test_every_chunk_has_the_same_columns_when_a_chunk_has_no_positions(tmp_path, example_model):
    table = Table({"objid": np.arange(6), "ra": [150.0] * 4 + [np.nan] * 2, "dec": [10.0] * 4 + [np.nan] * 2})
    summary = astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=example_model, batch_size=4,
                                        progress=False)
    out = Table.read(summary)
    assert len(out) == 6 and "ra" in out.colnames and np.isnan(out["ra"][4:]).all()
    assert summary.rows == 6 and summary.flagged == 2 and list(out["flag"]) == [False] * 4 + [True] * 2
    assert summary.without_value == 2


def test_ids_starting_with_a_hash_survive_the_streamed_file(tmp_path, example_model):
    ids = ["#a b", "#c", "d", "#e", "#"]
    table = Table({"name": ids, "ra": [150.0] * 5, "dec": [10.0] * 5})
    out = read_table(astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=example_model, batch_size=2,
                                               id_column="name", progress=False))
    assert list(out["name"]) == ids


@pytest.mark.parametrize("suffix", [".fits", ".vot"])
def test_a_masked_id_stays_masked_in_a_fits_or_votable_output(tmp_path, example_model, suffix):
    """Neither format has a null for text: the masked id came back as an ordinary empty string."""
    from astropy.table import MaskedColumn

    table = Table({"name": MaskedColumn(["a", "b", "c"], mask=[False, True, False]), "ra": [150.0] * 3,
                   "dec": [10.0] * 3})
    out = read_table(astro_cnn.predict_to_file(table, tmp_path / f"o{suffix}", model=example_model, batch_size=2,
                                               id_column="name", progress=False))
    assert list(np.ma.getmaskarray(out["name"])) == [False, True, False] and out["name"][2] == "c"


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path, example_model):
    from astro_cnn.streaming import _run_lock

    out = tmp_path / "o.ecsv"
    with _run_lock(out):
        with pytest.raises(AstroCNNError, match=r"another run \(process \d+\) is writing"):
            astro_cnn.predict_to_file(_many(8), out, model=example_model, progress=False)
    assert not out.exists() and not list(tmp_path.glob("*.partial.ecsv"))
    astro_cnn.predict_to_file(_many(8), out, model=example_model, progress=False)
    assert len(Table.read(out)) == 8 and not (tmp_path / "o.ecsv.lock").exists()


def test_resume_refuses_a_run_with_another_image_directory_or_kept_columns(tmp_path, example_model):
    Interrupting = _stopping_north_of_the_equator()
    table = _many(20)
    table["dec"] = np.linspace(-50, 50, 20)
    table["z"] = 0.1
    out = tmp_path / "o.ecsv"
    with pytest.raises(KeyboardInterrupt):
        astro_cnn.predict_to_file(table, out, model=example_model, survey=Interrupting(), batch_size=4,
                                  progress=False)
    with pytest.raises(AstroCNNError, match="different keep_columns"):
        astro_cnn.predict_to_file(table, out, model=example_model, batch_size=4, resume=True, progress=False,
                                  keep_columns=["z"])
    with pytest.raises(AstroCNNError, match="different image_dir"):
        astro_cnn.predict_to_file(table, out, model=example_model, batch_size=4, resume=True, progress=False,
                                  image_dir=tmp_path)


def test_an_empty_table_gives_an_empty_output(tmp_path, example_model):
    summary = astro_cnn.predict_to_file(_many(8)[:0], tmp_path / "o.ecsv", model=example_model, progress=False)
    assert summary.rows == 0 and summary.flagged == 0 and len(Table.read(summary)) == 0


def test_the_output_format_is_checked_before_any_work(tmp_path, example_model):
    with pytest.raises(AstroCNNError, match="not a known table format"):
        astro_cnn.predict_to_file(_many(4), tmp_path / "o.xyz", model=example_model, progress=False)


def _stopping_north_of_the_equator():
    """The example survey, pressing Ctrl-C at the first chunk north of the equator."""
    from astro_cnn_example.plugin import ExampleSky

    class Interrupting(ExampleSky):
        def cutouts(self, targets, **kwargs):
            if targets.dec[0] > 0:
                raise KeyboardInterrupt
            return super().cutouts(targets, **kwargs)

    return Interrupting


def test_resume_with_overwrite_and_bad_partition_rows_are_refused(tmp_path, example_model):
    with pytest.raises(AstroCNNError, match="resume=True continues an interrupted run and overwrite=True"):
        astro_cnn.predict_to_file(_many(4), tmp_path / "o.ecsv", model=example_model, resume=True, overwrite=True)
    with pytest.raises(AstroCNNError, match="partition_rows must be an integer of at least 1, not 0"):
        astro_cnn.predict_to_file(_many(4), tmp_path / "o.ecsv", model=example_model, partition_rows=0)


def test_fits_output_refuses_non_ascii_text_before_predicting(tmp_path, example_model):
    table = Table({"name": ["a", "é"], "ra": [150.0, 150.0], "dec": [10.0, 20.0]})
    with pytest.raises(AstroCNNError, match=r"FITS text is ASCII only, but column 'name' holds 'é' \(row 1\)"):
        astro_cnn.predict_to_file(table, tmp_path / "o.fits", model=example_model, id_column="name",
                                  progress=False)
    assert not list(tmp_path.glob("o.fits*"))
    astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=example_model, id_column="name", progress=False)


def test_resume_refuses_another_model_of_the_same_name(tmp_path, example_model):
    from astro_cnn_example.plugin import BandRatioPredictor

    Interrupting = _stopping_north_of_the_equator()
    table = _many(20)
    table["dec"] = np.linspace(-50, 50, 20)
    first, second = astro_cnn.load_predictor(example_model), astro_cnn.load_predictor(example_model)
    first.saved = second.saved = ""
    second.coef_ = second.coef_ + 1.0  # same name, other weights
    with pytest.raises(KeyboardInterrupt):
        astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=first, survey=Interrupting(), batch_size=4,
                                  progress=False)
    with pytest.raises(AstroCNNError, match="different model_contents"):
        astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=second, batch_size=4, resume=True,
                                  progress=False)
    assert isinstance(first, BandRatioPredictor)


def test_values_with_line_breaks_are_refused_before_predicting(tmp_path, example_model):
    table = Table({"name": ["x\r#y", "#z"], "ra": [150.0, 150.0], "dec": [10.0, 20.0]})
    with pytest.raises(AstroCNNError, match=r"column 'name' holds a line break in row 0"):
        astro_cnn.predict_to_file(table, tmp_path / "o.ecsv", model=example_model, id_column="name",
                                  batch_size=1, progress=False)
    assert not list(tmp_path.glob("o.ecsv*"))


def test_an_output_that_is_a_directory_is_refused_before_any_prediction(tmp_path, example_model):
    (tmp_path / "out.ecsv").mkdir()
    table = Table({"ra": [150.0], "dec": [10.0]})
    with pytest.raises(IsADirectoryError, match="is a directory: name a file to write"):
        astro_cnn.predict_to_file(table, tmp_path / "out.ecsv", model=example_model, overwrite=True, progress=False)
    assert not list(tmp_path.glob("*.partial*")) and not list((tmp_path / "out.ecsv").iterdir())


def test_a_skycoord_streams_like_a_table_and_a_dataframe_is_refused(tmp_path, example_model):
    """Both gave a pathlib TypeError ("expected str, bytes or os.PathLike object")."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    coords = SkyCoord([150.0, 151.0] * u.deg, [10.0, 11.0] * u.deg)
    out = read_table(astro_cnn.predict_to_file(coords, tmp_path / "o.ecsv", model=example_model, progress=False))
    expected = astro_cnn.predict(coords, model=example_model, progress=False)
    assert len(out) == 2 and np.allclose(out["colour_ab"], expected["colour_ab"])
    pandas = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="must be an astropy Table or QTable, not a DataFrame"):
        astro_cnn.predict_to_file(pandas.DataFrame({"ra": [1.0], "dec": [2.0]}), tmp_path / "p.ecsv",
                                  model=example_model)
