"""Registers the ``photo_z`` quantity: a redshift PDF over 180 bins on 0 < z < 0.4 from SDSS ugriz stacks."""

import astropy.units as u

import astro_cnn

PHOTO_Z = astro_cnn.Quantity(
    name="photo_z",
    column="z_phot",
    unit=u.dimensionless_unscaled,
    description=("photometric redshift with its PDF (softmax over 180 bins, z_phot = sum z_k p_k), "
                 "as in Pasquet et al. (2019, A&A 621, A26)"),
    kind="pdf",
    label_columns=("z", "redshift", "z_spec", "specz"),
    valid_range=(0.0, 0.4),
    default_survey="sdss-stack",
    default_backbone="pasquet2019",
    default_head="pdf",
    default_recipe="pasquet2019",
    extras=("ebv",),
    pdf_bins=180,
    pdf_range=(0.0, 0.4),
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Photometric redshift."""
    return [PHOTO_Z]
