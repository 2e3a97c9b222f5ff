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


def _photoz_table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.02, 0.3, n)
    zp = z + 0.02 * (1 + z) * rng.normal(size=n)
    zp[:10] += 0.2  # 5 % catastrophic outliers
    return Table({"z_spec": z, "z_phot": zp})


def test_photoz_report_outlier_line_is_the_consoles_eta(tmp_path):
    from astro_cnn.evaluation import evaluate_photoz

    table = _photoz_table()
    table.meta["astro_cnn"] = {"quantity": "photo_z"}
    write_report(table, tmp_path, true="z_spec", pred="z_phot")
    eta = evaluate_photoz(table, "z_spec", "z_phot", pdf=None)["outlier_fraction"][0]
    summary = (tmp_path / "summary.md").read_text()
    assert eta > 0.04
    assert "|Δz|/(1+z_spec) > 0.05" in summary and f"{100 * eta:.2f} %" in summary
    assert "outliers (>0.3)" not in summary


def test_report_figure_has_the_quantitys_label(tmp_path, monkeypatch):
    from astro_cnn.evaluation import report
    from astro_cnn.evaluation.figures import AXIS_LABELS

    seen = []
    monkeypatch.setattr(report, "prediction_figure", lambda *a, **k: seen.append(k))
    write_report(Table({"oh_p50": np.linspace(8, 9, 50), "cnn": np.linspace(8, 9, 50)}), tmp_path / "oh",
                 true="oh_p50", pred="cnn")
    assert seen[0]["label"] == AXIS_LABELS["metallicity"] and seen[0]["residual_unit"] == "dex"
    write_report(_photoz_table(), tmp_path / "z", true="z_spec", pred="z_phot", residual="delta_z")
    assert seen[-1]["residual"] == "delta_z" and seen[-1]["outlier_threshold"] == 0.05


def test_evaluate_writes_the_resolution_and_mzr_studies(tmp_path, capsys):
    from astro_cnn import read_table, write_table

    report = tmp_path / "res"
    assert main(["evaluate", str(PAPER), "--true", "oh_p50", "--pred", "cnn_pred_128", "--pred", "cnn_pred_64",
                 "--pred", "cnn_pred_32", "--pred", "cnn_pred_16", "--resolution-study",
                 "--report", str(report)]) == 0
    study = read_table(report / "resolution.ecsv")
    assert list(study["size"]) == [128, 64, 32, 16]
    assert (report / "resolution.png").stat().st_size > 1000 and (report / "resolution.pdf").stat().st_size > 1000

    rng = np.random.default_rng(3)
    mass = rng.uniform(8.5, 11.5, 300)
    table = Table({"lgm_tot_p50": mass, "oh_p50": 8.9 + 0.1 * rng.normal(size=300)})
    table["log_oh"] = table["oh_p50"] + 0.05
    path = write_table(table, tmp_path / "mzr.ecsv")
    assert main(["evaluate", str(path), "--true", "oh_p50", "--pred", "log_oh", "--mzr", "lgm_tot_p50",
                 "--report", str(tmp_path / "mzr")]) == 0
    assert len(read_table(tmp_path / "mzr" / "mzr.ecsv")) > 0
    assert (tmp_path / "mzr" / "mzr.png").stat().st_size > 1000
    assert main(["evaluate", str(path), "--true", "oh_p50", "--pred", "log_oh", "--mzr", "lgm_tot_p50"]) == 2
    assert "--report" in capsys.readouterr().err


def test_a_report_with_nothing_to_measure_is_refused_before_writing(tmp_path):
    """With every prediction masked the report crashed in its figure (IndexError) after writing two of its files,
    so that running it again needed --overwrite."""
    from astropy.table import MaskedColumn

    from astro_cnn import AstroCNNError

    table = Table({"oh_p50": [8.5, 8.7, 8.9], "log_oh": MaskedColumn([8.4, 8.8, 9.0], mask=[True, True, True])})
    with pytest.raises(AstroCNNError, match="no row of 3 has both a usable 'log_oh' and a true 'oh_p50'"):
        write_report(table, tmp_path / "report", true="oh_p50", pred="log_oh")
    assert not (tmp_path / "report").exists()


def test_a_residual_or_remove_widest_the_report_cannot_use_is_refused(tmp_path):
    """residual='ratio' was taken for 'difference' and remove_widest was ignored outside photo-z, without a word."""
    from astropy.table import Table

    from astro_cnn.evaluation import write_report

    table = Table({"t": [8.8, 8.9, 9.0], "p": [8.85, 8.9, 8.95]})
    with pytest.raises(ValueError, match="residual must be 'difference' or 'delta_z', not 'ratio'"):
        write_report(table, tmp_path / "r", true="t", pred="p", residual="ratio")
    with pytest.raises(ValueError, match="remove_widest leaves out the widest photo-z PDFs"):
        write_report(table, tmp_path / "r", true="t", pred="p", remove_widest=0.1)
    assert not (tmp_path / "r").exists()
