"""Calibrated uncertainties: an error model for regressions, a temperature for PDFs, learned on held-out rows."""

import numpy as np
import pytest

import astro_cnn
from astro_cnn.engine.calibration import (
    MIN_POWER_ROWS,
    POWER_RANGE,
    apply_error_model,
    apply_temperature,
    coverage,
    fit_error_model,
    fit_temperature,
)


def test_the_error_model_recovers_the_true_scatter():
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.0, 0.05, 4000)  # raw TTA spread, much smaller than the real errors
    sigma = np.sqrt(0.08**2 + (2.0 * spread) ** 2)
    truth = rng.normal(0, sigma)
    model = fit_error_model(truth, np.zeros_like(truth), spread)
    assert model["floor"] == pytest.approx(0.08, rel=0.1) and model["scale"] == pytest.approx(2.0, rel=0.2)
    assert model["power"] == 1.0  # errors in proportion to the spread: no power is asked for
    np.testing.assert_allclose(apply_error_model(model, spread), np.hypot(model["floor"], model["scale"] * spread))
    assert model["coverage_before"] < 0.4 and model["coverage_after"] == pytest.approx(0.683, abs=0.03)
    assert coverage(truth, 0.0, apply_error_model(model, spread)) == model["coverage_after"]
    with pytest.raises(astro_cnn.AstroCNNError, match="too few"):
        fit_error_model(truth[:3], np.zeros(3), spread[:3])


def test_errors_that_grow_faster_than_the_spread_get_a_power():
    """As the structure network's: its spread doubles from bright to faint galaxies, its errors grow fourfold.
    One scale would make the bright galaxies' ±1σ too wide and the faint ones' too narrow."""
    rng = np.random.default_rng(2)
    spread = rng.uniform(0.04, 0.12, 3000)
    sigma = 0.5 * 0.08 * (spread / 0.08) ** 2
    truth = rng.normal(0, sigma)
    model = fit_error_model(truth, np.zeros_like(truth), spread)
    assert model["power"] == pytest.approx(2.0, abs=0.3)  # with a small floor, which trades against the power
    assert model["reference_spread"] == pytest.approx(0.08, abs=0.005) and model["scale"] == pytest.approx(0.5, rel=0.1)
    error = apply_error_model(model, spread)
    np.testing.assert_allclose(error, sigma, rtol=0.08)
    for third in np.array_split(np.argsort(spread), 3):  # right at every depth, not only on average
        assert coverage(truth[third], 0.0, error[third]) == pytest.approx(0.683, abs=0.05)
    proportional = rng.normal(0, 0.5 * spread)  # the same spreads, errors in proportion: no power
    assert fit_error_model(proportional, np.zeros_like(truth), spread)["power"] == 1.0


def test_the_power_is_found_from_a_floor_and_kept_within_its_range():
    rng = np.random.default_rng(3)
    spread = rng.uniform(0.01, 0.1, 2000)
    reference = np.median(spread)
    truth = rng.normal(0, np.sqrt(0.05**2 + (5 * reference * (spread / reference) ** 3) ** 2))
    model = fit_error_model(truth, np.zeros_like(truth), spread)  # from a power-1 fit whose floor is ~0
    assert model["power"] == pytest.approx(3.0, abs=0.1) and model["floor"] == pytest.approx(0.05, rel=0.15)
    steep = rng.normal(0, 0.1 * (spread / reference) ** 6)  # steeper than any power allowed
    assert fit_error_model(steep, np.zeros_like(steep), spread)["power"] == pytest.approx(POWER_RANGE[1], abs=0.01)
    few = fit_error_model(steep[:MIN_POWER_ROWS - 1], np.zeros(MIN_POWER_ROWS - 1), spread[:MIN_POWER_ROWS - 1])
    assert few["power"] == 1.0  # too few rows to try a power


def test_heavy_tails_alone_do_not_buy_a_power():
    """Errors in proportion to the spread but with Student-t tails (3 degrees of freedom): a power fitted to
    the outliers must also predict the other half of the rows better, which it seldom does."""
    powers = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        spread = rng.uniform(0.02, 0.2, 600)
        powers.append(fit_error_model(spread * rng.standard_t(3, 600), np.zeros(600), spread)["power"])
    assert sum(power != 1.0 for power in powers) <= 3
    assert all(POWER_RANGE[0] <= power <= POWER_RANGE[1] for power in powers)


