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


def test_image_readers_are_capped_by_the_work_and_the_cpus(monkeypatch):
    from astro_cnn.engine.devices import MAX_WORKERS_PER_CPU, usable_workers

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert usable_workers(99999, 1) == 1 and usable_workers(3, 10) == 3 and usable_workers(0, 10) == 0
    assert usable_workers(99999, 10**6) == 2 * MAX_WORKERS_PER_CPU


def test_predict_with_absurdly_many_workers_starts_only_what_it_can_use(monkeypatch, example_model, galaxies):
    """--workers 99999 on a one-row table forked reading processes until the machine ran out of memory."""
    import torch.utils.data

    import astro_cnn

    started, real = [], torch.utils.data.DataLoader

    def recording(*args, num_workers=0, **kwargs):
        started.append(num_workers)
        return real(*args, num_workers=min(num_workers, 1), **kwargs)  # never fork thousands, even on old code

    monkeypatch.setattr(torch.utils.data, "DataLoader", recording)
    out = astro_cnn.predict(galaxies[:1], model=example_model, workers=99999, progress=False)
    assert len(out) == 1 and started == [1]
