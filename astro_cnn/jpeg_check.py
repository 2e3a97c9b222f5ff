"""Strict check of a JPEG's marker structure and Huffman-coded data.

libjpeg (and so Pillow) decodes garbled entropy-coded data without an error: it only warns,
and Pillow drops the warning.  A garbled download therefore decodes to a plausible but wrong
image.  :func:`check_entropy` walks every Huffman code of a sequential JPEG (the kind SkyServer
serves, and most cameras and libraries write) and demands that each scan holds exactly its
blocks, with valid codes, coefficient positions, DC levels, padding and restart markers;
garbled data almost never passes all of them.
:func:`astro_cnn.read_image` applies it to every JPEG file, and the SDSS plugin to every download.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["check_entropy"]

#: Start-of-frame markers of sequential Huffman JPEGs (baseline, extended): their scans are walked.
_SEQUENTIAL = {0xC0, 0xC1}
#: Every other start-of-frame marker (progressive, lossless, arithmetic): structure checked only.
_OTHER_FRAMES = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_RESTARTS = range(0xD0, 0xD8)
#: Codes up to this length (bits) are found in one table lookup; longer ones, rare, in a dict.
_SHORT = 9
#: Bytes one block can read past the end of an interval (64 codes of at most 16 + 16 bits).
_OVERRUN = 64 * 32 // 8

_Lookup = tuple  # what a table's codes mean to the walk: see _lookup
_Table = tuple  # a Huffman table as its segment defines it: (code counts, symbols), both bytes


@dataclass
class _Frame:
    sequential: bool
    precision: int
    width: int
    height: int
    components: dict[int, tuple[int, int, int]]  # id -> (h, v, quantisation table)


#: A block's coding, as the scan walks it: (component index, DC codes short and long, AC codes short and long,
#: largest |quantised DC| a real image can have).  The codes come from :func:`_lookup`.
_Block = tuple


def check_entropy(data: bytes) -> None:
    """Raise ``ValueError`` unless ``data`` is a structurally complete JPEG with consistent coded data.

    Checks the marker segments (lengths, a frame header before any scan, an end-of-image
    marker) of any JPEG; for sequential Huffman JPEGs also decodes every Huffman code of every
    scan: each restart interval must hold exactly its MCUs (padded with 1-bits), with no invalid
    code, no coefficient past the 64th and no DC level outside the range of real pixels.
    Pixels are not computed (Pillow does that).

    Parameters
    ----------
    data : bytes
        The whole file.

    Raises
    ------
    ValueError
        The data are not a JPEG or are corrupt or truncated; the message says where.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError(f"not a JPEG (starts with {data[:16]!r})")
    huffman: dict[tuple[int, int], _Table] = {}
    quant_dc: dict[int, int] = {}
    frame: _Frame | None = None
    restart = 0
    pos = 2
    while True:
        pos, marker = _marker(data, pos)
        if marker == 0xD9:
            return
        if marker in _RESTARTS or marker == 0x01:
            raise ValueError(f"corrupt JPEG: stray marker 0xFF{marker:02X} at byte {pos - 2}")
        end = pos + int.from_bytes(data[pos:pos + 2], "big")
        if end > len(data) or end < pos + 2:
            raise ValueError(f"truncated JPEG ({len(data)} bytes, segment 0xFF{marker:02X} cut short)")
        segment = data[pos + 2:end]
        pos = end
        if marker == 0xC4:
            huffman.update(_huffman_tables(segment))
        elif marker == 0xDB:
            quant_dc.update(_quant_dc(segment))
        elif marker == 0xDD:
            restart = int.from_bytes(segment[:2], "big")
        elif marker in _SEQUENTIAL or marker in _OTHER_FRAMES:
            frame = _frame(marker, segment)
        elif marker == 0xDA:
            if frame is None:
                raise ValueError("corrupt JPEG: scan before the frame header")
            intervals, pos = _intervals(data, pos)
            if frame.sequential:
                _scan(intervals, segment, frame, huffman, quant_dc, restart)


def _marker(data: bytes, pos: int) -> tuple[int, int]:
    """Return (position after the marker, marker code) of the marker at ``pos`` (fill bytes skipped)."""
    if pos < len(data) and data[pos] != 0xFF:
        raise ValueError(f"corrupt JPEG: byte {pos} is 0x{data[pos]:02X}, not a marker")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise ValueError(f"truncated JPEG ({len(data)} bytes, no end-of-image marker)")
    return pos + 1, data[pos]


def _frame(marker: int, segment: bytes) -> _Frame:
    if len(segment) < 6 or len(segment) < 6 + 3 * segment[5] or segment[0] not in (8, 12):
        raise ValueError("corrupt JPEG: bad frame header")
    components = {}
    for k in range(segment[5]):
        cid, hv, table = segment[6 + 3 * k:9 + 3 * k]
        if not (1 <= hv >> 4 <= 4 and 1 <= hv & 15 <= 4):
            raise ValueError("corrupt JPEG: bad sampling factors in the frame header")
        components[cid] = (hv >> 4, hv & 15, table)
    if not components:
        raise ValueError("corrupt JPEG: frame without components")
    return _Frame(marker in _SEQUENTIAL, segment[0], int.from_bytes(segment[3:5], "big"),
                  int.from_bytes(segment[1:3], "big"), components)


