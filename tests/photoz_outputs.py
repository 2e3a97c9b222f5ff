"""A small photo-z prediction (the bundled model on its bundled demo galaxies) written to every output format."""

from pathlib import Path

import astro_cnn
from astro_cnn import read_table
from astro_cnn.models import default_model

#: Suffix of every output format the tool writes.
FORMATS = (".ecsv", ".csv", ".txt", ".fits", ".vot", ".hdf5", ".parquet")
MODEL = "photoz-sdss-injected-v1"


def demo_galaxies(rows: int = 6):
    """The first ``rows`` bundled demo galaxies (with ``z_spec``) and the directory of their images."""
    demo = Path(default_model("photo_z").demo_table)
    return read_table(demo)[:rows], demo.parent


def predict_photoz(output: Path, rows: int = 6, **kwargs) -> Path:
    """Predict photo-z PDFs of ``rows`` demo galaxies into ``output`` with :func:`astro_cnn.predict_to_file`,
    keeping ``z_spec``."""
    table, image_dir = demo_galaxies(rows)
    options = {"batch_size": 2, "progress": False, "device": "cpu", **kwargs}
    return astro_cnn.predict_to_file(table, output, model=MODEL, image_column="image", image_dir=image_dir,
                                     keep_columns=["z_spec"], **options).path
