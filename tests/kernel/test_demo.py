"""The main job, examples/demo.py, end to end in the sandbox kernel."""

from __future__ import annotations

import importlib.util
import itertools
import pathlib
import re
import subprocess
import sys

DEMO = pathlib.Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_module_imports_without_side_effects() -> None:
    spec = importlib.util.spec_from_file_location("ipvs_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)


def test_demo_runs_and_traffic_matches_the_configuration() -> None:
    proc = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    replies = re.findall(r"request \d -> (web\d)", out)
    assert len(replies) == 4
    assert all(a != b for a, b in itertools.pairwise(replies))
    assert "ok: replies alternate between web1 and web2" in out
    assert "observed web1:web2 = 30:10" in out
    assert "ok: new connections all go to web1" in out
    assert "All checks passed" in out
    assert "DEMO FAILED" not in out
