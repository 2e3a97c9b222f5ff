"""Injection plans: which catalogue galaxy goes where in the real frames, with what size and shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from astro_cnn.exceptions import ColumnError
from astro_cnn_sdss.frames import FrameId, LocalFrameIndex, read_frame

from .psf import measure_psf
from .relations import half_light_radius_arcsec, is_early_type, stellar_mass_taylor2011
from .sizes import intrinsic_radius

__all__ = ["BANDS", "PLAN_COLUMNS", "SERSIC_N_RANGE", "SIZE_TABLE_N", "MIN_CONTINUOUS_RADIUS", "select_galaxies",
           "field_psfs", "plan_injections", "read_plan"]

#: Bands rendered, in stack channel order.
BANDS = ("u", "g", "r", "i", "z")
#: Columns every injection plan has (magnitudes are ``mag_<band>``).
PLAN_COLUMNS = ("id", "ra", "dec", "field", *(f"mag_{b}" for b in BANDS), "redshift", "r50_petrosian",
                "half_light_radius", "sersic_n", "axis_ratio", "position_angle", "log_mstar",
                *(f"psf_fwhm_{b}" for b in BANDS))
#: Thickness of discs seen edge-on (minimum axis ratio of late types).
DISC_THICKNESS = 0.2
#: Range of Sérsic indices of ``structure="continuous"`` plans (NYU-VAGC fits, Blanton et al. 2005).
SERSIC_N_RANGE = (0.5, 6.0)
#: Sérsic indices at which a continuous plan's sizes are converted from Petrosian R50 (log-spaced).
SIZE_TABLE_N = np.geomspace(0.5, 6.0, 12)
#: Smallest circularised half-light radius (arcsec) of a continuous plan.
MIN_CONTINUOUS_RADIUS = 0.5


def select_galaxies(catalog: Table, *, z_range: tuple[float, float] = (0.0, 0.4), redshift_column: str = "redshift",
                    class_column: str | None = "class", magnitude_columns: Sequence[str] = BANDS) -> Table:
    """Return the catalogue's galaxies with finite ugriz magnitudes and z_range[0] < z < z_range[1].

    Raises
    ------
    ColumnError
        A needed column is missing.
    """
    needed = [redshift_column, *magnitude_columns] + ([class_column] if class_column else [])
    missing = [c for c in needed if c not in catalog.colnames]
    if missing:
        raise ColumnError(f"catalogue lacks column(s) {', '.join(missing)}; it has: {', '.join(catalog.colnames)}")
    keep = np.ones(len(catalog), bool)
    if class_column:
        keep &= np.char.strip(np.asarray(catalog[class_column], dtype=str)) == "GALAXY"
    z = _floats(catalog[redshift_column])
    keep &= (z > z_range[0]) & (z < z_range[1])
    for column in magnitude_columns:
        magnitudes = _floats(catalog[column])
        keep &= np.isfinite(magnitudes) & (magnitudes > 0) & (magnitudes < 40)  # SDSS writes -9999 for none
    return catalog[keep]


def field_psfs(frames_dir: str | Path) -> dict[str, dict[str, float]]:
    """Measure the PSF FWHM (arcsec) of every frame in ``frames_dir`` from its stars.

    Returns
    -------
    dict
        ``{"<run6>-<camcol>-<field4>": {band: FWHM}}`` (:func:`astro_cnn_injection.psf.measure_psf`).

    Raises
    ------
    ValueError
        A frame has too few stars to measure (the message names it).
    """
    out: dict[str, dict[str, float]] = {}
    for fid, bands in LocalFrameIndex(frames_dir).fields().items():
        for band, (path, _, _) in bands.items():
            frame = read_frame(path.read_bytes(), str(path))
            try:
                out.setdefault(_field_name(fid), {})[band] = measure_psf(frame.data, frame.wcs).fwhm
            except ValueError as exc:
                raise ValueError(f"{path}: cannot measure its PSF ({exc}); pass psf_fwhm= to plan_injections "
                                 "for frames without enough stars") from None
    return out


def plan_injections(galaxies: Table, frames_dir: str | Path, *, seed: int = 0, size: int = 64,
                    scale: float = 0.396, redshift_column: str = "redshift",
                    magnitude_columns: Sequence[str] = BANDS, id_column: str | None = None,
                    psf_fwhm: Mapping[str, float] | None = None, structure: str = "types") -> Table:
    """Give each galaxy a position inside the real frames, a size and a shape.

    Positions are drawn uniformly inside a randomly chosen field, where all five bands cover a
    stack of ``size`` pixels at ``scale`` around them.  Each band's PSF FWHM in that field is
    measured from the frame's stars (:func:`field_psfs`) and recorded (``psf_fwhm_<band>``).
    Sizes follow the size–magnitude relation of Shen et al. (2003) at the galaxy's redshift with its
    log-normal scatter; galaxies redder than u − r = 2.22 (Strateva et al. 2001) get de
    Vaucouleurs profiles (n = 4, axis ratio uniform in 0.5-1), the others exponential discs
    (n = 1) at random inclination.  The relation's size is a Petrosian R50 measured through the
    seeing (``r50_petrosian``); the profile's intrinsic half-light radius (``half_light_radius``)
    is the one whose Petrosian R50 through the field's r-band PSF equals it
    (:func:`astro_cnn_injection.sizes.intrinsic_radius`).  Stellar masses come from the colour–M/L
    relation of Taylor et al. (2011).

    With ``structure="continuous"`` (training sets for the Sérsic parameters themselves) the
    Sérsic index is drawn instead uniformly in log n over :data:`SERSIC_N_RANGE` (0.5-6: the
    range of the single-Sérsic fits of SDSS galaxies in the NYU-VAGC, Blanton et al. 2005, AJ 129,
    2562, whose fits stop at n = 6; flat in log n so that every profile shape is as well
    represented, a design choice for training, not the population's distribution); axis ratios
    and sizes are drawn as above, the intrinsic radius taken through the Petrosian conversion at
    the nearest of :data:`SIZE_TABLE_N` (the conversion is tabulated per index, see
    :mod:`astro_cnn_injection.sizes`) and floored at :data:`MIN_CONTINUOUS_RADIUS`, below which
    a galaxy in SDSS seeing cannot be told from a point source.  The rendered ``sersic_n``,
    ``half_light_radius`` and ``axis_ratio`` are exact; only how closely the sizes follow the
    Shen et al. relation is approximate.

    Parameters
    ----------
    galaxies : Table
        One row per galaxy with ugriz magnitudes and redshift (see :func:`select_galaxies`).
    frames_dir : path
        Directory of SDSS ``frame-<band>-<run>-<camcol>-<field>.fits.bz2`` files, all five bands per field.
    seed : int
        Random seed: the same seed gives the same plan.
    size, scale : int, float
        Side (pixels) and pixel scale (arcsec) of the stacks that will be cut around each galaxy.
    redshift_column : str
        Column of spectroscopic redshifts.
    magnitude_columns : sequence of str
        u, g, r, i, z magnitude columns, in that order.
    id_column : str, optional
        Identifier column copied to ``id`` (default: the row number).
    psf_fwhm : mapping of band to float, optional
        PSF FWHM (arcsec) to record for every field instead of measuring it (for frames too small
        to hold enough stars, such as test crops).
    structure : {"types", "continuous"}
        ``"types"``: n = 4 or 1 by colour (the default, as before); ``"continuous"``: n drawn
        continuously (see above).

    Returns
    -------
    Table
        :data:`PLAN_COLUMNS`, row for row with ``galaxies``.

    Raises
    ------
    ValueError
        No field in ``frames_dir`` has all five bands, or a frame's PSF cannot be measured, or
        ``structure`` is neither "types" nor "continuous".
    """
    if structure not in ("types", "continuous"):
        raise ValueError(f"structure must be 'types' or 'continuous', not {structure!r}")
    fields = {fid: bands for fid, bands in LocalFrameIndex(frames_dir).fields().items()
              if all(b in bands for b in BANDS)}
    if not fields:
        raise ValueError(f"no field in {str(frames_dir)!r} has frames in all of {', '.join(BANDS)}")
    names = sorted(fields, key=lambda f: (f.run, f.camcol, f.field))
    if psf_fwhm is None:
        psfs = field_psfs(frames_dir)
    else:
        psfs = {_field_name(fid): {b: float(psf_fwhm[b]) for b in BANDS} for fid in names}
    rng = np.random.default_rng(seed)
    n = len(galaxies)
    mags = {b: _floats(galaxies[c]) for b, c in zip(BANDS, magnitude_columns)}
    z = _floats(galaxies[redshift_column])
    margin = 0.5 * size * scale * np.sqrt(2.0) / 0.396 + 10
    ra = np.empty(n)
    dec = np.empty(n)
    field_names = []
    for k in range(n):
        fid = names[rng.integers(len(names))]
        ra[k], dec[k] = _position_in(fields[fid], margin, rng)
        field_names.append(_field_name(fid))
    early = is_early_type(mags["u"], mags["r"])
    r50 = half_light_radius_arcsec(mags["r"], z, early, rng)
    psf_columns = {b: np.array([psfs[name][b] for name in field_names]) for b in BANDS}
    cos_i = rng.uniform(0.0, 1.0, n)
    disc_q = np.sqrt(cos_i**2 + DISC_THICKNESS**2 * (1 - cos_i**2))
    if structure == "continuous":
        sersic_n = 10 ** rng.uniform(*np.log10(SERSIC_N_RANGE), n)
        nearest = SIZE_TABLE_N[np.abs(np.log(sersic_n)[:, None] - np.log(SIZE_TABLE_N)[None]).argmin(axis=1)]
        radius = np.maximum(intrinsic_radius(r50, nearest, psf_columns["r"]), MIN_CONTINUOUS_RADIUS)
    else:
        sersic_n = np.where(early, 4.0, 1.0)
        radius = intrinsic_radius(r50, sersic_n, psf_columns["r"])
    plan = Table()
    plan["id"] = np.asarray(galaxies[id_column]) if id_column else np.arange(n)
    plan["ra"], plan["dec"] = ra, dec
    plan["ra"].unit = plan["dec"].unit = "deg"
    plan["field"] = field_names
    for band in BANDS:
        plan[f"mag_{band}"] = mags[band]
        plan[f"mag_{band}"].unit = "mag"
    plan["redshift"] = z
    plan["r50_petrosian"] = r50
    plan["half_light_radius"] = radius
    plan["r50_petrosian"].unit = plan["half_light_radius"].unit = "arcsec"
    plan["sersic_n"] = sersic_n
    plan["axis_ratio"] = np.where(early, rng.uniform(0.5, 1.0, n), disc_q)
    plan["position_angle"] = rng.uniform(0.0, 180.0, n)
    plan["position_angle"].unit = "deg"
    plan["log_mstar"] = stellar_mass_taylor2011(mags["g"], mags["i"], z)
    plan["log_mstar"].unit = "dex(solMass)"
    for band in BANDS:
        plan[f"psf_fwhm_{band}"] = psf_columns[band]
        plan[f"psf_fwhm_{band}"].unit = "arcsec"
    plan.meta["injection"] = {"seed": seed, "frames": [str(f) for f in names], "size": size, "scale": scale,
                              "psf": "measured from each frame's stars" if psf_fwhm is None else "given",
                              "relations": "sizes: Shen et al. (2003) Petrosian R50 through the field's r-band PSF; "
                                           "types: Strateva et al. (2001) u-r = 2.22; "
                                           "masses: Taylor et al. (2011) with observed g-i, no K-correction",
                              "structure": structure}
    return plan


def read_plan(plan: Table | str | Path) -> Table:
    """Return ``plan`` as a Table (reading it from a file), checking it has :data:`PLAN_COLUMNS`.

    Raises
    ------
    ColumnError
        A plan column is missing.
    """
    table = plan if isinstance(plan, Table) else Table.read(plan)
    missing = [c for c in PLAN_COLUMNS if c not in table.colnames]
    if missing:
        raise ColumnError(f"injection plan lacks column(s) {', '.join(missing)} (make one with plan_injections)")
    return table


def _field_name(fid: FrameId) -> str:
    """``<run6>-<camcol>-<field4>``, as in the plan's ``field`` column."""
    return f"{fid.run:06d}-{fid.camcol}-{fid.field:04d}"


def _floats(column) -> np.ndarray:
    """Column values as floats, NaN where masked (missing)."""
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


def _position_in(bands: dict, margin: float, rng: np.random.Generator) -> tuple[float, float]:
    """A random (ra, dec) at least ``margin`` pixels inside every band's frame."""
    _, wcs_r, (ny, nx) = bands["r"]
    if any(2 * margin > min(shape) - 1 for _, _, shape in bands.values()):
        raise ValueError(f"frames too small for the margin: stacks need {margin:.0f} px inside every frame edge")
    for _ in range(1000):
        x, y = rng.uniform(margin, nx - 1 - margin), rng.uniform(margin, ny - 1 - margin)
        ra, dec = wcs_r.all_pix2world([[x, y]], 0)[0]
        inside = True
        for _, wcs, (by, bx) in bands.values():
            px, py = wcs.all_world2pix([[ra, dec]], 0)[0]
            inside &= bool(margin <= px <= bx - 1 - margin and margin <= py <= by - 1 - margin)
        if inside:
            return float(ra), float(dec)
    raise ValueError("could not place a galaxy inside all five bands of a field (frames too small for the margin)")
