"""The documentation covers the public API."""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest

import ipvs

DOCS = pathlib.Path(__file__).parent.parent / "docs"


PUBLIC_MODULES = (
    "ipvs.errors",
    "ipvs.netlink",
    "ipvs.formats",
    "ipvs.formats.document",
    "ipvs.formats.html",
    "ipvs.formats.ipvsadm",
    "ipvs.testing",
    "ipvs.testing.netns",
)


def test_every_public_name_is_in_the_reference() -> None:
    text = (DOCS / "reference.rst").read_text()
    missing = [name for name in ipvs.__all__ if f"ipvs.{name}\n" not in text]
    assert missing == []


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_module_name_is_documented(module: str) -> None:
    """Each public module's ``__all__`` is in the reference, and each name has a docstring."""
    mod = importlib.import_module(module)
    text = (DOCS / "reference.rst").read_text()
    block = re.search(rf"^\.\. automodule:: {re.escape(module)}\n((?:   :.*\n)*)", text, re.M)
    assert block is not None, f"no automodule for {module}"
    if re.search(r"^   :members:\s*$", block.group(1), re.MULTILINE):
        return  # autodoc documents the whole __all__ (docstrings checked by the Sphinx -W build)
    targets = set(re.findall(r"^\.\. \w+:: ([\w.]+)", text, re.MULTILINE))
    targets |= set(re.findall(r"^ {10}(\w+)$", text, re.MULTILINE))  # continued ``.. data::``
    listed = re.search(r"^   :members: (.+)$", block.group(1), re.MULTILINE)
    if listed:
        targets |= {m.strip() for m in listed.group(1).split(",")}
    undocumented = [
        name
        for name in mod.__all__
        if not {f"{module}.{name}", f"ipvs.{name}", f"ipvs.errors.{name}", name} & targets
    ]
    assert undocumented == []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj) and not isinstance(obj, type(importlib)):
            assert (obj.__doc__ or "").strip(), f"{module}.{name}"


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    for name in ipvs.__all__:
        obj = getattr(ipvs, name)
        if name == "Operation":
            continue  # a type alias, documented in the reference
        assert (obj.__doc__ or "").strip(), name


def test_import_ipvs_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ipvs; print(sorted(m for m in sys.modules"
        " if m.startswith(('ipvs', 'attr', 'pyroute2', 'socket'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ipvs']"


def test_exports_table_matches_all() -> None:
    assert sorted(ipvs._EXPORTS) == ipvs.__all__
