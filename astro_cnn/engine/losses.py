"""The training loss of a network, chosen from its quantity's kind and what its head predicts.

- A regression head: mean squared error on the standardised labels.
- A regression head that also predicts a variance (``head.predicts_variance``; its output is the
  means followed by as many log-variances): the same squared error for the means, plus the
  Gaussian negative log-likelihood of the residuals for the log-variances, the means held fixed
  in that term.  The means therefore learn exactly as without a variance, and the variance learns
  the spread of the residuals around them (a mean–variance network with the mean's gradient
  stopped in the likelihood, so that a large predicted variance cannot excuse a poor mean).
- A PDF head: cross-entropy over the bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MeanVarianceLoss", "SummedSquaredError", "loss_functions", "rise_limit", "split_mean_variance"]

#: Log-variances (standardised scale) are clamped to this range in the loss and in prediction.
_LOG_VARIANCE_RANGE = (-16.0, 8.0)


def split_mean_variance(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Means and log-variances of a variance head's output (the first and second half of its last axis).

    Parameters
    ----------
    output : torch.Tensor, shape (N, 2K)
        K means then K log-variances, on the standardised label scale.

    Returns
    -------
    mean, log_variance : torch.Tensor, shape (N, K)
        ``log_variance`` clamped to -16..8 (variances of about 1e-7 to 3,000 on the standardised
        scale), so that neither it nor its inverse overflows.
    """
    mean, log_variance = output.chunk(2, dim=-1)
    return mean, log_variance.clamp(*_LOG_VARIANCE_RANGE)


class MeanVarianceLoss(nn.Module):
    """Squared error of the means plus the Gaussian negative log-likelihood of the log-variances.

    Parameters
    ----------
    reduction : {"mean", "sum"}
        Mean or sum over galaxies (each galaxy's loss is the mean over its outputs).
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
        self.reduction = reduction

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``output`` (N, 2K) against ``target`` (N,) or (N, K)."""
        mean, log_variance = split_mean_variance(output)
        target = target.reshape(mean.shape)
        squared = (target - mean) ** 2
        likelihood = 0.5 * (log_variance + squared.detach() * torch.exp(-log_variance))
        per_galaxy = (squared + likelihood).mean(dim=-1)
        return per_galaxy.mean() if self.reduction == "mean" else per_galaxy.sum()


def loss_functions(kind: str, predicts_variance: bool = False) -> tuple[nn.Module, nn.Module]:
    """The mean loss and the summed loss over galaxies for a quantity's ``kind`` and its head.

    Parameters
    ----------
    kind : {"regression", "pdf"}
        The quantity's kind.
    predicts_variance : bool
        The head gives log-variances after the means (regression only).

    Returns
    -------
    mean_loss, summed_loss : torch.nn.Module

    Raises
    ------
    ValueError
        A PDF head that claims to predict variances.
    """
    if kind == "pdf":
        if predicts_variance:
            raise ValueError("a PDF head gives probabilities, not means and variances")
        return nn.CrossEntropyLoss(), nn.CrossEntropyLoss(reduction="sum")
    if predicts_variance:
        return MeanVarianceLoss(), MeanVarianceLoss(reduction="sum")
    return nn.MSELoss(), SummedSquaredError()


class SummedSquaredError(nn.Module):
    """The sum over galaxies of each galaxy's mean squared error over its outputs: the summed loss that,
    divided by the number of galaxies, is torch's mean squared error of one or several outputs alike."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed loss of ``output`` (N,) or (N, K) against ``target`` of the same shape."""
        squared = (output - target.reshape(output.shape)) ** 2
        return squared.reshape(len(squared), -1).mean(dim=1).sum()


def rise_limit(losses: Sequence[float], ratio: float, can_be_negative: bool = False) -> float:
    """The loss above which a run has risen too far from its best: ``ratio`` times its best for a positive loss.

    A loss that can be negative (a variance head's likelihood) has no meaningful ratio, near zero
    least of all, so there (and wherever the best is not positive) the limit is the best plus
    ``ratio - 1`` times the loss's scale: the larger of its fall from the first value to the best
    and the best's size.

    Parameters
    ----------
    losses : sequence of float
        The losses so far (finite ones; at least one).
    ratio : float
        Above 1.
    can_be_negative : bool
        The loss is a likelihood that can go below zero (``Network.predicts_variance``).

    Returns
    -------
    float
    """
    best = min(losses)
    if best > 0 and not can_be_negative:
        return ratio * best
    return best + (ratio - 1) * max(losses[0] - best, abs(best))
