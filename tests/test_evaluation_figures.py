"""Evaluation figures: physical labels, nothing clipped, right orientation, PIT bins from N, the user's backend kept."""

import matplotlib
import numpy as np
import pytest
from astropy.table import QTable
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from astro_cnn import read_image
from astro_cnn.evaluation import (
    gallery_figure,
    mzr_figure,
    pdf_gallery,
    pit_figure,
    prediction_figure,
    resolution_figure,
)
from astro_cnn.evaluation.figures import AXIS_LABELS, DELTA_Z_LABEL, pit_bins

from .conftest import DATA

JPEGS = sorted((DATA / "gri_small").glob("*.jpg"))


def _points_inside(ax) -> None:
    """Every finite point drawn as a scatter lies within the axes limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert scatters
    for collection in scatters:
        offsets = np.asarray(collection.get_offsets(), dtype=float)
        finite = offsets[np.all(np.isfinite(offsets), axis=1)]
        assert np.all((finite[:, 0] >= x0) & (finite[:, 0] <= x1) & (finite[:, 1] >= y0) & (finite[:, 1] <= y1))


@pytest.mark.parametrize("suffix", ["png", "pdf"])
def test_figures_are_written(tmp_path, suffix):
    rng = np.random.default_rng(0)
    true = rng.uniform(8.2, 9.2, 40)
    pred = true + rng.normal(0, 0.1, 40)
    images = np.stack([read_image(p) for p in JPEGS])
    edges = np.linspace(0, 0.4, 181)
    pdf = rng.random((8, 180))
    study = QTable({"size": [128, 64, 1], "n": [40, 40, 40], "rmse": [0.1, 0.11, 0.13],
                    "nmad": [0.08, 0.09, 0.12]})
    paths = [tmp_path / f"{name}.{suffix}" for name in ("p", "pit", "pdfs", "gallery", "res", "mzr")]
    prediction_figure(true, pred, paths[0], label=AXIS_LABELS["metallicity"], residual_unit="dex")
    pit_figure(rng.random(200), paths[1])
    pdf_gallery(pdf, edges, rng.uniform(0, 0.4, 8), paths[2])
    gallery_figure(images, true[:16], pred[:16], paths[3])
    resolution_figure(study, paths[4], reference={128: 0.0725})
    mzr_figure(rng.uniform(9, 11, 40), true, paths[5])
    for path in paths:
        assert path.stat().st_size > 1000


@pytest.fixture
def user_backend():
    """A backend other than Agg selected by the user (as Jupyter's inline one is), restored afterwards."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    yield "svg"
    matplotlib.use(before)


def test_drawing_keeps_the_users_backend(tmp_path, user_backend):
    rng = np.random.default_rng(0)
    pit_figure(rng.random(50), tmp_path / "pit.png")
    prediction_figure(np.arange(10.0), np.arange(10.0) + 0.1, tmp_path / "p.png")
    assert matplotlib.get_backend() == user_backend


def test_loss_curve_keeps_the_users_backend(tmp_path, user_backend):
    from astro_cnn.engine.trainer import write_history

    write_history([{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2}, {"epoch": 2, "train_loss": 0.5,
                                                                      "val_loss": 0.7}], tmp_path)
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000
    assert matplotlib.get_backend() == user_backend


def test_prediction_figure_has_physical_labels_and_clips_nothing():
    rng = np.random.default_rng(2)
    true = rng.uniform(8.2, 9.2, 300)
    pred = true + rng.normal(0, 0.08, 300)
    pred[:3] = [6.5, 10.8, 7.1]  # outliers far beyond the 0.5-99.5 percentiles
    fig = prediction_figure(true, pred, label=AXIS_LABELS["metallicity"], residual_unit="dex")
    assert isinstance(fig, Figure)
    ax, residuals = fig.axes[:2]
    assert "12+\\log(\\mathrm{O/H})" in ax.get_xlabel() and "12+\\log(\\mathrm{O/H})" in ax.get_ylabel()
    assert "[dex]" in residuals.get_xlabel()
    _points_inside(ax)
    assert ax.get_ylim()[0] <= 6.5 and ax.get_ylim()[1] >= 10.8


def test_prediction_figure_bands_are_both_visible():
    rng = np.random.default_rng(3)
    true = rng.uniform(0, 1, 200)
    ax = prediction_figure(true, true + rng.normal(0, 0.1, 200)).axes[0]
    handles, labels = ax.get_legend_handles_labels()
    by_label = {label.split(" ")[0]: handle for handle, label in zip(handles, labels)}
    # the wider RMSE band is outlined by lines drawn above the NMAD fill, not a fill hidden beneath it
    assert isinstance(by_label["±RMSE"], Line2D)
    rmse_lines = [line for line in ax.lines if line.get_label().startswith("±RMSE") or line.get_label() == "_rmse"]
    assert len(rmse_lines) == 2 and all(line.get_zorder() > by_label["±NMAD"].get_zorder() for line in rmse_lines)


def test_photoz_prediction_figure_shows_delta_z_over_one_plus_z():
    rng = np.random.default_rng(4)
    z = rng.uniform(0.02, 0.3, 100)
    zp = z + 0.02 * (1 + z) * rng.normal(size=100)
    fig = prediction_figure(z, zp, residual="delta_z", outlier_threshold=0.05)
    residuals = fig.axes[1]
    assert residuals.get_xlabel() == DELTA_Z_LABEL and "\\Delta z/(1+z" in DELTA_Z_LABEL
    assert "z_\\mathrm{spec}" in fig.axes[0].get_xlabel() and "z_\\mathrm{phot}" in fig.axes[0].get_ylabel()
    # the histogram is of (z_phot - z_spec)/(1 + z_spec), not z_phot - z_spec
    dz = (zp - z) / (1 + z)
    counts = sum(p.get_height() for p in residuals.patches)
    assert counts == 100
    left = min(p.get_x() for p in residuals.patches)
    assert left == pytest.approx(dz.min())


def test_pit_bins_follow_n():
    assert pit_bins(40) < pit_bins(400) < 21
    assert pit_bins(40) <= 7
    rng = np.random.default_rng(5)
    assert len(pit_figure(rng.random(40)).axes[0].containers[0]) == pit_bins(40)
    assert len(pit_figure(rng.random(10_000)).axes[0].containers[0]) == pit_bins(10_000)
    assert pit_figure(rng.random(40)).axes[0].get_xlabel().startswith("PIT")


def test_pdf_gallery_has_axes_ids_legend_and_zooms_on_the_pdfs():
    edges = np.linspace(0, 0.4, 181)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mu = np.linspace(0.05, 0.12, 6)
    pdf = np.exp(-0.5 * ((centres[None] - mu[:, None]) / 0.01) ** 2)
    fig = pdf_gallery(pdf, edges, mu + 0.005, ids=[f"gal{i}" for i in range(6)], pred=mu)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert [ax.get_title() for ax in axes] == [f"gal{i}" for i in range(6)]
    assert any("z" in ax.get_xlabel() for ax in axes) and any("p(z)" in ax.get_ylabel() for ax in axes)
    assert fig.legends or any(ax.get_legend() for ax in axes)
    lo, hi = axes[0].get_xlim()
    assert lo >= 0 and hi <= 0.25  # not the whole empty 0-0.4 range


def test_jpeg_gallery_is_drawn_top_row_up():
    images = np.stack([read_image(p) for p in JPEGS])
    true = np.linspace(8.2, 9.2, len(images))
    fig = gallery_figure(images, true, true + 0.05, n=2, ids=[p.stem for p in JPEGS])
    shown = fig.axes[0].images[0]
    index = int(np.argsort(true + 0.05)[0])
    assert shown.origin == "upper"
    np.testing.assert_allclose(np.asarray(shown.get_array())[0], images[index][:3, 0].T, atol=1e-6)
    assert JPEGS[index].stem in fig.axes[0].get_title()


def test_flux_stack_gallery_is_a_lupton_gri_composite_bottom_row_first():
    from astropy.visualization import make_lupton_rgb

    rng = np.random.default_rng(6)
    stacks = rng.normal(0, 0.05, (4, 5, 16, 16)).astype(np.float32)
    stacks[:, :, 6:10, 6:10] += np.array([0.2, 1.0, 2.0, 3.0, 3.5])[None, :, None, None]
    fig = gallery_figure(stacks, np.arange(4.0), np.arange(4.0), n=1, source="fits")
    shown = fig.axes[0].images[0]
    assert shown.origin == "lower"
    rgb = np.asarray(shown.get_array())
    assert rgb.shape == (16, 16, 3)
    centre = rgb[8, 8].astype(float)
    assert centre[0] > centre[2]  # i brighter than g: red, not the blue of a linear u,g,r stack
    assert rgb.dtype == make_lupton_rgb(stacks[0, 3], stacks[0, 2], stacks[0, 1]).dtype


def test_mzr_and_resolution_figures_are_labelled():
    rng = np.random.default_rng(7)
    mass = rng.uniform(8.0, 11.8, 200)
    oh = 8.8 + 0.1 * rng.normal(size=200)
    oh[0] = 7.2
    fig = mzr_figure(mass, oh, true_metallicity=oh + 0.05)
    ax = fig.axes[0]
    assert ax.get_xlabel() == AXIS_LABELS["stellar_mass"] and ax.get_ylabel() == AXIS_LABELS["metallicity"]
    assert "\\odot" in ax.get_xlabel()
    _points_inside(ax)
    study = QTable({"size": [128, 64, 32], "n": [10, 10, 10], "rmse": [0.08, 0.09, 0.1],
                    "nmad": [0.06, 0.07, 0.08]})
    ax = resolution_figure(study, unit="dex").axes[0]
    assert "[dex]" in ax.get_ylabel() and "pixels" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()] == ["32", "64", "128"]
