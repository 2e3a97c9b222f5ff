"""``training/structure_model.py``: scoring a model, and the breakdown of its errors by quarter of the true r_e, n, q.

The script is part of the repository, not an installed module: it is loaded by path.
"""

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from astropy.table import Table, vstack

from astro_cnn_structure.truth import truth_from_plan

SCRIPT = Path(__file__).parent.parent / "training" / "structure_model.py"
_spec = importlib.util.spec_from_file_location("structure_model", SCRIPT)
structure_model = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure_model)


class _Scaled:
    """A stand-in model that returns the truth of the plan's rows times a per-row factor, with a 10 % error."""

    tta = False

    def __init__(self, plan, factor):
        self.plan, self.factor = plan, factor

    def predict_images(self, images):
        rows = images[:, 0, 0, 0].astype(int)  # each stand-in image carries its plan row
        value = truth_from_plan(self.plan[rows]) * self.factor[rows, None]
        return SimpleNamespace(value=value, output=lambda k: (value[:, k], 0.1 * value[:, k]))


def test_breakdown_scores_each_quarter_on_its_own_galaxies():
    rng = np.random.default_rng(3)
    n = 80
    plan = Table({"sersic_n": rng.uniform(0.5, 6, n), "half_light_radius": rng.uniform(0.5, 10, n),
                  "axis_ratio": rng.uniform(0.3, 1, n), "status": [""] * n,
                  "split": np.where(np.arange(n) % 4 == 0, "train", "test")})
    images = np.broadcast_to(np.arange(n, dtype=float)[:, None, None, None], (n, 1, 2, 2))
    r_e = truth_from_plan(plan)[:, 1]
    test = np.asarray(plan["split"]) == "test"
    largest = r_e >= np.quantile(r_e[test], 0.75)
    # exact except for the largest quarter of the held-out galaxies, which scatter by up to ±20 %
    factor = np.where(largest & test, rng.uniform(0.8, 1.2, n), 1.0)
    lines = structure_model.breakdown(structure_model.score(_Scaled(plan, factor), plan, images))
    assert len(lines) == 12 and all(line.startswith("test true ") for line in lines)
    assert [line.split()[2] for line in lines] == ["r_e"] * 4 + ["n"] * 4 + ["q"] * 4
    counts = [int(re.search(r"\((\d+) galaxies\)", line).group(1)) for line in lines]
    assert counts[:4] == [15, 15, 15, 15] and sum(counts[4:8]) == sum(counts[8:]) == 60
    scatter_r_e = [float(re.search(r"r_e (\d\.\d+)$", line.split(" q ")[0]).group(1)) for line in lines[:4]]
    assert scatter_r_e[:3] == [0.0, 0.0, 0.0] and scatter_r_e[3] > 0.05
    coverage_r_e = [int(re.search(r"coverage sersic_n \d+% r_e (\d+)%", line).group(1)) for line in lines[:4]]
    assert coverage_r_e[:3] == [100, 100, 100] and 0 < coverage_r_e[3] < 100
    trained_on = structure_model.score(_Scaled(plan, factor), plan, images, split="train")
    assert "train true r_e" in structure_model.breakdown(trained_on)[0]


def test_more_training_keeps_training_fields_without_held_out_galaxies_and_dims_every_band_alike(monkeypatch):
    n = 200
    rng = np.random.default_rng(5)
    base = Table({"id": np.arange(n), "split": np.where(rng.uniform(size=n) < 0.25, "test", "train"),
                  **{f"mag_{b}": rng.uniform(14, 17.8, n) for b in "ugriz"}})
    monkeypatch.setattr(structure_model, "plan_structure_set", lambda catalog, frames_dir, seed: base.copy())
    held_out = Table({"id": np.arange(0, n, 3)})
    more = structure_model.plan_more_training("catalog", "frames", 17, 3.0, held_out)
    assert set(more["split"]) == {"train"}
    assert not np.isin(more["id"], held_out["id"]).any()
    assert len(more) == int(np.sum((base["split"] == "train") & (base["id"] % 3 != 0)))
    original = base[np.asarray(more["id"])]
    steps = [np.asarray(more[f"mag_{b}"] - original[f"mag_{b}"]) for b in "ugriz"]
    assert all(np.allclose(step, more["dimming"]) for step in steps)
    assert 0 <= more["dimming"].min() and more["dimming"].max() <= 3.0 and np.ptp(more["dimming"]) > 2.0
    as_catalogued = structure_model.plan_more_training("catalog", "frames", 17, 0.0, held_out)
    assert np.all(as_catalogued["dimming"] == 0)
    assert np.array_equal(as_catalogued["mag_r"], base["mag_r"][np.asarray(as_catalogued["id"])])


