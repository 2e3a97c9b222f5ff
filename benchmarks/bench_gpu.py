"""GPU throughput of prediction from JPEG files and of the training loop, against the bare network (issue 11).

ResNet-34 on 3×128×128 SDSS cutouts (the test fixtures' real JPEGs, replicated), batch 256, fp32:

- ``predict_files_ratio``: rows/s of ``astro_cnn.predict`` reading JPEG files (decoded by worker
  processes while the GPU works) over rows/s of the bare forward pass on tensors already on the GPU;
  targets >= 0.5, goal 0.9.
- ``train_loop_ratio``: rows/s of the engine's training loop reading a uint8 store from disk
  (worker processes, pinned memory, normalisation and dihedral augmentation on the GPU, no host
  sync per step) over rows/s of a bare forward + backward + AdamW step on GPU-resident tensors;
  targets >= 0.9, goal 0.97.
- the absolute rows/s of each, and the forward speed-ups of channels-last and bf16 autocast.

Where no CUDA GPU is visible it says so and exits 0.  ``--device cpu --rows 512`` runs the same code
on the CPU (to check the script, not to measure a GPU).

Run from the repository root: ``python benchmarks/bench_gpu.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import torch
from astropy.table import Table

import astro_cnn
from astro_cnn.engine import NetworkPredictor
from astro_cnn.engine.speed import autocast, prepare_input, prepare_network
from astro_cnn.engine.train import build_store
from astro_cnn.engine.trainer import _optimizer, fit_network

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "gri_small"
BATCH = 256
SETTINGS = {"optimizer": "adamw", "lr": 1e-3, "lr_ratios": (1.0,), "weight_decay": 1e-2, "batch_size": BATCH,
            "head_epochs": 0, "epochs": 1, "schedule": "constant", "augment": True}


def write_files(directory: Path, rows: int) -> Table:
    """``rows`` JPEG files (copies of the real fixture cutouts) with metallicity-like labels."""
    sources = sorted(FIXTURES.glob("*.jpg"))
    names = []
    for i in range(rows):
        name = f"g{i:06d}.jpg"
        shutil.copyfile(sources[i % len(sources)], directory / name)
        names.append(name)
    return Table({"image": names, "oh_p50": np.random.default_rng(0).uniform(8.3, 9.1, rows)})


def timed(function, repeats: int = 1) -> float:
    """Seconds per call of ``function`` after one warm-up call (the device synchronised around it)."""
    function()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    sync()
    return (time.perf_counter() - start) / repeats


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def forward_rate(predictor: NetworkPredictor, device: torch.device, channels_last=False, bf16=False) -> float:
    network = prepare_network(predictor.new_network().to(device).eval(), channels_last=channels_last)
    x = prepare_input(torch.randn(BATCH, 3, 128, 128, device=device), channels_last=channels_last)
    steps = 20 if device.type == "cuda" else 2

    def run():
        with torch.inference_mode(), autocast(device, bf16):
            for _ in range(steps):
                network(x)

    return steps * BATCH / timed(run)


def raw_step_rate(predictor: NetworkPredictor, device: torch.device) -> float:
    network = predictor.new_network().to(device).train()
    optimizer = _optimizer(network, SETTINGS, "all")
    x = torch.randn(BATCH, 3, 128, 128, device=device)
    y = torch.randn(BATCH, device=device)
    steps = 20 if device.type == "cuda" else 2

    def run():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(network(x), y).backward()
            optimizer.step()

    return steps * BATCH / timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=20_480, help="JPEG files / stored images (default 20,480)")
    parser.add_argument("--workers", type=int, default=min(15, max(1, (os.cpu_count() or 2) - 1)))
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU is visible here: bench_gpu measures nothing (run it on a machine with one)")
        print("gpu_available: 0")
        return
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    torch.backends.cudnn.benchmark = True
    predictor = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 128, 0.296 * u.arcsec, backbone="resnet34",
                                 tta=False)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "files").mkdir()
        table = write_files(tmp / "files", args.rows)
        store = build_store(tmp / "store", table, "metallicity", image_column="image", image_dir=tmp / "files",
                            log=lambda line: None)
        labels = np.asarray(store.table["oh_p50"])
        predictor.learn_normalisation(store.images[np.arange(min(len(store), 1024))], labels, None)
        predictor.members_ = [predictor.new_network().state_dict()]
        forward = forward_rate(predictor, device)
        speedups = {"channels_last": forward_rate(predictor, device, channels_last=True) / forward,
                    "bf16": forward_rate(predictor, device, bf16=True) / forward}

        def predict_files():
            astro_cnn.predict(table, model=predictor, image_column="image", image_dir=tmp / "files",
                              batch_size=BATCH, device=str(device), workers=args.workers)

        predicted = len(table) / timed(predict_files)
        raw = raw_step_rate(predictor, device)
        data = predictor.training_data(store.images, labels)
        network = predictor.new_network()
        warm = predictor.training_data(store.images, labels)
        warm.fit_rows = warm.fit_rows[:2 * BATCH]
        fit_network(network, warm, SETTINGS, "regression", progress=False, log=lambda line: None, device=device,
                    workers=args.workers)
        sync()
        start = time.perf_counter()
        fit_network(network, data, SETTINGS, "regression", progress=False, log=lambda line: None, device=device,
                    workers=args.workers)
        sync()
        loop = len(store) / (time.perf_counter() - start)
    print(f"# {name}: ResNet-34, 3x128x128, batch {BATCH}, fp32, {args.rows} rows, {args.workers} workers")
    print(f"gpu_name: {name}")
    print(f"forward_rows_per_s: {forward:.0f}")
    print(f"predict_files_rows_per_s: {predicted:.0f}")
    print(f"raw_train_step_rows_per_s: {raw:.0f}")
    print(f"train_loop_rows_per_s: {loop:.0f}")
    for option, ratio in speedups.items():
        print(f"speedup_{option}: {ratio:.3f}")
    print(f"predict_files_ratio: {predicted / forward:.3f}")
    print(f"train_loop_ratio: {loop / raw:.3f}")


if __name__ == "__main__":
    main()
