"""Sphinx configuration for the astro_cnn documentation."""

import sys
from pathlib import Path

import astro_cnn

sys.path.insert(0, str(Path(__file__).parent))
from make_inventories import DIRECTORY, INVENTORIES  # noqa: E402 (beside this file, not installed)

project = "astro_cnn"
author = "astro_cnn developers"
release = astro_cnn.__version__
version = release
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "numpydoc"]
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
exclude_patterns = ["_build", "_inventories"]
html_theme = "alabaster"
# Every cross-reference must resolve, but for two unqualified names in astro_cnn.chunks's
# docstrings, which are to be written out in full there.
nitpicky = True
# Each project's own inventory first; without internet, the subset written by make_inventories.py.
intersphinx_mapping = {name: (root, (None, str(DIRECTORY / f"{name}.inv"))) for name, (root, _) in INVENTORIES.items()}
intersphinx_timeout = 5
