"""The aperture-photometry forest as a model: same predictions as the baseline, saved as arrays that run no code,
calibrated uncertainties and PDFs, and the Table contract through astro_cnn.predict."""

import io
import json
import re
import zipfile

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.utils.masked import Masked

import astro_cnn
from astro_cnn.evaluation.baselines import aperture_forest
from astro_cnn.forest_predictor import ForestPredictor
from astro_cnn.image_checks import check_image

RADII = (1.0, 2.0)  # arcsec: fit inside 16-pixel images at 0.396"/px


def _images(n, seed=0):
    """Centred Gaussian sources whose colours follow a label in 0.02..0.38."""
    rng = np.random.default_rng(seed)
    label = rng.uniform(0.02, 0.38, n)
    yy, xx = np.mgrid[:16, :16] - 7.5
    profile = 20 * np.exp(-(xx**2 + yy**2) / 6.0)
    colour = 1 + 4 * label[:, None] * np.arange(1, 6)[None, :]
    images = profile[None, None] * colour[..., None, None] + rng.normal(0, 0.5, (n, 5, 16, 16))
    return images.astype(np.float32), label


def _forest(quantity="photo_z", n=120, **options):
    images, label = _images(n)
    if quantity == "stellar_mass":
        label = 9 + 5 * label
    model = ForestPredictor(quantity, "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, name=f"test-{quantity}",
                            radii_arcsec=RADII)
    return model.fit(images, label, seed=3, n_estimators=20, **options), images, label


