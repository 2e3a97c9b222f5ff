"""Summaries of binned probability distributions (photo-z PDFs), vectorised over rows."""

from __future__ import annotations

import numpy as np

__all__ = ["bin_centres", "pdf_mean", "pdf_mode", "pdf_quantile", "pdf_cdf_at"]


def bin_centres(edges: np.ndarray) -> np.ndarray:
    """Return the centres of the bins with the given edges."""
    edges = np.asarray(edges, dtype=float)
    return 0.5 * (edges[1:] + edges[:-1])


def _normalised(pdf: np.ndarray) -> np.ndarray:
    pdf = np.atleast_2d(np.asarray(pdf, dtype=float))
    total = pdf.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pdf / total


def pdf_mean(pdf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Expectation value ``sum_k z_k p_k`` of each row's PDF (Pasquet et al. 2019 z_phot)."""
    return _normalised(pdf) @ bin_centres(edges)


def pdf_mode(pdf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Centre of the most probable bin of each row."""
    return bin_centres(edges)[np.argmax(np.atleast_2d(pdf), axis=1)]


def pdf_cdf_at(pdf: np.ndarray, edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cumulative probability of each row's PDF at ``x`` (one value per row), linear within bins.

    Used for the probability integral transform (PIT).
    """
    p = _normalised(pdf)
    edges = np.asarray(edges, dtype=float)
    cdf = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(p, axis=1)], axis=1)
    x = np.broadcast_to(np.asarray(x, dtype=float), (p.shape[0],))
    return np.array([np.interp(xi, edges, ci) for xi, ci in zip(x, cdf)])


def pdf_quantile(pdf: np.ndarray, edges: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of each row's PDF, interpolating linearly within bins.

    Parameters
    ----------
    pdf : ndarray, shape (N, K)
        Probabilities (need not be normalised).
    edges : ndarray, shape (K + 1,)
        Bin edges.
    q : float
        Quantile in [0, 1]; 0.5 is the median.

    Returns
    -------
    ndarray, shape (N,)
    """
    p = _normalised(pdf)
    edges = np.asarray(edges, dtype=float)
    cdf = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(p, axis=1)], axis=1)
    # first edge where the CDF reaches q, then interpolate inside the bin that ends there
    k = np.clip((cdf < q).sum(axis=1), 1, len(edges) - 1)[:, None]
    lo, hi = np.take_along_axis(cdf, k - 1, axis=1)[:, 0], np.take_along_axis(cdf, k, axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(hi > lo, (q - lo) / (hi - lo), 0.0)
    k = k[:, 0]
    return edges[k - 1] + frac * (edges[k] - edges[k - 1])