def test_a_calibration_saved_without_a_power_is_applied_as_before():
    spread = np.array([0.0, 0.01, 0.2])
    np.testing.assert_allclose(apply_error_model({"kind": "gaussian", "floor": 0.1, "scale": 2.0}, spread),
                               np.hypot(0.1, 2.0 * spread))


def test_a_temperature_widens_pdfs_that_are_too_narrow():
    rng = np.random.default_rng(1)
    centres = np.arange(100) + 0.5
    truth_bin = rng.integers(30, 70, 2000)
    observed = truth_bin + rng.normal(0, 6, 2000)  # the network's estimate is off by ~6 bins
    pdf = np.exp(-0.5 * ((centres[None, :] - observed[:, None]) / 2.0) ** 2)  # but it claims ~2 bins
    pdf /= pdf.sum(axis=1, keepdims=True)
    temperature = fit_temperature(pdf, truth_bin)
    assert temperature > 4
    wider = apply_temperature(pdf, temperature)
    np.testing.assert_allclose(wider.sum(axis=1), 1.0)
    assert wider.max(axis=1).mean() < pdf.max(axis=1).mean()


def test_fit_calibrates_on_its_validation_split_and_the_model_keeps_it(tmp_path):
    from .test_engine_training import _data, _predictor

    images, labels = _data(n=120)
    lines = []
    model = _predictor().fit(images, labels, recipe="quick", epochs=2, val_fraction=0.25, progress=False,
                             log=lines.append)
    calibration = model.info["calibration"]
    assert calibration["kind"] == "gaussian" and calibration["rows"] == 30
    assert any(line.startswith("uncertainties calibrated on 30 validation galaxies") for line in lines)
    prediction = model.predict_images(images[:5])
    raw = model._predict(images[:5], None, 128, calibrated=False)
    np.testing.assert_allclose(prediction.error, apply_error_model(calibration, raw.error))
    loaded = astro_cnn.load_predictor(model.save(tmp_path / "m.acnn"))
    assert loaded.calibration_ == calibration
    np.testing.assert_allclose(loaded.predict_images(images[:5]).error, prediction.error, rtol=1e-5)


def test_without_a_validation_split_the_error_stays_the_raw_spread():
    from .test_engine_training import _data, _predictor

    images, labels = _data(n=40)
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    assert "calibration" not in model.info and model.calibration_ == {}


def test_fit_calibrates_the_model_as_it_will_predict():
    """The recipe's test-time augmentation is in place before the validation split calibrates the model: a
    calibration fitted again on the same rows after training is the same one."""
    from .test_engine_training import _predictor

    rng = np.random.default_rng(5)
    images = rng.normal(size=(120, 3, 32, 32)).astype(np.float32)  # not symmetric: flips change the outputs
    labels = rng.uniform(8.2, 9.2, 120)
    model = _predictor().fit(images, labels, recipe="quick", epochs=2, val_fraction=0.25, augment=False,
                             progress=False, log=lambda line: None, min_centre_snr=None)  # noise, no galaxies
    assert model.tta is False  # the quick recipe predicts without test-time augmentation
    fitted = dict(model.info["calibration"])
    rows = np.sort(model.training_data(images, labels, None, 0.25, 0).val_rows)
    again = model.calibrate(images[rows], labels[rows], min_centre_snr=None)  # as it trained: no presence check
    for key in ("floor", "scale", "coverage_before", "coverage_after"):
        assert again[key] == pytest.approx(fitted[key], rel=1e-6), key


