"""HEALPix Multi-Order Coverage maps (IVOA MOC 1.1/2.0, spatial): read and write the FITS serialisation, test positions.

A MOC FITS file holds one binary table whose header says ``ORDERING = 'NUNIQ'`` (one column
``UNIQ``: cell ``ipix`` of order ``k`` is ``4 * 4**k + ipix``, NESTED, ICRS) or, in MOC 2.0,
``ORDERING = 'RANGE'`` (one column ``RANGE`` of ``[start, end)`` pairs of order-29 cells).  Both
are read; :meth:`MOC.to_fits` writes NUNIQ.  mocpy is not needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS
from astropy.io import fits
from astropy_healpix import HEALPix

__all__ = ["MOC", "MAX_ORDER"]

#: Deepest HEALPix order of a MOC (the IVOA standard's limit).
MAX_ORDER = 29

_DEEPEST = HEALPix(nside=2**MAX_ORDER, order="nested", frame=ICRS())


class MOC:
    """A spatial coverage: a union of HEALPix cells, kept as sorted, disjoint ranges of order-29 cells.

    Parameters
    ----------
    starts, ends : array of int
        ``[start, end)`` ranges of order-29 NESTED cell numbers; overlapping and touching ranges
        are merged.
    """

    def __init__(self, starts: Sequence[int] | np.ndarray, ends: Sequence[int] | np.ndarray):
        starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        if len(starts):
            first = np.flatnonzero(np.r_[True, starts[1:] > np.maximum.accumulate(ends)[:-1]])
            starts, ends = starts[first], np.maximum.reduceat(ends, first)
        self.starts, self.ends = starts, ends

    @classmethod
    def from_cells(cls, order: int, ipix: Sequence[int] | np.ndarray) -> MOC:
        """Return the MOC of cells ``ipix`` (NESTED) of one HEALPix ``order``."""
        ipix = np.asarray(ipix, np.int64)
        shift = 2 * (MAX_ORDER - int(order))
        return cls(ipix << shift, (ipix + 1) << shift)

    @classmethod
    def from_fits(cls, data: bytes) -> MOC:
        """Read a MOC FITS file (NUNIQ or RANGE ordering).

        Raises
        ------
        ValueError
            The bytes are not a MOC FITS file (garbage, truncated, no coverage table).
        """
        try:
            with fits.open(io.BytesIO(data)) as hdul:
                tables = [hdu for hdu in hdul if isinstance(hdu, fits.BinTableHDU)]
                if not tables:
                    raise ValueError("no binary table")
                header, table = tables[0].header, tables[0].data
                ordering = str(header.get("ORDERING", "")).strip().upper()
                if ordering == "NUNIQ":
                    uniq = np.asarray(table.field(0), np.int64).ravel()
                    if uniq.size and uniq.min() < 4:
                        raise ValueError("UNIQ values below 4")
                    orders = (np.floor(np.log2(uniq / 4) / 2)).astype(np.int64) if uniq.size else uniq
                    ipix = uniq - 4 * 4**orders
                    shift = 2 * (MAX_ORDER - orders)
                    return cls(ipix << shift, (ipix + 1) << shift)
                if ordering == "RANGE":
                    ranges = np.asarray(table.field(0), np.int64).ravel()
                    if ranges.size % 2:
                        raise ValueError("odd number of RANGE values")
                    return cls(ranges[0::2], ranges[1::2])
                raise ValueError(f"ORDERING is {ordering or 'missing'}, not NUNIQ or RANGE")
        except (OSError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"not a MOC FITS file ({type(exc).__name__}: {exc})") from None

    def to_fits(self) -> bytes:
        """Return the MOC as a NUNIQ FITS file (each range split into the largest aligned cells)."""
        uniq: list[int] = []
        for start, end in zip(self.starts.tolist(), self.ends.tolist()):
            while start < end:
                level = 0  # largest aligned cell at ``start`` that fits in the range
                while level < MAX_ORDER and start % (4 ** (level + 1)) == 0 and start + 4 ** (level + 1) <= end:
                    level += 1
                order = MAX_ORDER - level
                uniq.append(4 * 4**order + (start >> (2 * level)))
                start += 4**level
        depth = max((int(np.floor(np.log2(v / 4) / 2)) for v in uniq), default=0)
        hdu = fits.BinTableHDU.from_columns([fits.Column("UNIQ", "K", array=np.sort(np.array(uniq, np.int64)))])
        hdu.header.update({"PIXTYPE": "HEALPIX", "ORDERING": "NUNIQ", "COORDSYS": "C", "MOCDIM": "SPACE",
                           "MOCORDER": depth, "MOCVERS": "2.0", "MOCTOOL": "astro_cnn_hips"})
        buffer = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
        return buffer.getvalue()

    def contains(self, ra: float | np.ndarray, dec: float | np.ndarray) -> np.ndarray:
        """Return whether each (ra, dec) in degrees (ICRS) lies in the coverage."""
        cells = np.atleast_1d(_DEEPEST.lonlat_to_healpix(np.atleast_1d(ra) * u.deg, np.atleast_1d(dec) * u.deg))
        i = np.searchsorted(self.starts, cells, side="right") - 1
        inside = i >= 0
        inside[inside] = cells[inside] < self.ends[i[inside]]
        return inside

    def __len__(self) -> int:
        return len(self.starts)
