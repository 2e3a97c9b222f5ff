"""The ``sdss-injected`` survey: catalogue galaxies injected into real SDSS frames, stacked like real targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from astro_cnn.target import Target
from astro_cnn.target_survey import Cutout
from astro_cnn_sdss.frames import Frame, FrameStore, parse_frame_name
from astro_cnn_sdss.stack import stack
from astro_cnn_sdss.surveys import SDSSStackSurvey

from .inject import GAIN, inject, magnitude_to_nanomaggies
from .plan import read_plan
from .profiles import GalaxyShape
from .psf import PSFCache

__all__ = ["SDSSInjectedSurvey"]


class SDSSInjectedSurvey(SDSSStackSurvey):
    """Five-band stacks of catalogue galaxies injected into real SDSS corrected frames.

    Each target is a row of an injection plan (:func:`astro_cnn_injection.plan.plan_injections`),
    found by its id.  For every frame covering the planned position, the galaxy is rendered
    through that frame's own WCS as a Sérsic profile convolved with that frame's own PSF (a
    Gaussian of the FWHM measured from the frame's stars: the plan's ``psf_fwhm_<band>`` for
    frames of the planned field, measured once per frame and kept for any other frame) with the
    catalogue's flux in that band, given photon noise from the frame's own calibration, and added to a copy of the
    frame; the frames are then resampled and co-added by exactly the code that makes
    ``sdss-stack`` cutouts of real targets.  Images are nanomaggies at 0.396″/px.

    Parameters
    ----------
    plan : Table or path
        The injection plan (a table, or a file astropy can read).
    frames_dir : path, optional
        Directory of real frames; without it frames are fetched from the SDSS SAS like ``sdss-stack``.
    psf_fwhm : mapping of band to float, optional
        PSF FWHM in arcsec to use in these bands for every frame instead of each frame's own.
    photon_noise : bool
        Add the injected light's photon noise (default True).
    seed : int
        Seed of the photon noise; row ``k`` of the plan always gets the same noise.
    **options
        Options of :class:`astro_cnn_sdss.surveys.SDSSStackSurvey` (``cache_dir``, ``offline``, ...).
    """

    name = "sdss-injected"

    def __init__(self, *, plan: Table | str | Path, frames_dir: str | Path | None = None,
                 psf_fwhm: dict[str, float] | None = None, photon_noise: bool = True, seed: int = 0,
                 **options: Any):
        super().__init__(frames_dir=frames_dir, **options)
        self.plan = read_plan(plan)
        self.psf_override = dict(psf_fwhm or {})
        self.psfs = PSFCache()
        self.photon_noise = bool(photon_noise)
        self.seed = int(seed)
        self.store = FrameStore(size=30)
        self._rows = {str(identifier): k for k, identifier in enumerate(self.plan["id"])}

    def cutout(self, target: Target, size: int) -> Cutout:
        """Return the stack of the plan's galaxy for this target's id, injected into every frame that covers it.

        Raises
        ------
        ValueError
            The id is not in the plan, or the target's position is not the plan's (by more than 0.1″).
        """
        k = self._rows.get(str(target.id))
        if k is None:
            raise ValueError(f"row {target.row}: id {target.id} is not in the injection plan")
        row = self.plan[k]
        ra, dec = float(row["ra"]), float(row["dec"])
        if target.coord is not None:
            d_ra = (float(target.coord.ra.deg) - ra + 180.0) % 360.0 - 180.0
            if np.hypot(d_ra * np.cos(np.radians(dec)), float(target.coord.dec.deg) - dec) * 3600 > 0.1:
                raise ValueError(f"row {target.row}: position differs from the injection plan's for id {target.id}")
        shape = GalaxyShape(ra, dec, float(row["half_light_radius"]), float(row["sersic_n"]),
                            float(row["axis_ratio"]), float(row["position_angle"]))
        rng = np.random.default_rng([self.seed, k])
        half_width = int(np.ceil(0.5 * size * self.scale * np.sqrt(2.0) / 0.396)) + 8
        frames = {}
        for band, originals in self.frames_for(ra, dec, size).items():
            flux = magnitude_to_nanomaggies(float(row[f"mag_{band}"]))
            gain = GAIN.get(band) if self.photon_noise else None
            frames[band] = [inject(frame, shape, flux, self._psf(frame, band, row), gain, rng, half_width)
                            for frame in originals]
        image, weight, wcs = stack(frames, self.bands, ra, dec, size, self.scale, self.order)
        return Cutout(image, weight, {"wcs": wcs})

    def _psf(self, frame: Frame, band: str, row) -> float:
        """PSF FWHM (arcsec) of ``frame``: the option's, the plan's for the planned field, or measured."""
        if band in self.psf_override:
            return float(self.psf_override[band])
        parsed = parse_frame_name(Path(frame.path).name)
        if parsed is not None:
            fid = parsed[1]
            if f"{fid.run:06d}-{fid.camcol}-{fid.field:04d}" == str(row["field"]):
                return float(row[f"psf_fwhm_{band}"])
        return self.psfs.get(frame).fwhm
