"""Hook implementations of the injection plugin (entry point ``injection = astro_cnn_injection.plugin``)."""

from __future__ import annotations

from astro_cnn import SurveySpec, hookimpl

__all__ = ["astro_cnn_surveys"]


@hookimpl
def astro_cnn_surveys() -> list[SurveySpec]:
    """Register ``sdss-injected`` (catalogue galaxies injected into real SDSS frames, stacked like ``sdss-stack``)."""
    return [SurveySpec("sdss-injected", _injected,
                       "catalogue galaxies rendered into real SDSS ugriz frames, stacked like sdss-stack "
                       "(needs plan=)")]


def _injected(**options):
    from .survey import SDSSInjectedSurvey

    return SDSSInjectedSurvey(**options)
