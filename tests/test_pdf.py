"""Binned-PDF summaries against analytic answers."""

import numpy as np
import pytest

from astro_cnn.pdf import bin_centres, pdf_cdf_at, pdf_mean, pdf_mode, pdf_quantile

EDGES = np.linspace(0.0, 1.0, 11)


def test_uniform_pdf():
    pdf = np.ones((1, 10))
    assert pdf_mean(pdf, EDGES)[0] == pytest.approx(0.5)
    for q in (0.1, 0.25, 0.5, 0.84):
        assert pdf_quantile(pdf, EDGES, q)[0] == pytest.approx(q)
    assert pdf_cdf_at(pdf, EDGES, np.array([0.37]))[0] == pytest.approx(0.37)


def test_unnormalised_peaked_pdf():
    pdf = np.zeros((2, 10))
    pdf[0, 3] = 5.0
    pdf[1, [1, 8]] = [1.0, 3.0]
    np.testing.assert_allclose(pdf_mode(pdf, EDGES), [0.35, 0.85])
    np.testing.assert_allclose(pdf_mean(pdf, EDGES), [0.35, 0.25 * 0.15 + 0.75 * 0.85])
    assert pdf_quantile(pdf, EDGES, 0.5)[0] == pytest.approx(0.35)
    np.testing.assert_allclose(bin_centres(EDGES)[:2], [0.05, 0.15])
