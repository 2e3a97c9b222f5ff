"""Baselines to run beside a CNN on the same split: the mean, and random forests (scikit-learn).

The fair baseline for a network that reads images is :func:`aperture_forest`: a random forest on
aperture photometry (photutils) of the same images, so that a CNN is only worth its cost where it
beats what the images' fluxes, colours and light profile already say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import astropy.units as u
import numpy as np

from ..image_checks import sky_border_width

__all__ = ["APERTURE_RADII", "mean_predictor", "mean_colours", "mean_colour_forest", "photometry_forest",
           "aperture_photometry_features", "aperture_forest", "FOREST_SETTINGS", "forest_regressor"]

#: Default radii (arcsec) of the apertures of :func:`aperture_photometry_features`.
APERTURE_RADII = (1.0, 2.0, 4.0, 8.0)
#: Settings of the random forest of every baseline here (scikit-learn ``RandomForestRegressor``).
FOREST_SETTINGS = {"n_estimators": 300, "min_samples_leaf": 3}
#: Softening of the asinh magnitudes where the sky has no noise at all (a synthetic image).
_MIN_SOFTENING = 1e-30


def mean_predictor(train_labels: np.ndarray, n: int) -> np.ndarray:
    """Predict the mean training label for ``n`` objects."""
    return np.full(n, float(np.mean(np.asarray(train_labels, dtype=float))))


def mean_colours(images: np.ndarray) -> np.ndarray:
    """The "1×1 pixel" image: each band's mean over the image, and the differences between bands."""
    return _with_differences(np.asarray(images, dtype=float).mean(axis=(2, 3)))


def mean_colour_forest(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                       seed: int = 0) -> np.ndarray:
    """A random forest on :func:`mean_colours` (Wu & Boada's 1-pixel limit): predictions for ``test_images``."""
    return _forest(mean_colours(train_images), train_labels, mean_colours(test_images), seed)


def photometry_forest(train_magnitudes: np.ndarray, train_labels: np.ndarray, test_magnitudes: np.ndarray,
                      seed: int = 0) -> np.ndarray:
    """A random forest on magnitudes plus all their colours (e.g. Wu & Boada's gri, Pasquet-style ugriz)."""
    return _forest(_with_differences(np.asarray(train_magnitudes, dtype=float)), train_labels,
                   _with_differences(np.asarray(test_magnitudes, dtype=float)), seed)


def aperture_photometry_features(images: np.ndarray, pixel_scale: u.Quantity | float,
                                 radii_arcsec: Sequence[float] = APERTURE_RADII) -> np.ndarray:
    """Photometry of the source at the centre of each image: magnitudes, colours and concentration.

    In each band, the light in circular apertures centred on the image (photutils, exact pixel
    overlap) minus the sky: the sigma-clipped (3σ) median of the image's border, the outer eighth
    on each side, times the aperture's area.  Each flux becomes an asinh magnitude (Lupton, Gunn &
    Szalay 1999), −2.5 log10(e) [asinh(f / 2b) + ln b], softened by the aperture's sky noise b
    (clipped standard deviation of the border × √area): it equals −2.5 log10 f for bright sources
    and stays finite for faint and negative fluxes.  It suits fluxes (FITS stacks in nanomaggies)
    and colour-JPEG values alike; magnitudes have no zero point, which a random forest does not need.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Images, bands first, centred on the galaxies.
    pixel_scale : Quantity or float
        Pixel scale (a float is in arcsec per pixel).
    radii_arcsec : sequence of float
        Aperture radii in arcsec, smallest first.

    Returns
    -------
    ndarray, shape (N, F)
        Per image: the C·R magnitudes (band-major: every radius of the first band, then the next
        band); the colours, every difference of two bands' magnitudes at each radius; and the
        concentration, each band's magnitude in every aperture but the largest minus that in the
        largest.  Images with non-finite pixels give non-finite features.

    Raises
    ------
    ValueError
        ``images`` is not 4-D, ``pixel_scale`` is not positive, ``radii_arcsec`` is empty, not
        positive and increasing, or its largest aperture reaches the border where the sky is measured.
    """
    from astropy.stats import sigma_clipped_stats
    from photutils.aperture import CircularAperture

    images = np.asarray(images, dtype=float)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got shape {images.shape}")
    scale = u.Quantity(pixel_scale, u.arcsec).to_value(u.arcsec)
    if not scale > 0:
        raise ValueError(f"pixel_scale must be positive, got {pixel_scale!r}")
    radii = np.asarray(radii_arcsec, dtype=float) / scale
    if not len(radii) or not np.all(radii > 0) or np.any(np.diff(radii) <= 0):
        raise ValueError(f"radii_arcsec must be positive and increasing, got {tuple(radii_arcsec)!r}")
    height, width = images.shape[2:]
    edge = sky_border_width(height, width)
    if radii[-1] > min(height, width) / 2 - edge:
        raise ValueError(f"radii_arcsec: the largest aperture ({radii_arcsec[-1]:g} arcsec = {radii[-1]:.1f} pixels at "
                         f"{scale:g} arcsec per pixel) reaches the outer {edge} pixels of the {width}x{height}-pixel "
                         f"images, where the sky is measured; use radii up to "
                         f"{(min(height, width) / 2 - edge) * scale:.1f} arcsec")
    border = np.ones((height, width), dtype=bool)
    border[edge:-edge, edge:-edge] = False
    _, sky, sky_noise = sigma_clipped_stats(images[..., border], sigma=3.0, axis=2)
    centre = ((width - 1) / 2, (height - 1) / 2)
    weights = np.stack([CircularAperture(centre, r=r).to_mask(method="exact").to_image((height, width))
                        for r in radii])
    area = weights.sum(axis=(1, 2))
    flux = np.einsum("nchw,rhw->ncr", images, weights) - sky[..., None] * area
    softening = np.maximum(sky_noise[..., None] * np.sqrt(area), _MIN_SOFTENING)
    magnitudes = -2.5 * np.log10(np.e) * (np.arcsinh(flux / (2 * softening)) + np.log(softening))
    n_images, n_bands, _ = magnitudes.shape
    colours = [magnitudes[:, i] - magnitudes[:, j] for i in range(n_bands) for j in range(i + 1, n_bands)]
    concentration = magnitudes[:, :, :-1] - magnitudes[:, :, -1:]
    return np.column_stack([magnitudes.reshape(n_images, -1), *colours, concentration.reshape(n_images, -1)])


