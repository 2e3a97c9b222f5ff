"""Photometric-redshift metrics on Δz = (z_phot − z_spec)/(1 + z_spec) and on binned PDFs (CRPS, PIT)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from ..exceptions import ColumnError
from ..pdf import pdf_cdf_at
from .metrics import check_threshold, column_values

__all__ = ["delta_z", "sigma_mad", "outlier_threshold_rail", "crps_binned", "pit", "pit_histogram",
           "photoz_metrics", "evaluate_photoz"]


def delta_z(z_phot: np.ndarray, z_spec: np.ndarray) -> np.ndarray:
    """Δz = (z_phot − z_spec) / (1 + z_spec)."""
    z_spec = np.asarray(z_spec, dtype=float)
    return (np.asarray(z_phot, dtype=float) - z_spec) / (1 + z_spec)


def sigma_mad(dz: np.ndarray) -> float:
    """σ_MAD = 1.4826 × median(abs(Δz − median(Δz)))."""
    dz = np.asarray(dz, dtype=float)
    return float(1.4826 * np.median(np.abs(dz - np.median(dz))))


def outlier_threshold_rail(dz: np.ndarray) -> float:
    """The LSST DESC RAIL outlier threshold max(0.06, 3 σ_IQR), σ_IQR = IQR(Δz) / 1.349."""
    q25, q75 = np.percentile(np.asarray(dz, dtype=float), [25, 75])
    return float(max(0.06, 3 * (q75 - q25) / 1.349))


def crps_binned(pdf: np.ndarray, edges: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Exact continuous ranked probability score of piecewise-constant PDFs, one value per row.

    CRPS = ∫ (F(x) − H(x − z))² dx with F the PDF's cumulative distribution (linear inside each bin)
    and H the step function at the true value z; integrated analytically bin by bin, plus the parts
    outside the bins when z lies there.

    Parameters
    ----------
    pdf : ndarray, shape (N, K)
        Probabilities (normalised here).
    edges : ndarray, shape (K + 1,)
    z : ndarray, shape (N,)
        True values.
    """
    p = np.atleast_2d(np.asarray(pdf, dtype=float))
    p = p / p.sum(axis=1, keepdims=True)
    edges = np.asarray(edges, dtype=float)
    z = np.asarray(z, dtype=float)[:, None]
    width = np.diff(edges)[None, :]
    start = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p, axis=1)[:, :-1]], axis=1)  # F at left edges
    t_z = np.clip((z - edges[None, :-1]) / width, 0.0, 1.0)  # where z cuts each bin, in [0, 1]

    def segment(a, t0, t1):  # ∫_{t0}^{t1} (a + p t)² w dt
        def antiderivative(t):
            return a**2 * t + a * p * t**2 + p**2 * t**3 / 3

        return width * (antiderivative(t1) - antiderivative(t0))

    inside = segment(start, 0.0, t_z) + segment(start - 1.0, t_z, 1.0)
    outside = np.clip(edges[0] - z[:, 0], 0, None) + np.clip(z[:, 0] - edges[-1], 0, None)
    return inside.sum(axis=1) + outside


