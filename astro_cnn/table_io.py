"""Reading and writing tables in any format astropy's unified I/O knows, atomically.

What survives each format
-------------------------
ECSV, HDF5 and Parquet carry astropy's own YAML header: units, column descriptions, ``meta['ucd']`` and
the table metadata (``meta["astro_cnn"]``, with the PDF bin edges) come back exactly.

CSV is written as ECSV with commas: the same header, as ``#`` lines at the top of the file, before plain
comma-separated rows (a value starting with ``#`` quoted).  :func:`read_table` gets back every unit and
``meta["astro_cnn"]``; another CSV reader sees an ordinary CSV once it skips the header lines (with
pandas: ``skiprows=`` their count; ``comment="#"`` would also cut a value that holds a ``#``).  Plain text
(``.txt``, ``.dat``, astropy's ``ascii``) is written as ECSV itself, for the same reasons: a
whitespace-separated table after ``#`` header lines, from which :func:`read_table` restores the units
and metadata; another reader must skip those lines (astropy's ``ascii.basic`` does; with pandas:
``sep=r"\\s+"`` and ``skiprows=`` their count, as for CSV).  Reading a plain text table that is not ECSV
works as before.

FITS and VOTable are written so that any reader (TOPCAT, fitsio, pyvo, ...) understands them, and
:func:`read_table` restores from them what astropy alone would not:

- units in the format's standard syntax: ``dex(X)`` is written ``log(X)`` (the ``log()`` function of the
  FITS 4.0 and VOUnit 1.0 unit syntaxes), plain ``dex`` as ``dex`` in FITS (as the SDSS and MPA-JHU
  catalogues write it) and as the quoted VOUnit ``'dex'`` in VOTable; a unit the standard cannot write
  (``hourangle`` in FITS) keeps astropy's name;
- column descriptions and UCDs: the FITS ``TCOMMn`` and ``TUCDn`` keywords (which TOPCAT reads), the
  VOTable ``DESCRIPTION`` and ``ucd``;
- ``meta["astro_cnn"]`` as one JSON string: the FITS keyword ``ASTROCNN`` (long-string ``CONTINUE`` cards),
  the VOTable ``PARAM`` named ``astro_cnn``;
- the PDF bin edges, besides, as plain numbers for other tools: in FITS a second binary table ``PDF_BINS``
  with columns ``BIN_LO`` and ``BIN_HI`` and one row per bin, so that row k describes element k of the PDF
  array column (a table every FITS reader lists and TOPCAT opens; a keyword per edge would be 181 keywords
  that no tool reads as an array); in VOTable an array ``PARAM`` named ``pdf_bin_edges``;
- masked (unknown) text values, such as a masked object id: neither format has a null for text, so other
  readers see an empty string; the rows masked in each text column are written as JSON keyed by the
  column's position (``{"0": [3, 17]}``: rows 3 and 17 of the first column) in the FITS keyword
  ``TEXTNULL`` and the VOTable ``PARAM`` named ``masked_text``, and :func:`read_table` masks them again
  (a keyword of that name that is not such a record stays in the table's metadata).
"""

from __future__ import annotations

import gzip
import importlib
import io
import itertools
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io.fits.verify import VerifyWarning
from astropy.table import Column, MaskedColumn, QTable, Table
from astropy.utils.data import get_readable_fileobj

from ._atomic import atomic_path
from .exceptions import AstroCNNError

__all__ = ["ecsv_text", "read_table", "write_table", "check_output_format"]

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
    ".txt.gz": "ascii",
    ".dat": "ascii",
    ".dat.gz": "ascii",
}

#: Packages a format needs besides astropy, with the name of the format.
_FORMAT_PACKAGES = {"parquet": ("Parquet", "pyarrow"), "hdf5": ("HDF5", "h5py")}

