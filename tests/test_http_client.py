"""The one HTTP client's construction from a survey plugin's options (its downloads are tested against local
servers in test_hips_http.py and test_sdss_http.py)."""

from types import SimpleNamespace

import pytest

from astro_cnn import AstroCNNError
from astro_cnn.http_client import HTTPClient

CONF = SimpleNamespace(offline=False, timeout=30.0, retries=4, backoff=0.5, rate_limit=0.0)


def test_options_not_given_or_none_take_the_plugins_configured_values_then_the_clients_defaults():
    client = HTTPClient.from_options(None, CONF, user_agent="test", timeout=None, retries=0, rate_limit=2)
    assert (client.offline, client.timeout, client.retries, client.backoff, client.rate_limit) == \
        (False, 30.0, 0, 0.5, 2.0)
    assert client.max_connections == 4 and client._retry.max_retry_after == 120.0  # not configured: the defaults
    assert client._session.headers["User-Agent"] == "test"


@pytest.mark.parametrize("option, value, says", [
    ("offline", "no", "option offline must be True or False, not 'no'"),
    ("timeout", 0, "option timeout must be a number of seconds above 0, not 0"),
    ("retries", -1, "option retries must be an integer of at least 0, not -1"),
    ("backoff", float("nan"), "option backoff must be a number of seconds of at least 0, not nan"),
    ("rate_limit", "5", "option rate_limit must be a number of requests per second of at least 0, not '5'"),
    ("max_retry_after", -2, "option max_retry_after must be a number of seconds of at least 0"),
    ("max_connections", 0, "option max_connections must be an integer of at least 1, not 0"),
])
def test_a_wrong_value_is_refused_naming_the_option(option, value, says):
    with pytest.raises(AstroCNNError, match=says):
        HTTPClient.from_options(None, CONF, user_agent="test", **{option: value})


def test_a_wrong_configured_value_is_refused_too_and_an_unknown_option_is_a_type_error():
    with pytest.raises(AstroCNNError, match="option timeout must be a number of seconds above 0, not -1"):
        HTTPClient.from_options(None, SimpleNamespace(timeout=-1), user_agent="test")
    with pytest.raises(TypeError, match=r"HTTPClient has no options \['timout'\]"):
        HTTPClient.from_options(None, CONF, user_agent="test", timout=5)
