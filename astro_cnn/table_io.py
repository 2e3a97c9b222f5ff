"""Reading and writing tables in any format astropy's unified I/O knows, atomically."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path
from typing import Any

from astropy.io.fits.verify import VerifyWarning
from astropy.table import QTable, Table

from ._atomic import atomic_path
from .exceptions import AstroCNNError

__all__ = ["read_table", "write_table", "check_output_format"]

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

#: Packages a format needs besides astropy, with the name of the format.
_FORMAT_PACKAGES = {"parquet": ("Parquet", "pyarrow"), "hdf5": ("HDF5", "h5py")}


def _format(path: Path, format: str | None) -> str | None:
    if format:
        return format
    name = path.name.lower()
    for suffix in sorted(_FORMAT_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return _FORMAT_BY_SUFFIX[suffix]
    return None


def check_output_format(path: str | Path, format: str | None = None) -> str:
    """Check, before any work is done, that a table can be written to ``path``.

    Parameters
    ----------
    path : path
        The output file; its suffix chooses the format unless ``format`` is given.
    format : str, optional
        An astropy format name, overriding the suffix.

    Returns
    -------
    str
        The astropy format name that will be used.

    Raises
    ------
    AstroCNNError
        The suffix is not a known table format, ``format`` has no writer, or a package the
        format needs (pyarrow for Parquet, h5py for HDF5) is not installed; the message names
        the file and what to do.
    """
    path = Path(path)
    fmt = _format(path, format)
    if fmt is None:
        suffix = "".join(path.suffixes)
        what = f"its suffix {suffix!r} is not a known table format" if suffix else "it has no suffix"
        raise AstroCNNError(f"cannot write table file {str(path)!r}: {what}; use one of "
                            f"{', '.join(_FORMAT_BY_SUFFIX)}")
    if format is not None:
        from astropy.io import registry

        try:
            registry.get_writer(format, Table)
        except registry.IORegistryError:
            raise AstroCNNError(f"cannot write table file {str(path)!r}: astropy has no writer for "
                                f"format {format!r}") from None
    if fmt in _FORMAT_PACKAGES:
        name, package = _FORMAT_PACKAGES[fmt]
        try:
            importlib.import_module(package)
        except ImportError:
            raise AstroCNNError(f"cannot write table file {str(path)!r}: {name} output needs the package "
                                f"{package} (pip install {package})") from None
    return fmt


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
