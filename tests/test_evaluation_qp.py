"""Photo-z PDFs exported to qp (LSST DESC RAIL) keep their means."""

import numpy as np
import pytest
from astropy.table import QTable

from astro_cnn import ColumnError, read_table
from astro_cnn.evaluation.qp_export import to_qp
from astro_cnn.pdf import pdf_mean

from .photoz_outputs import FORMATS, predict_photoz


def test_qp_ensemble_keeps_the_pdfs():
    pytest.importorskip("qp")
    edges = np.linspace(0, 0.4, 181)
    pdfs = np.random.default_rng(0).random((4, 180))
    pdfs[3] = np.nan  # a flagged row stays in place
    table = QTable({"z_pdf": pdfs, "flag": [False, False, False, True]})
    table.meta["astro_cnn"] = {"pdf_bin_edges": list(edges)}
    ensemble = to_qp(table)
    assert ensemble.npdf == 4
    np.testing.assert_allclose(ensemble.mean()[:3].ravel(), pdf_mean(pdfs[:3], edges), rtol=1e-6)
    with pytest.raises(ColumnError, match="pdf_bin_edges"):
        to_qp(QTable({"z_pdf": pdfs}))


@pytest.mark.parametrize("suffix", FORMATS)
def test_qp_reads_a_photoz_prediction_in_every_format(tmp_path, suffix):
    pytest.importorskip("qp")
    table = read_table(predict_photoz(tmp_path / f"out{suffix}", rows=4))
    ensemble = to_qp(table)
    assert ensemble.npdf == 4
    edges = np.asarray(table.meta["astro_cnn"]["pdf_bin_edges"])
    np.testing.assert_allclose(ensemble.mean().ravel(), pdf_mean(np.asarray(table["z_pdf"], dtype=float), edges),
                               rtol=1e-5)
