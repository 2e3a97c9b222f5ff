"""Calibrated uncertainties, learned on galaxies the networks did not train on.

A regression's raw uncertainty is the spread ``s`` of its prediction over test-time augmentations
and ensemble members, with the variance a variance head predicts: it says how unstable the
prediction is, not how wrong it is.  Calibration fits ``σ² = floor² + (scale·s)²`` by maximising
the Gaussian likelihood of the held-out residuals, so that ``*_err`` is a 1σ predictive
uncertainty (about 68 % of true values within ±1σ).  Where the errors grow faster than the spread
(a network whose spread doubles from bright to faint galaxies while its errors grow fourfold) one
scale cannot hold for both: the fit then also takes a power, ``σ² = floor² + (scale·s₀·(s/s₀)^p)²``
with ``s₀`` the median spread (so ``scale`` keeps its meaning at the typical galaxy), kept only
when it raises the likelihood by more than :data:`POWER_GAIN` (a power of 0.5 to 3, tried on 200
held-out rows or more).  A binned
PDF is recalibrated by a temperature ``T``: ``p ∝ p_raw^(1/T)``, fitted by maximising the
likelihood of the true bins (``T > 1`` widens PDFs that were too narrow, as a PIT histogram rising
at both ends shows).  Both record the ±1σ (or 68 % interval) coverage before and after.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit

from ..exceptions import AstroCNNError

__all__ = ["POWER_GAIN", "POWER_RANGE", "MIN_POWER_ROWS", "fit_error_model", "apply_error_model",
           "describe_error_model", "fit_temperature", "apply_temperature", "coverage"]

#: A power other than 1 is kept when it raises the log-likelihood of the held-out residuals by more than
#: this: the likelihood-ratio test of one added parameter at 95 % (half of χ²₁ = 3.84).
POWER_GAIN = 1.92
#: The powers the fit may take (a bounded range: a power fitted to a few rows with heavy tails could
#: otherwise run to hundreds and blow the errors of unusual galaxies up to infinity).
POWER_RANGE = (0.5, 3.0)
#: Fewest held-out rows on which a power is tried.
MIN_POWER_ROWS = 200


def coverage(truth: np.ndarray, value: np.ndarray, error: np.ndarray) -> float:
    """Fraction of rows whose true value lies within ``value ± error``."""
    return float(np.mean(np.abs(np.asarray(truth) - np.asarray(value)) <= np.asarray(error)))


def fit_error_model(truth: np.ndarray, value: np.ndarray, spread: np.ndarray) -> dict[str, Any]:
    """Fit ``σ² = floor² + (scale·s₀·(s/s₀)^power)²`` to held-out residuals (maximum Gaussian likelihood).

    The power is 1 (``σ² = floor² + (scale·s)²``) unless another, within :data:`POWER_RANGE`, raises
    the log-likelihood by more than :data:`POWER_GAIN` and also predicts better out of sample: fitted
    on either half of the rows (a fixed random split), it must raise the other half's log-likelihood
    over that of power 1 by as much.  So a few outliers (residuals with heavier tails than a Gaussian) do not buy
    a power.  It is tried on :data:`MIN_POWER_ROWS` rows or more.

    Parameters
    ----------
    truth, value, spread : ndarray
        True values, predictions and raw spreads of the held-out rows (non-finite rows are ignored).

    Returns
    -------
    dict
        ``kind`` ("gaussian"), ``floor``, ``scale``, ``power``, ``reference_spread`` (``s₀``: the
        median of the positive spreads, 1 if none), ``rows`` and the ±1σ ``coverage_before`` (raw
        spread) and ``coverage_after``.
    """
    residual = np.asarray(truth, float) - np.asarray(value, float)
    spread = np.asarray(spread, float)
    keep = np.isfinite(residual) & np.isfinite(spread)
    residual, spread = residual[keep], spread[keep]
    check_calibration_rows(len(residual), "uncertainties")
    positive = spread[spread > 0]
    reference = float(np.median(positive)) if len(positive) else 1.0
    if len(residual) >= MIN_POWER_ROWS and len(positive) > 1 and positive.min() < positive.max():
        best, curved = _fitted_both(residual, spread, reference)
        half = np.random.default_rng(0).permutation(len(residual)) % 2 == 0
        if (_gain(best, curved, residual, spread, reference) > POWER_GAIN
                and all(_gain(*_fitted_both(residual[~test], spread[~test], reference), residual[test],
                              spread[test], reference) > POWER_GAIN for test in (half, ~half))):
            best = curved
    else:
        best = _fitted_linear(residual, spread, reference)
    model = {"kind": "gaussian", "floor": float(np.exp(best[0])), "scale": float(np.exp(best[1])),
             "power": _power(best), "reference_spread": reference, "rows": int(len(residual))}
    model["coverage_before"] = coverage(residual, 0.0, spread)
    model["coverage_after"] = coverage(residual, 0.0, apply_error_model(model, spread))
    return model


def _power(params: np.ndarray) -> float:
    """The power of parameters (log floor, log scale[, unbounded power]): 1, or within :data:`POWER_RANGE`."""
    low, high = POWER_RANGE
    return float(low + (high - low) * expit(params[2])) if len(params) > 2 else 1.0


def _nll(params: np.ndarray, residual: np.ndarray, spread: np.ndarray, reference: float) -> float:
    """Negative Gaussian log-likelihood of the residuals under the error model of ``params``."""
    variance = np.exp(2 * params[0]) + (np.exp(params[1]) * reference * (spread / reference) ** _power(params)) ** 2
    return float(np.sum(0.5 * np.log(variance) + 0.5 * residual**2 / variance))


def _gain(linear: np.ndarray, curved: np.ndarray, residual: np.ndarray, spread: np.ndarray,
          reference: float) -> float:
    """How much the power's parameters raise the log-likelihood of these residuals over power 1's."""
    return _nll(linear, residual, spread, reference) - _nll(curved, residual, spread, reference)


#: Nelder-Mead settings of the error-model fits.
_OPTIONS = {"xatol": 1e-4, "fatol": 1e-6, "maxiter": 4000}


def _fitted_linear(residual: np.ndarray, spread: np.ndarray, reference: float) -> np.ndarray:
    """Maximum-likelihood parameters with power 1 (log floor, log scale)."""
    rms = float(np.sqrt(np.mean(residual**2))) or 1e-6
    return minimize(_nll, np.log([rms / 2, 1.0]), args=(residual, spread, reference), method="Nelder-Mead",
                    options=_OPTIONS).x


def _fitted_both(residual: np.ndarray, spread: np.ndarray, reference: float) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood parameters with power 1 (log floor, log scale) and with a power (log floor, log
    scale, unbounded power): the best of several starts, from the power-1 fit's floor and from one well
    above zero (from a floor near zero the simplex cannot climb back)."""
    rms = float(np.sqrt(np.mean(residual**2))) or 1e-6
    linear = _fitted_linear(residual, spread, reference)
    low, high = POWER_RANGE
    starts = [[floor, linear[1], np.log((p - low) / (high - p))]
              for floor in (linear[0], np.log(rms / 2)) for p in (0.7, 1.5, 2.0, 2.7)]
    curved = min((minimize(_nll, start, args=(residual, spread, reference), method="Nelder-Mead", options=_OPTIONS)
                  for start in starts), key=lambda result: result.fun).x
    return linear, curved


