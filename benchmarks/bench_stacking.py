"""Benchmark: our 5-band stacks against SWarp on the same real SDSS frames and targets.

Frames: the 20 DR17 corrected frames (4 fields x ugriz) in ``/work/shared/data/sdss_dr17_frames_ugriz_4fields``,
decompressed once into a temporary directory that both tools read.  Targets: the 10 brightest unsaturated
isolated sources of each field's r frame.  Ours: the ``sdss-stack`` survey (``frames_dir=``, offline, one
worker, bicubic spline).  SWarp (``apt-get install swarp``): one run per target and band, Lanczos-3, no
background subtraction, one thread.  Both make 64 x 64 grids at 0.396"/px centred on the target.

Prints, per target and band compared through each stack's own WCS, the median ratio of 4" aperture fluxes
(ours / SWarp, goal within 1 % of 1), the median centroid offset in pixels (goal < 0.1), and the ratio of
stacks per second (ours / SWarp, goal >= 1).

Run from the repository root: ``python benchmarks/bench_stacking.py``.
"""

import bz2
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from photutils.aperture import CircularAperture, aperture_photometry
from photutils.centroids import centroid_2dg
from scipy.ndimage import maximum_filter

from astro_cnn.target import TargetList
from astro_cnn_sdss.surveys import SDSSStackSurvey

FRAMES = Path("/work/shared/data/sdss_dr17_frames_ugriz_4fields")
BANDS = ("u", "g", "r", "i", "z")
SIZE, SCALE = 64, 0.396
PER_FIELD = 10
APERTURE_PX = 4.0 / SCALE


