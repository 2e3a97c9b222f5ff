"""The :class:`Quantity` record: what a model predicts, in which unit, and how to train one by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import astropy.units as u
import numpy as np
from astropy.table import Table

from .exceptions import AstroCNNError
from .pdf import pdf_mean, pdf_mode, pdf_quantile

__all__ = ["Quantity", "Output", "Prediction", "OUTPUT_COLUMNS", "values_in_unit"]

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
    value : ndarray, shape (N,) or (N, K)
        Point estimate (for a PDF: its mean); one column per output of a quantity with K > 1 outputs.
    error : ndarray, shape (N,) or (N, K)
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

    def output(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Value and error of output ``k`` (the only one of a single-output prediction), shape (N,)."""
        value, error = np.asarray(self.value, dtype=float), np.asarray(self.error, dtype=float)
        if value.ndim == 1:
            if k != 0:
                raise IndexError(f"a single-output prediction has no output {k}")
            return value, error
        return value[:, k], error[:, k]


#: How an output is transformed into what a network learns (see :attr:`Output.scale`).
SCALES = ("linear", "log", "logit")
#: Logit outputs are clipped this far inside (0, 1) before the transform, so 0 and 1 stay finite.
_LOGIT_EPS = 1e-3


@dataclass(frozen=True)
class Output:
    """One number a quantity predicts per galaxy: its column, unit and range.

    Parameters
    ----------
    column : str
        Output column name; the error column is ``column + "_err"``.
    unit : astropy.units.UnitBase
        Unit of the column.
    description : str
        What it is.
    valid_range : tuple of float
        Physically sensible range; a prediction outside it is unusable.
    ucd : str
        IVOA UCD of the column.
    label_columns : tuple of str
        Names of its training label in catalogues (first is preferred).
    scale : {"linear", "log", "logit"}
        What a network learns: the value, its log10 (a positive number spanning decades, e.g. a
        radius), or its logit (a fraction in (0, 1), e.g. an axis ratio).  Averages and spreads
        over test-time augmentations are taken on this scale; the error is brought back to the
        output's unit to first order.
    """

    column: str
    unit: u.UnitBase
    description: str = ""
    valid_range: tuple[float, float] = (-np.inf, np.inf)
    ucd: str = ""
    label_columns: tuple[str, ...] = ()
    scale: Literal["linear", "log", "logit"] = "linear"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"output {self.column!r}: scale must be one of {SCALES}, not {self.scale!r}")

    @property
    def error_column(self) -> str:
        """Name of the uncertainty column."""
        return f"{self.column}_err"

    @property
    def error_unit(self) -> u.UnitBase:
        """Unit of the uncertainty: a difference of logarithms is in plain dex."""
        return u.dex if isinstance(self.unit, u.FunctionUnitBase) else self.unit

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Values in the output's unit → the scale a network learns (a linear output's values as they are)."""
        values = np.asarray(values)
        if self.scale == "log":
            return np.log10(values.astype(float))
        if self.scale == "logit":
            clipped = np.clip(values.astype(float), _LOGIT_EPS, 1 - _LOGIT_EPS)
            return np.log(clipped / (1 - clipped))
        return values

    def decode(self, encoded: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`encode`."""
        encoded = np.asarray(encoded)
        if self.scale == "log":
            return 10 ** encoded.astype(float)
        if self.scale == "logit":
            return 1 / (1 + np.exp(-encoded.astype(float)))
        return encoded

    def decode_error(self, encoded: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """A 1σ error ``sigma`` on the learned scale at ``encoded``, in the output's unit (to first order)."""
        sigma = np.asarray(sigma)
        if self.scale == "log":
            return self.decode(encoded) * np.log(10) * sigma
        if self.scale == "logit":
            value = self.decode(encoded)
            return value * (1 - value) * sigma
        return sigma


@dataclass(frozen=True)
class Quantity:
    """A physical quantity astro_cnn can predict.

    A quantity predicts one number per galaxy (``column``, ``unit``, ``valid_range``, ...) or
    several, each with its own unit and range (``outputs``); the networks' heads size themselves
    from :attr:`outputs`.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"metallicity"``.
    column : str
        Name of the output column, e.g. ``"log_oh"``; the error column is ``column + "_err"``.
        Default for a quantity with ``outputs``: the first output's.
    unit : astropy.units.UnitBase
        Unit of the output column (``u.dex`` for 12+log(O/H), ``u.dex(u.Msun)`` for log M*).
        Default for a quantity with ``outputs``: the first output's.
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
    outputs : tuple of Output
        The numbers predicted per galaxy; default: the one :class:`~astro_cnn.quantity.Output` described by ``column``,
        ``unit``, ``valid_range``, ``ucd`` and ``label_columns``.  Several outputs need
        ``kind="regression"``.

    Raises
    ------
    ValueError
        Neither ``column`` and ``unit`` nor ``outputs`` are given, output columns repeat, or a
        PDF quantity has several outputs.
    """

    name: str
    column: str = ""
    unit: u.UnitBase | None = None
    description: str = ""
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
    outputs: tuple[Output, ...] = ()

    def __post_init__(self) -> None:
        if not self.outputs:
            if not self.column or self.unit is None:
                raise ValueError(f"quantity {self.name!r} needs a column and a unit, or outputs")
            object.__setattr__(self, "outputs", (Output(self.column, self.unit, self.description, self.valid_range,
                                                        self.ucd, self.label_columns),))
            return
        object.__setattr__(self, "outputs", tuple(self.outputs))
        columns = [o.column for o in self.outputs]
        if len(set(columns)) != len(columns):
            raise ValueError(f"quantity {self.name!r}: output columns repeat in {columns}")
        if len(self.outputs) > 1 and self.kind != "regression":
            raise ValueError(f"quantity {self.name!r}: several outputs need kind='regression', not {self.kind!r}")
        if not self.column:
            object.__setattr__(self, "column", self.outputs[0].column)
        if self.unit is None:
            object.__setattr__(self, "unit", self.outputs[0].unit)

    @property
    def n_outputs(self) -> int:
        """Numbers predicted per galaxy (a head's width, for a regression)."""
        return len(self.outputs)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Values ``(..., K)`` (``(...)`` for one output) → the scale networks learn (:meth:`Output.encode`)."""
        return self._per_output(values, lambda output, column: output.encode(column))

    def decode(self, encoded: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`encode`."""
        return self._per_output(encoded, lambda output, column: output.decode(column))

    def decode_error(self, encoded: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """1σ errors on the learned scale → the outputs' units (:meth:`Output.decode_error`)."""
        encoded, sigma = np.asarray(encoded), np.asarray(sigma)
        if self.n_outputs == 1:
            return self.outputs[0].decode_error(encoded, sigma)
        return np.stack([o.decode_error(encoded[..., k], sigma[..., k]) for k, o in enumerate(self.outputs)],
                        axis=-1)

    def _per_output(self, values: np.ndarray, transform) -> np.ndarray:
        values = np.asarray(values)
        if self.n_outputs == 1:
            return transform(self.outputs[0], values)
        if values.shape[-1:] != (self.n_outputs,):
            raise ValueError(f"quantity {self.name!r} has {self.n_outputs} outputs "
                             f"({', '.join(o.column for o in self.outputs)}) but the values have shape {values.shape}")
        return np.stack([transform(o, values[..., k]) for k, o in enumerate(self.outputs)], axis=-1)

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

        For a regression quantity: ``column`` and ``column_err`` of each output.  For a PDF
        quantity also the mode, median, 68 % interval and its width, and the PDF itself as an array
        column.

        Parameters
        ----------
        prediction : Prediction

        Returns
        -------
        dict of str to Quantity or ndarray
        """
        columns: dict[str, u.Quantity | np.ndarray] = {}
        for k, output in enumerate(self.outputs):
            value, error = prediction.output(k)
            columns[output.column] = value * output.unit
            columns[output.error_column] = error * output.error_unit
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
        if self.n_outputs == 1:
            columns = {self.column: (f"{self.name}: {self.description}", f"{ucd};meta.main" if ucd else ""),
                       self.error_column: (f"one-sigma uncertainty of {self.column}",
                                           f"stat.error;{ucd}".rstrip(";"))}
        else:
            columns = {}
            for output in self.outputs:
                columns[output.column] = (f"{self.name}: {output.description}", output.ucd)
                columns[output.error_column] = (f"one-sigma uncertainty of {output.column}",
                                                f"stat.error;{output.ucd}".rstrip(";"))
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


def values_in_unit(values: np.ndarray, given: u.UnitBase | str | None, unit: u.UnitBase, what: str,
                   error: type[AstroCNNError] = AstroCNNError) -> np.ndarray:
    """``values`` in ``given`` units converted to ``unit`` (an output's unit, for labels).

    No unit, or one astropy does not recognise, leaves the values as they are; so does a logarithmic
    unit given without its physical part or with it where ``unit`` has none (a ``dex`` column for
    ``dex(solMass)``, ``mag(AB)`` for ``mag``).

    Parameters
    ----------
    values : ndarray
    given : unit, str or None
        The values' unit.
    unit : Unit
        The unit wanted.
    what : str
        The values, for the error message (e.g. "label column 'r_e'").
    error : type
        The error raised.

    Returns
    -------
    ndarray

    Raises
    ------
    AstroCNNError
        (or ``error``) A unit that does not convert.
    """
    if given is None or isinstance(given, u.UnrecognizedUnit) or given == unit:
        return values
    given = u.Unit(given)
    try:
        return (values * given).to_value(unit)
    except u.UnitsError:  # (a conversion error, or one raised trying the enabled equivalencies)
        if _function_part(given) == _function_part(unit) and not (_has_physical_part(given)
                                                                   and _has_physical_part(unit)):
            return values
        raise error(f"{what} is in {given}, which does not convert to {unit.to_string() or 'dimensionless'}"
                    ) from None


def _function_part(unit: u.UnitBase) -> u.UnitBase:
    return unit.function_unit if isinstance(unit, u.FunctionUnitBase) else unit


def _has_physical_part(unit: u.UnitBase) -> bool:
    return isinstance(unit, u.FunctionUnitBase) and unit.physical_unit != u.dimensionless_unscaled
