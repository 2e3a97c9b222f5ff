"""Training-loop and prediction overheads of the engine (issue 4), for ResNet-34 and the Pasquet network.

For each architecture at batch 64 (ResNet-34 on 3×128×128, Pasquet et al. on 5×64×64):
- ``train_loop_ratio``: rows/s of the engine's training loop (recipe schedule, dihedral augmentation,
  batching) over rows/s of a bare forward+backward+optimizer step on the same tensors (the batch-norm
  pass that ends a run is timed apart: see :func:`batch_norm_pass_timed`);
- ``predict_ratio``: rows/s of ``astro_cnn.predict`` reading the images from files on disk (PNG or
  FITS) over rows/s of the bare forward pass.
Goals: >= 0.90 for both.  Each rate is the best of :data:`REPEATS` runs, the engine's and the bare
one alternating, so that a slow moment of a shared machine does not land on one side of a ratio only.
Prints one line per architecture and the worst of each, then the forward-pass speed-up of the optional
channels-last layout and bfloat16 autocast (``speedup_<option>_<arch>``), which
decides whether they are worth switching on here.

Run from the repository root: ``python benchmarks/bench_training.py``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from unittest import mock

import astropy.units as u
import numpy as np
import torch
from astropy.io import fits
from astropy.table import Table
from PIL import Image

import astro_cnn
from astro_cnn.engine import NetworkPredictor, trainer
from astro_cnn.engine.trainer import _optimizer, fit_network
from astro_cnn.image_files import read_image

BATCH, STEPS, PREDICT_BATCHES, REPEATS = 64, 3, 8, 3
SETTINGS = {"optimizer": "adamw", "lr": 1e-3, "lr_ratios": (1.0,), "weight_decay": 1e-2, "batch_size": BATCH,
            "head_epochs": 0, "epochs": 1, "schedule": "constant", "augment": True}
CASES = [("resnet34", "metallicity", "sdss-jpeg", "irg", 128, 0.296),
         ("pasquet2019", "photo_z", "sdss-stack", "ugriz", 64, 0.396)]


ROOT = Path(__file__).resolve().parent.parent
#: Real images, replicated: SDSS gri cutouts (test fixtures) and injected ugriz stacks (bundled demo).
REAL_IMAGES = {"irg": sorted((ROOT / "tests" / "data" / "gri_small").glob("*.jpg")),
               "ugriz": sorted((ROOT / "plugins" / "astro_cnn_photoz" / "demo" / "images").glob("*.fits"))}


def predictor_for(backbone, quantity, survey, bands, size, scale) -> tuple[NetworkPredictor, np.ndarray, np.ndarray]:
    """Real images (so the pipeline's presence check passes them to the model, as in real use) and labels."""
    rng = np.random.default_rng(0)
    real = [read_image(path) for path in REAL_IMAGES[bands]]
    images = np.stack([real[i % len(real)] for i in range(BATCH * PREDICT_BATCHES)])
    labels = rng.uniform(8.3, 9.1, len(images)) if quantity == "metallicity" else rng.uniform(0.01, 0.3, len(images))
    predictor = NetworkPredictor(quantity, survey, tuple(bands), size, scale * u.arcsec, backbone=backbone, tta=False)
    predictor.learn_normalisation(images, labels, None)
    return predictor, images, labels


def raw_training_rate(predictor, images, labels) -> float:
    network = predictor.new_network().train()
    optimizer = _optimizer(network, SETTINGS, "all")
    loss_fn = torch.nn.MSELoss() if predictor.quantity.kind == "regression" else torch.nn.CrossEntropyLoss()
    x, y = predictor.prepare(images), predictor.encode_labels(labels)
    batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]

    def step(xb, yb):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(network(xb), yb).backward()
        optimizer.step()

    step(*batches[0])  # warm-up
    start = time.perf_counter()
    for xb, yb in batches:
        step(xb, yb)
    return len(x) / (time.perf_counter() - start)


