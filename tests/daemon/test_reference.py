"""The daemon's reference page covers its public API, and ``import ipvs`` does not load it."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from ipvs import daemon

PAGE = pathlib.Path(__file__).parents[2] / "docs" / "reference" / "daemon.rst"
DATA = {"APPLY_BUCKETS", "BACKEND_LABELS", "CONTENT_TYPE", "DEFAULT_METRICS", "SERVICE_LABELS"}


def test_every_public_name_is_on_the_reference_page() -> None:
    text = PAGE.read_text()
    missing = [name for name in daemon.__all__ if f"ipvs.daemon.{name}\n" not in text]
    assert missing == []


def test_every_public_name_has_a_docstring() -> None:
    for name in daemon.__all__:
        if name in DATA or name == "logger":
            continue  # data, documented on the page
        assert (getattr(daemon, name).__doc__ or "").strip(), name


def test_import_ipvs_does_not_load_the_daemon() -> None:
    code = "import sys, ipvs; print(any(m.startswith('ipvs.daemon') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
