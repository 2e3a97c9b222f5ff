"""Atomic file writes: write beside the destination, then rename over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .arguments import checked_switch

__all__ = ["atomic_path", "check_destination", "same_file"]


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    Nothing the user already has is lost: on error the temporary file is removed and
    ``path`` is untouched.

    Parameters
    ----------
    path : path
        Final destination.
    overwrite : bool
        Allow replacing an existing file.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    IsADirectoryError
        ``path`` is a directory (see ``check_destination``).
    """
    path = Path(path)
    check_destination(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the full suffix so that writers which choose a format by suffix still do
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix="".join(path.suffixes) or ".tmp",
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        _fsync(tmp)  # the data reach the disk before the rename makes them the file
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_destination(path: str | Path, overwrite: bool = False) -> None:
    """Refuse a destination a file cannot be written to, before any work is done for it.

    Parameters
    ----------
    path : path
        Where a file is to be written.
    overwrite : bool
        Whether an existing file may be replaced.

    Raises
    ------
    IsADirectoryError
        ``path`` is a directory: even with ``overwrite`` a directory is never replaced.
    NotADirectoryError
        A folder above ``path`` is a file.
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    AstroCNNError
        ``overwrite`` is not True or False (a string such as "no" would count as true).
    """
    path = Path(path)
    overwrite = checked_switch(overwrite, "overwrite")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory: name a file to write (a directory is never replaced)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {str(path)!r}: {str(parent)!r} is a file, not a directory")
            break
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} already exists; pass overwrite=True to replace it")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file (through links, and on a case-insensitive file system), so that an
    output that is an input can be refused before the input is lost."""
    first, second = Path(first), Path(second)
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()
