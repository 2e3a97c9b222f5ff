"""Resolution study and the mass–metallicity relation."""

import numpy as np
import pytest

from astro_cnn.evaluation.baselines import mean_predictor
from astro_cnn.evaluation.studies import rebin, resolution_study, tremonti_mzr


def test_tremonti_relation():
    assert tremonti_mzr(10.0) == pytest.approx(-1.492 + 18.47 - 8.026)
    assert np.all(np.diff(tremonti_mzr(np.linspace(8.5, 10.5, 10))) > 0)


def test_rebin_keeps_the_mean_and_refuses_uneven_blocks():
    images = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
    assert rebin(images, 4).shape == (2, 3, 4, 4)
    np.testing.assert_allclose(rebin(images, 1)[..., 0, 0], images.mean(axis=(2, 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="8x8 images to 3x3"):
        rebin(images, 3)


def test_resolution_study_runs_one_model_per_size():
    rng = np.random.default_rng(1)
    images = rng.random((20, 3, 8, 8)).astype(np.float32)
    labels = rng.uniform(8, 9, 20)
    seen = []

    def fit_predict(train, y, test):
        seen.append(train.shape[-1])
        return mean_predictor(y, len(test))

    table = resolution_study(images[:15], labels[:15], images[15:], labels[15:], fit_predict, sizes=(8, 2, 1))
    assert seen == [8, 2, 1] and list(table["size"]) == [8, 2, 1] and np.all(table["n"] == 5)


def test_resolution_study_from_the_papers_predictions():
    from astro_cnn import read_table
    from astro_cnn.evaluation.studies import prediction_resolution_study

    from .test_evaluation_report import PAPER

    table = prediction_resolution_study(read_table(PAPER), "oh_p50",
                                        ["cnn_pred_128", "cnn_pred_64", "cnn_pred_32", "cnn_pred_16"])
    assert list(table["size"]) == [128, 64, 32, 16] and list(table["method"])[0] == "cnn_pred_128"
    np.testing.assert_allclose(table["rmse"].value, [0.0849, 0.0879, 0.0930, 0.1043], atol=5e-5)
    with pytest.raises(ValueError, match="image size"):
        prediction_resolution_study(read_table(PAPER), "oh_p50", ["objid"])
    explicit = prediction_resolution_study(read_table(PAPER), "oh_p50", ["cnn_pred_16"], sizes=[16])
    assert list(explicit["size"]) == [16]


def test_mzr_study_bins_true_and_predicted_metallicity_in_mass():
    from astro_cnn.evaluation.studies import mzr_study

    rng = np.random.default_rng(2)
    mass = rng.uniform(8.5, 11.5, 2000)
    true = tremonti_mzr(mass) + rng.normal(0, 0.1, 2000)
    study = mzr_study(mass, true + 0.05, true=true, bins=6)
    assert len(study) == 6 and np.all(study["n"] > 0) and study["n"].sum() == 2000
    np.testing.assert_allclose(study["median_true"], tremonti_mzr(study["log_mstar"]), atol=0.05)
    np.testing.assert_allclose(study["median_pred"] - study["median_true"], 0.05, atol=0.02)
    assert np.all(study["offset_pred_tremonti"] == pytest.approx(study["median_pred"] - study["tremonti"]))


def test_mzr_study_without_a_galaxy_to_bin_is_refused():
    """It raised an IndexError from numpy (the quantiles of no value)."""
    from astro_cnn.evaluation.studies import mzr_study

    with pytest.raises(ValueError, match="log_mstar of the galaxies with a finite pred has no finite value"):
        mzr_study(np.array([np.nan, 10.0]), np.array([8.9, np.nan]))
    assert list(mzr_study(np.array([np.nan, 10.0]), np.array([8.9, np.nan]), bins=[9.0, 11.0])["n"]) == [0]
