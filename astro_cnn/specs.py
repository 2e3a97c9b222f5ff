"""Specifications that plugins return from their hooks (see :mod:`astro_cnn.hookspecs`).

Each is a small frozen record: a unique ``name``, a one-line ``description`` shown by
``astro-cnn plugins``, and what the core needs to build the component.  Heavy libraries
(torch) are imported only when a factory is called, so listing plugins stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SurveySpec",
    "BackboneSpec",
    "HeadSpec",
    "RecipeSpec",
    "PredictorTypeSpec",
    "ModelSpec",
]


@dataclass(frozen=True)
class SurveySpec:
    """A survey a plugin provides.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"sdss-jpeg"``.
    factory : callable
        ``factory(**options) -> astro_cnn.Survey``.
    description : str
        One line for listings.
    default : bool
        The survey commands use when none is named (``astro-cnn cutouts``, ``query``); if several
        installed surveys claim it, the first by name is used.
    """

    name: str
    factory: Callable[..., Any]
    description: str = ""
    default: bool = False


@dataclass(frozen=True)
class BackboneSpec:
    """A network backbone: images ``(N, C, H, W)`` to a feature map or vector.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"resnet34"``.
    build : callable
        ``build(in_channels: int, image_size: int, weights: str | None = None, **options)``
        returning a ``torch.nn.Module``.
    description : str
        One line for listings.
    """

    name: str
    build: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class HeadSpec:
    """A network head: backbone features to the raw model output of one quantity.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"regression"`` or ``"pdf"``.
    build : callable
        ``build(in_features: int, quantity: astro_cnn.Quantity, **options) -> torch.nn.Module``.
    description : str
        One line for listings.
    """

    name: str
    build: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class RecipeSpec:
    """A named training recipe (optimiser, schedule, epochs, batch size, augmentation).

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"wu2019"``.
    settings : mapping
        Recipe settings understood by the training engine.
    description : str
        One line for listings; the literature reference where there is one.
    """

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class PredictorTypeSpec:
    """A :class:`astro_cnn.Predictor` subclass, found by name when a saved model is loaded.

    Parameters
    ----------
    name : str
        Name recorded in saved models.
    cls : type or str
        The class, or ``"module:Class"`` to import it only when a model of this type is loaded.
    description : str
        One line for listings.
    """

    name: str
    cls: type | str
    description: str = ""

    def resolve(self) -> type:
        """Return the class, importing it if it was given as ``"module:Class"``."""
        if isinstance(self.cls, type):
            return self.cls
        module, _, attribute = self.cls.partition(":")
        return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class ModelSpec:
    """A trained model shipped by a plugin.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"metallicity-sdss-gri-v1"``.
    quantity : str
        The quantity it predicts.
    path : Path
        The saved model file (see :meth:`astro_cnn.Predictor.save`).
    card : Path or None
        Its model card (Markdown): data, recipe, metrics, limitations.
    default : bool
        Whether it is the model used for ``quantity`` when none is named.
    description : str
        One line for listings.
    demo_table : Path or None
        A table of real galaxies for ``astro-cnn demo``, with an image-file column (paths relative
        to the table) and, where known, the true value.
    demo_image_column : str or None
        Image-file column of ``demo_table``; None: images come from the model's survey (e.g.
        cutouts bundled with a survey plugin, found by id).
    demo_truth_column : str or None
        Column of ``demo_table`` holding the true (e.g. spectroscopic) value.
    demo_reference_column : str or None
        Column of ``demo_table`` holding a published prediction to compare with.
    """

    name: str
    quantity: str
    path: Path
    card: Path | None = None
    default: bool = False
    description: str = ""
    demo_table: Path | None = None
    demo_image_column: str | None = "image"
    demo_truth_column: str | None = None
    demo_reference_column: str | None = None
