"""Checks of the plain arguments every entry point takes (counts, numbers and true/false switches), with one wording.

A count given as ``True``, ``1.5``, ``"8"`` or below its least value, or a switch given as ``"no"`` (which
Python would take for true, and so replace a file), is refused with an error that names the argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.table import Table

from .exceptions import AstroCNNError, ColumnError

__all__ = [
    "checked_count", "checked_number", "checked_fraction", "checked_widths", "checked_switch", "checked_table",
    "checked_names",
]


def checked_count(value: Any, name: str, least: int = 1) -> int:
    """Return ``value`` as an int if it is an integer of at least ``least``.

    Parameters
    ----------
    value : object
        The argument as given.
    name : str
        Its name, for the error (e.g. ``"batch_size"`` or ``"option retries"``).
    least : int
        The smallest value allowed.

    Raises
    ------
    AstroCNNError
        ``value`` is a boolean, not an integer, or below ``least``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < least:
        raise AstroCNNError(f"{name} must be an integer of at least {least}, not {value!r}")
    return int(value)


def checked_number(value: Any, name: str, *, zero: bool = False, unit: str = "") -> float:
    """Return ``value`` as a float if it is a finite number above 0 (or at least 0, with ``zero``).

    Parameters
    ----------
    value : object
        The argument as given.
    name : str
        Its name, for the error (e.g. ``"option timeout"``).
    zero : bool
        Whether 0 is allowed (a rate limit of 0: no limit).
    unit : str
        What the number counts, for the error (``"seconds"``).

    Raises
    ------
    AstroCNNError
        ``value`` is a boolean, not a number, not finite, negative, or 0 without ``zero``.
    """
    number = _as_float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise AstroCNNError(f"{name} must be a number{f' of {unit}' if unit else ''} "
                            f"{'of at least 0' if zero else 'above 0'}, not {value!r}")
    return number


def checked_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float if it is a number from 0 up to (not including) 1.

    Parameters
    ----------
    value : object
        The argument as given.
    name : str
        Its name, for the error (e.g. ``"dropout"``).

    Raises
    ------
    AstroCNNError
        ``value`` is a boolean, not a number, or outside 0 to 1 (1 itself included).
    """
    number = _as_float(value)
    if not 0 <= number < 1:
        raise AstroCNNError(f"{name} must be a number from 0 up to (not including) 1, not {value!r}")
    return number


def _as_float(value: Any) -> float:
    """``value`` as a float if it is a real number (not a boolean), else NaN (also for an int too large)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return np.nan
    try:
        return float(value)
    except OverflowError:
        return np.nan


def checked_widths(value: Any, name: str, what: str = "layer widths", example: str = "[1024, 1024]") -> tuple[int, ...]:
    """Return layer widths (or other sizes) given as a list or tuple of integers of at least 1 (none: no such layers).

    Parameters
    ----------
    value : object
        The argument as given.
    name : str
        Its name, for the error (``"hidden"``); a width is named by its place (``"hidden[1]"``).
    what, example : str
        What the numbers are and an example of them, for the error (``"cycle lengths in epochs"``, ``"[1, 2]"``).

    Raises
    ------
    AstroCNNError
        ``value`` is one number rather than a sequence of them, or a width is not an integer of at least 1.
    """
    if not isinstance(value, (list, tuple)):
        raise AstroCNNError(f"{name} must be a list of {what}, e.g. {example}, not {value!r}")
    return tuple(checked_count(width, f"{name}[{i}]") for i, width in enumerate(value))


def checked_switch(value: Any, name: str) -> bool:
    """Return ``value`` if it is True or False.

    Raises
    ------
    AstroCNNError
        ``value`` is anything else (a string such as ``"no"`` would count as true).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise AstroCNNError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def checked_table(table: Any, name: str = "table") -> Table:
    """Return ``table`` if it is an astropy Table or QTable.

    Raises
    ------
    TypeError
        ``table`` is anything else (a pandas DataFrame, a dict): says how to make a Table of it.
    """
    if isinstance(table, Table):
        return table
    kind = type(table).__name__
    how = ("astropy.table.Table.from_pandas(df)" if kind == "DataFrame" else "astropy.table.Table(...)")
    raise TypeError(f"{name} must be an astropy Table or QTable, not a {kind}: make one with {how}")


def checked_names(names: Any, name: str) -> tuple:
    """Return column names given as a list (or any sequence) as a tuple.

    Raises
    ------
    ColumnError
        ``names`` is one string, which would be taken letter by letter (``"ebv"`` as columns e, b and v).
    """
    if isinstance(names, str):
        raise ColumnError(f"{name} must be a list of column names, not the string {names!r} (write [{names!r}])")
    return tuple(names)