#: The table metadata astro_cnn writes, its FITS keyword, and the key of the PDF bin edges in it.
_META, _FITS_META, _EDGES = "astro_cnn", "ASTROCNN", "pdf_bin_edges"
#: Where FITS and VOTable files keep the masked rows of text columns (neither has a null for text).
_FITS_MASKED_TEXT, _VOTABLE_MASKED_TEXT = "TEXTNULL", "masked_text"
_LOG_UNIT = re.compile(r"^log\((.+)\)$")
_FITS_COLUMN_KEYWORD = re.compile(r"^T(COMM|UCD)(\d+)$")


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


#: Text formats written as ECSV (see the module's notes), with the delimiter of their data lines.
_WRITTEN_AS_ECSV = {"ascii.ecsv": " ", "ascii.csv": ",", "ascii": " "}
#: Formats read from text (so a UTF-8 byte-order mark can be dropped first).
_TEXT_FORMATS = {"ascii.ecsv", "ascii.csv", "ascii.commented_header", "ascii.tab", "ascii"}


def read_table(path: str | Path, format: str | None = None, *, memmap: bool = False) -> QTable:
    """Read a table file as a QTable, with the units, column descriptions, UCDs and ``meta["astro_cnn"]``
    that :func:`write_table` wrote (see the module's notes on each format).

    Parameters
    ----------
    path : path
        ECSV, CSV, FITS, VOTable, Parquet (with pyarrow), HDF5, ... chosen by suffix.
    format : str, optional
        An astropy format name, overriding the suffix.
    memmap : bool
        FITS only: map the file's data into memory instead of reading it (to read a large table in parts).

    Raises
    ------
    AstroCNNError
        The file is missing or unreadable; the message names it.
    """
    path = Path(path)
    if path.is_dir():
        raise AstroCNNError(f"table file {str(path)!r} is a directory, not a table file")
    if not path.is_file():
        raise AstroCNNError(f"table file {str(path)!r} does not exist")
    fmt = _format(path, format)
    try:
        if fmt == "fits":
            table = _read_fits(path, memmap)
        elif fmt == "votable":
            table = _read_votable(path)
        elif fmt in _TEXT_FORMATS or fmt == "csv":
            # utf-8-sig: a byte-order mark must not become part of the first column's name; gzip read as text too
            with get_readable_fileobj(str(path), encoding="utf-8-sig") as handle:
                text = handle.read()
            if not text.strip():
                raise ValueError("the file is empty")
            read_as = "ascii.ecsv" if fmt in _WRITTEN_AS_ECSV and _is_ecsv(text) else fmt
            # in a list: a single string without a line break would be taken for the name of another file
            table = _read_empty_ecsv(text) if read_as == "ascii.ecsv" else None
            table = QTable.read([text], format=read_as) if table is None else table
            if read_as in ("ascii.ecsv", "ascii.csv", "csv"):
                _check_all_rows_read(table, text)
            return table
        else:
            return QTable.read(path, format=fmt)
    except Exception as exc:  # astropy raises many types for unreadable files; its first line says what
        if not fmt:
            raise AstroCNNError(f"cannot read table file {str(path)!r}: its suffix names no table format and its "
                                f"contents name none either: give it one of the suffixes "
                                f"{', '.join(_FORMAT_BY_SUFFIX)}") from None
        first_line = (str(exc).strip().splitlines() or [""])[0]
        first_line = first_line.split(" If this is really a FITS file")[0]  # astropy's advice names its arguments
        given = f" as {fmt!r}" if format else ""
        raise AstroCNNError(f"cannot read table file {str(path)!r}{given}: {type(exc).__name__}: {first_line}") \
            from None
    for column in table.itercols():
        if isinstance(getattr(column, "unit", None), u.UnrecognizedUnit):
            column.unit = _table_unit(column.unit.to_string())
    return QTable(table, copy=False)


#: An ECSV array subtype (``float64[180]``): element type and shape.
_ARRAY_SUBTYPE = re.compile(r"^(?P<dtype>\w+)\[(?P<shape>[\d,]+)\]$")


