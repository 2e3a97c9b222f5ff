"""Registers the ``stellar_mass`` quantity: log(M*/Msun) as ``u.dex(u.Msun)`` from SDSS gri cutouts."""

import astropy.units as u

import astro_cnn

STELLAR_MASS = astro_cnn.Quantity(
    name="stellar_mass",
    column="log_mstar",
    unit=u.dex(u.Msun),
    description="stellar mass log(M*/Msun) (MPA-JHU lgm_tot_p50), as in Wu & Boada (2019, MNRAS 484, 4683)",
    kind="regression",
    label_columns=("lgm_tot_p50", "log_mstar", "logmass"),
    valid_range=(5.0, 13.0),
    default_survey="sdss-jpeg",
    default_backbone="resnet34",
    default_head="regression",
    default_recipe="wu2019",
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Stellar mass."""
    return [STELLAR_MASS]
