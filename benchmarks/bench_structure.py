"""The structure CNN against the classical PSF-convolved Sérsic fit, on galaxies injected into a held-out field.

Injects ``--galaxies`` catalogue galaxies (seed 1234) with continuously drawn Sérsic shapes into the five frames
of the field the bundled ``structure`` model never trained on (recorded in the model:
``info["training_data"]["held_out_field"]``), stacks them like ``sdss-stack`` targets, and measures n, r_e and q
with both methods on the same stacks:

- the CNN (``--model``, by default the bundled model as shipped: its head predicts each value's uncertainty, so
  it runs without test-time augmentation) on ``--device``;
- the fit (:func:`astro_cnn_structure.sersic_fit.fit_stacks`: Sersic2D convolved with the frame's measured PSF,
  astropy's Levenberg-Marquardt fitter, r band) on one CPU core.

Accuracy: median and robust scatter of the fractional error and the outlier rate (|error| > 50 %, or no value).
The same accuracy is printed for the small galaxies (true r_e < 2″), where a fit has least to work with.
Speed: galaxies per second of each method on the stacks in memory (image making excluded for both); the CNN is
timed with torch's default threads and with one thread (core for core with the fit), and, for comparison, with
the 8-fold test-time augmentation it does not need, each the best of three runs.  Ends with ``name: value``
lines, among them ``structure_speedup_vs_fit`` (CNN galaxies/s over fit galaxies/s) and
``structure_fit_over_cnn_scatter_<param>`` (above 1: the CNN is the more precise).

Run from the repository root with the shared data beside it::

    nice -n 5 python benchmarks/bench_structure.py [--galaxies 80] [--fainter MAG] [--model MODEL]
        [--device cpu|cuda]
        [--figure PNG] [--table ECSV]

``--device cuda`` on a machine without a CUDA GPU prints one line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from astropy.table import Table

import astro_cnn
from astro_cnn.target import TargetList
from astro_cnn_injection.plan import plan_injections, select_galaxies
from astro_cnn_injection.survey import SDSSInjectedSurvey
from astro_cnn_structure.metrics import structure_metrics
from astro_cnn_structure.sersic_fit import fit_stacks
from astro_cnn_structure.truth import truth_from_plan

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CATALOG = SHARED / "sdss_dr14_specphoto_10k_catalog" / "catalog.ecsv"
FRAMES = SHARED / "sdss_dr17_frames_ugriz_4fields"
PARAMETERS = ("sersic_n", "r_e", "q")
SEED = 1234
#: Galaxies with a true r_e below this (arcsec, about 1.7 times the held-out field's r seeing) are "small".
SMALL_R_E = 2.0


def held_out_stacks(field: str, galaxies: int, frames: Path, catalog: Path,
                    fainter: float = 0.0) -> tuple[Table, np.ndarray]:
    """Inject ``galaxies`` catalogue galaxies into the five frames of ``field`` only, ``fainter`` magnitudes fainter
    than catalogued in every band (same shapes and sizes); return plan and stacks."""
    chosen = select_galaxies(Table.read(catalog))
    chosen = chosen[np.sort(np.random.default_rng(SEED).permutation(len(chosen))[:galaxies])]
    with tempfile.TemporaryDirectory() as tmp:
        for path in frames.glob(f"frame-*-{field}.fits.bz2"):
            (Path(tmp) / path.name).symlink_to(path.resolve())
        plan = plan_injections(chosen, tmp, seed=SEED, structure="continuous")
        for band in "ugriz":
            plan[f"mag_{band}"] += fainter
        survey = SDSSInjectedSurvey(plan=plan, frames_dir=tmp, seed=SEED, offline=True)
        batch = survey.cutouts(TargetList.from_table(plan), progress=False)
    plan["status"] = np.asarray(batch.status, dtype=str)
    keep = plan["status"] == ""
    return plan[keep], batch.images[keep]


def cnn_rate(model, images: np.ndarray, threads: int | None, repeats: int = 3) -> tuple[np.ndarray, np.ndarray, float]:
    """Predictions, errors and galaxies per second of ``model`` on ``images``: the best of ``repeats`` timed runs
    after a warm-up batch (the machine may be shared)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model.predict_images(images[:8])
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            prediction = model.predict_images(images)
            if model.device.startswith("cuda"):
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return np.asarray(prediction.value), np.asarray(prediction.error), len(images) / best