def _read_empty_ecsv(text: str) -> QTable | None:
    """An ECSV table of no rows with array columns (a PDF column), which astropy cannot read ("shape mismatch"),
    made from its header.  None for any other text, which astropy reads."""
    from astropy.table.meta import get_header_from_yaml

    if len(list(itertools.islice(_data_lines(text), 2))) > 1:  # names, then rows: read only as far as a row
        return None
    yaml_lines = [line[2:] for line in _LINE_BREAK.split(text)[1:] if line.startswith("# ")]  # after "# %ECSV 1.0"
    header = get_header_from_yaml(yaml_lines)
    specs = header.get("datatype", [])
    if not any(_ARRAY_SUBTYPE.match(str(spec.get("subtype", ""))) for spec in specs):
        return None
    columns = []
    for spec in specs:
        array = _ARRAY_SUBTYPE.match(str(spec.get("subtype", "")))
        kind = spec.get("datatype", "string")
        values = (np.zeros((0, *map(int, array["shape"].split(","))), dtype=array["dtype"]) if array
                  else np.zeros(0, dtype=str if kind == "string" else kind))
        columns.append(Column(values, name=spec["name"], unit=spec.get("unit"), description=spec.get("description"),
                              meta=spec.get("meta"), format=spec.get("format")))
    return QTable(columns, meta=header.get("meta"))


def _check_all_rows_read(table: Table, text: str) -> None:
    """Refuse a CSV or ECSV table of which the reader kept fewer rows than the text has data lines, with no value
    spanning lines to account for them: astropy's reader drops, without a word, the rows after a quote left open.

    Raises
    ------
    ValueError
        Rows were lost; names the first line where a quoted value opens and does not close, where there is one.
    """
    expected = sum(1 for _ in _data_lines(text)) - 1  # less the line of column names
    if len(table) >= expected:
        return
    for column in table.itercols():
        if getattr(column, "dtype", None) is not None and column.dtype.kind in "USO" and any(
                "\n" in str(value) or "\r" in str(value) for value in np.ravel(column)):
            return  # a quoted value over several lines: fewer rows than lines, nothing lost
    open_quote = next((number for number, line in enumerate(_LINE_BREAK.split(text), 1)
                       if _is_data_line(line) and any(line[start:].count('"') % 2 for start in _opening_quotes(line))),
                      None)
    where = f": line {open_quote} opens a quoted value that does not close" if open_quote is not None else ""
    raise ValueError(f"the file has {expected} data lines but only {len(table)} could be read as rows{where}")


