"""ImageBatch checks its shape; Survey records what a model needs to know."""

import astropy.units as u
import numpy as np
import pytest

from astro_cnn import AstroCNNError, ImageBatch


def test_image_batch_validates_shapes():
    ok = ImageBatch(np.zeros((2, 3, 4, 4)), ("g", "r", "i"), 0.4 * u.arcsec, ["", "why"])
    assert ok.images.dtype == np.float32 and ok.image_size == 4
    assert list(ok.ok) == [True, False]
    with pytest.raises(ValueError, match="3 channels but 2 bands"):
        ImageBatch(np.zeros((1, 3, 4, 4)), ("g", "r"), 0.4 * u.arcsec, [""])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ImageBatch(np.zeros((3, 4, 4)), ("g", "r", "i"), 0.4 * u.arcsec, [""])
    with pytest.raises(ValueError, match="one entry per image"):
        ImageBatch(np.zeros((2, 1, 4, 4)), ("g",), 0.4 * u.arcsec, [""])


def test_survey_describe_and_default_query(example_plugin):
    survey = example_plugin.ExampleSky()
    assert survey.describe() == {"survey": "example-sky", "bands": ["a", "b"], "pixel_scale_arcsec": 1.0,
                                 "image_size": 16}
    with pytest.raises(AstroCNNError, match="'example-sky' has no catalogue query"):
        survey.query("anything")
    assert "example-sky" in repr(survey)
