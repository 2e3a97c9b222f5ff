"""Pasquet-style photometric baseline on real SDSS galaxies: a random forest on ugriz magnitudes and colours.

Uses the 4,507 galaxies with spectroscopic redshifts of ``../shared/data/sdss_dr14_specphoto_10k_catalog``
(restricted to 0 < z < 0.4, the Pasquet et al. range), a random 80/20 split, and the Pasquet metrics on
Δz = (z_phot − z_spec)/(1 + z_spec).  Prints ``name: value`` lines.

Run from the repository root: ``python benchmarks/bench_photoz_baseline.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from astro_cnn.evaluation import photometry_forest, photoz_metrics

CATALOG = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sdss_dr14_specphoto_10k_catalog"
           / "catalog.ecsv")


def main() -> None:
    table = Table.read(CATALOG)
    table = table[(table["class"] == "GALAXY") & (table["redshift"] > 0) & (table["redshift"] < 0.4)]
    mags = np.column_stack([np.asarray(table[band], dtype=float) for band in "ugriz"])
    z = np.asarray(table["redshift"], dtype=float)
    test = np.random.default_rng(0).random(len(z)) < 0.2
    z_phot = photometry_forest(mags[~test], z[~test], mags[test])
    metrics = photoz_metrics(z[test], z_phot, outlier_threshold=0.05)
    print(f"galaxies_train: {int((~test).sum())}")
    print(f"galaxies_test: {metrics['n']}")
    print(f"rf_ugriz_sigma_mad: {metrics['sigma_mad']:.4f}")
    print(f"rf_ugriz_bias: {metrics['bias']:.5f}")
    print(f"rf_ugriz_outlier_fraction_0.05: {metrics['outlier_fraction']:.4f}")


if __name__ == "__main__":
    main()
