"""SDSS survey plugin: catalogue queries, SkyServer colour JPEG cutouts and 5-band FITS stacks.

Surveys registered (through :mod:`astro_cnn_sdss.plugin`): ``"sdss-jpeg"`` and ``"sdss-stack"``.
Defaults (service URLs, cache location, concurrency) live in :data:`astro_cnn_sdss.config.conf`.
"""

from .catalog import PRESETS, preset_sql, query_region, query_sql
from .config import conf
from .cutouts import cutouts, write_cutouts
from .surveys import SDSSJpegSurvey, SDSSStackSurvey

__all__ = ["conf", "cutouts", "write_cutouts", "query_sql", "query_region", "preset_sql", "PRESETS",
           "SDSSJpegSurvey", "SDSSStackSurvey"]
