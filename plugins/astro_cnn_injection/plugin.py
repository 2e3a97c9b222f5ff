"""Hook implementations of the injection plugin (entry point ``injection = astro_cnn_injection.plugin``)."""

from __future__ import annotations

from astro_cnn import SurveySpec, hookimpl

__all__ = ["astro_cnn_surveys"]


@hookimpl
def astro_cnn_surveys() -> list[SurveySpec]:
    """Register ``sdss-injected`` (catalogue galaxies injected into real SDSS frames, stacked like ``sdss-stack``)
    and ``lsst-like`` (the same galaxies rendered as Rubin would see them)."""
    return [SurveySpec("sdss-injected", _injected,
                       "catalogue galaxies rendered into real SDSS ugriz frames, stacked like sdss-stack "
                       "(needs plan=)"),
            SurveySpec("lsst-like", _lsst_like,
                       "Rubin-like ugrizy images (0.2\"/px, ~0.7\" seeing, 10-year depth) of an injection "
                       "plan's galaxies (needs plan=)")]


def _injected(**options):
    from .survey import SDSSInjectedSurvey

    return SDSSInjectedSurvey(**options)


def _lsst_like(**options):
    from .survey import LSSTLikeSurvey

    return LSSTLikeSurvey(**options)
