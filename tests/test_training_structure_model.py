"""``training/structure_model.py``: scoring a model, and the breakdown of its errors by quarter of the true r_e and n.

The script is part of the repository, not an installed module: it is loaded by path.
"""

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from astropy.table import Table

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
    assert len(lines) == 8 and all(line.startswith("test true ") for line in lines)
    counts = [int(re.search(r"\((\d+) galaxies\)", line).group(1)) for line in lines]
    assert counts[:4] == [15, 15, 15, 15] and sum(counts[4:]) == 60
    scatter_r_e = [float(re.search(r"r_e (\d\.\d+)$", line.split(" q ")[0]).group(1)) for line in lines[:4]]
    assert scatter_r_e[:3] == [0.0, 0.0, 0.0] and scatter_r_e[3] > 0.05
    coverage_r_e = [int(re.search(r"coverage sersic_n \d+% r_e (\d+)%", line).group(1)) for line in lines[:4]]
    assert coverage_r_e[:3] == [100, 100, 100] and 0 < coverage_r_e[3] < 100
    trained_on = structure_model.score(_Scaled(plan, factor), plan, images, split="train")
    assert "train true r_e" in structure_model.breakdown(trained_on)[0]
