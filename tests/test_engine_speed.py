"""Speed settings (channels-last, bfloat16, compile): "auto" follows the device and never changes CPU results."""

import numpy as np
import pytest
import torch

from astro_cnn.engine.speed import CUDA_AUTO, SPEED_SETTINGS, speed_setting

from .test_engine_training import _data, _predictor

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on a machine with one)")


@pytest.mark.parametrize("name", SPEED_SETTINGS)
def test_auto_is_off_on_the_cpu_and_follows_the_measured_choice_on_a_gpu(name):
    for value in ("auto", "AUTO", None):
        assert speed_setting(name, value, "cpu") is False
        assert speed_setting(name, value, torch.device("cuda", 0)) is CUDA_AUTO[name]
    assert speed_setting(name, True, "cpu") is True and speed_setting(name, False, "cuda") is False


def test_bad_speed_settings_are_refused():
    with pytest.raises(ValueError, match="'fast' is not a speed setting"):
        speed_setting("fast", True, "cpu")
    with pytest.raises(ValueError, match="bf16 must be True, False or 'auto', not 'yes'"):
        speed_setting("bf16", "yes", "cpu")


def test_auto_settings_leave_cpu_training_bit_identical():
    images, labels = _data(n=24)
    explicit, auto = _predictor(), _predictor()
    explicit.device = auto.device = "cpu"
    explicit.fit(images, labels, recipe="quick", epochs=1, channels_last=False, bf16=False, progress=False,
                 log=lambda line: None)
    auto.fit(images, labels, recipe="quick", epochs=1, channels_last="auto", bf16="auto", progress=False,
             log=lambda line: None)
    assert auto.info["training_speed_settings"] == {"channels_last": False, "bf16": False, "compile": False}
    for name, tensor in explicit.members_[0].items():
        assert torch.equal(tensor, auto.members_[0][name]), name
    np.testing.assert_array_equal(auto.predict_images(images).value, explicit.predict_images(images).value)


@CUDA
def test_training_on_a_gpu_uses_the_automatic_settings_and_predicts_like_the_cpu():
    images, labels = _data(n=64)
    predictor = _predictor(tta=False)
    predictor.device = "cuda"
    predictor.fit(images, labels, recipe="quick", epochs=2, progress=False, log=lambda line: None)
    assert predictor.info["training_speed_settings"] == {k: CUDA_AUTO[k] for k in SPEED_SETTINGS}
    assert predictor.info["training_device"].startswith("cuda")
    on_gpu = predictor.predict_images(images).value  # channels-last ("auto"), float32
    predictor.device = "cpu"
    on_cpu = predictor.predict_images(images).value
    np.testing.assert_allclose(on_gpu, on_cpu, atol=2e-4)
    predictor.device, predictor.bf16 = "cuda", True
    in_bf16 = predictor.predict_images(images).value
    assert np.isfinite(in_bf16).all()
    np.testing.assert_allclose(in_bf16, on_cpu, atol=0.05 * np.std(labels))