def test_dimming_of_plans_stacked_with_and_without_one():
    bright = Table({"id": [0, 1], "split": ["train", "test"]})
    dimmed = Table({"id": [2, 3], "split": ["train", "train"], "dimming": [0.5, 2.5]})
    joined = vstack([bright, dimmed], metadata_conflicts="silent")
    assert np.array_equal(structure_model._dimming(joined), [0.0, 0.0, 0.5, 2.5])
    assert np.array_equal(structure_model._dimming(bright), [0.0, 0.0])


def test_field_and_brightness_lines_tell_a_field_that_errs_from_one_that_does_not():
    rng = np.random.default_rng(4)
    n = 80
    plan = Table({"sersic_n": rng.uniform(0.5, 6, n), "half_light_radius": rng.uniform(0.5, 10, n),
                  "axis_ratio": rng.uniform(0.3, 1, n), "status": [""] * n, "split": ["test"] * n,
                  "field": np.where(np.arange(n) % 2 == 0, "A", "B"), "mag_r": rng.uniform(14, 18, n),
                  "psf_fwhm_r": np.where(np.arange(n) % 2 == 0, 1.1, 1.4)})
    images = np.broadcast_to(np.arange(n, dtype=float)[:, None, None, None], (n, 1, 2, 2))
    factor = np.where(plan["field"] == "B", 1.1, 1.0)  # field B: every value 10 % too large
    lines = structure_model.field_and_brightness_lines(
        structure_model.score(_Scaled(plan, factor), plan, images), plan)
    assert len(lines) == 6
    assert lines[0].startswith("test field A (r PSF FWHM 1.10″) (40 galaxies)")
    assert "sersic_n +0.000 / 0.000 r_e +0.000 / 0.000 q +0.000 / 0.000" in lines[0]
    assert lines[1].startswith("test field B (r PSF FWHM 1.40″) (40 galaxies)")
    assert "sersic_n +0.100 / 0.000 r_e +0.100 / 0.000" in lines[1]
    counts = [int(re.search(r"\((\d+) galaxies\)", line).group(1)) for line in lines[2:]]
    assert sum(counts) == n and all(line.startswith("test r ") for line in lines[2:])


def test_calibration_uses_the_stacked_galaxies_with_a_source_at_their_centre():
    """The calibration injection's rows that failed to stack do not calibrate the uncertainties, nor (left out by
    the model's calibration) those that prediction would flag for showing no source; the others do."""
    import astropy.units as u

    from astro_cnn.engine.predictor import NetworkPredictor

    n = 10
    plan = Table({"sersic_n": np.linspace(1, 4, n), "half_light_radius": np.linspace(1, 3, n),
                  "axis_ratio": np.linspace(0.5, 0.9, n), "status": [""] * 2 + ["no frame"] + [""] * 7})
    yy, xx = np.mgrid[:32, :32] - 15.5
    galaxy = 50 * np.exp(-(xx**2 + yy**2) / 8.0)
    noise = np.random.default_rng(0).normal(0, 1, (n, 5, 32, 32))
    images = (noise + galaxy).astype(np.float32)
    images[3] = noise[3]  # no source at the centre
    model = NetworkPredictor("structure", "sdss-stack", "ugriz", 32, 0.396 * u.arcsec, backbone="small_cnn",
                             backbone_options={"width": 4})
    model.fit(images, truth_from_plan(plan), recipe="quick", epochs=1, progress=False, log=lambda line: None,
              min_centre_snr=None)
    lines = []
    calibration = structure_model.calibrate(model, plan, images, log=lines.append)
    assert calibration["rows"] == 8 and calibration["left_out"] == {"no source at the centre (S/N below 5)": 1}
    assert lines[0] == ("left out 1 of 9 calibration images, as prediction would flag them: 1 with no source at the "
                        "centre (S/N below 5) (rows 3)")  # the plan's row: was 2, its place among the stacked
    assert lines[1].startswith("uncertainties calibrated on 8 galaxies of a further injection (seed 20")
    usable = [0, 1, 4, 5, 6, 7, 8, 9]
    expected = model.calibrate(images[usable], truth_from_plan(plan[usable]))
    assert [m["floor"] for m in calibration["outputs"]] == [m["floor"] for m in expected["outputs"]]
