"""Calibrate the uncertainties of the bundled photo-z and stellar-mass models on held-out injected galaxies.

Usage (from the repository root, with the shared data beside it)::

    python training/calibrate_injected.py \\
        ../shared/data/sdss_dr14_specphoto_10k_catalog/catalog.ecsv \\
        ../shared/data/sdss_dr17_frames_ugriz_4fields [--write]

The held-out injected galaxies (those placed in the held-out field, never trained on; see
``injected_models.py``) are split in two: the even rows fit the calibration of both models of each
quantity, the network (:meth:`NetworkPredictor.calibrate`: an error model for stellar mass, a PDF
temperature for photo-z) and the aperture forest (:meth:`ForestPredictor.calibrate`: an error model,
or the width of the kernel that makes its PDFs), and the odd rows measure the 68 % coverage of the
uncertainties before and after (and, for photo-z, the PDFs' PIT).  ``--write`` saves the calibrated
models and adds the coverage table to their model cards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.table import QTable, vstack
from injected_models import HELD_OUT_FIELD, RECIPES, SEED
from injected_training_set import build_training_set

import astro_cnn
from astro_cnn.engine.predictor import interval_coverage
from astro_cnn.evaluation.photoz import photoz_metrics
from astro_cnn.image_checks import MIN_CENTRE_SNR

__all__ = ["calibrate_and_check", "main"]


def calibrate_and_check(model, images: np.ndarray, labels: np.ndarray) -> QTable:
    """Calibrate ``model`` on the even rows and return the coverage on the odd rows, before and after; images that
    prediction would flag (and give no value) neither calibrate nor check it."""
    fit, check = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    check = check[model.calibration_set(images[check], labels[check], MIN_CENTRE_SNR)[2].rows]
    raw = _uncalibrated(model, images[check])
    calibration = model.calibrate(images[fit], labels[fit])
    calibrated = model.predict_images(images[check])
    parameters = ", ".join(f"{k} {v:.4g}" for k, v in calibration.items()
                           if k in ("floor", "scale", "temperature", "bandwidth"))
    calibrated_on = len(fit) - sum(calibration["left_out"].values())
    row = {"model": model.name, "calibrated on": calibrated_on, "checked on": len(check),
           "68 % coverage before": round(interval_coverage(labels[check], raw), 3),
           "68 % coverage after": round(interval_coverage(labels[check], calibrated), 3), "calibration": parameters}
    if raw.pdf is not None:  # a temperature moves the PDF's mean, so z_phot is scored again
        for when, prediction in (("before", raw), ("after", calibrated)):
            metrics = photoz_metrics(labels[check], prediction.value, prediction.pdf, prediction.bin_edges)
            row.update({f"sigma_mad {when}": round(metrics["sigma_mad"], 4),
                        f"bias {when}": round(metrics["bias"], 4),
                        f"eta {when}": round(metrics["outlier_fraction"], 4),
                        f"PIT KS {when}": round(metrics["pit_ks"], 3)})
    return QTable(rows=[row])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python training/calibrate_injected.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", type=Path, help="spec-z catalogue (sdss_dr14_specphoto_10k_catalog/catalog.ecsv)")
    parser.add_argument("frames_dir", type=Path, help="real SDSS frames (sdss_dr17_frames_ugriz_4fields)")
    parser.add_argument("--cache", type=Path, default=Path("injected_stacks.npz"),
                        help="the injected stacks kept between runs (default ./injected_stacks.npz)")
    parser.add_argument("--held-out-field", default=HELD_OUT_FIELD,
                        help=f"the field held out by injected_models.py (default {HELD_OUT_FIELD})")
    parser.add_argument("--quantity", choices=sorted(RECIPES), action="append",
                        help="calibrate only this quantity's models (repeatable; default both)")
    parser.add_argument("--write", action="store_true", help="save the calibrated models and their cards")
    args = parser.parse_args(argv)
    plan, images = build_training_set(args.catalog, args.frames_dir, seed=SEED, cache=args.cache,
                                      held_out_field=args.held_out_field)
    test = np.flatnonzero((plan["status"] == "") & (plan["split"] == "test"))
    for quantity in args.quantity or sorted(RECIPES):
        settings = RECIPES[quantity]
        labels = np.asarray(plan[settings["label"]], float)[test]
        paths = [settings["path"] / f"{settings[kind]}.acnn" for kind in ("name", "forest")]
        models = [astro_cnn.load_predictor(path) for path in paths]
        table = vstack([calibrate_and_check(model, images[test], labels) for model in models])
        table.pprint(max_lines=-1, max_width=-1)
        if args.write:
            for model, path in zip(models, paths):
                model.save(path, overwrite=True)
                card = path.with_suffix(".md")
                card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + _section(quantity, table,
                                                                                                  args.held_out_field),
                                encoding="utf-8")
                print(f"saved {path} and its card")
    return 0


def _uncalibrated(model, images: np.ndarray):
    """The model's predictions with its calibration set aside."""
    calibration, model.calibration_ = model.calibration_, {}
    try:
        return model.predict_images(images)
    finally:
        model.calibration_ = calibration


def _section(quantity: str, table: QTable, field: str) -> str:
    """The model card's calibration section: both models of ``quantity``, side by side."""
    interval = "the PDF's 16–84 % range" if quantity == "photo_z" else "±1σ"
    formats = {"68 % coverage before": "{:.1%}", "68 % coverage after": "{:.1%}"}
    header = "| model | calibration | 68 % coverage before | after |"
    if "PIT KS after" in table.colnames:
        formats.update({"sigma_mad after": "{:.4f}", "bias after": "{:+.4f}", "eta after": "{:.2%}",
                        "PIT KS before": "{:.3f}", "PIT KS after": "{:.3f}"})
        header += " σ_MAD | bias | η | PIT KS before | PIT KS after |"
    rows = "\n".join(f"| `{r['model']}` | {r['calibration']} | "
                     + " | ".join(form.format(r[column]) for column, form in formats.items()) + " |" for r in table)
    first = table[0]
    scored = (", and the calibrated PDFs' scores on the checked galaxies, with the PIT's Kolmogorov–Smirnov distance "
              "from flat" if quantity == "photo_z" else "")
    return f"""## Uncertainty calibration

`python training/calibrate_injected.py CATALOG FRAMES_DIR --held-out-field {field} --write` (the data of the
Reproduce line above) calibrated the uncertainties
of both models on {first['calibrated on']} held-out injected galaxies of field {field} (the even rows) and checked
them on the {first['checked on']} others: the fraction of true values inside {interval}, before and after{scored}.

{header}
|{'---|' * (header.count('|') - 1)}
{rows}
"""


if __name__ == "__main__":
    raise SystemExit(main())
