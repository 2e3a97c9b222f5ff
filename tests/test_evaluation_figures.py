"""Every evaluation figure is written (PNG and PDF) from real-shaped inputs."""

import numpy as np
import pytest
from astropy.table import QTable

from astro_cnn import read_image
from astro_cnn.evaluation import (
    gallery_figure,
    mzr_figure,
    pdf_gallery,
    pit_figure,
    prediction_figure,
    resolution_figure,
)

from .conftest import DATA


@pytest.mark.parametrize("suffix", ["png", "pdf"])
def test_figures_are_written(tmp_path, suffix):
    rng = np.random.default_rng(0)
    true = rng.uniform(8.2, 9.2, 40)
    pred = true + rng.normal(0, 0.1, 40)
    images = np.stack([read_image(p) for p in sorted((DATA / "gri_small").glob("*.jpg"))])
    edges = np.linspace(0, 0.4, 181)
    pdf = rng.random((8, 180))
    study = QTable({"size": [128, 64, 1], "rmse": [0.1, 0.11, 0.13], "nmad": [0.08, 0.09, 0.12]})
    paths = [
        prediction_figure(true, pred, tmp_path / f"p.{suffix}", label="log_oh", unit="dex"),
        pit_figure(rng.random(200), tmp_path / f"pit.{suffix}"),
        pdf_gallery(pdf, edges, rng.uniform(0, 0.4, 8), tmp_path / f"pdfs.{suffix}"),
        gallery_figure(images, true[:16], pred[:16], tmp_path / f"gallery.{suffix}"),
        resolution_figure(study, tmp_path / f"res.{suffix}", reference={128: 0.0725}),
        mzr_figure(rng.uniform(9, 11, 40), true, tmp_path / f"mzr.{suffix}"),
    ]
    for path in paths:
        assert path.stat().st_size > 1000
