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
