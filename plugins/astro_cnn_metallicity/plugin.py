"""Registers the ``metallicity`` quantity: 12+log(O/H) in dex from SDSS gri colour cutouts."""

import astropy.units as u

import astro_cnn

METALLICITY = astro_cnn.Quantity(
    name="metallicity",
    column="log_oh",
    unit=u.dex,
    description="gas-phase metallicity 12+log(O/H) (MPA-JHU oh_p50), as in Wu & Boada (2019, MNRAS 484, 4683)",
    kind="regression",
    label_columns=("oh_p50", "log_oh", "12_log_oh"),
    valid_range=(7.0, 10.0),
    default_survey="sdss-jpeg",
    default_backbone="resnet34",
    default_head="regression",
    default_recipe="wu2019",
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Metallicity."""
    return [METALLICITY]
