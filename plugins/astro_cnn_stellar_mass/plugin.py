"""Registers the ``stellar_mass`` quantity (log(M*/Msun) as ``u.dex(u.Msun)``) and its bundled demonstration models
(a network and an aperture-photometry forest)."""

from pathlib import Path

import astropy.units as u

import astro_cnn

STELLAR_MASS = astro_cnn.Quantity(
    name="stellar_mass",
    column="log_mstar",
    unit=u.dex(u.Msun),
    description="stellar mass log(M*/Msun); Wu & Boada (2019, MNRAS 484, 4683) regress MPA-JHU lgm_tot_p50, each "
                "model's card says which mass estimate it learned",
    kind="regression",
    label_columns=("lgm_tot_p50", "log_mstar", "logmass"),
    valid_range=(5.0, 13.0),
    default_survey="sdss-jpeg",
    default_backbone="resnet34",
    default_head="regression",
    default_recipe="wu2019",
    ucd="phys.mass",
)

HERE = Path(__file__).parent

#: What the network and the forest share: the quantity and the held-out injected galaxies of their demo.
SHARED = {"quantity": "stellar_mass", "demo_table": HERE / "demo" / "galaxies.ecsv", "demo_image_column": "image",
          "demo_truth_column": "log_mstar_taylor2011"}

MODEL = astro_cnn.ModelSpec(
    name="stellar-mass-sdss-injected-v1",
    path=HERE / "models" / "stellar-mass-sdss-injected-v1.acnn",
    card=HERE / "models" / "stellar-mass-sdss-injected-v1.md",
    default=False,
    description="demonstration only: small CNN on ugriz stacks of catalogue galaxies injected into real SDSS "
                "frames, Taylor et al. (2011) colour-M/L masses; not the default (the aperture forest beats it on "
                "the held-out field)",
    **SHARED,
)

FOREST = astro_cnn.ModelSpec(
    name="stellar-mass-sdss-injected-forest-v1",
    path=HERE / "models" / "stellar-mass-sdss-injected-forest-v1.acnn",
    card=HERE / "models" / "stellar-mass-sdss-injected-forest-v1.md",
    default=True,
    description="demonstration only: random forest on aperture photometry of ugriz stacks of catalogue galaxies "
                "injected into real SDSS frames, Taylor et al. (2011) colour-M/L masses; the default, as it beats "
                "the network on the held-out field",
    **SHARED,
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Stellar mass."""
    return [STELLAR_MASS]


@astro_cnn.hookimpl
def astro_cnn_models():
    """The bundled stellar-mass network and aperture forest (the better on the held-out field is the default), with
    held-out injected demo galaxies."""
    return [MODEL, FOREST]
