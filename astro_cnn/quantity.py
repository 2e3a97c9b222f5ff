"""The :class:`Quantity` record: what a model predicts, in which unit, and how to train one by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import astropy.units as u
import numpy as np
from astropy.table import Table

from .pdf import pdf_mean, pdf_mode, pdf_quantile

__all__ = ["Quantity", "Prediction", "OUTPUT_COLUMNS"]

#: Description and IVOA UCD of the columns every predictions table may have besides the quantity's own.
OUTPUT_COLUMNS = {
    "image_path": ("image file the prediction was made from", "meta.file"),
    "ra": ("right ascension (ICRS) of the target", "pos.eq.ra;meta.main"),
    "dec": ("declination (ICRS) of the target", "pos.eq.dec;meta.main"),
    "status": ("'ok', or why the row has no value", "meta.code.status"),
    "flag": ("true when the row has no value (see status)", "meta.code.qual"),
}


@dataclass
class Prediction:
    """Raw predictions of a model for N images, in the quantity's numbers (no units yet).

    Attributes
    ----------
    value : ndarray, shape (N,)
        Point estimate (for a PDF: its mean).
    error : ndarray, shape (N,)
        One-sigma uncertainty (spread over test-time augmentations and ensemble members,
        or half the 68 % interval of the PDF).
    pdf : ndarray, shape (N, K), optional
        Binned probability distribution, for PDF quantities.
    bin_edges : ndarray, shape (K + 1,), optional
        Edges of the PDF bins.
    """

    value: np.ndarray
    error: np.ndarray
    pdf: np.ndarray | None = None
    bin_edges: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.value)


@dataclass(frozen=True)
class Quantity:
    """A physical quantity astro_cnn can predict.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"metallicity"``.
    column : str
        Name of the output column, e.g. ``"log_oh"``; the error column is ``column + "_err"``.
    unit : astropy.units.UnitBase
        Unit of the output column (``u.dex`` for 12+log(O/H), ``u.dex(u.Msun)`` for log M*).
    description : str
        What it is, with the literature reference.
    kind : {"regression", "pdf"}
        A single number per galaxy, or a binned probability distribution.
    label_columns : tuple of str
        Names of the training label in the papers' catalogues (first is preferred).
    valid_range : tuple of float
        Physically sensible range; labels outside it are refused at training time.
    default_survey, default_backbone, default_head, default_recipe : str
        Registry names used when training without naming them.
    extras : tuple of str
        Per-object scalar inputs the default network takes besides images (e.g. ``("ebv",)``).
    pdf_bins : int
        Number of PDF bins (``kind == "pdf"``).
    pdf_range : tuple of float
        Range covered by the PDF bins.
    ucd : str
        IVOA UCD of the output column (e.g. ``"phys.abund.Z"``, ``"phys.mass"``, ``"src.redshift.phot"``); the
        other output columns' UCDs are built from it.
    """

    name: str
    column: str
    unit: u.UnitBase
    description: str
    kind: Literal["regression", "pdf"] = "regression"
    label_columns: tuple[str, ...] = ()
    valid_range: tuple[float, float] = (-np.inf, np.inf)
    default_survey: str = ""
    default_backbone: str = ""
    default_head: str = ""
    default_recipe: str = ""
    extras: tuple[str, ...] = ()
    pdf_bins: int = 180
    pdf_range: tuple[float, float] = (0.0, 0.4)
    ucd: str = ""

    @property
    def error_column(self) -> str:
        """Name of the uncertainty column."""
        return f"{self.column}_err"

    @property
    def pdf_column(self) -> str | None:
        """Name of the PDF array column of a PDF quantity (``z_pdf`` for ``z_phot``), else None."""
        if self.kind != "pdf":
            return None
        return f"{self._stem}_pdf"

    @property
    def _stem(self) -> str:
        return self.column.rsplit("_", 1)[0] if "_" in self.column else self.column

    @property
    def error_unit(self) -> u.UnitBase:
        """Unit of the uncertainty: a difference of logarithms is in plain dex."""
        return u.dex if isinstance(self.unit, u.FunctionUnitBase) else self.unit

    @property
    def bin_edges(self) -> np.ndarray:
        """Edges of the PDF bins (``pdf_bins + 1`` values over ``pdf_range``)."""
        return np.linspace(self.pdf_range[0], self.pdf_range[1], self.pdf_bins + 1)

    def output_columns(self, prediction: Prediction) -> dict[str, u.Quantity | np.ndarray]:
        """Turn raw predictions into named output columns with units.

        For a regression quantity: ``column`` and ``column_err``.  For a PDF quantity also
        the mode, median, 68 % interval and its width, and the PDF itself as an array column.

        Parameters
        ----------
        prediction : Prediction

        Returns
        -------
        dict of str to Quantity or ndarray
        """
        columns: dict[str, u.Quantity | np.ndarray] = {
            self.column: np.asarray(prediction.value, dtype=float) * self.unit,
            self.error_column: np.asarray(prediction.error, dtype=float) * self.error_unit,
        }
        if self.kind == "pdf" and prediction.pdf is not None:
            pdf, edges = prediction.pdf, prediction.bin_edges
            stem = self._stem
            lo, hi = pdf_quantile(pdf, edges, 0.16), pdf_quantile(pdf, edges, 0.84)
            columns[f"{stem}_mode"] = pdf_mode(pdf, edges) * self.unit
            columns[f"{stem}_median"] = pdf_quantile(pdf, edges, 0.5) * self.unit
            columns[f"{stem}_lo68"] = lo * self.unit
            columns[f"{stem}_hi68"] = hi * self.unit
            columns[f"{stem}_width68"] = (hi - lo) * self.error_unit
            columns[self.pdf_column] = np.asarray(pdf, dtype=np.float32)
        return columns

    def column_descriptions(self) -> dict[str, tuple[str, str]]:
        """Description and IVOA UCD of each output column (see :meth:`output_columns`).

        Returns
        -------
        dict of str to (str, str)
            Column name to ``(description, ucd)``.
        """
        ucd = self.ucd
        columns = {self.column: (f"{self.name}: {self.description}", f"{ucd};meta.main" if ucd else ""),
                   self.error_column: (f"one-sigma uncertainty of {self.column}", f"stat.error;{ucd}".rstrip(";"))}
        if self.kind == "pdf":
            stem = self._stem
            columns.update({
                f"{stem}_mode": (f"mode of the PDF of {self.name}", f"{ucd};stat.max".lstrip(";")),
                f"{stem}_median": (f"median of the PDF of {self.name}", f"{ucd};stat.median".lstrip(";")),
                f"{stem}_lo68": (f"16th percentile of the PDF of {self.name}", f"stat.min;{ucd}".rstrip(";")),
                f"{stem}_hi68": (f"84th percentile of the PDF of {self.name}", f"stat.max;{ucd}".rstrip(";")),
                f"{stem}_width68": (f"width of the 68 % interval of the PDF of {self.name} (hi68 - lo68)",
                                    f"stat.error;{ucd}".rstrip(";")),
                self.pdf_column: (f"probability of {self.name} in each bin (edges: pdf_bin_edges in the table's "
                                  f"astro_cnn metadata)", "stat.probability"),
            })
        return columns

    def describe(self, table: Table, id_column: str | None = None) -> None:
        """Set the ``description`` and ``meta['ucd']`` of the output columns of a predictions table, in place.

        Parameters
        ----------
        table : Table or QTable
            A predictions table of this quantity; columns it does not have are skipped.
        id_column : str, optional
            The column of object ids copied from the input.
        """
        known = {**OUTPUT_COLUMNS, **self.column_descriptions()}
        if id_column is not None:
            known[id_column] = ("identifier of the object in the input table", "meta.id;meta.main")
        for name, (description, ucd) in known.items():
            if name in table.colnames:
                table[name].info.description = description
                if ucd:
                    table[name].info.meta = {**(table[name].info.meta or {}), "ucd": ucd}

    def summarise_pdf(self, pdf: np.ndarray) -> Prediction:
        """Build a :class:`Prediction` (mean, half 68 % width) from PDFs over this quantity's bins."""
        edges = self.bin_edges
        half_width = 0.5 * (pdf_quantile(pdf, edges, 0.84) - pdf_quantile(pdf, edges, 0.16))
        return Prediction(pdf_mean(pdf, edges), half_width, np.asarray(pdf), edges)
