"""The learning engine: registered networks, augmentation, training, resume, ensembles, cross-validation."""

import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.table import Table

import astro_cnn
from astro_cnn import AstroCNNError, ColumnError, IncompatibleImagesError, registry
from astro_cnn.engine import NetworkPredictor, cross_validate
from astro_cnn.engine.augment import ALL_TRANSFORMS, dihedral
from astro_cnn.engine.trainer import fit_network

torch.set_num_threads(1)


def _data(n=48, size=32, bands=3, seed=0):
    """Images whose brightness encodes the label, so a tiny network can learn it."""
    rng = np.random.default_rng(seed)
    labels = rng.uniform(8.2, 9.2, n)
    yy, xx = np.mgrid[:size, :size] - size / 2
    blob = np.exp(-(xx**2 + yy**2) / 30.0)
    images = (labels[:, None, None, None] - 8.0) * blob[None, None] * np.linspace(0.5, 1, bands)[None, :, None, None]
    return (images + rng.normal(0, 0.02, images.shape)).astype(np.float32), labels


def _predictor(**kw):
    return NetworkPredictor("metallicity", "sdss-jpeg", ("i", "r", "g"), 32, 0.296 * u.arcsec,
                            backbone=kw.pop("backbone", "small_cnn"), **kw)


def test_networks_are_registered_and_build(clean_registry):
    assert {"resnet18", "resnet34", "pasquet2019", "small_cnn"} <= set(registry.names("backbone"))
    assert {"regression", "pdf", "pasquet2019"} <= set(registry.names("head"))
    assert {"wu2019", "pasquet2019", "quick"} <= set(registry.names("recipe"))
    wu = registry.get("recipe", "wu2019").settings
    assert wu["head_epochs"] == 2 and tuple(wu["cycles"]) == (1, 1, 2, 4) and wu["batch_size"] == 256
    photo_z = registry.get("quantity", "photo_z")
    pasquet = NetworkPredictor(photo_z, "sdss-stack", "ugriz", 64, 0.396 * u.arcsec, extras=("ebv",)).new_network()
    first = pasquet.backbone[0]
    assert first.kernel_size == (5, 5) and isinstance(pasquet.backbone[1], torch.nn.PReLU)
    logits = pasquet.eval()(torch.zeros(2, 5, 64, 64), torch.zeros(2, 1))
    assert logits.shape == (2, 180)
    # the published backbone flattens its 8x8x348 map (tests/test_nets_pasquet.py checks the whole network)
    assert pasquet.head.layers[0].in_features == 348 * 8 * 8 + 1 and pasquet.head.layers[2].out_features == 1096
    resnet = _predictor(backbone="resnet34").new_network().eval()
    assert resnet(torch.zeros(2, 3, 32, 32)).shape == (2,)


def test_imagenet_weights_from_a_local_file_adapt_to_five_bands(tmp_path):
    from torchvision.models import resnet18

    reference = resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    backbone = registry.get("backbone", "resnet18").build(5, 64, weights=tmp_path / "resnet18.pth")
    expected = reference.conv1.weight.mean(dim=1, keepdim=True).repeat(1, 5, 1, 1) * 3 / 5
    torch.testing.assert_close(backbone[0].weight, expected)
    torch.testing.assert_close(backbone[4][0].conv1.weight, reference.layer1[0].conv1.weight)


def test_dihedral_group():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    outputs = {tuple(dihedral(x, k).flatten().tolist()) for k in ALL_TRANSFORMS}
    assert len(outputs) == 8
    for k in ALL_TRANSFORMS:  # every transform has an inverse in the group
        assert any(torch.equal(dihedral(dihedral(x, k), j), x) for j in ALL_TRANSFORMS)