def figure(truth: np.ndarray, cnn: np.ndarray, fit: np.ndarray, path: Path) -> None:
    """Predicted against true n, r_e and q for both methods."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), layout="constrained")
    labels = ("Sérsic index n", "r_e (arcsec)", "axis ratio q")
    for k, axis in enumerate(axes):
        finite = np.isfinite(fit[:, k])
        axis.scatter(truth[finite, k], fit[finite, k], s=10, alpha=0.6, label="Sérsic fit (astropy)", color="C1")
        axis.scatter(truth[:, k], cnn[:, k], s=10, alpha=0.6, label="CNN", color="C0")
        values = np.concatenate([truth[:, k], cnn[:, k], fit[finite, k]])
        low, high = values.min(), values.max()
        axis.plot([low, high], [low, high], color="k", lw=0.8)
        if k < 2:
            ticks = [0.5, 1, 2, 4] if k == 0 else [1, 2, 5, 10]
            axis.set_xscale("log")
            axis.set_yscale("log")
            for scale in (axis.xaxis, axis.yaxis):
                scale.set_major_locator(FixedLocator(ticks))
                scale.set_major_formatter(ScalarFormatter())
                scale.set_minor_formatter(NullFormatter())
        axis.set_xlabel(f"true {labels[k]}")
        axis.set_ylabel(f"measured {labels[k]}")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galaxies", type=int, default=80, help="catalogue galaxies injected (default 80)")
    parser.add_argument("--model", help="the structure model to measure: a saved-model file or a registered name "
                                        "(default: the bundled model)")
    parser.add_argument("--device", default="cpu", help="device of the CNN: cpu, cuda or cuda:N (the fit: CPU)")
    parser.add_argument("--frames", type=Path, default=FRAMES)
    parser.add_argument("--catalog", type=Path, default=CATALOG)
    parser.add_argument("--fainter", type=float, default=0.0, metavar="MAG",
                        help="inject the galaxies this many magnitudes fainter than catalogued (default 0), to see "
                             "both methods where the light is scarce")
    parser.add_argument("--figure", type=Path, help="write the predicted-against-true figure here (PNG)")
    parser.add_argument("--table", type=Path, help="write the per-galaxy results here (ECSV)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"structure_device: {args.device} asked for but no CUDA GPU is available here; nothing measured")
        return 0
    for path in (args.frames, args.catalog):
        if not path.exists():
            parser.error(f"{path} does not exist (the project's shared data is needed beside the repository)")
    try:
        model = astro_cnn.resolve_predictor(args.model, "structure")
    except astro_cnn.AstroCNNError as error:
        parser.error(f"--model: {error}")
    model.device = args.device
    field = model.info["training_data"]["held_out_field"]
    plan, images = held_out_stacks(field, args.galaxies, args.frames, args.catalog, args.fainter)
    truth = truth_from_plan(plan)
    cnn, cnn_err, cnn_rate_default = cnn_rate(model, images, None)
    _, _, cnn_rate_one = cnn_rate(model, images, 1) if args.device == "cpu" else (None, None, np.nan)
    transformed = copy.copy(model)
    transformed.tta = True  # for comparison: the 8 dihedral transforms averaged, as models without a variance head
    _, _, cnn_rate_tta = cnn_rate(transformed, images, None)
    fit, fit_status, fit_seconds = fit_stacks(images, np.asarray(plan["psf_fwhm_r"], float), band=2)
    fit_rate = len(images) / fit_seconds
    cnn_metrics, fit_metrics = structure_metrics(truth, cnn), structure_metrics(truth, fit)

    print(f"model: {model.name} (held-out field {field}, TTA {model.tta})")
    print(f"{'parameter':10s} {'method':4s} {'median':>8s} {'scatter':>8s} {'outliers':>8s} {'measured':>8s}")
    for name in PARAMETERS:
        for method, m in (("CNN", cnn_metrics[name]), ("fit", fit_metrics[name])):
            print(f"{name:10s} {method:4s} {m['median']:+8.3f} {m['scatter']:8.3f} {m['outlier_rate']:8.3f} "
                  f"{m['measured']:8.3f}")
    if args.figure:
        figure(truth, cnn, fit, args.figure)
    if args.table:
        out = plan["id", "field", "mag_r", "psf_fwhm_r"].copy()
        for k, name in enumerate(PARAMETERS):
            out[f"true_{name}"], out[f"cnn_{name}"], out[f"cnn_{name}_err"] = truth[:, k], cnn[:, k], cnn_err[:, k]
            out[f"fit_{name}"] = fit[:, k]
        out["fit_status"] = fit_status
        out.write(args.table, format="ascii.ecsv", overwrite=True)
    coverage = {name: float(np.mean(np.abs(cnn[:, k] - truth[:, k]) <= cnn_err[:, k]))
                for k, name in enumerate(PARAMETERS)}
    print(f"structure_galaxies: {len(images)}")
    print(f"structure_fainter_mag: {args.fainter:g}")
    print(f"structure_device: {args.device}")
    print(f"structure_torch_threads: {torch.get_num_threads()}")
    print(f"structure_cnn_galaxies_per_s: {cnn_rate_default:.2f}")
    print(f"structure_cnn_galaxies_per_s_one_thread: {cnn_rate_one:.2f}")
    print(f"structure_fit_galaxies_per_s: {fit_rate:.3f}")
    print(f"structure_fit_flagged_fraction: {float(np.mean(fit_status != '')):.3f}")
    print(f"structure_speedup_vs_fit: {cnn_rate_default / fit_rate:.1f}")
    print(f"structure_speedup_vs_fit_one_thread: {cnn_rate_one / fit_rate:.1f}")
    print(f"structure_cnn_galaxies_per_s_with_tta: {cnn_rate_tta:.2f}")
    print(f"structure_speedup_vs_fit_with_tta: {cnn_rate_tta / fit_rate:.1f}")
    for name in PARAMETERS:
        c, f = cnn_metrics[name], fit_metrics[name]
        print(f"structure_cnn_scatter_{name}: {c['scatter']:.4f}")
        print(f"structure_fit_scatter_{name}: {f['scatter']:.4f}")
        print(f"structure_cnn_median_{name}: {c['median']:+.4f}")
        print(f"structure_fit_median_{name}: {f['median']:+.4f}")
        print(f"structure_cnn_outlier_rate_{name}: {c['outlier_rate']:.4f}")
        print(f"structure_fit_outlier_rate_{name}: {f['outlier_rate']:.4f}")
        print(f"structure_cnn_coverage_{name}: {coverage[name]:.3f}")
        print(f"structure_fit_over_cnn_scatter_{name}: {f['scatter'] / c['scatter']:.3f}")
    small = truth[:, 1] < SMALL_R_E
    print(f"structure_small_galaxies: {int(small.sum())} (true r_e < {SMALL_R_E:g} arcsec)")
    if small.sum() >= 5:
        cnn_small, fit_small = structure_metrics(truth[small], cnn[small]), structure_metrics(truth[small], fit[small])
        for name in PARAMETERS:
            c, f = cnn_small[name], fit_small[name]
            print(f"structure_small_cnn_scatter_{name}: {c['scatter']:.4f}")
            print(f"structure_small_fit_scatter_{name}: {f['scatter']:.4f}")
            print(f"structure_small_fit_over_cnn_scatter_{name}: {f['scatter'] / c['scatter']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
