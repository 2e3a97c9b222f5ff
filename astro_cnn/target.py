"""Targets: which galaxies to measure, built from any astropy Table, SkyCoord or list of image files.

Rows keep their order.  A row whose position (or required extra input) is unusable is not
dropped: it stays in the list with a status that says what is wrong, and is flagged in the output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from .arguments import checked_names, checked_table
from .exceptions import ColumnError

__all__ = ["Target", "TargetList", "RA_NAMES", "DEC_NAMES", "ID_NAMES", "find_optional_column", "image_file_names"]

#: Column names recognised as right ascension, in order of preference (case-insensitive).
RA_NAMES = ("ra", "ra_deg", "raj2000", "ra_icrs", "ra_j2000", "alpha", "ra_obj")
#: Column names recognised as declination.
DEC_NAMES = ("dec", "dec_deg", "dej2000", "decj2000", "de_icrs", "dec_icrs", "dec_j2000", "delta", "dec_obj")
#: Column names recognised as an object identifier.
ID_NAMES = ("id", "objid", "obj_id", "object_id", "source_id", "specobjid", "name", "galaxy_id", "targetid")
#: Words that mark a column name as a coordinate the lookup did not recognise (e.g. ``RA_J2000_deg``).
_COORDINATE_WORDS = {"ra", "radeg", "dec", "decdeg", "de", "decl", "declin", "declination", "right", "ascension"}


class _NoCoordinatesError(ColumnError):
    """No column of the table is recognised as right ascension or declination."""


@dataclass(frozen=True)
class Target:
    """One galaxy to measure.

    Attributes
    ----------
    row : int
        Row of the input table (0-based).
    id : object
        Identifier from the input's id column, or the row number.
    coord : SkyCoord or None
        Position (scalar ICRS SkyCoord), None when the row has none usable or images come from files.
    extras : mapping of str to float
        Extra per-object inputs a model needs (e.g. ``{"ebv": 0.03}``).
    image_path : str or None
        An image file supplied by the user instead of a position.
    status : str
        ``""`` when usable, else why not.
    """

    row: int
    id: object
    coord: SkyCoord | None
    extras: Mapping[str, float] = field(default_factory=dict)
    image_path: str | None = None
    status: str = ""

    @property
    def ok(self) -> bool:
        """Whether the target can be measured."""
        return not self.status


class TargetList(Sequence[Target]):
    """An ordered list of targets with vectorised access to their positions.

    Build one with :meth:`from_table` or :meth:`from_skycoord`.

    Attributes
    ----------
    ra, dec : ndarray
        ICRS degrees (NaN for rows without a usable position).
    ids : ndarray
        Identifiers.
    id_column : str or None
        Name of the input's id column, if there was one.
    extras : dict of str to ndarray
        Extra per-object inputs.
    image_paths : ndarray of str or None
        Image files, when targets come from files.
    status : ndarray of str
        ``""`` for usable rows, else the reason.
    """

    def __init__(
        self,
        ra: np.ndarray,
        dec: np.ndarray,
        ids: Sequence[object] | None = None,
        *,
        id_column: str | None = None,
        extras: Mapping[str, np.ndarray] | None = None,
        image_paths: Sequence[str] | None = None,
        status: Sequence[str] | None = None,
    ):
        self.ra = np.asarray(ra, dtype=float)
        self.dec = np.asarray(dec, dtype=float)
        n = len(self.ra)
        self.ids = (ids if np.ma.isMaskedArray(ids) else np.asarray(ids)) if ids is not None else np.arange(n)
        self.id_column = id_column
        self.extras = {k: np.asarray(v, dtype=float) for k, v in (extras or {}).items()}
        self.image_paths = None if image_paths is None else np.asarray(image_paths, dtype=str)
        self.status = np.array(status if status is not None else [""] * n, dtype=object)
        if not (len(self.dec) == len(self.ids) == len(self.status) == n):
            raise ValueError("ra, dec, ids and status must have the same length")

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_table(
        cls,
        table: Table,
        *,
        ra: str | None = None,
        dec: str | None = None,
        coord: str | None = None,
        id_column: str | None = None,
        extras: Sequence[str] = (),
        image_column: str | None = None,
        positions_optional: bool = False,
    ) -> TargetList:
        """Build targets from a table, finding its coordinate and id columns.

        Parameters
        ----------
        table : Table or QTable
            One row per galaxy.
        ra, dec : str, optional
            Names of the coordinate columns (degrees when unitless, any angle unit otherwise,
            or sexagesimal text).  Found among :data:`~astro_cnn.target.RA_NAMES` /
            :data:`~astro_cnn.target.DEC_NAMES` if omitted.
        coord : str, optional
            Name of a SkyCoord column to use instead of ``ra``/``dec``.
        id_column : str, optional
            Identifier column; found among :data:`~astro_cnn.target.ID_NAMES` if omitted (none is fine).
        extras : sequence of str
            Columns holding extra per-object inputs that the model needs; each must exist.
        image_column : str, optional
            Column naming image files (JPEG, PNG or FITS); positions are then optional.
        positions_optional : bool
            A table with an id column but no coordinate columns gives targets without
            positions (NaN), for surveys that find images by id
            (:attr:`astro_cnn.Survey.finds_images_by_id`).  A column whose name looks like a
            coordinate (a word such as ``ra``, ``dec``, ``de``, ``right``) that is not among
            :data:`~astro_cnn.target.RA_NAMES` / :data:`~astro_cnn.target.DEC_NAMES` is still an error:
            the positions were meant.

        Returns
        -------
        TargetList

        Raises
        ------
        ColumnError
            A named column does not exist, or coordinate columns are missing, ambiguous,
            of a non-angle unit, boolean or text that is not an angle.
        """
        n = len(checked_table(table))
        for argument, value in (("ra", ra), ("dec", dec), ("coord", coord), ("id_column", id_column),
                                ("image_column", image_column)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{argument} must be the name of a column, not a {type(value).__name__}")
        extras = checked_names(extras, "extras")
        status = [""] * n
        id_name = id_column if id_column is not None else find_optional_column(table, ID_NAMES)
        paths = None
        if image_column is not None:
            paths = image_file_names(table, image_column)
            for i, p in enumerate(paths):
                if not p:
                    status[i] = f"no image file in column {image_column!r}"
        # positions are optional with image files (only a position given off the sky or by half flags a row), or for
        # an id-only table when asked
        optional = image_column is not None or (positions_optional and id_name is not None)
        position_status = [""] * n if image_column is not None else status
        try:
            ra_deg, dec_deg = _positions(table, ra, dec, coord, position_status)
        except _NoCoordinatesError:
            if not optional or ra is not None or dec is not None or coord is not None or _coordinate_like(table):
                raise
            ra_deg = dec_deg = np.full(n, np.nan)
        if image_column is not None:  # no position is fine with an image file; half of one or one off the sky is not
            for i in np.flatnonzero(np.isfinite(ra_deg) | np.isfinite(dec_deg)):
                if position_status[i] and not status[i]:
                    status[i] = position_status[i]
        if id_name is not None:
            _require(table, id_name, "id column")
            ids = _identifiers(table[id_name])
            if image_column is None:  # a survey that finds images by id must not use a masked id's hidden value
                for i in np.flatnonzero(np.ma.getmaskarray(ids) & ~(np.isfinite(ra_deg) & np.isfinite(dec_deg))):
                    if not status[i]:
                        status[i] = f"no position and no identifier (masked) in column {id_name!r}"
        else:
            ids = np.arange(n)
        extra_values = {}
        for name in extras:
            _require(table, name, f"column {name!r} needed by the model as an extra input")
            values = _as_float(table[name])
            for i in np.flatnonzero(~np.isfinite(values)):
                if not status[i]:
                    status[i] = f"extra input {name!r} is missing or not finite in row {i}"
            extra_values[name] = values
        return cls(ra_deg, dec_deg, ids, id_column=id_name, extras=extra_values, image_paths=paths, status=status)

    @classmethod
    def from_skycoord(cls, coords: SkyCoord, ids: Sequence[object] | None = None) -> TargetList:
        """Build targets from a SkyCoord array (any frame; converted to ICRS)."""
        icrs = coords.icrs if coords.isscalar is False else coords.icrs.reshape((1,))
        table = Table({"ra": icrs.ra.deg, "dec": icrs.dec.deg})
        out = cls.from_table(table, ra="ra", dec="dec", id_column=None)
        if ids is not None:
            out.ids = np.asarray(ids)
        return out

    # --- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ra)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice) or isinstance(index, np.ndarray) or isinstance(index, list):
            return self.subset(np.arange(len(self))[index])
        i = int(index)
        if i < 0:
            i += len(self)
        coord = None
        if np.isfinite(self.ra[i]) and -90.0 <= self.dec[i] <= 90.0:
            coord = SkyCoord(self.ra[i] * u.deg, self.dec[i] * u.deg, frame="icrs")
        return Target(
            row=i,
            id=self.ids[i],
            coord=coord,
            extras={k: float(v[i]) for k, v in self.extras.items()},
            image_path=None if self.image_paths is None else str(self.image_paths[i]),
            status=str(self.status[i]),
        )

    def __iter__(self) -> Iterator[Target]:
        return (self[i] for i in range(len(self)))

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of usable rows."""
        return np.array([not s for s in self.status], dtype=bool)

    @property
    def coords(self) -> SkyCoord:
        """All positions as one ICRS SkyCoord (NaN where unusable)."""
        return SkyCoord(self.ra * u.deg, self.dec * u.deg, frame="icrs")

    def subset(self, rows: np.ndarray) -> TargetList:
        """Return the targets in ``rows`` (indices), keeping their order."""
        rows = np.asarray(rows, dtype=int)
        return TargetList(
            self.ra[rows],
            self.dec[rows],
            self.ids[rows],
            id_column=self.id_column,
            extras={k: v[rows] for k, v in self.extras.items()},
            image_paths=None if self.image_paths is None else self.image_paths[rows],
            status=self.status[rows],
        )


