"""Shared fixtures of the HiPS tests: the loopback hips2fits/MOC server and paths of the recorded data."""

from pathlib import Path

import pytest

from astro_cnn_hips.testing import HiPSTestServer

DATA = Path(__file__).parent / "data"
FRAMES = DATA / "sdss" / "frames"
MOC_PATH = DATA / "hips" / "moc.fits"
#: The galaxy at the centre of the SDSS test frames (objID 1237662301903192106).
GALAXY = (229.525575753922, 42.7458537608544)


@pytest.fixture
def hips_server():
    with HiPSTestServer(FRAMES, MOC_PATH) as running:
        yield running


@pytest.fixture
def hips_options(hips_server, tmp_path):
    """Survey options for the test server: fast retries, no rate limit, a fresh cache."""
    return {"base_url": hips_server.url, "cache_dir": str(tmp_path / "cache"), "backoff": 0.01, "rate_limit": 0,
            "timeout": 5}
