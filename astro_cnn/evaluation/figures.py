"""Evaluation figures drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, the backend untouched).

Every function returns the figure and, given a path, also writes it (PNG or PDF by suffix).  Axes show every
finite point (limits from the full range, never percentiles) and carry physical labels
(:data:`AXIS_LABELS`, in matplotlib mathtext).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from astropy.table import QTable
from matplotlib.figure import Figure

from .._atomic import atomic_path
from .metrics import nmad, rmse
from .photoz import delta_z, pit_histogram, sigma_mad

__all__ = ["prediction_figure", "pit_figure", "pdf_gallery", "gallery_figure", "resolution_figure", "mzr_figure",
           "pit_bins", "AXIS_LABELS", "DELTA_Z_LABEL"]

#: Axis label of each built-in quantity (matplotlib mathtext), by quantity name.
AXIS_LABELS = {
    "metallicity": r"$12+\log(\mathrm{O/H})$",
    "stellar_mass": r"$\log(M_\star/\mathrm{M}_\odot)$",
    "photo_z": r"$z$",
}
#: Label of photometric-redshift residuals.
DELTA_Z_LABEL = r"$\Delta z/(1+z_\mathrm{spec})$"

_Z_SPEC, _Z_PHOT = r"spectroscopic redshift $z_\mathrm{spec}$", r"photometric redshift $z_\mathrm{phot}$"
_DPI = 110


def prediction_figure(true: np.ndarray, pred: np.ndarray, path: str | Path | None = None, *, label: str = "value",
                      true_label: str | None = None, unit: str = "", residual_unit: str | None = None,
                      residual: Literal["difference", "delta_z"] = "difference",
                      outlier_threshold: float | None = None) -> Figure:
    """Predicted against true (points, or a 2-D histogram above 2000 objects) and a histogram of the residuals.

    The running median (equal-count bins) is drawn over the points, the ±NMAD band as a fill and the
    ±RMSE band as lines above it (for photo-z: ±σ_MAD (1 + z) and the outlier limits ±η (1 + z)).

    Parameters
    ----------
    true, pred : ndarray
        Values (non-finite rows are left out).
    path : path, optional
        Output file (PNG or PDF, by suffix); written atomically, replacing an earlier figure.
    label : str
        Label of the quantity, e.g. ``AXIS_LABELS["metallicity"]``; the axes read "true …" and "predicted …".
    true_label : str, optional
        Label of the x axis instead of ``"true " + label``.
    unit : str
        Unit appended to both value axes (leave empty for logarithmic quantities such as 12+log(O/H)).
    residual_unit : str, optional
        Unit of the residuals (default ``unit``; ``"dex"`` for logarithmic quantities).
    residual : {"difference", "delta_z"}
        Residuals ``pred − true``, or the photo-z Δz = (z_phot − z_spec)/(1 + z_spec); with "delta_z" the axes are
        labelled z_spec and z_phot.
    outlier_threshold : float, optional
        Absolute residual above which an object is an outlier; drawn when given.

    Returns
    -------
    Figure
    """
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    good = np.isfinite(true) & np.isfinite(pred)
    true, pred = true[good], pred[good]
    photoz = residual == "delta_z"
    res = delta_z(pred, true) if photoz else pred - true
    lo, hi = _limits(true, pred)
    fig = _figure((9.5, 4.2))
    ax, hist_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    if len(true) > 2000:
        from matplotlib.colors import LogNorm

        *_, mesh = ax.hist2d(true, pred, bins=80, range=[[lo, hi], [lo, hi]], cmap="Greys", cmin=1, norm=LogNorm())
        fig.colorbar(mesh, ax=ax, label="galaxies per pixel", pad=0.01)
    else:
        ax.scatter(true, pred, s=9, c="k", alpha=0.6, lw=0, label=f"galaxies (N = {len(true)})", zorder=3)
    grid = np.linspace(lo, hi, 200)
    ax.plot(grid, grid, "-", color="0.3", lw=1, label="one to one", zorder=2)
    scale = (1 + grid) if photoz else np.ones_like(grid)
    narrow, wide = (sigma_mad(res), None) if photoz else (nmad(res), rmse(res))
    ax.fill_between(grid, grid - narrow * scale, grid + narrow * scale, color="C0", alpha=0.25, lw=0, zorder=1,
                    label=(rf"$\pm\sigma_\mathrm{{MAD}}(1+z)$, $\sigma_\mathrm{{MAD}}$ = {narrow:.4f}" if photoz
                           else f"±NMAD = {narrow:.3f} {_bare(residual_unit, unit)}".rstrip()))
    if wide is not None:
        for sign, name in ((1, f"±RMSE = {wide:.3f} {_bare(residual_unit, unit)}".rstrip()), (-1, "_rmse")):
            ax.plot(grid, grid + sign * wide, "--", color="C0", lw=1.2, label=name, zorder=2.5)
    if outlier_threshold is not None:
        for sign, name in ((1, f"outlier limit ±{outlier_threshold:g}" + ("(1+z)" if photoz else "")), (-1, "_")):
            ax.plot(grid, grid + sign * outlier_threshold * scale, ":", color="C3", lw=1, label=name, zorder=2.5)
    centres, medians = _running_median(true, pred)
    ax.plot(centres, medians, "o-", color="C1", ms=4, lw=1.5, label="running median", zorder=4)
    if photoz:
        ax.set_xlabel(_Z_SPEC)
        ax.set_ylabel(_Z_PHOT)
    else:
        ax.set_xlabel(f"{true_label or 'true ' + label}{_unit(unit)}")
        ax.set_ylabel(f"predicted {label}{_unit(unit)}")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.9)
    hist_ax.hist(res, bins=_hist_bins(len(res)), color="0.45")
    hist_ax.axvline(0, color="0.3", lw=1)
    if outlier_threshold is not None:
        for sign in (1, -1):
            hist_ax.axvline(sign * outlier_threshold, color="C3", ls=":", lw=1)
    hist_ax.set_xlabel(DELTA_Z_LABEL if photoz else f"predicted − true{_unit(residual_unit, unit)}")
    hist_ax.set_ylabel("galaxies")
    if photoz:
        eta = np.mean(np.abs(res) > outlier_threshold) if outlier_threshold is not None else np.nan
        title = (rf"N = {len(res)}, $\langle\Delta z\rangle$ = {np.mean(res):+.4f}, "
                 + (rf"$\eta_{{{outlier_threshold:g}}}$ = {100 * eta:.1f} %" if outlier_threshold is not None else ""))
    else:
        title = f"N = {len(res)}, mean bias = {np.mean(res):+.3f} {_bare(residual_unit, unit)}".rstrip()
    hist_ax.set_title(title, fontsize=9)
    return _save(fig, path)


def pit_bins(n: int) -> int:
    """Number of PIT histogram bins for ``n`` objects: about √n, at least 4 and at most 20 (6 for 40 objects)."""
    return int(np.clip(round(np.sqrt(max(n, 0))), 4, 20))


def pit_figure(pit_values: np.ndarray, path: str | Path | None = None, bins: int | None = None) -> Figure:
    """Histogram of PIT values with the flat level calibrated PDFs follow and its ±1σ binomial scatter.

    Parameters
    ----------
    pit_values : ndarray
        Probability integral transform of each object (its PDF's cumulative probability at the true value).
    path : path, optional
        Output file (PNG or PDF).
    bins : int, optional
        Number of bins; default :func:`~astro_cnn.evaluation.figures.pit_bins` of the number of values.

    Returns
    -------
    Figure
    """
    values = np.asarray(pit_values, dtype=float)
    values = values[np.isfinite(values)]
    bins = pit_bins(len(values)) if bins is None else int(bins)
    _, _, ks = pit_histogram(values, bins)
    fig = _figure((5, 3.6))
    ax = fig.subplots()
    ax.hist(values, bins=bins, range=(0, 1), color="0.5", edgecolor="white", label=f"N = {len(values)}")
    expected = len(values) / bins
    spread = np.sqrt(len(values) * (1 / bins) * (1 - 1 / bins))
    ax.axhspan(expected - spread, expected + spread, color="C3", alpha=0.15, lw=0, label="calibrated ±1σ")
    ax.axhline(expected, color="C3", lw=1.2, label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"PIT = CDF$(z_\mathrm{spec})$")
    ax.set_ylabel(f"objects per bin ({bins} bins)")
    ax.set_title(f"KS distance to uniform = {ks:.3f}", fontsize=9)
    ax.legend(fontsize=8, loc="upper center")
    return _save(fig, path)


def pdf_gallery(pdf: np.ndarray, edges: np.ndarray, true: np.ndarray, path: str | Path | None = None,
                n: int = 12, *, ids: Sequence | None = None, pred: np.ndarray | None = None) -> Figure:
    """The redshift PDFs of the first ``n`` objects, with the spectroscopic (and photometric) redshift marked.

    All panels share one redshift range: where the shown PDFs hold their probability (0.1–99.9 %) and the
    true values lie, not the whole range of the bins.

    Parameters
    ----------
    pdf : ndarray, shape (N, K)
        Binned probabilities (normalised here to densities).
    edges : ndarray, shape (K + 1,)
        Bin edges.
    true : ndarray, shape (N,)
        Spectroscopic redshifts.
    path : path, optional
        Output file (PNG or PDF).
    n : int
        Number of objects shown.
    ids : sequence, optional
        Object identifiers, used as panel titles (default: the row number).
    pred : ndarray, optional
        Point estimates (z_phot) to mark.

    Returns
    -------
    Figure
    """
    edges = np.asarray(edges, dtype=float)
    n = min(n, len(pdf))
    prob = np.asarray(pdf, dtype=float)[:n]
    prob = prob / prob.sum(axis=1, keepdims=True)
    density = prob / np.diff(edges)[None, :]
    cdf = np.cumsum(prob, axis=1)
    lo = min(edges[np.argmax(cdf >= 0.001, axis=1)].min(), np.min(true[:n]))
    hi = max(edges[1:][np.argmax(cdf >= 0.999, axis=1)].max(), np.max(true[:n]))
    pad = 0.08 * (hi - lo)
    lo, hi = max(edges[0], lo - pad), min(edges[-1], hi + pad)
    cols = min(4, max(n, 1))
    rows = max(1, -(-n // cols))
    fig = _figure((2.6 * cols, 2.0 * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).reshape(rows, cols)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        ax.stairs(density[i], edges, color="k", lw=0.8, label="PDF")
        ax.axvline(true[i], color="C3", lw=1.2, label=r"$z_\mathrm{spec}$")
        if pred is not None:
            ax.axvline(pred[i], color="C0", ls="--", lw=1.2, label=r"$z_\mathrm{phot}$")
        ax.set_title(str(ids[i]) if ids is not None else f"row {i}", fontsize=8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, None)
        ax.tick_params(labelsize=7)
        if i % cols == 0:
            ax.set_ylabel("p(z)", fontsize=8)
        if i >= n - cols:
            ax.set_xlabel("redshift z", fontsize=8)
            ax.tick_params(labelbottom=True)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=8, frameon=False)
    return _save(fig, path)


def gallery_figure(images: np.ndarray, true: np.ndarray, pred: np.ndarray, path: str | Path | None = None,
                   n: int = 6, *, source: Literal["jpeg", "fits"] = "jpeg", bands: str | Sequence[str] = "ugriz",
                   ids: Sequence | None = None, label: str = "") -> Figure:
    """Images of the galaxies with the lowest and highest predictions and the largest errors, labelled.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Images as :func:`astro_cnn.read_image` gives them.
    true, pred : ndarray
        True and predicted values.
    path : path, optional
        Output file (PNG or PDF).
    n : int
        Galaxies per row.
    source : {"jpeg", "fits"}
        "jpeg": display-ready colour images whose first row is the top of the picture (drawn as they are);
        "fits": flux stacks in ``bands`` whose first row is the bottom (FITS), drawn as a Lupton et al. (2004)
        asinh composite of i, r, g (red, green, blue) with :func:`astropy.visualization.make_lupton_rgb`.
    bands : str or sequence of str
        Band of each channel of a "fits" stack.
    ids : sequence, optional
        Object identifiers shown above each image.
    label : str
        Name of the predicted quantity in the row captions.

    Returns
    -------
    Figure
    """
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    order = np.argsort(pred)
    groups = {"lowest predicted": order[:n], "highest predicted": order[::-1][:n],
              "largest |error|": np.argsort(-np.abs(pred - true))[:n]}
    fig = _figure((1.45 * n + 0.4, 5.6))
    axes = fig.subplots(3, n, squeeze=False)
    for row, (title, index) in enumerate(groups.items()):
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(index):
                ax.set_visible(False)
                continue
            k = int(index[col])
            rgb, origin = _display_image(np.asarray(images[k], dtype=float), source, list(bands))
            ax.imshow(rgb, origin=origin, interpolation="nearest")
            name = f"{ids[k]}\n" if ids is not None else ""
            ax.set_title(f"{name}pred {pred[k]:.2f}, true {true[k]:.2f}", fontsize=6.5)
        axes[row][0].set_ylabel(f"{title} {label}".strip(), fontsize=8)
    return _save(fig, path)


def resolution_figure(study: QTable, path: str | Path | None = None, reference: Mapping[int, float] | None = None,
                      *, unit: str = "dex") -> Figure:
    """RMSE and NMAD against image size (Wu & Boada 2019, Fig. 4), optionally with reference RMSEs.

    Parameters
    ----------
    study : QTable
        Columns ``size``, ``rmse`` and ``nmad`` (from :func:`astro_cnn.evaluation.resolution_study` or
        :func:`astro_cnn.evaluation.prediction_resolution_study`).
    path : path, optional
        Output file (PNG or PDF).
    reference : mapping of int to float, optional
        ``{size: rmse}`` to compare with (e.g. a paper's numbers).
    unit : str
        Unit of the scatter.

    Returns
    -------
    Figure
    """
    fig = _figure((5, 3.6))
    ax = fig.subplots()
    sizes = np.asarray(study["size"], dtype=float)
    ax.plot(sizes, _plain(study["rmse"]), "o-", label="RMSE")
    ax.plot(sizes, _plain(study["nmad"]), "s--", label="NMAD")
    if reference:
        ax.plot(list(reference), list(reference.values()), "k^", mfc="none", label="reference RMSE")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(sizes.astype(int)) | set(reference or ()))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("image side (pixels)")
    ax.set_ylabel(f"scatter of predicted − true{_unit(unit)}")
    if "n" in study.colnames:
        ax.set_title(f"N = {int(np.max(study['n']))} test galaxies", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def mzr_figure(log_mstar: np.ndarray, metallicity: np.ndarray, path: str | Path | None = None, *,
               true_metallicity: np.ndarray | None = None, bins: int = 8) -> Figure:
    """Predicted (and true) metallicity against stellar mass with binned medians and the Tremonti et al. (2004)
    relation (Wu & Boada 2019, Fig. 7).

    Parameters
    ----------
    log_mstar : ndarray
        log(M*/M☉).
    metallicity : ndarray
        Predicted 12+log(O/H).
    path : path, optional
        Output file (PNG or PDF).
    true_metallicity : ndarray, optional
        Measured 12+log(O/H) of the same galaxies.
    bins : int
        Number of equal-count mass bins of the medians.

    Returns
    -------
    Figure
    """
    from .studies import TREMONTI_RANGE, mzr_study, tremonti_mzr

    mass, pred = np.asarray(log_mstar, dtype=float), np.asarray(metallicity, dtype=float)
    truth = None if true_metallicity is None else np.asarray(true_metallicity, dtype=float)
    fig = _figure((5.4, 4))
    ax = fig.subplots()
    sets = [("predicted", pred, "C0", "o", 5, 5)] + ([("true", truth, "C3", "s", 7, 4)] if truth is not None else [])
    for name, values, colour, *_ in sets:
        good = np.isfinite(mass) & np.isfinite(values)
        ax.scatter(mass[good], values[good], s=4, color=colour, alpha=0.3, lw=0, label=f"{name} (N = {good.sum()})")
    study = mzr_study(mass, pred, true=truth, bins=bins)
    for name, _, colour, marker, size, zorder in sets:
        ax.plot(study["log_mstar"], study[f"median_{'pred' if name == 'predicted' else 'true'}"], marker + "-",
                color=colour, mec="k", ms=size, lw=1.5, label=f"{name}, median in mass bins", zorder=zorder)
    grid = np.linspace(*TREMONTI_RANGE, 100)
    ax.plot(grid, tremonti_mzr(grid), "k--", lw=1.2, label="Tremonti et al. (2004)", zorder=3)
    values = np.concatenate([v for _, v, *_ in sets])
    xlo, xhi = _limits(mass, mass)
    ylo, yhi = _limits(values, values)
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    ax.set_xlabel(AXIS_LABELS["stellar_mass"])
    ax.set_ylabel(AXIS_LABELS["metallicity"])
    ax.legend(fontsize=7.5, loc="lower right")
    return _save(fig, path)


def _display_image(image: np.ndarray, source: str, bands: list[str]) -> tuple[np.ndarray, str]:
    """RGB image in [0, 1] (or uint8) and the imshow origin for a JPEG or a FITS flux stack."""
    if source == "jpeg":
        rgb = image[:3].transpose(1, 2, 0) if image.shape[0] >= 3 else image[0]
        return np.clip(rgb, 0, 1), "upper"
    if source != "fits":
        raise ValueError(f"source must be 'jpeg' or 'fits', got {source!r}")
    from astropy.visualization import make_lupton_rgb

    missing = [b for b in "gri" if b not in bands]
    if missing:
        raise ValueError(f"a Lupton composite needs the g, r and i bands; bands {''.join(bands)!r} lack "
                         f"{', '.join(missing)}")
    i, r, g = (image[bands.index(b)] for b in "irg")
    # stretch: the linear range is the galaxy's typical brightness, Q = 8 compresses the bright core
    level = max(float(np.percentile((g + r + i) / 3, 99.5)), 1e-6)
    return make_lupton_rgb(i, r, g, minimum=0.0, stretch=0.5 * level, Q=8), "lower"


def _running_median(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Medians of ``y`` in up to 10 equal-count bins of ``x`` with at least 5 objects each."""
    nbins = int(np.clip(len(x) // 5, 1, 10))
    edges = np.quantile(x, np.linspace(0, 1, nbins + 1))
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, nbins - 1)
    filled = [k for k in range(nbins) if np.any(index == k)]
    return (np.array([np.median(x[index == k]) for k in filled]),
            np.array([np.median(y[index == k]) for k in filled]))


def _hist_bins(n: int) -> int:
    return int(np.clip(round(2 * np.sqrt(max(n, 1))), 5, 60))


def _limits(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Limits holding every finite value of ``a`` and ``b``, with a 4 % margin."""
    values = np.concatenate([np.ravel(a), np.ravel(b)])
    values = values[np.isfinite(values)]
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.04 * (hi - lo) or 0.5
    return lo - pad, hi + pad


def _bare(unit: str | None, default: str = "") -> str:
    return default if unit is None else unit


def _unit(unit: str | None, default: str = "") -> str:
    unit = _bare(unit, default)
    return f" [{unit}]" if unit else ""


def _plain(column) -> np.ndarray:
    return np.asarray(getattr(column, "value", column), dtype=float)


def _figure(size: tuple[float, float]) -> Figure:
    return Figure(figsize=size, layout="constrained")


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        path = Path(path)
        with atomic_path(path, overwrite=True) as tmp:
            fig.savefig(tmp, dpi=_DPI, format=path.suffix.lstrip(".") or "png")
    return fig
