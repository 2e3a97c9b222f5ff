"""Hook implementations of the ``nets`` plugin: backbones, heads, recipes and the network predictor type."""

from __future__ import annotations

import astro_cnn

from .recipes import RECIPES


def _resnet18(in_channels, image_size, weights=None):
    from .resnet import build_resnet

    return build_resnet(18, in_channels, image_size, weights)


def _resnet34(in_channels, image_size, weights=None):
    from .resnet import build_resnet

    return build_resnet(34, in_channels, image_size, weights)


def _pasquet(in_channels, image_size, weights=None):
    from .pasquet import build_pasquet

    return build_pasquet(in_channels, image_size, weights)


def _pasquet_compact(in_channels, image_size, weights=None):
    from .pasquet import build_pasquet_compact

    return build_pasquet_compact(in_channels, image_size, weights)


def _small(in_channels, image_size, weights=None, **options):
    from .small_cnn import build_small_cnn

    return build_small_cnn(in_channels, image_size, weights, **options)


def _regression(in_features, quantity, n_extras=0, **options):
    from .heads import build_regression_head

    return build_regression_head(in_features, quantity, n_extras, **options)


def _pdf(in_features, quantity, n_extras=0, **options):
    from .heads import build_pdf_head

    return build_pdf_head(in_features, quantity, n_extras, **options)


def _pasquet_head(in_features, quantity, n_extras=0, **options):
    from .heads import build_pasquet_head

    return build_pasquet_head(in_features, quantity, n_extras, **options)


@astro_cnn.hookimpl
def astro_cnn_backbones():
    """ResNet-18/34, the Pasquet et al. inception network (as published, and compact) and a small CNN."""
    return [
        astro_cnn.BackboneSpec("resnet18", _resnet18, "torchvision ResNet-18, any band count, optional local "
                                                      "ImageNet weights"),
        astro_cnn.BackboneSpec("resnet34", _resnet34, "torchvision ResNet-34 (Wu & Boada 2019), any band count, "
                                                      "optional local ImageNet weights"),
        astro_cnn.BackboneSpec("pasquet2019", _pasquet, "Pasquet et al. (2019) as in the authors' code: 5x5 conv, "
                                                        "PReLU, average pooling, 5 inception blocks, flattened "
                                                        "8x8x348 map (64x64 input); 1.8 M parameters"),
        astro_cnn.BackboneSpec("pasquet2019-compact", _pasquet_compact, "a compact inception network (not the "
                                                                        "published one): about half the widths, "
                                                                        "8x8x256 map; 0.9 M parameters"),
        astro_cnn.BackboneSpec("small_cnn", _small, "four conv blocks, ~1.2 M parameters, fast on a CPU"),
    ]


@astro_cnn.hookimpl
def astro_cnn_heads():
    """The Wu & Boada regression head, a binned PDF head and the Pasquet et al. dense layers."""
    return [
        astro_cnn.HeadSpec("regression", _regression, "Wu & Boada (2019): avg+max pool, BN, dropout 0.25, "
                                                      "linear, ReLU, BN, dropout 0.5, linear; MSE loss"),
        astro_cnn.HeadSpec("pdf", _pdf, "softmax over the quantity's bins after average pooling and dense "
                                        "PReLU layers (1024, 1024, extras joined at each); cross-entropy"),
        astro_cnn.HeadSpec("pasquet2019", _pasquet_head, "Pasquet et al. (2019) as in the authors' code: "
                                                         "features and extras (E(B-V)) joined once, dense ReLU "
                                                         "1096, 1096, softmax over the bins (180 for photo_z)"),
    ]


@astro_cnn.hookimpl
def astro_cnn_recipes():
    """The two papers' recipes, a small-data variant and a smoke test."""
    return [astro_cnn.RecipeSpec(name, settings, description) for name, (description, settings) in RECIPES.items()]


@astro_cnn.hookimpl
def astro_cnn_predictor_types():
    """The network predictor of the training engine and the aperture-photometry forest it is compared with
    (each imported only when a model of its type is loaded)."""
    return [astro_cnn.PredictorTypeSpec("network", "astro_cnn.engine.predictor:NetworkPredictor",
                                        "a backbone and head trained by the engine"),
            astro_cnn.PredictorTypeSpec("aperture-forest", "astro_cnn.forest_predictor:ForestPredictor",
                                        "a random forest on photutils aperture photometry of the images")]
