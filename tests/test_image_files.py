"""The user's own image files as a survey: JPEG, PNG and FITS; bad files are flagged."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from astro_cnn import ImageFileSurvey, TargetList, read_image

from .conftest import DATA


def _real_jpeg():
    return sorted((DATA / "core").glob("*.jpg"))[0]


def test_real_sdss_jpeg_reads_as_three_channels_in_unit_range():
    image = read_image(_real_jpeg())
    assert image.shape == (3, 128, 128) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.3


def test_png_and_fits(tmp_path):
    rgb = (np.arange(3 * 8 * 8).reshape(8, 8, 3) % 256).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    np.testing.assert_allclose(read_image(tmp_path / "x.png")[1], rgb[..., 1] / 255.0)
    cube = np.random.default_rng(1).normal(size=(5, 8, 8)).astype(np.float32)
    fits.writeto(tmp_path / "c.fits", cube)
    np.testing.assert_array_equal(read_image(tmp_path / "c.fits"), cube)
    fits.writeto(tmp_path / "p.fits.gz", cube[0])
    assert read_image(tmp_path / "p.fits.gz").shape == (1, 8, 8)


def test_unreadable_files_name_the_file(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(FileNotFoundError, match="nope.fits"):
        read_image(tmp_path / "nope.fits")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ValueError, match="unknown image type '.txt'"):
        read_image(tmp_path / "x.txt")


def test_survey_flags_missing_and_misshapen_files_and_keeps_rows(tmp_path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "small.png")
    paths = [str(_real_jpeg()), "missing.jpg", "small.png", ""]
    from astropy.table import Table

    targets = TargetList.from_table(Table({"file": paths}), image_column="file")
    survey = ImageFileSurvey(("i", "r", "g"), 0.296 * u.arcsec, 128, base_dir=tmp_path)
    batch = survey.cutouts(targets)
    assert len(batch) == 4
    assert list(batch.ok) == [True, False, False, False]
    assert "missing.jpg" in batch.status[1] and "does not exist" in batch.status[1]
    assert "shape (3, 64, 64), expected (3, 128, 128)" in batch.status[2]
    assert "no image file" in batch.status[3]
    assert batch.images[1:].max() == 0.0