def pit(pdf: np.ndarray, edges: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Probability integral transform: each PDF's cumulative probability at the true value."""
    return pdf_cdf_at(pdf, edges, z)


def pit_histogram(values: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    """Histogram of PIT values on [0, 1] (flat for calibrated PDFs) and the KS distance to uniform.

    Returns
    -------
    counts : ndarray
    edges : ndarray
    ks : float
        Largest absolute difference between the empirical and the uniform CDF.
    """
    values = np.sort(np.asarray(values, dtype=float))
    counts, edges = np.histogram(values, bins=bins, range=(0, 1))
    n = len(values)
    ecdf_hi, ecdf_lo = np.arange(1, n + 1) / n, np.arange(n) / n
    ks = float(max(np.max(ecdf_hi - values), np.max(values - ecdf_lo))) if n else np.nan
    return counts, edges, ks


def photoz_metrics(z_spec: np.ndarray, z_phot: np.ndarray, pdf: np.ndarray | None = None,
                   edges: np.ndarray | None = None, *, outlier_threshold: float | str = 0.05,
                   remove_widest: float = 0.0, width: np.ndarray | None = None) -> dict[str, float]:
    """Pasquet et al. (2019) metrics: bias ⟨Δz⟩, σ_MAD, outlier fraction η; with PDFs also CRPS, PIT KS distance
    and the median 68 % width.

    Parameters
    ----------
    z_spec, z_phot : ndarray
    pdf, edges : ndarray, optional
        Binned PDFs and their edges.
    outlier_threshold : float or "rail"
        Absolute Δz above this is an outlier (Pasquet: 0.05); "rail" uses max(0.06, 3 σ_IQR).
    remove_widest : float
        Fraction (0–1) of objects with the widest PDFs (``width``) to leave out first.
    width : ndarray, optional
        PDF widths (e.g. the 68 % interval), needed with ``remove_widest``.

    Returns
    -------
    dict
        ``n``, ``bias``, ``sigma_mad``, ``outlier_fraction``, ``outlier_threshold``; with PDFs ``n_pdf`` (the rows
        with a finite PDF, on which ``crps`` and ``pit_ks`` are measured); with widths ``median_width68``.

    Raises
    ------
    ValueError
        ``outlier_threshold`` is neither a non-negative number nor "rail", ``remove_widest`` is not
        in [0, 1) or is given without ``width``, a ``z_spec`` is -1 or below, or ``pdf`` does not hold
        one PDF of the bins ``edges`` gives per row.
    """
    if outlier_threshold != "rail":
        check_threshold(outlier_threshold)
    if (isinstance(remove_widest, (bool, np.bool_)) or not isinstance(remove_widest, (int, float, np.number))
            or not 0 <= remove_widest < 1):
        raise ValueError(f"remove_widest must be a fraction in [0, 1), got {remove_widest!r}")
    z_spec, z_phot = np.asarray(z_spec, dtype=float), np.asarray(z_phot, dtype=float)
    with np.errstate(invalid="ignore"):
        impossible = np.flatnonzero(z_spec <= -1)
    if len(impossible):
        raise ValueError(f"z_spec must be above -1 (Δz divides by 1 + z_spec); rows {impossible[:10].tolist()} "
                         f"are not")
    keep = np.isfinite(z_spec) & np.isfinite(z_phot)
    if remove_widest:
        if width is None:
            raise ValueError("remove_widest needs the PDF widths")
        keep &= np.asarray(width) <= np.nanquantile(np.asarray(width, dtype=float)[keep], 1 - remove_widest)
    dz = delta_z(z_phot[keep], z_spec[keep])
    threshold = outlier_threshold_rail(dz) if outlier_threshold == "rail" else float(outlier_threshold)
    out = {"n": int(keep.sum()), "bias": float(np.mean(dz)), "sigma_mad": sigma_mad(dz),
           "outlier_fraction": float(np.mean(np.abs(dz) > threshold)), "outlier_threshold": threshold}
    if pdf is not None:
        pdf = np.asarray(pdf, dtype=float)
        if pdf.ndim != 2 or edges is None or pdf.shape[1] != len(edges) - 1:
            raise ValueError(f"pdf must hold one PDF of {len(edges) - 1 if edges is not None else 'len(edges) - 1'} "
                             f"bins per row (the bins edges gives), not an array of shape {pdf.shape}")
        scored = keep & np.all(np.isfinite(pdf), axis=1)  # a row without a PDF is left out of CRPS and PIT only
        out["n_pdf"] = int(scored.sum())
        out["crps"] = float(np.mean(crps_binned(pdf[scored], edges, z_spec[scored])))
        out["pit_ks"] = pit_histogram(pit(pdf[scored], edges, z_spec[scored]))[2]
    if width is not None:
        out["median_width68"] = float(np.median(np.asarray(width, dtype=float)[keep]))
    return out


def evaluate_photoz(table: Table, true: str = "z_spec", pred: str = "z_phot", *, pdf: str | None = "z_pdf",
                    width: str | None = "z_width68", outlier_threshold: float | str = 0.05,
                    remove_widest: float = 0.0) -> QTable:
    """Table in, one-row table of photo-z metrics out (PDF columns and bin edges as :func:`astro_cnn.predict`
    writes them; bin edges from ``meta["astro_cnn"]["pdf_bin_edges"]``, which
    :func:`astro_cnn.read_table` restores from every format the tool writes).

    Raises
    ------
    ColumnError
        The table has the column ``pdf`` but no bin edges, ``pdf`` or ``width`` names a column the table does
        not have (other than the defaults, which are left out when absent), or ``true`` or ``pred`` has a unit
        that is not dimensionless.
    ValueError
        As :func:`photoz_metrics`.
    """
    pdfs = edges = widths = None
    for name, column, default in (("pdf", pdf, "z_pdf"), ("width", width, "z_width68")):
        if column is not None and column != default and column not in table.colnames:
            raise ColumnError(f"{name}={column!r} is not a column of the table; its columns are: "
                              f"{', '.join(table.colnames)}")
    for column in (true, pred):
        unit = getattr(table[column], "unit", None) if column in table.colnames else None
        if unit is not None and not unit.is_equivalent(u.dimensionless_unscaled):
            raise ColumnError(f"column {column!r} is in {unit}, not a redshift (dimensionless)")
    if pdf is not None and pdf in table.colnames:
        pdfs = np.asarray(table[pdf], dtype=float)
        try:
            edges = np.asarray(table.meta["astro_cnn"]["pdf_bin_edges"], dtype=float)
        except (KeyError, TypeError):
            raise ColumnError(f"the table has the PDF column pdf={pdf!r} but its metadata has no "
                              f"astro_cnn.pdf_bin_edges (the bin edges); pass pdf=None to leave the PDFs out") \
                from None
    if width is not None and width in table.colnames:
        widths = column_values(table, width)
    metrics = photoz_metrics(column_values(table, true), column_values(table, pred), pdfs, edges,
                             outlier_threshold=outlier_threshold, remove_widest=remove_widest, width=widths)
    out = QTable(rows=[{"method": pred, **metrics}])
    for name in out.colnames:
        if out[name].dtype.kind == "f":
            out[name].info.format = ".4f"  # metrics printed to the precision they mean, not 17 digits
    out.meta.update({"true": true, "remove_widest": remove_widest})
    return out
