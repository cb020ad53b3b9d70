"""Sphinx configuration for the ipvs documentation."""

from __future__ import annotations

import os
import sys
from typing import Any

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
# DOCS is this directory, for examples that read files next to the pages.
doctest_global_setup = f"""
import pathlib
import ipvs
from ipvs import *
from ipvs.formats.ipvsadm import *
DOCS = pathlib.Path({os.path.abspath(".")!r})
try:
    import jsonschema
except ImportError:
    jsonschema = None
"""


def _builtin_object(app: object, doctree: Any) -> None:
    """Leave ``object`` in type hints unlinked.

    Sphinx resolves a bare ``object`` in a rendered type hint (for example
    ``list[tuple[str, object, object]]``) by searching for any documented
    name ending in ``.object``, and finds the attributes
    ``KernelError.object``, ``Exchange.object`` and ``Write.object``: a wrong
    link, or an "ambiguous reference" warning. The built-in is meant.
    """
    from sphinx.addnodes import pending_xref

    for node in list(doctree.findall(pending_xref)):
        if (
            node.get("refdomain") == "py"
            and node.get("reftype") in ("class", "obj")
            and node.get("reftarget") in ("object", "builtins.object")
        ):
            node.replace_self(node.children)


# TEMPORARY: corrections of docstrings in ipvs/ that break this build, until
# they are fixed at the source (each applies only while the old text is there;
# delete an entry once the docstring is fixed, and this hook when none is left).
_DOCSTRING_FIXES: dict[str, list[tuple[str, str]]] = {
    # The example's bytes: family 42 is type 0x2a, seq 100 is 0x64, a flush
    # request is 20 bytes, and the ack echoes 16 header bytes (36 in all).
    "ipvs.netlink.Conversation": [
        (
            "'1800000002000500650000000000000011010000'",
            "'140000002a000500640000000000000011010000'",
        ),
        (
            '"2400000002000001650000000000000000000000"',
            '"2400000002000001640000000000000000000000"',
        ),
        (
            '"1400000002000500650000000000000000000000"))',
            '"140000002a0005006400000000000000"))',
        ),
        ("[Ack(seq=101, errno=0,", "[Ack(seq=100, errno=0,"),
    ],
    # Napoleon reads the text before the first colon of a Returns line as a
    # type, which splits the inline literal.
    "ipvs.formats.document.plan_to_dict": [
        (
            '"summary": {"add": n,\n    "change": n, "delete": n}}``.',
            '"summary": {"add": n, "change": n, "delete": n}}``.\n',
        ),
    ],
}


def _fix_docstring(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    fixes = _DOCSTRING_FIXES.get(name)
    if fixes:
        text = "\n".join(lines)
        for old, new in fixes:
            text = text.replace(old, new)
        lines[:] = text.split("\n")


def setup(app: Any) -> None:
    app.connect("doctree-read", _builtin_object)
    app.connect("autodoc-process-docstring", _fix_docstring, priority=100)  # before napoleon
