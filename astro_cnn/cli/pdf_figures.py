"""PIT histogram and PDF gallery added to an evaluation report of photo-z predictions with binned PDFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

__all__ = ["pdf_figures"]


def pdf_figures(table: Table, truth: str, pdf_column: str, report: Path) -> None:
    """Write ``pit.png`` and ``pdf_gallery.png`` into ``report`` (bin edges from ``meta["astro_cnn"]``)."""
    from ..evaluation.figures import pdf_gallery, pit_figure
    from ..evaluation.metrics import column_values
    from ..evaluation.photoz import pit

    ok = ~np.asarray(table["flag"], dtype=bool) if "flag" in table.colnames else np.ones(len(table), bool)
    pdf = np.asarray(table[pdf_column], dtype=float)[ok]
    edges = np.asarray(table.meta["astro_cnn"]["pdf_bin_edges"], dtype=float)
    true = column_values(table, truth)[ok]
    pit_figure(pit(pdf, edges, true), report / "pit.png")
    pdf_gallery(pdf, edges, true, report / "pdf_gallery.png")
