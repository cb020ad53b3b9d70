"""What the sandbox charges: the kernel's destination trash, page faults, pure Python.

Called once per run by :mod:`benchmarks.suite` (inside the sandbox):

* :func:`trash_curve`: in one fresh network namespace per size, load N
  destinations, flush, load the same N again; then, in another, load N,
  flush, and load N *other* destinations. IPVS keeps deleted destinations
  in a per-namespace trash list for two to three minutes and scans it for
  every destination it adds, so the second load costs O(N) per destination.
* :func:`guest_costs`: a trivial syscall, a page fault (touching fresh
  anonymous memory against memory already touched), and the minor faults of
  building and applying a table; then some of :mod:`benchmarks.host`'s pure
  Python paths measured in the guest, as ratios to ``IPv4Address(str)``
  there, for comparison with the host's.
"""

from __future__ import annotations

import gc
import mmap
import os
import resource
import time
from typing import Any

from benchmarks import methods as M
from benchmarks.workload import Workload, build_plain
from ipvs import Client, Destination, ForwardMethod, Table
from ipvs.testing import netns

perf = time.perf_counter
PAGE = mmap.PAGESIZE


def per_call(func: Any, calls: int = 2000, rounds: int = 5) -> float:
    """Seconds per call of ``func`` (no arguments): the best of a few rounds."""
    best = float("inf")
    for _ in range(rounds):
        start = perf()
        for _ in range(calls):
            func()
        best = min(best, (perf() - start) / calls)
    return best


def _other_endpoints(table: Table) -> Table:
    """The same services with other destinations (addresses 10.200.x.y instead)."""
    out = []
    k = 0
    for entry in table.values():
        dests = []
        for d in entry.destinations:
            k += 1
            dests.append(
                Destination(
                    address=f"10.{200 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}",
                    port=d.port,
                    forward=ForwardMethod.MASQ,
                )
            )
        out.append((entry.service, dests))
    return Table(out)


def trash_curve(sizes: list[int], endpoints: int, log: Any) -> list[dict[str, Any]]:
    """Delete N destinations, then add N: the same ones, or others, at several N."""
    points = []
    for n in sizes:
        wl = Workload(n, endpoints)
        table = wl.table()
        others = _other_endpoints(table)
        point: dict[str, Any] = {"services": n, "destinations": n * endpoints}
        for name, second in (("same", table), ("other", others)):
            with netns.fresh(), Client() as client:
                gc.collect()
                start = perf()
                client.apply(table)
                first = perf() - start
                client.flush()
                gc.collect()
                start = perf()
                client.apply(second, current=Table())
                again = perf() - start
                counts = M.ipvs_counts()
            point[name] = {"first_load_seconds": first, "after_flush_seconds": again}
            point[name]["complete"] = counts == (n, n * endpoints)
        points.append(point)
        same, other = point["same"], point["other"]
        log(
            f"trash: {n * endpoints} destinations: load {same['first_load_seconds']:.3f}s, "
            f"the same again after a flush {same['after_flush_seconds']:.3f}s, "
            f"others {other['after_flush_seconds']:.3f}s"
        )
    return points


def page_fault_cost(megabytes: int = 64) -> dict[str, float]:
    """Time per first touch of an anonymous page, against touching it again."""
    size = megabytes << 20
    pages = size // PAGE
    area = mmap.mmap(-1, size)
    try:
        start = perf()
        for off in range(0, size, PAGE):
            area[off] = 1
        fresh = perf() - start
        start = perf()
        for off in range(0, size, PAGE):
            area[off] = 2
        touched = perf() - start
    finally:
        area.close()
    return {
        "pages": pages,
        "first_touch_us": fresh / pages * 1e6,
        "second_touch_us": touched / pages * 1e6,
        "fault_us": (fresh - touched) / pages * 1e6,
    }


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def build_apply_faults(n: int, endpoints: int) -> dict[str, Any]:
    """Minor page faults and times of building a table from plain data and applying it."""
    wl = Workload(n, endpoints)
    plain = wl.plain()
    with netns.fresh(), Client() as client:
        gc.collect()
        f0, t0 = _faults(), perf()
        table = build_plain(plain)
        f1, t1 = _faults(), perf()
        client.apply(table)
        f2, t2 = _faults(), perf()
    return {
        "operations": wl.operations,
        "build_faults": f1 - f0,
        "apply_faults": f2 - f1,
        "build_seconds": t1 - t0,
        "apply_seconds": t2 - t1,
    }


def guest_costs(n: int, endpoints: int, log: Any) -> dict[str, Any]:
    """The guest's syscall and page-fault costs, and pure-Python ratios measured in it."""
    from benchmarks import host

    out: dict[str, Any] = {
        "getppid_us": per_call(os.getppid) * 1e6,
        "page_fault": page_fault_cost(),
        "build_apply": build_apply_faults(n, endpoints),
    }
    bench = host.Host(n, endpoints)
    gc.collect()
    gc.freeze()
    try:
        wanted = {"build", "parse", "save", "listing", "diff_equal", "encode"}
        methods = [m for m in bench.methods() if m.name in wanted]
        out["python"] = host.measure(bench, methods, rounds=2)
    finally:
        gc.unfreeze()
    pf, ba = out["page_fault"], out["build_apply"]
    log(
        f"guest: getppid {out['getppid_us']:.1f}us, page fault {pf['fault_us']:.1f}us, "
        f"build+apply faults {ba['build_faults'] + ba['apply_faults']}"
    )
    return out


def host_costs(n: int, endpoints: int) -> dict[str, Any]:
    """The same figures on the host, for the report (building only: no kernel there)."""
    plain = Workload(n, endpoints).plain()
    gc.collect()
    f0, t0 = _faults(), perf()
    build_plain(plain)
    f1, t1 = _faults(), perf()
    return {
        "getppid_us": per_call(os.getppid, 20000) * 1e6,
        "page_fault": page_fault_cost(),
        "build_apply": {
            "operations": n * (1 + endpoints),
            "build_faults": f1 - f0,
            "build_seconds": t1 - t0,
        },
    }
