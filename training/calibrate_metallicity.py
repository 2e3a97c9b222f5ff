"""Calibrate the bundled metallicity model's uncertainty out of fold, and report its coverage.

Usage (from the repository root, with the Wu & Boada demo data beside it)::

    python training/calibrate_metallicity.py DATA_DIR [--folds 4] [--write]

The bundled model is trained on all 400 galaxies, so none are left to calibrate it on.  Its
recipe is therefore run ``--folds`` times, each fold's network trained on the other galaxies and
predicting its own (out-of-fold, with the 8-fold test-time augmentation it ships with); the
uncertainty model ``σ² = floor² + (scale·spread)²`` (with a power of the spread if the residuals ask for one)
(:func:`astro_cnn.engine.calibration.fit_error_model`) is fitted to those out-of-fold residuals and
installed in the bundled model.  The ±1σ coverage after calibration is itself measured out of
fold: the uncertainty model is fitted on the other folds' galaxies and applied to each fold's.
With ``--write`` the model is saved with its calibration and the card gets a "Calibration"
section.
"""

from __future__ import annotations

import argparse
import copy
import functools
from pathlib import Path

import numpy as np
from astropy.table import Table
from metallicity import RECIPE  # the bundled model's recipe (training/metallicity.py)

import astro_cnn
from astro_cnn.engine.calibration import apply_error_model, coverage, describe_error_model, fit_error_model
from astro_cnn.engine.train import cross_validate

__all__ = ["main", "out_of_fold"]

MODEL = Path(__file__).resolve().parent.parent / "plugins" / "astro_cnn_metallicity" / "models"
NAME = "metallicity-sdss-gri-v1"


def out_of_fold(model, images: np.ndarray, labels: np.ndarray, folds: int, seed: int = 0,
                log=print) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold predictions, raw spreads and fold numbers of ``model``'s recipe on ``images``."""
    prediction, _ = cross_validate(functools.partial(_untrained, model), images, labels, folds=folds, seed=seed,
                                   recipe=RECIPE["recipe"], epochs=RECIPE["epochs"], progress=False, log=log)
    fold_of = np.random.default_rng(seed).permutation(np.arange(len(labels)) % folds)
    return np.asarray(prediction.value), np.asarray(prediction.error), fold_of


def _untrained(model):
    fresh = copy.deepcopy(model)
    fresh.members_, fresh.calibration_ = [], {}
    return fresh


def cross_fitted_coverage(truth: np.ndarray, value: np.ndarray, spread: np.ndarray, fold_of: np.ndarray) -> float:
    """±1σ coverage of the calibrated uncertainty, each fold's galaxies calibrated by a model fitted on the others."""
    inside = np.zeros(len(truth), dtype=bool)
    for fold in np.unique(fold_of):
        test = fold_of == fold
        error_model = fit_error_model(truth[~test], value[~test], spread[~test])
        inside[test] = np.abs(truth[test] - value[test]) <= apply_error_model(error_model, spread[test])
    return float(inside.mean())


def card_section(calibration: dict, cross_fitted: float, folds: int, n: int) -> str:
    """The card's "Calibration" section."""
    return (f"## Calibration\n"
            f"`log_oh_err` is a calibrated 1σ uncertainty: {describe_error_model(calibration, unit=' dex')}, "
            f"where spread is the standard "
            f"deviation over the 8 test-time flips/rotations.  Fitted to out-of-fold residuals: the recipe run "
            f"{folds} times, each network predicting the galaxies it did not train on ({n} galaxies).  ±1σ "
            f"coverage: {calibration['coverage_before']:.0%} with the raw spread, {cross_fitted:.0%} calibrated "
            f"(each fold calibrated by a model fitted on the other folds; 68 % is right).\n"
            f"Reproduce: `python training/calibrate_metallicity.py DATA_DIR --folds {folds} --write` (DATA_DIR as "
            f"above).\n")


def main(argv: list[str] | None = None) -> int:
    """Run the out-of-fold calibration; print it and, with ``--write``, save the model and its card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="save the calibrated model and update its card")
    args = parser.parse_args(argv)
    catalog = Table.read(args.data_dir / "catalog.ecsv")
    images = np.stack([astro_cnn.read_image(args.data_dir / str(name)) for name in catalog["jpeg_file"]])
    truth = np.asarray(catalog["oh_p50"], dtype=float)
    model = astro_cnn.load_predictor(MODEL / f"{NAME}.acnn")
    value, spread, fold_of = out_of_fold(model, images, truth, args.folds)
    calibration = fit_error_model(truth, value, spread)
    cross_fitted = cross_fitted_coverage(truth, value, spread, fold_of)
    rmse = float(np.sqrt(np.mean((value - truth) ** 2)))
    print(f"out-of-fold RMSE {rmse:.4f} dex over {len(truth)} galaxies; "
          f"{describe_error_model(calibration, unit=' dex')}; ±1σ coverage raw {coverage(truth, value, spread):.3f}, "
          f"calibrated (cross-fitted) {cross_fitted:.3f}")
    if args.write:
        model.calibration_ = calibration
        model.info["calibration"] = {**calibration, "method": f"{args.folds}-fold out-of-fold residuals",
                                     "coverage_cross_fitted": cross_fitted}
        model.save(MODEL / f"{NAME}.acnn", overwrite=True)
        card = MODEL / f"{NAME}.md"
        text = card.read_text()
        section = card_section(calibration, cross_fitted, args.folds, len(truth))
        head, marker, tail = text.partition("## Calibration\n")
        if marker:
            tail = tail[tail.find("\n## ") + 1:] if "\n## " in tail else ""
            text = head + section + "\n" + tail
        else:
            head, marker, tail = text.partition("## Limitations")
            text = head + section + "\n" + marker + tail
        card.write_text(text)
        print(f"wrote {MODEL / f'{NAME}.acnn'} and its card")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
