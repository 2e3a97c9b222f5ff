"""SDSS corrected frames: names, SAS URLs, which frames cover a position, loading and validation."""

from __future__ import annotations

import bz2
import gzip
import io
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning

from astro_cnn.http_client import url_with_query

__all__ = ["FrameId", "Frame", "FrameStore", "LocalFrameIndex", "parse_frame_name", "frames_sql",
           "parse_sql_csv", "parse_fields", "sql_url", "validate_fields", "validate_frame", "read_frame"]

_NAME = re.compile(r"frame-([ugriz])-(\d{6})-(\d)-(\d{4})\.fits(?:\.bz2|\.gz)?$")
#: Path of the SkyServer SQL service below the SkyServer base URL.
SQL_PATH = "/SkyServerWS/SearchTools/SqlSearch"


@dataclass(frozen=True)
class FrameId:
    """One SDSS imaging field (all five bands share it).

    Attributes
    ----------
    run, camcol, field : int
        Imaging run, camera column (1-6) and field number.
    rerun : int
        Processing rerun (301 for DR8-DR17).
    """

    run: int
    camcol: int
    field: int
    rerun: int = 301

    def filename(self, band: str) -> str:
        """Return ``frame-<band>-<run6>-<camcol>-<field4>.fits.bz2``."""
        return f"frame-{band}-{self.run:06d}-{self.camcol}-{self.field:04d}.fits.bz2"

    def url(self, sas_url: str, band: str) -> str:
        """Return the SAS URL of this field's frame in ``band``."""
        return f"{sas_url.rstrip('/')}/photoObj/frames/{self.rerun}/{self.run}/{self.camcol}/{self.filename(band)}"

    def key(self, band: str) -> str:
        """Return the cache key of this field's frame in ``band`` (mirrors the SAS layout)."""
        return f"frames/{self.rerun}/{self.run}/{self.camcol}/{self.filename(band)}"


@dataclass
class Frame:
    """A loaded frame: pixels (nanomaggies), their WCS and calibration.

    Attributes
    ----------
    data : ndarray
        Pixels in nanomaggies.
    wcs : WCS
        Their world coordinates.
    path : str
        Where the frame came from.
    nmgy : float or None
        Nanomaggies per data number (header ``NMGY``); None when the header lacks it.
    """

    data: np.ndarray
    wcs: WCS
    path: str
    nmgy: float | None = None


def parse_frame_name(name: str) -> tuple[str, FrameId] | None:
    """Return ``(band, FrameId)`` for a frame file name, or None when it is not one."""
    match = _NAME.search(name)
    if match is None:
        return None
    band, run, camcol, field = match.groups()
    return band, FrameId(int(run), int(camcol), int(field))


def frames_sql(ra: float, dec: float, margin_arcsec: float) -> str:
    """Return the SkyServer SQL listing the fields whose box contains (ra, dec) widened by ``margin_arcsec``."""
    m = margin_arcsec / 3600.0
    mra = m / max(np.cos(np.radians(dec)), 1e-3)
    return ("SELECT DISTINCT run, rerun, camcol, field FROM Field "
            f"WHERE raMin - {mra:.6f} <= {ra:.7f} AND raMax + {mra:.6f} >= {ra:.7f} "
            f"AND decMin - {m:.6f} <= {dec:.7f} AND decMax + {m:.6f} >= {dec:.7f}")


def sql_url(skyserver_url: str, sql: str) -> str:
    """Return the SkyServer SqlSearch URL answering ``sql`` as CSV."""
    return url_with_query(skyserver_url.rstrip("/") + SQL_PATH, {"cmd": sql, "format": "csv"})


def parse_sql_csv(data: bytes) -> Table:
    """Parse a SkyServer CSV answer (``#Table1`` line, header, rows); raise ``ValueError`` on an error page."""
    text = data.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines or "<html" in text[:500].lower() or "error" in lines[0].lower():
        raise ValueError(f"not a SkyServer CSV answer: {text[:200]!r}")
    if len(lines) == 1:
        return Table(names=lines[0].split(","), dtype=[int] * len(lines[0].split(",")))
    return Table.read("\n".join(lines), format="ascii.csv")


def parse_fields(data: bytes) -> list[FrameId]:
    """Return the fields listed by a SkyServer CSV answer to :func:`frames_sql`.

    Raises
    ------
    ValueError
        Not a CSV answer, a column of ``run rerun camcol field`` is missing, or a cell is empty
        or not an integer; the message says which.
    """
    table = parse_sql_csv(data)
    for name in ("run", "rerun", "camcol", "field"):
        if name not in table.colnames:
            raise ValueError(f"field search answer lacks column {name} (columns: {', '.join(table.colnames)})")
        column = table[name]
        if getattr(column, "mask", np.False_).any() or column.dtype.kind not in "iu":
            raise ValueError(f"field search answer has empty or non-integer values in column {name}")
    return [FrameId(int(r["run"]), int(r["camcol"]), int(r["field"]), int(r["rerun"])) for r in table]


def validate_fields(data: bytes) -> None:
    """Raise ``ValueError`` unless ``data`` is a usable answer to :func:`frames_sql` (see :func:`parse_fields`)."""
    parse_fields(data)


def validate_frame(data: bytes, name: str = "<download>") -> None:
    """Raise ``ValueError`` unless ``data`` is a complete (possibly bz2/gzip-compressed) frame file.

    When ``name`` (a path, key or URL) ends in an SDSS frame file name, the header's band
    (``FILTER``), ``RUN`` and ``CAMCOL`` must match it.
    """
    _open(data, name)


