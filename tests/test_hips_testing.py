"""The loopback hips2fits server itself: it refuses what hips2fits refuses and serves real frame pixels."""

import io
import urllib.parse

import numpy as np
from astropy.io import fits

from astro_cnn_hips.survey import HIPS2FITS_PATH, MOCSERVER_PATH, hips2fits_params

from .hips_fixtures import GALAXY, MOC_PATH

pytest_plugins = ("tests.hips_fixtures",)


def _answer(hips_server, params):
    return hips_server.answer(HIPS2FITS_PATH, urllib.parse.parse_qs(urllib.parse.urlencode(params)))


def test_fits_answer_is_the_frame_in_nanomaggies(hips_server):
    status, body, kind = _answer(hips_server, hips2fits_params("CDS/P/SDSS9/r", *GALAXY, 16, 0.396))
    assert status == 200 and kind == "application/fits"
    with fits.open(io.BytesIO(body)) as hdul:
        assert hdul[0].header["BUNIT"] == "nanomaggy" and hdul[0].data.shape == (16, 16)
        assert hdul[0].header["CTYPE1"] == "RA---TAN" and np.isfinite(hdul[0].data).all()


def test_refusals(hips_server):
    assert _answer(hips_server, hips2fits_params("CDS/P/PanSTARRS/DR1/y", *GALAXY, 8, 0.25))[0] == 404
    assert _answer(hips_server, {"hips": "CDS/P/SDSS9/r", "width": 8})[0] == 400
    assert _answer(hips_server, {**hips2fits_params("CDS/P/SDSS9/r", *GALAXY, 8, 0.4), "projection": "AIT"})[0] == 400
    assert _answer(hips_server, hips2fits_params("CDS/P/SDSS9/color", *GALAXY, 8, 0.4, "fits"))[0] == 400
    assert hips_server.answer(MOCSERVER_PATH, {})[1] == MOC_PATH.read_bytes()
    assert hips_server.answer("/elsewhere", {})[0] == 404