def apply_error_model(model: dict[str, Any], spread: np.ndarray) -> np.ndarray:
    """Calibrated 1σ uncertainties from raw spreads (a model fitted without a power has power 1)."""
    power, reference = model.get("power", 1.0), model.get("reference_spread", 1.0)
    spread = np.asarray(spread, float)
    return np.sqrt(model["floor"] ** 2 + (model["scale"] * reference * (spread / reference) ** power) ** 2)


def describe_error_model(model: dict[str, Any], spread: str = "spread", unit: str = "") -> str:
    """The fitted error model in words, for a model card: its formula and numbers (``unit`` after the floor; a
    floor below 1e-6 is written 0).

    Examples
    --------
    >>> describe_error_model({"floor": 0.0888, "scale": 3.54}, unit=" dex")
    '`sqrt(floor² + (scale·spread)²)` with floor 0.0888 dex and scale 3.54'
    """
    floor = model["floor"] if model["floor"] >= 1e-6 else 0.0  # a fitted floor of 1e-100 is none
    if model.get("power", 1.0) == 1.0:
        return f"`sqrt(floor² + (scale·{spread})²)` with floor {floor:.3g}{unit} and scale {model['scale']:.3g}"
    return (f"`sqrt(floor² + (scale·s₀·({spread}/s₀)^power)²)` with floor {floor:.3g}{unit}, scale "
            f"{model['scale']:.3g}, power {model['power']:.2f} and s₀ {model['reference_spread']:.3g} (the median "
            f"{spread})")


#: Fewest held-out rows a calibration learns from.
MIN_ROWS = 5


def check_calibration_rows(rows: int, what: str) -> None:
    """Refuse to calibrate ``what`` ("uncertainties", "PDFs") on fewer than :data:`MIN_ROWS` held-out rows.

    Raises
    ------
    AstroCNNError
        ``rows`` is below :data:`MIN_ROWS`.
    """
    if rows < MIN_ROWS:
        raise AstroCNNError(f"{rows} held-out rows are too few to calibrate {what} (need {MIN_ROWS})")


def fit_temperature(pdf: np.ndarray, true_bin: np.ndarray) -> float:
    """The temperature ``T`` maximising the likelihood of the true bins under ``p ∝ pdf^(1/T)``."""
    pdf = np.asarray(pdf, float)
    true_bin = np.asarray(true_bin, int)
    check_calibration_rows(len(pdf), "PDFs")
    log_p = np.log(np.clip(pdf, 1e-12, None))

    def negative_log_likelihood(log_t: float) -> float:
        scaled = log_p / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(-np.sum(scaled[np.arange(len(true_bin)), true_bin] - log_norm))

    best = minimize_scalar(negative_log_likelihood, bounds=(np.log(0.2), np.log(20.0)), method="bounded")
    return float(np.exp(best.x))


def apply_temperature(pdf: np.ndarray, temperature: float) -> np.ndarray:
    """PDFs recalibrated by ``temperature`` (rows still sum to 1)."""
    log_p = np.log(np.clip(np.asarray(pdf, float), 1e-12, None)) / temperature
    log_p -= log_p.max(axis=-1, keepdims=True)
    out = np.exp(log_p)
    return out / out.sum(axis=-1, keepdims=True)