@contextlib.contextmanager
def batch_norm_pass_timed():
    """Time the batch-norm pass that ends every ``fit_network`` run; yields the list its seconds go to.

    ``fit_network`` ends with :func:`~astro_cnn.engine.trainer.precise_batch_norm`, one forward pass
    over up to 8,192 training rows, once per run.  In a benchmark's short run it would weigh as much as
    a third of the loop, in a real run a fraction of a per cent, so the benchmarks time it apart.
    """
    passes, precise_batch_norm = [], trainer.precise_batch_norm

    def timed_pass(*args, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        rows = precise_batch_norm(*args, **kwargs)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        passes.append(time.perf_counter() - start)
        return rows

    with mock.patch.object(trainer, "precise_batch_norm", timed_pass):
        yield passes


def loop_training_rate(predictor, images, labels) -> tuple[float, float]:
    """Rows/s of the training loop's epochs, and the seconds of the batch-norm pass that ends the run."""
    network = predictor.new_network()
    data = predictor.training_data(images, labels)  # raw pixels, normalised and augmented per batch by the loop
    fit_network(network, predictor.training_data(images[:BATCH], labels[:BATCH]), SETTINGS,
                predictor.quantity.kind, progress=False, log=lambda line: None)  # warm-up
    start = time.perf_counter()
    with batch_norm_pass_timed() as passes:
        fit_network(network, data, SETTINGS, predictor.quantity.kind, progress=False, log=lambda line: None)
    total = time.perf_counter() - start
    return len(images) / (total - sum(passes)), sum(passes)


def write_images(images, workdir: Path) -> Table:
    """Write ``images`` as files in ``workdir``: PNG for gri (lossless, so the files hold exactly these pixels), FITS
    for ugriz; return the table naming them."""
    names = []
    for i, image in enumerate(images):
        if image.shape[0] == 3:
            name = f"g{i}.png"
            Image.fromarray(np.rint(image.transpose(1, 2, 0) * 255).astype(np.uint8)).save(workdir / name)
        else:
            name = f"g{i}.fits"
            fits.writeto(workdir / name, image, overwrite=True)
        names.append(name)
    return Table({"image": names})


def forward_rate(predictor, images) -> float:
    """Rows/s of the bare forward pass over ``images`` (already normalised), batch by batch."""
    network = predictor.networks()[0]
    x = predictor.prepare(images)
    with torch.inference_mode():
        network(x[:BATCH])
        start = time.perf_counter()
        for i in range(0, len(x), BATCH):
            network(x[i:i + BATCH])
        return len(x) / (time.perf_counter() - start)


def prediction_rate(predictor, table: Table, workdir: Path) -> float:
    """Rows/s of ``astro_cnn.predict`` reading the images of ``table`` from ``workdir``."""
    astro_cnn.predict(table[:BATCH], model=predictor, image_column="image", image_dir=workdir, batch_size=BATCH,
                      device="cpu")
    start = time.perf_counter()
    out = astro_cnn.predict(table, model=predictor, image_column="image", image_dir=workdir, batch_size=BATCH,
                            device="cpu")
    rate = len(table) / (time.perf_counter() - start)
    unread = [s for s in out["status"] if s.startswith(("image", "no source"))]
    assert not unread, f"every benchmark image must reach the model: {unread[:3]}"
    return rate


def option_speedups(predictor, images) -> dict[str, float]:
    """Forward rows/s with channels-last and with bf16 autocast, relative to the default."""
    from astro_cnn.engine.speed import autocast, prepare_input, prepare_network

    x = predictor.prepare(images[:BATCH])
    rates = {}
    for name, channels_last, bf16 in (("default", False, False), ("channels_last", True, False),
                                      ("bf16", False, True)):
        network = prepare_network(predictor.new_network().eval(), channels_last=channels_last)
        batch = prepare_input(x, channels_last=channels_last)
        with torch.inference_mode(), autocast("cpu", bf16):
            network(batch)
            start = time.perf_counter()
            for _ in range(STEPS):
                network(batch)
        rates[name] = STEPS * BATCH / (time.perf_counter() - start)
    return {name: rates[name] / rates["default"] for name in ("channels_last", "bf16")}


def main() -> None:
    torch.manual_seed(0)
    loop_ratios, predict_ratios, speedups = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            predictor, images, labels = predictor_for(*case)
            predictor.members_ = [predictor.new_network().state_dict()]
            workdir = Path(tmp) / case[0]
            workdir.mkdir()
            table = write_images(images, workdir)
            train_rows = BATCH * STEPS
            raw = loop = forward = predicted = 0.0
            norm_pass = np.inf
            for _ in range(REPEATS):
                raw = max(raw, raw_training_rate(predictor, images[:train_rows], labels[:train_rows]))
                rate, seconds = loop_training_rate(predictor, images[:train_rows], labels[:train_rows])
                loop, norm_pass = max(loop, rate), min(norm_pass, seconds)
                forward = max(forward, forward_rate(predictor, images))
                predicted = max(predicted, prediction_rate(predictor, table, workdir))
            loop_ratios[case[0]], predict_ratios[case[0]] = loop / raw, predicted / forward
            speedups[case[0]] = option_speedups(predictor, images)
            print(f"# {case[0]}: raw train {raw:.1f} rows/s, loop {loop:.1f} rows/s (+ {norm_pass:.2f} s for the "
                  f"batch-norm pass over {train_rows} rows at the end); forward {forward:.1f} rows/s, predict from "
                  f"files {predicted:.1f} rows/s (best of {REPEATS})")
    for name, ratio in loop_ratios.items():
        print(f"train_loop_ratio_{name}: {ratio:.3f}")
    for name, ratio in predict_ratios.items():
        print(f"predict_ratio_{name}: {ratio:.3f}")
    for name, options in speedups.items():
        for option, ratio in options.items():
            print(f"speedup_{option}_{name}: {ratio:.3f}")
    print(f"train_loop_ratio: {min(loop_ratios.values()):.3f}")
    print(f"predict_ratio: {min(predict_ratios.values()):.3f}")


if __name__ == "__main__":
    main()