def test_predictions_are_the_aperture_forest_baselines():
    model, images, label = _forest()
    test, _ = _images(30, seed=1)
    expected = aperture_forest(images, label, test, 0.396 * u.arcsec, radii_arcsec=RADII, seed=3)
    assert not np.array_equal(expected, np.full(30, expected[0]))
    # the baseline's forest has 300 trees; rebuild ours with the same settings to compare exactly
    model.fit(images, label, seed=3)
    # the same splits exactly; leaf values are kept in float32
    np.testing.assert_allclose(model.predict_images(test).value, expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("quantity", ["photo_z", "stellar_mass"])
def test_save_load_round_trip_keeps_predictions_metadata_and_calibration(tmp_path, quantity):
    model, images, label = _forest(quantity)
    held_out, truth = _images(40, seed=2)
    model.calibrate(held_out, truth if quantity == "photo_z" else 9 + 5 * truth)
    back = astro_cnn.load_predictor(model.save(tmp_path / "forest.acnn"))
    assert isinstance(back, ForestPredictor) and back.name == f"test-{quantity}"
    assert (back.survey, back.bands, back.image_size, back.extras) == ("sdss-stack", tuple("ugriz"), 16, ())
    assert back.pixel_scale == 0.396 * u.arcsec and back.radii_arcsec == RADII
    assert back.info["label_range"] == model.info["label_range"] and back.calibration_ == model.calibration_
    ours, theirs = model.predict_images(held_out), back.predict_images(held_out)
    np.testing.assert_array_equal(ours.value, theirs.value)
    np.testing.assert_array_equal(ours.error, theirs.error)
    if quantity == "photo_z":
        assert theirs.pdf.shape == (40, 180)
        np.testing.assert_allclose(theirs.pdf.sum(axis=1), 1.0)


def test_the_saved_state_is_the_same_bytes_at_any_time(monkeypatch):
    """A resumed prediction recognises the same model by its state's bytes (``model_fingerprint``)."""
    import time

    model, _, _ = _forest("stellar_mass")
    first = model._state_bytes()
    later = time.time() + 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert model._state_bytes() == first


def test_calibration_fits_the_pdf_kernel_and_the_error_model():
    model, _, _ = _forest("photo_z")
    held_out, truth = _images(60, seed=4)
    raw = model.predict_from_trees(model.tree_predictions(held_out), calibrated=False)
    calibration = model.calibrate(held_out, truth)
    assert calibration["kind"] == "kernel" and calibration["rows"] == 60
    calibrated = model.predict_images(held_out)
    np.testing.assert_array_equal(raw.value, calibrated.value)  # the point estimate is the forest's
    assert not np.allclose(raw.pdf, calibrated.pdf)
    mass, _, _ = _forest("stellar_mass")
    calibration = mass.calibrate(held_out, 9 + 5 * truth)
    assert calibration["kind"] == "gaussian" and 0.5 < calibration["coverage_after"] < 0.9
    spread = mass.tree_predictions(held_out).std(axis=0)
    np.testing.assert_allclose(mass.predict_images(held_out).error,
                               np.hypot(calibration["floor"], calibration["scale"] * spread))


def test_images_prediction_would_flag_do_not_calibrate_the_forest():
    """As for a network (``tests/test_engine_calibration.py``): empty sky gets no value from prediction, so it does
    not calibrate the error model either."""
    mass, _, _ = _forest("stellar_mass")
    held_out, truth = _images(60, seed=4)
    sky = held_out.copy()
    sky[[5, 20]] = np.random.default_rng(9).normal(0, 0.5, sky[[5, 20]].shape)  # no source at the centre
    labels = 9 + 5 * truth
    lines = []
    calibration = mass.calibrate(sky, labels, log=lines.append)
    assert calibration["left_out"] == {"no source at the centre (S/N below 5)": 2}
    assert lines and lines[0].startswith("left out 2 of 60 calibration images")
    usable = np.setdiff1d(np.arange(60), [5, 20])
    expected = mass.calibrate(held_out[usable], labels[usable])
    for key in ("floor", "scale", "coverage_after"):
        assert calibration[key] == pytest.approx(expected[key]), key
    with pytest.raises(astro_cnn.AstroCNNError, match=r"labels have shape \(60, 1\)"):
        mass.calibrate(held_out, labels[:, None])
    with pytest.raises(astro_cnn.AstroCNNError, match=r"labels of 'log_mstar' are missing or not finite in rows \[3\]"):
        mass.calibrate(held_out, np.where(np.arange(60) == 3, np.nan, labels))


def test_a_state_that_would_unpickle_code_is_refused_without_running_it(tmp_path):
    model, images, _ = _forest("stellar_mass")
    path = model.save(tmp_path / "forest.acnn")

    class Payload:
        def __reduce__(self):
            return (exec, ("import builtins; builtins.astro_cnn_forest_ran = True",))

    state = io.BytesIO()
    np.savez(state, **{**model.trees_, "roots": np.array([Payload()], dtype=object)})
    crafted = tmp_path / "crafted.acnn"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as target:
        target.writestr("metadata.json", source.read("metadata.json"))
        target.writestr("state.bin", state.getvalue())
    with pytest.raises(astro_cnn.AstroCNNError, match="is damaged"):
        astro_cnn.load_predictor(crafted)
    import builtins

    assert not hasattr(builtins, "astro_cnn_forest_ran")


def test_trees_whose_children_point_backwards_are_refused(tmp_path):
    model, _, _ = _forest("stellar_mass")
    inner = int(np.flatnonzero(model.trees_["left"] >= 0)[-1])
    model.trees_["left"][inner] = model.trees_["roots"][0]  # a loop back to the root
    with pytest.raises(astro_cnn.AstroCNNError, match="inconsistent"):
        astro_cnn.load_predictor(model.save(tmp_path / "loop.acnn"))


@pytest.mark.parametrize("shape, says", [((3, 16, 16), r"got an array of shape \(3, 16, 16\)$"),
                                         ((3, 16, 16, 5), r"bands are on the last axis"),
                                         ((3, 5, 8, 8), r"\(N, 5, 16, 16\).*got an array of shape \(3, 5, 8, 8\)")])
def test_images_of_another_shape_are_refused_by_predict_images(shape, says):
    """An array without its band axis, or with it last, got a numpy error about apertures that named no shape."""
    model = _forest(n=40)[0]
    with pytest.raises(astro_cnn.IncompatibleImagesError, match=says):
        model.predict_images(np.ones(shape, dtype=np.float32))


def test_fit_refuses_images_of_another_shape_as_prediction_does():
    """Bands last failed with advice to shrink the apertures, and 32-pixel images trained a 16-pixel model
    that then refused the very images it trained on."""
    images, label = _images(40)
    model = ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=RADII)
    with pytest.raises(astro_cnn.IncompatibleImagesError, match="bands are on the last axis"):
        model.fit(np.moveaxis(images, 1, -1), label, n_estimators=5)
    with pytest.raises(astro_cnn.IncompatibleImagesError, match=r"got an array of shape \(40, 5, 32, 32\)"):
        model.fit(np.repeat(np.repeat(images, 2, 2), 2, 3), label, n_estimators=5)
    model.fit(list(images), label, n_estimators=5)
    np.testing.assert_allclose(model.predict_images(list(images[:3])).value, model.predict_images(images[:3]).value)


