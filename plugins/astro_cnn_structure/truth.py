"""The true Sérsic parameters of injected galaxies, in the ``structure`` quantity's conventions."""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from astro_cnn.exceptions import ColumnError

__all__ = ["TRUTH_COLUMNS", "truth_from_plan"]

#: Columns of an injection plan the truth is made from.
TRUTH_COLUMNS = ("sersic_n", "half_light_radius", "axis_ratio")


def truth_from_plan(plan: Table) -> np.ndarray:
    """``(N, 3)`` labels (n, r_e in arcsec, q) from an injection plan's rows.

    The plan's ``half_light_radius`` is circularised (the radius of the circle holding half the
    light, r_e·√q); the quantity's ``r_e`` is along the major axis, as GALFIT and
    :class:`astropy.modeling.functional_models.Sersic2D` define it, so r_e = half_light_radius / √q.

    Raises
    ------
    ColumnError
        A needed column is missing.
    """
    missing = [c for c in TRUTH_COLUMNS if c not in plan.colnames]
    if missing:
        raise ColumnError(f"plan lacks column(s) {', '.join(missing)}; it has: {', '.join(plan.colnames)}")
    n = np.asarray(plan["sersic_n"], dtype=float)
    q = np.asarray(plan["axis_ratio"], dtype=float)
    r_e = np.asarray(plan["half_light_radius"], dtype=float) / np.sqrt(q)
    return np.column_stack([n, r_e, q])
