"""True Sérsic parameters of injected galaxies in the structure quantity's conventions (r_e along the major axis)."""

import numpy as np
import pytest
from astropy.table import Table

from astro_cnn.exceptions import ColumnError
from astro_cnn_structure.truth import truth_from_plan


def test_r_e_is_the_circularised_radius_over_root_q():
    plan = Table({"sersic_n": [1.0, 4.0], "half_light_radius": [2.0, 1.0], "axis_ratio": [0.25, 1.0]})
    np.testing.assert_allclose(truth_from_plan(plan), [[1.0, 4.0, 0.25], [4.0, 1.0, 1.0]])


def test_missing_columns_are_named():
    with pytest.raises(ColumnError, match="axis_ratio"):
        truth_from_plan(Table({"sersic_n": [1.0], "half_light_radius": [2.0]}))