def test_aperture_radii_may_be_angles_and_must_be_positive():
    """Radii given as a Quantity failed in astropy ("only dimensionless scalar quantities can be converted")."""
    model = ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=[1, 2] * u.arcsec)
    assert model.radii_arcsec == (1.0, 2.0)
    assert ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec,
                           radii_arcsec=[60] * u.arcmin / 60).radii_arcsec == (60.0,)
    for radii, says in (([1, 2] * u.pix, "radii_arcsec must be angles"), ((1.0, -2.0), r"radii_arcsec\[1\] must be")):
        with pytest.raises(astro_cnn.AstroCNNError, match=says):
            ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=radii)


def test_extras_are_refused():
    with pytest.raises(astro_cnn.AstroCNNError, match="images only"):
        ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, extras=("ebv",))


def test_photo_z_forest_through_the_table_contract(tmp_path):
    model, _, _ = _forest("photo_z")
    held_out, truth = _images(40, seed=5)
    model.calibrate(held_out, truth)
    names = []
    for i, image in enumerate(held_out[:8]):
        fits.writeto(tmp_path / f"g{i}.fits", image)
        names.append(f"g{i}.fits")
    saved = model.save(tmp_path / "forest.acnn")
    out = astro_cnn.predict(Table({"file": names}), model=str(saved), image_column="file", image_dir=tmp_path)
    for name in ("z_phot", "z_phot_err", "z_lo68", "z_hi68", "z_pdf"):
        assert name in out.colnames
    assert out["z_phot"].unit == u.dimensionless_unscaled and out["z_pdf"].shape == (8, 180)
    assert np.all(out["z_phot_err"] > 0)
    # a galaxy fainter than every training galaxy keeps its value but is flagged as an extrapolation
    snr = np.array([check_image(image, model.pixel_scale, -np.inf)[1] for image in held_out[:8]])
    fainter = snr < model.info["centre_snr_range"][0]
    assert fainter.any() and list(out["flag"]) == list(fainter) and np.isfinite(out["z_phot"].value).all()
    assert all(status.startswith("extrapolation: the image is fainter than any model 'test-photo_z' was trained on")
               for status in out["status"][fainter])
    read_by_a_worker = astro_cnn.predict(Table({"file": names}), model=str(saved), image_column="file",
                                         image_dir=tmp_path, workers=1)  # the S/N travels with the images
    assert list(read_by_a_worker["status"]) == list(out["status"])
    np.testing.assert_allclose(out["z_phot"].value, model.predict_images(held_out[:8]).value, rtol=1e-6)
    recorded = out.meta["astro_cnn"]
    assert json.dumps(recorded, default=str) and recorded["model"] == "test-photo_z"


def test_the_forest_leaves_out_the_images_prediction_would_flag():
    images, label = _images(60)
    images[::6] = np.random.default_rng(2).normal(0, 0.5, images[::6].shape)  # sky with no galaxy
    label[::6] = 0.39  # above every other label: seen in the label range if learned from
    lines = []
    model = ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
        images, label, seed=3, n_estimators=5, log=lines.append)
    assert model.info["training_data"] == {"rows": 50, "left_out": {"no source at the centre (S/N below 5)": 10},
                                           "min_centre_snr": 5.0, "colour_values": False}
    assert model.info["label_range"][1] < 0.38 and model.info["centre_snr_range"][0] >= 5
    assert lines and lines[0].startswith("left out 10 of 60 training images")
    with pytest.raises(astro_cnn.AstroCNNError, match=r"0 of 10 training rows have usable images \(10 with no "
                                                      r"source at the centre"):
        ForestPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
            images[::6], label[::6], log=lambda line: None)


