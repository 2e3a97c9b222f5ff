"""Models named by URL with a checksum: fetched once from a loopback server, verified, cached, listed."""

import hashlib
import http.server
import threading
import time

import numpy as np
import pytest
from astropy.utils.data import conf

import astro_cnn
from astro_cnn import AstroCNNError, ModelNotFoundError
from astro_cnn.cli import main
from astro_cnn.remote_models import cached_models, fetch_model


@pytest.fixture
def model_server(tmp_path, example_model, monkeypatch):
    """An HTTP server on 127.0.0.1 serving the example model; counts its requests.  Downloads go to a
    temporary cache (astropy keeps a package's cache under XDG_CACHE_HOME/<package>)."""
    (tmp_path / "xdg").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    served = tmp_path / "served"
    served.mkdir()
    (served / "example.acnn").write_bytes(example_model.read_bytes())
    requests, busy = [], []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            if busy:  # answer 503 with the Retry-After given
                self.send_response(503)
                self.send_header("Retry-After", busy.pop(0))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/example.acnn", served / "example.acnn", requests, busy
    server.shutdown()


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_model_url_is_fetched_once_verified_and_predicts_like_the_file(model_server, example_model, galaxies):
    url, served, requests, _ = model_server
    remote = f"{url}#sha256={_sha(served)}"
    expected = astro_cnn.predict(galaxies, model=example_model)
    out = astro_cnn.predict(galaxies, model=remote)
    np.testing.assert_array_equal(out["colour_ab"].value, expected["colour_ab"].value)
    astro_cnn.predict(galaxies, model=remote)
    assert requests == ["/example.acnn"]  # the second run used the cache
    assert list(cached_models()) == [url]
    assert "xdg" in str(cached_models()[url])  # never the user's own cache
    with conf.set_temp("allow_internet", False):
        assert fetch_model(remote).read_bytes() == served.read_bytes()


def test_a_checksum_mismatch_is_refused_and_not_kept(model_server):
    url, served, requests, _ = model_server
    with pytest.raises(AstroCNNError, match="not the 0{64} its URL gives: refused"):
        fetch_model(f"{url}#sha256={'0' * 64}")
    assert cached_models() == {}
    with pytest.raises(AstroCNNError, match="has no checksum: append #sha256="):
        fetch_model(url)
    with pytest.raises(ModelNotFoundError, match="cannot download the model"):
        fetch_model(url.replace("example", "missing") + f"#sha256={'0' * 64}")


def test_models_command_lists_downloaded_models(model_server, capsys):
    url, served, _, _ = model_server
    fetch_model(f"{url}#sha256={_sha(served)}")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "downloaded models" in out and url in out


def test_a_busy_server_is_waited_for_as_it_asks(model_server):
    """Models are fetched by astro_cnn's one HTTP client, which retries a 503 after its Retry-After."""
    url, served, requests, busy = model_server
    busy.append("1")
    start = time.monotonic()
    assert fetch_model(f"{url}#sha256={_sha(served)}").read_bytes() == served.read_bytes()
    assert len(requests) == 2 and time.monotonic() - start >= 1.0


def test_a_cached_model_of_another_checksum_is_replaced(model_server):
    """The URL's checksum rules: a newer file published under the same URL replaces the cached one."""
    url, served, requests, _ = model_server
    fetch_model(f"{url}#sha256={_sha(served)}")
    served.write_bytes(served.read_bytes() + b"\0")
    assert fetch_model(f"{url}#sha256={_sha(served)}").read_bytes() == served.read_bytes()
    assert len(requests) == 2 and list(cached_models()) == [url]
