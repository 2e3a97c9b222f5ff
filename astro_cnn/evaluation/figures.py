"""Evaluation figures (matplotlib, Agg): predicted against true with running median and scatter bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .metrics import nmad, rmse

__all__ = ["prediction_figure"]


def prediction_figure(true: np.ndarray, pred: np.ndarray, path: str | Path, *, label: str = "value",
                      true_label: str | None = None, unit: str = "") -> Path:
    """Predicted vs true (2-D histogram or points), running median, ±RMSE and ±NMAD bands, residual histogram.

    Parameters
    ----------
    true, pred : ndarray
        Values (non-finite rows are left out).
    path : path
        Output file (PNG or PDF, by suffix); written atomically, replacing an earlier figure.
    label, unit : str
        Label of the predicted values (y axis) and unit.
    true_label : str, optional
        Label of the true values (x axis); default ``"true " + label``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    good = np.isfinite(true) & np.isfinite(pred)
    true, pred = true[good], pred[good]
    residual = pred - true
    lo, hi = np.percentile(np.concatenate([true, pred]), [0.5, 99.5])
    fig, (ax, inset) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    if len(true) > 2000:
        ax.hist2d(true, pred, bins=80, range=[[lo, hi], [lo, hi]], cmap="Greys", cmin=1)
    else:
        ax.scatter(true, pred, s=8, c="k", alpha=0.6)
    grid = np.linspace(lo, hi, 100)
    ax.plot(grid, grid, "r-", lw=1, label="one to one")
    ax.fill_between(grid, grid - rmse(residual), grid + rmse(residual), color="C0", alpha=0.15,
                    label=f"±RMSE = {rmse(residual):.3f}")
    ax.fill_between(grid, grid - nmad(residual), grid + nmad(residual), color="C1", alpha=0.25,
                    label=f"±NMAD = {nmad(residual):.3f}")
    edges = np.quantile(true, np.linspace(0, 1, 11))
    centres = 0.5 * (edges[1:] + edges[:-1])
    medians = [np.median(pred[(true >= a) & (true <= b)]) for a, b in zip(edges[:-1], edges[1:])]
    ax.plot(centres, medians, "o-", color="C3", ms=4, label="running median")
    suffix = f" [{unit}]" if unit else ""
    ax.set_xlabel(f"{true_label or 'true ' + label}{suffix}")
    ax.set_ylabel(f"predicted {label}{suffix}")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.legend(loc="upper left", fontsize=8)
    inset.hist(residual, bins=40, color="0.4")
    inset.axvline(0, color="r", lw=1)
    inset.set_xlabel(f"predicted − true{suffix}")
    inset.set_ylabel("galaxies")
    inset.set_title(f"N = {len(true)}, bias = {np.mean(residual):+.3f}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