def test_images_in_another_flux_scale_are_flagged_as_extrapolations(tmp_path):
    """Aperture photometry of images ×1000 (counts, say) gave confident values for other galaxies, marked "ok"."""
    model, _, _ = _forest("photo_z")
    np.testing.assert_allclose(model.training_pixel_noise, 0.5, rtol=0.2)  # the images' noise, in every band
    saved = model.save(tmp_path / "forest.acnn")
    assert list(astro_cnn.load_predictor(saved).training_pixel_noise) == list(model.training_pixel_noise)
    held_out, _ = _images(4, seed=5)
    names = []
    for i, (image, scale) in enumerate(zip(held_out, (1.0, 1000.0, 1.0, 1e-3))):
        fits.writeto(tmp_path / f"g{i}.fits", image * np.float32(scale))
        names.append(f"g{i}.fits")
    out = astro_cnn.predict(Table({"file": names}), model=str(saved), image_column="file", image_dir=tmp_path,
                            min_centre_snr=None)
    assert list(out["flag"]) == [False, True, False, True] and np.isfinite(out["z_phot"].value).all()
    assert all(out["status"][k].startswith("extrapolation: the pixel noise in band ") for k in (1, 3))
    assert re.search(r"is [\d.]+e\+03 times", out["status"][1])  # ~1000 (a 16-pixel image's border is small)


def test_forests_on_8_bit_images_and_older_saved_forests_are_not_checked(tmp_path):
    images, label = _images(60)
    colour = np.clip(images[:, :3] * 10, 0, 255).astype(np.uint8)
    model = ForestPredictor("photo_z", "sdss-jpeg", "gri", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
        colour, label, seed=3, n_estimators=5, min_centre_snr=None)
    assert model.training_pixel_noise is None and model.trained_on_colour
    decoded = ForestPredictor("photo_z", "sdss-jpeg", "gri", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
        colour.astype(np.float32) / np.float32(255.0), label, seed=3, n_estimators=5, min_centre_snr=None)
    assert decoded.training_pixel_noise is None  # the same colour values decoded to floats, as a network reads them
    broken = colour.astype(np.float32) / np.float32(255.0)
    broken[0, 0, 0, 0] = np.nan  # a row left out of training does not make the others flux images
    assert ForestPredictor("photo_z", "sdss-jpeg", "gri", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
        broken, label, seed=3, n_estimators=5, min_centre_snr=None, log=lambda line: None).training_pixel_noise is None
    flux, _, _ = _forest("photo_z")
    assert astro_cnn.load_predictor(_saved_with_noise(flux, tmp_path, None)).training_pixel_noise is None


def _saved_with_noise(model, tmp_path, noise, remove=True):
    """Save ``model`` with its metadata's training_pixel_noise replaced by ``noise`` (or removed, as in a forest
    saved before it was recorded)."""
    path = model.save(tmp_path / "saved.acnn", overwrite=True)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(members["metadata.json"])
    if remove and noise is None:
        del metadata["training_pixel_noise"]
    else:
        metadata["training_pixel_noise"] = noise
    members["metadata.json"] = json.dumps(metadata).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_band_whose_noise_was_never_measured_is_not_checked_and_the_others_are(tmp_path):
    model, images, label = _forest("photo_z")
    images[:, 2] = 1.0  # a flat band: its noise cannot be measured in any image
    model.fit(images, label, seed=3, n_estimators=5, min_centre_snr=None)
    noise = model.training_pixel_noise
    assert np.isnan(noise[2]) and np.isfinite(np.delete(noise, 2)).all()
    assert np.isnan(astro_cnn.load_predictor(model.save(tmp_path / "f.acnn")).training_pixel_noise[2])