@pytest.mark.parametrize("channels_last", [False, True])
def test_dihedral_keeps_channels_last(channels_last):
    """A network set up for channels-last input gets it under every transform; the identity copies nothing."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.arange(2 * 3 * 4 * 4.0).reshape(2, 3, 4, 4).contiguous(memory_format=layout)
    assert dihedral(x, 0) is x
    for k in ALL_TRANSFORMS[1:]:
        out = dihedral(x, k)
        torch.testing.assert_close(out, dihedral(x.contiguous(), k), rtol=0, atol=0)
        assert out.is_contiguous(memory_format=torch.channels_last) or not channels_last


def test_train_predict_save_load(tmp_path):
    images, labels = _data()
    predictor = _predictor().fit(images[:40], labels[:40], recipe="quick", epochs=6, progress=False,
                                 log=lambda line: None)
    assert predictor.info["weights_origin"] == "random" and predictor.info["recipe"] == "quick"
    assert predictor.tta is False  # the quick recipe predicts without test-time augmentation
    predictor.tta = True
    prediction = predictor.predict_images(images[40:])
    # 18 optimiser steps leave BatchNorm's running statistics unsettled, so the scale can be off by a
    # platform-dependent offset; what six epochs must learn is the brightness-label relation itself
    assert np.corrcoef(prediction.value, labels[40:])[0, 1] > 0.9
    # test-time augmentation over the 8 transforms: a rotated galaxy gets the same answer
    rotated = dihedral(torch.as_tensor(images[40:]), 1).numpy()
    np.testing.assert_allclose(predictor.predict_images(rotated).value, prediction.value, atol=1e-4)
    path = predictor.save(tmp_path / "m.acnn")
    loaded = astro_cnn.load_predictor(path)
    np.testing.assert_allclose(loaded.predict_images(images[40:]).value, prediction.value, atol=1e-6)
    assert loaded.normalisation_ == predictor.normalisation_
    with pytest.raises(IncompatibleImagesError, match=r"\(3, 32, 32\)"):
        loaded.predict(np.zeros((1, 3, 64, 64), np.float32))
    predictor.half_precision_storage = True
    small = predictor.save(tmp_path / "half.acnn")
    assert small.stat().st_size < 0.6 * path.stat().st_size
    assert astro_cnn.load_predictor(small).half_precision_storage and not loaded.half_precision_storage
    np.testing.assert_allclose(astro_cnn.load_predictor(small).predict_images(images[40:]).value,
                               prediction.value, atol=0.02)
    # the channels-last layout a model was saved with comes back with it (and gives the same numbers)
    assert loaded.channels_last == "auto"
    predictor.half_precision_storage, predictor.channels_last = False, True
    laid_out = astro_cnn.load_predictor(predictor.save(tmp_path / "channels_last.acnn"))
    assert laid_out.channels_last is True
    np.testing.assert_allclose(laid_out.predict_images(images[40:]).value, prediction.value, atol=1e-5)


def test_interrupted_training_resumes_to_identical_weights(tmp_path):
    images, labels = _data(n=24)
    settings = registry.get("recipe", "quick").settings

    def run(run_dir, stop_after=None, resume=False):
        predictor = _predictor()
        predictor.learn_normalisation(images, labels, None)
        data = predictor.training_data(images, labels)
        torch.manual_seed(3)
        network = predictor.new_network()

        def log(line):
            if stop_after is not None and line.startswith(f"epoch={stop_after + 1} "):
                raise KeyboardInterrupt

        fit_network(network, data, settings, "regression", seed=3, run_dir=run_dir, resume=resume,
                    progress=False, log=log)
        return network.state_dict()

    reference = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop_after=1)
    resumed = run(tmp_path / "b", resume=True)
    for name, tensor in reference.items():
        assert torch.equal(tensor, resumed[name]), name
    history = Table.read(tmp_path / "b" / "history.ecsv")
    assert list(history["epoch"]) == [1, 2, 3] and (tmp_path / "b" / "loss_curve.png").exists()


def test_training_ends_with_the_batch_norm_statistics_of_the_training_images():
    """The running statistics a network predicts with are the training images' own (precise batch norm), not a
    moving average of the last few batches."""
    images, labels = _data(n=48)
    predictor = _predictor()
    predictor.learn_normalisation(images, labels, None)
    data = predictor.training_data(images, labels)  # no validation split: all 48 rows fit, three batches of 16
    torch.manual_seed(0)
    network = predictor.new_network()
    lines = []
    fit_network(network, data, registry.get("recipe", "quick").settings, "regression", seed=0, progress=False,
                log=lines.append)
    first = next(m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = []
    hook = first.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    with torch.no_grad():
        network(predictor.prepare(images))
    hook.remove()
    torch.testing.assert_close(first.running_mean, seen[0].mean(dim=(0, 2, 3)), rtol=1e-5, atol=1e-6)
    assert lines[-1] == "batch-norm statistics recomputed over 48 training images with the final weights"


def test_photo_z_pdf_with_extra_input():
    rng = np.random.default_rng(2)
    images, _ = _data(n=32, bands=5)
    z = rng.uniform(0.02, 0.3, 32)
    predictor = NetworkPredictor("photo_z", "sdss-stack", "ugriz", 32, 0.396 * u.arcsec, extras=("ebv",),
                                 backbone="small_cnn", head_options={"hidden": (64, 64)}, tta=(0, 1))
    predictor.fit(images, z, {"ebv": rng.uniform(0, 0.1, 32)}, recipe="quick", epochs=1, progress=False,
                  log=lambda line: None)
    prediction = predictor.predict_images(images[:4], {"ebv": np.full(4, 0.02)})
    assert prediction.pdf.shape == (4, 180)
    np.testing.assert_allclose(prediction.pdf.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all((prediction.value > 0) & (prediction.value < 0.4))


def test_ensemble_and_cross_validation():
    images, labels = _data(n=30)
    prediction, models = cross_validate(_predictor, images, labels, folds=3, recipe="quick", epochs=1,
                                        progress=False, log=lambda line: None)
    assert len(models) == 3 and np.all(np.isfinite(prediction.value))
    ensemble = _predictor().fit(images, labels, recipe="quick", epochs=1, ensemble=2, progress=False,
                                log=lambda line: None)
    assert len(ensemble.members_) == 2 and ensemble.metadata()["ensemble_size"] == 2


def test_cross_validation_names_the_rows_each_fold_leaves_out_and_trains_a_last_batch_of_one():
    """Each fold's log named positions in its own training subset (rows 19; 3, 11; 0, 11, 18 for these), and
    the fold left with 17 rows in batches of 16 failed in torch's batch norm on a last batch of one image."""
    images, labels = _data(n=30)
    images[[3, 17, 28]] = 0.0  # blank: left out of training
    lines = []
    prediction, _ = cross_validate(_predictor, images, labels, folds=3, recipe="quick", epochs=1, progress=False,
                                   log=lines.append)
    left_out = [line.split("(rows ")[1] for line in lines if "left out" in line]
    assert sorted(left_out) == ["28)", "3, 17)", "3, 17, 28)"] and np.all(np.isfinite(prediction.value))


