"""The ``sdss-injected`` survey (galaxies injected into real SDSS frames) and its Rubin-like sibling ``lsst-like``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from astro_cnn.exceptions import AstroCNNError
from astro_cnn.survey import ImageBatch
from astro_cnn.target import Target, TargetList
from astro_cnn.target_survey import Cutout, TargetSurvey
from astro_cnn_sdss.frames import Frame, FrameStore, parse_frame_name
from astro_cnn_sdss.stack import stack, stack_wcs
from astro_cnn_sdss.surveys import SDSSStackSurvey

from .inject import GAIN, inject, magnitude_to_nanomaggies
from .plan import read_plan
from .profiles import GalaxyShape, render_galaxy
from .psf import PSFCache

__all__ = ["SDSSInjectedSurvey", "LSSTLikeSurvey", "LSST_LIKE", "LSST_PIXEL_SCALE", "y_magnitude", "sky_noise"]


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


#: The ``lsst-like`` survey's numbers, per band: PSF FWHM (geometric, the Gaussian rendered, and effective,
#: for the noise-equivalent area), 5σ point-source depth of the 10-year coadd and dark-sky brightness.
#: FWHM_eff and sky: Ivezić et al. (2019, ApJ 873, 111) Table 2 (zenith, median conditions);
#: FWHM_geom = 0.822 FWHM_eff + 0.052 (Rubin technote SMTN-002); 10-year depths: Ivezić et al. (2019) Table 1.
LSST_LIKE = {
    #      FWHM_geom FWHM_eff  m5(10 yr)  sky (mag/arcsec²)
    "u": (0.808, 0.92, 26.1, 22.99),
    "g": (0.767, 0.87, 27.4, 22.26),
    "r": (0.734, 0.83, 27.5, 21.20),
    "i": (0.710, 0.80, 26.8, 20.48),
    "z": (0.693, 0.78, 26.1, 19.60),
    "y": (0.677, 0.76, 24.9, 18.61),
}
#: Rubin's pixels (LSST Science Requirements Document, LPM-17; Ivezić et al. 2019 §2.2).
LSST_PIXEL_SCALE = 0.2
#: Approximate effective wavelengths (Å) of the i, z and y filters (Ivezić et al. 2019 Table 2, to 100 Å).
_WAVELENGTH = {"i": 7500.0, "z": 8700.0, "y": 9700.0}


def y_magnitude(mag_i: np.ndarray, mag_z: np.ndarray) -> np.ndarray:
    """y-band magnitude extrapolated from the catalogue's i and z: the z − i colour continued linearly in wavelength.

    ``y = z + (z − i) (λ_y − λ_z) / (λ_z − λ_i)`` with the filters' effective wavelengths
    λ_i, λ_z, λ_y ≈ 7500, 8700, 9700 Å (factor 0.83).  SDSS has no y band; this assumes the spectrum keeps the
    slope it has between i and z out to 1 µm (no 4000 Å break or emission line moves through).
    """
    factor = (_WAVELENGTH["y"] - _WAVELENGTH["z"]) / (_WAVELENGTH["z"] - _WAVELENGTH["i"])
    mag_i, mag_z = np.asarray(mag_i, float), np.asarray(mag_z, float)
    return mag_z + (mag_z - mag_i) * factor


def sky_noise(band: str, pixel_scale: float = LSST_PIXEL_SCALE) -> float:
    """Sky noise per pixel (nanomaggies) of the 10-year coadd in ``band``, from its 5σ point-source depth.

    A point source at the depth m5 has S/N 5 in the noise-equivalent area of the PSF,
    n_eff = 2.266 (FWHM_eff / pixel)² pixels (SMTN-002), so σ = 10^(−0.4 (m5 − 22.5)) / (5 √n_eff).
    """
    _, fwhm_eff, m5, _ = LSST_LIKE[band]
    n_eff = 2.266 * (fwhm_eff / pixel_scale) ** 2
    return float(magnitude_to_nanomaggies(m5) / (5.0 * np.sqrt(n_eff)))


class LSSTLikeSurvey(TargetSurvey):
    """Rubin-like ugrizy images of the galaxies of an injection plan: 0.2″ pixels, ~0.7″ seeing, 10-year depth.

    Each plan row (:func:`astro_cnn_injection.plan.plan_injections`: a catalogue galaxy placed in
    a real SDSS field, with its intrinsic Sérsic size and shape) is rendered by the injection
    code (:func:`astro_cnn_injection.profiles.render_galaxy`) onto a north-up tangent-plane grid
    of 0.2″ pixels centred on it, convolved with a Gaussian PSF, with Gaussian sky noise of the
    10-year coadd (:func:`sky_noise`) and the photon noise of its own light.  The PSF FWHM of
    a band is Rubin's median FWHM_geom (:data:`LSST_LIKE`) times the ratio of the planned field's
    measured SDSS seeing in that band (z for y) to the SDSS median (0.73″ in r for a field of
    median SDSS seeing): fields keep their relative seeing, so a held-out field is held out in
    seeing too.  Magnitudes are the catalogue's ugriz (SDSS filters taken as Rubin's) and
    :func:`y_magnitude`; fluxes are nanomaggies (AB zero point 22.5).

    The real frames' pixels are not used: their noise and seeing are worse than Rubin's and
    cannot be made better, so there are no neighbours, blends or background residuals.

    Parameters
    ----------
    plan : Table or path, optional
        The injection plan (a table, or a file astropy can read); without it the survey only
        describes its images (as training from files needs) and refuses to make any.
    photon_noise : bool
        Add the galaxy's photon noise (default True).
    seed : int
        Seed of the noise; row ``k`` of the plan always gets the same noise.
    bands : str or sequence of str
        Bands to render, in channel order (default ugrizy; e.g. ``"ugriz"`` for a model without y).
    """

    name = "lsst-like"
    bands = ("u", "g", "r", "i", "z", "y")
    pixel_scale = LSST_PIXEL_SCALE * u.arcsec
    image_size = 64
    flux_unit = u.nanomaggy
    zero_point = 22.5
    native_pixel_scale = LSST_PIXEL_SCALE * u.arcsec
    psf_fwhm = {band: values[0] * u.arcsec for band, values in LSST_LIKE.items()}
    data_release = "simulated: astro_cnn_injection lsst-like (Ivezić et al. 2019 numbers)"

    def __init__(self, *, plan: Table | str | Path | None = None, photon_noise: bool = True, seed: int = 0,
                 bands: str | tuple[str, ...] = "ugrizy"):
        unknown = [b for b in bands if b not in LSST_LIKE]
        if unknown or not bands:
            raise AstroCNNError(f"bands must be some of ugrizy, not {bands!r}")
        self.bands = tuple(bands)
        self.psf_fwhm = {band: LSST_LIKE[band][0] * u.arcsec for band in self.bands}
        self.plan = None if plan is None else read_plan(plan)
        self.photon_noise = bool(photon_noise)
        self.seed = int(seed)
        self._rows = {} if self.plan is None else {str(k): i for i, k in enumerate(self.plan["id"])}

    def cutouts(self, targets: TargetList, *, size: int | None = None, progress: bool = False) -> ImageBatch:
        """One image per target (see :class:`~astro_cnn.TargetSurvey`).

        Raises
        ------
        AstroCNNError
            The survey was made without a plan.
        """
        if self.plan is None:
            raise AstroCNNError("the lsst-like survey renders the galaxies of an injection plan: pass plan=")
        return super().cutouts(targets, size=size, progress=progress)

    def seeing(self, row) -> dict[str, float]:
        """PSF FWHM (arcsec) per band for a plan row: Rubin's median scaled by its field's SDSS seeing."""
        out = {}
        for band in self.bands:
            sdss_band = "z" if band == "y" else band
            ratio = float(row[f"psf_fwhm_{sdss_band}"]) / SDSSStackSurvey.psf_fwhm[sdss_band].to_value(u.arcsec)
            out[band] = LSST_LIKE[band][0] * ratio
        return out

    def cutout(self, target: Target, size: int) -> np.ndarray:
        """Return the ugrizy image of the plan's galaxy for this target's id (nanomaggies per pixel).

        Raises
        ------
        ValueError
            The id is not in the plan.
        """
        k = self._rows.get(str(target.id))
        if k is None:
            raise ValueError(f"row {target.row}: id {target.id} is not in the injection plan")
        row = self.plan[k]
        ra, dec = float(row["ra"]), float(row["dec"])
        shape = GalaxyShape(ra, dec, float(row["half_light_radius"]), float(row["sersic_n"]),
                            float(row["axis_ratio"]), float(row["position_angle"]))
        wcs = stack_wcs(ra, dec, size, LSST_PIXEL_SCALE)
        magnitudes = {band: float(row[f"mag_{band}"]) for band in "ugriz"}
        magnitudes["y"] = float(y_magnitude(magnitudes["i"], magnitudes["z"]))
        rng = np.random.default_rng([self.seed, k])
        image = np.empty((len(self.bands), size, size), np.float32)
        for c, (band, fwhm) in enumerate(self.seeing(row).items()):
            model = render_galaxy(shape, magnitude_to_nanomaggies(magnitudes[band]), wcs, (0, size, 0, size), fwhm)
            sigma = sky_noise(band)
            variance = np.full(model.shape, sigma**2)
            if self.photon_noise:  # sky-limited: sky variance / sky flux is the flux of one photo-electron
                sky_per_pixel = magnitude_to_nanomaggies(LSST_LIKE[band][3]) * LSST_PIXEL_SCALE**2
                variance = variance + np.maximum(model, 0) * sigma**2 / sky_per_pixel
            image[c] = model + rng.normal(size=model.shape) * np.sqrt(variance)
        return image
