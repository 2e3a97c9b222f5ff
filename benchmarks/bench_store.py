"""Writing a training store from image files: one process against worker processes (issue 11).

Replicates the 100 real SDSS gri JPEG cutouts bundled with the SDSS plugin to ``--files`` files,
then builds the training store of a table naming them twice in one run: reading the files in this
process, and in one worker process per CPU (:mod:`astro_cnn.engine.file_reading`); checks that the
two stores are byte for byte the same.  Ends with ``name: value`` lines, among them
``store_build_speedup`` (rows/s with workers over rows/s in one process).

Run from the repository root: ``python benchmarks/bench_store.py [--files 3000]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from astro_cnn.engine.file_reading import store_workers
from astro_cnn.engine.train import build_store

JPEGS = Path(__file__).resolve().parents[1] / "plugins" / "astro_cnn_sdss" / "bundled" / "jpeg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000, help="image files in the training set (default 3000)")
    args = parser.parse_args(argv)
    cutouts = sorted(JPEGS.glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        names = []
        for k in range(args.files):
            name = f"{k:06d}.jpg"
            shutil.copyfile(cutouts[k % len(cutouts)], tmp / name)
            names.append(name)
        table = Table({"image": names, "oh_p50": np.full(len(names), 8.9)})
        rates, stores = {}, {}
        for label, workers in (("one_process", 0), ("workers", store_workers())):
            start = time.perf_counter()
            stores[label] = build_store(tmp / f"store_{label}", table, "metallicity", image_column="image",
                                        image_dir=tmp, workers=workers, log=lambda line: None)
            rates[label] = len(names) / (time.perf_counter() - start)
        same = ((stores["one_process"].directory / "images.bin").read_bytes()
                == (stores["workers"].directory / "images.bin").read_bytes())
    print(f"store_files: {args.files}")
    print(f"store_cpus: {os.cpu_count()}")
    print(f"store_workers: {store_workers()}")
    print(f"store_identical: {same}")
    print(f"store_build_rows_per_s_one_process: {rates['one_process']:.1f}")
    print(f"store_build_rows_per_s_workers: {rates['workers']:.1f}")
    print(f"store_build_speedup: {rates['workers'] / rates['one_process']:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
