"""Reading and writing tables in any format astropy's unified I/O knows, atomically."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from astropy.io.fits.verify import VerifyWarning
from astropy.table import QTable, Table

from ._atomic import atomic_path
from .exceptions import AstroCNNError

__all__ = ["read_table", "write_table"]

_FORMAT_BY_SUFFIX = {
    ".ecsv": "ascii.ecsv",
    ".ecsv.gz": "ascii.ecsv",
    ".csv": "ascii.csv",
    ".csv.gz": "ascii.csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".votable": "votable",
    ".parquet": "parquet",
    ".hdf5": "hdf5",
    ".h5": "hdf5",
    ".txt": "ascii",
    ".dat": "ascii",
}


def _format(path: Path, format: str | None) -> str | None:
    if format:
        return format
    name = path.name.lower()
    for suffix in sorted(_FORMAT_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return _FORMAT_BY_SUFFIX[suffix]
    return None


def read_table(path: str | Path, format: str | None = None) -> QTable:
    """Read a table file as a QTable.

    Parameters
    ----------
    path : path
        ECSV, CSV, FITS, VOTable, Parquet (with pyarrow), HDF5, ... chosen by suffix.
    format : str, optional
        An astropy format name, overriding the suffix.

    Raises
    ------
    AstroCNNError
        The file is missing or unreadable; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise AstroCNNError(f"table file {str(path)!r} does not exist")
    try:
        return QTable.read(path, format=_format(path, format))
    except Exception as exc:  # astropy raises many types for unreadable files
        raise AstroCNNError(f"cannot read table file {str(path)!r}: {type(exc).__name__}: {exc}") from None


def write_table(table: Table, path: str | Path, overwrite: bool = False, format: str | None = None) -> Path:
    """Write a table atomically: the destination appears complete or not at all.

    Parameters
    ----------
    table : Table or QTable
    path : path
        Destination; format chosen by suffix unless ``format`` is given.
    overwrite : bool
        Replace an existing file (never done silently).
    format : str, optional
        An astropy format name.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    AstroCNNError
        The format cannot hold the table; the message names the file.
    """
    path = Path(path)
    fmt = _format(path, format)
    if fmt == "fits":
        table = table.copy(copy_data=False)
        table.meta = _header_safe(table.meta)
    with atomic_path(path, overwrite=overwrite) as tmp:
        try:
            kwargs = {"serialize_meta": True, "path": "data"} if fmt == "hdf5" else {}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=VerifyWarning, message=".*HIERARCH")
                table.write(tmp, format=fmt, **kwargs)
        except Exception as exc:
            raise AstroCNNError(f"cannot write table file {str(path)!r}: {type(exc).__name__}: {exc}") from None
    return path


def _header_safe(meta: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested metadata into FITS header keywords (HIERARCH ``OUTER INNER``; lists as JSON)."""
    flat: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, dict):
            for inner, item in _header_safe(value).items():
                flat[f"{key} {inner}".upper()] = item
        elif isinstance(value, (list, tuple)):
            flat[key.upper()] = json.dumps(list(value))
        else:
            flat[key.upper()] = value
    return flat
