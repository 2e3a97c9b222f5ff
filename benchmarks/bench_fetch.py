"""Benchmark: fetching 500 colour JPEG cutouts from a local SkyServer stand-in with 100 ms latency per request.

Runs the ``sdss-jpeg`` survey against :class:`astro_cnn_sdss.testing.SDSSTestServer` (real SDSS JPEGs from
``tests/data/sdss``) once with the default concurrency and once one request at a time, each with an empty
cache, and prints ``concurrent_speedup:`` (goal >= 8).

Run from the repository root: ``python benchmarks/bench_fetch.py``.
"""

import tempfile
import time
from pathlib import Path

import numpy as np

from astro_cnn.target import TargetList
from astro_cnn_sdss import conf
from astro_cnn_sdss.surveys import SDSSJpegSurvey
from astro_cnn_sdss.testing import SDSSTestServer

N = 500
LATENCY = 0.1
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "sdss"


def run(server: SDSSTestServer, workers: int) -> tuple[float, int]:
    rng = np.random.default_rng(1)
    targets = TargetList(rng.uniform(120, 240, N), rng.uniform(0, 60, N))
    with tempfile.TemporaryDirectory() as cache:
        survey = SDSSJpegSurvey(cache_dir=cache, base_url=server.skyserver_url, max_workers=workers)
        start = time.perf_counter()
        batch = survey.cutouts(targets, progress=False)
        elapsed = time.perf_counter() - start
    return elapsed, int(batch.ok.sum())


def main() -> None:
    with SDSSTestServer(FIXTURES, latency=LATENCY) as server:
        workers = int(conf.max_workers)
        t_concurrent, ok_concurrent = run(server, workers)
        t_serial, ok_serial = run(server, 1)
    print(f"cutouts: {N}")
    print(f"latency_s: {LATENCY}")
    print(f"max_workers: {workers}")
    print(f"ok_concurrent: {ok_concurrent}")
    print(f"ok_serial: {ok_serial}")
    print(f"concurrent_s: {t_concurrent:.2f}")
    print(f"serial_s: {t_serial:.2f}")
    print(f"concurrent_cutouts_per_s: {N / t_concurrent:.1f}")
    print(f"concurrent_speedup: {t_serial / t_concurrent:.2f}")


if __name__ == "__main__":
    main()
