"""Catalogue-injection survey: real catalogue galaxies rendered into real SDSS frames and stacked like real targets."""

from pathlib import Path

#: The bundled demo set: held-out injected galaxies (``image`` column of FITS stacks, ``z_spec``,
#: ``log_mstar_taylor2011``), written by :mod:`astro_cnn_injection.default_models`.
DEMO_TABLE = Path(__file__).parent / "demo" / "galaxies.ecsv"
