"""The paths users walk, in the sandbox: the command line and tables built from plain data.

Called by :mod:`benchmarks.suite` for each size, every method in a fresh
network namespace:

* ``build_apply``: build the table from plain strings (``Service.tcp(str,
  int, scheduler=...)``, ``Destination(address=str, ...)``) and
  ``Client.apply`` it to an empty kernel, in-process; compared with the
  floor's load.
* ``restore``: ``python -m ipvs -q restore FILE`` of the workload's rules as
  ``ipvsadm -Sn`` writes them, a process timed from start to exit; its
  start-up (the same command with an empty file: interpreter, imports,
  socket, the snapshot of an empty kernel) is measured too and subtracted.
  Compared with ``iptables-legacy-restore`` of the same services and
  ``ipvsadm -R`` of the same rules.
* ``show`` and ``save``: ``python -m ipvs show`` and ``save`` against
  ``ipvsadm -Ln`` and ``ipvsadm -Sn``, processes timed from start to exit,
  interleaved, with the table loaded; their outputs must be identical.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Protocol

from benchmarks import methods as M
from benchmarks.workload import Workload, build_plain
from ipvs import Client

perf = time.perf_counter


class SuiteLike(Protocol):
    """What these measurements need from the suite."""

    args: Any

    def fresh(self) -> Any: ...  # a context manager: a fresh network namespace

    def check(self, what: str, expected: object, got: object) -> None: ...

    def log(self, text: str) -> None: ...


def _process(argv: list[str], keep: bool = False) -> tuple[float, str]:
    """Run a command to its end; return its wall time and (with ``keep``) its output."""
    start = perf()
    proc = subprocess.run(
        argv,
        stdout=subprocess.PIPE if keep else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = perf() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, proc.stdout if keep else ""


def _ipvs(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipvs", *args]


def _summary(samples: list[float], ops: int) -> dict[str, Any]:
    return {"seconds": statistics.median(samples), "samples": samples, "ops": ops}


def measure(suite: SuiteLike, n: int, wl: Workload) -> dict[str, Any]:
    """Measure the user paths at one size; return their figures."""
    out: dict[str, Any] = {}
    full = (n, n * wl.endpoints)
    ops = wl.operations
    reps = suite.args.load_reps

    # -- build from plain data, then apply ----------------------------------------------------
    plain = wl.plain()
    builds: list[float] = []
    applies: list[float] = []
    for _ in range(reps):
        with suite.fresh(), Client() as client:
            start = perf()
            table = build_plain(plain)
            mid = perf()
            client.apply(table)
            end = perf()
            builds.append(mid - start)
            applies.append(end - mid)
            suite.check(f"N={n} build + apply complete", full, M.ipvs_counts())
            del table
    totals = [b + a for b, a in zip(builds, applies, strict=True)]
    out["build_apply"] = {
        **_summary(totals, ops),
        "build": _summary(builds, ops),
        "apply": _summary(applies, ops),
    }
    suite.log(f"N={n}: build + apply {out['build_apply']['seconds']:.3f}s")

    # -- ipvs restore FILE: a process, start-up measured and subtracted -----------------------
    folder = tempfile.mkdtemp(prefix="ipvs-bench-")
    rules = os.path.join(folder, "rules.ipvsadm")
    empty = os.path.join(folder, "empty.ipvsadm")
    with open(rules, "w", encoding="ascii") as fh:
        fh.write(wl.ipvsadm_rules())
    with open(empty, "w", encoding="ascii") as fh:
        fh.write("-C\n")  # an empty file is refused (it would delete everything)
    totals, startups = [], []
    for _ in range(reps):
        with suite.fresh():
            startups.append(_process(_ipvs("-q", "restore", empty))[0])
        with suite.fresh():
            totals.append(_process(_ipvs("-q", "restore", rules))[0])
            suite.check(f"N={n} ipvs restore complete", full, M.ipvs_counts())
    startup = statistics.median(startups)
    out["restore"] = {
        **_summary(totals, ops),
        "startup": _summary(startups, 0),
        "minus_startup_seconds": statistics.median(totals) - startup,
    }
    suite.log(
        f"N={n}: ipvs restore {out['restore']['seconds']:.3f}s "
        f"({out['restore']['minus_startup_seconds']:.3f}s after start-up)"
    )

    # -- show and save against ipvsadm, the table loaded --------------------------------------
    runs: dict[str, list[float]] = {"show": [], "ipvsadm_list": [], "save": [], "ipvsadm_save": []}
    commands = {
        "show": _ipvs("show"),
        "ipvsadm_list": ["ipvsadm", "-Ln"],
        "save": _ipvs("save"),
        "ipvsadm_save": ["ipvsadm", "-Sn"],
    }
    with suite.fresh():
        _process(_ipvs("-q", "restore", rules))
        outputs: dict[str, str] = {}
        for r in range(3):
            for name, argv in commands.items():
                t, text = _process(argv, keep=r == 0)
                runs[name].append(t)
                if r == 0:
                    outputs[name] = text
        suite.check(f"N={n} ipvs show is ipvsadm -Ln", outputs["ipvsadm_list"], outputs["show"])
        suite.check(f"N={n} ipvs save is ipvsadm -Sn", outputs["ipvsadm_save"], outputs["save"])
    for name, samples in runs.items():
        out[name] = _summary(samples, n + n * wl.endpoints)
    out["restore_startup_seconds"] = startup
    os.unlink(rules)
    os.unlink(empty)
    os.rmdir(folder)
    suite.log(
        f"N={n}: ipvs show {out['show']['seconds']:.3f}s vs ipvsadm -Ln "
        f"{out['ipvsadm_list']['seconds']:.3f}s; ipvs save {out['save']['seconds']:.3f}s vs "
        f"ipvsadm -Sn {out['ipvsadm_save']['seconds']:.3f}s"
    )
    return out
