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
_PEEK = 16
#: Bytes one block can read past the end of an interval (64 codes of at most 16 + 16 bits).
_OVERRUN = 64 * 32 // 8

_Lookup = tuple  # one entry per 16-bit prefix: (symbol, code length) or None


@dataclass
class _Frame:
    sequential: bool
    precision: int
    width: int
    height: int
    components: dict[int, tuple[int, int, int]]  # id -> (h, v, quantisation table)


@dataclass
class _Block:
    component: int
    dc: _Lookup
    ac: _Lookup
    dc_limit: int  # largest |quantised DC| a real image can have


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
    huffman: dict[tuple[int, int], _Lookup] = {}
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


def _huffman_tables(segment: bytes) -> dict[tuple[int, int], _Lookup]:
    """Return lookup tables ``(class, id) -> [(symbol, code length) or None for each 16-bit prefix]``."""
    out = {}
    pos = 0
    while pos < len(segment):
        kind, counts = segment[pos], segment[pos + 1:pos + 17]
        symbols = segment[pos + 17:pos + 17 + sum(counts)]
        if len(counts) != 16 or len(symbols) != sum(counts):
            raise ValueError("corrupt JPEG: short Huffman table")
        out[(kind >> 4, kind & 15)] = _lookup(counts, symbols)
        pos += 17 + len(symbols)
    return out


@functools.lru_cache(maxsize=64)
def _lookup(counts: bytes, symbols: bytes) -> _Lookup:
    """Return the lookup table of one Huffman table (cached: most JPEGs share the standard tables)."""
    lookup: list = [None] * (1 << _PEEK)
    code, k = 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            if code >= 1 << length:
                raise ValueError("corrupt JPEG: Huffman table with too many codes")
            span = 1 << (_PEEK - length)
            lookup[code * span:(code + 1) * span] = [(symbols[k], length)] * span
            code, k = code + 1, k + 1
        code <<= 1
    return tuple(lookup)


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


def _scan(intervals: list[bytes], header: bytes, frame: _Frame, huffman: dict[tuple[int, int], _Lookup],
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
        units.append((_Block(k, dc, ac, full_scale // step + 1), h, v))
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
        _interval(interval, min(per_interval, mcus - k * per_interval), blocks, len(units), largest, k)


def _interval(data: bytes, mcus: int, blocks: list[_Block], n_components: int, largest: int, index: int) -> None:
    """Decode ``mcus`` MCUs of one restart interval; raise unless they fill it exactly and stay plausible."""
    n = 8 * len(data)
    windows = _windows(data)
    level = [0] * n_components
    pos = 0
    for _ in range(mcus):
        for block in blocks:
            pos, diff = _block(windows, pos, block, largest)
            level[block.component] += diff
            if pos > n:
                raise ValueError(f"corrupt JPEG: coded data of restart interval {index} end too early")
            if abs(level[block.component]) > block.dc_limit:
                raise ValueError(f"corrupt JPEG: impossible DC level at bit {pos} of restart interval {index}")
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


def _block(windows: list[int], pos: int, block: _Block, largest: int) -> tuple[int, int]:
    """Decode one block's codes at bit ``pos``; return the bit after it and the block's DC difference."""
    entry = block.dc[(windows[pos >> 3] >> (24 - (pos & 7))) & 0xFFFF]
    if entry is None or entry[0] > largest:
        raise ValueError(f"corrupt JPEG: bad Huffman code at bit {pos}")
    size = entry[0]
    pos += entry[1]
    diff = _bits(windows, pos, size) if size else 0
    if size and diff < 1 << (size - 1):
        diff -= (1 << size) - 1
    pos += size
    k = 1
    while k < 64:
        entry = block.ac[(windows[pos >> 3] >> (24 - (pos & 7))) & 0xFFFF]
        if entry is None:
            raise ValueError(f"corrupt JPEG: bad Huffman code at bit {pos}")
        run, size = entry[0] >> 4, entry[0] & 15
        pos += entry[1] + size
        if size == 0 and run != 15:
            break
        k += 16 if size == 0 else run + 1
        if k > 64 or size >= largest or (size == 0 and k > 63):
            raise ValueError(f"corrupt JPEG: coefficient past the end of a block at bit {pos}")
    return pos, diff
