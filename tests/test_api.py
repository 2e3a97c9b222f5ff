"""End to end: astropy Table in, QTable out, through a plugin that a separate package registered."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

import astro_cnn
from astro_cnn import ColumnError, IncompatibleImagesError, ModelNotFoundError, UnknownNameError


def test_table_in_qtable_out(example_model, galaxies):
    out = astro_cnn.predict(galaxies, model=example_model)
    assert isinstance(out, QTable) and len(out) == len(galaxies)
    assert list(out["objid"]) == list(galaxies["objid"])  # same rows, same order, ids carried over
    assert out["colour_ab"].unit == u.mag and out["colour_ab_err"].unit == u.mag
    expected = 0.5 + 0.01 * np.array([10.0, 20.0, np.nan, np.nan, -10.0])
    np.testing.assert_allclose(out["colour_ab"].value, expected, atol=1e-6)
    assert list(out["flag"]) == [False, False, True, True, False]
    assert out["status"][0] == "ok"
    assert out["status"][2] == "Dec 85.00 deg is outside the example-sky footprint"
    assert "dec is missing or not a number in row 3" in out["status"][3]
    meta = out.meta["astro_cnn"]
    assert meta["model"] == "example-model" and meta["survey"] == "example-sky"
    assert meta["bands"] == ["a", "b"] and meta["astro_cnn_version"] == astro_cnn.__version__
    assert meta["date"] and meta["quantity"] == "example_colour"


def test_small_batches_give_the_same_answer(example_model, galaxies):
    one = astro_cnn.predict(galaxies, model=example_model, batch_size=2)
    two = astro_cnn.predict(galaxies, model=example_model)
    np.testing.assert_allclose(one["colour_ab"].value, two["colour_ab"].value, rtol=1e-12)
    assert list(one["status"]) == list(two["status"])


def test_skycoord_input(example_model):
    coords = SkyCoord([10, 20] * u.deg, [5, 15] * u.deg)
    out = astro_cnn.predict(coords, model=example_model)
    np.testing.assert_allclose(out["colour_ab"].value, [0.55, 0.65], atol=1e-6)
    np.testing.assert_allclose(out["dec"].to_value(u.deg), [5, 15])


def test_quantity_must_match_the_model(example_model, galaxies):
    with pytest.raises(ModelNotFoundError, match="predicts 'example_colour', not 'metallicity'"):
        astro_cnn.predict(galaxies, quantity="metallicity", model=example_model)


def test_unknown_names(example_model, galaxies, example_plugin):
    with pytest.raises(UnknownNameError, match="unknown survey 'hubble'.*'example-sky'"):
        astro_cnn.predict(galaxies, model=example_model, survey="hubble")
    with pytest.raises(UnknownNameError, match="unknown quantity 'age'"):
        astro_cnn.predict(galaxies, quantity="age")
    with pytest.raises(UnknownNameError, match="model \\(name or file\\) 'nomodel'"):
        astro_cnn.predict(galaxies, model="nomodel")


def test_no_installed_model_says_how_to_get_one(galaxies, example_plugin):
    if astro_cnn.available_models("example_colour"):
        pytest.skip("a model is installed for this quantity")
    with pytest.raises(ModelNotFoundError, match="no trained model for quantity 'example_colour'"):
        astro_cnn.predict(galaxies, quantity="example_colour")


def test_survey_with_other_bands_is_refused(example_model, galaxies, example_plugin):
    class ThreeBand(example_plugin.ExampleSky):
        bands = ("g", "r", "i")

    with pytest.raises(IncompatibleImagesError, match="takes bands ab but survey 'example-sky' gives gri"):
        astro_cnn.predict(galaxies, model=example_model, survey=ThreeBand())


def test_missing_coordinates_name_the_columns(example_model):
    with pytest.raises(ColumnError, match="no right ascension column"):
        astro_cnn.predict(Table({"x": [1.0]}), model=example_model)
    with pytest.raises(TypeError, match="list"):
        astro_cnn.predict([1, 2], model=example_model)


def test_image_files_instead_of_positions(example_model, example_plugin, tmp_path):
    from astropy.io import fits

    images = example_plugin.ExampleSky().cutouts(astro_cnn.TargetList(np.zeros(2), np.array([30.0, 40.0]))).images
    for i, image in enumerate(images):
        fits.writeto(tmp_path / f"g{i}.fits", image)
    table = Table({"name": ["g0", "g1", "g2"], "file": ["g0.fits", "g1.fits", "g2.fits"]})
    out = astro_cnn.predict(table, model=example_model, image_column="file", image_dir=tmp_path)
    np.testing.assert_allclose(out["colour_ab"].value[:2], [0.8, 0.9], atol=1e-6)
    assert list(out["name"]) == ["g0", "g1", "g2"] and list(out["image_path"]) == ["g0.fits", "g1.fits", "g2.fits"]
    assert out["flag"][2] and "g2.fits' does not exist" in out["status"][2]
    assert "ra" not in out.colnames
    for survey, options, resample in (("bogus", None, False), (None, {"zzz": 1}, False), (None, None, True)):
        with pytest.raises(astro_cnn.AstroCNNError, match="survey, survey_options and resample do not apply with "
                                                          "image_column='file'"):  # were silently ignored
            astro_cnn.predict(table, model=example_model, image_column="file", image_dir=tmp_path, survey=survey,
                              survey_options=options, resample=resample)


def test_kept_input_columns_are_copied_row_for_row(example_model, galaxies, tmp_path):
    galaxies["z_spec"] = [0.1, 0.2, 0.3, 0.4, 0.5]
    out = astro_cnn.predict(galaxies, model=example_model, keep_columns=["z_spec"], batch_size=2)
    assert list(out["z_spec"]) == [0.1, 0.2, 0.3, 0.4, 0.5]
    streamed = astro_cnn.predict_to_file(galaxies, tmp_path / "o.ecsv", model=example_model, batch_size=2,
                                         keep_columns=["z_spec"], progress=False)
    assert list(astro_cnn.read_table(streamed)["z_spec"]) == [0.1, 0.2, 0.3, 0.4, 0.5]
    with pytest.raises(ColumnError, match=r"columns \['nope'\] to keep"):
        astro_cnn.predict(galaxies, model=example_model, keep_columns=["nope"])