def test_a_last_batch_of_one_row_joins_the_batch_before_it():
    from astro_cnn.engine.trainer import batch_slices

    assert batch_slices(17, 16) == [slice(0, 17)] and batch_slices(33, 16) == [slice(0, 16), slice(16, 33)]
    assert batch_slices(18, 16) == [slice(0, 16), slice(16, 18)] and batch_slices(1, 16) == [slice(0, 1)]
    # several processes: the same batches (so that they train as one would), less a last one smaller than them
    assert batch_slices(35, 16, world=2) == batch_slices(35, 16) and batch_slices(33, 16, 2)[-1] == slice(16, 33)
    assert batch_slices(34, 16, world=3) == [slice(0, 16), slice(16, 32)] and batch_slices(1, 16, world=2) == []
    images, labels = _data(n=17)
    assert _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None).members_


def test_training_on_fewer_than_two_usable_images_is_refused_saying_why():
    """One image failed in torch's batch norm ("Expected more than 1 value per channel when training")."""
    images, labels = _data(n=3)
    with pytest.raises(AstroCNNError, match="1 training image is too few: training needs at least 2"):
        _predictor().fit(images[:1], labels[:1], recipe="quick", epochs=1, progress=False, log=lambda line: None)
    images[1:] = 0.0
    with pytest.raises(AstroCNNError, match=r"only 1 of the 3 training images can be used \(2 with a blank image\)"):
        _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)


def test_extra_inputs_are_checked_against_the_images_in_training_and_prediction():
    """300 values of E(B-V) for 256 images were taken a batch at a time, misaligned without a word; a NaN to
    train on came back as 'training diverged: lower the learning rate'."""
    images, _ = _data(n=24, bands=5)
    z, ebv = np.linspace(0.05, 0.3, 24), np.linspace(0.0, 0.1, 24)
    predictor = NetworkPredictor("photo_z", "sdss-stack", "ugriz", 32, 0.396 * u.arcsec, extras=("ebv",),
                                 backbone="small_cnn", head_options={"hidden": (16,)})
    bad = ebv.copy()
    bad[3] = np.nan
    with pytest.raises(AstroCNNError, match=r"extra input 'ebv' is missing or not finite in 1 of 24 rows \(rows 3\)"):
        predictor.fit(images, z, {"ebv": bad}, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    predictor.fit(images, z, {"ebv": ebv}, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    with pytest.raises(AstroCNNError, match=r"'ebv' needs one value per image: 20 images but values of shape \(24,\)"):
        predictor.predict(images[:20], {"ebv": ebv})
    with pytest.raises(AstroCNNError, match=r"needs the extra inputs \['ebv'\]"):
        predictor.predict_images(images[:4])


@pytest.mark.parametrize("override, says", [
    ({"learning_rate": 1e-9}, r"recipe 'quick': unknown settings \['learning_rate'\], which training would ignore"),
    ({"batchsize": 4}, r"unknown settings \['batchsize'\]"),
    ({"augment": "no"}, "augment must be True or False, not 'no'"),
    ({"val_fraction": 1.0}, r"val_fraction must be a number from 0 up to \(not including\) 1, not 1.0"),
    ({"val_fraction": -0.5}, "val_fraction must be a number from 0"),
    ({"weight_decay": -1}, "weight_decay must be a number of at least 0, not -1"),
    ({"optimizer": "SGD"}, "optimizer must be one of 'adamw', 'adam', 'sgd', not 'SGD'"),
    ({"lr_ratios": [0.1, -1]}, r"lr_ratios\[1\] must be a number above 0, not -1"),
    ({"cycles": 4}, r"cycles must be a list of cycle lengths in epochs, e.g. \[1, 1, 2, 4\], not 4"),
    ({"bf16": "yes"}, "speed setting bf16 must be True, False or 'auto', not 'yes'"),
])
def test_recipe_settings_the_trainer_cannot_use_are_refused_before_training(override, says):
    """A misspelt override (learning_rate, batchsize) was ignored without a word, augment="no" counted as on,
    val_fraction=1 failed in a division by zero and -0.5 validated on half the images."""
    images, labels = _data(n=24)
    with pytest.raises(AstroCNNError, match=says):
        _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None, **override)


def test_a_schedule_without_its_length_is_refused_unless_epochs_are_given():
    images, labels = _data(n=24)
    with pytest.raises(AstroCNNError, match="recipe 'quick': schedule 'step' needs the setting 'epochs'"):
        _predictor().fit(images, labels, recipe="quick", progress=False, log=lambda line: None, schedule="step")
    assert _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None,
                            schedule="step").info["epochs"] == 2  # one head-only epoch, then the one asked for


