"""The predict progress bar moves as each row's image is read, not once per chunk."""

import re
import time

import numpy as np
import pytest
from astropy.table import Table

import astro_cnn
from astro_cnn.progress import RowProgress, rows_read

N = 24


def _slow_sky(example_plugin):
    class SlowSky(example_plugin.ExampleSky):
        """The example survey, one image at a time, each taking 0.05 s (an archive's cutouts)."""

        max_workers = 1

        def cutout(self, target, size):
            time.sleep(0.05)
            return super().cutout(target, size)

    return SlowSky()


def _table():
    return Table({"objid": np.arange(N), "ra": np.full(N, 150.0), "dec": np.linspace(-30, 70, N)})


def _counts(err):
    """The row counts the bar showed, in the order shown."""
    return [int(n) for n in re.findall(rf"(\d+)/{N} ", err)]


@pytest.mark.parametrize("workers", [0, 1])
def test_predict_bar_moves_within_a_chunk(example_plugin, example_model, capsys, workers):
    out = astro_cnn.predict(_table(), model=example_model, survey=_slow_sky(example_plugin), batch_size=N,
                            progress=True, workers=workers)
    assert list(out["status"]) == ["ok"] * N
    counts = _counts(capsys.readouterr().err)
    assert counts[0] == 0 and counts[-1] == N
    assert any(0 < n < N for n in counts), counts  # one chunk of N rows: the old bar went 0 -> N


def test_streamed_bar_moves_within_a_chunk(example_plugin, example_model, capsys, tmp_path):
    summary = astro_cnn.predict_to_file(_table(), tmp_path / "out.ecsv", model=example_model,
                                        survey=_slow_sky(example_plugin), batch_size=N, progress=True)
    assert summary.flagged == 0
    counts = _counts(capsys.readouterr().err)
    assert any(0 < n < N for n in counts) and counts[-1] == N, counts


def test_no_progress_shows_nothing(example_plugin, example_model, capsys):
    astro_cnn.predict(_table(), model=example_model, survey=_slow_sky(example_plugin), batch_size=N, progress=False)
    assert capsys.readouterr().err == ""


def test_rows_flagged_before_reading_count_as_read():
    with RowProgress(10) as bar:
        rows_read(3)
        time.sleep(0.5)
        assert bar.bar.n == 3
        bar.predicted(10, failed=3)
        assert bar.bar.n == 10
    rows_read(4)  # no bar open: nothing to count
