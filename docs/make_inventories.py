"""Write the offline intersphinx inventories under ``docs/_inventories/``: ``python docs/make_inventories.py``.

``conf.py`` asks each project's own ``objects.inv`` first; where it cannot be downloaded (a build
without internet, as in the test environment) Sphinx falls back to the file written here.  Each
holds only the names these docs refer to, with the address of each in that project's stable
documentation, so links are the same either way.  A new reference to another project's object
is added to :data:`INVENTORIES` and this script run again; ``sphinx-build -n -W`` offline fails
until it is.
"""

from __future__ import annotations

import zlib
from pathlib import Path

#: project -> (its documentation root, [(name, role, page#anchor)]), as in the project's own objects.inv.
INVENTORIES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "python": ("https://docs.python.org/3/", [
        ("logging", "py:module", "library/logging.html#module-logging"),
        ("time.monotonic", "py:function", "library/time.html#time.monotonic"),
    ]),
    "astropy": ("https://docs.astropy.org/en/stable/", [
        (name, role, f"api/{name}.html#{name}") for name, role in [
            ("astropy.config.ConfigNamespace", "py:class"),
            ("astropy.config.get_config_dir", "py:function"),
            ("astropy.coordinates.SkyCoord", "py:class"),
            ("astropy.modeling.fitting.LevMarLSQFitter", "py:class"),
            ("astropy.modeling.fitting.TRFLSQFitter", "py:class"),
            ("astropy.modeling.functional_models.Sersic2D", "py:class"),
            ("astropy.table.QTable", "py:class"),
            ("astropy.table.Table", "py:class"),
            ("astropy.visualization.make_lupton_rgb", "py:function"),
        ]
    ]),
    "numpy": ("https://numpy.org/doc/stable/", [
        ("numpy.memmap", "py:class", "reference/generated/numpy.memmap.html#numpy.memmap"),
    ]),
    "torch": ("https://docs.pytorch.org/docs/stable/", [
        ("torch.utils.data.DataLoader", "py:class", "data.html#torch.utils.data.DataLoader"),
    ]),
    "matplotlib": ("https://matplotlib.org/stable/", [
        ("matplotlib.figure.Figure", "py:class", "api/_as_gen/matplotlib.figure.Figure.html#matplotlib.figure.Figure"),
    ]),
    "reproject": ("https://reproject.readthedocs.io/en/stable/", [
        ("reproject.reproject_interp", "py:function", "api/reproject.reproject_interp.html#reproject.reproject_interp"),
    ]),
    "photutils": ("https://photutils.readthedocs.io/en/stable/", [
        (name, role, f"api/{name}.html#{name}") for name, role in [
            ("photutils.detection.DAOStarFinder", "py:class"),
            ("photutils.psf.fit_fwhm", "py:function"),
        ]
    ]),
    "pillow": ("https://pillow.readthedocs.io/en/stable/", [
        ("PIL.Image.MAX_IMAGE_PIXELS", "py:data", "reference/Image.html#PIL.Image.MAX_IMAGE_PIXELS"),
    ]),
    "requests": ("https://requests.readthedocs.io/en/latest/", [
        ("requests.Session", "py:class", "api/#requests.Session"),
    ]),
    "urllib3": ("https://urllib3.readthedocs.io/en/stable/", [
        ("urllib3.util.Retry", "py:class", "reference/urllib3.util.html#urllib3.util.Retry"),
    ]),
}

#: Where the inventories are written (``conf.py`` reads them from there).
DIRECTORY = Path(__file__).parent / "_inventories"


def inventory(project: str, entries: list[tuple[str, str, str]]) -> bytes:
    """Return an ``objects.inv`` (Sphinx inventory version 2) of ``entries`` of ``project``."""
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: stable\n"
              "# The remainder of this file is compressed using zlib.\n").encode()
    lines = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in sorted(entries))
    return header + zlib.compress(lines.encode())


def main() -> None:
    """Write one ``<project>.inv`` per entry of :data:`INVENTORIES`."""
    DIRECTORY.mkdir(exist_ok=True)
    for project, (_, entries) in INVENTORIES.items():
        (DIRECTORY / f"{project}.inv").write_bytes(inventory(project, entries))


if __name__ == "__main__":
    main()
