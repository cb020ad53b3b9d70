"""The benchmark suite: every method, scenario and size in one sandbox run.

Run it through ``bash benchmarks/run``, which boots the sandbox kernel and
renders the results; by hand::

    python -m ipvs.testing.sandbox --timeout 3000 --mem 4G -- \\
        .venv/bin/python -m benchmarks.suite --out benchmarks/results/results.json

It must run as root in a kernel with IPVS and iptables-legacy (the sandbox).
It programs the same workload (N TCP services x E endpoints) with each
method, verifies after every load that the kernel holds all of it, and
writes raw times, syscall counts, peak RSS and a traffic check as JSON.
``python -m benchmarks.report`` turns that into Markdown and a plot.

Every method runs in a fresh network namespace: IPVS keeps deleted
destinations in a per-namespace trash list for minutes and scans that list
on every destination it adds, so a method running after another one's
delete (or flush) would pay for the other's table.

Short measurements are repeated and their median kept; expensive ones run
once (the JSON keeps every sample). Methods too slow for a size are not run
there: their time is extrapolated per operation from the largest size
measured, and marked so.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address
from typing import Any

import attrs

from benchmarks import costs, methods as M, userpaths
from benchmarks.workload import (
    EMPTY_NAT,
    ENDPOINT_PORT,
    SERVICE_PORT,
    Workload,
    destination,
    service,
    vip,
)
from ipvs import Client, Table, diff
from ipvs.testing import netns as _netns

perf = time.perf_counter

#: Methods that program IPVS or iptables, in report order.
METHODS = ("ipvs", "ipvs_batch", "ipvs_calls", "pyroute2", "ipvsadm", "iptables", "nft", "floor")
SCENARIOS = ("load", "change", "noop", "delete")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Run ``fn`` once after a garbage collection; return (seconds, result)."""
    gc.collect()
    start = perf()
    out = fn()
    return perf() - start, out


def repeat(fn: Callable[[], object], reps: int, cap: float, *, even: bool = False) -> list[float]:
    """Run ``fn`` up to ``reps`` times, stopping early once ``cap`` seconds are spent.

    With ``even``, stop only after an even number of runs (alternating
    changes then leave the original state).
    """
    samples: list[float] = []
    spent = 0.0
    gc.collect()
    for _ in range(reps):
        start = perf()
        fn()
        t = perf() - start
        samples.append(t)
        spent += t
        if spent > cap and not (even and len(samples) % 2):
            break
    return samples


def record(samples: list[float], ops: int, **extra: Any) -> dict[str, Any]:
    """A measured figure: the median and all samples."""
    return {
        "seconds": statistics.median(samples),
        "samples": samples,
        "reps": len(samples),
        "ops": ops,
        "measured": True,
        **extra,
    }


