"""Published scaling relations the injection survey uses: galaxy size and stellar mass from catalogue photometry.

Both use a flat ΛCDM cosmology with H0 = 70 km/s/Mpc and Ωm = 0.3, the cosmology of the papers
the relations come from, and observed-frame magnitudes without K-corrections (the catalogue has
none); both limitations are stated in the model cards of models trained with them.
"""

from __future__ import annotations

import numpy as np
from astropy.cosmology import FlatLambdaCDM

__all__ = ["COSMOLOGY", "EARLY_TYPE_U_R", "is_early_type", "absolute_magnitude", "half_light_radius_kpc",
           "size_scatter_ln", "half_light_radius_arcsec", "stellar_mass_taylor2011"]

#: Cosmology of Shen et al. (2003) and Taylor et al. (2011).
COSMOLOGY = FlatLambdaCDM(H0=70.0, Om0=0.3)
#: Strateva et al. (2001, AJ 122, 1861): observed u − r ≥ 2.22 separates early from late types.
EARLY_TYPE_U_R = 2.22


def is_early_type(u_mag: np.ndarray, r_mag: np.ndarray) -> np.ndarray:
    """Strateva et al. (2001) colour separator: True where observed u − r ≥ 2.22."""
    return np.asarray(u_mag, float) - np.asarray(r_mag, float) >= EARLY_TYPE_U_R


def absolute_magnitude(apparent: np.ndarray, redshift: np.ndarray) -> np.ndarray:
    """M = m − DM(z) (no K-correction); redshifts are floored at 0.001 to keep DM finite."""
    z = np.maximum(np.asarray(redshift, float), 1e-3)
    return np.asarray(apparent, float) - COSMOLOGY.distmod(z).value


def half_light_radius_kpc(abs_r: np.ndarray, early: np.ndarray) -> np.ndarray:
    """Median r-band Petrosian half-light radius R50 (kpc) at absolute magnitude M_r (Shen et al. 2003).

    Shen et al. (2003, MNRAS 343, 978), eqs. 14-15 with Table 1 (r band):

    - late types: log R50 = −0.4 α M + (β − α) log(1 + 10^(−0.4 (M − M0))) + γ,
      α = 0.21, β = 0.53, γ = −1.31, M0 = −20.52;
    - early types: log R50 = −0.4 a M + b, a = 0.65, b = −5.06.
    """
    m = np.asarray(abs_r, float)
    late = -0.4 * 0.21 * m + (0.53 - 0.21) * np.log10(1 + 10 ** (-0.4 * (m + 20.52))) - 1.31
    early_size = -0.4 * 0.65 * m - 5.06
    return 10 ** np.where(early, early_size, late)


def size_scatter_ln(abs_r: np.ndarray) -> np.ndarray:
    """Scatter of ln R50 at fixed M_r (Shen et al. 2003, eq. 16): σ2 + (σ1 − σ2)/(1 + 10^(−0.8 (M − M0))).

    σ1 = 0.48, σ2 = 0.25, M0 = −20.52 (their late-type fit, used for both types here).
    """
    m = np.asarray(abs_r, float)
    return 0.25 + (0.48 - 0.25) / (1 + 10 ** (-0.8 * (m + 20.52)))


def half_light_radius_arcsec(r_mag: np.ndarray, redshift: np.ndarray, early: np.ndarray,
                             rng: np.random.Generator | None = None, *, limits: tuple[float, float] = (0.3, 12.0)
                             ) -> np.ndarray:
    """Angular half-light radius (arcsec) of galaxies of observed r magnitude at ``redshift``.

    The median size of :func:`half_light_radius_kpc` at M_r = r − DM(z), scattered log-normally
    by :func:`size_scatter_ln` when ``rng`` is given, divided by the angular-diameter distance and
    clipped to ``limits`` (the smallest resolvable and the largest that fits a 64-pixel stack).
    """
    z = np.maximum(np.asarray(redshift, float), 1e-3)
    abs_r = absolute_magnitude(r_mag, z)
    radius_kpc = half_light_radius_kpc(abs_r, early)
    if rng is not None:
        radius_kpc = radius_kpc * np.exp(rng.normal(size=radius_kpc.shape) * size_scatter_ln(abs_r))
    kpc_per_arcsec = COSMOLOGY.kpc_proper_per_arcmin(z).value / 60.0
    return np.clip(radius_kpc / kpc_per_arcsec, *limits)


def stellar_mass_taylor2011(g_mag: np.ndarray, i_mag: np.ndarray, redshift: np.ndarray) -> np.ndarray:
    """log10(M*/Msun) from the colour–M/L relation of Taylor et al. (2011, MNRAS 418, 1587, eq. 8).

    log M* = 1.15 + 0.70 (g − i) − 0.4 M_i (Chabrier IMF), here with observed g − i and
    M_i = i − DM(z) without K-correction.
    """
    g = np.asarray(g_mag, float)
    i = np.asarray(i_mag, float)
    return 1.15 + 0.70 * (g - i) - 0.4 * absolute_magnitude(i, redshift)
