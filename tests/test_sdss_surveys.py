"""SDSS surveys (astro_cnn_sdss.surveys): their options are checked when built, a wrong value is one error naming it."""

import pytest

from astro_cnn import AstroCNNError
from astro_cnn_sdss.surveys import SDSSJpegSurvey, SDSSStackSurvey


@pytest.mark.parametrize("survey", [SDSSJpegSurvey, SDSSStackSurvey])
@pytest.mark.parametrize("option, value", [("offline", "maybe"), ("offline", 2), ("retries", -1), ("retries", 1.5),
                                           ("retries", "abc"), ("timeout", 0), ("timeout", "abc"),
                                           ("timeout", float("nan")), ("backoff", -1.0), ("max_workers", 0),
                                           ("max_workers", True)])
def test_wrong_option_values_name_the_option(tmp_path, survey, option, value):
    with pytest.raises(AstroCNNError, match=f"option {option} must be"):
        survey(cache_dir=tmp_path, **{option: value})


def test_good_option_values_are_kept(tmp_path):
    survey = SDSSJpegSurvey(cache_dir=tmp_path, offline=True, retries=0, timeout=2.5, backoff=0, max_workers=3)
    assert survey.client.offline is True and survey.client.retries == 0 and survey.max_workers == 3