def test_a_model_that_measures_no_uncertainty_gives_nan_errors_not_zero():
    """One network trained by the quick recipe (no test-time augmentation, no validation to calibrate on) gave
    errors of exactly 0 dex; with test-time augmentation or calibration it measures them."""
    images, labels = _data(n=24)
    predictor = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    assert predictor.tta is False and not predictor.calibration_
    with pytest.warns(UserWarning, match="measures no uncertainty .*: its errors are NaN"):
        prediction = predictor.predict_images(images[:3])
    assert np.all(np.isfinite(prediction.value)) and np.all(np.isnan(prediction.error))
    predictor.tta = True
    assert np.all(predictor.predict_images(images[:3]).error > 0)


def test_cross_validation_takes_lists_and_refuses_folds_it_cannot_make():
    """folds=0 returned all-NaN predictions and no models, folds=1 failed in a numpy reshape, lists of images
    or labels in an indexing TypeError, and labels shorter than the images in a boolean-index IndexError."""
    images, labels = _data(n=12)
    options = {"recipe": "quick", "epochs": 1, "progress": False, "log": lambda line: None}
    for folds, says in ((0, "folds must be an integer of at least 2, not 0"), (1, "at least 2, not 1"),
                        (2.0, "at least 2, not 2.0"), (13, "13 folds need at least 13 objects, not 12")):
        with pytest.raises(AstroCNNError, match=says):
            cross_validate(_predictor, images, labels, folds=folds, **options)
    with pytest.raises(AstroCNNError, match="12 images but 10 labels"):
        cross_validate(_predictor, images, labels[:10], folds=2, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quick recipe measures no uncertainty
        prediction, _ = cross_validate(_predictor, list(images), list(labels), folds=2, **options)
    assert np.isfinite(prediction.value).all()


def test_a_list_of_images_predicts_as_an_array_does_and_extras_must_be_a_list_of_names():
    images, labels = _data(n=20)
    predictor = _predictor(tta=True).fit(images, labels, recipe="quick", epochs=1, progress=False,
                                         log=lambda line: None)
    predictor.tta = True
    np.testing.assert_allclose(predictor.predict_images(list(images[:3])).value,
                               predictor.predict_images(images[:3]).value)
    with pytest.raises(ColumnError, match=r"extras must be a list of column names, not the string 'ebv'"):
        NetworkPredictor("photo_z", "sdss-stack", "ugriz", 32, 0.396 * u.arcsec, extras="ebv")


def test_lr_find_takes_a_batch_size_as_training_does():
    """It failed with "_opened_store.__init__() got an unexpected keyword argument 'batch_size'"."""
    from astro_cnn import read_table
    from astro_cnn.engine.train import lr_find

    from .conftest import DATA

    galaxies = read_table(DATA / "gri_small" / "galaxies.ecsv")
    options = {"image_column": "image", "image_dir": DATA / "gri_small", "backbone": "small_cnn", "recipe": "quick"}
    with pytest.raises(AstroCNNError, match="batch_size must be an integer of at least 2, not 1"):
        lr_find(galaxies, "metallicity", batch_size=1, **options)
    assert len(lr_find(galaxies, "metallicity", batch_size=4, **options)) > 0


def test_an_untrained_model_is_not_saved_and_a_store_needs_a_count_of_workers(tmp_path):
    """An untrained model was saved, loaded, and failed only when it predicted; workers=-1 was accepted."""
    from astro_cnn.engine.train import build_store

    with pytest.raises(AstroCNNError, match="has not been trained: there is nothing to save"):
        _predictor().save(tmp_path / "m.acnn")
    assert not (tmp_path / "m.acnn").exists()
    table = Table({"image": ["a.png"], "oh_p50": [8.5]})
    with pytest.raises(AstroCNNError, match="workers must be an integer of at least 0, not -1"):
        build_store(tmp_path / "store", table, "metallicity", image_column="image", image_dir=tmp_path, workers=-1,
                    log=lambda line: None)


def test_labels_outside_the_valid_range_are_refused(tmp_path):
    table = Table({"image": ["a.jpg", "b.jpg"], "oh_p50": [8.5, 12.0]})
    with pytest.raises(ColumnError, match=r"outside the valid range 7.0..10.0 of 'metallicity' in rows \[1\]"):
        astro_cnn.train(table, "metallicity", image_column="image", image_dir=tmp_path)


def test_channels_last_and_bf16_options_train_and_predict():
    images, labels = _data(n=24)
    predictor = _predictor()
    predictor.fit(images, labels, recipe="quick", epochs=1, channels_last=True, bf16=True, progress=False,
                  log=lambda line: None)
    assert predictor.info["recipe_settings"]["bf16"] is True
    reference = predictor.predict_images(images).value
    predictor.channels_last, predictor.bf16 = True, True
    np.testing.assert_allclose(predictor.predict_images(images).value, reference, atol=0.05)


def _store(tmp_path, n=24):
    """A store of real 128-pixel SDSS cutouts, resized to 32 pixels, with labels."""
    from PIL import Image

    from astro_cnn.engine.train import build_store

    from .conftest import DATA

    names = []
    for i, path in enumerate(sorted((DATA / "gri_small").glob("*.jpg"))[:n]):
        Image.open(path).resize((32, 32)).save(tmp_path / f"g{i}.png")
        names.append(f"g{i}.png")
    labels = np.linspace(8.3, 9.1, len(names))
    table = Table({"image": names, "oh_p50": labels})
    return build_store(tmp_path / "store", table, "metallicity", image_column="image", image_dir=tmp_path,
                       log=lambda line: None), table


def test_streamed_and_in_memory_training_agree_exactly(tmp_path):
    store, table = _store(tmp_path)
    in_memory = store.images[np.arange(len(store))].astype(np.float32) / np.float32(255)
    fitted = []
    for images in (store.images, in_memory):
        predictor = _predictor()
        predictor.fit(images, np.asarray(table["oh_p50"])[:len(store)], recipe="quick", epochs=2, seed=5,
                      progress=False, log=lambda line: None)
        fitted.append(predictor)
    assert fitted[0].normalisation_ == fitted[1].normalisation_
    for name, tensor in fitted[0].members_[0].items():
        assert torch.equal(tensor, fitted[1].members_[0][name]), name


def test_streamed_training_resumes_bit_identically(tmp_path):
    store, _ = _store(tmp_path)
    labels = np.asarray(store.table["oh_p50"])

    def run(run_dir, stop_after=None):
        def log(line):
            if stop_after is not None and line.startswith(f"epoch={stop_after + 1} "):
                raise KeyboardInterrupt

        return _predictor().fit(store.images, labels, recipe="quick", epochs=3, seed=2, run_dir=run_dir,
                                resume=stop_after is None, progress=False, log=log)

    reference = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop_after=2)
    resumed = run(tmp_path / "b")
    for name, tensor in reference.members_[0].items():
        assert torch.equal(tensor, resumed.members_[0][name]), name


