"""Export of photo-z PDFs to the ``qp`` ensemble format used by LSST DESC RAIL (where ``qp`` is installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..exceptions import AstroCNNError, ColumnError

__all__ = ["to_qp", "write_qp"]


def to_qp(table: Table, pdf: str = "z_pdf"):
    """Return a ``qp.Ensemble`` of histogram PDFs from a predictions table.

    Parameters
    ----------
    table : Table
        Output of :func:`astro_cnn.predict` for a PDF quantity (bin edges in
        ``meta["astro_cnn"]["pdf_bin_edges"]``), or such a table read back by
        :func:`astro_cnn.read_table` from any format the tool writes.  Flagged rows (all-NaN PDFs) become flat PDFs so
        that rows stay aligned; check the ``flag`` column.
    pdf : str
        PDF column.

    Raises
    ------
    AstroCNNError
        ``qp`` is not installed (``pip install qp-prob``).
    ColumnError
        The table has no PDF column or no bin edges.
    """
    try:
        import qp
    except ImportError:
        raise AstroCNNError("exporting PDFs needs qp: pip install qp-prob") from None
    if pdf not in table.colnames:
        raise ColumnError(f"column {pdf!r} is not in the table; its columns are: {', '.join(table.colnames)}")
    try:
        edges = np.asarray(table.meta["astro_cnn"]["pdf_bin_edges"], dtype=float)
    except KeyError:
        raise ColumnError("the table's metadata has no astro_cnn.pdf_bin_edges (bin edges of the PDFs)") from None
    pdfs = np.asarray(table[pdf], dtype=float)
    pdfs = np.where(np.isfinite(pdfs).all(axis=1, keepdims=True), pdfs, 1.0)
    return qp.Ensemble(qp.hist, data={"bins": edges, "pdfs": pdfs})


def write_qp(table: Table, path: str | Path, pdf: str = "z_pdf") -> Path:
    """Write the PDFs of ``table`` as a qp file (HDF5 or FITS, by suffix)."""
    path = Path(path)
    to_qp(table, pdf).write_to(str(path))
    return path
