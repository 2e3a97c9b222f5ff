"""PIT histogram and PDF gallery added to an evaluation report of photo-z predictions with binned PDFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

__all__ = ["pdf_figures"]


def pdf_figures(table: Table, truth: str, pdf_column: str, report: Path) -> None:
    """Write ``pit.png`` and ``pdf_gallery.png`` into ``report`` (bin edges from ``meta["astro_cnn"]``).

    The gallery's panels are titled with the objects' ids (the first column named ``id`` or ``objid``, else the
    row number) and mark ``z_phot`` when the table has it.
    """
    from ..evaluation.figures import pdf_gallery, pit_figure
    from ..evaluation.metrics import column_values
    from ..evaluation.photoz import pit

    ok = ~np.asarray(table["flag"], dtype=bool) if "flag" in table.colnames else np.ones(len(table), bool)
    pdf = np.asarray(table[pdf_column], dtype=float)[ok]
    edges = np.asarray(table.meta["astro_cnn"]["pdf_bin_edges"], dtype=float)
    true = column_values(table, truth)[ok]
    pit_figure(pit(pdf, edges, true), report / "pit.png")
    id_column = next((name for name in ("id", "objid", "specobjid") if name in table.colnames), None)
    ids = np.asarray(table[id_column])[ok] if id_column else np.flatnonzero(ok)
    pred = column_values(table, "z_phot")[ok] if "z_phot" in table.colnames else None
    pdf_gallery(pdf, edges, true, report / "pdf_gallery.png", ids=[f"{id_column or 'row'} {i}" for i in ids],
                pred=pred)