def test_a_crafted_checkpoint_cannot_run_code(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "run").mkdir()
    with open(tmp_path / "run" / "checkpoint.pt", "wb") as handle:
        pickle.dump({"model": Exploit()}, handle)
    images, labels = _data(n=16)
    with pytest.raises(pickle.UnpicklingError):
        _predictor().fit(images, labels, recipe="quick", epochs=1, run_dir=tmp_path / "run", resume=True,
                         progress=False, log=lambda line: None)
    assert not marker.exists()


def test_train_from_a_table_of_files_builds_and_keeps_a_store(tmp_path):
    (tmp_path / "files").mkdir()
    _, table = _store(tmp_path / "files")
    model = astro_cnn.train(table, "metallicity", image_column="image", image_dir=tmp_path / "files",
                            backbone="small_cnn", recipe="quick", epochs=1, run_dir=tmp_path / "run", device="cpu",
                            progress=False, log=lambda line: None)
    assert model.info["training_device"] == "cpu" and model.info["training_data"]["rows"] == len(table)
    assert (tmp_path / "run" / "store" / "store.json").is_file()
    again = astro_cnn.train(tmp_path / "run" / "store", "metallicity", backbone="small_cnn", recipe="quick",
                            epochs=1, device="cpu", progress=False, log=lambda line: None)
    for name, tensor in model.members_[0].items():
        assert torch.equal(tensor, again.members_[0][name]), name


def test_models_are_handed_out_as_copies(tmp_path):
    images, labels = _data(n=16)
    path = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False,
                            log=lambda line: None).save(tmp_path / "m.acnn")
    first = astro_cnn.resolve_predictor(str(path))
    first.tta = (0,)
    assert first.tta == (0,) and astro_cnn.resolve_predictor(str(path)).tta is False


def test_the_default_recipe_fits_the_size_of_the_training_set():
    from astro_cnn.engine.predictor import default_recipe

    lines = []
    assert default_recipe("wu2019", 100_000, {}, lines.append) == "wu2019"
    assert default_recipe("wu2019", 400, {}, lines.append) == "wu2019-small-data"
    assert lines == ["400 training images give only 2 steps per epoch with recipe 'wu2019' (batch 256): using "
                     "'wu2019-small-data'"]
    assert default_recipe("wu2019", 400, {"batch_size": 16}, lines.append) == "wu2019"
    with pytest.raises(astro_cnn.AstroCNNError, match=r"600 training images give only 10 steps per epoch with "
                                                      r"recipe 'pasquet2019' \(batch 64\).*batch_size=30"):
        default_recipe("pasquet2019", 600, {}, lines.append)


