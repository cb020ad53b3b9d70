"""Sphinx configuration for the ipvs documentation."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "ipvs"
author = "The ipvs developers"
copyright = "2026, The ipvs developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
intersphinx_mapping: dict[str, tuple[str, None]] = {}
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]

# Docstring examples are written in their module's namespace.
doctest_global_setup = """
import ipvs
from ipvs import *
from ipvs.ipvsadm import *
"""