# --- private helpers -------------------------------------------------------------------------
def _require(table: Table, name: str, what: str) -> None:
    if name not in table.colnames:
        raise ColumnError(f"{what} {name!r} is not in the table; its columns are: {', '.join(table.colnames)}")


def image_file_names(table: Table, column: str) -> list[str]:
    """Each row's image file name in ``column``: its text, stripped ("" where masked or empty).

    Raises
    ------
    ColumnError
        The column is not in the table, or holds numbers, booleans or several values per row rather
        than file names.
    """
    _require(table, column, "image column")
    values = table[column]
    kind = getattr(values, "dtype", np.dtype(object)).kind
    if getattr(values, "ndim", 1) != 1 or kind not in "USO":
        what = ("several values per row" if getattr(values, "ndim", 1) != 1
                else "booleans" if kind == "b" else f"{values.dtype} numbers")
        raise ColumnError(f"image column {column!r} holds {what}, not file names")
    return [_text(value) for value in values]


def find_optional_column(table: Table, candidates: Sequence[str]) -> str | None:
    """The column named like the first of ``candidates`` (lower case) that the table has, in any case.

    Where several columns differ only in case (``objid`` and ``OBJID``), the one spelled as the candidate
    wins, else the first in the table, so that every command picks the same column.

    Parameters
    ----------
    table : Table
    candidates : sequence of str
        Lower-case names, the preferred first (e.g. :data:`ID_NAMES`).

    Returns
    -------
    str or None
        The column's name; None when the table has none of them.
    """
    for candidate in candidates:
        matches = [name for name in table.colnames if name.lower() == candidate]
        if matches:
            return candidate if candidate in matches else matches[0]
    return None