def cpu_times() -> tuple[int, int]:
    """Return (idle, total) jiffies from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)


def quiesce(limit: float = 30.0) -> float:
    """Wait until the CPU is idle (a namespace's teardown runs in the background).

    Returns:
        The seconds waited.
    """
    start = perf()
    while perf() - start < limit:
        idle0, total0 = cpu_times()
        time.sleep(0.2)
        idle1, total1 = cpu_times()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) > 0.9:
            break
    return perf() - start


class Suite:
    """State shared over one run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.e: int = args.endpoints
        with Client() as client:
            self.family = client.family_id
            self.chunk_limit = client._sock.max_send
        self.checks: list[dict[str, Any]] = []
        # per method: (size, {scenario: seconds}) of the largest measured size
        self.last: dict[str, tuple[int, dict[str, float]]] = {}
        self.started = perf()
        self.waited = 0.0

    def log(self, text: str) -> None:
        """Progress on the console."""
        print(f"[{perf() - self.started:7.1f}s] {text}", flush=True)

    def check(self, what: str, expected: object, got: object) -> None:
        """Record a correctness check; report it loudly when it does not hold."""
        ok = expected == got
        self.checks.append({"what": what, "expected": expected, "got": got, "ok": ok})
        if not ok:
            self.log(f"CHECK FAILED: {what}: expected {expected!r}, got {got!r}")
            if self.args.strict:
                raise SystemExit(f"check failed: {what}")

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Run a block in a new network namespace; wait for its teardown afterwards."""
        with _netns.fresh():
            yield
        gc.collect()
        self.waited += quiesce()

    # -- one size ------------------------------------------------------------------------

    def run_size(self, n: int) -> dict[str, Any]:
        wl = Workload(n, self.e)
        out: dict[str, Any] = {"services": n, "endpoints": self.e, "operations": wl.operations}
        meth: dict[str, dict[str, Any]] = {}
        out["methods"] = meth

        t, table_obj = timed(wl.table)
        table: Table = table_obj  # type: ignore[assignment]
        out["table_build_seconds"] = t
        self.log(f"N={n}: table built in {t:.2f}s")

        phases: dict[str, float] = {}
        out["phase_seconds"] = phases
        start = perf()
        meth["floor"] = self.floor(n, wl)
        phases["floor"] = perf() - start
        start = perf()
        loads: list[float] = []
        for _ in range(self.args.load_reps - 1):
            with self.fresh(), Client() as client:
                t, _ = timed(lambda c=client: c.apply(table))  # type: ignore[misc]
                loads.append(t)
                self.check(f"N={n} ipvs apply load complete", (n, n * self.e), M.ipvs_counts())
        with self.fresh():
            out["library"] = self.library(n, wl, table, meth, loads)
        phases["ipvs"] = perf() - start

        # -- the paths users walk: plain data, the command line ----------------------------------
        start = perf()
        out["user"] = userpaths.measure(self, n, wl)
        phases["user"] = perf() - start

        # -- this library: batch() and one call at a time (full load only) --------------------
        pairs = [(svc, list(dests)) for svc, dests in wl.pairs()]
        for name in ("ipvs_batch", "ipvs_calls"):
            if self.skip(name, wl):
                meth[name] = self.extrapolate(name, wl)
                continue
            start = perf()
            load = M.load_prebuilt_batch if name == "ipvs_batch" else M.load_calls
            samples: list[float] = []
            for _ in range(self.args.load_reps if name == "ipvs_batch" else 1):
                with self.fresh(), Client() as client:
                    sock = client._sock
                    s0, r0 = sock.sends, sock.recvs
                    t, _ = timed(lambda c=client, f=load, p=pairs: f(c, p))  # type: ignore[misc]
                    samples.append(t)
                    counts = {"sends": sock.sends - s0, "recvs": sock.recvs - r0}
                    self.check(f"N={n} {name} load complete", (n, n * self.e), M.ipvs_counts())
            meth[name] = {"load": record(samples, wl.operations, **counts)}
            self.last[name] = (n, {"load": meth[name]["load"]["seconds"]})
            phases[name] = perf() - start
            self.log(f"N={n}: {name} load {meth[name]['load']['seconds']:.3f}s")
        del pairs

        # -- the others --------------------------------------------------------------------
        for name in ("pyroute2", "ipvsadm", "iptables"):
            if self.skip(name, wl):
                meth[name] = self.extrapolate(name, wl)
                self.log(f"N={n}: {name} not measured (extrapolated)")
                continue
            start = perf()
            with self.fresh():
                meth[name] = self.other(name, n, wl)
            phases[name] = perf() - start
            self.last[name] = (n, {s: meth[name][s]["seconds"] for s in SCENARIOS})
            self.log(
                f"N={n}: {name} load {meth[name]['load']['seconds']:.3f}s, "
                f"change {meth[name]['change']['seconds'] * 1e3:.2f}ms"
            )

        # -- kube-proxy's nftables mode (a kernel with nf_tables: benchmarks/run --nft) --------
        if self.args.nft and self.skip("nft", wl):
            meth["nft"] = self.extrapolate("nft", wl)
            self.log(f"N={n}: nft not measured (extrapolated)")
        elif self.args.nft:
            start = perf()
            nft_out: dict[str, Any] = {}
            meth["nft"] = nft_out
            with self.fresh():
                self.nft(n, wl, nft_out)
            phases["nft"] = perf() - start
            if any(s not in nft_out for s in SCENARIOS):
                self.check(f"N={n} nft ran every scenario", "ok", nft_out.get("error"))
            else:
                self.last["nft"] = (n, {s: meth["nft"][s]["seconds"] for s in SCENARIOS})
                self.log(
                    f"N={n}: nft load {meth['nft']['load']['seconds']:.3f}s, "
                    f"change {meth['nft']['change']['seconds'] * 1e3:.2f}ms, "
                    f"no-op {meth['nft']['noop']['seconds']:.3f}s, "
                    f"delete {meth['nft']['delete']['seconds']:.3f}s"
                )

        # -- peak RSS of the library's full load, in a child process -------------------------
        start = perf()
        with self.fresh():
            out["library"]["rss"] = self.rss(n)
        phases["rss"] = perf() - start
        return out

    def floor(self, n: int, wl: Workload) -> dict[str, Any]:
        floor = M.Floor(wl, self.family, self.chunk_limit)
        full = (n, n * self.e)
        loads: list[float] = []
        for _ in range(self.args.load_reps - 1):
            with self.fresh():
                floor.connect()
                t, _ = timed(floor.load)
                loads.append(t)
                self.check(f"N={n} floor load complete", full, M.ipvs_counts())
                floor.close()
        f: dict[str, Any] = {}
        with self.fresh():
            floor.connect()
            t, _ = timed(floor.load)
            loads.append(t)
            f["load"] = record(loads, wl.operations, sends=floor.sends_per_load, recvs=1)
            self.check(f"N={n} floor load complete", full, M.ipvs_counts())
            f["change"] = record(
                repeat(floor.change, self.args.change_reps, 5.0, even=True), 2, sends=1, recvs=1
            )
            f["noop"] = record(repeat(floor.noop, 3, 10.0), wl.operations)
            t, _ = timed(floor.delete)
            f["delete"] = record([t], n)
            self.check(f"N={n} floor delete complete", (0, 0), M.ipvs_counts())
            self.check(f"N={n} floor: no kernel errors", 0, floor.errors)
            floor.close()
        self.log(f"N={n}: floor load {f['load']['seconds']:.3f}s")
        return f

    def library(
        self,
        n: int,
        wl: Workload,
        table: Table,
        meth: dict[str, dict[str, Any]],
        loads: list[float],
    ) -> dict[str, Any]:
        client = Client()
        sock = client._sock
        lib: dict[str, Any] = {}
        m: dict[str, Any] = {}
        full = (n, n * self.e)

        s0, r0 = sock.sends, sock.recvs
        t, res = timed(lambda: client.apply(table))
        result: Any = res
        m["load"] = record([*loads, t], wl.operations, sends=sock.sends - s0, recvs=sock.recvs - r0)
        self.check(f"N={n} ipvs apply: plan size", wl.operations, len(result.plan))
        self.check(f"N={n} ipvs apply load complete", full, M.ipvs_counts())
        lib["syscalls_per_1000_ops"] = {
            "sends": 1000 * (sock.sends - s0) / wl.operations,
            "recvs": 1000 * (sock.recvs - r0) / wl.operations,
        }
        self.log(f"N={n}: ipvs apply {t:.3f}s")
        # where the time of a full apply goes, without the kernel
        t_diff, plan_obj = timed(lambda: diff(Table(), table))
        t_exp, _ = timed(plan_obj.expected)  # type: ignore[attr-defined]
        lib["apply_parts"] = {"diff_seconds": t_diff, "plan_expected_seconds": t_exp}
        del plan_obj

        # -- the traffic check through service 0's VIP -----------------------------------------
        if not self.args.no_traffic:
            from benchmarks.traffic import Backends

            with Backends(wl.endpoint_list(0), ENDPOINT_PORT, vip(0)) as backends:
                lib["packets"] = backends.check(SERVICE_PORT, self.args.connections)
            self.check(f"N={n} packets flow through {vip(0)}", True, lib["packets"]["ok"])
            quiesce()

        known: Table = result.table
        key = service(n - 1).key  # the last service: no ordering advantage
        base = known[key].destinations[0]

        # -- Issue 5: change one destination's weight, current state known -------------------
        totals: list[float] = []
        derive: list[float] = []
        applies: list[float] = []
        plan_sizes: set[int] = set()
        s0, r0 = sock.sends, sock.recvs
        reps = self.args.change_reps
        gc.collect()
        for r in range(reps):
            start = perf()
            desired = known.with_destination(key, attrs.evolve(base, weight=2 + r % 2))
            mid = perf()
            res2 = client.apply(desired, current=known)
            end = perf()
            known = res2.table
            plan_sizes.add(len(res2.plan))
            totals.append(end - start)
            derive.append(mid - start)
            applies.append(end - mid)
        wsends, wrecvs = (sock.sends - s0) / reps, (sock.recvs - r0) / reps
        # the same steps without the kernel: where the userspace time goes
        diffs: list[float] = []
        expects: list[float] = []
        for r in range(reps):
            desired = known.with_destination(key, attrs.evolve(base, weight=4 + r % 2))
            start = perf()
            plan = diff(known, desired)
            mid = perf()
            plan.expected()
            end = perf()
            diffs.append(mid - start)
            expects.append(end - mid)
        lib["weight_change"] = {
            "total": record(totals, 1),
            "with_destination": record(derive, 1),
            "apply": record(applies, 1),
            "diff": record(diffs, 1),
            "plan_expected": record(expects, 1),
            "sends_per_change": wsends,
            "recvs_per_change": wrecvs,
            "plan_sizes": sorted(plan_sizes),
        }
        self.check(f"N={n} weight change is one operation", [1], sorted(plan_sizes))
        known = client.apply(known.with_destination(key, base), current=known).table

        # -- Issue 7 scenario 2: replace one endpoint, current state known ----------------------
        old = destination(wl.endpoint_list(n - 1)[-1])
        new = destination(IPv4Address("10.64.0.2"))
        swaps: list[float] = []
        sizes: set[int] = set()
        s0, r0 = sock.sends, sock.recvs
        gc.collect()
        for r in range(reps):
            a, b = (old, new) if r % 2 == 0 else (new, old)
            start = perf()
            desired = known.without_destination(key, a).with_destination(key, b)
            res3 = client.apply(desired, current=known)
            swaps.append(perf() - start)
            known = res3.table
            sizes.add(len(res3.plan))
        m["change"] = record(
            swaps, 2, sends=(sock.sends - s0) / reps, recvs=(sock.recvs - r0) / reps
        )
        self.check(f"N={n} endpoint replacement is two operations", [2], sorted(sizes))
        self.check(f"N={n} table intact after changes", full, M.ipvs_counts())

        # -- no-op resync: snapshot + diff ------------------------------------------------------
        plans: list[int] = []

        def noop() -> None:
            plans.append(len(client.apply(table).plan))

        s0, r0 = sock.sends, sock.recvs
        samples = repeat(noop, 3, 10.0)
        m["noop"] = record(
            samples,
            wl.operations,
            sends=(sock.sends - s0) / len(samples),
            recvs=(sock.recvs - r0) / len(samples),
        )
        self.check(f"N={n} no-op apply plans nothing", [0], sorted(set(plans)))
        snaps: list[Table] = []
        lib["snapshot"] = record(repeat(lambda: snaps.append(client.snapshot()), 3, 10.0), 0)
        self.check(f"N={n} snapshot equals the desired table", True, snaps[-1] == table)
        snap = snaps[-1]
        snaps.clear()
        lib["diff_full"] = record(repeat(lambda: diff(snap, table), 3, 10.0), 0)

        # -- delete everything -----------------------------------------------------------------
        s0, r0 = sock.sends, sock.recvs
        t, _ = timed(lambda: client.apply(Table(), current=known))
        m["delete"] = record([t], n, sends=sock.sends - s0, recvs=sock.recvs - r0)
        self.check(f"N={n} ipvs delete complete", (0, 0), M.ipvs_counts())
        client.close()
        meth["ipvs"] = m
        self.log(
            f"N={n}: ipvs weight change {lib['weight_change']['total']['seconds'] * 1e6:.0f}us, "
            f"no-op {m['noop']['seconds']:.3f}s, delete {t:.3f}s"
        )
        return lib

    # -- the other methods ---------------------------------------------------------------

    def predict(self, phases: dict[str, float], n0: int, n: int) -> float:
        """Predict a round's seconds at size ``n`` from the phases of a round at ``n0``."""
        wl = Workload(n, self.e)
        scale = n / n0
        return 1.3 * sum(
            t * scale
            for name, t in phases.items()
            if name not in METHODS or not self.skip(name, wl)
        )

    def skip(self, name: str, wl: Workload) -> bool:
        """Whether a method's full load at this size is predicted to exceed the limit."""
        if name in self.args.skip:
            return True
        if name == "iptables" and wl.iptables_rule_count() > self.args.max_iptables_rules:
            return True  # the guest runs out of memory (640,000 rules did, in 4 GB)
        last = self.last.get(name)
        if last is None:
            return False
        n0, times = last
        predicted = times["load"] * wl.operations / Workload(n0, self.e).operations
        return bool(predicted > self.args.max_measure)

    def extrapolate(self, name: str, wl: Workload) -> dict[str, Any]:
        """Per-operation extrapolation from the largest measured size."""
        last = self.last.get(name)
        if last is None:
            return {}
        n0, times = last
        scale = wl.operations / Workload(n0, self.e).operations
        out: dict[str, Any] = {}
        for s, seconds in times.items():
            # changing one endpoint is O(1) for the IPVS tools, O(table) for iptables
            # and for nft (which reads the whole table into its cache first)
            grows = s != "change" or name in ("iptables", "nft")
            out[s] = {
                "seconds": seconds * (scale if grows else 1.0),
                "measured": False,
                "extrapolated_from": n0,
            }
        return out

    def other(self, name: str, n: int, wl: Workload) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if name == "iptables":
            rules = wl.iptables_rule_count()
            ipt = M.Iptables(wl)
            M.run(["iptables-legacy-restore", "-w"], EMPTY_NAT)
            t, _ = timed(ipt.load)
            out["load"] = record([t], rules, unit="rules")
            self.check(f"N={n} iptables load complete", rules, M.iptables_rule_count())
            ipt.reference = M.iptables_nat_save()
            out["change"] = record(repeat(ipt.change, 6, self.args.slow_cap, even=True), 1)
            self.check(f"N={n} iptables intact after changes", rules, M.iptables_rule_count())
            results: list[bool] = []
            out["noop"] = record(
                repeat(lambda: results.append(ipt.noop()), 3, self.args.slow_cap), rules
            )
            self.check(f"N={n} iptables no-op found no difference", [True], sorted(set(results)))
            t, _ = timed(ipt.delete)
            out["delete"] = record([t], rules, unit="rules")
            self.check(f"N={n} iptables delete complete", 0, M.iptables_rule_count())
            return out
        tool: M.Pyroute2 | M.Ipvsadm = M.Pyroute2(wl) if name == "pyroute2" else M.Ipvsadm(wl)
        full = (n, n * self.e)
        t, _ = timed(tool.load)
        out["load"] = record([t], wl.operations)
        self.check(f"N={n} {name} load complete", full, M.ipvs_counts())
        reps = self.args.change_reps if name == "pyroute2" else 10
        out["change"] = record(repeat(tool.change, reps, self.args.slow_cap, even=True), 2)
        self.check(f"N={n} {name} intact after changes", full, M.ipvs_counts())
        results2: list[bool] = []
        out["noop"] = record(
            repeat(lambda: results2.append(tool.noop()), 3, self.args.slow_cap), wl.operations
        )
        self.check(f"N={n} {name} no-op found no difference", [True], sorted(set(results2)))
        t, _ = timed(tool.delete)
        out["delete"] = record([t], n)
        self.check(f"N={n} {name} delete complete", (0, 0), M.ipvs_counts())
        if isinstance(tool, M.Pyroute2):
            tool.close()
        return out

    def nft(self, n: int, wl: Workload, out: dict[str, Any]) -> None:
        """kube-proxy's nftables mode: each scenario as ``nft -f -`` transactions.

        Figures go into ``out`` as they are measured; an nft command that fails
        (the guest's OOM killer, say) ends its scenario with ``out["error"]``,
        and the table is deleted all the same.
        """
        from benchmarks import nft as kp

        tool = M.Nft(wl)
        want = kp.expected_counts(wl)
        full = (want.chains, want.rules, want.cluster_ips, want.service_ips)
        out.update(operations=tool.ops, text_bytes=len(tool.full))
        errors: list[str] = []

        def step(name: str, fn: Callable[[], None]) -> None:
            try:
                fn()
            except RuntimeError as exc:
                errors.append(f"{name}: {str(exc)[:300]}")
                self.log(f"N={n}: nft {name} failed: {exc}")

        def load() -> None:
            t, _ = timed(tool.load)
            out["load"] = record([t], tool.ops, unit="nft operations")
            self.check(f"N={n} nft load complete", full, M.nft_counts())

        def traffic() -> None:
            from benchmarks.traffic import Backends

            with Backends(wl.endpoint_list(0), ENDPOINT_PORT, vip(0)) as backends:
                # numgen random picks each endpoint independently: 20 connections miss
                # one of 10 endpoints four times in five; 100 miss one 3 times in 10,000
                out["packets"] = backends.check(SERVICE_PORT, max(self.args.connections, 100))
            self.check(f"N={n} nft: packets flow through {vip(0)}", True, out["packets"]["ok"])
            quiesce()

        def change() -> None:
            # one endpoint replaced: the partial sync; the stale chain's deletion
            # (kube-proxy's next sync, a second later) is timed apart
            changes: list[float] = []
            cleanups: list[float] = []
            spent = 0.0
            gc.collect()
            for r in range(self.args.change_reps):
                t, _ = timed(tool.change)
                changes.append(t)
                t2, _ = timed(tool.cleanup)
                cleanups.append(t2)
                spent += t + t2
                if spent > self.args.slow_cap and r % 2:
                    break
            out["change"] = record(changes, tool.change_ops, unit="nft operations")
            out["stale_chain_cleanup"] = record(cleanups, 1)

        def noop() -> None:
            # nothing changed: ListAll + an empty transaction; ListAll alone as well. The
            # listing also proves the table intact after the changes.
            out["noop"] = record(repeat(tool.noop, 3, self.args.slow_cap), 0)
            listed = M.nft_counts(tool.listed)
            self.check(f"N={n} nft intact after changes (no-op listing)", full, listed)
            tool.listed = ""
            out["list_all"] = record(repeat(tool.list_all, 3, self.args.slow_cap), 0)
            tool.listed = ""

        def delete() -> None:
            t, _ = timed(tool.delete)
            out["delete"] = record([t], 1, unit="nft operations")
            self.check(f"N={n} nft delete complete", (0, 0, 0, 0), M.nft_counts())

        step("load", load)
        if "load" in out:
            if not self.args.no_traffic:
                step("traffic", traffic)
            step("change", change)
            step("no-op", noop)
        step("delete", delete)
        if errors:
            out["error"] = "; ".join(errors)

    def rss(self, n: int) -> dict[str, Any]:
        """Run the library's full load at size ``n`` in a child; report its peak RSS."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.suite", "--rss-child", str(n), "-e", str(self.e)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        text = proc.stdout.read()
        proc.stdout.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        report: dict[str, Any] = json.loads(text)
        report["ru_maxrss_kib"] = usage.ru_maxrss  # inflated: includes the parent's at fork
        self.check(f"N={n} rss child load complete", [n, n * self.e], report["counts"])
        return report


def rss_child(n: int, e: int) -> None:
    """The child of :meth:`Suite.rss`: import, build the table, apply it, report maxrss."""
    import resource

    def kib() -> int:
        # VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts at the parent's RSS
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    after_import = kib()
    table = Workload(n, e).table()
    after_table = kib()
    with Client() as client:
        client.apply(table)
    after_apply = kib()
    print(
        json.dumps(
            {
                "after_import_kib": after_import,
                "after_table_kib": after_table,
                "after_apply_kib": after_apply,
                "counts": list(M.ipvs_counts()),
            }
        )
    )


def syscall_cost() -> dict[str, float]:
    """Measure the guest's cost of a trivial syscall, a clock read and a netlink round trip."""
    getppid = costs.per_call(os.getppid)
    clock = costs.per_call(perf)
    rtt = []
    raw = M.RawNetlink()
    try:
        for seq in range(1, 501):
            msg = M._HDR.pack(16, 1, 0x5, seq, 0)  # NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK
            start = perf()
            raw.sock.send(msg)
            raw.sock.recv(4096)
            rtt.append(perf() - start)
    finally:
        raw.close()
    return {
        "getppid_us": getppid * 1e6,
        "perf_counter_us": clock * 1e6,
        "netlink_ack_roundtrip_us": statistics.median(rtt) * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the suite (inside the sandbox) and write the raw results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000", help="services per table")
    parser.add_argument(
        "--optional-sizes",
        default="",
        help="sizes run only if the budget allows (20000 ran out of the guest's memory)",
    )
    parser.add_argument("-e", "--endpoints", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/results.json")
    parser.add_argument("--budget", type=float, default=1500.0, help="seconds for the run")
    parser.add_argument(
        "--max-measure",
        type=float,
        default=100.0,
        help="skip (and extrapolate) a method whose full load is predicted to take longer",
    )
    parser.add_argument(
        "--max-iptables-rules",
        type=int,
        default=400_000,
        help="extrapolate iptables beyond this many rules (memory)",
    )
    parser.add_argument("--slow-cap", type=float, default=20.0, help="seconds per repeated figure")
    parser.add_argument("--change-reps", type=int, default=50)
    parser.add_argument("--load-reps", type=int, default=3, help="for the fast full loads")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument(
        "--trash-sizes",
        default="100,300,1000,3000,10000",
        help="services (x endpoints) of the trash-list curve ('' for none)",
    )
    parser.add_argument(
        "--costs-size", type=int, default=10000, help="services for the guest's costs (0: none)"
    )
    parser.add_argument("--skip", action="append", default=[], choices=METHODS)
    parser.add_argument("--no-traffic", action="store_true", help="skip the traffic check")
    parser.add_argument(
        "--nft",
        action="store_true",
        help="also run kube-proxy's nftables mode (needs a kernel with nf_tables: "
        "benchmarks/run --nft boots one)",
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first failed check")
    parser.add_argument("--host-info", help="JSON file describing the host (from the run script)")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.endpoints)
        return 0
    if os.environ.get("IPVS_SANDBOX") != "1":
        print("warning: not inside the sandbox (IPVS_SANDBOX is not 1)", file=sys.stderr)

    suite = Suite(args)
    res: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    res["config"] = {
        "endpoints": args.endpoints,
        "sizes": args.sizes,
        "optional_sizes": args.optional_sizes,
        "budget_seconds": args.budget,
        "max_measure_seconds": args.max_measure,
        "max_iptables_rules": args.max_iptables_rules,
        "change_reps": args.change_reps,
        "chunk_limit_bytes": suite.chunk_limit,
        "trash_sizes": args.trash_sizes,
        "nft": args.nft,
    }
    if args.host_info:
        with open(args.host_info, encoding="utf-8") as fh:
            res["host"] = json.load(fh)
    res["guest"] = M.guest_machine()
    res["versions"] = M.versions()
    res["syscall_cost"] = syscall_cost()
    res["sizes"] = {}
    res["skipped_sizes"] = {}
    suite.log(f"syscall cost: {res['syscall_cost']}")
    trash_sizes = [int(s) for s in args.trash_sizes.split(",") if s]
    if trash_sizes:
        res["trash"] = costs.trash_curve(trash_sizes, args.endpoints, suite.log)
        for point in res["trash"]:
            for kind in ("same", "other"):
                suite.check(
                    f"trash curve {point['destinations']} {kind}: reload complete",
                    True,
                    point[kind]["complete"],
                )
    if args.costs_size:
        res["guest_costs"] = costs.guest_costs(args.costs_size, args.endpoints, suite.log)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def save() -> None:
        res["checks"] = suite.checks
        res["total_seconds"] = perf() - suite.started
        res["quiesce_seconds"] = suite.waited
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)

    sizes = [int(s) for s in args.sizes.split(",") if s]
    optional = [int(s) for s in args.optional_sizes.split(",") if s]
    last_n, last_t = 0, 0.0
    for n in sizes + optional:
        if n in optional and last_n:
            predicted = suite.predict(res["sizes"][str(last_n)]["phase_seconds"], last_n, n)
            remaining = args.budget - (perf() - suite.started)
            if predicted > remaining:
                why = f"predicted {predicted:.0f}s, {remaining:.0f}s of the budget left"
                res["skipped_sizes"][str(n)] = why
                suite.log(f"N={n}: skipped ({why})")
                continue
        start = perf()
        res["sizes"][str(n)] = suite.run_size(n)
        last_n, last_t = n, perf() - start
        res["sizes"][str(n)]["round_seconds"] = last_t
        save()
        suite.log(f"N={n}: round took {last_t:.1f}s")
    save()
    failed = [c for c in suite.checks if not c["ok"]]
    suite.log(f"done: {len(suite.checks)} checks, {len(failed)} failed; wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
