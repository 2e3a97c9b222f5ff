"""Hook implementations of the SDSS plugin (entry point ``sdss = astro_cnn_sdss.plugin``)."""

from __future__ import annotations

from astro_cnn import SurveySpec, hookimpl

__all__ = ["astro_cnn_surveys"]


@hookimpl
def astro_cnn_surveys() -> list[SurveySpec]:
    """Register ``sdss-jpeg`` (SkyServer gri colour JPEGs) and ``sdss-stack`` (5-band frame stacks)."""
    return [
        SurveySpec("sdss-jpeg", _jpeg, "SDSS gri colour JPEGs from SkyServer ImgCutout, 128 px at 0.296\"/px "
                                       "(Wu & Boada 2019 input)", default=True),
        SurveySpec("sdss-stack", _stack, "SDSS ugriz frames resampled and co-added, 64 px at 0.396\"/px, "
                                         "nanomaggies (Pasquet et al. 2019 input)"),
    ]


def _jpeg(**options):
    from .surveys import SDSSJpegSurvey

    return SDSSJpegSurvey(**options)


def _stack(**options):
    from .surveys import SDSSStackSurvey

    return SDSSStackSurvey(**options)
