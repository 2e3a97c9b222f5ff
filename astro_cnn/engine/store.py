"""A training set on disk: images written once, read back a batch at a time with constant memory.

Layout of a store directory::

    store.json    what the images are (shape, dtype, bands, pixel scale) and where they came from
    images.bin    the images, row after row, C×H×W each, C-ordered (uint8 or float32)
    table.ecsv    one row per image: label, extra inputs, source file (or id), in the same order

Why a flat binary file: a training epoch reads random rows, so the format must give any row at
the cost of one read without decompressing neighbours (chunked Zarr/HDF5 would decompress a chunk
per row, and HDF5 handles are not safe to share with the forked workers of a ``DataLoader``).
Rows are read with ``os.pread`` into a fresh array rather than through ``numpy.memmap``: the file's
pages then live in the kernel's page cache, shared and reclaimable, and are never counted in the
training process's memory, so a 100,000-image epoch needs no more RAM than a 10,000-image one.
8-bit colour images (JPEG, PNG) are stored as uint8, exactly as decoded; flux images as float32.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .._version import __version__
from ..exceptions import AstroCNNError
from ..image_checks import colour_values

__all__ = ["TrainingStore", "StoreImages", "write_store", "is_store", "compact_image"]

_FORMAT = "astro_cnn-training-store"
_VERSION = 2  # 2: records the table rows left out (table_rows_left_out)


class StoreImages:
    """The images of a store, indexable by an array of rows like an ndarray ``(N, C, H, W)``.

    Picklable by path (each process opens its own file handle), so ``DataLoader`` workers can
    share it without copying the data.

    Attributes
    ----------
    table_rows : ndarray of int or None
        The row of the training table each image came from (rows without a readable image were left
        out of the store, so this is not always the image's position); None where not known.
    """

    def __init__(self, path: str | Path, shape: Sequence[int], dtype: str, table_rows: np.ndarray | None = None):
        self.path = Path(path)
        self.table_rows = table_rows  # the training table's row of each image, where known
        self.row_shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.row_bytes = int(np.prod(self.row_shape)) * self.dtype.itemsize
        self._n = self.path.stat().st_size // self.row_bytes
        self._fd: int | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int, ...]:
        """``(N, C, H, W)``."""
        return (self._n,) + self.row_shape

    def __getitem__(self, rows: Any) -> np.ndarray:
        """Read ``rows`` (an int, a slice or an integer array) into a new array."""
        index = np.arange(self._n)[rows]
        single = np.ndim(index) == 0
        index = np.atleast_1d(index)
        out = np.empty((len(index),) + self.row_shape, self.dtype)
        fd = self._handle()
        view = out.reshape(len(index), -1).view(np.uint8)
        for i, row in enumerate(index):
            got = os.preadv(fd, [view[i]], int(row) * self.row_bytes)
            if got != self.row_bytes:
                raise AstroCNNError(f"training store file {str(self.path)!r} is truncated at row {int(row)}")
        return out[0] if single else out

    def _handle(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own handle
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        return self._fd

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None, "_pid": None}

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


class TrainingStore:
    """An opened training-set store (see the module docstring for the layout).

    Parameters
    ----------
    directory : path
        A directory written by :func:`write_store`.

    Attributes
    ----------
    images : StoreImages
        The images, read on demand.
    table : Table
        Labels, extras and sources, row-aligned with ``images``.
    info : dict
        The contents of ``store.json``.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        if not is_store(self.directory):
            raise AstroCNNError(f"{str(self.directory)!r} is not an astro_cnn training store "
                                f"(no store.json); build one with astro_cnn.engine.store.write_store")
        self.info = json.loads((self.directory / "store.json").read_text())
        if self.info.get("format") != _FORMAT:
            raise AstroCNNError(f"{str(self.directory / 'store.json')!r} is not an astro_cnn training store")
        self.images = StoreImages(self.directory / "images.bin", self.info["shape"], self.info["dtype"],
                                  table_rows=self._table_rows())
        self.table = Table.read(self.directory / "table.ecsv", format="ascii.ecsv")
        if len(self.images) != len(self.table):
            raise AstroCNNError(f"training store {str(self.directory)!r} holds {len(self.images)} images but "
                                f"{len(self.table)} table rows; it is damaged: build it again")

    def __len__(self) -> int:
        return len(self.table)

    def _table_rows(self) -> np.ndarray | None:
        """The training table's row of each image: all rows less those without a readable image (None for a
        store written before version 2 that left rows out, which did not record them)."""
        unread = self.info.get("table_rows_left_out")
        if unread is None:
            return np.arange(self.info["rows"]) if not self.info.get("rows_left_out") else None
        return np.delete(np.arange(self.info["rows"] + len(unread)), np.asarray(unread, dtype=int))

    @property
    def bands(self) -> tuple[str, ...]:
        """Band of each channel."""
        return tuple(self.info["bands"])

    @property
    def pixel_scale(self) -> u.Quantity:
        """Pixel scale of the images."""
        return self.info["pixel_scale_arcsec"] * u.arcsec

    def __repr__(self) -> str:
        return (f"<TrainingStore {str(self.directory)!r}: {len(self)} images of shape {tuple(self.info['shape'])} "
                f"{self.info['dtype']}, bands {''.join(self.bands)}>")


def is_store(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a training store."""
    return (Path(path) / "store.json").is_file()


def write_store(directory: str | Path, images: Iterable[tuple[int, np.ndarray | None, str]], table: Table, *,
                bands: Sequence[str], pixel_scale: u.Quantity, info: Mapping[str, Any] | None = None,
                overwrite: bool = False, log=print) -> TrainingStore:
    """Write a training store from a stream of images, keeping only the rows that have one.

    Parameters
    ----------
    directory : path
        Where the store goes; written beside it first and renamed into place when complete.
    images : iterable of (row, image or None, source)
        One entry per row of ``table`` in order: the image ``(C, H, W)`` (float32, colour values
        in [0, 1] being stored as uint8; or uint8 colour values 0-255, see :func:`compact_image`)
        or None when it could not be read, and the file or id it came from (named in errors).
    table : Table
        Labels and extra inputs, one row per image entry; the rows that have an image are kept.
    bands, pixel_scale
        What the channels are and the pixel scale.
    info : mapping, optional
        More to record in ``store.json`` (label column, extras, quantity, survey).
    overwrite : bool
        Replace an existing store.
    log : callable
        Receives the summary line (images written, rows left out).

    Raises
    ------
    AstroCNNError
        An image's shape differs from the first one's (the message names the file), a colour
        image is mixed with flux images, or no row has an image.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise AstroCNNError(f"{str(directory)!r} is a file; a training store is a directory: give another path")
    if directory.exists() and not overwrite:
        raise FileExistsError(f"{str(directory)!r} already exists; pass overwrite=True to replace it")
    if directory.is_dir() and any(directory.iterdir()) and not is_store(directory):
        raise AstroCNNError(f"{str(directory)!r} is a directory that is not a training store: a store replaces only "
                            "a store, never other files; give another path")
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        keep, shape, dtype, first = [], None, None, None
        blank: list[tuple[int, np.ndarray, str]] = []  # constant images before the first that shows its kind
        unreadable: list[str] = []  # the first few, to name in an error
        with open(work / "images.bin", "wb") as handle:
            for row, image, source in images:
                if image is None:
                    if len(unreadable) < 3:
                        unreadable.append(f"{source!r} (row {row})")
                    continue
                if image.dtype != np.uint8:  # uint8: colour values 0-255 (see compact_image)
                    image = np.asarray(image, dtype=np.float32)
                if shape is None:
                    shape, first = image.shape, source
                if image.shape != shape:
                    raise AstroCNNError(f"image {source!r} (row {row}) has shape {image.shape} but the first "
                                        f"image, {first!r}, has {shape}: a training set needs one shape")
                if dtype is None and _is_constant(image):  # a blank image (all zeros) passes for 8-bit colour
                    blank.append((row, image, source))
                    continue
                if dtype is None:
                    dtype, first = _storage_dtype(image), source
                keep += _write_rows(handle, blank + [(row, image, source)], dtype, first)
                blank = []
            if blank:  # nothing but constant images: stored as they are (training leaves blank ones out)
                dtype = _storage_dtype(blank[0][1])
                keep += _write_rows(handle, blank, dtype, first)
            handle.flush()
            os.fsync(handle.fileno())
        if not keep:
            if not len(table):
                raise AstroCNNError("the training table has no rows")
            raise AstroCNNError(f"none of the {len(table)} training rows has a readable image: "
                                f"{', '.join(unreadable)}{' and more' if len(table) > len(unreadable) else ''} "
                                "cannot be read (are the image column and image directory right?)")
        left_out = len(table) - len(keep)
        kept = table[np.asarray(keep, dtype=int)]
        kept.write(work / "table.ecsv", format="ascii.ecsv")
        info = {"format": _FORMAT, "version": _VERSION, "rows": len(keep), "shape": list(shape),
                "dtype": dtype.name, "bands": list(bands),
                "pixel_scale_arcsec": float(u.Quantity(pixel_scale, u.arcsec).value), "rows_left_out": left_out,
                "table_rows_left_out": np.setdiff1d(np.arange(len(table)), keep).tolist(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "astro_cnn_version": __version__, **dict(info or {})}
        (work / "store.json").write_text(json.dumps(info, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(work, directory)
    finally:
        if work.exists():
            shutil.rmtree(work)
    if left_out:
        warnings.warn(f"{left_out} of {len(table)} training rows have no readable image and are left out",
                      stacklevel=2)
    log(f"training store {directory}: {len(keep)} images of shape {shape} ({dtype.name})"
        + (f", {left_out} rows without a readable image left out" if left_out else ""))
    return TrainingStore(directory)


def _write_rows(handle, rows: list[tuple[int, np.ndarray, str]], dtype: np.dtype, first: str) -> list[int]:
    """Append each (row, image, source) to the open images file as ``dtype``; return the rows written."""
    for _, image, source in rows:
        handle.write(_encode(image, dtype, source, first).tobytes())
    return [row for row, _, _ in rows]


def _is_constant(image: np.ndarray) -> bool:
    """Whether every pixel has one value (a blank image tells nothing of the images' kind)."""
    with np.errstate(invalid="ignore"):
        return bool(np.nanmin(image) == np.nanmax(image)) if np.isfinite(image).any() else True


def _storage_dtype(image: np.ndarray) -> np.dtype:
    """uint8 for 8-bit colour values (:func:`~astro_cnn.image_checks.colour_values`), float32 otherwise."""
    return np.dtype(np.uint8) if colour_values(image) else np.dtype(np.float32)


def compact_image(image: np.ndarray) -> np.ndarray:
    """An image as the store keeps it: 8-bit colour values in [0, 1] as uint8 0-255 (exact, a quarter of the
    bytes to hand from a reading process to the writer), anything else as float32."""
    image = np.asarray(image, dtype=np.float32)
    return np.rint(image * np.float32(255.0)).astype(np.uint8) if colour_values(image) else image


def _encode(image: np.ndarray, dtype: np.dtype, source: str, first: str) -> np.ndarray:
    if image.dtype == np.uint8:  # already compact (colour values 0-255)
        if dtype != np.uint8 and _is_constant(image):  # a blank image, compacted as it looked like colour values
            return image.astype(np.float32) / np.float32(255.0)
        if dtype != np.uint8:
            raise AstroCNNError(f"image {source!r} is an 8-bit colour image but the first, {first!r}, is not: "
                                f"a training set cannot mix colour and flux images")
        return image
    if dtype == np.uint8:
        if not colour_values(image):
            raise AstroCNNError(f"image {source!r} is not an 8-bit colour image like the first, {first!r}: "
                                f"a training set cannot mix colour and flux images")
        return np.rint(image * np.float32(255.0)).astype(np.uint8)
    return image
