"""The on-disk training store: written once from image files, read back a batch at a time, checked on the way in."""

import json
import pickle
import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.table import MaskedColumn, Table
from PIL import Image

from astro_cnn import AstroCNNError, ColumnError
from astro_cnn.engine.batches import batch_loader
from astro_cnn.engine.store import TrainingStore, is_store
from astro_cnn.engine.train import build_store
from astro_cnn.image_files import read_image

from .conftest import DATA

JPEGS = sorted((DATA / "gri_small").glob("*.jpg"))


def _table(n=8, replace=None):
    names = [str(p) for p in JPEGS[:n]]
    for row, name in (replace or {}).items():
        names[row] = name
    return Table({"image": names, "oh_p50": np.linspace(8.4, 9.0, n)})


def test_store_holds_the_decoded_pixels_exactly_as_uint8(tmp_path):
    store = build_store(tmp_path / "s", _table(), "metallicity", image_column="image", log=lambda line: None)
    assert is_store(tmp_path / "s") and len(store) == 8 and store.info["dtype"] == "uint8"
    assert store.bands == ("i", "r", "g") and u.isclose(store.pixel_scale, 0.296 * u.arcsec, rtol=0.01)
    rows = np.array([5, 0, 3])
    raw = store.images[rows]
    assert raw.dtype == np.uint8 and raw.shape == (3, 3, 128, 128)
    for row, image in zip(rows, raw):
        np.testing.assert_array_equal(image.astype(np.float32) / np.float32(255), read_image(JPEGS[row]))
    np.testing.assert_allclose(store.table["oh_p50"], np.linspace(8.4, 9.0, 8))
    reopened = TrainingStore(tmp_path / "s")
    np.testing.assert_array_equal(reopened.images[rows], raw)


def test_flux_images_are_stored_as_float32(tmp_path):
    from astropy.io import fits

    rng = np.random.default_rng(0)
    names = []
    for i in range(3):
        fits.writeto(tmp_path / f"s{i}.fits", rng.normal(0, 0.1, (5, 16, 16)).astype(np.float32))
        names.append(f"s{i}.fits")
    table = Table({"image": names, "redshift": [0.1, 0.2, 0.3], "ebv": [0.01, 0.02, 0.03]})
    store = build_store(tmp_path / "store", table, "photo_z", image_column="image", image_dir=tmp_path,
                        log=lambda line: None)
    assert store.info["dtype"] == "float32" and store.info["extras"] == ["ebv"]
    np.testing.assert_array_equal(store.images[[2]][0], read_image(tmp_path / "s2.fits"))


def test_an_image_of_another_shape_is_an_error_naming_the_file(tmp_path):
    Image.open(JPEGS[0]).resize((64, 64)).save(tmp_path / "small.png")
    table = _table(4, {2: str(tmp_path / "small.png")})
    with pytest.raises(AstroCNNError, match=r"small.png.*\(row 2\).*\(3, 64, 64\).*first image"):
        build_store(tmp_path / "s", table, "metallicity", image_column="image", log=lambda line: None)
    assert not (tmp_path / "s").exists() and list(tmp_path.iterdir()) == [tmp_path / "small.png"]


def test_masked_or_nan_labels_and_extras_are_errors_naming_the_rows(tmp_path):
    table = _table(4)
    table["oh_p50"] = MaskedColumn([8.5, 8.6, 8.7, 8.8], mask=[False, True, False, False])
    with pytest.raises(ColumnError, match=r"label column 'oh_p50' has missing or non-finite values in rows \[1\]"):
        build_store(tmp_path / "s", table, "metallicity", image_column="image")
    table = Table({"image": [str(p) for p in JPEGS[:3]], "redshift": [0.1, 0.2, 0.3],
                   "ebv": MaskedColumn([0.01, 0.0, 0.02], mask=[False, True, False])})
    with pytest.raises(ColumnError, match=r"extra input column 'ebv' .* rows \[1\]"):
        build_store(tmp_path / "s", table, "photo_z", image_column="image")


def test_unreadable_files_are_left_out_with_a_count(tmp_path):
    table = _table(4, {1: str(tmp_path / "missing.jpg")})
    with pytest.warns(UserWarning, match="1 of 4 training rows have no readable image"):
        store = build_store(tmp_path / "s", table, "metallicity", image_column="image", log=lambda line: None)
    assert len(store) == 3 and store.info["rows_left_out"] == 1
    assert list(store.table["source"]) == [str(JPEGS[i]) for i in (0, 2, 3)]
    assert list(store.images.table_rows) == [0, 2, 3]  # the table row of each image, named in training's log
    info = json.loads((store.directory / "store.json").read_text())
    del info["table_rows_left_out"]  # as a version 1 store wrote it: which rows were left out is not known
    (store.directory / "store.json").write_text(json.dumps(info))
    assert TrainingStore(store.directory).images.table_rows is None