def test_metallicity_with_no_recipe_on_few_images_trains_with_the_small_data_recipe():
    images, labels = _data(n=40)
    predictor = _predictor().fit(images, labels, epochs=1, progress=False, log=lambda line: None)
    assert predictor.info["recipe"] == "wu2019-small-data"


def test_a_diverging_run_is_an_error_and_a_rising_validation_loss_a_warning():
    images, labels = _data(n=40)
    with pytest.raises(astro_cnn.AstroCNNError, match="training diverged in epoch 1 .* lower the learning rate"):
        _predictor().fit(images, labels, recipe="quick", epochs=1, lr=1e30, progress=False, log=lambda line: None)
    from astro_cnn.engine.predictor import _warn_if_diverging

    lines = []
    with pytest.warns(RuntimeWarning, match="validation loss ended at 2, above 1.5 x its best 1"):
        _warn_if_diverging([[{"val_loss": 1.0}, {"val_loss": 2.0}]], lines.append)
    assert lines[0].startswith("warning: validation loss ended at 2")
    # a likelihood loss can be negative: its rise is measured against its fall from the first epoch
    with pytest.warns(RuntimeWarning, match=r"ended at 0.2, above 0 \(its best -1 plus half its fall from 1"):
        _warn_if_diverging([[{"val_loss": 1.0}, {"val_loss": -1.0}, {"val_loss": 0.2}]], lines.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_diverging([[{"val_loss": 1.0}, {"val_loss": -1.0}, {"val_loss": -0.8}]], lines.append)
        _warn_if_diverging([[{"val_loss": -0.5}, {"val_loss": -0.49}]], lines.append)  # best first: scale |best|


@pytest.mark.parametrize("options, message", [
    ({"batch_size": 0}, "batch_size must be an integer of at least 2, not 0"),
    ({"batch_size": 1}, "batch_size must be an integer of at least 2, not 1"),  # batch norm failed on each step
    ({"ensemble": 0}, "ensemble must be an integer of at least 1, not 0"),
    ({"epochs": 0}, "epochs must be an integer of at least 1, not 0"),
    ({"epochs": -1}, "epochs must be an integer of at least 1"),
    ({"lr": -1.0}, "lr must be a number above 0, not -1.0"),
    ({"lr": float("nan")}, "lr must be a number above 0"),
    ({"workers": -2}, "workers must be an integer of at least 0"),
])
def test_arguments_that_cannot_train_are_refused(options, message):
    images, labels = _data(n=16)
    with pytest.raises(astro_cnn.AstroCNNError, match=message):
        _predictor().fit(images, labels, recipe="quick", progress=False, log=lambda line: None, **options)


def test_a_missing_weights_file_is_refused_before_training(tmp_path):
    images, labels = _data(n=16)
    with pytest.raises(astro_cnn.AstroCNNError, match="pretrained weights file .*nope.pth' does not exist"):
        _predictor(weights=tmp_path / "nope.pth").fit(images, labels, recipe="quick", progress=False,
                                                      log=lambda line: None)


def test_overrides_given_as_none_keep_the_recipe():
    images, labels = _data(n=16)
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, batch_size=None, lr=None, progress=False,
                             log=lambda line: None)
    assert model.info["recipe_settings"]["batch_size"] == 16


def test_one_loader_serves_every_epoch_of_a_run(monkeypatch):
    """Worker processes start once per run, not once per epoch (each start costs about a second on a GPU machine)."""
    from astro_cnn.engine import trainer

    made = []
    real = trainer.batch_loader
    monkeypatch.setattr(trainer, "batch_loader", lambda *a, **k: made.append(1) or real(*a, **k))
    images, labels = _data(n=24)
    predictor = _predictor()
    predictor.device = "cpu"
    predictor.fit(images, labels, recipe="quick", epochs=3, progress=False, log=lambda line: None)
    assert len(made) == 2  # one for every epoch, one for the batch-norm statistics at the end


@pytest.mark.parametrize(("n", "batch_size", "world"), [(23, 4, 1), (23, 4, 3), (25, 4, 2), (8, 4, 2), (0, 4, 1),
                                                       (17, 16, 1), (33, 16, 2), (34, 16, 3)])
def test_run_shares_are_each_process_share_of_every_epoch(n, batch_size, world):
    from astro_cnn.engine.trainer import RunShares, epoch_batches

    rows = np.arange(100, 100 + n)
    for rank in range(world):
        shares = RunShares(rows, batch_size, 7, range(1, 4), rank, world)
        expected = [b[rank::world] for epoch in range(1, 4)
                    for b in epoch_batches(rows, batch_size, 7, epoch, world)[0]]
        assert len(shares) == len(expected)
        for j, rows_j in enumerate(expected):
            np.testing.assert_array_equal(shares[j], rows_j)


