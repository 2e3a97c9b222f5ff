"""The worked LSST-like example: a photo-z model for a new survey fine-tuned from the SDSS one, held out by field.

Usage (from the repository root, with the shared data beside it)::

    nice -n 5 python training/lsst_like_example.py \\
        ../shared/data/sdss_dr14_specphoto_10k_catalog/catalog.ecsv \\
        ../shared/data/sdss_dr17_frames_ugriz_4fields --out lsst_like_example

1. Every catalogue galaxy with 0 < z < 0.4 is planned into the real SDSS fields
   (:func:`astro_cnn_injection.plan.plan_injections`: position, Sérsic size and shape, each
   field's measured seeing); ``--train`` of those in three fields and ``--test`` of those in the
   fourth (``--held-out-field``, never trained on) are rendered by the ``lsst-like`` survey
   (Rubin-like ugrizy, 0.2″ pixels, ~0.7″ seeing, 10-year depth; see ``docs/lsst_like.rst``).
2. Three photo-z predictors learn from the training galaxies: the bundled SDSS model
   ``photoz-sdss-injected-v1`` fine-tuned (its ugriz filters kept, y started from z, the
   discriminative learning rates of ``wu2019-small-data``), the same network from random weights
   (``pasquet2019``, the recipe the SDSS model was trained with), and a random forest on aperture
   photometry of the same images (:func:`astro_cnn.evaluation.baselines.aperture_forest`).
   For reference, the SDSS model is also applied as it is to the held-out galaxies' ugriz images,
   resampled to its 0.396″ pixels by the declared resampling (``astro_cnn.predict(...,
   resample=True)``).
3. Each is scored on the held-out field with the Pasquet et al. (2019) metrics (σ_MAD, bias,
   η = fraction with |Δz| > 0.05, Δz = (z_phot − z_spec) / (1 + z_spec)), with bootstrap
   standard errors.

Writes into ``--out``: ``plan.ecsv`` (the rendered galaxies and their split), ``comparison.ecsv``
and ``comparison.rst`` (the table), and the two networks as ``.acnn`` files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

import astro_cnn
from astro_cnn.engine.predictor import NetworkPredictor
from astro_cnn.evaluation.baselines import aperture_forest
from astro_cnn.evaluation.photoz import photoz_metrics
from astro_cnn.models import resolve_predictor
from astro_cnn.survey_factory import make_survey
from astro_cnn.target import TargetList
from astro_cnn_injection.plan import plan_injections, select_galaxies
from astro_cnn_injection.survey import LSSTLikeSurvey

__all__ = ["SDSS_MODEL", "BAND_MAP", "HELD_OUT_FIELD", "APERTURE_RADII", "render", "train_networks", "score",
           "main"]

#: The model fine-tuned: the bundled SDSS photo-z model (ugriz, 0.396″/px).
SDSS_MODEL = "photoz-sdss-injected-v1"
#: The new y band starts from the SDSS model's z-band filters (the nearest band in wavelength).
BAND_MAP = {"y": "z"}
#: The field whose galaxies are held out: its seeing (SDSS r 1.16″) lies inside that of the three others.
HELD_OUT_FIELD = "003918-3-0213"
#: Aperture radii (arcsec) of the forest's photometry: the default 1-8″ does not fit in 64 × 0.2″ images.
APERTURE_RADII = (0.5, 1.0, 2.0, 4.0)
SIZE = 64
SCALE = 0.2


def render(catalog: Path, frames_dir: Path, n_train: int, n_test: int, held_out_field: str,
           seed: int) -> tuple[Table, np.ndarray]:
    """Plan the catalogue's galaxies into the real fields and render a training and a held-out set as ``lsst-like``.

    Returns
    -------
    plan : Table
        The rendered rows of the injection plan, with ``split`` ("train" or "test") and ``status``.
    images : ndarray, shape (N, 6, 64, 64)
        ugrizy images in nanomaggies.
    """
    plan = plan_injections(select_galaxies(Table.read(catalog)), frames_dir, seed=seed, size=SIZE, scale=SCALE)
    fields = np.asarray(plan["field"])
    if held_out_field not in set(fields):
        raise SystemExit(f"--held-out-field {held_out_field!r} holds no planned galaxy; fields: "
                         f"{', '.join(sorted(set(fields)))}")
    rng = np.random.default_rng(seed)
    train = rng.permutation(np.flatnonzero(fields != held_out_field))[:n_train]
    test = rng.permutation(np.flatnonzero(fields == held_out_field))[:n_test]
    rows = np.concatenate([np.sort(train), np.sort(test)])
    chosen = plan[rows]
    chosen["split"] = np.where(np.isin(rows, train), "train", "test")
    survey = make_survey("lsst-like", plan=chosen, seed=seed)
    batch = survey.cutouts(TargetList.from_table(chosen), size=SIZE)
    chosen["status"] = np.asarray(batch.status, dtype=str)
    chosen.meta["lsst_like"] = survey.describe()
    return chosen, batch.images


def train_networks(images: np.ndarray, redshift: np.ndarray, epochs: int, seed: int,
                   log=print) -> dict[str, NetworkPredictor]:
    """Train the fine-tuned and the from-scratch networks on the same galaxies for the same number of epochs.

    The fine-tuned one trains its head alone for 2 epochs, then all layers for ``epochs - 2`` in one
    cosine cycle with the discriminative learning rates of ``wu2019-small-data`` (earliest layers
    ten times slower); the scratch one trains all layers for ``epochs`` with ``pasquet2019``.  Both
    keep 10 % of the galaxies to calibrate their PDFs.
    """
    sdss = resolve_predictor(SDSS_MODEL)
    networks = {}
    for kind in ("fine-tuned", "scratch"):
        predictor = NetworkPredictor("photo_z", "lsst-like", "ugrizy", SIZE, SCALE * u.arcsec,
                                     name=f"photoz-lsst-like-{kind}", backbone=sdss.architecture["backbone"],
                                     head=sdss.architecture["head"])
        if kind == "fine-tuned":
            predictor.start_from(sdss, BAND_MAP, log)
            settings = {"recipe": "wu2019-small-data", "head_epochs": 2, "cycles": (max(1, epochs - 2),)}
        else:
            settings = {"recipe": "pasquet2019", "epochs": epochs}
        start = time.perf_counter()
        predictor.fit(images, redshift, seed=seed, progress=False, log=log, val_fraction=0.1,
                      data_summary={"rows": len(images), "label_column": "redshift",
                                    "source": "catalogue galaxies rendered as lsst-like (astro_cnn_injection)"},
                      **settings)
        log(f"{kind}: trained on {predictor.info['training_data']['rows_trained']} lsst-like galaxies in "
            f"{time.perf_counter() - start:.0f} s")
        networks[kind] = predictor
    return networks


def sdss_model_as_it_is(plan: Table, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The SDSS model's z_phot and PDF for ``plan``'s galaxies rendered in ugriz and resampled to its 0.396″ pixels."""
    survey = LSSTLikeSurvey(plan=plan, seed=seed, bands="ugriz")
    out = astro_cnn.predict(plan[["id", "ra", "dec"]], model=SDSS_MODEL, survey=survey, resample=True,
                            min_centre_snr=None, id_column="id", device="cpu")
    edges = np.asarray(out.meta["astro_cnn"]["pdf_bin_edges"])
    return np.asarray(out["z_phot"].value, dtype=float), np.asarray(out["z_pdf"]), edges