def read_frame(data: bytes, name: str) -> Frame:
    """Decode a frame file's bytes (``.fits``, ``.fits.bz2`` or ``.fits.gz``) to a :class:`Frame`.

    ``name`` says where the frame came from; when it ends in an SDSS frame file name the header
    must agree with it (see :func:`validate_frame`).
    """
    return _open(data, name)


class FrameStore:
    """Keep the most recently used decoded frames in memory (decompressing a frame takes a while).

    Parameters
    ----------
    size : int
        Frames kept.
    """

    def __init__(self, size: int = 15):
        self.size = size
        self._frames: OrderedDict[str, Frame] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Lock] = {}

    def get(self, name: str, load) -> Frame:
        """Return the frame called ``name``, calling ``load() -> bytes`` when it is not in memory.

        Threads asking for the same frame at once wait for one load (one download) instead of
        each loading it.
        """
        with self._lock:
            pending = self._pending.setdefault(name, threading.Lock())
        with pending:
            with self._lock:
                if name in self._frames:
                    self._frames.move_to_end(name)
                    return self._frames[name]
            frame = read_frame(load(), name)
            with self._lock:
                self._frames[name] = frame
                self._pending.pop(name, None)
                while len(self._frames) > self.size:
                    self._frames.popitem(last=False)
        return frame


class LocalFrameIndex:
    """Frames found in a local directory (searched recursively), with their sky footprints.

    Parameters
    ----------
    directory : path
        Holds ``frame-<band>-<run>-<camcol>-<field>.fits[.bz2|.gz]`` files.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"frames directory {str(self.directory)!r} does not exist")
        self._entries: list[tuple[str, FrameId, Path, WCS, tuple[int, int]]] = []
        self._unusable: list[tuple[str, FrameId, str]] = []
        for path in sorted(self.directory.rglob("frame-*.fits*")):
            parsed = parse_frame_name(path.name)
            if parsed is None:
                continue
            try:
                header = _header(path)
                _check_identity(header, str(path))
                entry = (*parsed, path, _wcs(header), (int(header["NAXIS2"]), int(header["NAXIS1"])))
            except ValueError as exc:  # the message names the file
                self._unusable.append((*parsed, str(exc)))
                continue
            except (KeyError, TypeError) as exc:
                self._unusable.append((*parsed, f"frame file {str(path)!r} has an unusable header ({exc})"))
                continue
            self._entries.append(entry)

    def covering(self, ra: float, dec: float, band: str) -> list[Path]:
        """Return the files in ``band`` whose pixels contain (ra, dec).

        Raises
        ------
        ValueError
            An unreadable file in ``band`` (or one holding another band or field) belongs to a
            field whose readable frames contain (ra, dec): the position needs it.  The message
            names the file.
        """
        out = []
        fields = set()
        for entry_band, field_id, path, wcs, shape in self._entries:
            if _contains(wcs, shape, ra, dec):
                fields.add(field_id)
                if entry_band == band:
                    out.append(path)
        for entry_band, field_id, reason in self._unusable:
            if entry_band == band and field_id in fields:
                raise ValueError(reason)
        return out

    def fields(self) -> dict[FrameId, dict[str, tuple[Path, WCS, tuple[int, int]]]]:
        """Return, for each field found, each band's ``(path, wcs, (ny, nx))``."""
        out: dict[FrameId, dict[str, tuple[Path, WCS, tuple[int, int]]]] = {}
        for band, field_id, path, wcs, shape in self._entries:
            out.setdefault(field_id, {})[band] = (path, wcs, shape)
        return out

    def __len__(self) -> int:
        return len(self._entries)


def _contains(wcs: WCS, shape: tuple[int, int], ra: float, dec: float) -> bool:
    x, y = wcs.all_world2pix([[ra, dec]], 0)[0]
    return bool(-0.5 <= x < shape[1] - 0.5 and -0.5 <= y < shape[0] - 0.5)


def _check_identity(header: fits.Header, name: str) -> None:
    """Raise ``ValueError`` when ``name`` is an SDSS frame file name the header's band, run or camcol contradicts."""
    parsed = parse_frame_name(name)
    if parsed is None:
        return
    band, field_id = parsed
    found = str(header.get("FILTER", band)).strip()
    if found != band:
        raise ValueError(f"{name}: holds band {found}, not {band} (header FILTER)")
    for key, expected in (("RUN", field_id.run), ("CAMCOL", field_id.camcol)):
        if key in header and header[key] != expected:
            raise ValueError(f"{name}: header {key} is {header[key]}, not {expected}")


def _header(path: Path) -> fits.Header:
    try:
        return fits.getheader(path, 0)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"frame file {str(path)!r} is not readable FITS ({exc})") from None


def _wcs(header: fits.Header) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header)


def _open(data: bytes, name: str) -> Frame:
    try:
        if data[:3] == b"BZh":
            raw = bz2.decompress(data)
        elif data[:2] == b"\x1f\x8b":
            raw = gzip.decompress(data)
        else:
            raw = data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyUserWarning)  # a truncated file is reported below
            with fits.open(io.BytesIO(raw)) as hdul:
                header = hdul[0].header
                pixels = np.array(hdul[0].data, dtype=np.float32)
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{name}: corrupt or truncated frame file ({exc})") from None
    if pixels.ndim != 2 or pixels.shape != (header.get("NAXIS2"), header.get("NAXIS1")):
        raise ValueError(f"{name}: truncated frame file (image shape {pixels.shape})")
    _check_identity(header, name)
    nmgy = header.get("NMGY")
    return Frame(pixels, _wcs(header), name, None if nmgy is None else float(nmgy))
