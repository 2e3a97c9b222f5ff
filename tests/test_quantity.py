"""Quantities turn raw predictions into columns with units."""

import astropy.units as u
import numpy as np
import pytest

from astro_cnn import Prediction, registry


def test_metallicity_in_dex(clean_registry):
    q = clean_registry.get("quantity", "metallicity")
    cols = q.output_columns(Prediction(np.array([8.9]), np.array([0.08])))
    assert cols["log_oh"].unit == u.dex and cols["log_oh_err"].unit == u.dex
    assert cols["log_oh"].value[0] == pytest.approx(8.9)


def test_stellar_mass_in_dex_msun_with_plain_dex_error(clean_registry):
    q = clean_registry.get("quantity", "stellar_mass")
    cols = q.output_columns(Prediction(np.array([10.5]), np.array([0.2])))
    assert cols["log_mstar"].unit == u.dex(u.Msun)
    assert cols["log_mstar"].physical.to_value(u.Msun)[0] == pytest.approx(10**10.5)
    assert cols["log_mstar_err"].unit == u.dex


def test_photo_z_pdf_columns(clean_registry):
    q = registry.get("quantity", "photo_z")
    edges = q.bin_edges
    assert len(edges) == 181 and edges[0] == 0.0 and edges[-1] == pytest.approx(0.4)
    pdf = np.zeros((2, 180))
    pdf[0, 45] = 1.0  # one bin: z in [0.1, 0.10222)
    pdf[1, 10:30] = 1.0  # flat over [0.0222, 0.0667)
    pred = q.summarise_pdf(pdf)
    cols = q.output_columns(pred)
    assert set(cols) == {"z_phot", "z_phot_err", "z_mode", "z_median", "z_lo68", "z_hi68", "z_width68", "z_pdf"}
    assert cols["z_phot"].unit == u.dimensionless_unscaled
    assert cols["z_phot"].value[0] == pytest.approx(0.1 + 0.2 / 180 / 1, rel=1e-3)
    assert cols["z_median"].value[1] == pytest.approx(np.mean([10, 30]) * 0.4 / 180, rel=1e-6)
    assert cols["z_width68"].value[1] == pytest.approx(0.68 * 20 * 0.4 / 180, rel=1e-6)
    assert cols["z_pdf"].shape == (2, 180)
