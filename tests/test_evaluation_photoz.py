"""Photo-z metrics: definitions, exact CRPS against properscoring, flat PIT for calibrated PDFs."""

import numpy as np
import pytest
from astropy.table import QTable

from astro_cnn.evaluation.photoz import (
    crps_binned,
    delta_z,
    evaluate_photoz,
    outlier_threshold_rail,
    photoz_metrics,
    pit,
    pit_histogram,
)

EDGES = np.linspace(0.0, 0.4, 181)


def _pdfs(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    mu, sigma = rng.uniform(0.05, 0.3, n), rng.uniform(0.005, 0.03, n)
    return np.exp(-0.5 * ((centres[None] - mu[:, None]) / sigma[:, None]) ** 2), rng


def test_crps_matches_properscoring_quadrature():
    properscoring = pytest.importorskip("properscoring")
    from scipy.stats import rv_histogram

    pdfs, rng = _pdfs(6)
    z = np.append(rng.uniform(0.0, 0.4, 5), 0.45)  # one true value outside the bins
    ours = crps_binned(pdfs, EDGES, z)
    # tol only loosens properscoring's own check of quad's error estimate on these kinked CDFs;
    # the agreement asserted is 1e-6
    for row, zi, value in zip(pdfs, z, ours):
        reference = properscoring.crps_quadrature(zi, rv_histogram((row, EDGES), density=False), xmin=-0.1,
                                                  xmax=0.6, tol=1e-4)
        assert value == pytest.approx(float(reference), abs=1e-6)


def test_pit_of_calibrated_pdfs_is_flat():
    pdfs, rng = _pdfs(4000, seed=1)
    p = pdfs / pdfs.sum(axis=1, keepdims=True)
    cdf = np.cumsum(p, axis=1)
    u = rng.random(len(p))
    k = (cdf < u[:, None]).sum(axis=1)  # draw each true z from its own PDF (uniform inside the bin)
    before = np.where(k > 0, cdf[np.arange(len(p)), np.maximum(k - 1, 0)], 0.0)
    z = EDGES[k] + (u - before) / p[np.arange(len(p)), k] * np.diff(EDGES)[k]
    counts, _, ks = pit_histogram(pit(pdfs, EDGES, z))
    assert ks < 0.03 and counts.min() > 0.8 * counts.mean()


def test_point_metrics_and_thresholds():
    z_spec = np.array([0.1, 0.2, 0.3, 0.1])
    z_phot = np.array([0.11, 0.2, 0.3, 0.3])
    np.testing.assert_allclose(delta_z(z_phot, z_spec)[[0, 3]], [0.01 / 1.1, 0.2 / 1.1])
    metrics = photoz_metrics(z_spec, z_phot, outlier_threshold=0.05)
    assert metrics["outlier_fraction"] == 0.25 and metrics["n"] == 4
    assert outlier_threshold_rail(np.zeros(10)) == 0.06
    widths = np.array([0.01, 0.01, 0.01, 0.2])
    cut = photoz_metrics(z_spec, z_phot, remove_widest=0.25, width=widths)
    assert cut["n"] == 3 and cut["outlier_fraction"] == 0.0


def test_evaluate_photoz_table():
    pdfs, rng = _pdfs(50, seed=2)
    z = rng.uniform(0.05, 0.3, 50)
    table = QTable({"z_spec": z, "z_phot": z + 0.001, "z_pdf": pdfs, "z_width68": np.full(50, 0.02)})
    table.meta["astro_cnn"] = {"pdf_bin_edges": list(EDGES)}
    row = evaluate_photoz(table, outlier_threshold="rail")[0]
    assert row["n"] == 50 and row["crps"] > 0 and row["outlier_threshold"] >= 0.06


def test_evaluate_photoz_without_bin_edges_names_the_argument():
    from astro_cnn import ColumnError

    pdfs, rng = _pdfs(5, seed=2)
    z = rng.uniform(0.05, 0.3, 5)
    table = QTable({"z_spec": z, "z_phot": z, "z_pdf": pdfs})
    with pytest.raises(ColumnError, match=r"pdf='z_pdf'.*pdf_bin_edges.*pdf=None"):
        evaluate_photoz(table)
    assert evaluate_photoz(table, pdf=None)[0]["n"] == 5


def test_evaluate_command_photoz(tmp_path, capsys):
    from astro_cnn import write_table
    from astro_cnn.cli import main

    pdfs, rng = _pdfs(40, seed=3)
    z = rng.uniform(0.05, 0.3, 40)
    table = QTable({"z_spec": z, "z_phot": z + 0.002, "z_pdf": pdfs.astype(np.float32), "z_width68": np.full(40, 0.02)})
    table.meta["astro_cnn"] = {"pdf_bin_edges": [float(e) for e in EDGES]}
    path = write_table(table, tmp_path / "pz.ecsv")
    assert main(["evaluate", str(path), "--true", "z_spec", "--pred", "z_phot", "--photoz",
                 "--outlier-threshold", "rail"]) == 0
    out = capsys.readouterr().out
    assert "sigma_mad" in out and "crps" in out and "pit_ks" in out


@pytest.mark.parametrize("options, message", [({"outlier_threshold": "abc"}, "outlier_threshold must be"),
                                              ({"outlier_threshold": -1.0}, "outlier_threshold must be"),
                                              ({"remove_widest": 1.0}, "remove_widest must be")])
def test_bad_photoz_options_are_refused(options, message):
    z = np.linspace(0.1, 0.3, 10)
    with pytest.raises(ValueError, match=message):
        photoz_metrics(z, z + 0.01, width=np.full(10, 0.02), **options)


def test_evaluate_command_photoz_report(tmp_path, capsys):
    from astro_cnn import read_table, write_table
    from astro_cnn.cli import main

    pdfs, rng = _pdfs(40, seed=4)
    z = rng.uniform(0.05, 0.3, 40)
    table = QTable({"z_spec": z, "z_phot": z + 0.002, "z_pdf": pdfs, "z_width68": np.full(40, 0.02)})
    table.meta["astro_cnn"] = {"pdf_bin_edges": [float(e) for e in EDGES]}
    path = write_table(table, tmp_path / "pz.ecsv")
    report = tmp_path / "report"
    assert main(["evaluate", str(path), "--true", "z_spec", "--pred", "z_phot", "--photoz",
                 "--report", str(report)]) == 0
    for name in ("metrics.ecsv", "prediction.png", "summary.md", "pit.png",
                 "pdf_gallery.png"):
        assert (report / name).stat().st_size > 0
    assert read_table(report / "metrics.ecsv")["crps"][0] > 0
    assert "report written to" in capsys.readouterr().out


def test_photoz_metrics_print_rounded():
    from astropy.table import Table

    from astro_cnn.evaluation.photoz import evaluate_photoz

    rng = np.random.default_rng(0)
    z = rng.uniform(0.05, 0.3, 50)
    table = Table({"z_spec": z, "z_phot": z + rng.normal(0, 0.0123456789, 50)})
    text = "\n".join(evaluate_photoz(table, pdf=None).pformat(max_width=-1))
    assert "sigma_mad" in text and not any(len(token) > 8 for token in text.split()[-6:])


def test_photoz_inputs_that_cannot_be_scored_are_refused_or_left_out_of_the_pdf_metrics():
    """Each gave a wrong number or a numpy message: z_spec in km/s was taken as a redshift, z_spec = -1 gave an
    infinite bias, one row without a PDF made CRPS and PIT NaN for the whole table, a PDF of other bins gave
    "operands could not be broadcast", width='nope' was skipped and remove_widest='0.1' gave a TypeError."""
    import astropy.units as u
    from astropy.table import QTable

    from astro_cnn import ColumnError
    from astro_cnn.evaluation import evaluate_photoz

    edges = np.linspace(0, 0.4, 5)
    z = np.array([0.05, 0.15, 0.25, 0.35])
    pdf = np.eye(4)
    pdf[3] = np.nan
    table = QTable({"z_spec": z, "z_phot": z + 0.01, "z_pdf": pdf}, meta={"astro_cnn": {"pdf_bin_edges": edges}})
    row = evaluate_photoz(table)[0]
    assert row["n"] == 4 and row["n_pdf"] == 3 and np.isfinite(row["crps"]) and np.isfinite(row["pit_ks"])
    speeds = QTable(table)
    speeds["z_spec"] = z * 3e5 * u.km / u.s
    with pytest.raises(ColumnError, match="column 'z_spec' is in km / s, not a redshift"):
        evaluate_photoz(speeds)
    negative = QTable(table)
    negative["z_spec"][1] = -1.0
    with pytest.raises(ValueError, match=r"z_spec must be above -1 .* rows \[1\]"):
        evaluate_photoz(negative)
    other_bins = QTable(table)
    other_bins["z_pdf"] = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"one PDF of 4 bins per row .* shape \(4, 3\)"):
        evaluate_photoz(other_bins)
    with pytest.raises(ColumnError, match="width='nope' is not a column"):
        evaluate_photoz(table, width="nope")
    with pytest.raises(ValueError, match="remove_widest must be a fraction"):
        evaluate_photoz(table, remove_widest="0.1")
