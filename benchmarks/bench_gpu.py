"""GPU throughput of prediction from JPEG files and of the training loop, against the bare network (issue 11).

ResNet-34 on 3×128×128 SDSS cutouts (the test fixtures' real JPEGs, replicated), batch 256:

- ``forward_rows_per_s_<layout>_<precision>``: the bare forward pass on tensors already on the GPU, in
  each memory layout (NCHW, channels-last) and precision (float32, bfloat16 autocast); ``speedup_*``
  are their ratios to NCHW float32.
- ``predict_files_ratio``: rows/s of ``astro_cnn.predict`` reading JPEG files (decoded and checked
  by worker processes while the GPU works), with the model's default speed settings on a GPU
  (channels-last, float32), over rows/s of the bare forward pass in the same layout and precision;
  targets >= 0.5, goal 0.9.  ``predict_files_ratio_bf16``: the same with ``bf16=True``, and
  ``bf16_max_abs_change_in_label_std``: how far bfloat16 moves a prediction (in units of the label
  spread) from float32.
- ``train_loop_ratio``: rows/s of the engine's training loop reading a uint8 store from disk
  (worker processes, pinned memory, normalisation and dihedral augmentation on the GPU, no host
  sync per step) with its automatic speed settings on a GPU over rows/s of a bare forward +
  backward + AdamW step on GPU-resident tensors with the same settings, with the engine's default
  number of worker processes; targets >= 0.9, goal 0.97.  ``--loop-variants`` adds the ratio with
  ``--workers`` and with no workers, without augmentation and with the images in memory.
  ``train_step_speedup_auto``: the bare step with the automatic settings over float32 NCHW.
- what one worker spends per image (``worker_ms_*``: Pillow decode, the strict JPEG check, the
  presence check) and the rate of ``torchvision.io.decode_jpeg`` on the GPU (nvJPEG), which says
  whether decoding on the GPU could pay.

Where no CUDA GPU is visible it says so and exits 0.  ``--device cpu --rows 512`` runs the same code
on the CPU (to check the script, not to measure a GPU).

Run from the repository root: ``python benchmarks/bench_gpu.py``.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import torch
from astropy.table import Table
from bench_training import batch_norm_pass_timed

import astro_cnn
from astro_cnn.engine import NetworkPredictor
from astro_cnn.engine.batches import batch_loader
from astro_cnn.engine.devices import default_workers
from astro_cnn.engine.speed import autocast, prepare_input, prepare_network, speed_setting
from astro_cnn.engine.train import build_store
from astro_cnn.engine.trainer import _optimizer, fit_network
from astro_cnn.image_checks import image_problem
from astro_cnn.image_files import decode_colour
from astro_cnn.jpeg_check import check_entropy

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


def forward_rate(predictor: NetworkPredictor, device: torch.device, channels_last: bool, bf16: bool) -> float:
    network = prepare_network(predictor.new_network().to(device).eval(), channels_last=channels_last)
    x = prepare_input(torch.randn(BATCH, 3, 128, 128, device=device), channels_last=channels_last)
    steps = 20 if device.type == "cuda" else 2

    def run():
        with torch.inference_mode(), autocast(device, bf16):
            for _ in range(steps):
                network(x)

    return steps * BATCH / timed(run)


def raw_step_rate(predictor: NetworkPredictor, device: torch.device, channels_last: bool, bf16: bool) -> float:
    network = prepare_network(predictor.new_network().to(device).train(), channels_last=channels_last)
    optimizer = _optimizer(network, SETTINGS, "all")
    x = prepare_input(torch.randn(BATCH, 3, 128, 128, device=device), channels_last=channels_last)
    y = torch.randn(BATCH, device=device)
    steps = 20 if device.type == "cuda" else 2

    def run():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                output = network(x)
            torch.nn.functional.mse_loss(output.float(), y).backward()
            optimizer.step()

    return steps * BATCH / timed(run)


def train_loop_rate(predictor: NetworkPredictor, images, labels: np.ndarray, device: torch.device, workers: int,
                    augment: bool = True) -> float:
    """Rows/s of one epoch of the engine's training loop (automatic speed settings), after a short warm-up run; the
    batch-norm pass that ends the run is left out (see ``bench_training.batch_norm_pass_timed``)."""
    settings = {**SETTINGS, "channels_last": "auto", "bf16": "auto", "augment": augment}
    network = predictor.new_network()
    warm = predictor.training_data(images, labels)
    warm.fit_rows = warm.fit_rows[:2 * BATCH]
    fit_network(network, warm, settings, "regression", progress=False, log=lambda line: None, device=device,
                workers=workers)
    data = predictor.training_data(images, labels)
    sync()
    start = time.perf_counter()
    with batch_norm_pass_timed() as passes:  # once per run, not part of the loop's rate
        fit_network(network, data, settings, "regression", progress=False, log=lambda line: None, device=device,
                    workers=workers)
    sync()
    return len(labels) / (time.perf_counter() - start - sum(passes))


def worker_costs(paths: list[Path]) -> dict[str, float]:
    """Milliseconds one process spends per image on each step of reading a JPEG file for prediction."""
    data = [path.read_bytes() for path in paths]
    images = [decode_colour(d) for d in data]
    image_problem(images[0], 0.296 * u.arcsec)  # imports photutils once, outside the timing
    costs = {}
    for name, step in (("decode", lambda: [decode_colour(d) for d in data]),
                       ("jpeg_check", lambda: [check_entropy(d) for d in data]),
                       ("presence_check", lambda: [image_problem(i, 0.296 * u.arcsec) for i in images])):
        start = time.perf_counter()
        step()
        costs[name] = 1e3 * (time.perf_counter() - start) / len(paths)
    return costs


def gpu_decode_rate(paths: list[Path], device: torch.device) -> float | None:
    """Images/s of ``torchvision.io.decode_jpeg`` on the GPU for a batch of files, or None where it fails."""
    import torchvision.io

    encoded = [torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8) for path in paths]
    try:
        return len(encoded) / timed(lambda: torchvision.io.decode_jpeg(encoded, device=device))
    except (RuntimeError, TypeError) as exc:
        print(f"# torchvision.io.decode_jpeg on {device} failed: {exc}")
        return None


def predictions(table, predictor, tmp, device, workers, bf16):
    model = copy.copy(predictor)
    model.bf16 = bf16
    return astro_cnn.predict(table, model=model, image_column="image", image_dir=tmp / "files",
                             batch_size=BATCH, device=str(device), workers=workers, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=40_960, help="JPEG files / stored images (default 40,960)")
    parser.add_argument("--workers", type=int, default=min(15, max(1, (os.cpu_count() or 2) - 1)),
                        help="worker processes reading JPEG files for prediction (training uses the engine's default)")
    parser.add_argument("--loop-variants", action="store_true",
                        help="also time the training loop with --workers and no workers, without augmentation "
                             "and from memory")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU is visible here: bench_gpu measures nothing (run it on a machine with one)")
        print("gpu_available: 0")
        return
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    torch.backends.cudnn.benchmark = True
    cl_auto = speed_setting("channels_last", "auto", device)
    bf16_auto = speed_setting("bf16", "auto", device)
    predictor = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 128, 0.296 * u.arcsec, backbone="resnet34",
                                 tta=False)
    results: dict[str, float | str] = {"gpu_name": name}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "files").mkdir()
        table = write_files(tmp / "files", args.rows)
        start = time.perf_counter()
        store = build_store(tmp / "store", table, "metallicity", image_column="image", image_dir=tmp / "files",
                            bands="irg", pixel_scale=0.296 * u.arcsec, log=lambda line: None)
        results["store_build_rows_per_s"] = len(store) / (time.perf_counter() - start)
        labels = np.asarray(store.table["oh_p50"])
        predictor.learn_normalisation(store.images[np.arange(min(len(store), 1024))], labels, None)
        predictor.members_ = [predictor.new_network().state_dict()]

        forward = {}
        for layout, channels_last in (("nchw", False), ("channels_last", True)):
            for precision, bf16 in (("fp32", False), ("bf16", True)):
                forward[channels_last, bf16] = forward_rate(predictor, device, channels_last, bf16)
                results[f"forward_rows_per_s_{layout}_{precision}"] = forward[channels_last, bf16]
        base = forward[False, False]
        results["speedup_channels_last"] = forward[True, False] / base
        results["speedup_bf16"] = forward[False, True] / base
        results["speedup_channels_last_bf16"] = forward[True, True] / base

        files = sorted((tmp / "files").iterdir())
        for step, ms in worker_costs(files[:512]).items():
            results[f"worker_ms_{step}"] = ms
        if device.type == "cuda":
            rate = gpu_decode_rate(files[:2048], device)
            if rate is not None:
                results["gpu_decode_jpeg_rows_per_s"] = rate

        def predict_files(bf16=False):
            return predictions(table, predictor, tmp, device, args.workers, bf16)

        seconds = timed(predict_files)
        results["predict_files_rows_per_s"] = len(table) / seconds
        results["predict_files_ratio"] = len(table) / seconds / forward[cl_auto, False]
        seconds = timed(lambda: predict_files(bf16=True))
        results["predict_files_rows_per_s_bf16"] = len(table) / seconds
        results["predict_files_ratio_bf16"] = len(table) / seconds / forward[cl_auto, True]
        sample = store.images[np.arange(min(len(store), 2048))]
        model = copy.copy(predictor)
        model.device = str(device)
        fp32 = model.predict_images(sample).value
        model.bf16 = True
        bf16 = model.predict_images(sample).value
        results["bf16_max_abs_change_in_label_std"] = float(np.max(np.abs(bf16 - fp32)) / np.std(labels))

        raw_fp32 = raw_step_rate(predictor, device, False, False)
        raw_auto = raw_step_rate(predictor, device, cl_auto, bf16_auto)
        results["raw_train_step_rows_per_s_fp32"] = raw_fp32
        results["raw_train_step_rows_per_s_auto"] = raw_auto
        results["train_step_speedup_auto"] = raw_auto / raw_fp32
        data = predictor.training_data(store.images, labels)
        batches = [data.fit_rows[i:i + BATCH] for i in range(0, len(data.fit_rows), BATCH)]
        start = time.perf_counter()
        for _ in batch_loader(data, batches, workers=args.workers, pin_memory=device.type == "cuda"):
            pass
        results["loader_rows_per_s"] = len(store) / (time.perf_counter() - start)
        train_workers = default_workers(device, "training")
        results["train_workers"] = train_workers
        loop = train_loop_rate(predictor, store.images, labels, device, train_workers)
        results["train_loop_rows_per_s"] = loop
        results["train_loop_ratio"] = loop / raw_auto
        if args.loop_variants:  # where the loop's time goes: fewer workers, no augmentation, images in memory
            for variant, options in ((f"workers{args.workers}", {"workers": args.workers}),
                                     ("workers0", {"workers": 0}), ("no_augment", {"augment": False}),
                                     ("in_memory", {"images": store.images[np.arange(len(store))]})):
                rate = train_loop_rate(predictor, options.get("images", store.images), labels, device,
                                       options.get("workers", train_workers), options.get("augment", True))
                results[f"train_loop_ratio_{variant}"] = rate / raw_auto
    print(f"# {name}: ResNet-34, 3x128x128, batch {BATCH}, {args.rows} rows, {args.workers} workers, "
          f"{os.cpu_count()} CPUs; automatic speed settings here: channels_last={cl_auto}, bf16 (training)={bf16_auto}")
    for key, value in results.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
