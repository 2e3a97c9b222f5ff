"""Saving and loading models; refusing images a model was not trained for."""

import json
import zipfile

import astropy.units as u
import numpy as np
import pytest

from astro_cnn import AstroCNNError, ImageBatch, IncompatibleImagesError, ModelNotFoundError, load_predictor


def test_save_load_round_trip_keeps_predictions_and_metadata(example_model, example_plugin):
    predictor = load_predictor(example_model)
    assert type(predictor).__name__ == "BandRatioPredictor"
    assert predictor.name == "example-model"
    assert predictor.bands == ("a", "b") and predictor.image_size == 16
    assert predictor.saved  # ISO date of saving
    with zipfile.ZipFile(example_model) as archive:
        meta = json.loads(archive.read("metadata.json"))
    assert meta["predictor_type"] == "band-ratio" and meta["quantity"] == "example_colour"
    assert meta["astro_cnn_version"] and meta["info"]["train_rmse"] < 1e-6
    images = example_plugin.ExampleSky().cutouts(
        __import__("astro_cnn").TargetList(np.array([1.0]), np.array([42.0]))).images
    assert predictor.predict(images).value[0] == pytest.approx(example_plugin.true_colour(42.0))


def test_save_never_overwrites_silently(example_model):
    predictor = load_predictor(example_model)
    before = example_model.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        predictor.save(example_model)
    assert example_model.read_bytes() == before
    predictor.save(example_model, overwrite=True)


def test_load_errors_name_the_file(tmp_path, example_plugin):
    with pytest.raises(ModelNotFoundError, match="nothing.acnn"):
        load_predictor(tmp_path / "nothing.acnn")
    (tmp_path / "junk.acnn").write_text("junk")
    with pytest.raises(AstroCNNError, match="junk.acnn.*not an astro_cnn model"):
        load_predictor(tmp_path / "junk.acnn")


def test_incompatible_images_are_refused(example_model):
    predictor = load_predictor(example_model)
    status = [""]
    with pytest.raises(IncompatibleImagesError, match="bands ab but the images have bands gri"):
        predictor.check_images(ImageBatch(np.zeros((1, 3, 16, 16)), "gri", 1 * u.arcsec, status))
    with pytest.raises(IncompatibleImagesError, match="per pixel"):
        predictor.check_images(ImageBatch(np.zeros((1, 2, 16, 16)), "ab", 0.396 * u.arcsec, status))
    with pytest.raises(IncompatibleImagesError, match=r"\(N, 2, 16, 16\).*got an array of shape \(1, 2, 32, 32\)"):
        predictor.predict(np.zeros((1, 2, 32, 32)))
    with pytest.raises(IncompatibleImagesError, match=r"got an array of shape \(2, 16, 16\)$"):
        predictor.predict(np.zeros((2, 16, 16)))


@pytest.mark.parametrize("shape, says", [((3, 128, 128), r"got an array of shape \(3, 128, 128\)$"),
                                         ((2, 128, 128, 3), r"bands are on the last axis"),
                                         ((1, 1), r"\(N, 3, 128, 128\).*got an array of shape \(1, 1\)")])
def test_a_network_refuses_images_of_another_shape_in_predict_images(shape, says):
    """A channels-last or band-less array reached the network and failed in torch with a tensor-size message."""
    from astro_cnn.models import resolve_predictor

    with pytest.raises(IncompatibleImagesError, match=says):
        resolve_predictor(None, "metallicity").predict_images(np.zeros(shape, dtype=np.float32))


def _rewrite(source, target, metadata=None, state=None):
    with zipfile.ZipFile(source) as archive:
        meta = json.loads(archive.read("metadata.json"))
        blob = archive.read("state.bin")
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("metadata.json", json.dumps(meta if metadata is None else metadata(meta)))
        archive.writestr("state.bin", blob if state is None else state)
    return target


@pytest.mark.parametrize("metadata, state", [
    (None, b"garbage, not a saved state"),
    (lambda m: {k: v for k, v in m.items() if k != "bands"}, None),
    (lambda m: {k: v for k, v in m.items() if k != "predictor_type"}, None),
    (lambda m: [1, 2], None),
])
def test_damaged_model_internals_name_the_file(tmp_path, example_model, metadata, state):
    damaged = _rewrite(example_model, tmp_path / "damaged.acnn", metadata, state)
    with pytest.raises(AstroCNNError, match="damaged.acnn"):
        load_predictor(damaged)


