"""The SDSS plugin's configuration file, as docs/sdss.rst documents it: ``astro_cnn_sdss.cfg``, section ``[config]``."""

import pytest

from astro_cnn.downloads import Cache
from astro_cnn_sdss import conf
from astro_cnn_sdss.http import client


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    """An empty astropy configuration directory ($XDG_CONFIG_HOME/astropy); the plugin reloads its own after."""
    (tmp_path / "astropy").mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    yield tmp_path / "astropy"
    monkeypatch.undo()
    conf.reload()


def test_documented_file_and_section_configure_the_plugin(config_home, tmp_path):
    (config_home / "astro_cnn_sdss.cfg").write_text(
        "[config]\nskyserver_url = http://mirror.example/dr16\nretries = 7\nrate_limit = 2.5\noffline = True\n")
    conf.reload()
    assert conf.skyserver_url == "http://mirror.example/dr16"
    assert conf.retries == 7 and conf.rate_limit == 2.5 and conf.offline is True
    fetcher = client(Cache(tmp_path))
    assert fetcher.rate_limit == 2.5


def test_a_section_in_astropy_cfg_is_not_read(config_home):
    """What the docs used to say: a ``[astro_cnn_sdss.config]`` section of astropy.cfg configures nothing."""
    (config_home / "astropy.cfg").write_text("[astro_cnn_sdss.config]\nretries = 9\n")
    conf.reload()
    assert conf.retries == type(conf).retries.defaultvalue