def main() -> int:
    swarp = shutil.which("SWarp") or shutil.which("swarp")
    if swarp is None:
        print("SWarp not found: apt-get update && apt-get install -y swarp", file=sys.stderr)
        return 1
    if not FRAMES.is_dir():
        print(f"real frames not found in {FRAMES}", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore", FITSFixedWarning)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frames_dir = work / "frames"
        frames_dir.mkdir()
        for path in sorted(FRAMES.glob("frame-*.fits.bz2")):
            (frames_dir / path.name.removesuffix(".bz2")).write_bytes(bz2.decompress(path.read_bytes()))
        fields = sorted({p.name[8:21] for p in frames_dir.glob("frame-r-*.fits")})
        targets = [(field, ra, dec) for field in fields for ra, dec in _targets(frames_dir, field)]
        ra = np.array([t[1] for t in targets])
        dec = np.array([t[2] for t in targets])

        start = time.perf_counter()
        survey = SDSSStackSurvey(frames_dir=frames_dir, offline=True, cache_dir=work / "cache", max_workers=1)
        ours = survey.cutouts(TargetList(ra, dec), size=SIZE)
        t_ours = time.perf_counter() - start

        start = time.perf_counter()
        theirs = [[_swarp(swarp, frames_dir / f"frame-{b}-{field}.fits", r, d, work) for b in BANDS]
                  for field, r, d in targets]
        t_swarp = time.perf_counter() - start

    ratios, offsets = [], []
    for k, (_, r, d) in enumerate(targets):
        if ours.status[k]:
            print(f"target {k} failed: {ours.status[k]}", file=sys.stderr)
            continue
        for c in range(len(BANDS)):
            mine, my_wcs = ours.images[k, c], ours.meta["wcs"][k]
            other, other_wcs = theirs[k][c]
            ratios.append(_flux(mine, my_wcs, r, d) / _flux(other, other_wcs, r, d))
            if c == 2 or BANDS[c] in "gi":
                offsets.append(_offset(mine, my_wcs, other, other_wcs, r, d))
    n = len(targets)
    print(f"targets: {n}")
    print(f"ours_s: {t_ours:.2f}")
    print(f"swarp_s: {t_swarp:.2f}")
    print(f"ours_stacks_per_s: {n / t_ours:.2f}")
    print(f"swarp_stacks_per_s: {n / t_swarp:.2f}")
    print(f"flux_ratio_p05: {np.percentile(ratios, 5):.4f}")
    print(f"flux_ratio_p95: {np.percentile(ratios, 95):.4f}")
    print(f"centroid_offset_px_p90: {np.percentile(offsets, 90):.4f}")
    print(f"flux_ratio_median: {np.median(ratios):.4f}")
    print(f"centroid_offset_px: {np.median(offsets):.4f}")
    print(f"throughput_ratio_vs_swarp: {(n / t_ours) / (n / t_swarp):.2f}")
    return 0


def _targets(frames_dir: Path, field: str) -> list[tuple[float, float]]:
    """Brightest unsaturated, isolated peaks of the r frame, away from the edges of every band."""
    with fits.open(frames_dir / f"frame-r-{field}.fits") as hdul:
        data, wcs = hdul[0].data.astype(float), WCS(hdul[0].header)
    others = []
    for band in BANDS:
        with fits.open(frames_dir / f"frame-{band}-{field}.fits") as hdul:
            others.append((WCS(hdul[0].header), hdul[0].data.shape))
    peaks = (data == maximum_filter(data, size=41)) & (data > 5) & (data < 300)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(data[ys, xs])[::-1]
    chosen = []
    for i in order:
        sky = wcs.all_pix2world([[xs[i], ys[i]]], 0)[0]
        inside = True
        for other_wcs, (ny, nx) in others:
            x, y = other_wcs.all_world2pix([sky], 0)[0]
            inside &= SIZE < x < nx - SIZE and SIZE < y < ny - SIZE
        if inside:
            chosen.append((float(sky[0]), float(sky[1])))
        if len(chosen) == PER_FIELD:
            break
    return chosen


def _swarp(swarp: str, frame: Path, ra: float, dec: float, work: Path) -> tuple[np.ndarray, WCS]:
    out, weight = work / "swarp.fits", work / "swarp.weight.fits"
    subprocess.run([swarp, str(frame), "-CENTER_TYPE", "MANUAL", "-CENTER", f"{ra:.8f},{dec:.8f}",
                    "-PIXELSCALE_TYPE", "MANUAL", "-PIXEL_SCALE", str(SCALE), "-IMAGE_SIZE", f"{SIZE},{SIZE}",
                    "-RESAMPLING_TYPE", "LANCZOS3", "-SUBTRACT_BACK", "N", "-WRITE_XML", "N", "-VERBOSE_TYPE",
                    "QUIET", "-NTHREADS", "1", "-IMAGEOUT_NAME", str(out), "-WEIGHTOUT_NAME", str(weight),
                    "-RESAMPLE_DIR", str(work)], check=True, cwd=work, capture_output=True)
    with fits.open(out) as hdul:
        return hdul[0].data.astype(float), WCS(hdul[0].header)


def _flux(image: np.ndarray, wcs: WCS, ra: float, dec: float) -> float:
    x, y = wcs.all_world2pix([[ra, dec]], 0)[0]
    return float(aperture_photometry(image, CircularAperture((x, y), APERTURE_PX))["aperture_sum"][0])


def _offset(mine: np.ndarray, my_wcs: WCS, other: np.ndarray, other_wcs: WCS, ra: float, dec: float) -> float:
    x, y = _centroid(mine, *my_wcs.all_world2pix([[ra, dec]], 0)[0])
    sky = my_wcs.all_pix2world([[x, y]], 0)
    ex, ey = other_wcs.all_world2pix(sky, 0)[0]
    ox, oy = _centroid(other, *other_wcs.all_world2pix([[ra, dec]], 0)[0])
    return float(np.hypot(ox - ex, oy - ey))


def _centroid(image: np.ndarray, x: float, y: float, half: int = 5) -> tuple[float, float]:
    x0, y0 = int(round(x)) - half, int(round(y)) - half
    cx, cy = centroid_2dg(image[y0:y0 + 2 * half + 1, x0:x0 + 2 * half + 1])
    return cx + x0, cy + y0


if __name__ == "__main__":
    sys.exit(main())