def test_images_prediction_would_flag_do_not_calibrate_the_uncertainties():
    """A blank image and one of empty sky get no value from prediction, so calibrating on them would fit the error
    model to predictions never given; they are left out, counted by reason, and the calibration is the one the
    usable rows give."""
    from .test_engine_training import _data, _predictor

    images, labels = _data(n=60)
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    held_out, truth = _data(n=40, seed=7)
    flagged = held_out.copy()
    flagged[3] = 0.0  # blank
    flagged[10] = np.random.default_rng(1).normal(0, 0.02, flagged[10].shape)  # no source at the centre
    truth_flagged = truth.copy()
    truth_flagged[[3, 10]] = [9.9, 7.1]  # labels far from the rest: they would widen the error model
    lines = []
    calibration = model.calibrate(flagged, truth_flagged, log=lines.append)
    assert calibration["left_out"] == {"a blank image": 1, "no source at the centre (S/N below 5)": 1}
    assert calibration["rows"] == 38
    assert lines == [line for line in lines if line.startswith("left out 2 of 40 calibration images")] and lines
    usable = np.setdiff1d(np.arange(40), [3, 10])
    expected = model.calibrate(held_out[usable], truth[usable])
    assert expected["left_out"] == {}
    for key in ("floor", "scale", "coverage_before", "coverage_after"):
        assert calibration[key] == pytest.approx(expected[key], rel=1e-6), key
    with pytest.raises(astro_cnn.AstroCNNError, match="none of the 2 calibration images can be used"):
        model.calibrate(flagged[[3, 10]], truth[[3, 10]])
    with pytest.raises(astro_cnn.AstroCNNError, match="40 images but 39 labels"):
        model.calibrate(held_out, truth[:39])


def test_images_in_another_flux_scale_do_not_calibrate_the_uncertainties():
    """Prediction flags an image whose pixel noise is far from the training images' (fluxes in other units or
    another scale); calibrated on such images, the error model would describe a model fed the wrong input."""
    from .test_engine_training import _data, _predictor

    images, labels = _data(n=60)
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    assert model.training_pixel_noise is not None
    held_out, truth = _data(n=40, seed=7)
    scaled = held_out.copy()
    scaled[:6] *= 1000  # counts for nanomaggies, say
    lines = []
    calibration = model.calibrate(scaled, truth, log=lines.append)
    reason = "a pixel noise outside 0.2 to 5 times the training images' (another flux unit or scale)"
    assert calibration["left_out"] == {reason: 6} and calibration["rows"] == 34
    assert lines[0].startswith("left out 6 of 40 calibration images") and "(rows 0, 1, 2, 3, 4, 5)" in lines[0]
    expected = model.calibrate(held_out[6:], truth[6:])
    assert calibration["floor"] == pytest.approx(expected["floor"], rel=1e-6)


def test_labels_a_calibration_cannot_use_are_refused_naming_the_rows():
    from .test_engine_training import _data, _predictor

    images, labels = _data(n=60)
    model = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    held_out, truth = _data(n=20, seed=7)
    before = dict(model.calibration_)
    bad = truth.copy()
    bad[4] = np.nan
    with pytest.raises(astro_cnn.AstroCNNError, match=r"labels of 'log_oh' are missing or not finite in rows \[4\]"):
        model.calibrate(held_out, bad)
    masked = np.ma.masked_array(truth, mask=np.arange(20) == 7)
    with pytest.raises(astro_cnn.AstroCNNError, match=r"missing or not finite in rows \[7\]"):
        model.calibrate(held_out, masked)
    bad = truth.copy()
    bad[[2, 9]] = [-5.0, 15.0]
    with pytest.raises(astro_cnn.AstroCNNError, match=r"outside the valid range 7..10 in rows \[2, 9\]"):
        model.calibrate(held_out, bad)
    with pytest.raises(astro_cnn.AstroCNNError, match=r"labels have shape \(20, 1\)"):
        model.calibrate(held_out, truth[:, None])
    with pytest.raises(astro_cnn.AstroCNNError, match="labels must be numbers"):
        model.calibrate(held_out, ["high"] * 20)
    with pytest.raises(astro_cnn.IncompatibleImagesError):
        model.calibrate(held_out[:, :2], truth)  # two bands where the model takes three
    assert model.calibration_ == before  # a refused calibration leaves the model's as it was
    listed = model.calibrate(list(held_out), truth)
    assert listed["floor"] == pytest.approx(model.calibrate(held_out, truth)["floor"])


def test_too_few_calibration_galaxies_are_refused_saying_how_many_are_needed():
    """Three gave a plain ValueError and none a numpy reshape error."""
    import warnings

    from .test_engine_training import _data, _predictor

    images, labels = _data(n=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quick recipe measures no uncertainty
        model = _predictor().fit(images, labels, recipe="quick", epochs=1, progress=False, log=lambda line: None)
    with pytest.raises(astro_cnn.AstroCNNError, match=r"3 held-out rows are too few to calibrate uncertainties"):
        model.calibrate(images[:3], labels[:3])
    with pytest.raises(astro_cnn.AstroCNNError, match="no calibration images were given"):
        model.calibrate(images[:0], labels[:0])
