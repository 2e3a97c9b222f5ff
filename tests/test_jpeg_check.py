"""The strict JPEG check: real and Pillow-written JPEGs pass; garbled, truncated and malformed ones do not."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from astro_cnn.jpeg_check import check_entropy
from astro_cnn_sdss.surveys import BUNDLED_JPEG_DIR
from astro_cnn_sdss.testing import garble

SERVED = sorted((Path(__file__).parent / "data" / "sdss" / "jpeg").glob("*.jpg"))
BUNDLED = sorted(BUNDLED_JPEG_DIR.glob("*.jpg"))


def _pillow_jpeg(**options) -> bytes:
    pixels = np.random.default_rng(0).normal(100, 40, (77, 131, 3)).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def test_every_real_sdss_jpeg_passes():
    for path in SERVED + BUNDLED:
        check_entropy(path.read_bytes())


@pytest.mark.parametrize("options", [{}, {"subsampling": 0}, {"quality": 100}, {"quality": 5}, {"optimize": True},
                                     {"restart_marker_blocks": 3}, {"restart_marker_rows": 1},
                                     {"progressive": True}])
def test_pillow_jpegs_of_every_kind_pass(options):
    check_entropy(_pillow_jpeg(**options))


@pytest.mark.parametrize("path", SERVED, ids=lambda p: p.stem)
def test_the_test_servers_corruption_is_detected(path):
    with pytest.raises(ValueError, match="corrupt JPEG"):
        check_entropy(garble(path.read_bytes()))


def test_garbled_real_cutouts_are_detected():
    missed = []
    for path in BUNDLED:
        try:
            check_entropy(garble(path.read_bytes()))
        except ValueError:
            continue
        missed.append(path.name)
    # a garbled stretch that resynchronises with an in-range DC level cannot be told from real data
    assert len(missed) <= 0.05 * len(BUNDLED), missed


@pytest.mark.parametrize("options", [{}, {"restart_marker_blocks": 3}])
def test_garbled_pillow_jpegs_are_detected(options):
    with pytest.raises(ValueError, match="corrupt JPEG"):
        check_entropy(garble(_pillow_jpeg(**options)))


def test_truncated_and_non_jpeg_data():
    data = SERVED[0].read_bytes()
    for cut in (len(data) - 2, len(data) // 2, 400, 100, 3):
        with pytest.raises(ValueError, match="truncated JPEG"):
            check_entropy(data[:cut])
    with pytest.raises(ValueError, match="not a JPEG"):
        check_entropy(b"<html>error</html>")


def test_stray_bytes_and_markers_are_corrupt():
    data = SERVED[0].read_bytes()
    with pytest.raises(ValueError, match="not a marker"):
        check_entropy(data[:2] + b"\x00" + data[2:])
    scan = data.index(b"\xff\xda")
    with pytest.raises(ValueError, match="stray marker"):
        check_entropy(data[:scan] + b"\xff\xd0" + data[scan:])
    end = data.rindex(b"\xff\xd9")
    with pytest.raises(ValueError, match="2 restart intervals, expected 1"):
        check_entropy(data[:end] + b"\xff\xd0" + data[end:])


def _one_block_jpeg(bits: str) -> bytes:
    """An 8×8 greyscale baseline JPEG whose single block is coded as ``bits``.

    DC codes: ``00`` size 0, ``01`` size 1, ``10`` size 12; AC codes: ``00`` end of block, ``01`` a run of
    16 zeros, ``10`` one coefficient of size 1 (a magnitude bit follows).
    """
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body

    counts = bytes([0, 3] + [0] * 14)
    padded = bits + "1" * (-len(bits) % 8)
    coded = bytes(int(padded[i:i + 8], 2) for i in range(0, len(padded), 8)).replace(b"\xff", b"\xff\x00")
    return (b"\xff\xd8" + segment(0xDB, b"\x00" + bytes([1] * 64))
            + segment(0xC0, bytes([8, 0, 8, 0, 8, 1, 1, 0x11, 0]))
            + segment(0xC4, b"\x00" + counts + bytes([0, 1, 12]) + b"\x10" + counts + bytes([0x00, 0xF0, 0x01]))
            + segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])) + coded + b"\xff\xd9")


def test_a_hand_coded_block_passes_and_pillow_reads_it():
    data = _one_block_jpeg("00" + "101" * 15 + "01" * 2 + "101" * 16)  # 15 coefficients, 32 zeros, 16 more: 63
    check_entropy(data)
    assert Image.open(io.BytesIO(data)).size == (8, 8)


@pytest.mark.parametrize(("bits", "problem"), [
    ("00" + "101" * 15 + "01" * 3, "coefficient past the end"),  # a run of 16 zeros reaching the block's end
    ("00" + "11", "bad Huffman code"),  # an AC code the table does not have
    ("00" + "00" + "00", "extraneous bytes|not padded"),  # a second block where the scan holds one
], ids=["zero-run-to-the-end", "unknown-code", "extra-block"])
def test_hand_coded_blocks_breaking_a_rule_are_corrupt(bits, problem):
    with pytest.raises(ValueError, match=problem):
        check_entropy(_one_block_jpeg(bits))
