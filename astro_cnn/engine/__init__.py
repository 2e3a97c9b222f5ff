"""The learning engine: assemble networks from registered parts, train them with a recipe, predict.

Nothing here names a plugin: backbones, heads and recipes come from :mod:`astro_cnn.registry`.
"""

from .predictor import NetworkPredictor
from .train import cross_validate, train

__all__ = ["NetworkPredictor", "train", "cross_validate"]
