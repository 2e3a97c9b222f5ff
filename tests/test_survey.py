"""ImageBatch checks its shape; Survey records what a model needs to know; TargetSurvey owns the per-row loop;
make_survey builds surveys from names."""

import time

import astropy.units as u
import numpy as np
import pytest

from astro_cnn import (
    AstroCNNError,
    Cutout,
    ImageBatch,
    SurveySpec,
    TargetList,
    TargetSurvey,
    UnknownNameError,
    hookimpl,
    make_survey,
)


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


class _Grid(TargetSurvey):
    """Two bands; the image holds the target's row, slowly for early rows; row 2 fails; weights and a row extra."""

    name = "grid"
    bands = ("a", "b")
    image_size = 4
    has_weights = True
    row_meta = ("row",)

    def __init__(self, max_workers=1):
        self.max_workers = max_workers
        self.calls = []

    def cutout(self, target, size):
        self.calls.append(target.row)
        time.sleep(0.02 * (5 - target.row))  # early rows finish last when fetched concurrently
        if target.row == 2:
            raise RuntimeError("archive said no\nsecond line of a traceback-like message")
        image = np.full((2, size, size), target.row, np.float32)
        return Cutout(image, np.ones_like(image), {"row": target.row})


def _targets(n, status=None):
    return TargetList(np.linspace(10, 20, n), np.zeros(n), ids=[f"g{i}" for i in range(n)], status=status)


@pytest.mark.parametrize("max_workers", [1, 4])
def test_target_survey_flags_only_the_failing_row_and_keeps_the_order(max_workers):
    batch = _Grid(max_workers).cutouts(_targets(5))
    assert list(batch.status) == ["", "", "RuntimeError: archive said no second line of a traceback-like message",
                                  "", ""]
    assert [batch.images[i, 0, 0, 0] for i in range(5)] == [0, 1, 0, 3, 4]
    assert batch.weights[2].sum() == 0 and batch.weights[[0, 1, 3, 4]].min() == 1
    assert batch.meta["row"] == [0, 1, None, 3, 4]
    assert batch.bands == ("a", "b") and batch.images.shape == (5, 2, 4, 4)


def test_target_survey_keeps_statuses_already_set():
    survey = _Grid()
    batch = survey.cutouts(_targets(4, status=["", "bad coordinates", "", ""]), size=3)
    assert sorted(survey.calls) == [0, 2, 3]
    assert batch.status[1] == "bad coordinates" and batch.meta["row"][1] is None
    assert batch.images.shape == (4, 2, 3, 3) and not batch.images[1].any()


def test_target_survey_flags_an_image_of_the_wrong_shape():
    class Small(_Grid):
        def cutout(self, target, size):
            return np.zeros((2, size - 1, size - 1))

    batch = Small().cutouts(_targets(2))
    assert list(batch.status) == ["row 0: image of shape (2, 3, 3), expected (2, 4, 4)",
                                  "row 1: image of shape (2, 3, 3), expected (2, 4, 4)"]


def test_make_survey_builds_a_registered_survey_and_names_what_is_wrong(example_plugin):
    survey = make_survey("example-sky", delay=0.5)
    assert survey.name == "example-sky" and survey.delay == 0.5
    assert make_survey(survey) is survey
    with pytest.raises(UnknownNameError, match=r"unknown survey 'no-such-sky'; the known ones: .*'example-sky'"):
        make_survey("no-such-sky")
    with pytest.raises(AstroCNNError, match=r"survey 'example-sky' does not take the options \['dealy'\]; "
                                            r"its options are: delay"):
        make_survey("example-sky", dealy=1)
    with pytest.raises(AstroCNNError, match=r"options \['delay'\] go with a survey name"):
        make_survey(survey, delay=1)


def test_make_survey_turns_a_factory_type_error_into_one_naming_the_survey(clean_registry):
    def lazy(**options):
        return _Grid(**options)

    class Plugin:
        @hookimpl
        def astro_cnn_surveys(self):
            return [SurveySpec("grid", lazy, "test survey built lazily")]

    clean_registry.register(Plugin(), name="grid-plugin")
    assert make_survey("grid", max_workers=2).max_workers == 2
    with pytest.raises(AstroCNNError, match=r"survey 'grid' cannot be built with the options \['colour'\]: "
                                            r".*unexpected keyword argument 'colour'"):
        make_survey("grid", colour="red")


def test_the_default_survey_is_the_one_a_plugin_marks(monkeypatch):
    from astro_cnn import registry
    from astro_cnn.survey_factory import default_survey, make_survey

    assert default_survey() == "sdss-jpeg" and make_survey(None).name == "sdss-jpeg"  # the SDSS plugin marks it
    unmarked = {name: type(c)(**{**c.__dict__, "spec": type(c.spec)(c.spec.name, c.spec.factory)})
                for name, c in registry.components("survey").items()}
    monkeypatch.setattr(registry, "components", lambda kind: unmarked if kind == "survey" else {})
    with pytest.raises(AstroCNNError, match="no installed plugin marks a default survey"):
        default_survey()