def score(z_spec: np.ndarray, predictions: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]],
          seed: int, n_boot: int = 500) -> QTable:
    """One row per method: N, σ_MAD, bias, η (|Δz| > 0.05) and CRPS where there is a PDF, with bootstrap errors."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(z_spec), size=(n_boot, len(z_spec)))
    rows = []
    for method, (z_phot, pdf, edges) in predictions.items():
        metrics = photoz_metrics(z_spec, z_phot, pdf, edges)
        row = {"method": method, "n": metrics["n"]}
        boot = [photoz_metrics(z_spec[d], z_phot[d]) for d in draws]
        for key in ("sigma_mad", "bias", "outlier_fraction"):
            row[key] = metrics[key]
            row[f"{key}_err"] = float(np.std([b[key] for b in boot]))
        row["crps"] = metrics.get("crps", np.nan)
        rows.append(row)
    return QTable(rows=rows)


def rst_table(table: QTable) -> str:
    """The comparison as a reStructuredText simple table (values ± bootstrap standard errors)."""
    header = ("method", "N", "σ_MAD", "bias", "η", "CRPS")
    lines = [(str(r["method"]), str(r["n"]), f"{r['sigma_mad']:.4f} ± {r['sigma_mad_err']:.4f}",
              f"{r['bias']:+.4f} ± {r['bias_err']:.4f}",
              f"{100 * r['outlier_fraction']:.1f} % ± {100 * r['outlier_fraction_err']:.1f}",
              "" if not np.isfinite(r["crps"]) else f"{r['crps']:.4f}") for r in table]
    widths = [max(len(h), *(len(line[k]) for line in lines)) for k, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    text = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(line.rstrip() for line in [*text, rule]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python training/lsst_like_example.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", type=Path, help="spec-z catalogue (sdss_dr14_specphoto_10k_catalog/catalog.ecsv)")
    parser.add_argument("frames_dir", type=Path, help="real SDSS frames (sdss_dr17_frames_ugriz_4fields)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the table, plan and models")
    parser.add_argument("--train", type=int, default=400, help="training galaxies (default 400)")
    parser.add_argument("--test", type=int, default=300, help="held-out galaxies (default 300)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of each network (default 10)")
    parser.add_argument("--held-out-field", default=HELD_OUT_FIELD,
                        help=f"field whose galaxies are held out (default {HELD_OUT_FIELD})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for flag, value in (("--train", args.train), ("--test", args.test), ("--epochs", args.epochs)):
        if value < 3:
            parser.error(f"{flag} must be at least 3, not {value}")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    plan, images = render(args.catalog, args.frames_dir, args.train, args.test, args.held_out_field, args.seed)
    plan.write(args.out / "plan.ecsv", overwrite=True)
    print(f"planned and rendered {len(plan)} lsst-like galaxies in {time.perf_counter() - start:.0f} s")
    ok = plan["status"] == ""
    train = np.flatnonzero(ok & (plan["split"] == "train"))
    test = np.flatnonzero(ok & (plan["split"] == "test"))
    z = np.asarray(plan["redshift"], dtype=float)
    networks = train_networks(images[train], z[train], args.epochs, args.seed)
    predictions = {}
    for kind, predictor in networks.items():
        prediction = predictor.predict_images(images[test])
        predictions[f"CNN {kind}"] = (prediction.value, prediction.pdf, prediction.bin_edges)
        predictor.save(args.out / f"{predictor.name}.acnn", overwrite=True)
    predictions[f"SDSS model as it is ({SDSS_MODEL}, ugriz resampled to 0.396″)"] = \
        sdss_model_as_it_is(plan[test], args.seed)
    forest = aperture_forest(images[train], z[train], images[test], SCALE * u.arcsec, APERTURE_RADII, seed=args.seed)
    predictions["random forest, aperture photometry"] = (forest, None, None)
    table = score(z[test], predictions, args.seed)
    table.meta["command"] = " ".join(["python training/lsst_like_example.py", str(args.catalog), str(args.frames_dir),
                                      "--out", str(args.out), "--train", str(args.train), "--test", str(args.test),
                                      "--epochs", str(args.epochs), "--held-out-field", args.held_out_field,
                                      "--seed", str(args.seed)])
    table.meta["held_out_field"] = args.held_out_field
    table.meta["train_galaxies"] = int(len(train))
    table.write(args.out / "comparison.ecsv", overwrite=True)
    (args.out / "comparison.rst").write_text(rst_table(table), encoding="utf-8")
    print(rst_table(table))
    print(f"done in {time.perf_counter() - start:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