@pytest.mark.parametrize("noise", [[0.5] * 4, [0.5, 0.5, -1.0, 0.5, 0.5], [0.5, "x", 0.5, 0.5, 0.5], 0.5])
def test_a_saved_noise_that_is_not_one_positive_number_per_band_is_refused(tmp_path, noise):
    model, _, _ = _forest("photo_z")
    with pytest.raises(astro_cnn.AstroCNNError, match="training_pixel_noise must be a positive number"):
        astro_cnn.load_predictor(_saved_with_noise(model, tmp_path, noise))


@pytest.mark.parametrize("quantity", ["photo_z", "stellar_mass"])
def test_the_bundled_forests_flag_a_demo_stack_in_another_flux_scale(tmp_path, quantity):
    from pathlib import Path

    from astro_cnn.models import default_model

    spec = default_model(quantity)
    model = astro_cnn.load_predictor(spec.path)
    assert isinstance(model, ForestPredictor) and model.training_pixel_noise.shape == (5,)
    demo_dir = Path(spec.demo_table).parent
    demo = Table.read(spec.demo_table)[:2]
    stack = fits.getdata(demo_dir / demo["image"][1], 1)
    fits.writeto(tmp_path / "counts.fits", stack * np.float32(200.0))  # ~ counts per nanomaggy in SDSS r
    files = [str(demo_dir / demo["image"][0]), str(tmp_path / "counts.fits")]
    out = astro_cnn.predict(Table({"image": files}), quantity=quantity, image_column="image")
    assert list(out["flag"]) == [False, True]
    assert out["status"][1].startswith("extrapolation: the pixel noise in band ")


def test_labels_with_units_and_masks_are_taken_as_meant():
    """A masked Quantity hid its masked values from the checks; a unit is converted, or refused when it cannot be."""
    import astropy.units as u

    mass, _, _ = _forest("stellar_mass")
    held_out, truth = _images(40, seed=4)
    labels = 9 + 5 * truth
    plain = mass.calibrate(held_out, labels)
    assert mass.calibrate(held_out, labels * u.dex)["floor"] == pytest.approx(plain["floor"])
    assert mass.calibrate(held_out, labels * u.dex(u.solMass))["floor"] == pytest.approx(plain["floor"])
    with pytest.raises(astro_cnn.AstroCNNError, match="label of quantity .stellar_mass. is in m, which does not conv"):
        mass.calibrate(held_out, labels * u.m)
    with pytest.raises(astro_cnn.AstroCNNError, match="outside the valid range"):  # kg converts: log10(M / Msun)
        mass.calibrate(held_out, labels * u.kg)
    masked = Masked(labels * u.dex, mask=np.arange(40) == 6)
    with pytest.raises(astro_cnn.AstroCNNError, match=r"missing or not finite in rows \[6\]"):
        mass.calibrate(held_out, masked)
    with pytest.raises(astro_cnn.AstroCNNError, match=r"missing or not finite in rows \[2\]"):
        ForestPredictor("stellar_mass", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, radii_arcsec=RADII).fit(
            held_out, np.where(np.arange(40) == 2, np.nan, labels), n_estimators=5)


@pytest.mark.parametrize("model", ["photoz-sdss-injected-forest-v1", "stellar-mass-sdss-injected-forest-v1"])
def test_an_image_with_no_photometry_has_no_error_and_no_images_give_no_rows(model):
    """A NaN image came back with an error of 0 (the photo-z PDF's summary); no images gave a numpy reshape
    error."""
    import warnings

    from astro_cnn.models import resolve_predictor

    forest = resolve_predictor(model)
    images = np.full((2, 5, 64, 64), np.nan, np.float32)
    images[1] = np.random.default_rng(0).normal(0, 0.01, (5, 64, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        prediction = forest.predict_images(images)
    assert np.isnan(prediction.value[0]) and np.isnan(prediction.error[0]) and np.isfinite(prediction.error[1])
    assert np.shape(forest.predict_images(np.zeros((0, 5, 64, 64), np.float32)).value) == (0,)
