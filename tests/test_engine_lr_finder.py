"""The learning-rate range test's suggestion."""

import numpy as np

from astro_cnn.engine.lr_finder import suggested_lr


def test_the_suggestion_is_the_steepest_fall_before_the_minimum_not_the_first_point():
    lrs = np.geomspace(1e-6, 1.0, 60)
    x = np.log10(lrs)
    # the running average starts up steeply at the first points, then the real fall near 1e-3, a minimum at
    # 1e-2 and divergence beyond
    smoothed = 2.0 - 0.8 * np.tanh((x + 3) * 2) + np.where(x > -2, (x + 2) ** 2 * 4, 0.0)
    smoothed[:3] += np.array([1.5, 0.8, 0.3])
    suggestion = suggested_lr(lrs, smoothed)
    assert suggestion != lrs[0] and 3e-4 < suggestion < 3e-3


def test_short_sweeps():
    assert suggested_lr(np.array([1e-5, 1e-4]), np.array([1.0, 0.5])) == 1e-5
    lrs = np.geomspace(1e-6, 1, 10)
    assert suggested_lr(lrs, np.linspace(1, 2, 10)) == lrs[0]  # the loss only rose: the smallest learning rate


def test_a_variance_head_sweeps_on_past_a_negative_loss():
    """A variance head's loss goes below zero while still falling; the sweep must not take that for divergence."""
    import astropy.units as u

    from astro_cnn import registry
    from astro_cnn.engine.lr_finder import lr_range_test
    from astro_cnn.engine.predictor import NetworkPredictor

    rng = np.random.default_rng(0)
    images = rng.normal(size=(200, 3, 16, 16)).astype(np.float32)
    labels = np.clip(8.5 + 0.3 * images[:, 0].mean(axis=(1, 2)) * 16, 7.1, 9.9)
    model = NetworkPredictor("metallicity", "sdss-stack", "gri", 16, 0.4 * u.arcsec, backbone="small_cnn",
                             backbone_options={"width": 8}, head="multi_output", head_options={"variance": True})
    curve = lr_range_test(model, images, labels, None, recipe_settings=registry.get("recipe", "structure").settings,
                          lr_min=1e-4, lr_max=1.0, steps=120, min_centre_snr=None)  # noise images, no galaxies
    smoothed = np.asarray(curve["smoothed_loss"])
    assert smoothed.min() < 0 and len(curve) > 60  # it went on well past the loss's first negative value


def test_the_sweep_never_draws_an_image_that_training_would_leave_out():
    import astropy.units as u

    from astro_cnn import registry
    from astro_cnn.engine.lr_finder import lr_range_test
    from astro_cnn.engine.predictor import NetworkPredictor

    rng = np.random.default_rng(0)
    labels = rng.uniform(8.2, 9.2, 64)
    yy, xx = np.mgrid[:16, :16] - 7.5
    images = ((labels[:, None, None, None] - 8.0) * 20 * np.exp(-(xx**2 + yy**2) / 6.0)[None, None]
              + rng.normal(0, 0.2, (64, 3, 16, 16))).astype(np.float32)
    images[::4] = rng.normal(0, 0.2, (16, 3, 16, 16))  # sky only
    labels[::4] = np.nan  # a sweep that drew one of them would stop at a non-finite loss
    model = NetworkPredictor("metallicity", "sdss-stack", "gri", 16, 0.4 * u.arcsec, backbone="small_cnn",
                             backbone_options={"width": 8})
    curve = lr_range_test(model, images, labels, None, recipe_settings=registry.get("recipe", "quick").settings,
                          lr_min=1e-5, lr_max=1e-3, steps=20)
    assert len(curve) == 20 and np.isfinite(curve["loss"]).all()
