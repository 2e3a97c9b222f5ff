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
