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
