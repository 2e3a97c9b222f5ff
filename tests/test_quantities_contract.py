"""All three built-in quantities through the Table contract: units, PDF columns and bin edges, extras."""

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

import astro_cnn
from astro_cnn import read_table, write_table
from astro_cnn.engine import NetworkPredictor


def _files(tmp_path, bands, n=12):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16] - 7.5
    galaxy = 20 * np.exp(-(xx**2 + yy**2) / 6.0)  # a source at the centre, as the presence check requires
    images = (rng.normal(0, 1, (n, bands, 16, 16)) + galaxy).astype(np.float32)
    names = []
    for i, image in enumerate(images):
        fits.writeto(tmp_path / f"g{i}.fits", image)
        names.append(f"g{i}.fits")
    return images, names


def test_photo_z_table_has_pdf_columns_and_needs_ebv(tmp_path):
    images, names = _files(tmp_path, 5)
    rng = np.random.default_rng(1)
    model = NetworkPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, extras=("ebv",),
                             backbone="small_cnn", head_options={"hidden": (16, 16)}, tta=False)
    model.fit(images, rng.uniform(0.02, 0.3, len(images)), {"ebv": rng.uniform(0, 0.1, len(images))},
              recipe="quick", epochs=1, progress=False, log=lambda line: None)
    table = Table({"objid": np.arange(12), "file": names, "ebv": np.append(np.full(11, 0.03), np.nan)})
    out = astro_cnn.predict(table, model=model, image_column="file", image_dir=tmp_path)
    for name in ("z_phot", "z_phot_err", "z_mode", "z_median", "z_lo68", "z_hi68", "z_width68", "z_pdf"):
        assert name in out.colnames
    assert out["z_phot"].unit == u.dimensionless_unscaled and out["z_pdf"].shape == (12, 180)
    assert len(out.meta["astro_cnn"]["pdf_bin_edges"]) == 181
    assert np.all((out["z_lo68"][:11] <= out["z_median"][:11]) & (out["z_median"][:11] <= out["z_hi68"][:11]))
    assert out["flag"][11] and "'ebv'" in out["status"][11] and np.isnan(out["z_phot"][11])
    back = read_table(write_table(out, tmp_path / "pz.ecsv"))
    np.testing.assert_allclose(back["z_pdf"][:11], out["z_pdf"][:11], rtol=1e-6)


def test_stellar_mass_in_dex_msun(tmp_path):
    images, names = _files(tmp_path, 3)
    model = NetworkPredictor("stellar_mass", "sdss-jpeg", "irg", 16, 0.296 * u.arcsec, backbone="small_cnn",
                             tta=False)
    model.fit(images, np.random.default_rng(2).uniform(9, 11.5, len(images)), recipe="quick", epochs=1,
              progress=False, log=lambda line: None)
    out = astro_cnn.predict(Table({"file": names}), model=model, image_column="file", image_dir=tmp_path)
    assert out["log_mstar"].unit == u.dex(u.Msun) and out["log_mstar_err"].unit == u.dex
    assert np.all(out["log_mstar"].physical.to_value(u.Msun) > 1e8)
