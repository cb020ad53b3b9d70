"""examples/failover.py end to end in the sandbox kernel: real packets fail over and back."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "failover.py"


def test_failover_module_imports_without_side_effects() -> None:
    spec = importlib.util.spec_from_file_location("ipvs_failover", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)
    assert module.CHECK.detection_time() == 3.0


def test_failover_runs_and_traffic_moves_and_returns() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "FAILOVER FAILED" not in out
    assert "ok: every reply comes from web1, none fails" in out
    assert "ok: replies alternate between web1 and web2 again" in out
    measured = re.search(
        r"measured: detection ([\d.]+) s \(applied ([\d.]+) s\), recovery ([\d.]+) s "
        r"\(applied ([\d.]+) s\), (\d+) of (\d+) requests failed",
        out,
    )
    assert measured is not None, out
    detected, applied, recovered, back = (float(measured[i]) for i in range(1, 5))
    # two probes 0.5 s apart at the earliest; the example checks the upper bound
    assert 0.5 <= detected <= applied
    assert 0.5 <= recovered <= back
    failed, sent = int(measured[5]), int(measured[6])
    assert failed <= sent
    assert "All checks passed" in out
