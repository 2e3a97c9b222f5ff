"""Peak memory of one training epoch on 10,000 vs 100,000 stored images (issue 11).

Real SDSS cutouts (the test fixtures, resized to 32×32) are replicated into two training stores;
each epoch runs in a fresh process (``small_cnn``, batch 256, on the CPU) whose peak resident set
size is read from ``getrusage``.  Training reads the store a batch at a time, so the peak must not
grow with the number of images: ``train_memory_ratio`` (peak at 100,000 over peak at 10,000)
should be at most 1.2.  Building the stores, likewise, streams one image at a time.

Run from the repository root: ``python benchmarks/bench_train_memory.py``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (10_000, 100_000)
SIDE = 32
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "gri_small"


def build(directory: Path, n: int) -> None:
    """A store of ``n`` replicated real cutouts with labels in the metallicity range."""
    from astropy.table import Table
    from PIL import Image

    from astro_cnn.engine.store import write_store
    from astro_cnn.image_files import decode_colour

    cutouts = []
    for path in sorted(FIXTURES.glob("*.jpg")):
        buffer = Path(tempfile.mkstemp(suffix=".png")[1])
        Image.open(path).resize((SIDE, SIDE)).save(buffer)
        cutouts.append(decode_colour(buffer))
        buffer.unlink()
    labels = np.random.default_rng(0).uniform(8.3, 9.1, n)
    images = ((i, cutouts[i % len(cutouts)], f"replica {i}") for i in range(n))
    write_store(directory, images, Table({"oh_p50": labels}), bands="irg", pixel_scale=0.296 * 4,
                info={"label_column": "oh_p50", "extras": [], "quantity": "metallicity", "survey": "sdss-jpeg"},
                log=lambda line: None)


def child(store_dir: str) -> None:
    """One epoch on a store; prints the peak RSS in MiB and the rate."""
    import torch

    import astro_cnn

    torch.set_num_threads(2)
    start = time.perf_counter()
    model = astro_cnn.train(store_dir, "metallicity", backbone="small_cnn", recipe="quick", epochs=1,
                            batch_size=256, device="cpu", progress=False, log=lambda line: None)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.1f} {model.info['training_data']['rows'] * model.info['epochs'] / seconds:.1f}")


def main() -> None:
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            store = Path(tmp) / f"store{n}"
            start = time.perf_counter()
            build(store, n)
            built = time.perf_counter() - start
            out = subprocess.run([sys.executable, __file__, "--child", str(store)], check=True, capture_output=True,
                                 text=True).stdout.split()
            peaks[n] = float(out[0])
            print(f"# {n} images: store built in {built:.1f} s; training (head epoch + 1 epoch) peak RSS "
                  f"{peaks[n]:.0f} MiB, {float(out[1]):.0f} images/s")
    for n in SIZES:
        print(f"train_peak_rss_mib_{n}: {peaks[n]:.1f}")
    print(f"train_memory_ratio: {peaks[SIZES[1]] / peaks[SIZES[0]]:.3f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
