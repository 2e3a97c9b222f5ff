"""The worked LSST-like example's scoring, table and reference row (the bundled SDSS model through resampling).

``training/lsst_like_example.py`` is a script of the repository, not an installed module: it is loaded by path.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from astro_cnn.evaluation.photoz import photoz_metrics

from .test_lsst_like_survey import synthetic_plan

SCRIPT = Path(__file__).parent.parent / "training" / "lsst_like_example.py"
_spec = importlib.util.spec_from_file_location("lsst_like_example", SCRIPT)
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)


def test_score_gives_the_pasquet_metrics_with_bootstrap_errors():
    rng = np.random.default_rng(0)
    z = rng.uniform(0.02, 0.3, 200)
    good = z + rng.normal(0, 0.01, 200) * (1 + z)
    biased = good + 0.1
    table = example.score(z, {"good": (good, None, None), "biased": (biased, None, None)}, seed=0, n_boot=100)
    assert list(table["method"]) == ["good", "biased"] and list(table["n"]) == [200, 200]
    assert table["sigma_mad"][0] == pytest.approx(photoz_metrics(z, good)["sigma_mad"])
    assert table["outlier_fraction"][1] > 0.9 and table["bias"][1] > 0.05
    assert 0 < table["sigma_mad_err"][0] < table["sigma_mad"][0]
    text = example.rst_table(table)
    lines = text.splitlines()
    assert lines[0] == lines[2] == lines[-1] and lines[0].startswith("====")
    assert "σ_MAD" in lines[1] and lines[3].startswith("good ")


def test_the_sdss_model_applied_as_it_is_goes_through_the_declared_resampling():
    plan = synthetic_plan(3)
    z_phot, pdf, edges = example.sdss_model_as_it_is(plan, seed=0)
    assert z_phot.shape == (3,) and np.all(np.isfinite(z_phot))
    assert pdf.shape == (3, len(edges) - 1) and np.allclose(pdf.sum(axis=1), 1, atol=1e-3)


def test_too_small_a_run_is_refused_naming_the_flag(capsys):
    with pytest.raises(SystemExit):
        example.main(["catalog.ecsv", "frames", "--out", "x", "--train", "2"])
    assert "--train must be at least 3" in capsys.readouterr().err
