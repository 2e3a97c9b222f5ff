"""Fine-tuning across surveys: a trained model's weights, its first layer mapped onto new bands."""

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.table import Table

import astro_cnn
from astro_cnn import AstroCNNError
from astro_cnn.engine import NetworkPredictor

from .test_engine_training import _data


def _trained(bands="irg"):
    images, labels = _data(n=32, bands=len(bands))
    model = NetworkPredictor("metallicity", "sdss-jpeg", bands, 32, 0.296 * u.arcsec, backbone="small_cnn")
    return model.fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)


def test_new_bands_start_from_the_mean_filter_and_known_bands_keep_theirs():
    source = _trained("irg")
    target = NetworkPredictor("metallicity", "lsst-like", "ugrizy", 32, 0.2 * u.arcsec, backbone="small_cnn")
    lines = []
    target.start_from(source, None, lines.append)
    state, trained = target.new_network().state_dict(), source.members_[0]
    first = next(k for k, v in trained.items() if k.startswith("backbone.") and v.ndim == 4)
    assert state[first].shape[1] == 6
    for new_index, band in enumerate("ugrizy"):
        expected = trained[first][:, "irg".index(band)] if band in "irg" else trained[first].mean(dim=1)
        assert torch.equal(state[first][:, new_index], expected), band
    others = [k for k in trained if k != first]
    assert all(torch.equal(state[k], trained[k]) for k in others)  # same quantity and head: all kept
    assert "(new bands ['u', 'z', 'y'] from the mean filter); head kept" in lines[0]


def test_a_backbone_that_folds_pixels_into_channels_maps_each_band_s_channels_together():
    """With space_to_depth=2 each band is 4 input channels; fine-tuning failed with a size mismatch."""
    images, labels = _data(n=32, bands=3)
    options = {"width": 8, "space_to_depth": 2}
    source = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 32, 0.296 * u.arcsec, backbone="small_cnn",
                              backbone_options=options).fit(images, labels, recipe="quick", epochs=1,
                                                            progress=False, log=lambda line: None)
    target = NetworkPredictor("metallicity", "other", "griz", 32, 0.3 * u.arcsec, backbone="small_cnn",
                              backbone_options=options)
    target.start_from(source, None, lambda line: None)
    first = next(k for k, v in source.members_[0].items() if k.startswith("backbone.") and v.ndim == 4)
    trained, state = source.members_[0][first], target.new_network().state_dict()[first]
    assert state.shape[1] == 16
    for index, band in enumerate("griz"):
        expected = trained[:, 4 * "irg".index(band):4 * "irg".index(band) + 4] if band in "irg" else \
            trained.reshape(8, 3, 4, 3, 3).mean(dim=1)
        assert torch.equal(state[:, 4 * index:4 * index + 4], expected), band


def test_a_band_map_and_a_new_quantity(tmp_path):
    source = _trained("irg")
    target = NetworkPredictor("stellar_mass", "other", "gri", 32, 0.3 * u.arcsec, backbone="small_cnn")
    target.start_from(source, {"g": "i"}, lambda line: None)
    first = next(k for k, v in source.members_[0].items() if k.startswith("backbone.") and v.ndim == 4)
    assert torch.equal(target.new_network().state_dict()[first][:, 0], source.members_[0][first][:, 0])
    with pytest.raises(AstroCNNError, match=r"band_map names bands \['q'\]"):
        target.start_from(source, {"g": "q"}, lambda line: None)
    with pytest.raises(AstroCNNError, match=r"band_map maps bands \['G'\] that the new images do not have"):
        target.start_from(source, {"G": "i"}, lambda line: None)  # was ignored: g started from g, not i
    other = NetworkPredictor("metallicity", "x", "irg", 32, 0.3 * u.arcsec, backbone="resnet18")
    with pytest.raises(AstroCNNError, match="needs the same backbone"):
        other.start_from(source, None, lambda line: None)


