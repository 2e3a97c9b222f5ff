"""Hook implementations of the HiPS plugin (entry point ``hips = astro_cnn_hips.plugin``)."""

from __future__ import annotations

from astro_cnn import SurveySpec, hookimpl

__all__ = ["astro_cnn_surveys"]


@hookimpl
def astro_cnn_surveys() -> list[SurveySpec]:
    """Register ``hips``: per-band FITS or colour cutouts of any HiPS through a hips2fits service."""
    return [SurveySpec("hips", _hips, "any HiPS resampled by hips2fits onto the target's tangent plane, per band "
                                      "(FITS fluxes) or colour; presets legacy-dr10, ps1-dr1, sdss-dr9, des-dr2")]


def _hips(**options):
    from .survey import HiPSSurvey

    return HiPSSurvey(**options)
