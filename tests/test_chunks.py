"""The one prediction pipeline: set-up checks, read-ahead (thread or worker processes), row checks."""

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.coordinates import SkyCoord
from astropy.table import Table

import astro_cnn
from astro_cnn import AstroCNNError, ColumnError, ImageBatch, TargetList
from astro_cnn.chunks import predict_batch, prediction_setup


def _batch(images):
    return ImageBatch(np.asarray(images, np.float32), ("a", "b"), 1.0 * u.arcsec, [""] * len(images))


class _FixedImages(astro_cnn.Survey):
    """A survey that hands out given images, one per row, in order."""

    name, bands, pixel_scale, image_size = "fixed", ("a", "b"), 1.0 * u.arcsec, 16

    def __init__(self, images):
        self.images = np.asarray(images, np.float32)

    def cutouts(self, targets, *, size=None, progress=False):
        return ImageBatch(self.images[:len(targets)], self.bands, self.pixel_scale, list(targets.status))


def test_blank_constant_non_finite_and_empty_images_are_flagged_not_predicted(example_model):
    from astro_cnn_example.plugin import ExampleSky

    good = ExampleSky().cutouts(TargetList([150.0], [10.0])).images[0]
    nan = good.copy()
    nan[0, 3, 3] = np.nan
    sky = np.random.default_rng(1).normal(1.0, 0.1, good.shape)  # noise, no source
    table = Table({"ra": np.full(5, 150.0), "dec": np.full(5, 10.0)})
    out = astro_cnn.predict(table, model=example_model, survey=_FixedImages([good, np.zeros_like(good),
                                                                              np.full_like(good, 7.0), nan, sky]))
    assert out["status"][0] == "ok" and np.isfinite(out["colour_ab"][0])
    assert list(out["status"][1:4]) == ["image is blank (every pixel is 0)", "image is blank (every pixel is 7)",
                                        "image has 1 non-finite pixels"]
    assert out["status"][4].startswith("no source at the centre of the image (S/N")
    assert np.isnan(out["colour_ab"][1:].value).all() and list(out["flag"]) == [False] + [True] * 4
    kept = astro_cnn.predict(table, model=example_model, survey=_FixedImages([sky] * 5), min_centre_snr=None)
    assert list(kept["status"]) == ["ok"] * 5


def test_predictions_outside_the_valid_range_or_not_finite_are_flagged(example_model):
    setup = prediction_setup(example_model, None, None)
    good = setup.survey.cutouts(TargetList([150.0], [10.0])).images[0]
    faint_a = good.copy()
    faint_a[0] *= 1e-4  # a-b colour of about +10 mag: outside -5..5
    negative = good.copy()
    negative[0] *= -1  # log of a negative ratio: NaN
    setup.predictor.info["label_range"] = [0.0, 0.55]  # trained on colours 0..0.55
    values, status = predict_batch(TargetList(np.full(3, 150.0), np.full(3, 10.0)),
                                   _batch([good, faint_a, negative]), setup.predictor)
    assert status[0].startswith("extrapolation: prediction 0.6 is outside the range 0..0.55 of the labels")
    assert np.isfinite(values["colour_ab"][0])  # an extrapolation keeps its value, flagged
    assert status[1].startswith("prediction 10.") and "outside the valid range -5..5 of 'example_colour'" in status[1]
    assert status[2] == "model 'example-model' gave a non-finite prediction"
    assert np.isnan(values["colour_ab"][1:].value).all()


def test_worker_processes_give_the_same_table_as_the_reading_thread(example_model, galaxies):
    table = Table({"ra": np.full(30, 150.0), "dec": np.linspace(-20, 85, 30)})
    threaded = astro_cnn.predict(table, model=example_model, batch_size=4, workers=0)
    processes = astro_cnn.predict(table, model=example_model, batch_size=4, workers=2)
    assert list(threaded["status"]) == list(processes["status"])
    np.testing.assert_array_equal(threaded["colour_ab"].value, processes["colour_ab"].value)
    assert threaded.meta["astro_cnn"]["device"] == "cpu"


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, True])
def test_batch_size_must_be_a_positive_integer(example_model, galaxies, batch_size):
    with pytest.raises(AstroCNNError, match="batch_size must be an integer of at least 1"):
        astro_cnn.predict(galaxies, model=example_model, batch_size=batch_size)


def test_device_and_workers_are_checked(example_model, galaxies):
    with pytest.raises(AstroCNNError, match="device 'gpu' is not one of auto, cpu, cuda or cuda:N"):
        astro_cnn.predict(galaxies, model="metallicity-sdss-gri-v1", device="gpu")
    with pytest.raises(AstroCNNError, match="workers must be an integer of at least 0"):
        astro_cnn.predict(galaxies, model=example_model, workers=-1)


def test_a_model_needing_extras_refuses_a_skycoord(tmp_path):
    with pytest.raises(ColumnError, match=r"needs the extra input columns \['ebv'\].*SkyCoord carries none"):
        from astro_cnn.engine import NetworkPredictor

        predictor = NetworkPredictor("photo_z", "sdss-stack", "ugriz", 64, 0.396 * u.arcsec, extras=("ebv",))
        predictor.members_ = [predictor.new_network().state_dict()]
        predictor.learn_normalisation(np.random.default_rng(0).normal(size=(2, 5, 64, 64)), None,
                                      {"ebv": np.array([0.0, 0.1])})
        astro_cnn.predict(SkyCoord([10.0] * u.deg, [5.0] * u.deg), model=predictor)


