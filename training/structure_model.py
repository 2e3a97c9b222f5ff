"""Train, calibrate, score and write the bundled ``structure`` model on galaxies injected into real SDSS frames.

Usage (from the repository root, with the shared data beside it)::

    nice -n 5 python training/structure_model.py \\
        ../shared/data/sdss_dr14_specphoto_10k_catalog/catalog.ecsv \\
        ../shared/data/sdss_dr17_frames_ugriz_4fields [--write]

:data:`GALAXIES` catalogue galaxies (0 < z < 0.4) are injected into the real frames with Sérsic
indices drawn continuously (``plan_injections(..., structure="continuous")``); those placed in
three fields train the network, those placed in :data:`HELD_OUT_FIELD` (never trained on) score
it.  :data:`MORE_TRAINING` injects the catalogue again with other seeds, keeping the galaxies
placed in the three training fields (none of the held-out galaxies), twice as catalogued and three
times dimmed, so that the network also learns galaxies fainter than the spectroscopic sample;
:data:`CALIBRATION` injects it once more, dimmed, to calibrate the uncertainties of the trained
network.  ``--write`` saves the model and its model
card into ``plugins/astro_cnn_structure/models`` and a few held-out stacks as the plugin's demo.
The shipped model is exactly the one scored.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import torch
from astropy.io import fits
from astropy.table import QTable, Table, vstack

from astro_cnn.engine.calibration import describe_error_model
from astro_cnn.engine.predictor import ImageRows, NetworkPredictor
from astro_cnn.target import TargetList
from astro_cnn_injection.plan import plan_injections, select_galaxies
from astro_cnn_injection.survey import SDSSInjectedSurvey
from astro_cnn_structure.metrics import structure_metrics
from astro_cnn_structure.truth import truth_from_plan

__all__ = ["GALAXIES", "HELD_OUT_FIELD", "MORE_TRAINING", "CALIBRATION", "plan_structure_set",
           "plan_more_training", "stack_structure_set", "train", "calibrate", "score",
           "metric_lines", "breakdown", "field_and_brightness_lines", "main"]

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugins" / "astro_cnn_structure"
MODEL_NAME = "structure-sdss-injected-v1"
#: Galaxies injected: every one of the catalogue's 4,479 galaxies at 0 < z < 0.4, in random order.
GALAXIES = 4479
#: The field whose galaxies are held out (as for the photo-z and stellar-mass models: its r seeing, 1.16″,
#: lies inside that of the three training fields).
HELD_OUT_FIELD = "003918-3-0213"
SEED = 16
#: Network and schedule: the compact ``small_cnn`` at 32 channels after folding each 2×2 pixels into channels
#: (about 1.2 M parameters; on the project's CPU as accurate as 16 channels on the full-resolution image after 20
#: epochs, n/r_e/q 0.060/0.053/0.028 against 0.063/0.054/0.030, and 1.8 times faster), the structure plugin's
#: head (sized by the quantity, predicting each output's variance in a branch of its own that does not train the
#: backbone) and recipe, for 64 epochs (the recipe's cosine cycle fitted to them).
BACKBONE, BACKBONE_OPTIONS = "small_cnn", {"width": 32, "space_to_depth": 2}
HEAD, HEAD_OPTIONS = "multi_output", {"variance": True, "separate_variance": True}
RECIPE, EPOCHS = "structure", 64
#: The head gives each galaxy its own uncertainty, so the model predicts without test-time augmentation (8 times
#: faster; the recipe's dihedral augmentation still trains it).
TTA = False
#: More training galaxies: (seed, largest dimming in magnitudes) of further injections of the whole catalogue, of
#: which the galaxies placed in the training fields are kept; each is dimmed by a random amount, uniform from 0 to
#: the largest dimming, in every band alike.  Three of the five are dimmed, so that nearly half of the training stacks
#: are: against one (a quarter of them), that lowered the scatter of n and r_e 1-3 mag fainter than catalogued by
#: 11-30 % and left it as it was on bright galaxies (``docs/structure.rst``).
MORE_TRAINING = ((17, 0.0), (18, 3.0), (19, 0.0), (21, 3.0), (22, 3.0))
#: (seed, largest dimming) of one more injection of the catalogue whose galaxies placed in the training fields (none
#: of them held out, none of these stacks trained on) calibrate the uncertainties after training, in place of the
#: recipe's validation split: dimmed like the seed-18 training stacks (0-3 mag), so that the calibration sees the
#: errors of faint galaxies as often as those of bright ones.
CALIBRATION = (20, 3.0)
#: Held-out stacks shipped as the plugin's demo input.
DEMO_ROWS = 6


def plan_structure_set(catalog: str | Path, frames_dir: str | Path, *, galaxies: int = GALAXIES, seed: int = SEED,
                       held_out_field: str = HELD_OUT_FIELD) -> Table:
    """Plan the injection of ``galaxies`` random catalogue galaxies with continuously drawn Sérsic shapes.

    Returns
    -------
    Table
        The injection plan with ``split``: "test" for the galaxies placed in ``held_out_field``, else "train";
        ``id`` is the galaxy's row among the catalogue's selected galaxies, the same galaxy for every seed.
    """
    chosen = select_galaxies(Table.read(catalog))
    rows = np.sort(np.random.default_rng(seed).permutation(len(chosen))[:galaxies])
    plan = plan_injections(chosen[rows], frames_dir, seed=seed, structure="continuous")
    plan["id"] = rows
    plan["split"] = np.where(np.asarray(plan["field"]) == held_out_field, "test", "train")
    return plan


def plan_more_training(catalog: str | Path, frames_dir: str | Path, seed: int, dimming: float,
                       held_out: Table) -> Table:
    """Plan another injection of the catalogue with ``seed``, keeping the galaxies placed in the training fields,
    none of them a galaxy of ``held_out`` (a plan's held-out rows), each dimmed by a random 0 to ``dimming`` mag.

    Returns
    -------
    Table
        The injection plan, ``split`` "train", and ``dimming`` (mag) added to each band's magnitude.
    """
    plan = plan_structure_set(catalog, frames_dir, seed=seed)
    plan = plan[(plan["split"] == "train") & ~np.isin(np.asarray(plan["id"]), np.asarray(held_out["id"]))]
    plan["dimming"] = np.random.default_rng(seed).uniform(0.0, dimming, len(plan)) if dimming else np.zeros(len(plan))
    plan["dimming"].unit = "mag"
    for band in "ugriz":
        plan[f"mag_{band}"] += plan["dimming"]
    return plan


def stack_structure_set(plan: Table, frames_dir: str | Path, *, seed: int = SEED, cache: str | Path | None = None,
                        workers: int = 2) -> np.ndarray:
    """Stack every galaxy of ``plan`` (in ``workers`` processes); sets ``plan["status"]`` (empty where stacked).

    Returns
    -------
    ndarray, shape (N, 5, 64, 64)
        The stacks (nanomaggies), reused from ``cache`` when it was made from the same plan.
    """
    digest = hashlib.sha256(np.ascontiguousarray(plan["ra", "dec", "half_light_radius", "sersic_n", "axis_ratio",
                                                     "mag_u", "mag_g", "mag_r", "mag_i", "mag_z"]
                                                .as_array().tolist()).tobytes()).hexdigest()
    cache = None if cache is None else Path(cache)
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) == digest:
                plan["status"] = stored["status"]
                return stored["images"]
    chunks = np.array_split(np.arange(len(plan)), max(1, workers) * 10)
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        parts = list(pool.map(_stack_rows, [(plan, rows, str(frames_dir), seed) for rows in chunks]))
    images = np.concatenate([p[0] for p in parts])
    plan["status"] = np.concatenate([p[1] for p in parts])
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images, status=np.asarray(plan["status"], dtype=str), fingerprint=digest)
    return images


def _stack_rows(job: tuple[Table, np.ndarray, str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Stacks of ``rows`` of the plan (in a worker process); noise seeded by the row of the whole plan."""
    plan, rows, frames_dir, seed = job
    torch.set_num_threads(1)
    survey = SDSSInjectedSurvey(plan=plan, frames_dir=frames_dir, seed=seed, offline=True)
    batch = survey.cutouts(TargetList.from_table(plan[rows]), progress=False)
    print(f"stacked rows {rows[0]}-{rows[-1]}", flush=True)
    return batch.images, np.asarray(batch.status, dtype=str)


def train(plan: Table, images: np.ndarray, *, epochs: int = EPOCHS, seed: int = SEED, log=print) -> NetworkPredictor:
    """Train the structure network on the ``train`` split (its recipe's 10 % validation split calibrates it, until
    :func:`calibrate` recalibrates it on :data:`CALIBRATION`'s injection)."""
    rows = np.flatnonzero((plan["status"] == "") & (plan["split"] == "train"))
    predictor = NetworkPredictor("structure", "sdss-stack", "ugriz", 64, 0.396 * u.arcsec, name=MODEL_NAME,
                                 backbone=BACKBONE, backbone_options=BACKBONE_OPTIONS, head=HEAD,
                                 head_options=HEAD_OPTIONS)
    predictor.fit(images[rows], truth_from_plan(plan[rows]), recipe=RECIPE, epochs=epochs, tta=TTA, seed=seed,
                  progress=False, log=log, data_summary={"rows": len(rows), "fields": sorted(set(plan["field"][rows])),
                                         "held_out_field": HELD_OUT_FIELD, "injected": "continuous Sérsic n",
                                         "dimmed_rows": int(np.sum(_dimming(plan)[rows] > 0))})
    predictor.half_precision_storage = True
    predictor.channels_last = True  # on CPUs too: 1.6-1.9 times faster on the project's, the same numbers to 1e-5
    return predictor


def calibrate(predictor: NetworkPredictor, plan: Table, images: np.ndarray, log=print) -> dict:
    """Calibrate ``predictor``'s uncertainties on the stacked galaxies of ``plan`` (:data:`CALIBRATION`'s injection);
    :meth:`NetworkPredictor.calibrate` leaves out those that prediction would flag (non-finite or blank, or no
    source at the centre), and its log names them by their rows of ``plan`` (and of ``images``, one per row)."""
    rows = np.flatnonzero(plan["status"] == "")
    calibration = predictor.calibrate(ImageRows(images, rows), truth_from_plan(plan[rows]), log=log)
    used = len(rows) - sum(calibration.get("left_out", {}).values())
    log(f"uncertainties calibrated on {used} galaxies of a further injection (seed {CALIBRATION[0]}, dimmed by "
        f"0-{CALIBRATION[1]:g} mag): coverage of ±1σ "
        + ", ".join(f"{m['column']} {m['coverage_before']:.0%} before, {m['coverage_after']:.0%} after"
                    for m in calibration["outputs"]))
    return calibration


def _dimming(plan: Table) -> np.ndarray:
    """Each row's dimming (mag; 0 for rows of a plan without one)."""
    if "dimming" not in plan.colnames:
        return np.zeros(len(plan))
    return np.ma.filled(np.ma.asarray(plan["dimming"], dtype=float), 0.0)


def score(predictor: NetworkPredictor, plan: Table, images: np.ndarray, tta: bool | None = None,
          split: str = "test") -> dict:
    """Accuracy and ±1σ coverage of each output on the galaxies of ``split`` ("test": the held-out field; "train":
    the fields trained on), with the model's own test-time augmentation, or with ``tta`` when given.

    Returns
    -------
    dict
        ``split``; ``rows`` of the plan; per galaxy ``truth`` and ``predicted`` (N, 3) and ``covered`` (whether
        each output's ±1σ holds the true value); ``metrics`` (:func:`structure_metrics` with ``coverage``).
    """
    rows = np.flatnonzero((plan["status"] == "") & (plan["split"] == split))
    truth = truth_from_plan(plan[rows])
    shipped, predictor.tta = predictor.tta, predictor.tta if tta is None else tta
    try:
        prediction = predictor.predict_images(images[rows])
    finally:
        predictor.tta = shipped
    covered = np.column_stack([np.abs(value - truth[:, k]) <= error
                               for k, (value, error) in enumerate(map(prediction.output, range(truth.shape[1])))])
    metrics = structure_metrics(truth, prediction.value)
    for name, coverage in zip(metrics, covered.mean(axis=0)):
        metrics[name]["coverage"] = float(coverage)
    return {"split": split, "rows": rows, "truth": truth, "predicted": prediction.value, "covered": covered,
            "metrics": metrics}


def metric_lines(metrics: dict) -> list[str]:
    """One printed line per output of :func:`score`'s ``metrics``."""
    return [f"{name}: median {m['median']:+.3f} scatter {m['scatter']:.3f} outliers {m['outlier_rate']:.3f} "
            f"coverage {m['coverage']:.0%}" for name, m in metrics.items()]


def breakdown(scored: dict) -> list[str]:
    """The scatter of each output's fractional error, and how often its ±1σ holds the true value, in each quarter
    of the true r_e, of the true n and of the true q of the galaxies :func:`score` scored, one line per quarter."""
    truth, predicted, covered = scored["truth"], scored["predicted"], scored["covered"]
    lines = []
    for column, label, unit in ((1, "r_e", "″"), (0, "n", ""), (2, "q", "")):
        edges = np.quantile(truth[:, column], [0, 0.25, 0.5, 0.75, 1])
        quarter = np.clip(np.searchsorted(edges, truth[:, column], side="right") - 1, 0, 3)
        for k in range(4):
            inside = quarter == k
            metrics = structure_metrics(truth[inside], predicted[inside])
            scatter = " ".join(f"{name} {m['scatter']:.3f}" for name, m in metrics.items())
            coverage = " ".join(f"{name} {c:.0%}" for name, c in zip(metrics, covered[inside].mean(axis=0)))
            lines.append(f"{scored['split']} true {label} {edges[k]:.2f}-{edges[k + 1]:.2f}{unit} "
                         f"({int(inside.sum())} galaxies): scatter {scatter}; ±1σ coverage {coverage}")
    return lines


def field_and_brightness_lines(scored: dict, plan: Table) -> list[str]:
    """The median and scatter of each output's fractional error in each field (with the field's r-band PSF FWHM)
    and in each quarter of the r magnitude of the galaxies :func:`score` scored (``plan``: the plan it scored),
    one line each: a network that does not know a field's PSF errs differently from field to field, and one
    limited by its own precision rather than by the noise errs as much on the brightest galaxies as on the others."""
    rows, truth, predicted = scored["rows"], scored["truth"], scored["predicted"]
    fields, magnitude = np.asarray(plan["field"][rows]), np.asarray(plan["mag_r"][rows], dtype=float)
    groups = [(f"field {name} (r PSF FWHM {np.median(np.asarray(plan['psf_fwhm_r'][rows][fields == name])):.2f}″)",
               fields == name) for name in sorted(set(fields))]
    edges = np.quantile(magnitude, [0, 0.25, 0.5, 0.75, 1])
    quarter = np.clip(np.searchsorted(edges, magnitude, side="right") - 1, 0, 3)
    groups += [(f"r {edges[k]:.2f}-{edges[k + 1]:.2f}", quarter == k) for k in range(4)]
    lines = []
    for label, inside in groups:
        metrics = structure_metrics(truth[inside], predicted[inside])
        summary = " ".join(f"{name} {m['median']:+.3f} / {m['scatter']:.3f}" for name, m in metrics.items())
        lines.append(f"{scored['split']} {label} ({int(inside.sum())} galaxies): median / scatter {summary}")
    return lines


def write_demo(plan: Table, images: np.ndarray, rows: np.ndarray, directory: Path) -> Path:
    """Write held-out stacks (compressed FITS) and a table pointing at them, with the true parameters."""
    (directory / "images").mkdir(parents=True, exist_ok=True)
    truth = truth_from_plan(plan[rows])
    table = QTable()
    table["id"] = np.asarray(plan["id"][rows])
    table["ra"] = np.asarray(plan["ra"][rows]) * u.deg
    table["dec"] = np.asarray(plan["dec"][rows]) * u.deg
    table["field"] = np.asarray(plan["field"][rows])
    table["psf_fwhm_r"] = np.asarray(plan["psf_fwhm_r"][rows]) * u.arcsec
    table["true_sersic_n"] = truth[:, 0]
    table["true_r_e"] = truth[:, 1] * u.arcsec
    table["true_q"] = truth[:, 2]
    names = []
    for k in rows:
        name = f"images/structure-{int(plan['id'][k]):05d}.fits"
        header = fits.Header({"BUNIT": "nanomaggy", "BANDS": "ugriz",
                              "COMMENT": "Sersic galaxy injected into a real SDSS frame (held-out field)"})
        hdu = fits.CompImageHDU(images[k], header, compression_type="RICE_1", quantize_level=16.0)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(directory / name, overwrite=True)
        names.append(name)
    table["image"] = names
    table.meta["description"] = ("Sérsic galaxies injected into a real SDSS DR17 frame of a field the bundled "
                                 "structure model never trained on; true_* are the injected parameters")
    path = directory / "galaxies.ecsv"
    table.write(path, format="ascii.ecsv", overwrite=True)
    return path


def _backbone_text(predictor: NetworkPredictor) -> str:
    """The backbone's options and size, for the model card."""
    options = predictor.architecture["backbone_options"]
    fold = options.get("space_to_depth", 1)
    folded = f" after folding each {fold}×{fold} pixels into channels" if fold > 1 else ""
    parameters = sum(p.numel() for p in predictor.new_network().backbone.parameters())
    return f"{options['width']} channels in its first block{folded}, {parameters / 1e6:.1f} M parameters"


def model_card(predictor: NetworkPredictor, plan: Table, scored: dict, scored_tta: dict, minutes: float,
               epochs: int = EPOCHS) -> str:
    """The Markdown model card of the bundled structure model (``plan``: the injections it trained on and was
    scored on; ``scored``: as shipped; ``scored_tta``: with the 8 dihedral transforms averaged; ``epochs``: as
    trained)."""
    train_rows = (plan["status"] == "") & (plan["split"] == "train")
    fields = ", ".join(sorted(set(plan["field"][train_rows])))
    more_text = "; ".join(f"seed {seed}, " + (f"each galaxy dimmed by a random 0–{dimming:g} mag in every band"
                                              if dimming else "as catalogued") for seed, dimming in MORE_TRAINING)
    dimmed = int(np.sum(_dimming(plan)[train_rows] > 0))
    left_out = sum(predictor.info["training_data"].get("left_out", {}).values())
    lines = ["| output | median fractional error | scatter (robust σ) | outlier rate (>50 %) | ±1σ coverage | "
             "scatter with `tta=True` |", "|---|---|---|---|---|---|"]
    for name, m in scored["metrics"].items():
        lines.append(f"| {name} | {m['median']:+.3f} | {m['scatter']:.3f} | {m['outlier_rate']:.3f} | "
                     f"{m['coverage']:.0%} | {scored_tta['metrics'][name]['scatter']:.3f} |")
    calibration = predictor.info.get("calibration", {})
    calibration_rows = calibration["outputs"][0]["rows"] if calibration.get("outputs") else 0
    cal_lines = [f"- {m['column']}: σ = {describe_error_model(m, 'σ_head')}; "
                 f"coverage of ±1σ {m['coverage_before']:.0%} before, {m['coverage_after']:.0%} after"
                 for m in calibration.get("outputs", [])]
    return f"""# {MODEL_NAME}

**Demonstration model, not science-grade: trained on Sérsic galaxies injected into real SDSS frames, not on real
images of galaxies.**

Predicts the single-Sérsic structure of a galaxy from a 64×64 ugriz stack at 0.396″/px (survey `sdss-stack`): the
Sérsic index `sersic_n`, the effective radius along the major axis `r_e` (arcsec) and the axis ratio `q`, each with a
calibrated 1σ uncertainty (`*_err`).

## Data
{GALAXIES} galaxies (all its galaxies at 0 < z < 0.4; shapes and places drawn with seed {SEED}) of the SDSS DR14
spectroscopic export (`sdss_dr14_specphoto_10k_catalog`: class GALAXY), with their real ugriz magnitudes, injected by
the `sdss-injected` survey into four real SDSS DR17 corrected-frame fields
(`plan_injections(..., structure="continuous")`):

- Sérsic index uniform in log n over 0.5–6 (the range of the NYU-VAGC single-Sérsic fits, Blanton et al. 2005);
- axis ratio: uniform 0.5–1 for galaxies with observed u − r ≥ 2.22 (Strateva et al. 2001), else a disc of
  thickness 0.2 at random inclination;
- size: the Shen et al. (2003) size–magnitude relation (Petrosian R50 through the field's seeing, converted to the
  intrinsic half-light radius), floored at 0.5″ (circularised);
- each band rendered through its frame's WCS with a Gaussian PSF of the FWHM measured from that frame's stars, with
  photon noise, and stacked by the `sdss-stack` code.

Truth: `r_e` = circularised half-light radius / √q. Galaxies in fields {fields} train the network: those the
injection placed there, and those placed there by {len(MORE_TRAINING)} more injections of the catalogue
({more_text}), leaving out every galaxy held out below ({int(train_rows.sum())} stacks, {dimmed} of them dimmed, of
which {left_out} showed no source at their centre and were left out, as prediction flags such images; a random
10 % of the rest are the recipe's validation split). The uncertainties are calibrated afterwards on the
{calibration_rows} galaxies with a source at their centre of one more injection into the training fields (seed
{CALIBRATION[0]}, each galaxy dimmed by a random 0–{CALIBRATION[1]:g} mag, none held out, none trained on). The
{len(scored['rows'])} galaxies in field **{HELD_OUT_FIELD}** were never trained on and are scored below.

## Recipe
`{BACKBONE}` backbone ({_backbone_text(predictor)}) + `{HEAD}` head
(a mean and a log-variance per quantity output), recipe `{RECIPE}` for {epochs} epochs, seed {SEED}, random initial
weights; the network learns log10 n, log10 r_e and logit q, standardised: the means by squared error, the
log-variances by the Gaussian likelihood of the residuals (`astro_cnn.engine.losses`) in a branch of the head of
their own, which sees the pooled features detached (`separate_variance`), so that only the means' error trains the
backbone. Trained with dihedral
augmentation; it predicts without test-time augmentation, its uncertainty coming from the head. Weights stored in
half precision; saved to predict in channels-last memory layout on any device (`model.channels_last = True`), which
on the project's 2-core CPU runs it 1.6-1.9 times faster than the default layout with predictions equal to 1e-5.
Training took {minutes:.0f} minutes on a shared 2-core CPU.

## Held-out field {HELD_OUT_FIELD} ({len(scored['rows'])} injected galaxies never seen in training)

{chr(10).join(lines)}

Fractional error = (predicted − true) / true. Averaging the 8 flips and rotations (`model.tta = True`) lowers the
scatter as in the last column but takes 8 times the computation; the shipped model skips it, as its head gives the
uncertainty. The classical comparison (a PSF-convolved Sérsic fit with
astropy.modeling on the same stacks) is in `docs/structure.rst` and `benchmarks/bench_structure.py`.

## Uncertainty calibration
On the calibration injection, per output on its learned scale (`astro_cnn.engine.calibration`; σ_head the standard
deviation the head predicts, larger for fainter galaxies; a power above 1 makes the calibrated σ grow faster than
σ_head, as the errors do):

{chr(10).join(cal_lines)}

Reproduce: `nice -n 5 python training/structure_model.py CATALOG FRAMES_DIR --write` in a clone of the repository,
where `CATALOG` is the project's SDSS DR14 spectroscopic export (`sdss_dr14_specphoto_10k_catalog/catalog.ecsv`) and
`FRAMES_DIR` the four fields of SDSS DR17 corrected frames (`sdss_dr17_frames_ugriz_4fields`).

## Limitations
Trained on simulated appearances: smooth single-Sérsic profiles with a Gaussian PSF, sizes from a mean relation, four
fields of sky. Real galaxies (bulge + disc, spiral arms, bars, mergers, non-Gaussian PSF wings) differ, so predictions
on real `sdss-stack` images are indicative only; outside n 0.5–6 the model extrapolates (such rows are flagged).
It trained on galaxies as bright as SDSS spectroscopic targets (r < 17.8) and on the same galaxies dimmed by up to 3
mag: on galaxies 2 or 3 magnitudes fainter than catalogued its scatter grows, as the fit's does, and its ±1σ holds
64-75 % of the true values (least, 64 %, for n and q 3 magnitudes fainter), against 84-85 % on bright
galaxies
(`benchmarks/bench_structure.py --fainter 2`, `docs/structure.rst`). Fainter than that it has not been trained or
scored. The faintest stack it
trained on has a centre S/N of {predictor.info['centre_snr_range'][0]:.1f} (in a 1″ aperture, all bands): fainter
images are flagged as extrapolations, and below S/N 5 as showing no source.
"""


def _more_injection(args: argparse.Namespace, seed: int, dimming: float, plan: Table) -> tuple[Table, np.ndarray]:
    """:func:`plan_more_training` with ``seed`` and ``dimming`` (none of ``plan``'s held-out galaxies) and its
    stacks, kept in a cache beside ``args.cache``."""
    more = plan_more_training(args.catalog, args.frames_dir, seed, dimming, plan[plan["split"] == "test"])
    return more, stack_structure_set(more, args.frames_dir, seed=seed,
                                     cache=args.cache.with_name(f"{args.cache.stem}_more{seed}.npz"))


def main(argv: list[str] | None = None) -> int:
    """Build the injected set, train, score and (with ``--write``) save the bundled structure model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("frames_dir", type=Path)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "astro_cnn" / "structure_stacks.npz",
                        help="the stacks kept between runs (reused when made from the same plan)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--write", action="store_true", help="save the model, its card and the demo galaxies")
    parser.add_argument("--score", type=Path, metavar="MODEL",
                        help="train nothing: score this saved model (e.g. the bundled one) on the same galaxies, "
                             "overall and by quarter of the true r_e, n and q (scatter and ±1σ coverage), by field and "
                             "by quarter of the r magnitude (median and scatter), on the held-out and the training "
                             "fields")
    args = parser.parse_args(argv)
    plan = plan_structure_set(args.catalog, args.frames_dir)
    images = stack_structure_set(plan, args.frames_dir, cache=args.cache)
    print(f"{len(plan)} injected, {int((plan['status'] != '').sum())} without a stack, "
          f"{int((plan['split'] == 'test').sum())} in the held-out field {HELD_OUT_FIELD}")
    if args.score is not None:
        predictor = NetworkPredictor.load(args.score)
        held_out, trained_on = score(predictor, plan, images), score(predictor, plan, images, split="train")
        print("\n".join(metric_lines(held_out["metrics"]) + breakdown(held_out) + breakdown(trained_on)
                        + field_and_brightness_lines(held_out, plan) + field_and_brightness_lines(trained_on, plan)))
        return 0
    plans, stacks = [plan], [images]
    for seed, dimming in MORE_TRAINING:
        more, more_stacks = _more_injection(args, seed, dimming, plan)
        plans.append(more)
        stacks.append(more_stacks)
        print(f"{len(more)} more training galaxies injected with seed {seed}, dimmed by 0-{dimming:g} mag")
    training_plan = vstack(plans, metadata_conflicts="silent")
    start = time.perf_counter()
    predictor = train(training_plan, np.concatenate(stacks), epochs=args.epochs)
    minutes = (time.perf_counter() - start) / 60
    calibrate(predictor, *_more_injection(args, *CALIBRATION, plan))
    scored, scored_tta = score(predictor, plan, images), score(predictor, plan, images, tta=True)
    print("\n".join(metric_lines(scored["metrics"])))
    predictor.info["held_out_metrics"] = scored["metrics"]
    if args.write:
        path = PLUGIN / "models" / f"{MODEL_NAME}.acnn"
        predictor.save(path, overwrite=True)
        card = model_card(predictor, training_plan, scored, scored_tta, minutes, args.epochs)
        path.with_suffix(".md").write_text(card, encoding="utf-8")
        print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB) and its card")
        print(f"saved the demo galaxies {write_demo(plan, images, scored['rows'][:DEMO_ROWS], PLUGIN / 'demo')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
