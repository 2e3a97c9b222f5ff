"""The plugin's registration, configuration defaults, one-call API and the ``astro-cnn cutouts`` command."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table
from astropy.wcs import WCS

import astro_cnn
from astro_cnn import registry
from astro_cnn.cli import main
from astro_cnn.image_files import read_image
from astro_cnn_sdss import conf, cutouts, write_cutouts
from astro_cnn_sdss.plugin import astro_cnn_surveys

pytest_plugins = ("tests.sdss_fixtures",)

DATA = Path(__file__).parent / "data" / "sdss"
GALAXY = (229.525575753922, 42.7458537608544)


def test_hook_registers_both_surveys():
    specs = {spec.name: spec for spec in astro_cnn_surveys()}
    assert set(specs) == {"sdss-jpeg", "sdss-stack"}
    assert registry.get("survey", "sdss-jpeg").factory is specs["sdss-jpeg"].factory
    jpeg = specs["sdss-jpeg"].factory()
    stack = specs["sdss-stack"].factory()
    assert (jpeg.bands, jpeg.image_size, jpeg.pixel_scale) == (("i", "r", "g"), 128, 0.296 * u.arcsec)
    assert (stack.bands, stack.image_size, stack.pixel_scale) == (("u", "g", "r", "i", "z"), 64, 0.396 * u.arcsec)


def test_defaults_come_from_conf(tmp_path):
    with conf.set_temp("skyserver_url", "http://127.0.0.1:9/dr17"), conf.set_temp("cache_dir", str(tmp_path)), \
            conf.set_temp("offline", True), conf.set_temp("retries", 7):
        survey = registry.get("survey", "sdss-jpeg").factory()
    assert survey.base_url == "http://127.0.0.1:9/dr17" and survey.cache.root == tmp_path
    assert survey.client.offline and survey.client.retries == 7


def test_one_call_from_a_table(server, options):
    table = Table({"objid": [1, 2], "ra": [150.0, 150.1], "dec": [2.0, 2.1]})
    batch = cutouts(table, "sdss-jpeg", progress=False, **options)
    assert list(batch.status) == ["", ""] and batch.images.shape == (2, 3, 128, 128)
    stacks = cutouts(Table({"ra": [GALAXY[0]], "dec": [GALAXY[1]]}), "sdss-stack", size=32, **options)
    assert stacks.status[0] == "" and stacks.images.shape == (1, 5, 32, 32)
    nowhere = cutouts(Table({"objid": [3]}), "sdss-stack", size=16, **options)
    assert nowhere.status[0] == "row 0 has no position"


def test_write_cutouts_jpeg_files_and_index(server, options, tmp_path):
    table = Table({"objid": [11, 12, 13], "ra": [150.0, 150.1, 150.2], "dec": [2.0, 2.1, 2.2]})
    server.fail("/dr17/SkyServerWS/ImgCutout", "500", "500", "500")
    index = write_cutouts(table, tmp_path / "out", "sdss-jpeg", progress=False, **{**options, "max_workers": 1})
    assert list(index["status"][1:]) == ["ok", "ok"] and "HTTP 500" in index["status"][0]
    assert list(index["file"]) == ["", "12.jpg", "13.jpg"]
    assert read_image(tmp_path / "out" / "12.jpg").shape == (3, 128, 128)
    assert Table.read(tmp_path / "out" / "index.ecsv")["status"][2] == "ok"
    with pytest.raises(FileExistsError, match="index.ecsv"):
        write_cutouts(table, tmp_path / "out", "sdss-jpeg", progress=False, **options)


def test_write_cutouts_never_writes_a_garbled_jpeg(server, options, tmp_path):
    table = Table({"objid": [21, 22], "ra": [150.0, 150.1], "dec": [2.0, 2.1]})
    server.fail("/dr17/SkyServerWS/ImgCutout", "corrupt", "corrupt", "corrupt")
    index = write_cutouts(table, tmp_path / "out", "sdss-jpeg", progress=False, **{**options, "max_workers": 1})
    assert "corrupt JPEG" in index["status"][0] and index["status"][1] == "ok"
    assert list(index["file"]) == ["", "22.jpg"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["22.jpg", "index.ecsv"]


def test_cli_cutouts_stack_writes_fits_with_wcs(server, options, tmp_path):
    table_path = tmp_path / "galaxies.ecsv"
    Table({"objid": [1237662301903192106, 5], "ra": [GALAXY[0], 10.0], "dec": [GALAXY[1], 0.0]}).write(table_path)
    opts = [f"--survey-option={k}={v}" for k, v in options.items()]
    status = main(["cutouts", str(table_path), "--survey", "sdss-stack", "-o", str(tmp_path / "stacks"),
                   "--no-progress", *opts])
    assert status == 0
    with fits.open(tmp_path / "stacks" / "1237662301903192106.fits") as hdul:
        assert hdul[0].data.shape == (5, 64, 64) and hdul[0].header["BANDS"] == "ugriz"
        assert hdul[0].header["BUNIT"] == "nanomaggy" and hdul["WEIGHT"].data.shape == (5, 64, 64)
        x, y = WCS(hdul[0].header).celestial.all_world2pix([GALAXY], 0)[0]
        assert (x, y) == pytest.approx((31.5, 31.5))
    index = Table.read(tmp_path / "stacks" / "index.ecsv")
    assert index["status"][0] == "ok" and "no SDSS frame covers" in index["status"][1]
    n = len(server.requests)
    offline = [*opts, "--survey-option=offline=true", "--overwrite"]
    assert main(["cutouts", str(table_path), "--survey", "sdss-stack", "-o", str(tmp_path / "stacks"),
                 "--no-progress", *offline]) == 0
    assert len(server.requests) == n


def test_cli_cutouts_from_local_jpeg_dir(tmp_path, capsys):
    ids = [int(p.stem) for p in sorted((DATA / "jpeg").glob("*.jpg"))]
    table_path = tmp_path / "ids.csv"
    Table({"objid": ids + [7]}).write(table_path)
    status = main(["cutouts", str(table_path), "-o", str(tmp_path / "jpegs"), "--no-progress",
                   f"--survey-option=jpeg_dir={DATA / 'jpeg'}", "--survey-option=offline=true"])
    assert status == 0 and "wrote 3 images" in capsys.readouterr().out
    assert "no position and no cutout 7.jpg" in Table.read(tmp_path / "jpegs" / "index.ecsv")["status"][3]
    assert (tmp_path / "jpegs" / f"{ids[0]}.jpg").read_bytes() == (DATA / "jpeg" / f"{ids[0]}.jpg").read_bytes()


def test_a_masked_objid_is_not_looked_up_by_its_hidden_value(tmp_path):
    """A masked objid used to find the cutout under the value its mask hides and give the row a value marked "ok";
    the row is flagged, its id stays masked, the others are measured."""
    ids = [int(p.stem) for p in sorted((DATA / "jpeg").glob("*.jpg"))]
    table = Table({"objid": MaskedColumn(ids, mask=[False, True, False])})
    out = astro_cnn.predict(table, quantity="metallicity",
                            survey_options={"jpeg_dir": str(DATA / "jpeg"), "offline": True})
    assert list(out["status"]) == ["ok", "no position and no identifier (masked) in column 'objid'", "ok"]
    assert list(np.ma.getmaskarray(out["objid"])) == [False, True, False]
    assert np.isnan(out["log_oh"][1]) and np.isfinite(out["log_oh"][[0, 2]]).all()


def test_cutouts_of_an_id_only_table_skip_a_masked_objid(tmp_path):
    ids = [int(p.stem) for p in sorted((DATA / "jpeg").glob("*.jpg"))]
    table = Table({"objid": MaskedColumn(ids, mask=[False, True, False])})
    index = write_cutouts(table, tmp_path / "out", "sdss-jpeg", progress=False, jpeg_dir=str(DATA / "jpeg"),
                          offline=True)
    assert list(index["status"] == "ok") == [True, False, True]
    assert index["status"][1] == "no position and no identifier (masked) in column 'objid'"
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jpg")) == [f"{ids[0]}.jpg", f"{ids[2]}.jpg"]


def test_cli_cutouts_that_make_no_image_fail(tmp_path, capsys):
    """Every row failed and the command still exited 0, as if it had done its work (predict exits 1)."""
    table_path = tmp_path / "ids.csv"
    Table({"objid": [7, 8]}).write(table_path)
    status = main(["cutouts", str(table_path), "-o", str(tmp_path / "jpegs"), "--no-progress",
                   f"--survey-option=jpeg_dir={DATA / 'jpeg'}", "--survey-option=offline=true"])
    captured = capsys.readouterr()
    assert status == 1 and "wrote 0 images" in captured.out
    assert "no image could be made for any of the 2 rows" in captured.err