def test_kept_columns_may_not_replace_output_columns(example_model, galaxies):
    galaxies["status"] = "mine"
    with pytest.raises(ColumnError, match=r"columns \['status'\] to keep have the names of output columns"):
        astro_cnn.predict(galaxies, model=example_model, keep_columns=["status"])


def test_unknown_survey_options_are_a_clear_error(example_model, galaxies):
    with pytest.raises(AstroCNNError, match=r"survey 'example-sky' does not take the options \['dealy'\]"):
        astro_cnn.predict(galaxies, model=example_model, survey_options={"dealy": 1})


def test_keep_columns_must_be_a_list_of_distinct_names(example_model, galaxies):
    galaxies["z"] = 0.1
    with pytest.raises(ColumnError, match=r"keep_columns must be a list of column names, not the string 'z'"):
        astro_cnn.predict(galaxies, model=example_model, keep_columns="z")
    with pytest.raises(ColumnError, match=r"columns \['z'\] are named more than once"):
        astro_cnn.predict(galaxies, model=example_model, keep_columns=["z", "z"])


def test_a_directory_is_not_a_model(tmp_path, galaxies):
    with pytest.raises(astro_cnn.ModelNotFoundError, match="is a directory"):
        astro_cnn.predict(galaxies, model=tmp_path)


def test_a_survey_error_in_a_worker_process_arrives_as_itself(example_model, galaxies):
    from astro_cnn import UnknownNameError

    class Broken(_FixedImages):
        def cutouts(self, targets, *, size=None, progress=False):
            raise UnknownNameError("survey", "nope", ["a", "b"])

    survey = Broken(np.zeros((1, 2, 16, 16)))
    for workers in (0, 2):
        with pytest.raises(UnknownNameError, match="unknown survey 'nope'"):
            astro_cnn.predict(galaxies, model=example_model, survey=survey, workers=workers)


def test_predict_leaves_the_callers_model_as_it_was(example_model, galaxies):
    from astro_cnn.engine import NetworkPredictor

    model = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 128, 0.296 * u.arcsec, backbone="small_cnn")
    model.device = "cpu"
    setup = prediction_setup(model, None, None)
    assert setup.predictor is not model and model.device == "cpu"


def _jpeg_table(n):
    from .conftest import DATA

    return Table({"image": [str(p) for p in sorted((DATA / "gri_small").glob("*.jpg"))[:n]]})


def test_the_output_records_the_precision_the_model_ran_in():
    out = astro_cnn.predict(_jpeg_table(2), quantity="metallicity", image_column="image", device="cpu")
    assert out.meta["astro_cnn"]["precision"] == "float32" and out.meta["astro_cnn"]["device"] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on a machine with one)")
def test_jpeg_files_read_by_workers_and_predicted_on_a_gpu_match_the_cpu():
    table = _jpeg_table(40)
    options = {"quantity": "metallicity", "image_column": "image", "batch_size": 16}
    on_gpu = astro_cnn.predict(table, device="cuda", workers=2, **options)
    on_cpu = astro_cnn.predict(table, device="cpu", workers=0, **options)
    assert list(on_gpu["status"]) == list(on_cpu["status"])
    np.testing.assert_allclose(on_gpu["log_oh"].value, on_cpu["log_oh"].value, atol=1e-3)
    assert on_gpu.meta["astro_cnn"]["device"].startswith("cuda")


def test_an_id_column_named_like_an_output_column_is_refused(example_model, galaxies, tmp_path):
    """--id-column status: the output's status column replaced the ids, which were lost."""
    galaxies["status"] = [f"galaxy {i}" for i in range(len(galaxies))]
    with pytest.raises(ColumnError, match="the id column 'status' has the name of an output column"):
        astro_cnn.predict(galaxies, model=example_model, id_column="status")
    with pytest.raises(ColumnError, match="the id column 'status' has the name of an output column"):
        astro_cnn.predict_to_file(galaxies, tmp_path / "o.ecsv", model=example_model, id_column="status",
                                  progress=False)
    assert not (tmp_path / "o.ecsv").exists()


def test_a_kept_column_named_image_path_beside_image_files_is_refused():
    """With image files the output's image_path replaced a kept column of that name without a word."""
    from pathlib import Path

    from astro_cnn import read_table

    demo = Path(__file__).parents[1] / "plugins" / "astro_cnn_structure" / "demo" / "galaxies.ecsv"
    table = read_table(demo)[:2]
    table["image_path"] = ["mine", "mine"]
    with pytest.raises(ColumnError, match=r"columns \['image_path'\] to keep have the names of output columns"):
        astro_cnn.predict(table, quantity="structure", image_column="image", image_dir=demo.parent,
                          keep_columns=["image_path"], progress=False)
    table["image_path"] = table["image"]  # the image column itself, written as image_path: nothing is lost
    out = astro_cnn.predict(table, quantity="structure", image_column="image_path", image_dir=demo.parent,
                            keep_columns=["image_path"], progress=False)
    assert list(out["image_path"]) == list(table["image"])


def test_a_value_without_a_measured_error_keeps_its_value_and_an_infinite_error_does_not(example_model):
    from astro_cnn.chunks import prediction_problems
    from astro_cnn.quantity import Prediction

    predictor = astro_cnn.load_predictor(example_model)
    prediction = Prediction(np.array([0.3, 0.3, np.nan]), np.array([np.nan, np.inf, np.nan]))
    problems, unusable = prediction_problems(prediction, predictor)
    failed = "model 'example-model' gave a non-finite prediction"
    assert list(problems) == ["", failed, failed]
    assert list(unusable) == [False, True, True]