#: Line breaks as the table readers see them (str.splitlines also breaks at form feeds and other separators).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _is_data_line(line: str) -> bool:
    """Whether a line of a CSV or ECSV text holds column names or values (not blank, not a ``#`` comment)."""
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _data_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` that hold column names or values, found one at a time (a large table's text is not
    split into a list of all its lines)."""
    return (match.group() for match in re.finditer(r"[^\r\n]+", text) if _is_data_line(match.group()))


def _opening_quotes(line: str) -> list[int]:
    """Where a value of ``line`` starts with a quote (at the line's start or after a delimiter): a quote inside a
    value (1.2" for arcseconds) opens nothing."""
    return [match.end() - 1 for match in re.finditer(r'(?:^|[,\s])"', line)]


def write_table(table: Table, path: str | Path, overwrite: bool = False, format: str | None = None) -> Path:
    """Write a table atomically: the destination appears complete or not at all.

    Units, column descriptions, UCDs (``meta['ucd']``) and ``meta["astro_cnn"]`` are written so that
    :func:`read_table` restores them from every format, and FITS and VOTable readers see them in the
    formats' own standard forms (see the module's notes).

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
        The format is unknown or its package missing (``check_output_format``), or it cannot hold the
        table; the message names the file.
    """
    path = Path(path)
    fmt = check_output_format(path, format)
    with atomic_path(path, overwrite=overwrite) as tmp:
        try:
            if fmt == "fits":
                _write_fits(table, tmp)
            elif fmt == "votable":
                _write_votable(table, tmp)
            else:
                if fmt in _WRITTEN_AS_ECSV:  # CSV and plain text: see the module's notes
                    text = ecsv_text(table, _WRITTEN_AS_ECSV[fmt])
                    with (gzip.open(tmp, "wt", encoding="utf-8") if path.name.lower().endswith(".gz")
                          else open(tmp, "w", encoding="utf-8")) as handle:
                        handle.write(text)
                else:
                    kwargs = {"serialize_meta": True, "path": "data"} if fmt == "hdf5" else {}
                    table.write(tmp, format=fmt, **kwargs)
        except Exception as exc:
            raise AstroCNNError(f"cannot write table file {str(path)!r}: {type(exc).__name__}: {exc}") from None
    return path


def ecsv_text(table: Table, delimiter: str = " ", header: bool = True) -> str:
    """The table as ECSV text, each data line's first field quoted when it starts with ``#``.

    astropy writes such a value bare (``#c 2``), and every ECSV reader, astropy's included, then takes
    the line for a comment and loses the row.

    Parameters
    ----------
    table : Table or QTable
    delimiter : str
        " " (ECSV's default) or "," (this module's CSV).
    header : bool
        Begin with the header and the column names; without them, the data lines alone (to append to a
        file that has them).

    Returns
    -------
    str
        The text, ending in a newline (empty for no data lines without the header).
    """
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv", delimiter=delimiter)
    # lines end at "\n" only: splitlines() would also break at "\r", form feeds or U+2028 inside a value
    lines = buffer.getvalue().removesuffix("\n").split("\n")
    names = next(i for i, line in enumerate(lines) if not line.startswith("#"))  # '#' header, then column names
    data = [_quoted_first_field(line, delimiter) for line in lines[names + 1:]]
    lines = lines[:names + 1] + data if header else data
    return "".join(line + "\n" for line in lines)


def _quoted_first_field(line: str, delimiter: str) -> str:
    if not line.startswith("#"):
        return line
    first, sep, rest = line.partition(delimiter)
    return '"' + first.replace('"', '""') + '"' + sep + rest


def _is_ecsv(text: str) -> bool:
    """Whether a text table (or its first line) starts with the ECSV header."""
    return text.lstrip().startswith("# %ECSV")


def _file_unit(unit: u.UnitBase, standard: str) -> str:
    """The unit as a string of the FITS or VOUnit ``standard`` (see the module's notes)."""
    try:
        return unit.to_string(standard)
    except (ValueError, u.UnitsError):  # function units, scales the standard cannot write
        pass
    if unit == u.dex:
        return "'dex'" if standard == "vounit" else "dex"
    if isinstance(unit, u.FunctionUnitBase) and unit.function_unit == u.dex:
        return f"log({_file_unit(unit.physical_unit, standard)})"
    return unit.to_string()


def _table_unit(text: str) -> u.UnitBase:
    """The astropy unit of a unit string :func:`_file_unit` wrote (or any astropy can parse)."""
    text = text.strip()
    match = _LOG_UNIT.match(text)
    if match:
        return u.dex(_table_unit(match.group(1)))
    return u.Unit(text.strip("'"), parse_strict="silent")


def _plain_columns(table: Table, standard: str) -> tuple[Table, dict[str, str]]:
    """A copy of ``table`` sharing its data, without units, and each column's unit in ``standard``."""
    plain = Table(table.copy(copy_data=False), copy=False)
    units = {}
    for column in plain.itercols():
        if not isinstance(column, Column):
            format_name = "FITS" if standard == "fits" else "VOTable"
            raise ValueError(f"column {column.info.name!r} is a {type(column).__name__}, which a {format_name} table "
                             "cannot hold: write its parts as columns of numbers (e.g. ra and dec), or use ECSV")
        if column.unit is not None:
            units[column.info.name] = _file_unit(column.unit, standard)
            column.unit = None
    return plain, units


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda item: item.tolist() if hasattr(item, "tolist") else str(item))


def _masked_text(table: Table) -> str | None:
    """The masked rows of each text column of ``table`` as JSON, keyed by the column's position (VOTable
    readers may rename a column): ``{"0": [3, 17]}``; None if no text value is masked."""
    rows = {str(index): np.flatnonzero(column.mask).tolist() for index, column in enumerate(table.itercols())
            if isinstance(column, MaskedColumn) and column.ndim == 1 and column.dtype.kind in "US"
            and np.any(column.mask)}
    return _json(rows) if rows else None


def _mask_text(table: Table, text: str) -> bool:
    """Mask again the text values that :func:`_masked_text` recorded; False (nothing done) when ``text`` is not
    such a record (another tool's keyword of the same name)."""
    try:
        record = json.loads(text)
        masks = {}
        for index, rows in record.items():
            column = table.columns[int(index)]
            mask = np.zeros(len(table), dtype=bool)
            mask[np.asarray(rows, dtype=int)] = True
            if column.ndim != 1 or column.dtype.kind not in "US":
                return False
            masks[column.info.name] = mask
    except (TypeError, ValueError, AttributeError, IndexError):
        return False
    for name, mask in masks.items():
        table[name] = MaskedColumn(table[name], mask=np.ma.getmaskarray(table[name]) | mask, copy=False)
    return True


def _bin_edges(table: Table) -> np.ndarray | None:
    meta = table.meta.get(_META)
    return np.asarray(meta[_EDGES], dtype=float) if isinstance(meta, dict) and _EDGES in meta else None


def _write_fits(table: Table, path: Path) -> None:
    from astropy.io import fits

    plain, units = _plain_columns(table, "fits")
    plain.meta = {}
    for key, value in table.meta.items():
        if key == _META:
            plain.meta[_FITS_META] = _json(value)
        elif isinstance(value, (dict, list, tuple)) and key.lower() not in ("comments", "history"):
            plain.meta[key.upper()] = _json(value)
        else:
            plain.meta[key] = _fits_text(value) if isinstance(value, str) else value
    masked_text = _masked_text(table)
    if masked_text is not None:
        if any(str(key).upper() == _FITS_MASKED_TEXT for key in table.meta):
            raise ValueError(f"the table's meta has a key {_FITS_MASKED_TEXT!r}, the FITS keyword in which "
                             "astro_cnn records masked text values; rename it to write this table as FITS")
        plain.meta[_FITS_MASKED_TEXT] = masked_text
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=VerifyWarning, message=".*HIERARCH")
        hdu = fits.table_to_hdu(plain)
    for index, name in enumerate(hdu.columns.names, 1):
        if name in units:  # '' (dimensionless) too, which read_table tells from no unit
            hdu.header[f"TUNIT{index}"] = units[name]
        if name in plain.colnames:
            description, ucd = plain[name].info.description, (plain[name].info.meta or {}).get("ucd")
            if description:
                hdu.header[f"TCOMM{index}"] = _fits_text(description)
            if ucd:
                hdu.header[f"TUCD{index}"] = ucd
    hdus = [fits.PrimaryHDU(), hdu]
    edges = _bin_edges(table)
    if edges is not None:
        bins = fits.BinTableHDU.from_columns([fits.Column("BIN_LO", "D", array=edges[:-1]),
                                              fits.Column("BIN_HI", "D", array=edges[1:])], name="PDF_BINS")
        bins.header["TCOMM1"] = "lower edge of PDF bin k (element k of the PDF array column)"
        bins.header["TCOMM2"] = "upper edge of PDF bin k"
        hdus.append(bins)
    fits.HDUList(hdus).writeto(path)


#: Symbols of astronomers' column descriptions, spelled out in a FITS header (which holds ASCII only).
_ASCII_SPELLING = {"☉": "sun", "″": "arcsec", "′": "arcmin", "×": "x", "−": "-", "–": "-", "—": "-", "·": "*",
                   "±": "+/-", "≤": "<=", "≥": ">=", "σ": "sigma", "Δ": "Delta", "η": "eta", "μ": "mu", "λ": "lambda",
                   "°": "deg", "Å": "Angstrom"}


def _fits_text(text: str) -> str:
    """``text`` in the ASCII a FITS header card holds: accents dropped, symbols spelled out, others as '?'."""
    import unicodedata

    spelled = "".join(_ASCII_SPELLING.get(character, character) for character in text)
    plain = "".join(c for c in unicodedata.normalize("NFKD", spelled) if not unicodedata.combining(c))
    return plain.encode("ascii", "replace").decode("ascii")


def _read_fits(path: Path, memmap: bool) -> Table:
    from astropy.io import fits

    with fits.open(path) as hdul:
        index = next((i for i, hdu in enumerate(hdul) if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))), None)
        if index is None:
            raise ValueError("the file has no table HDU")
        header = hdul[index].header.copy()
    table = Table.read(path, format="fits", hdu=index, memmap=memmap, unit_parse_strict="silent", mask_invalid=False)
    for number in range(1, header.get("TFIELDS", 0) + 1):
        name = header.get(f"TTYPE{number}")
        if header.get(f"TUNIT{number}") == "" and name in table.colnames and table[name].unit is None:
            table[name].unit = u.dimensionless_unscaled
    for key in [key for key in table.meta if _FITS_COLUMN_KEYWORD.match(key)]:
        kind, number = _FITS_COLUMN_KEYWORD.match(key).groups()
        value = table.meta.pop(key)
        name = header.get(f"TTYPE{number}")
        if name in table.colnames:
            if kind == "COMM":
                table[name].info.description = value
            else:
                table[name].info.meta = {**(table[name].info.meta or {}), "ucd": value}
    if _FITS_META in table.meta:
        table.meta[_META] = json.loads(table.meta.pop(_FITS_META))
    if _FITS_MASKED_TEXT in table.meta and _mask_text(table, table.meta[_FITS_MASKED_TEXT]):
        del table.meta[_FITS_MASKED_TEXT]
    return table


def _write_votable(table: Table, path: Path) -> None:
    from astropy.io import votable
    from astropy.io.votable.exceptions import W50
    from astropy.io.votable.tree import Param

    plain, units = _plain_columns(table, "vounit")
    plain.meta = {}
    vot = votable.from_table(plain)
    element = vot.get_first_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", W50)  # log(X) is VOUnit, but astropy's parser does not know log()
        for field in element.fields:
            if field.name in units:
                field.unit = units[field.name]
    if _META in table.meta:
        # JSON escapes of the XML specials: astropy escapes a PARAM value twice ('&' would read back '&amp;')
        text = _json(table.meta[_META]).translate({ord(c): f"\\u{ord(c):04x}" for c in "&<>"})
        element.params.append(Param(vot, name=_META, datatype="char", arraysize="*", value=text))
    edges = _bin_edges(table)
    if edges is not None:
        element.params.append(Param(vot, name=_EDGES, datatype="double", arraysize=str(len(edges)), value=edges))
    masked_text = _masked_text(table)
    if masked_text is not None:
        element.params.append(Param(vot, name=_VOTABLE_MASKED_TEXT, datatype="char", arraysize="*",
                                    value=masked_text))
    vot.to_xml(str(path))


def _read_votable(path: Path) -> Table:
    from astropy.io import votable

    element = votable.parse(str(path)).get_first_table()
    table = element.to_table()
    for column in list(table.itercols()):  # NaN is a float's null in VOTable: back to NaN, as written
        if isinstance(column, MaskedColumn) and (column.dtype.kind == "f" or not column.mask.any()):
            table[column.info.name] = column.filled(np.nan if column.dtype.kind == "f" else None)
    for column in table.itercols():
        if getattr(column, "unit", None) is not None and column.unit.to_string() == "dex":
            column.unit = u.dex  # astropy parses the quoted VOUnit 'dex' as a new unit of that name
        if column.info.description:  # astropy wraps a long DESCRIPTION over several lines
            column.info.description = " ".join(column.info.description.split())
    for param in element.params:
        if param.name == _META:
            table.meta[_META] = json.loads(param.value)
        elif param.name == _VOTABLE_MASKED_TEXT:
            _mask_text(table, param.value)
    return table