def test_store_images_are_read_by_worker_processes_without_copying(tmp_path):
    store = build_store(tmp_path / "s", _table(), "metallicity", image_column="image", log=lambda line: None)
    clone = pickle.loads(pickle.dumps(store.images))
    assert len(pickle.dumps(store.images)) < 1000  # the path, not the pixels
    np.testing.assert_array_equal(clone[[1, 2]], store.images[[1, 2]])
    from astro_cnn.engine.batches import TrainingData
    from astro_cnn.engine.normalisation import ImageNormaliser

    data = TrainingData(store.images, torch.arange(8.0), ImageNormaliser({"stretch": "linear", "scale": [1] * 3,
                                                                          "mean": [0] * 3, "std": [1] * 3}))
    batches = [np.array([7, 1]), np.array([4])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = list(batch_loader(data, batches, workers=2))
    np.testing.assert_array_equal(read[0][0].numpy(), store.images[[7, 1]])
    assert read[1][1].tolist() == [4.0]


def test_a_damaged_store_is_refused(tmp_path):
    store = build_store(tmp_path / "s", _table(4), "metallicity", image_column="image", log=lambda line: None)
    with open(store.images.path, "r+b") as handle:
        handle.truncate(store.images.row_bytes * 3)
    with pytest.raises(AstroCNNError, match="holds 3 images but 4 table rows"):
        TrainingStore(tmp_path / "s")
    with pytest.raises(AstroCNNError, match="not an astro_cnn training store"):
        TrainingStore(tmp_path)


def test_a_store_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(AstroCNNError, match="is a file; a training store is a directory"):
        build_store(tmp_path / "file", _table(2), "metallicity", image_column="image", overwrite=True)


def test_a_blank_first_image_does_not_decide_that_flux_images_are_colour(tmp_path):
    """All zeros pass for 8-bit colour values: a blank image at the top of a table of flux images stopped the store
    ("cannot mix colour and flux images"); it is kept, as a flux image, for training to leave out as blank."""
    from astropy.io import fits

    rng = np.random.default_rng(0)
    fits.writeto(tmp_path / "blank.fits", np.zeros((5, 16, 16), np.float32))
    for i in range(2):
        fits.writeto(tmp_path / f"s{i}.fits", rng.normal(0, 0.1, (5, 16, 16)).astype(np.float32))
    table = Table({"image": ["blank.fits", "s0.fits", "s1.fits"], "redshift": [0.1, 0.2, 0.3], "ebv": [0.0] * 3})
    store = build_store(tmp_path / "store", table, "photo_z", image_column="image", image_dir=tmp_path,
                        log=lambda line: None)
    assert store.info["dtype"] == "float32" and len(store) == 3
    np.testing.assert_array_equal(store.images[[0]][0], 0.0)
    np.testing.assert_array_equal(store.images[[2]][0], read_image(tmp_path / "s1.fits"))


def test_a_store_never_replaces_a_directory_that_is_not_one(tmp_path):
    """With overwrite (as every new training run asked) the directory's files were deleted."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(AstroCNNError, match="is a directory that is not a training store"):
        build_store(tmp_path / "mine", _table(), "metallicity", image_column="image", overwrite=True,
                    log=lambda line: None)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"
    build_store(tmp_path / "s", _table(), "metallicity", image_column="image", log=lambda line: None)
    build_store(tmp_path / "s", _table(4), "metallicity", image_column="image", overwrite=True, log=lambda line: None)
    assert len(TrainingStore(tmp_path / "s")) == 4  # a store is replaced by a store


def test_a_table_of_unreadable_images_names_them(tmp_path):
    """A wrong image directory said only "no training row has a readable image"."""
    table = _table(4, replace={k: f"missing{k}.jpg" for k in range(4)})
    with pytest.raises(AstroCNNError, match=r"none of the 4 training rows has a readable image: '.*missing0.jpg' "
                                            r"\(row 0\), '.*missing1.jpg' \(row 1\), '.*missing2.jpg' \(row 2\) "
                                            r"and more cannot be read"):
        build_store(tmp_path / "s", table, "metallicity", image_column="image", log=lambda line: None)
    with pytest.raises(AstroCNNError, match="the training table has no rows"):
        build_store(tmp_path / "s", _table()[:0], "metallicity", image_column="image", log=lambda line: None)


def test_rows_that_repeat_an_image_file_are_reported(tmp_path):
    """Duplicated rows were taken silently: a validation split then holds copies of the images trained on."""
    from astropy.table import vstack

    lines = []
    store = build_store(tmp_path / "s", vstack([_table(4), _table(4)[:2]]), "metallicity", image_column="image",
                        log=lines.append)
    assert len(store) == 6
    assert any(line.startswith("2 of 6 rows repeat the image file of an earlier row") for line in lines)