def _quant_dc(segment: bytes) -> dict[int, int]:
    """Return the DC step of each quantisation table defined in a DQT segment."""
    out = {}
    pos = 0
    while pos < len(segment):
        wide = segment[pos] >> 4
        entries = segment[pos + 1:pos + 1 + 64 * (1 + wide)]
        if len(entries) != 64 * (1 + wide):
            raise ValueError("corrupt JPEG: short quantisation table")
        out[segment[pos] & 15] = int.from_bytes(entries[:1 + wide], "big") or 1
        pos += 1 + len(entries)
    return out


def _huffman_tables(segment: bytes) -> dict[tuple[int, int], _Table]:
    """Return the Huffman tables of a DHT segment, ``(class, id) -> (code counts, symbols)``, each checked."""
    out = {}
    pos = 0
    while pos < len(segment):
        kind, counts = segment[pos], segment[pos + 1:pos + 17]
        symbols = segment[pos + 17:pos + 17 + sum(counts)]
        if len(counts) != 16 or len(symbols) != sum(counts):
            raise ValueError("corrupt JPEG: short Huffman table")
        _codes(counts)
        out[(kind >> 4, kind & 15)] = (counts, symbols)
        pos += 17 + len(symbols)
    return out


@functools.lru_cache(maxsize=64)
def _codes(counts: bytes) -> tuple[tuple[int, int], ...]:
    """The (code, length) of each symbol of a Huffman table, in symbol order; raise if the counts overflow.

    Cached: a table's codes are checked when its segment is read and used again to build its lookup.
    """
    codes = []
    code = 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            if code >= 1 << length:
                raise ValueError("corrupt JPEG: Huffman table with too many codes")
            codes.append((code, length))
            code += 1
        code <<= 1
    return tuple(codes)


@functools.lru_cache(maxsize=64)
def _lookup(table: _Table, ac: bool, largest: int) -> _Lookup:
    """What each code of a Huffman table means to the walk: a table for the short codes and a dict for the rest.

    Returns ``(short, long)``.  ``short[p]``, for each :data:`_SHORT`-bit prefix ``p`` of the coded data,
    is the meaning of the code it starts with when that code is at most :data:`_SHORT` bits long, else
    None; ``long[(length, code)]`` is the meaning of each longer code (see :func:`_long_code`).  Most codes
    are short, and this table is quick to build: tables differ from one JPEG to the next.

    A meaning, for a DC table: (code length, magnitude bits); a magnitude of more than ``largest`` bits is
    invalid.  For an AC table: (bits to skip, positions to advance, last position allowed after it).  Bits
    to skip: the code and its magnitude bits.  Positions to advance: 0 for end-of-block, 16 for a run of
    16 zeros (which must be followed by a coefficient, so it may not reach position 64), else the run plus
    one.  A magnitude of ``largest`` bits or more is invalid.  Invalid codes mean None.
    """
    counts, symbols = table
    short: list = [None] * (1 << _SHORT)
    long = {}
    for (code, length), symbol in zip(_codes(counts), symbols):
        run, size = symbol >> 4, symbol & 15
        if not ac:
            meaning = None if symbol > largest else (length, symbol)
        elif size >= largest:
            meaning = None
        elif size == 0:
            meaning = (length, 0, 64) if run != 15 else (length, 16, 63)
        else:
            meaning = (length + size, run + 1, 64)
        if length > _SHORT:
            long[(length, code)] = meaning
        else:
            span = 1 << (_SHORT - length)
            short[code * span:(code + 1) * span] = [meaning] * span
    return tuple(short), long


def _long_code(codes: dict, windows: list[int], pos: int) -> tuple:
    """The meaning of the code at bit ``pos`` that is not in the short table: a longer code, or none."""
    prefix = (windows[pos >> 3] >> (24 - (pos & 7))) & 0xFFFF
    for length in range(_SHORT + 1, 17):
        meaning = codes.get((length, prefix >> (16 - length)))
        if meaning is not None:
            return meaning
    raise ValueError(f"corrupt JPEG: bad Huffman code at bit {pos}")


def _intervals(data: bytes, pos: int) -> tuple[list[bytes], int]:
    """Split the coded data at ``pos`` at its restart markers (checking their sequence), unstuffed.

    Returns the intervals and the position of the marker that ends the scan.
    """
    intervals, current = [], bytearray()
    start = pos
    while True:
        ff = data.find(b"\xff", pos)
        if ff < 0 or ff + 1 >= len(data):
            raise ValueError(f"truncated JPEG ({len(data)} bytes, coded data without an end)")
        current += data[pos:ff]
        code = data[ff + 1]
        if code == 0x00:
            current.append(0xFF)
        elif code in _RESTARTS:
            if code != 0xD0 + len(intervals) % 8:
                raise ValueError(f"corrupt JPEG: restart marker out of sequence at byte {ff}")
            intervals.append(bytes(current))
            current = bytearray()
        elif ff == start:
            raise ValueError(f"corrupt JPEG: empty scan at byte {ff}")
        else:
            intervals.append(bytes(current))
            return intervals, ff
        pos = ff + 2


