"""The injected training set of the bundled photo-z and stellar-mass models: plan, stacks and held-out split.

Used by ``training/injected_models.py``; not installed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from astropy.table import Table

from astro_cnn.target import TargetList
from astro_cnn_injection.plan import plan_injections, select_galaxies
from astro_cnn_injection.survey import SDSSInjectedSurvey

__all__ = ["HELD_OUT_FRACTION", "build_training_set"]

#: Fraction of the galaxies kept out of training to score the models.
HELD_OUT_FRACTION = 0.2


def build_training_set(catalog: str | Path, frames_dir: str | Path, *, seed: int = 0,
                       cache: str | Path | None = None, progress: bool = True,
                       psf_fwhm: Mapping[str, float] | None = None,
                       held_out_field: str | None = None) -> tuple[Table, np.ndarray]:
    """Inject every galaxy of a spec-z catalogue with 0 < z < 0.4 into the real frames and stack it.

    Parameters
    ----------
    catalog : path
        The spec-z catalogue (``class``, ``redshift``, ``u g r i z`` columns), e.g. the project's
        ``sdss_dr14_specphoto_10k_catalog/catalog.ecsv``.
    frames_dir : path
        Real SDSS frames, all five bands per field.
    seed : int
        Seed of the plan, the noise and the held-out split.
    cache : path, optional
        ``.npz`` file keeping the result; reused when it was made with the same seed and rows.
    progress : bool
        Progress bar while stacking.
    psf_fwhm : mapping of band to float, optional
        PSF FWHM (arcsec) for every frame instead of each frame's own, measured from its stars
        (for frames too small to hold enough stars).
    held_out_field : str, optional
        Hold out every galaxy placed in this field (``<run6>-<camcol>-<field4>``), so that the test
        galaxies sit in sky, noise and seeing never trained on; without it a random
        :data:`HELD_OUT_FRACTION` of the galaxies is held out.

    Returns
    -------
    plan : Table
        The injection plan with a ``split`` column (``"train"`` or ``"test"``) and ``status``.
    images : ndarray, shape (N, 5, 64, 64)
        The stacks (nanomaggies); rows whose status is not empty are zeros.

    Raises
    ------
    ValueError
        ``held_out_field`` holds no planned galaxy.
    """
    galaxies = select_galaxies(Table.read(catalog))
    plan = plan_injections(galaxies, frames_dir, seed=seed, psf_fwhm=psf_fwhm)
    split = np.full(len(plan), "train", dtype="<U5")
    if held_out_field is None:
        order = np.random.default_rng(seed + 1).permutation(len(plan))
        split[order[:int(round(HELD_OUT_FRACTION * len(plan)))]] = "test"
    else:
        if held_out_field not in set(plan["field"]):
            raise ValueError(f"held-out field {held_out_field!r} holds no planned galaxy; fields: "
                             f"{', '.join(sorted(set(plan['field'])))}")
        split[np.asarray(plan["field"]) == held_out_field] = "test"
    plan["split"] = split
    cache = None if cache is None else Path(cache)
    fingerprint = _fingerprint(plan, seed)
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if "fingerprint" in stored and str(stored["fingerprint"]) == fingerprint:
                plan["status"] = stored["status"]
                return plan, stored["images"]
    survey = SDSSInjectedSurvey(plan=plan, frames_dir=frames_dir, seed=seed, offline=True)
    batch = survey.cutouts(TargetList.from_table(plan), progress=progress)
    plan["status"] = np.asarray(batch.status, dtype=str)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".partial.npz")
        np.savez(tmp, images=batch.images, status=plan["status"].data, fingerprint=fingerprint)
        tmp.replace(cache)
    return plan, batch.images


def _fingerprint(plan: Table, seed: int) -> str:
    """A digest of everything that decides the stacks: the seed and every galaxy's planned parameters."""
    digest = hashlib.sha256(str(seed).encode())
    for column in ("ra", "dec", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "half_light_radius", "sersic_n",
                   "axis_ratio", "position_angle", "psf_fwhm_u", "psf_fwhm_g", "psf_fwhm_r", "psf_fwhm_i",
                   "psf_fwhm_z"):
        digest.update(np.ascontiguousarray(plan[column], dtype=float).tobytes())
    digest.update(repr(plan.meta.get("injection", {}).get("frames")).encode())
    return digest.hexdigest()
