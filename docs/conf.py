"""Sphinx configuration for customer_value."""

from __future__ import annotations

import customer_value

project = "customer_value"
author = "customer_value developers"
copyright = "2026, customer_value developers"
release = customer_value.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
intersphinx_mapping: dict[str, tuple[str, None]] = {}
templates_path: list[str] = []
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "customer_value"
html_static_path = ["_static"]

# Gallery: plots are drawn at build time on the bundled data (Agg backend).
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_pre_code = "import matplotlib\nmatplotlib.use('Agg')\n"