@pytest.mark.parametrize("field, value", [("bands", "gri"), ("bands", []), ("bands", [1, 2, 3]), ("image_size", -3),
                                          ("image_size", "big"), ("image_size", 12.5), ("pixel_scale_arcsec", -0.4),
                                          ("pixel_scale_arcsec", float("nan"))])
def test_impossible_model_geometry_is_refused_naming_the_file(tmp_path, example_model, field, value):
    damaged = _rewrite(example_model, tmp_path / "damaged.acnn", lambda m: {**m, field: value})
    with pytest.raises(AstroCNNError, match=f"damaged.acnn.*{field.split('_')[0]}"):
        load_predictor(damaged)


def test_damaged_network_state_is_one_line(tmp_path):
    from astro_cnn.models import available_models

    shipped = available_models()["metallicity-sdss-gri-v1"].path
    with pytest.raises(AstroCNNError) as info:
        load_predictor(_rewrite(shipped, tmp_path / "damaged.acnn", state=b"x" * 99))
    assert "damaged.acnn" in str(info.value) and "\n" not in str(info.value)


def test_arrays_given_to_a_colour_model_are_read_as_prediction_reads_images():
    """uint8 images gave 25.8 dex (taken as 0-255 floats) and uint16 ones 4194 dex, without a word."""
    from pathlib import Path

    from astro_cnn import IncompatibleImagesError, read_table
    from astro_cnn.image_files import read_image
    from astro_cnn.models import resolve_predictor

    model = resolve_predictor(None, "metallicity")
    directory = Path(__file__).parent / "data" / "gri_small"
    images = np.stack([read_image(directory / name) for name in read_table(directory / "galaxies.ecsv")["image"][:3]])
    as_float = model.predict(images).value
    np.testing.assert_allclose(model.predict((images * 255).round().astype(np.uint8)).value, as_float, atol=0.02)
    with pytest.raises(IncompatibleImagesError, match="3 of 3 images are not colour values"):
        model.predict((images * 65535).astype(np.uint16))
    with pytest.raises(AstroCNNError, match="batch_size must be an integer of at least 1, not 0"):
        model.predict_images(images, batch_size=0)


def test_a_directory_given_as_a_model_file_is_named_as_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="is a directory, not a model file"):
        load_predictor(tmp_path)


@pytest.mark.parametrize("extras, training, says", [
    ({"ebv": np.zeros(6)}, False, r"'ebv' needs one value per image: 4 images but values of shape \(6,\)"),
    ({"ebv": 0.02}, False, r"'ebv' needs one value per image: 4 images but values of shape \(\)"),
    (None, False, r"needs the extra inputs \['ebv'\] besides images"),
    ({"EBV": np.zeros(4)}, False, r"needs the extra inputs \['ebv'\]"),
    ([np.zeros(4)], False, "extras must be a mapping of input name to values"),
    ({"ebv": ["a", "b", "c", "d"]}, False, "extra input 'ebv' must be numbers"),
    ({"ebv": np.array([0.0, np.nan, 0.1, np.inf])}, True, r"missing or not finite in 2 of 4 rows \(rows 1, 3\)"),
    ({"ebv": np.ma.masked_array(np.zeros(4), [0, 0, 1, 0])}, True, r"in 1 of 4 rows \(rows 2\)"),
    ({"ebv": np.zeros(4), "z_phot": np.zeros(4)}, True, r"extras \['z_phot'\] would be ignored"),
])
def test_extra_inputs_that_do_not_go_with_the_images_are_refused(extras, training, says):
    """Too many values were taken a batch at a time (misaligned without a word), too few failed at the last batch
    in torch, a NaN to train on surfaced as a diverging loss, and a masked value was used as the value under it."""
    from astro_cnn.predictor import checked_extras

    with pytest.raises(AstroCNNError, match=says):
        checked_extras(extras, ("ebv",), 4, "m", training=training)


def test_extra_inputs_for_prediction_keep_nan_where_missing_and_pass_over_others():
    from astro_cnn.predictor import checked_extras

    given = {"ebv": np.ma.masked_array([0.1, 0.2, 0.3], [0, 1, 0]), "other": [1, 2, 3]}
    checked = checked_extras(given, ("ebv",), 3, "m", training=False)
    assert list(checked) == ["ebv"] and np.isnan(checked["ebv"][1]) and checked["ebv"][2] == 0.3
    assert checked_extras({}, (), 3, "m", training=True) is None
