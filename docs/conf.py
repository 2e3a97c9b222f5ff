"""Sphinx configuration for the astro_cnn documentation."""

import astro_cnn

project = "astro_cnn"
author = "astro_cnn developers"
release = astro_cnn.__version__
version = release
extensions = ["sphinx.ext.autodoc", "numpydoc"]
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