def _scan(intervals: list[bytes], header: bytes, frame: _Frame, huffman: dict[tuple[int, int], _Table],
          quant_dc: dict[int, int], restart: int) -> None:
    """Check the restart intervals of one sequential scan against its header."""
    if not header or len(header) != 1 + 2 * header[0] + 3:
        raise ValueError("corrupt JPEG: bad scan header")
    full_scale = 1024 << (frame.precision - 8)
    largest = 11 if frame.precision == 8 else 15
    units = []
    for k in range(header[0]):
        cid, which = header[1 + 2 * k], header[2 + 2 * k]
        dc, ac = huffman.get((0, which >> 4)), huffman.get((1, which & 15))
        if cid not in frame.components or dc is None or ac is None:
            raise ValueError("corrupt JPEG: scan names an unknown component or Huffman table")
        h, v, table = frame.components[cid]
        step = quant_dc.get(table, 1)
        units.append(((k, *_lookup(dc, False, largest), *_lookup(ac, True, largest), full_scale // step + 1), h, v))
    hmax = max(h for h, _, _ in frame.components.values())
    vmax = max(v for _, v, _ in frame.components.values())
    if len(units) == 1:
        block, h, v = units[0]
        mcus = math.ceil(frame.width * h / (8 * hmax)) * math.ceil(frame.height * v / (8 * vmax))
        blocks = [block]
    else:
        mcus = math.ceil(frame.width / (8 * hmax)) * math.ceil(frame.height / (8 * vmax))
        blocks = [block for block, h, v in units for _ in range(h * v)]
    per_interval = restart or mcus
    if len(intervals) != math.ceil(mcus / per_interval):
        raise ValueError(f"corrupt JPEG: scan has {len(intervals)} restart intervals, "
                         f"expected {math.ceil(mcus / per_interval)}")
    for k, interval in enumerate(intervals):
        _interval(interval, min(per_interval, mcus - k * per_interval), blocks, len(units), k)


def _interval(data: bytes, mcus: int, blocks: list[_Block], n_components: int, index: int) -> None:
    """Decode ``mcus`` MCUs of one restart interval; raise unless they fill it exactly and stay plausible.

    The walk over each block's codes is written out in this one loop (it runs for every block of every
    image read, so a function call per block would cost a third of the time).
    """
    n = 8 * len(data)
    windows = _windows(data)
    shift, mask, long_code = 40 - _SHORT, (1 << _SHORT) - 1, _long_code  # locals: the loop below is the hot path
    level = [0] * n_components
    pos = 0
    for _ in range(mcus):
        for component, dc, dc_long, ac, ac_long, dc_limit in blocks:
            entry = dc[(windows[pos >> 3] >> (shift - (pos & 7))) & mask] or long_code(dc_long, windows, pos)
            pos += entry[0]
            size = entry[1]
            if size:
                diff = (windows[pos >> 3] >> (40 - (pos & 7) - size)) & ((1 << size) - 1)
                if diff < 1 << (size - 1):
                    diff -= (1 << size) - 1
                pos += size
                level[component] += diff
                if abs(level[component]) > dc_limit:
                    raise ValueError(f"corrupt JPEG: impossible DC level at bit {pos} of restart interval {index}")
            k = 1
            while True:
                entry = ac[(windows[pos >> 3] >> (shift - (pos & 7))) & mask] or long_code(ac_long, windows, pos)
                pos += entry[0]
                if not entry[1]:
                    break
                k += entry[1]
                if k >= 64:
                    if k > entry[2]:
                        raise ValueError(f"corrupt JPEG: coefficient past the end of a block at bit {pos}")
                    break
            if pos > n:
                raise ValueError(f"corrupt JPEG: coded data of restart interval {index} end too early")
    if n - pos >= 8:
        raise ValueError(f"corrupt JPEG: {(n - pos) // 8} extraneous bytes in restart interval {index}")
    if n > pos and _bits(windows, pos, n - pos) != (1 << (n - pos)) - 1:
        raise ValueError(f"corrupt JPEG: restart interval {index} is not padded with 1-bits")


def _windows(data: bytes) -> list[int]:
    """Return, for each byte of ``data``, the 40 bits starting there (past the end: 1-bits, as many as a block uses)."""
    padded = np.frombuffer(data + b"\xff" * (_OVERRUN + 5), np.uint8).astype(np.int64)
    n = len(data) + _OVERRUN
    return (padded[:n] << 32 | padded[1:n + 1] << 24 | padded[2:n + 2] << 16 | padded[3:n + 3] << 8
            | padded[4:n + 4]).tolist()


def _bits(windows: list[int], pos: int, count: int) -> int:
    """Return the ``count`` (at most 33) bits at bit ``pos`` as an integer."""
    return (windows[pos >> 3] >> (40 - (pos & 7) - count)) & ((1 << count) - 1)
