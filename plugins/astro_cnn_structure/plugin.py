"""Registers the ``structure`` quantity (Sérsic n, r_e in arcsec, q), its head, its recipe and its demo model."""

from pathlib import Path

import astropy.units as u

import astro_cnn
from astro_cnn import registry
from astro_cnn.quantity import Output

STRUCTURE = astro_cnn.Quantity(
    name="structure",
    # descriptions in ASCII: they become FITS header cards (TCOMMn)
    description="single-Sersic structure from ugriz stacks: Sersic index, effective radius along the major axis "
                "and axis ratio, as a PSF-convolved Sersic fit (GALFIT, astropy Sersic2D) defines them",
    kind="regression",
    default_survey="sdss-stack",
    default_backbone="structure_cnn_folded",
    default_head="multi_output",
    default_recipe="structure",
    outputs=(
        Output("sersic_n", u.dimensionless_unscaled, "Sersic index n", valid_range=(0.2, 12.0),
               ucd="src.morph.param", label_columns=("sersic_n",), scale="log"),
        Output("r_e", u.arcsec, "effective (half-light) radius along the major axis", valid_range=(0.02, 60.0),
               ucd="phys.angSize;src", label_columns=("r_e",), scale="log"),
        Output("q", u.dimensionless_unscaled, "axis ratio b/a", valid_range=(0.0, 1.0),
               ucd="phys.size.axisRatio", label_columns=("q", "axis_ratio"), scale="logit"),
    ),
)

#: The ``structure`` recipe's settings, which trained the bundled model (its card has the details; its uncertainties
#: were then recalibrated on a further injection, see ``training/structure_model.py``).
RECIPE = {"optimizer": "adamw", "lr": 2e-3, "lr_ratios": (1.0, 1.0, 1.0), "weight_decay": 1e-4, "batch_size": 64,
          "head_epochs": 0, "cycles": (96,), "schedule": "cosine_restarts", "augment": True, "tta": True,
          "val_fraction": 0.1}

HERE = Path(__file__).parent

MODEL = astro_cnn.ModelSpec(
    name="structure-sdss-injected-v1",
    quantity="structure",
    path=HERE / "models" / "structure-sdss-injected-v1.acnn",
    card=HERE / "models" / "structure-sdss-injected-v1.md",
    default=True,
    description="demonstration only: compact CNN on ugriz stacks of Sersic galaxies injected into real SDSS frames "
                "(n 0.5-6), trained on three fields and scored on a fourth",
)


def _structure_cnn(in_channels, image_size, weights=None, width=16, **options):
    return registry.get("backbone", "small_cnn").build(in_channels, image_size, weights=weights, width=width, **options)


def _structure_cnn_folded(in_channels, image_size, weights=None, width=32, space_to_depth=2, **options):
    return registry.get("backbone", "small_cnn").build(in_channels, image_size, weights=weights, width=width,
                                                       space_to_depth=space_to_depth, **options)


def _multi_output(in_features, quantity, n_extras=0, **options):
    from .network import build_multi_output_head

    return build_multi_output_head(in_features, quantity, n_extras, **options)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Structure (Sérsic n, r_e, q)."""
    return [STRUCTURE]


@astro_cnn.hookimpl
def astro_cnn_backbones():
    """The structure quantity's default network, ``small_cnn`` at 32 channels after folding each 2×2 pixels into
    channels (the bundled model's), and its previous default, ``small_cnn`` at 16 channels on the full image
    (models saved under either name load)."""
    return [astro_cnn.BackboneSpec("structure_cnn_folded", _structure_cnn_folded,
                                   "small_cnn from 32 channels after a 2x2 space-to-depth fold (~1.2 M parameters), "
                                   "the structure quantity's default"),
            astro_cnn.BackboneSpec("structure_cnn", _structure_cnn, "small_cnn from 16 channels (~0.3 M parameters), "
                                                                    "the structure quantity's previous default")]


@astro_cnn.hookimpl
def astro_cnn_heads():
    """A head with one output per output of its quantity."""
    return [astro_cnn.HeadSpec("multi_output", _multi_output, "avg+max pool, dense 128 ReLU, dropout 0.1, linear to "
                                                              "the quantity's outputs; MSE on each output's scale")]


@astro_cnn.hookimpl
def astro_cnn_recipes():
    """The recipe of the bundled structure model."""
    return [astro_cnn.RecipeSpec("structure", RECIPE, "AdamW 2e-3, batch 64, one cosine cycle of 96 epochs, dihedral "
                                                      "augmentation and TTA, 10 % validation split calibrating the "
                                                      "uncertainties")]


@astro_cnn.hookimpl
def astro_cnn_models():
    """The bundled structure model."""
    return [MODEL]