@pytest.mark.parametrize("given, wanted, expected", [
    ("dex", u.dex(u.Msun), [9.5, 10.0]),  # lgm_tot_p50 is often written in plain dex
    ("dex(solMass)", u.dex(u.Msun), [9.5, 10.0]),
    ("solMass", u.dex(u.Msun), [np.log10(9.5), 1.0]),  # a linear mass becomes log M*
    ("mag(AB)", u.mag, [9.5, 10.0]),
    ("deg", u.arcsec, [9.5 * 3600, 36000.0]),
    ("log(Msun)", u.dex(u.Msun), [9.5, 10.0]),  # a unit astropy does not know: taken as it is, as before
])
def test_label_units_convert_or_are_taken_as_the_outputs(given, wanted, expected):
    from astro_cnn.engine.train import _finite_column

    table = Table({"x": [9.5, 10.0]})
    table["x"].unit = u.Unit(given, parse_strict="silent")
    np.testing.assert_allclose(_finite_column(table, "x", "label", wanted), expected)


@pytest.mark.parametrize("given, wanted", [("pix", u.arcsec), ("dex", u.dimensionless_unscaled)])
def test_label_units_that_do_not_convert_are_refused(given, wanted):
    from astro_cnn.engine.train import _finite_column

    table = Table({"x": [9.5, 10.0]})
    table["x"].unit = given
    with pytest.raises(ColumnError, match=f"label column 'x' is in {given}, which does not convert to "):
        _finite_column(table, "x", "label", wanted)


def test_images_prediction_would_flag_are_left_out_of_training_and_counted(monkeypatch):
    """Sky with no galaxy at its centre is what prediction flags; a model must not learn a value for it."""
    from astro_cnn.engine import predictor as predictor_module

    images, labels = _data(n=48)
    empty = np.arange(48) % 8 == 3
    images[empty] = np.random.default_rng(1).normal(0, 0.02, images[empty].shape)
    labels[empty] = 9.9  # would widen the label range if they were learned from
    seen, real = [], predictor_module.fit_network
    monkeypatch.setattr(predictor_module, "fit_network",
                        lambda network, data, *a, **k: seen.append(data) or real(network, data, *a, **k))
    lines = []
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, val_fraction=0.25, progress=False,
                             log=lines.append)
    trained = np.concatenate([seen[0].fit_rows, seen[0].val_rows])
    assert sorted(trained) == list(np.flatnonzero(~empty)) and len(seen[0].val_rows) == 10
    assert model.info["training_data"]["left_out"] == {"no source at the centre (S/N below 5)": 6}
    assert model.info["training_data"]["rows_trained"] == 42 and model.info["training_data"]["rows"] == 48
    assert model.info["label_range"][1] < 9.2 and model.info["centre_snr_range"][0] >= 5
    assert "left out 6 of 48 training images, as prediction would flag them: 6 with no source at the centre " \
           "(S/N below 5) (rows 3, 11, 19, 27, 35, 43)" in lines
    everything = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None,
                                  min_centre_snr=None)
    assert everything.info["training_data"]["left_out"] == {} and everything.info["centre_snr_range"][0] < 5
    with pytest.raises(astro_cnn.AstroCNNError, match=r"none of the 6 training images can be used \(6 with no "
                                                      r"source.*min_centre_snr=None skips"):
        _predictor().fit(images[empty], labels[empty], recipe="quick", epochs=1, progress=False)


