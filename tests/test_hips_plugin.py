"""End to end through the entry point: ``astro-cnn cutouts`` and ``astro-cnn predict`` with ``--survey hips``."""

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from astro_cnn import registry
from astro_cnn.cli import main
from astro_cnn.engine import NetworkPredictor
from astro_cnn_hips import HiPSSurvey
from astro_cnn_hips.survey import HIPS2FITS_PATH

from .hips_fixtures import GALAXY
from .test_engine_training import _data

pytest_plugins = ("tests.hips_fixtures",)

OUTSIDE = "outside the DESI Legacy Surveys DR10 footprint"


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "targets.ecsv"
    Table({"id": [1, 2, 3], "ra": [GALAXY[0], GALAXY[0] + 0.003, 150.0],
           "dec": [GALAXY[1], GALAXY[1] + 0.002, 2.0]}).write(path)
    return path


def _cli_options(hips_options, *extra):
    pairs = {**hips_options, **dict(e.split("=", 1) for e in extra)}
    return [f"--survey-option={key}={value}" for key, value in pairs.items()]


def test_the_entry_point_registers_the_survey():
    assert "hips" in registry.names("survey")
    assert isinstance(registry.get("survey", "hips").factory(preset="ps1-dr1"), HiPSSurvey)


def test_cli_cutouts_with_every_fault(hips_server, hips_options, table_path, tmp_path, capsys):
    hips_server.fail(HIPS2FITS_PATH, "500", "429:1", "drop", "garbage", "truncate", "delay:0.2")
    args = ["cutouts", str(table_path), "--survey", "hips", "-o", str(tmp_path / "out"), "--size", "32",
            "--id-column", "id", "--no-progress"]
    assert main([*args, *_cli_options(hips_options, "preset=legacy-dr10")]) == 0
    assert "wrote 2 images" in capsys.readouterr().out
    index = Table.read(tmp_path / "out" / "index.ecsv")
    assert list(index["status"]) == ["ok", "ok", OUTSIDE]
    with fits.open(tmp_path / "out" / "1.fits") as hdul:
        assert hdul[0].data.shape == (4, 32, 32) and hdul[0].header["BANDS"] == "griz"
        x, y = WCS(hdul[0].header).celestial.all_world2pix([GALAXY], 0)[0]
        assert (x, y) == pytest.approx((15.5, 15.5), abs=1e-6)
    requests = len(hips_server.requests)
    again = [*args, "--overwrite", *_cli_options(hips_options, "preset=legacy-dr10", "offline=true")]
    assert main(again) == 0 and len(hips_server.requests) == requests  # a rerun is served by the cache


def test_cli_predict_with_a_model_trained_at_another_scale(hips_server, hips_options, table_path, tmp_path, capsys):
    images, labels = _data(n=32, bands=3)
    model = NetworkPredictor("metallicity", "hips", "gri", 32, 0.396 * u.arcsec, backbone="small_cnn")
    # what the network predicts does not matter here, only the scale it was made for: an untrained network (its
    # outputs stay near the labels' mean, where a network trained on these toy images extrapolates on real ones)
    model.learn_normalisation(images, labels, None)
    torch.manual_seed(0)
    model.members_ = [model.new_network().state_dict()]
    model_path = model.save(tmp_path / "tiny.acnn")
    hips_server.fail(HIPS2FITS_PATH, "503", "429:1", "garbage")
    args = ["predict", str(table_path), "-m", str(model_path), "--survey", "hips", "--id-column", "id",
            "--no-progress"]
    native = _cli_options(hips_options, "preset=legacy-dr10", "bands=gri")
    assert main([*args, "-o", str(tmp_path / "refused.ecsv"), *native]) != 0
    assert "trained at 0.396 arcsec per pixel but the images have 0.262 arcsec per pixel" in capsys.readouterr().err
    resampled = _cli_options(hips_options, "preset=legacy-dr10", "bands=gri", "pixel_scale=0.396")
    assert main([*args, "-o", str(tmp_path / "out.ecsv"), *resampled]) == 0
    out = Table.read(tmp_path / "out.ecsv")
    assert list(out["id"]) == [1, 2, 3] and out["status"][0] == "ok" and out["status"][2] == OUTSIDE
    assert np.isfinite(out["log_oh"][0]) and np.isnan(out["log_oh"][2])
