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
