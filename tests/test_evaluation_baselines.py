"""Baselines beside a CNN: aperture photometry (photutils) of the same images feeding a random forest."""

import astropy.units as u
import numpy as np
import pytest

import astro_cnn
from astro_cnn import read_table
from astro_cnn.evaluation.baselines import aperture_forest, aperture_photometry_features, mean_predictor
from astro_cnn.evaluation.metrics import rmse
from astro_cnn.models import default_model
from astro_cnn_sdss.surveys import BUNDLED_JPEG_DIR

SCALE = 0.4 * u.arcsec
RADII = (1.0, 2.0, 4.0, 8.0)


def _gaussian_source(flux: float, sigma_pix: float, size: int = 64) -> np.ndarray:
    """A 2-D Gaussian of total ``flux`` centred on a ``size`` x ``size`` image."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    profile = np.exp(-(x ** 2 + y ** 2) / (2 * sigma_pix ** 2))
    return flux * profile / profile.sum()


def _images(fluxes, sigma_pix=1.5, sky=10.0, noise=0.05, seed=0) -> np.ndarray:
    """One image per row of ``fluxes`` (one flux per band) on a noisy sky."""
    rng = np.random.default_rng(seed)
    fluxes = np.atleast_2d(fluxes)
    return np.stack([[_gaussian_source(f, sigma_pix) + sky + rng.normal(0, noise, (64, 64)) for f in row]
                     for row in fluxes])


def test_features_recover_the_flux_colour_and_concentration_of_a_source_on_a_sky():
    features = aperture_photometry_features(_images([[1000.0, 100.0]]), SCALE, RADII)
    n_bands, n_radii = 2, len(RADII)
    assert features.shape == (1, n_bands * n_radii + n_radii + n_bands * (n_radii - 1))
    magnitudes = features[0, :n_bands * n_radii].reshape(n_bands, n_radii)
    # the sky of 10 per pixel is removed: the largest aperture (20 px) holds the source's whole flux
    np.testing.assert_allclose(magnitudes[:, -1], -2.5 * np.log10([1000.0, 100.0]), atol=0.02)
    colours = features[0, n_bands * n_radii:n_bands * n_radii + n_radii]
    np.testing.assert_allclose(colours[-1], -2.5, atol=0.03)  # first band minus second, 10 times brighter
    concentration = features[0, -n_bands * (n_radii - 1):].reshape(n_bands, n_radii - 1)
    # a 1.5-pixel Gaussian: 1 arcsec (2.5 px) holds 75 % of the light (0.31 mag), 4 arcsec all of it
    np.testing.assert_allclose(concentration[:, 0], 0.31, atol=0.03)
    np.testing.assert_allclose(concentration[:, -1], 0.0, atol=0.03)


def test_a_compact_source_is_more_concentrated_than_an_extended_one():
    compact = aperture_photometry_features(_images([[500.0]], sigma_pix=1.0), SCALE, RADII)
    extended = aperture_photometry_features(_images([[500.0]], sigma_pix=4.0), SCALE, RADII)
    # magnitude in the 1 arcsec aperture minus that in the 8 arcsec one
    assert compact[0, len(RADII)] < 0.1 < 1.5 < extended[0, len(RADII)]  # 0.05 and 1.88 mag expected


def test_faint_and_negative_fluxes_keep_finite_magnitudes():
    features = aperture_photometry_features(_images([[0.0], [-5.0], [3.0]]), SCALE, RADII)
    assert np.isfinite(features).all()
    magnitudes = features[:, :len(RADII)]
    assert np.all(magnitudes[2] < magnitudes[0]) and np.all(magnitudes[0] < magnitudes[1])


@pytest.mark.parametrize("radii, match", [((1.0, 12.0), "reaches the outer 8 pixels"), ((2.0, 1.0), "increasing"),
                                          ((), "increasing"), ((0.0, 1.0), "positive")])
def test_bad_radii_are_refused_by_their_argument_name(radii, match):
    with pytest.raises(ValueError, match=f"radii_arcsec.*{match}"):
        aperture_photometry_features(_images([[100.0]]), SCALE, radii)


def test_rows_without_finite_pixels_are_predicted_nan_or_left_out_of_training():
    rng = np.random.default_rng(1)
    fluxes = rng.uniform(50, 5000, 30)
    images = _images(fluxes[:, None], seed=2)
    labels = np.log10(fluxes)
    images[0, 0, 32, 32] = np.nan
    predictions = aperture_forest(images, labels, images, SCALE, RADII)
    assert np.isnan(predictions[0]) and np.isfinite(predictions[1:]).all()
    assert rmse(predictions[1:] - labels[1:]) < 0.5 * rmse(mean_predictor(labels, 29) - labels[1:])
    with pytest.raises(ValueError, match="train_images, train_labels: 1 of 2 training rows"):
        aperture_forest(images[:2], labels[:2], images, SCALE, RADII)


def test_aperture_forest_beats_the_mean_on_the_real_metallicity_demo_cutouts():
    """The 100 real SDSS gri cutouts of the metallicity demo: every third galaxy held out."""
    table = read_table(default_model("metallicity").demo_table)
    images = np.stack([astro_cnn.read_image(BUNDLED_JPEG_DIR / f"{objid}.jpg") for objid in table["objid"]])
    labels = np.asarray(table["oh_p50"].value, dtype=float)
    test = np.arange(len(table)) % 3 == 0
    predictions = aperture_forest(images[~test], labels[~test], images[test], 0.296 * u.arcsec)
    forest, mean = rmse(predictions - labels[test]), rmse(mean_predictor(labels[~test], test.sum()) - labels[test])
    assert forest < 0.8 * mean  # measured: 0.137 dex against 0.201


def test_aperture_forest_beats_the_mean_on_the_injected_flux_stacks():
    """The 40 bundled ugriz stacks (nanomaggies) of injected galaxies: stellar mass, every third held out."""
    demo = default_model("stellar_mass").demo_table
    table = read_table(demo)
    images = np.stack([astro_cnn.read_image(demo.parent / name) for name in table["image"]])
    labels = np.asarray(table["log_mstar_taylor2011"].value, dtype=float)
    test = np.arange(len(table)) % 3 == 0
    predictions = aperture_forest(images[~test], labels[~test], images[test], 0.396 * u.arcsec)
    forest, mean = rmse(predictions - labels[test]), rmse(mean_predictor(labels[~test], test.sum()) - labels[test])
    assert forest < 0.7 * mean  # measured: 0.49 dex against 0.84
