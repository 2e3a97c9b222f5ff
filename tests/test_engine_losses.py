"""Training losses: squared error, the mean–variance loss of heads that give their own uncertainty, cross-entropy."""

import astropy.units as u
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from astro_cnn.engine import NetworkPredictor
from astro_cnn.engine.losses import (
    MeanVarianceLoss,
    SummedSquaredError,
    loss_functions,
    rise_limit,
    split_mean_variance,
)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 7), k=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_summed_losses_over_galaxies_are_the_mean_losses_times_the_galaxies(n, k, seed):
    """Distributed training divides the summed loss by the galaxies of the batch: that must be the mean loss
    for one output or several (a sum over every element would be K times too large)."""
    generator = torch.Generator().manual_seed(seed)
    target = torch.randn(n, k, generator=generator)
    for predicts_variance, width in ((False, k), (True, 2 * k)):
        output = torch.randn(n, width, generator=generator)
        mean_loss, summed_loss = loss_functions("regression", predicts_variance)
        torch.testing.assert_close(summed_loss(output, target) / n, mean_loss(output, target))


def test_the_means_learn_exactly_as_with_squared_error():
    output = torch.randn(5, 6, requires_grad=True)
    target = torch.randn(5, 3)
    MeanVarianceLoss()(output, target).backward()
    mean_gradient = output.grad[:, :3].clone()
    plain = output.detach()[:, :3].clone().requires_grad_(True)
    nn.MSELoss()(plain, target).backward()
    torch.testing.assert_close(mean_gradient, plain.grad)


def test_the_best_log_variance_is_the_log_of_the_squared_residual():
    residual = torch.tensor([[0.1, 1.0, 3.0]])
    log_variance = torch.zeros(1, 3, requires_grad=True)
    optimizer = torch.optim.Adam([log_variance], lr=0.05)
    for _ in range(2000):
        optimizer.zero_grad()
        MeanVarianceLoss()(torch.cat([residual, log_variance], dim=1), torch.zeros(1, 3)).backward()
        optimizer.step()
    torch.testing.assert_close(log_variance.detach(), torch.log(residual**2), atol=1e-2, rtol=0)


def test_log_variances_are_clamped_and_pdf_heads_give_no_variance():
    _, log_variance = split_mean_variance(torch.tensor([[0.0, 1e6], [0.0, -1e6]]))
    assert torch.isfinite(torch.exp(log_variance)).all() and torch.exp(-log_variance).isfinite().all()
    with pytest.raises(ValueError, match="PDF head gives probabilities"):
        loss_functions("pdf", predicts_variance=True)
    assert isinstance(loss_functions("regression")[1], SummedSquaredError)


def test_a_variance_head_gives_each_galaxy_its_own_error_without_test_time_augmentation():
    """Two kinds of galaxy: one whose labels the image fixes, one whose labels scatter by 0.4 around the same
    value; trained with no augmentation at test time, the variance head alone must tell them apart."""
    rng = np.random.default_rng(3)
    n = 160
    noisy = np.arange(n) % 2 == 1
    images = np.where(noisy[:, None, None, None], -1.0, 1.0) * np.ones((n, 5, 16, 16), np.float32)
    images = (images + rng.normal(0, 0.05, images.shape)).astype(np.float32)
    truth = np.column_stack([np.full(n, 2.0), np.full(n, 3.0), np.full(n, 0.6)])
    scatter = np.where(noisy, 0.4, 0.01)[:, None] * rng.normal(size=(n, 3))
    labels = np.column_stack([10 ** (np.log10(truth[:, :2]) + 0.5 * scatter[:, :2]),
                              1 / (1 + np.exp(-(np.log(0.6 / 0.4) + scatter[:, 2])))])
    model = NetworkPredictor("structure", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, backbone="small_cnn",
                             backbone_options={"width": 8}, head="multi_output", head_options={"variance": True},
                             tta=False)
    model.fit(images, labels, recipe="quick", epochs=40, batch_size=32, progress=False, log=lambda line: None,
              min_centre_snr=None)  # flat images: two kinds of galaxy told apart by their level alone
    prediction = model.predict_images(images[:8])
    errors = np.stack([prediction.output(k)[1] for k in range(3)], axis=1)
    assert np.all(errors > 0)
    assert np.all(errors[1::2] > 5 * errors[0::2])  # the noisy kind gets the larger error, in every output


def test_the_rise_limit_scales_with_the_best_or_with_the_fall():
    assert rise_limit([3.0, 1.0, 2.0], 1.5) == 1.5
    falling = [0.5, 0.2, 0.05, -0.01, -0.2, -0.4]  # still falling through zero: never above the limit
    assert all(falling[k] <= rise_limit(falling[:k + 1], 4.0) for k in range(len(falling)))
    assert rise_limit([1.0, -1.0, 0.2], 1.5) == 0.0  # best -1, fall 2: half of it above the best
    assert rise_limit([-0.5, -0.49], 1.5) == -0.25  # best first: half its size
    # a likelihood just above zero is judged by its scale too, not by a ratio of a near-zero best
    assert rise_limit([0.9, 0.05, 0.08], 1.5, can_be_negative=True) == pytest.approx(0.475)
    assert rise_limit([0.5, 0.2, 0.02, 0.07], 4.0, can_be_negative=True) == pytest.approx(1.46)