def _find(table: Table, candidates: Sequence[str], what: str, option: str) -> str:
    matches = [c for c in table.colnames if c.lower() in candidates]
    if not matches:
        raise _NoCoordinatesError(
            f"no {what} column found (looked for {', '.join(candidates)}, any case); "
            f"name it with {option}=... (CLI: --{option}); the table's columns are: {', '.join(table.colnames)}"
        )
    if len(matches) > 1:
        raise ColumnError(f"ambiguous {what} columns {matches}; choose one with {option}=... (CLI: --{option})")
    return matches[0]


def _coordinate_like(table: Table) -> bool:
    """Whether a column name holds a coordinate word (``RA_J2000_deg``, ``RightAsc``, ``Declin``)."""
    for name in table.colnames:
        words = re.findall(r"[a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower())
        if _COORDINATE_WORDS.intersection(words):
            return True
    return False


def _positions(table, ra, dec, coord, status):
    if coord is None and ra is None and dec is None:
        sky = [c for c in table.colnames if isinstance(table[c], SkyCoord)]
        has_radec = any(c.lower() in RA_NAMES for c in table.colnames)
        if len(sky) > 1 and not has_radec:
            raise ColumnError(f"ambiguous SkyCoord columns {sky}; choose one with coord=...")
        if len(sky) == 1 and not has_radec:
            coord = sky[0]
    if coord is not None:
        _require(table, coord, "coordinate column")
        column = table[coord]
        if not isinstance(column, SkyCoord):
            raise ColumnError(f"column {coord!r} is not a SkyCoord column (it is {type(column).__name__})")
        icrs = column.icrs
        ra_deg, dec_deg = np.array(icrs.ra.deg, dtype=float), np.array(icrs.dec.deg, dtype=float)
    else:
        ra_name = ra if ra is not None else _find(table, RA_NAMES, "right ascension", "ra")
        dec_name = dec if dec is not None else _find(table, DEC_NAMES, "declination", "dec")
        _require(table, ra_name, "right ascension column")
        _require(table, dec_name, "declination column")
        ra_deg = _angle_degrees(table[ra_name], ra_name, sexagesimal_unit=u.hourangle)
        dec_deg = _angle_degrees(table[dec_name], dec_name, sexagesimal_unit=u.deg)
        for i in range(len(ra_deg)):
            reason = _position_problem(ra_deg[i], dec_deg[i], ra_name, dec_name, i)
            if reason and not status[i]:
                status[i] = reason
        return ra_deg, dec_deg
    for i in range(len(ra_deg)):
        reason = _position_problem(ra_deg[i], dec_deg[i], f"{coord}.ra", f"{coord}.dec", i)
        if reason and not status[i]:
            status[i] = reason
    return ra_deg, dec_deg


def _position_problem(ra: float, dec: float, ra_name: str, dec_name: str, row: int) -> str:
    if not np.isfinite(ra):
        return f"{ra_name} is missing or not a number in row {row}"
    if not np.isfinite(dec):
        return f"{dec_name} is missing or not a number in row {row}"
    if not 0.0 <= ra <= 360.0:
        return f"{ra_name} = {ra:g} deg is outside 0..360 in row {row}"
    if not -90.0 <= dec <= 90.0:
        return f"{dec_name} = {dec:g} deg is outside -90..90 in row {row}"
    return ""


def _angle_degrees(column, name: str, sexagesimal_unit: u.UnitBase) -> np.ndarray:
    unit = getattr(column, "unit", None)
    kind = column.dtype.kind
    if kind == "b":
        raise ColumnError(f"column {name!r} holds booleans, not angles")
    if kind in "USO":
        values = np.array([_parse_angle(v, sexagesimal_unit) for v in column], dtype=float)
        texts = [_text(v) for v in column]
        if not np.isfinite(values).any() and any(texts):
            example = next(t for t in texts if t)
            raise ColumnError(f"column {name!r} holds text that is not an angle (e.g. {example!r})")
        return values
    if kind not in "iuf":
        raise ColumnError(f"column {name!r} holds {_KIND_NAMES.get(kind, column.dtype.name)} values, not angles")
    values = _as_float(getattr(column, "value", column))
    if unit is not None and unit != u.dimensionless_unscaled:
        if not unit.is_equivalent(u.deg):
            raise ColumnError(f"column {name!r} has unit {unit}, which is not an angle")
        values = values * unit.to(u.deg)
    return values


_KIND_NAMES = {"c": "complex", "M": "date-time", "m": "time-interval", "V": "structured"}


def _parse_angle(value, unit: u.UnitBase) -> float:
    text = _text(value)
    if not text:
        return np.nan
    try:
        return float(text)
    except ValueError:
        pass
    try:
        from astropy.coordinates import Angle

        return float(Angle(text, unit=unit).deg)
    except (ValueError, u.UnitsError):
        return np.nan


def _identifiers(column) -> np.ndarray:
    """An id column's values, as a masked array where the column has masked (missing) values, so that a missing
    id stays missing in the output instead of showing the value hidden under its mask."""
    values = np.asarray(column)
    if hasattr(column, "mask") and np.ma.getmaskarray(column).any():
        return np.ma.masked_array(values, mask=np.ma.getmaskarray(column))
    return values


def _as_float(values) -> np.ndarray:
    if np.ma.isMaskedArray(values) or hasattr(values, "mask"):
        return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return np.asarray(values, dtype=float)


def _text(value) -> str:
    if value is None or value is np.ma.masked:
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).strip()
