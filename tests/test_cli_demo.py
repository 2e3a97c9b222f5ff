"""``astro-cnn demo``: every default model with demo galaxies predicts them and writes a report."""

import pytest

import astro_cnn
from astro_cnn import ModelNotFoundError, read_table, registry
from astro_cnn.cli import main
from astro_cnn.cli.demo_cmd import run_demo

from .conftest import DATA

GALAXIES = DATA / "gri_small" / "galaxies.ecsv"


@pytest.fixture
def shipped_demo(tmp_path, clean_registry):
    """A plugin shipping a (tiny) trained model with the 16 real demo galaxies of the test data."""
    model = astro_cnn.train(read_table(GALAXIES), "metallicity", image_column="image", image_dir=GALAXIES.parent,
                            backbone="small_cnn", recipe="quick", epochs=5, name="tiny-demo-model",
                            progress=False, log=lambda line: None)
    path = model.save(tmp_path / "tiny.acnn")

    class Shipper:
        @astro_cnn.hookimpl
        def astro_cnn_models(self):
            return [astro_cnn.ModelSpec("tiny-demo-model", "metallicity", path, default=True,
                                        demo_table=GALAXIES, demo_image_column="image",
                                        demo_truth_column="oh_p50")]

    clean_registry.register(Shipper(), name="shipper")
    return path


def test_demo_writes_predictions_and_report(tmp_path, shipped_demo, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "metallicity: predicted 16 galaxies with model 'tiny-demo-model'" in printed
    assert "rmse" in printed and "evaluation report" in printed
    table = read_table(out / "tiny-demo-model_predictions.ecsv")
    assert len(table) == 16 and "oh_p50" in table.colnames and not table["flag"].any()
    assert (out / "tiny-demo-model_report" / "prediction.png").stat().st_size > 0
    assert main(["demo", "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["demo", "-o", str(out), "--overwrite"]) == 0


def test_demo_without_models_says_so(tmp_path, clean_registry, monkeypatch):
    monkeypatch.setattr(registry, "components", lambda kind: {})
    with pytest.raises(ModelNotFoundError, match="no installed model ships demo galaxies"):
        run_demo(tmp_path)


def test_an_earlier_demo_is_refused_before_any_prediction(tmp_path, shipped_demo, capsys, monkeypatch):
    """The refusal came after predicting (27 s for the shipped models), and with a later model's file in the way the
    earlier models' outputs were written first, leaving a half demo."""
    from astro_cnn.cli import demo_cmd

    out = tmp_path / "demo"
    (out / "tiny-demo-model_report").mkdir(parents=True)
    (out / "tiny-demo-model_report" / "summary.md").write_text("an earlier report")
    predicted = []
    monkeypatch.setattr(demo_cmd, "predict", lambda *args, **kwargs: predicted.append(1))
    assert main(["demo", "-o", str(out)]) == 2
    assert "summary.md' already exists; pass --overwrite" in capsys.readouterr().err
    assert predicted == [] and not (out / "tiny-demo-model_predictions.ecsv").exists()
