"""Device requests (auto, cpu, cuda, cuda:N) and the worker processes used on each device."""

import pytest
import torch

from astro_cnn import AstroCNNError
from astro_cnn.engine.devices import TRAINING_WORKERS_ON_GPU, check_device, default_workers, resolve_device


@pytest.mark.parametrize("spec", ["auto", "CPU", " cuda ", "cuda:3"])
def test_device_requests_are_normalised(spec):
    assert check_device(spec) == spec.strip().lower()


@pytest.mark.parametrize("spec", ["gpu", "cuda:", "cuda:x", "mps", ""])
def test_malformed_device_requests_are_refused(spec):
    with pytest.raises(AstroCNNError, match="is not one of auto, cpu, cuda or cuda:N"):
        check_device(spec)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
def test_auto_is_the_cpu_without_a_gpu_and_a_gpu_asked_for_is_an_error():
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(AstroCNNError, match="no CUDA GPU is visible"):
        resolve_device("cuda")


def test_workers_default_to_none_on_the_cpu_and_to_the_measured_counts_on_a_gpu(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_workers("cpu", "training") == 0 and default_workers("cpu", "prediction") == 0
    assert default_workers("cuda:0", "training") == TRAINING_WORKERS_ON_GPU == 4
    assert default_workers(torch.device("cuda"), "prediction") == 15
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_workers("cuda", "training") == 1 and default_workers("cuda", "prediction") == 1
    with pytest.raises(ValueError, match="task must be 'training' or 'prediction'"):
        default_workers("cuda", "fitting")
