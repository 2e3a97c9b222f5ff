"""HiPS surveys for astro_cnn: cutouts of any HiPS resampled by a hips2fits service onto the target's tangent plane.

Registered as the ``hips`` survey through the ``astro_cnn`` entry point ``hips = astro_cnn_hips.plugin``;
the presets (:data:`~astro_cnn_hips.presets.PRESETS`) name the HiPS of a few well-known surveys band by band.
"""

from .presets import PRESETS, Preset
from .survey import HiPSSurvey

__all__ = ["HiPSSurvey", "PRESETS", "Preset"]
