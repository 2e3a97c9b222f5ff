"""Shared pytest fixtures of the SDSS plugin tests: the local SDSS server and a fresh cache."""

from pathlib import Path

import pytest

from astro_cnn_sdss import conf
from astro_cnn_sdss.testing import SDSSTestServer

DATA = Path(__file__).parent / "data" / "sdss"
#: The SkyServer default galaxy in field 3918-3-213 (objID 1237662301903192106), centre of the frame crops.
GALAXY = (229.525575753922, 42.7458537608544)


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path_factory):
    """Keep tests that use the default cache location out of the user's astropy cache."""
    with conf.set_temp("cache_dir", str(tmp_path_factory.mktemp("sdss_default_cache"))):
        yield


@pytest.fixture
def server():
    """A local SDSS service serving the committed real fixtures on 127.0.0.1."""
    with SDSSTestServer(DATA) as running:
        yield running


@pytest.fixture
def options(server, tmp_path):
    """Survey options pointing at the local server with an empty cache and quick retries."""
    return {"cache_dir": tmp_path / "cache", "base_url": server.skyserver_url, "sas_url": server.sas_url,
            "backoff": 0.01, "retries": 2, "timeout": 5, "max_workers": 4}