def test_train_fine_tunes_from_a_saved_model(tmp_path):
    source = _trained("irg")
    path = source.save(tmp_path / "src.acnn")
    images, labels = _data(n=24, bands=5)
    names = []
    for i, image in enumerate(images):
        fits.writeto(tmp_path / f"s{i}.fits", image + 0.01)
        names.append(f"s{i}.fits")
    table = Table({"image": names, "oh_p50": labels})
    model = astro_cnn.train(table, "metallicity", image_column="image", image_dir=tmp_path, survey="x",
                            bands="ugriz", pixel_scale=0.2 * u.arcsec, init_model=path, recipe="quick", epochs=1,
                            device="cpu", progress=False, log=lambda line: None)
    assert model.info["weights_origin"] == f"model {source.name}" and model.architecture["backbone"] == "small_cnn"
    assert np.isfinite(model.predict_images(images[:2].astype(np.float32) + 0.01).value).all()


def test_start_from_takes_a_saved_model_file_and_refuses_a_band_map_that_is_not_a_mapping(tmp_path):
    """A path failed with "'str' object has no attribute 'name'", and band_map="irg" in "has no attribute 'get'"."""
    source = _trained("irg")
    path = source.save(tmp_path / "src.acnn")
    target = NetworkPredictor("metallicity", "other", "irg", 32, 0.3 * u.arcsec, backbone="small_cnn")
    target.start_from(str(path), log=lambda line: None)
    first = next(k for k, v in source.members_[0].items() if k.startswith("backbone.") and v.ndim == 4)
    assert torch.equal(target.initial_state_[first], source.members_[0][first])
    with pytest.raises(AstroCNNError, match="band_map must be a mapping of new band to the model's band"):
        target.start_from(source, "irg", lambda line: None)


def test_a_band_map_without_a_model_to_start_from_is_refused():
    """It was ignored: the network started from random weights as if no band_map had been given."""
    images, labels = _data(n=4, bands=3)
    with pytest.raises(AstroCNNError, match="band_map is given without init_model:"):
        astro_cnn.train(Table({"image": ["a.fits"] * 4, "oh_p50": labels}), "metallicity", image_column="image",
                        band_map={"g": "i"}, progress=False, log=lambda line: None)


def test_backbone_options_size_the_network_survive_saving_and_carry_into_fine_tuning(tmp_path):
    images, labels = _data(n=24, bands=3)
    narrow = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 32, 0.296 * u.arcsec, backbone="small_cnn",
                              backbone_options={"width": 8})
    narrow.fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    first = next(v for k, v in narrow.members_[0].items() if k.startswith("backbone.") and v.ndim == 4)
    assert first.shape[0] == 8  # small_cnn's own default is 32 channels
    loaded = astro_cnn.load_predictor(narrow.save(tmp_path / "narrow.acnn"))
    assert loaded.architecture["backbone_options"] == {"width": 8}
    np.testing.assert_allclose(loaded.predict_images(images[:3]).value, narrow.predict_images(images[:3]).value,
                               rtol=1e-6)
    table = Table({"image": [f"n{i}.fits" for i in range(len(images))], "oh_p50": labels})
    for name, image in zip(table["image"], images):
        fits.writeto(tmp_path / name, image)
    tuned = astro_cnn.train(table, "metallicity", image_column="image", image_dir=tmp_path, survey="x",
                            bands="irg", pixel_scale=0.3 * u.arcsec, init_model=tmp_path / "narrow.acnn",
                            recipe="quick", epochs=1, device="cpu", progress=False, log=lambda line: None)
    assert tuned.architecture["backbone_options"] == {"width": 8}
    wide = NetworkPredictor("metallicity", "x", "irg", 32, 0.3 * u.arcsec, backbone="small_cnn")
    with pytest.raises(AstroCNNError, match=r"backbone options \{'width': 8\}.*not \{\}"):
        wide.start_from(narrow, None, lambda line: None)
