"""Survey images written to disk: one file per row (JPEG as served, or FITS with its WCS) plus an index table."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from ._atomic import atomic_path, check_destination
from .arguments import checked_count
from .exceptions import ColumnError
from .survey import ImageBatch, Survey
from .survey_factory import make_survey
from .target import ID_NAMES, TargetList, find_optional_column

__all__ = ["write_cutouts", "as_targets"]

#: Errors of writing a file that come from its name (derived from the row's id), not from the directory.
_NAME_ERRORS = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}


def write_cutouts(table: Table | TargetList, outdir: str | Path, survey: str | Survey | None = None, *,
                  size: int | None = None, batch_size: int = 256, overwrite: bool = False, progress: bool = True,
                  **options: Any) -> Table:
    """Write one file per row (``<id>.jpg`` or ``<id>.fits``) and ``index.ecsv`` into ``outdir``.

    Works with any registered survey.  A survey that keeps each row's encoded JPEG in
    ``batch.meta["jpeg"]`` gets those bytes written unchanged; any other gets a FITS
    file with the image (``BUNIT`` the survey's declared flux unit, the row's WCS from ``batch.meta["wcs"]`` if any,
    ``BANDS`` keyword) in the primary HDU and the weight plane, if any, in a ``WEIGHT`` extension.

    Parameters
    ----------
    table : Table or TargetList
        Galaxies.
    outdir : path
        Output directory (created).
    survey : str, Survey or None
        Registered survey name or a survey instance; None: the installed default survey
        (:func:`astro_cnn.survey_factory.default_survey`).
    size : int, optional
        Side in pixels.
    batch_size : int
        Rows fetched together (bounds memory).
    overwrite : bool
        Replace existing files.
    progress : bool
        Show a progress bar per batch.
    **options
        Options of the survey's factory (ignored for an instance).

    Returns
    -------
    Table
        The index: ``row``, ``id``, ``ra``, ``dec``, ``file`` (empty for failed rows) and ``status``
        (``"ok"`` or why the row failed, e.g. an id too long to name a file).

    Raises
    ------
    FileExistsError
        A file exists and ``overwrite`` is false, or ``outdir`` is a file.
    AstroCNNError
        ``batch_size`` or ``size`` is not a positive integer.
    ValueError
        A batch of images of ``size`` would not fit in half this machine's memory.

    Notes
    -----
    ``outdir`` never holds a file of this call that its index does not list: files are written
    atomically, and when the call stops with an error before the index is written, the files
    it wrote are removed again.
    """
    outdir = Path(outdir)
    batch_size = checked_count(batch_size, "batch_size")
    size = None if size is None else checked_count(size, "size")
    if outdir.exists() and not outdir.is_dir():
        raise FileExistsError(f"outdir {str(outdir)!r} is a file, not a directory")
    targets = as_targets(table)
    source = make_survey(survey, **options)
    _check_batch_memory(size or source.image_size, len(source.bands), min(batch_size, max(len(targets), 1)))
    index_path = outdir / "index.ecsv"
    check_destination(index_path, overwrite)
    made = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    files = np.full(len(targets), "", dtype=object)
    status = np.full(len(targets), "", dtype=object)
    used: set[str] = set()
    written: list[Path] = []
    try:
        for start in range(0, len(targets), batch_size):
            rows = np.arange(start, min(start + batch_size, len(targets)))
            batch = source.cutouts(targets.subset(rows), size=size, progress=progress)
            for k, row in enumerate(rows):
                status[row] = batch.status[k] or "ok"
                if batch.status[k]:
                    continue
                name = _file_name(targets.ids[row], row, used)
                try:
                    path = _write_one(batch, k, outdir, name, overwrite, source.flux_unit)
                except OSError as exc:
                    if exc.errno not in _NAME_ERRORS:
                        raise
                    status[row] = f"id {str(targets.ids[row])!r} cannot name a file ({exc.strerror})"
                    continue
                written.append(path)
                files[row] = path.name
        index = Table({"row": np.arange(len(targets)), "id": targets.ids, "ra": targets.ra, "dec": targets.dec,
                       "file": files.astype(str), "status": status.astype(str)})
        index["ra"].unit = index["dec"].unit = "deg"
        index.meta["survey"] = source.name
        with atomic_path(index_path, overwrite=overwrite) as tmp:
            index.write(tmp, format="ascii.ecsv")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if made and not any(outdir.iterdir()):
            outdir.rmdir()
        raise
    return index


def _check_batch_memory(size: int, bands: int, rows: int) -> None:
    """Refuse a cutout size whose batch of float32 images would not fit in this machine's memory.

    Raises
    ------
    ValueError
        The batch needs more than half the physical memory; names ``size`` and ``batch_size``.
    """
    needed = rows * bands * int(size) ** 2 * 4
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: let the allocation decide
        return
    if needed > memory / 2:
        raise ValueError(f"size={size} px with batch_size={rows} needs {needed / 2**30:.0f} GiB for one batch of "
                          f"{bands}-band images, more than half of this machine's {memory / 2**30:.0f} GiB: "
                          "ask for smaller images or fewer at a time")


def as_targets(table: Table | TargetList, *, ra: str | None = None, dec: str | None = None,
               id_column: str | None = None) -> TargetList:
    """Return targets for ``table``; a table with ids but no coordinate columns gives targets without positions.

    Targets without positions can still be served from a local directory of images named by id
    (``jpeg_dir=``); any other survey flags those rows.

    Raises
    ------
    ColumnError
        Neither coordinate columns nor an id column were found, or a named column is missing.
    """
    if isinstance(table, TargetList):
        return table
    try:
        return TargetList.from_table(table, ra=ra, dec=dec, id_column=id_column)
    except ColumnError:
        name = id_column or find_optional_column(table, ID_NAMES)
        if ra is not None or dec is not None or name is None:
            raise
        return TargetList.from_table(table, id_column=name, positions_optional=True)


def _write_one(batch: ImageBatch, k: int, outdir: Path, name: str, overwrite: bool,
               flux_unit: u.UnitBase | str | None) -> Path:
    encoded = batch.meta.get("jpeg")
    if encoded is not None:
        path = outdir / f"{name}.jpg"
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_bytes(encoded[k])
        return path
    header = fits.Header()
    wcs = batch.meta.get("wcs", [None] * len(batch))[k]
    if wcs is not None:
        header.update(wcs.to_header())
    if flux_unit is not None:  # the unit the survey declares (nanomaggy for SDSS, ADU for DES); none: no BUNIT
        unit = u.Unit(flux_unit)
        header["BUNIT"] = (unit.long_names or [unit.to_string()])[0]
    header["BANDS"] = ("".join(batch.bands), "band of each plane, in order")
    hdus = [fits.PrimaryHDU(batch.images[k], header)]
    if batch.weights is not None:
        hdus.append(fits.ImageHDU(batch.weights[k], header, name="WEIGHT"))
    path = outdir / f"{name}.fits"
    with atomic_path(path, overwrite=overwrite) as tmp:
        fits.HDUList(hdus).writeto(tmp)
    return path


def _file_name(identifier: Any, row: int, used: set[str]) -> str:
    text = "" if identifier is np.ma.masked else str(identifier)
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", text).strip(".") or f"row{row}"
    if name in used:
        name = f"{name}_row{row}"
    used.add(name)
    return name
