"""The user's own image files as a survey: JPEG, PNG and FITS; bad files are flagged."""

import warnings

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


def test_unreadable_files_say_what_is_wrong_in_words(tmp_path):
    """A directory was "does not exist", a garbage JPEG's message held "<_io.BytesIO object at 0x...>", and
    values beyond float32 printed numpy's overflow warning."""
    (tmp_path / "adir.fits").mkdir()
    with pytest.raises(ValueError, match=r"adir\.fits' is a directory, not an image file"):
        read_image(tmp_path / "adir.fits")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"not a decodable image \(not an image format Pillow knows\)") as info:
        read_image(tmp_path / "bad.jpg")
    assert "BytesIO" not in str(info.value)
    fits.writeto(tmp_path / "huge.fits", np.full((1, 4, 4), 1e300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(read_image(tmp_path / "huge.fits")).all()


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


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    grey = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "deep.png")
    image = read_image(tmp_path / "deep.png")
    assert image.shape == (1, 8, 8) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], grey / 65535.0, rtol=1e-6)


@pytest.mark.parametrize("mode", ["L", "LA", "1", "I;16"])
def test_greyscale_files_are_one_channel_and_flagged_for_a_colour_model(tmp_path, mode):
    from astropy.table import Table

    rgb = np.asarray(Image.open(_real_jpeg()))
    deep = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    grey = deep if mode == "I;16" else Image.fromarray(rgb).convert(mode)
    grey.save(tmp_path / "grey.png")
    assert read_image(tmp_path / "grey.png").shape == (1, 128, 128)
    survey = ImageFileSurvey(("i", "r", "g"), 0.396 * u.arcsec, 128)
    batch = survey.cutouts(TargetList.from_table(Table({"image": [str(tmp_path / "grey.png")]}), image_column="image"))
    assert not batch.ok[0] and "shape (1, 128, 128), expected (3, 128, 128)" in batch.status[0]


def test_greyscale_jpeg_is_one_channel(tmp_path):
    Image.open(_real_jpeg()).convert("L").save(tmp_path / "grey.jpg")
    image = read_image(tmp_path / "grey.jpg")
    assert image.shape == (1, 128, 128) and 0.0 <= image.min() and image.max() <= 1.0


def test_integer_and_float_images_of_unknown_range_are_refused(tmp_path):
    Image.fromarray(np.full((8, 8), 3.5, np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(ValueError, match=r"float.tif.*32-bit"):
        read_image(tmp_path / "float.tif")


def _huge_jpeg(tmp_path):
    """A real JPEG whose header declares 15000 x 15000 pixels (Pillow refuses it before decoding)."""
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "small.jpg")
    data = (tmp_path / "small.jpg").read_bytes()
    sof = data.index(b"\xff\xc0")
    path = tmp_path / "huge.jpg"
    path.write_bytes(data[:sof + 5] + (15000).to_bytes(2, "big") * 2 + data[sof + 9:])
    return path


def test_decompression_bomb_names_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"huge.jpg.*too large"):
        read_image(_huge_jpeg(tmp_path))


def test_decompression_bomb_warning_as_error_names_the_file(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"big.png.*too large"):
            read_image(tmp_path / "big.png")


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_truncated_fits_names_the_file(tmp_path):
    fits.writeto(tmp_path / "full.fits", np.ones((3, 64, 64), np.float32))
    data = (tmp_path / "full.fits").read_bytes()
    for cut in (len(data) // 2, 2880 + 100):
        (tmp_path / "cut.fits").write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut.fits.*truncated|cut.fits.*not a readable FITS"):
            read_image(tmp_path / "cut.fits")


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_survey_flags_bombs_and_truncated_files_and_keeps_rows(tmp_path):
    fits.writeto(tmp_path / "full.fits", np.ones((3, 128, 128), np.float32))
    (tmp_path / "cut.fits").write_bytes((tmp_path / "full.fits").read_bytes()[:5000])
    from astropy.table import Table

    targets = TargetList.from_table(Table({"file": ["full.fits", "cut.fits", str(_huge_jpeg(tmp_path))]}),
                                    image_column="file")
    batch = ImageFileSurvey(("i", "r", "g"), 0.296 * u.arcsec, 128, base_dir=tmp_path).cutouts(targets)
    assert list(batch.ok) == [True, False, False]
    assert "cut.fits" in batch.status[1] and "huge.jpg" in batch.status[2]


def test_garbled_jpeg_file_names_the_file_and_is_flagged(tmp_path):
    from astro_cnn_sdss.testing import garble

    (tmp_path / "garbled.jpg").write_bytes(garble(_real_jpeg().read_bytes()))
    with pytest.raises(ValueError, match=r"garbled\.jpg.*corrupt JPEG"):
        read_image(tmp_path / "garbled.jpg")
    from astropy.table import Table

    survey = ImageFileSurvey(("i", "r", "g"), 0.396 * u.arcsec, 128)
    targets = TargetList.from_table(Table({"image": [str(_real_jpeg()), str(tmp_path / "garbled.jpg")]}),
                                    image_column="image")
    batch = survey.cutouts(targets)
    assert list(batch.ok) == [True, False] and "garbled.jpg" in batch.status[1]


def test_every_jpeg_of_the_test_data_reads():
    for path in sorted(DATA.rglob("*.jpg")):
        assert read_image(path).shape[0] == 3
