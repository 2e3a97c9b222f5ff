"""Evaluation figures (matplotlib, Agg): predicted against true with running median and scatter bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import QTable

from .._atomic import atomic_path
from .metrics import nmad, rmse

__all__ = ["prediction_figure", "pit_figure", "pdf_gallery", "gallery_figure", "resolution_figure", "mzr_figure"]


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
    plt = _pyplot()
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
    return _save(fig, path)


def pit_figure(pit_values: np.ndarray, path: str | Path, bins: int = 20) -> Path:
    """Histogram of PIT values with the flat line a calibrated set of PDFs follows."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    values = np.asarray(pit_values, dtype=float)
    ax.hist(values, bins=bins, range=(0, 1), color="0.4")
    ax.axhline(len(values) / bins, color="r", lw=1, label="calibrated")
    ax.set_xlabel("PIT")
    ax.set_ylabel("objects")
    ax.legend()
    return _save(fig, path)


def pdf_gallery(pdf: np.ndarray, edges: np.ndarray, true: np.ndarray, path: str | Path, n: int = 12) -> Path:
    """The PDFs of the first ``n`` objects, each with its true value marked."""
    plt = _pyplot()
    n = min(n, len(pdf))
    cols = 4
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    centres = 0.5 * (np.asarray(edges)[1:] + np.asarray(edges)[:-1])
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.plot(centres, pdf[i], "k-", lw=1)
        ax.axvline(true[i], color="r", lw=1)
        ax.set_yticks([])
    return _save(fig, path)


def gallery_figure(images: np.ndarray, true: np.ndarray, pred: np.ndarray, path: str | Path, n: int = 6) -> Path:
    """Images of the galaxies with the lowest and highest predictions and the largest errors, labelled."""
    plt = _pyplot()
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    order = np.argsort(pred)
    groups = {"lowest predicted": order[:n], "highest predicted": order[::-1][:n],
              "largest error": np.argsort(-np.abs(pred - true))[:n]}
    fig, axes = plt.subplots(3, n, figsize=(1.8 * n, 6.2), squeeze=False)
    for row, (title, index) in enumerate(groups.items()):
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col >= len(index):
                continue
            k = index[col]
            image = np.asarray(images[k], dtype=float)
            rgb = image[:3].transpose(1, 2, 0) if image.shape[0] >= 3 else image[0]
            ax.imshow(np.clip(rgb / max(rgb.max(), 1e-9), 0, 1), origin="lower")
            ax.set_title(f"{pred[k]:.2f} ({true[k]:.2f})", fontsize=7)
        axes[row][0].text(-0.1, 0.5, title, transform=axes[row][0].transAxes, rotation=90, va="center",
                          ha="right", fontsize=8)
    return _save(fig, path)


def resolution_figure(study: QTable, path: str | Path, reference: dict[int, float] | None = None) -> Path:
    """RMSE and NMAD against image size (a :func:`astro_cnn.evaluation.resolution_study` table), optionally
    with reference points ``{size: rmse}``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    sizes = np.asarray(study["size"], dtype=float)
    ax.plot(sizes, _plain(study["rmse"]), "o-", label="RMSE")
    ax.plot(sizes, _plain(study["nmad"]), "s--", label="NMAD")
    if reference:
        ax.plot(list(reference), list(reference.values()), "k^", label="reference RMSE")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("image size (pixels)")
    ax.set_ylabel("scatter")
    ax.legend()
    return _save(fig, path)


def mzr_figure(log_mstar: np.ndarray, metallicity: np.ndarray, path: str | Path) -> Path:
    """Metallicity against stellar mass with the Tremonti et al. (2004) relation."""
    from .studies import tremonti_mzr

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(log_mstar, metallicity, s=5, c="k", alpha=0.5)
    grid = np.linspace(8.5, 11.5, 100)
    ax.plot(grid, tremonti_mzr(grid), "r-", label="Tremonti et al. (2004)")
    ax.set_xlabel("log(M*/Msun)")
    ax.set_ylabel("12+log(O/H)")
    ax.legend()
    return _save(fig, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain(column) -> np.ndarray:
    return np.asarray(getattr(column, "value", column), dtype=float)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
