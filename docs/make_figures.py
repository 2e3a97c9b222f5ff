"""Draw every evaluation figure of the docs gallery (docs/figures.rst) from the bundled demo data.

Run from the repository root (about a minute on a CPU)::

    python docs/make_figures.py [--demo-dir DIR]

It runs ``astro-cnn demo`` into a temporary directory (or reads the predictions of an earlier
``astro-cnn demo -o DIR``) and writes the PNGs to ``docs/_static/figures``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from astro_cnn import read_image, read_table
from astro_cnn.cli.demo_cmd import run_demo
from astro_cnn.engine.trainer import write_history
from astro_cnn.evaluation import (
    gallery_figure,
    mzr_figure,
    pdf_gallery,
    pit,
    pit_figure,
    prediction_figure,
    prediction_resolution_study,
    resolution_figure,
)
from astro_cnn.evaluation.figures import AXIS_LABELS
from astro_cnn.evaluation.metrics import column_values
from astro_cnn.evaluation.studies import tremonti_mzr
from astro_cnn.models import default_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "_static" / "figures"
PAPER = ROOT / "tests" / "data" / "evaluation" / "wu2019_paper_predictions.ecsv.gz"
JPEG_DIR = ROOT / "plugins" / "astro_cnn_sdss" / "bundled" / "jpeg"
STACK_DIR = ROOT / "plugins" / "astro_cnn_stellar_mass" / "demo"
#: The Wu & Boada (2019) RMSEs at 128, 64, 32 and 16 px (their Table 1), to compare with.
PAPER_RMSE = {128: 0.085, 64: 0.088, 32: 0.093, 16: 0.104}


def main(demo_dir: Path | None = None) -> None:
    """Write every figure of the gallery, from the demo's predictions in ``demo_dir`` (default: run the demo)."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if demo_dir is None:
            demo_dir = Path(tmp)
            run_demo(demo_dir)
        oh, mass, pz = (read_table(demo_dir / f"{default_model(quantity).name}_predictions.ecsv")
                        for quantity in ("metallicity", "stellar_mass", "photo_z"))

    prediction_figure(column_values(oh, "oh_p50"), column_values(oh, "log_oh"), OUT / "prediction_metallicity.png",
                      label=AXIS_LABELS["metallicity"], residual_unit="dex", outlier_threshold=0.3)
    prediction_figure(column_values(mass, "log_mstar_taylor2011"), column_values(mass, "log_mstar"),
                      OUT / "prediction_stellar_mass.png", label=AXIS_LABELS["stellar_mass"], residual_unit="dex",
                      outlier_threshold=0.3)
    z_spec, z_phot = column_values(pz, "z_spec"), column_values(pz, "z_phot")
    prediction_figure(z_spec, z_phot, OUT / "prediction_photoz.png", residual="delta_z", outlier_threshold=0.05)
    edges = np.asarray(pz.meta["astro_cnn"]["pdf_bin_edges"], dtype=float)
    pdfs = np.asarray(pz["z_pdf"], dtype=float)
    pit_figure(pit(pdfs, edges, z_spec), OUT / "pit_photoz.png")
    pdf_gallery(pdfs, edges, z_spec, OUT / "pdf_gallery_photoz.png", n=8, ids=[f"id {i}" for i in pz["id"]],
                pred=z_phot)

    jpegs = [JPEG_DIR / f"{objid}.jpg" for objid in oh["objid"]]
    shown = [k for k, path in enumerate(jpegs) if path.is_file()]
    # galleries at a lower resolution: photographs compress badly and each PNG stays under 150 KB
    gallery_figure(np.stack([read_image(jpegs[k]) for k in shown]), column_values(oh, "oh_p50")[shown],
                   column_values(oh, "log_oh")[shown], n=3, ids=[str(oh["objid"][k]) for k in shown],
                   label="12+log(O/H)").savefig(OUT / "gallery_metallicity_jpeg.png", dpi=72)
    stacks = np.stack([read_image(STACK_DIR / path) for path in mass["image_path"]])
    gallery_figure(stacks, column_values(mass, "log_mstar_taylor2011"), column_values(mass, "log_mstar"), n=4,
                   source="fits", ids=[f"id {i}" for i in mass["id"]],
                   label="log M*").savefig(OUT / "gallery_stellar_mass_lupton.png", dpi=60)

    paper = read_table(PAPER)
    study = prediction_resolution_study(paper, "oh_p50", ["cnn_pred_128", "cnn_pred_64", "cnn_pred_32",
                                                          "cnn_pred_16"])
    resolution_figure(study, OUT / "resolution_wu2019.png", reference=PAPER_RMSE, unit="dex")
    prediction_figure(column_values(paper, "oh_p50"), column_values(paper, "cnn_pred_128"),
                      OUT / "prediction_metallicity_wu2019.png", label=AXIS_LABELS["metallicity"],
                      true_label=r"MPA-JHU $12+\log(\mathrm{O/H})$", residual_unit="dex", outlier_threshold=0.3)

    # No bundled table has both a stellar mass and a metallicity: the MZR panel is drawn on galaxies
    # simulated around the Tremonti relation (0.1 dex scatter; the "prediction" shrinks it by 20 %).
    rng = np.random.default_rng(2004)
    log_mstar = rng.normal(10.0, 0.6, 3000)
    true = tremonti_mzr(np.clip(log_mstar, 8.5, 11.5)) + rng.normal(0, 0.1, 3000)
    predicted = true - 0.2 * (true - tremonti_mzr(np.clip(log_mstar, 8.5, 11.5))) + rng.normal(0, 0.05, 3000)
    mzr_figure(log_mstar, predicted, OUT / "mzr_simulated.png", true_metallicity=true)

    # The loss curve `astro-cnn train` writes, here from a made-up history of a short run.
    epochs = np.arange(1, 21)
    write_history([{"epoch": int(e), "train_loss": float(0.02 + 0.3 * np.exp(-e / 4)),
                    "val_loss": float(0.03 + 0.3 * np.exp(-e / 5))} for e in epochs], OUT)
    (OUT / "history.ecsv").unlink()
    (OUT / "loss_curve.png").replace(OUT / "loss_curve_example.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-dir", type=Path, help="predictions of an earlier `astro-cnn demo -o DIR`")
    main(parser.parse_args().demo_dir)
