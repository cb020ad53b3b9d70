"""The health reference page covers the public API, and ``import ipvs`` does not load it."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from ipvs import health

PAGE = pathlib.Path(__file__).parents[2] / "docs" / "reference" / "health.rst"


def test_every_public_name_is_on_the_reference_page() -> None:
    text = PAGE.read_text()
    missing = [name for name in health.__all__ if f"ipvs.health.{name}\n" not in text]
    assert missing == []


def test_every_public_name_has_a_docstring() -> None:
    for name in health.__all__:
        if name in ("DNS_TYPES", "Hook", "logger"):
            continue  # data, documented on the page
        assert (getattr(health, name).__doc__ or "").strip(), name


def test_import_ipvs_does_not_load_health() -> None:
    code = "import sys, ipvs; print(any(m.startswith('ipvs.health') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
