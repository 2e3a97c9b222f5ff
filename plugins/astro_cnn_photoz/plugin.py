"""Registers the ``photo_z`` quantity (a redshift PDF over 180 bins on 0 < z < 0.4 from SDSS ugriz stacks) and its
bundled demonstration models (a network and an aperture-photometry forest)."""

from pathlib import Path

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
    default_head="pasquet2019",
    default_recipe="pasquet2019",
    extras=("ebv",),
    pdf_bins=180,
    pdf_range=(0.0, 0.4),
    ucd="src.redshift.phot",
)

HERE = Path(__file__).parent

#: What the network and the forest share: the quantity and the held-out injected galaxies of their demo.
SHARED = {"quantity": "photo_z", "demo_table": HERE / "demo" / "galaxies.ecsv", "demo_image_column": "image",
          "demo_truth_column": "z_spec"}

MODEL = astro_cnn.ModelSpec(
    name="photoz-sdss-injected-v1",
    path=HERE / "models" / "photoz-sdss-injected-v1.acnn",
    card=HERE / "models" / "photoz-sdss-injected-v1.md",
    default=False,
    description="demonstration only: small CNN + PDF head trained on catalogue galaxies injected into real SDSS "
                "frames, no E(B-V) input; not the default (the aperture forest beats it on the held-out field)",
    **SHARED,
)

FOREST = astro_cnn.ModelSpec(
    name="photoz-sdss-injected-forest-v1",
    path=HERE / "models" / "photoz-sdss-injected-forest-v1.acnn",
    card=HERE / "models" / "photoz-sdss-injected-forest-v1.md",
    default=True,
    description="demonstration only: random forest on aperture photometry of ugriz stacks of catalogue galaxies "
                "injected into real SDSS frames; the default, as it beats the network on the held-out field",
    **SHARED,
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Photometric redshift."""
    return [PHOTO_Z]


@astro_cnn.hookimpl
def astro_cnn_models():
    """The bundled photo-z network and aperture forest (the better on the held-out field is the default), with
    held-out injected demo galaxies."""
    return [MODEL, FOREST]
