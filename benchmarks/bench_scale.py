"""Catalogue-scale inference: memory flatness, streaming overhead and Dask scaling (issue 7).

Synthetic images go through the same path as survey cutouts (a Survey subclass feeding
``predict_to_file``), so the figures measure astro_cnn's streaming machinery, not a network.

Prints, as ``name: value`` lines:
- ``peak_rss_10k_mb`` / ``peak_rss_100k_mb`` and ``memory_ratio_100k_10k`` (goal <= 1.2);
- ``raw_forward_rows_per_s``, ``stream_rows_per_s`` and ``stream_ratio`` (goal >= 0.9);
- ``dask_speedup_2_workers`` (1 torch thread per worker).

Run from the repository root: ``python benchmarks/bench_scale.py``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import torch
from astropy.table import Table

import astro_cnn
from astro_cnn.engine import NetworkPredictor

SIZE, BATCH = 32, 256


class SyntheticSurvey(astro_cnn.Survey):
    """Deterministic noise images, one per target, seeded by the target's position."""

    name = "synthetic"
    bands = ("i", "r", "g")
    pixel_scale = 0.296 * u.arcsec
    image_size = SIZE

    def cutouts(self, targets, *, size=None, progress=False):
        rng = np.random.default_rng(int(abs(targets.ra[0]) * 1e6) if len(targets) else 0)
        images = rng.random((len(targets), 3, SIZE, SIZE), dtype=np.float32)
        return astro_cnn.ImageBatch(images, self.bands, self.pixel_scale, np.array(targets.status, dtype=object))


def make_model(path: Path) -> None:
    """A small-CNN metallicity model (one quick epoch on noise: speed, not accuracy, is measured)."""
    predictor = NetworkPredictor("metallicity", "synthetic", ("i", "r", "g"), SIZE, 0.296 * u.arcsec,
                                 backbone="small_cnn", tta=False)
    rng = np.random.default_rng(0)
    predictor.fit(rng.random((64, 3, SIZE, SIZE), dtype=np.float32), rng.uniform(8.5, 9.2, 64), recipe="quick",
                  epochs=1, progress=False, log=lambda line: None)
    predictor.tta = False
    predictor.save(path, overwrite=True)


def targets(n: int) -> Table:
    rng = np.random.default_rng(n)
    return Table({"objid": np.arange(n), "ra": rng.uniform(0, 360, n), "dec": rng.uniform(-60, 60, n)})


def stream(model: Path, n: int, out: Path, client=None) -> float:
    """Rows per second of predict_to_file over ``n`` rows."""
    start = time.perf_counter()
    astro_cnn.predict_to_file(targets(n), out, model=model, survey=SyntheticSurvey(), batch_size=BATCH,
                              progress=False, overwrite=True, client=client)
    return n / (time.perf_counter() - start)


def raw_forward(model: Path, repeats: int = 20) -> float:
    """Rows per second of the bare network forward pass with the same threads: the best of the chunk size
    and the predictor's internal sub-batch, so the reference is never the slower of the two."""
    predictor = astro_cnn.load_predictor(model)
    network = predictor.networks()[0]
    rates = []
    for batch_size in (BATCH, BATCH // 2):
        batch = predictor.prepare(np.random.default_rng(1).random((batch_size, 3, SIZE, SIZE), dtype=np.float32))
        with torch.inference_mode():
            network(batch)
            start = time.perf_counter()
            for _ in range(repeats):
                network(batch)
        rates.append(repeats * batch_size / (time.perf_counter() - start))
    return max(rates)


def child_peak_rss(model: Path, n: int, out: Path) -> float:
    """Peak resident memory (MB) of a fresh process streaming ``n`` rows."""
    run = subprocess.run([sys.executable, __file__, "--child", str(n), "--model", str(model), "--out", str(out)],
                         check=True, capture_output=True, text=True)
    return float(run.stdout.strip().splitlines()[-1])


def dask_speedup(model: Path, workdir: Path, n: int = 20_000) -> float:
    from distributed import Client, LocalCluster

    rates = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
            client.run(torch.set_num_threads, 1)
            stream(model, 2 * BATCH * workers, workdir / "warm.ecsv", client=client)
            rates[workers] = stream(model, n, workdir / f"dask{workers}.ecsv", client=client)
    return rates[2] / rates[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        torch.set_num_threads(1)
        stream(args.model, args.child, args.out)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = workdir / "model.acnn"
        make_model(model)
        raw = raw_forward(model)
        streamed = stream(model, 20_000, workdir / "stream.ecsv")
        rss_10k = child_peak_rss(model, 10_000, workdir / "m10k.ecsv")
        rss_100k = child_peak_rss(model, 100_000, workdir / "m100k.ecsv")
        speedup = dask_speedup(model, workdir)
    print(f"peak_rss_10k_mb: {rss_10k:.1f}")
    print(f"peak_rss_100k_mb: {rss_100k:.1f}")
    print(f"memory_ratio_100k_10k: {rss_100k / rss_10k:.3f}")
    print(f"raw_forward_rows_per_s: {raw:.1f}")
    print(f"stream_rows_per_s: {streamed:.1f}")
    print(f"stream_ratio: {streamed / raw:.3f}")
    print(f"dask_speedup_2_workers: {speedup:.3f}")


if __name__ == "__main__":
    main()
