"""astro_cnn: galaxy properties from survey images with convolutional networks.

Table in, QTable out::

    >>> import astro_cnn
    >>> result = astro_cnn.predict(table, quantity="metallicity")  # doctest: +SKIP

Everything survey- or quantity-specific comes from plugins found through the ``astro_cnn``
entry-point group; see :mod:`astro_cnn.hookspecs` for what a plugin can provide.
"""

import pluggy

from ._atomic import atomic_path
from ._version import __version__
from .api import predict
from .exceptions import (
    AstroCNNError,
    ColumnError,
    IncompatibleImagesError,
    ModelNotFoundError,
    NetworkDisabledError,
    PluginClashError,
    UnknownNameError,
)
from .image_files import ImageFileSurvey, read_image
from .models import available_models, resolve_predictor
from .predictor import Predictor, load_predictor
from .quantity import Prediction, Quantity
from .specs import BackboneSpec, HeadSpec, ModelSpec, PredictorTypeSpec, RecipeSpec, SurveySpec
from .streaming import predict_to_file
from .survey import ImageBatch, Survey
from .survey_factory import make_survey
from .table_io import read_table, write_table
from .target import Target, TargetList
from .target_survey import Cutout, TargetSurvey

#: Decorator marking a plugin's hook implementations.
hookimpl = pluggy.HookimplMarker("astro_cnn")

_LAZY = {"train": "engine", "cross_validate": "engine", "NetworkPredictor": "engine", "evaluate": "evaluation"}


def __getattr__(name: str):
    """Import the training engine (torch) and the evaluation suite only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'astro_cnn' has no attribute {name!r}")

__all__ = [
    "atomic_path",
    "__version__",
    "hookimpl",
    "predict",
    "predict_to_file",
    "train",
    "cross_validate",
    "NetworkPredictor",
    "evaluate",
    "Target",
    "TargetList",
    "Survey",
    "TargetSurvey",
    "Cutout",
    "make_survey",
    "ImageBatch",
    "ImageFileSurvey",
    "read_image",
    "Quantity",
    "Prediction",
    "Predictor",
    "load_predictor",
    "available_models",
    "resolve_predictor",
    "read_table",
    "write_table",
    "SurveySpec",
    "BackboneSpec",
    "HeadSpec",
    "RecipeSpec",
    "PredictorTypeSpec",
    "ModelSpec",
    "AstroCNNError",
    "ColumnError",
    "IncompatibleImagesError",
    "ModelNotFoundError",
    "NetworkDisabledError",
    "PluginClashError",
    "UnknownNameError",
]
