"""Calibrate the uncertainties of the bundled photo-z and stellar-mass models on held-out injected galaxies.

Usage (from the repository root, with the shared data beside it)::

    python training/calibrate_injected.py \\
        ../shared/data/sdss_dr14_specphoto_10k_catalog/catalog.ecsv \\
        ../shared/data/sdss_dr17_frames_ugriz_4fields [--write]

The held-out injected galaxies (those placed in the held-out field, never trained on; see
``injected_models.py``) are split in two: the even rows fit the calibration
(:meth:`NetworkPredictor.calibrate`: an error model for stellar mass, a PDF temperature for photo-z)
and the odd rows measure the 68 % coverage of the uncertainties before and after.  ``--write``
saves the calibrated models and adds the coverage table to their model cards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.table import QTable
from injected_models import HELD_OUT_FIELD, RECIPES, SEED
from injected_training_set import build_training_set

import astro_cnn
from astro_cnn.engine.predictor import interval_coverage
from astro_cnn.evaluation.photoz import photoz_metrics

__all__ = ["calibrate_and_check", "main"]


def calibrate_and_check(model, images: np.ndarray, labels: np.ndarray) -> QTable:
    """Calibrate ``model`` on the even rows and return the coverage on the odd rows, before and after."""
    fit, check = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    raw = model._predict(images[check], None, 256, calibrated=False)
    calibration = model.calibrate(images[fit], labels[fit])
    calibrated = model.predict_images(images[check])
    parameters = ", ".join(f"{k} {v:.4g}" for k, v in calibration.items()
                           if k in ("floor", "scale", "temperature"))
    row = {"model": model.name, "calibrated on": len(fit), "checked on": len(check),
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
    parser.add_argument("--write", action="store_true", help="save the calibrated models and their cards")
    args = parser.parse_args(argv)
    plan, images = build_training_set(args.catalog, args.frames_dir, seed=SEED, cache=args.cache,
                                      held_out_field=HELD_OUT_FIELD)
    test = np.flatnonzero((plan["status"] == "") & (plan["split"] == "test"))
    for quantity, settings in RECIPES.items():
        path = settings["path"] / f"{settings['name']}.acnn"
        model = astro_cnn.load_predictor(path)
        table = calibrate_and_check(model, images[test], np.asarray(plan[settings["label"]], float)[test])
        table.pprint(max_lines=-1, max_width=-1)
        if args.write:
            model.save(path, overwrite=True)
            card = path.with_suffix(".md")
            row = table[0]
            card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + f"""

## Uncertainty calibration

`python training/calibrate_injected.py CATALOG FRAMES_DIR --write` calibrated the uncertainties on
{row['calibrated on']} held-out injected galaxies and checked them on {row['checked on']} others:
the 68 % interval ({'the PDF' if quantity == 'photo_z' else '±1σ'}) holds the true value for
{row['68 % coverage before']:.1%} of them before and {row['68 % coverage after']:.1%} after
({row['calibration']}).{_scores(row)}
""", encoding="utf-8")
            print(f"saved {path} and its card")
    return 0


def _scores(row) -> str:
    if "sigma_mad after" not in row.colnames:
        return ""
    return (f" On the checked galaxies the calibrated PDFs score σ_MAD {row['sigma_mad after']:.4f} "
            f"(before {row['sigma_mad before']:.4f}), bias {row['bias after']:+.4f} ({row['bias before']:+.4f}), "
            f"η {row['eta after']:.2%} ({row['eta before']:.2%}) and PIT KS distance {row['PIT KS after']:.3f} "
            f"({row['PIT KS before']:.3f}).")


if __name__ == "__main__":
    raise SystemExit(main())