def aperture_forest(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                    pixel_scale: u.Quantity | float, radii_arcsec: Sequence[float] = APERTURE_RADII,
                    seed: int = 0) -> np.ndarray:
    """A random forest on :func:`aperture_photometry_features` of the same images a CNN sees.

    Parameters
    ----------
    train_images, test_images : ndarray, shape (N, C, H, W)
        Training and test images, with the same bands and pixel scale.
    train_labels : ndarray, shape (N,)
        The quantity for each training image.
    pixel_scale, radii_arcsec
        As in :func:`aperture_photometry_features`.
    seed : int
        Seed of the forest.

    Returns
    -------
    ndarray
        One prediction per test image; NaN where its features are not finite (non-finite pixels).
        Training rows whose features or label are not finite are left out of the fit.

    Raises
    ------
    ValueError
        Fewer than 2 training rows have finite features and labels, or as
        :func:`aperture_photometry_features`.
    """
    train_x = aperture_photometry_features(train_images, pixel_scale, radii_arcsec)
    test_x = aperture_photometry_features(test_images, pixel_scale, radii_arcsec)
    train_y = np.asarray(train_labels, dtype=float)
    usable = np.isfinite(train_x).all(axis=1) & np.isfinite(train_y)
    if usable.sum() < 2:
        raise ValueError(f"train_images, train_labels: {int(usable.sum())} of {len(train_y)} training rows have "
                         "finite pixels and labels; at least 2 are needed")
    measurable = np.isfinite(test_x).all(axis=1)
    predictions = np.full(len(test_x), np.nan)
    if measurable.any():
        predictions[measurable] = _forest(train_x[usable], train_y[usable], test_x[measurable], seed)
    return predictions


def _with_differences(values: np.ndarray) -> np.ndarray:
    """Columns of ``values`` followed by every pairwise difference (colours)."""
    n = values.shape[1]
    return np.column_stack([values, *(values[:, i] - values[:, j] for i in range(n) for j in range(i + 1, n))])


def forest_regressor(seed: int = 0, **options: Any):
    """The random forest every baseline here uses (scikit-learn, unfitted).

    Parameters
    ----------
    seed : int
        Its ``random_state``.
    **options
        Override :data:`FOREST_SETTINGS` or set other ``RandomForestRegressor`` parameters.

    Returns
    -------
    sklearn.ensemble.RandomForestRegressor
    """
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**{**FOREST_SETTINGS, **options}, random_state=seed, n_jobs=-1)


def _forest(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, seed: int) -> np.ndarray:
    return forest_regressor(seed).fit(train_x, np.asarray(train_y, dtype=float)).predict(test_x)