def test_a_run_resumes_exactly_with_images_left_out_and_refuses_other_rows(tmp_path):
    images, labels = _data(n=48)
    images[::8] = np.random.default_rng(1).normal(0, 0.02, images[::8].shape)  # 6 without a galaxy
    options = dict(recipe="quick", epochs=3, val_fraction=0.25, progress=False, seed=2)
    whole = _predictor().fit(images, labels, run_dir=tmp_path / "whole", log=lambda line: None, **options)

    def stop_after_first_epoch(line):
        if line.startswith("epoch=2 "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _predictor().fit(images, labels, run_dir=tmp_path / "cut", log=stop_after_first_epoch, **options)
    with pytest.raises(astro_cnn.AstroCNNError, match="other training rows"):
        _predictor().fit(images, labels, run_dir=tmp_path / "cut", resume=True, log=lambda line: None,
                         min_centre_snr=None, **options)  # the 6 would now be trained on: another split
    resumed = _predictor().fit(images, labels, run_dir=tmp_path / "cut", resume=True, log=lambda line: None,
                               **options)
    for name, tensor in whole.members_[0].items():
        assert torch.equal(tensor, resumed.members_[0][name]), name


def test_extra_inputs_of_left_out_images_do_not_shape_the_normalisation():
    images, labels = _data(n=48)
    empty = np.arange(48) % 8 == 3
    images[empty] = np.random.default_rng(1).normal(0, 0.02, images[empty].shape)
    ebv = np.where(empty, 5.0, np.linspace(0.01, 0.1, 48))  # absurd values on the rows left out
    model = NetworkPredictor("metallicity", "sdss-jpeg", ("i", "r", "g"), 32, 0.296 * u.arcsec, extras=("ebv",),
                             backbone="small_cnn")
    model.fit(images, labels, {"ebv": ebv}, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    assert model.normalisation_["extras_mean"] == pytest.approx([ebv[~empty].mean()])
    assert model.normalisation_["label_mean"] == pytest.approx(model.quantity.encode(labels[~empty]).mean())


@pytest.mark.parametrize("tta", [[], "yes", "01", 1, 0, None, 2.5, [8], [-1], [1, 1], [1.0], [True]])
def test_a_tta_that_is_not_a_set_of_transforms_is_refused_when_set(tta):
    """Before, [] failed deep in numpy, 1 and None with "not iterable", and [8], [-1] and "01" ran as if valid."""
    from astro_cnn import AstroCNNError

    with pytest.raises(AstroCNNError, match=r"tta must be True, False or a sequence of distinct dihedral "
                                            r"transform indices 0-7, not "):
        _predictor(tta=tta)
    predictor = _predictor()
    with pytest.raises(AstroCNNError, match="tta must be"):
        predictor.tta = tta
    assert predictor.tta is True


def test_a_tta_is_kept_as_true_false_or_a_tuple_of_transforms():
    assert _predictor(tta=np.True_).tta is True and _predictor(tta=False).tta is False
    assert _predictor(tta=[3, 0]).tta == (3, 0) and _predictor(tta=np.array([5])).tta == (5,)


def test_a_recipe_tta_override_is_checked_before_training_and_kept_as_given():
    """fit(tta=[0, 1, 2, 3]) became all 8 transforms through bool(), and tta="no" became True."""
    from astro_cnn import AstroCNNError

    images, labels = _data(16)
    with pytest.raises(AstroCNNError, match="tta must be"):
        _predictor().fit(images, labels, epochs=1, batch_size=8, progress=False, log=lambda *a: None, tta="no")
    model = _predictor().fit(images, labels, epochs=1, batch_size=8, progress=False, log=lambda *a: None,
                             tta=[0, 1, 2, 3])
    assert model.tta == (0, 1, 2, 3)


def test_the_model_records_whether_it_learned_from_colour_values(tmp_path):
    """Prediction flags fluxes given to a model trained on 8-bit colour images; the model must know it was."""
    images, labels = _data(n=40)
    flux = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    assert flux.info["training_data"]["colour_values"] is False and not flux.trained_on_colour
    colour = np.clip(images * 255, 0, 255).astype(np.uint8)
    model = _predictor().fit(colour, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None,
                             min_centre_snr=None)
    assert model.trained_on_colour
    assert astro_cnn.load_predictor(model.save(tmp_path / "colour.acnn")).trained_on_colour


def test_labels_training_cannot_use_are_refused_before_training():
    """A label outside the quantity's valid range trained the network, then stopped its calibration at the end."""
    images, labels = _data(n=40)
    labels[[5, 9]] = 10.05  # metallicity is valid over 7..10
    model = _predictor()
    with pytest.raises(astro_cnn.AstroCNNError, match=r"labels of 'log_oh' are outside the valid range 7..10 in "
                                                      r"rows \[5, 9\]"):
        model.fit(images, labels, recipe="quick", epochs=1, val_fraction=0.25, progress=False,
                  log=lambda line: pytest.fail(f"trained: {line}"))
    assert model.members_ == []


def test_a_label_column_of_several_values_per_row_is_refused_naming_it():
    from astropy.table import Table

    from astro_cnn.engine.train import train

    table = Table({"image": ["a.fits"] * 3, "oh_p50": np.full((3, 2), 8.9)})
    with pytest.raises(ColumnError, match="label column 'oh_p50' holds 2 values per row, not one"):
        train(table, "metallicity", image_column="image", progress=False, log=lambda line: None)


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True])
def test_a_seed_that_is_not_a_non_negative_integer_is_refused(seed):
    """numpy's "expected non-negative integer" or "SeedSequence expects int" came out of the training loop."""
    images, labels = _data(n=8)
    with pytest.raises(astro_cnn.AstroCNNError, match="seed must be an integer of at least 0"):
        _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None, seed=seed)


def test_train_arguments_that_cannot_be_meant_are_refused(tmp_path):
    """resume=True with nowhere to resume from was accepted, a pixel scale in metres gave astropy's
    UnitConversionError, and lr=True trained at a learning rate of 1."""
    from astro_cnn import read_table

    from .conftest import DATA

    galaxies = read_table(DATA / "gri_small" / "galaxies.ecsv")
    common = {"image_column": "image", "image_dir": DATA / "gri_small", "progress": False, "log": lambda line: None}
    with pytest.raises(astro_cnn.AstroCNNError, match="resume=True continues the run kept in run_dir"):
        astro_cnn.train(galaxies, "metallicity", resume=True, **common)
    with pytest.raises(astro_cnn.AstroCNNError, match="pixel_scale must be an angle"):
        astro_cnn.train(galaxies, "metallicity", bands="irg", pixel_scale=0.3 * u.m, **common)
    images, labels = _data(n=8)
    with pytest.raises(astro_cnn.AstroCNNError, match="lr must be a number above 0, not True"):
        _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None, lr=True)
