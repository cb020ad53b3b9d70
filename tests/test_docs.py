"""The documentation covers the public API."""

from __future__ import annotations

import pathlib

import ipvs

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def test_every_public_name_is_in_the_reference() -> None:
    text = (DOCS / "reference.rst").read_text()
    missing = [name for name in ipvs.__all__ if f"ipvs.{name}\n" not in text]
    assert missing == []


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
