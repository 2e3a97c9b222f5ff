"""Reports, figures and the evaluate command on the paper's predictions."""

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn.cli import main
from astro_cnn.evaluation import mean_colour_forest, mean_predictor, photometry_forest, write_report

from .conftest import DATA

PAPER = DATA / "evaluation" / "wu2019_paper_predictions.ecsv.gz"


def test_evaluate_command_prints_metrics_and_writes_a_report(tmp_path, capsys):
    assert main(["evaluate", str(PAPER), "--true", "oh_p50", "--pred", "cnn_pred_128", "--pred", "cnn_pred_16",
                 "--report", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "cnn_pred_128" in out and "0.0849" in out and "20466" in out
    for name in ("metrics.ecsv", "binned_metrics.ecsv", "prediction.png", "prediction.pdf", "summary.md"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert main(["evaluate", str(PAPER), "--true", "oh_p50", "--pred", "cnn_pred_128",
                 "--report", str(tmp_path / "report")]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_report_refuses_to_replace_without_overwrite(tmp_path):
    table = Table({"t": np.linspace(8, 9, 50), "p": np.linspace(8, 9, 50) + 0.05})
    write_report(table, tmp_path, true="t", pred="p")
    with pytest.raises(FileExistsError):
        write_report(table, tmp_path, true="t", pred="p")
    assert "RMSE" in (tmp_path / "summary.md").read_text()


def test_baselines_learn_something():
    rng = np.random.default_rng(1)
    colour = rng.uniform(0, 1, 400)
    images = np.stack([np.full((3, 4, 4), c) * np.array([1.0, 0.5, 0.2])[:, None, None] for c in colour])
    labels = 8.0 + colour
    assert np.all(mean_predictor(labels[:300], 5) == pytest.approx(labels[:300].mean()))
    forest = mean_colour_forest(images[:300], labels[:300], images[300:])
    assert np.sqrt(np.mean((forest - labels[300:]) ** 2)) < 0.05
    mags = np.column_stack([18 - colour, 17.5 - 0.5 * colour, 17.2 * np.ones(400)])
    assert np.sqrt(np.mean((photometry_forest(mags[:300], labels[:300], mags[300:]) - labels[300:]) ** 2)) < 0.05
