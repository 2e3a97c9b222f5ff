"""Reading a (large) input table in partitions of rows: FITS through a memory map, Parquet by row batches.

Every partition has the units, descriptions and metadata of the file (an RA in hourangle stays in hourangle).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import QTable, Table

from .exceptions import AstroCNNError
from .table_io import read_table

__all__ = ["Partitions", "partitions", "table_digest"]


@dataclass
class Partitions:
    """An input table seen as consecutive row ranges.

    Attributes
    ----------
    n_rows : int
        Rows in the whole input.
    fingerprint : dict
        Identifies the input (checked when a run is resumed).
    """

    n_rows: int
    fingerprint: dict[str, Any]
    _source: Any
    _rows: int

    def __iter__(self) -> Iterator[tuple[int, Table]]:
        """Yield ``(first_row, table)`` for each partition, in order."""
        if isinstance(self._source, Table):
            for start in range(0, max(self.n_rows, 1), self._rows):
                yield start, self._source[start:start + self._rows]
        elif self._source[0] == "fits":
            table = read_table(self._source[1], memmap=True)
            for start in range(0, max(self.n_rows, 1), self._rows):
                yield start, QTable(table[start:start + self._rows], copy=True)
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(self._source[1])
            start = 0
            for batch in parquet.iter_batches(batch_size=self._rows):
                yield start, _parquet_part(batch, parquet.schema_arrow.metadata)
                start += batch.num_rows


def _parquet_part(batch: Any, metadata: dict[bytes, bytes] | None) -> QTable:
    """A batch of Parquet rows as a QTable, read by astropy with the whole file's metadata (units, ...)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.utils.exceptions import AstropyUserWarning

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_batches([batch]).replace_schema_metadata(metadata), buffer)
    buffer.seek(0)
    with warnings.catch_warnings():  # a file not written by astropy: string widths come from the data
        warnings.filterwarnings("ignore", message="No table::len::", category=AstropyUserWarning)
        return QTable.read(buffer, format="parquet")


def partitions(source: Table | str | Path, rows: int) -> Partitions:
    """Return the partitions of an in-memory table, or of a table file.

    FITS and Parquet files are read one partition at a time, so memory does not grow with the
    input; other formats are read whole (they are text, and their coordinates fit in memory).

    Parameters
    ----------
    source : Table or path
    rows : int
        Rows per partition.
    """
    if isinstance(source, Table):
        return Partitions(len(source), {"input_sha256": table_digest(source), "rows": len(source)}, source, rows)
    path = Path(source)
    if not path.is_file():
        raise AstroCNNError(f"table file {str(path)!r} does not exist")
    name = path.name.lower()
    stat = path.stat()
    identity = {"input": str(path.resolve()), "input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns}
    if name.endswith((".fits", ".fit", ".fits.gz")):
        from astropy.io import fits

        try:
            with fits.open(path, memmap=True) as hdul:
                hdu = next(h for h in hdul if isinstance(h, fits.BinTableHDU))
                n = int(hdu.header["NAXIS2"])
        except (OSError, StopIteration, ValueError) as exc:
            reason = "it has no binary table extension (is it an image?)" if isinstance(exc, StopIteration) else exc
            raise AstroCNNError(f"cannot read table file {str(path)!r}: {reason}") from None
        return Partitions(n, {**identity, "rows": n}, ("fits", path), rows)
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        n = int(pq.ParquetFile(path).metadata.num_rows)
        return Partitions(n, {**identity, "rows": n}, ("parquet", path), rows)
    table = read_table(path)
    return Partitions(len(table), {"input_sha256": table_digest(table), "rows": len(table)}, table, rows)


def table_digest(table: Table) -> str:
    """SHA-256 of a table's values and masks, column by column: the same digest for the same input."""
    digest = hashlib.sha256()
    for name in table.colnames:
        column = table[name]
        values = getattr(column, "value", column)
        try:
            digest.update(np.ascontiguousarray(np.asarray(values)).tobytes())
        except (TypeError, ValueError):
            digest.update(str(list(values)).encode())
        if getattr(column, "mask", None) is not None:  # the same values with other ones masked are another input
            digest.update(np.ascontiguousarray(np.ma.getmaskarray(column)).tobytes())
    return digest.hexdigest()
