"""One call from a Table of galaxies to SDSS images in memory (:func:`cutouts`) or on disk (``write_cutouts``).

:func:`~astro_cnn.cutouts.write_cutouts`, :func:`~astro_cnn.cutouts.as_targets` and
:func:`~astro_cnn.survey_factory.make_survey` live in the core (:mod:`astro_cnn.cutouts`,
:mod:`astro_cnn.survey_factory`; they work for any registered survey) and are re-exported here.
"""

from __future__ import annotations

from typing import Any

from astropy.table import Table

from astro_cnn.cutouts import as_targets, write_cutouts
from astro_cnn.survey import ImageBatch, Survey
from astro_cnn.survey_factory import make_survey
from astro_cnn.target import TargetList

__all__ = ["cutouts", "write_cutouts", "make_survey", "as_targets"]


def cutouts(table: Table | TargetList, survey: str | Survey = "sdss-jpeg", *, size: int | None = None,
            progress: bool = True, **options: Any) -> ImageBatch:
    """Return one image per row of ``table`` (JPEG colour cutouts or 5-band stacks), row-aligned.

    Parameters
    ----------
    table : Table or TargetList
        Galaxies; positions (and ids) are found as in :meth:`astro_cnn.TargetList.from_table`.
    survey : str or Survey
        ``"sdss-jpeg"`` or ``"sdss-stack"`` (or a survey instance).
    size : int, optional
        Side in pixels (default: the survey's).
    progress : bool
        Show a progress bar.
    **options
        Survey options: ``cache_dir``, ``offline``, ``base_url``, ``jpeg_dir``, ``frames_dir``, ...

    Returns
    -------
    ImageBatch
        Failed rows hold zeros and say why in ``status``.
    """
    return make_survey(survey, **options).cutouts(as_targets(table), size=size, progress=progress)
