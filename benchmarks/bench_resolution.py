"""Wu & Boada (2019) Fig. 4 on the real demo set: metallicity scatter against image resolution.

A random forest on the pixels of the 400 real SDSS gri cutouts re-binned from 128 to 1 pixel (train on
the 300 source-"train" galaxies, score on the 100 source-"test" ones); the paper's CNN at 128/64/32/16 px
on the same 100 galaxies for reference.  Needs ``../shared/data/sdss_gri_metallicity_wu2019_demo``.

Prints ``rf_pixels_rmse_<size>:`` and ``paper_cnn_rmse_<size>:`` lines (dex).
Run from the repository root: ``python benchmarks/bench_resolution.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from astro_cnn.evaluation import resolution_study, rmse

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sdss_gri_metallicity_wu2019_demo"


def forest_on_pixels(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray) -> np.ndarray:
    forest = RandomForestRegressor(n_estimators=300, min_samples_leaf=2, max_features="sqrt", random_state=0,
                                   n_jobs=-1)
    forest.fit(train_images.reshape(len(train_images), -1), train_labels)
    return forest.predict(test_images.reshape(len(test_images), -1))


def main() -> None:
    from astropy.table import Table

    arrays = np.load(DATA / "images.npz")
    images = arrays["images"].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    labels = arrays["oh_p50"].astype(float)
    train, test = arrays["orig_split"] == "train", arrays["orig_split"] == "test"
    table = resolution_study(images[train], labels[train], images[test], labels[test], forest_on_pixels)
    catalog = Table.read(DATA / "catalog.ecsv")
    catalog = catalog[catalog["orig_split"] == "test"]
    for row in table:
        print(f"rf_pixels_rmse_{row['size']}: {row['rmse']:.4f}")
    for size in (128, 64, 32, 16):
        residual = np.asarray(catalog[f"cnn_pred_{size}"]) - np.asarray(catalog["oh_p50"])
        print(f"paper_cnn_rmse_{size}: {rmse(residual):.4f}")
    print(f"mean_predictor_rmse: {rmse(labels[test] - labels[train].mean()):.4f}")


if __name__ == "__main__":
    main()
