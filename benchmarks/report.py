"""Render the suite's raw results: a Markdown report and a plot.

Usage (on the host, after ``benchmarks.suite`` ran in the sandbox)::

    python -m benchmarks.report benchmarks/results/results.json

writes ``results.md`` (and the same as ``results.rst`` for the docs) and
``plot.png`` next to the JSON. ``--host-info FILE``
instead writes a description of the host machine (the run script passes it
to the suite, since inside User-Mode Linux /proc/cpuinfo describes the
guest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from collections.abc import Iterable
from typing import Any

LABELS = {
    "ipvs": "ipvs (Client.apply)",
    "ipvs_batch": "ipvs batch()",
    "ipvs_calls": "ipvs one call at a time",
    "pyroute2": "pyroute2 IPVS",
    "ipvsadm": "ipvsadm -R",
    "iptables": "iptables-legacy-restore",
    "nft": "nft -f (kube-proxy nftables)",
    "floor": "floor (prebuilt bytes)",
}
SCENARIO_TITLES = {
    "load": "Full load from empty",
    "change": "Change one endpoint of one service",
    "noop": "No-op resync",
    "delete": "Delete everything",
}
SCENARIO_NOTES = {
    "load": "IPVS methods: N services + N x E destinations; iptables: the whole kube-proxy "
    "nat table (32 rules and 11 chains per service); nft: kube-proxy's first full sync in "
    "nftables mode, one `nft -f -` transaction (1 + E chains, 2 + 2E rules and two map and "
    "set elements per service).",
    "change": "IPVS: replace one destination of one service (delete + add, through "
    "`Client.apply(..., current=known)` for this library); iptables: kube-proxy's partial "
    "`--noflush` restore of KUBE-SERVICES, the service's KUBE-SVC chain and the changed "
    "KUBE-SEP chains; nft: kube-proxy's partial sync, one `nft -f -` that rewrites the "
    "service's chain and its endpoint chains (4E + 5 operations, whatever N is; the stale "
    "chain's deletion, sent by kube-proxy's next sync, is timed apart). Median of "
    "repetitions.",
    "noop": "This library: `Client.apply(desired)` = snapshot + diff; floor: the same dumps "
    "read without decoding; pyroute2: dump + compare; ipvsadm: `ipvsadm -Sn` + compare; "
    "iptables: `iptables-legacy-save -t nat` + compare; nft: what kube-proxy's sync does "
    "when nothing changed, knftables' `ListAll` (`nft --json --terse list table ip "
    "kube-proxy`) + an empty `nft -f -`.",
    "delete": "This library: `Client.apply(Table(), current=known)` (one DEL_SERVICE per "
    "service); floor: the same messages prebuilt; pyroute2: one delete per service; "
    "ipvsadm: `ipvsadm -C`; iptables: restore of an empty nat table; nft: "
    "`delete table ip kube-proxy` (kube-proxy's `--cleanup`).",
}


def host_info() -> dict[str, Any]:
    """Describe the host machine (outside the sandbox)."""
    info: dict[str, Any] = {"uname": " ".join(platform.uname()), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["memory"] = fh.readline().split(":", 1)[1].strip()
        with open("/proc/loadavg", encoding="ascii") as fh:
            info["loadavg_before"] = fh.read().split()[:3]
    except OSError:
        pass
    return info


# -- formatting ------------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    """Human-readable duration."""
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(value: float | None) -> str:
    """A ratio such as 3.2x or 1,234x."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.0f}x"
    return f"{value:.2f}x"


class Doc:
    """A tiny document writer with Markdown and reStructuredText output."""

    def __init__(self, rst: bool = False) -> None:
        self.rst = rst
        self.out: list[str] = []

    def _inline(self, text: str) -> str:
        if not self.rst:
            return text
        text = text.replace("*", "\\*").replace("\\*\\*", "**")
        return re.sub(r"`([^`]+)`", r"``\1``", text)

    def h1(self, text: str) -> None:
        if not self.rst:  # in reStructuredText the including page has the title
            self.out += [f"# {text}", ""]

    def h2(self, text: str) -> None:
        if self.rst:
            self.out += [text, "-" * len(text), ""]
        else:
            self.out += [f"## {text}", ""]

    def p(self, text: str) -> None:
        self.out += [self._inline(text), ""]

    def table(self, header: list[str], rows: Iterable[list[str]]) -> None:
        rows = [[self._inline(c) for c in r] for r in rows]
        if not self.rst:
            self.out.append("| " + " | ".join(header) + " |")
            self.out.append("|" + "|".join("---" for _ in header) + "|")
            self.out += ["| " + " | ".join(r) + " |" for r in rows]
            self.out.append("")
            return
        self.out += [".. list-table::", "   :header-rows: 1", ""]
        for r in [[self._inline(h) or " " for h in header], *rows]:
            self.out.append(f"   * - {r[0] or ' '}")
            self.out += [f"     - {c or ' '}" for c in r[1:]]
        self.out.append("")

    def text(self) -> str:
        return "\n".join(self.out)


class Results:
    """Accessors over the raw JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.sizes = sorted(int(n) for n in data["sizes"])

    def fig(self, n: int, method: str, scenario: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = (
            self.data["sizes"][str(n)]["methods"].get(method, {}).get(scenario)
        )
        return found

    def seconds(self, n: int, method: str, scenario: str) -> float | None:
        f = self.fig(n, method, scenario)
        return None if f is None else f.get("seconds")

    def measured(self, n: int, method: str, scenario: str) -> bool:
        f = self.fig(n, method, scenario)
        return bool(f and f.get("measured"))

    def cell(self, n: int, method: str, scenario: str) -> str:
        s = self.seconds(n, method, scenario)
        if s is None:
            return "-"
        text = fmt_time(s)
        return text if self.measured(n, method, scenario) else f"~{text}*"

    def ratio(self, n: int, a: str, b: str, scenario: str) -> float | None:
        """seconds(a) / seconds(b)."""
        x, y = self.seconds(n, a, scenario), self.seconds(n, b, scenario)
        if x is None or y is None or y == 0:
            return None
        return x / y

    def ratio_cell(self, n: int, a: str, b: str, scenario: str) -> str:
        r = self.ratio(n, a, b, scenario)
        text = fmt_ratio(r)
        extrapolated = not (self.measured(n, a, scenario) and self.measured(n, b, scenario))
        return f"~{text}*" if r is not None and extrapolated else text

    def has(self, method: str) -> bool:
        """Whether any size holds figures of ``method``."""
        return any(self.data["sizes"][str(n)]["methods"].get(method) for n in self.sizes)

    def lib(self, n: int) -> dict[str, Any]:
        lib: dict[str, Any] = self.data["sizes"][str(n)]["library"]
        return lib


# -- the report --------------------------------------------------------------------------------


def targets(r: Results) -> list[tuple[str, str, bool | None]]:
    """Each target with the figure that decides it and whether it was met."""
    out: list[tuple[str, str, bool | None]] = []

    def add(text: str, value: float | None, ok: bool | None, shown: str) -> None:
        out.append((text, shown if value is not None else "not measured", ok))

    big = 10000 if 10000 in r.sizes else r.sizes[-1]
    small = r.sizes[0]
    if 1000 in r.sizes:
        v = r.ratio(1000, "ipvs_batch", "floor", "load")
        add(
            "Issue 4: batch() full load at 1,000 within 1.5x of the floor",
            v,
            v is not None and v <= 1.5,
            f"{fmt_ratio(v)} of the floor",
        )
        v = r.ratio(1000, "ipvsadm", "ipvs_batch", "load")
        add(
            "Issue 4: batch() >= 100x faster than ipvsadm -R at 1,000",
            v,
            v is not None and v >= 100,
            f"{fmt_ratio(v)} faster",
        )
    wc = [r.lib(n)["weight_change"]["total"]["seconds"] for n in (small, big)]
    v = wc[1] / wc[0]
    add(
        f"Issue 5: weight change at {big:,} within 2x of at {small:,} (state known)",
        v,
        v <= 2,
        f"{fmt_ratio(v)} ({fmt_time(wc[1])} vs {fmt_time(wc[0])})",
    )
    v = r.ratio(big, "ipvs", "floor", "load")
    add(
        f"Issue 7: full load at {big:,} within 1.5x of the floor",
        v,
        v is not None and v <= 1.5,
        f"{fmt_ratio(v)} of the floor",
    )
    v = r.ratio(big, "iptables", "ipvs", "load")
    add(
        f"Issue 7: full load at {big:,} >= 20x faster than iptables-legacy-restore",
        v,
        v is not None and v >= 20,
        f"{fmt_ratio(v)} faster",
    )
    v = r.ratio(big, "ipvsadm", "ipvs", "load")
    tag = "" if r.measured(big, "ipvsadm", "load") else " (ipvsadm extrapolated)"
    add(
        f"Issue 7: full load at {big:,} >= 100x faster than ipvsadm -R",
        v,
        v is not None and v >= 100,
        f"{fmt_ratio(v)} faster{tag}",
    )
    c = [r.seconds(n, "ipvs", "change") for n in (small, big)]
    v = c[1] / c[0] if c[0] and c[1] else None
    add(
        f"Issue 7: one-endpoint change at {big:,} within 2x of at {small:,}",
        v,
        v is not None and v <= 2,
        f"{fmt_ratio(v)} ({fmt_time(c[1])} vs {fmt_time(c[0])})",
    )
    v = r.ratio(big, "iptables", "ipvs", "change")
    add(
        f"Issue 7: one-endpoint change at {big:,} >= 1,000x faster than the iptables "
        "partial restore",
        v,
        v is not None and v >= 1000,
        f"{fmt_ratio(v)} faster",
    )
    return out


def render(r: Results, doc: Doc) -> str:
    d = r.data
    host = d.get("host", {})
    guest = d.get("guest", {})
    versions = d.get("versions", {})
    sc = d.get("syscall_cost", {})
    e = d["config"]["endpoints"]
    doc.h1("IPVS programming benchmarks")
    doc.p(
        f"All figures come from one run ({d.get('started', '?')}), side by side, inside the "
        f"User-Mode Linux sandbox (`python -m ipvs.testing.sandbox`). Workload: N TCP "
        f"ClusterIP-like services x {e} endpoints, NAT forwarding, scheduler rr. "
        f"The suite took {d.get('total_seconds', 0) / 60:.1f} minutes."
    )
    doc.p(
        "**Read with care:** in the sandbox every syscall is a trap into the User-Mode Linux "
        f"kernel (measured here: a `getppid()` costs {sc.get('getppid_us', 0):.0f} us, a clock "
        f"read {sc.get('perf_counter_us', 0):.0f} us, a netlink request with its ack "
        f"{sc.get('netlink_ack_roundtrip_us', 0):.0f} us), far more than on a native kernel "
        "(well under 1 us for a trivial syscall). That favours every method that batches "
        "(this library, the floor, `iptables-restore`) over those that make one or more "
        "syscalls per operation (pyroute2, `ipvsadm`, one call at a time). Syscall counts "
        "are reported so that readers can judge. Times marked `~...*` were not measured at "
        "that size but extrapolated per operation from the largest size measured."
    )
    doc.h2("Machine")
    doc.table(
        ["", "value"],
        [
            [
                "host",
                f"{host.get('cpu', '?')}, {host.get('cpus', '?')} CPUs, {host.get('memory', '?')}",
            ],
            ["host kernel", host.get("uname", "?")],
            [
                "host load average (1/5/15 min) before / after",
                f"{' '.join(host.get('loadavg_before', []))} / "
                f"{' '.join(host.get('loadavg_after', []))}",
            ],
            ["guest kernel", guest.get("uname", "?")],
            ["guest memory", guest.get("meminfo MemTotal", "?")],
            *[[k, str(v)] for k, v in versions.items()],
        ],
    )

    notes = []
    for m in ("pyroute2", "ipvsadm", "iptables", "nft"):
        gaps = [n for n in r.sizes if r.fig(n, m, "load") and not r.measured(n, m, "load")]
        if gaps:
            notes.append(f"{LABELS[m]} at {', '.join(f'{n:,}' for n in gaps)}")
    if notes:
        limit = d["config"].get("max_iptables_rules") or 400_000
        doc.p(
            "Extrapolated (not run): "
            + "; ".join(notes)
            + f". A method is not run at a size where its full load is predicted to take "
            f"more than {d['config']['max_measure_seconds']:.0f} s, and iptables not beyond "
            f"{limit:,} rules (the 640,000 rules of 20,000 services exhausted the 4 GB guest). "
            "The extrapolation is linear per operation (per rule for iptables); iptables' "
            "costs grow faster than linearly, so its extrapolated figures flatter it."
        )
    with_nft = r.has("nft")
    methods = ["ipvs", "floor", "iptables", *(["nft"] if with_nft else []), "ipvsadm", "pyroute2"]
    others = ["iptables", *(["nft"] if with_nft else []), "ipvsadm", "pyroute2"]
    for scenario in ("load", "change", "noop", "delete"):
        doc.h2(f"{SCENARIO_TITLES[scenario]}")
        doc.p(SCENARIO_NOTES[scenario])
        header = [
            "N",
            *(LABELS[m] for m in methods),
            "ipvs / floor",
            *(f"{m} / ipvs" for m in others),
        ]
        rows = []
        for n in r.sizes:
            rows.append(
                [
                    f"{n:,}",
                    *(r.cell(n, m, scenario) for m in methods),
                    r.ratio_cell(n, "ipvs", "floor", scenario),
                    *(r.ratio_cell(n, m, "ipvs", scenario) for m in others),
                ]
            )
        doc.table(header, rows)
    if with_nft:
        render_nft(r, doc)

    # Issue 4: the ways of loading, at 1,000 (or the nearest size)
    n4 = 1000 if 1000 in r.sizes else r.sizes[len(r.sizes) // 2]
    ops = d["sizes"][str(n4)]["operations"]
    doc.h2(f"Ways of loading {n4:,} x {e} ({ops:,} operations)")
    rows = []
    for m in ("floor", "ipvs_batch", "ipvs", "ipvs_calls", "pyroute2", "ipvsadm"):
        f = r.fig(n4, m, "load")
        if f is None:
            continue
        s = f["seconds"]
        calls = f"{f['sends']} / {f['recvs']}" if "sends" in f and "recvs" in f else "-"
        rows.append(
            [
                LABELS[m],
                r.cell(n4, m, "load"),
                fmt_time(s / ops),
                fmt_ratio(s / r.seconds(n4, "floor", "load")),
                calls,
            ]
        )
    snap = r.lib(n4)["snapshot"]["seconds"]
    floor_dump = r.seconds(n4, "floor", "noop") or 0
    rows.append(
        [
            "ipvs snapshot() of that table",
            fmt_time(snap),
            fmt_time(snap / ops),
            f"{fmt_ratio(snap / floor_dump)} of the raw dumps",
            "-",
        ]
    )
    doc.table(["method", "time", "per operation", "vs floor", "sends / recvs"], rows)
    doc.p(
        "`batch()` queues prebuilt model objects and sends them pipelined; `Client.apply` "
        "adds the snapshot of the (empty) kernel, the diff and the new known state; one call "
        "at a time waits for each acknowledgement. Full loads of the floor, `apply` and "
        "`batch()` are the median of several runs, each in a fresh network namespace; the "
        "others ran once."
    )

    # Issue 5: scaling of apply
    doc.h2("Changing one destination, by table size (state known)")
    rows = []
    base_wc = r.lib(r.sizes[0])["weight_change"]["total"]["seconds"]
    for n in r.sizes:
        lib = r.lib(n)
        wc = lib["weight_change"]
        rows.append(
            [
                f"{n:,}",
                r.cell(n, "ipvs", "load"),
                r.ratio_cell(n, "ipvs", "floor", "load"),
                fmt_time(wc["total"]["seconds"]),
                fmt_ratio(wc["total"]["seconds"] / base_wc),
                fmt_time(wc["with_destination"]["seconds"]),
                fmt_time(wc["diff"]["seconds"]),
                fmt_time(wc["plan_expected"]["seconds"]),
                f"{wc['sends_per_change']:.0f} / {wc['recvs_per_change']:.0f}",
                r.cell(n, "ipvs", "noop"),
                r.ratio_cell(n, "ipvs", "floor", "noop"),
            ]
        )
    doc.table(
        [
            "N",
            "apply from empty",
            "vs floor",
            "weight change",
            f"vs N={r.sizes[0]:,}",
            "of which with_destination",
            "diff",
            "plan.expected()",
            "sends / recvs",
            "no-op apply",
            "vs raw dumps",
        ],
        rows,
    )
    doc.p(
        "Weight change: `client.apply(known.with_destination(key, evolve(d, weight=w)), "
        f"current=known)`, median of {d['config']['change_reps']} repetitions on the last "
        "service; the breakdown columns time the same steps without the kernel (each timed "
        f"interval includes one clock read, about {sc.get('perf_counter_us', 0):.0f} us here)."
    )

    # library facts
    doc.h2("This library: syscalls, memory, traffic")
    rows = []
    for n in r.sizes:
        lib = r.lib(n)
        sc1000 = lib["syscalls_per_1000_ops"]
        rss = lib.get("rss", {})
        pk = lib.get("packets", {})
        rows.append(
            [
                f"{n:,}",
                f"{sc1000['sends']:.2f} / {sc1000['recvs']:.2f}",
                f"{rss.get('after_import_kib', 0) / 1024:.0f} / "
                f"{rss.get('after_table_kib', 0) / 1024:.0f} / "
                f"{rss.get('after_apply_kib', 0) / 1024:.0f} MiB",
                (
                    f"{pk['succeeded']}/{pk['connections']} via {pk['vip']}, "
                    f"{pk['backends_reached']}/{pk['backends']} backends"
                    if pk
                    else "-"
                ),
            ]
        )
    doc.table(
        [
            "N",
            "sends / recvs per 1,000 ops (full load)",
            "peak RSS: after import / table built / applied",
            "traffic check (NAT, real connections)",
        ],
        rows,
    )
    doc.p(
        "Peak RSS is the child process's VmHWM (a fresh interpreter that builds the table and "
        "applies it)."
    )
    render_user_paths(r, doc)
    render_host(r, doc)
    render_trash(r, doc)
    render_costs(r, doc)

    doc.h2("Targets")
    rows = [
        [text, shown, "met" if ok else ("not met" if ok is False else "-")]
        for text, shown, ok in [*targets(r), *issue12_targets(r)]
    ]
    doc.table(["target", "result", ""], rows)
    checks = d.get("checks", [])
    failed = [c for c in checks if not c["ok"]]
    doc.p(
        f"Correctness checks during the run: {len(checks) - len(failed)} of {len(checks)} "
        "passed (every load verified complete by counting /proc/net/ip_vs or the saved "
        "iptables rules, every delete verified empty, every no-op verified to find no "
        "difference)."
    )
    for c in failed:
        doc.p(f"- FAILED: {c['what']}: expected {c['expected']}, got {c['got']}")
    if d.get("skipped_sizes"):
        for n, why in d["skipped_sizes"].items():
            doc.p(f"Size {int(n):,} was not run: {why}.")
    return doc.text()


def render_nft(r: Results, doc: Doc) -> None:
    """kube-proxy's nftables mode: what each sync sent, and where it stands against this library."""
    doc.h2("kube-proxy's nftables mode, in detail")
    guest = r.data.get("guest", {}).get("uname", "?")
    doc.p(
        "The same services rendered as kube-proxy's nftables proxier writes them "
        "(`benchmarks/nft.py`: one `ip kube-proxy` table, a `service-ips` verdict map from "
        "address . protocol . port to a chain per service, `numgen random mod E vmap` to an "
        "endpoint chain doing `dnat to`), each transaction one `nft -f -` process as knftables "
        f"runs it, in the same boot as every other method (kernel {guest}, built with "
        "`scripts/build-nft-kernel`)."
    )
    rows = []
    for n in r.sizes:
        m = r.data["sizes"][str(n)]["methods"].get("nft") or {}
        if not m.get("load", {}).get("measured"):
            continue
        pk = m.get("packets", {})
        rows.append(
            [
                f"{n:,}",
                f"{m['operations']:,} ops, {m['text_bytes'] / 1e6:.1f} MB",
                r.cell(n, "nft", "load"),
                r.cell(n, "nft", "change"),
                fmt_time(m["stale_chain_cleanup"]["seconds"]),
                fmt_time(m["list_all"]["seconds"]),
                r.cell(n, "nft", "noop"),
                r.cell(n, "nft", "delete"),
                (
                    f"{pk['succeeded']}/{pk['connections']} via {pk['vip']}, "
                    f"{pk['backends_reached']}/{pk['backends']} endpoints"
                    if pk
                    else "-"
                ),
            ]
        )
    doc.table(
        [
            "N",
            "full sync",
            "full load",
            "endpoint change",
            "stale chain deleted (next sync)",
            "ListAll",
            "no-op sync",
            "delete table",
            "traffic check (DNAT, real connections)",
        ],
        rows,
    )
    for n in r.sizes:
        failed = (r.data["sizes"][str(n)]["methods"].get("nft") or {}).get("error")
        if failed:
            doc.p(f"At {n:,} services nft did not complete: {failed}")
    lines = []
    for n in r.sizes:
        for scenario in ("load", "change", "noop", "delete"):
            v = r.ratio(n, "nft", "ipvs", scenario)
            if v is None:
                continue
            if v < 1:
                lines.append(
                    f"{SCENARIO_TITLES[scenario].lower()} at {n:,}: nft is "
                    f"{fmt_ratio(1 / v)} faster than this library"
                )
    doc.p(
        "Where nftables is ahead: " + "; ".join(lines) + "."
        if lines
        else "This library is ahead of `nft -f` in every scenario and size measured here."
    )


def _user(r: Results, n: int) -> dict[str, Any]:
    found: dict[str, Any] = r.data["sizes"][str(n)].get("user", {})
    return found


def render_user_paths(r: Results, doc: Doc) -> None:
    """The command line and tables from plain data, against the other tools."""
    sizes = [n for n in r.sizes if _user(r, n)]
    if not sizes:
        return
    doc.h2("The paths users walk")
    doc.p(
        "`ipvs -q restore FILE`, `ipvs show` and `ipvs save` are processes timed from start "
        "to exit, like `ipvsadm` and `iptables-legacy-restore`; the restore's start-up "
        "(interpreter, imports, the snapshot of an empty kernel: the same command with an "
        "empty file) is given and subtracted. Build + apply builds the table from plain "
        "strings and applies it, in-process. Each in a fresh network namespace; `ipvs show` "
        "and `save` printed exactly what `ipvsadm -Ln` and `-Sn` printed."
    )
    with_nft = r.has("nft")
    rows = []
    for n in sizes:
        u = _user(r, n)
        ops = r.data["sizes"][str(n)]["operations"]
        restore = u["restore"]["minus_startup_seconds"]
        ipt = r.seconds(n, "iptables", "load")
        adm = r.seconds(n, "ipvsadm", "load")
        floor = r.seconds(n, "floor", "load")
        noop, dumps = r.seconds(n, "ipvs", "noop"), r.seconds(n, "floor", "noop")
        ba = u["build_apply"]["seconds"]
        adm_mark = "" if r.measured(n, "ipvsadm", "load") else "~"
        ipt_mark = "" if r.measured(n, "iptables", "load") else "~"
        nft = r.seconds(n, "nft", "load")
        nft_ratio = fmt_ratio(nft / u["restore"]["seconds"]) if nft else "-"
        nft_cell = [nft_ratio] if with_nft else []
        rows.append(
            [
                f"{n:,}",
                f"{fmt_time(u['restore']['seconds'])} ({fmt_time(restore)})",
                f"{ipt_mark}{fmt_ratio(ipt / restore)}" if ipt else "-",
                *nft_cell,
                f"{adm_mark}{fmt_ratio(adm / restore)}" if adm else "-",
                f"{fmt_time(ba)} ({fmt_ratio(ba / floor)})" if floor else fmt_time(ba),
                f"{fmt_time(u['show']['seconds'])} / {fmt_time(u['ipvsadm_list']['seconds'])}",
                f"{fmt_time(u['save']['seconds'])} / {fmt_time(u['ipvsadm_save']['seconds'])}",
                f"{fmt_time(noop)} ({fmt_ratio(noop / dumps)})" if noop and dumps else "-",
                f"{ops / 1000:,.0f}k",
            ]
        )
    doc.table(
        [
            "N",
            "ipvs restore (after start-up)",
            "iptables-legacy-restore / ipvs restore",
            *(["nft -f / ipvs restore (whole processes)"] if with_nft else []),
            "ipvsadm -R / ipvs restore (per operation)",
            "build + apply (vs floor)",
            "ipvs show / ipvsadm -Ln",
            "ipvs save / ipvsadm -Sn",
            "no-op resync (vs raw dumps)",
            "operations",
        ],
        rows,
    )
    doc.p(
        "Ratios use the restore's time after start-up; `~` marks a tool extrapolated per "
        "operation from a smaller size. The same services in kube-proxy's iptables layout are "
        "32 rules and 11 chains each."
    )


def render_host(r: Results, doc: Doc) -> None:
    """The host-side (sans-I/O) table, from host.json next to results.json."""
    host = r.data.get("host_paths")
    if not host:
        return
    b = host["baseline"]
    doc.h2("The same paths on the host, without a kernel")
    doc.p(
        f"Pure Python on the host ({host['services']:,} x {host['endpoints']}, "
        f"{host['objects']:,} objects; `python -m benchmarks.host`), best of "
        f"{host['rounds']} rounds, each a ratio to parsing as many IPv4 address strings with "
        f"`ipaddress.IPv4Address(str)` timed next to it ({b['us_per_object']:.2f} us each in "
        "this run). The client paths run the real `Client` over a fake kernel socket "
        "(`benchmarks/fakekernel.py`) whose own time is subtracted."
    )
    rows = []
    for m in host["methods"].values():
        target = "-" if m["target"] is None else f"<= {m['target']:g}"
        if m["met"] is not None:
            target += ", met" if m["met"] else ", NOT met"
        rows.append([m["label"], f"{m['us_per_unit']:.2f} per {m['unit']}", f"{m['ratio']:.2f}",
                     target])  # fmt: skip
    doc.table(["path", "time", "ratio to IPv4Address(str)", "target"], rows)


def render_trash(r: Results, doc: Doc, *, fragment: bool = False) -> None:
    """The destination trash list: delete N, then add N."""
    points = r.data.get("trash")
    if not points:
        return
    if not fragment:
        doc.h2("The destination trash list")
        doc.p(
            "In one fresh network namespace per row: load N destinations (10 per service), "
            "flush, and load the same N again, or N others. IPVS keeps deleted destinations "
            "in a per-namespace trash list for two to three minutes and scans it for every "
            "destination it adds (`docs/explanation/trash.rst`)."
        )
    rows = []
    for p in points:
        same, other = p["same"], p["other"]
        extra = (other["after_flush_seconds"] - other["first_load_seconds"]) / p["destinations"]
        rows.append(
            [
                f"{p['destinations']:,}",
                fmt_time(same["first_load_seconds"]),
                fmt_time(same["after_flush_seconds"]),
                fmt_time(other["after_flush_seconds"]),
                fmt_ratio(other["after_flush_seconds"] / other["first_load_seconds"]),
                f"{extra * 1e6:.0f} us",
            ]
        )  # fmt: skip
    doc.table(
        [
            "N destinations",
            "load into a fresh namespace",
            "the same N after a flush",
            "N others after a flush",
            "others / fresh",
            "extra per destination added",
        ],
        rows,
    )


def render_costs(r: Results, doc: Doc, *, fragment: bool = False) -> None:
    """What the guest charges, against the host."""
    guest = r.data.get("guest_costs")
    host = (r.data.get("host_paths") or {}).get("costs")
    if not guest:
        return
    if not fragment:
        doc.h2("What the sandbox charges")
    gp, ba = guest["page_fault"], guest["build_apply"]
    hp = host["page_fault"] if host else None
    faults = ba["build_faults"] + ba["apply_faults"]
    rows = [
        ["a trivial syscall (getppid)", f"{guest['getppid_us']:.1f} us",
         f"{host['getppid_us']:.2f} us" if host else "-"],
        ["a page fault (first touch of anonymous memory, less the second touch)",
         f"{gp['fault_us']:.1f} us", f"{hp['fault_us']:.2f} us" if hp else "-"],
        [f"page faults of build + apply, {ba['operations']:,} operations",
         f"{faults:,} ({faults / ba['operations'] * 1000:.0f} per 1,000 operations)",
         f"{host['build_apply']['build_faults']:,} (build only)" if host else "-"],
        ["their share of build + apply",
         f"{faults * gp['fault_us'] / 1e6 / (ba['build_seconds'] + ba['apply_seconds']):.0%}"
         f" of {fmt_time(ba['build_seconds'] + ba['apply_seconds'])}",
         "-"],
    ]  # fmt: skip
    doc.table(["", "in the sandbox", "on the host"], rows)
    py = guest.get("python")
    hm = (r.data.get("host_paths") or {}).get("methods", {})
    if py:
        rows = [
            [m["label"], f"{m['ratio']:.2f}", f"{hm[k]['ratio']:.2f}" if k in hm else "-"]
            for k, m in py["methods"].items()
        ]
        host_base = (r.data.get("host_paths") or {}).get("baseline", {}).get("us_per_object")
        on_host = f", {host_base:.2f} us on the host" if host_base else ""
        doc.p(
            "Pure Python, as ratios to `IPv4Address(str)` measured in the same place "
            f"({py['baseline']['us_per_object']:.2f} us each in the guest{on_host}). The "
            "yardstick allocates too, so the guest's charges show less in these ratios than "
            "in absolute times."
        )
        doc.table(["path", "ratio in the sandbox", "ratio on the host"], rows)


def issue12_targets(r: Results) -> list[tuple[str, str, bool | None]]:
    """Issue 12's targets: the host ratios and the sandbox figures of the user paths."""
    out: list[tuple[str, str, bool | None]] = []
    host = r.data.get("host_paths")
    if host:
        for m in host["methods"].values():
            if m["target"] is not None:
                out.append(
                    (
                        f"Issue 12 (host): {m['label']} <= {m['target']:g} x IPv4Address(str)",
                        f"{m['ratio']:.2f}",
                        m["met"],
                    )
                )
    big = 10000 if 10000 in r.sizes else r.sizes[-1]
    u = _user(r, big)
    if not u:
        return out
    restore = u["restore"]["minus_startup_seconds"]
    ipt = r.seconds(big, "iptables", "load")
    if ipt:
        v = ipt / restore
        out.append((f"Issue 12: ipvs restore at {big:,} >= 10x faster than "
                    "iptables-legacy-restore", f"{fmt_ratio(v)} faster", v >= 10))  # fmt: skip
    adm = r.seconds(big, "ipvsadm", "load")
    if adm:
        v = adm / restore
        tag = "" if r.measured(big, "ipvsadm", "load") else " (ipvsadm extrapolated)"
        out.append((f"Issue 12: ipvs restore at {big:,} >= 50x faster per operation than "
                    "ipvsadm -R", f"{fmt_ratio(v)} faster{tag}", v >= 50))  # fmt: skip
    floor = r.seconds(big, "floor", "load")
    if floor:
        v = u["build_apply"]["seconds"] / floor
        out.append((f"Issue 12: build from plain data + apply at {big:,} within 4x the floor",
                    f"{fmt_ratio(v)} of the floor", v <= 4))  # fmt: skip
    for mine, theirs, label in (("show", "ipvsadm_list", "-Ln"), ("save", "ipvsadm_save", "-Sn")):
        a, b = u[mine]["seconds"], u[theirs]["seconds"]
        out.append((f"Issue 12: ipvs {mine} at {big:,} faster than ipvsadm {label}",
                    f"{fmt_time(a)} vs {fmt_time(b)}", a < b))  # fmt: skip
    noop, dumps = r.seconds(big, "ipvs", "noop"), r.seconds(big, "floor", "noop")
    if noop and dumps:
        v = noop / dumps
        out.append((f"Issue 12: no-op resync at {big:,} within 1.5x the raw dumps",
                    f"{fmt_ratio(v)} of the raw dumps", v <= 1.5))  # fmt: skip
    return out


def render_plot(r: Results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    styles = {
        "ipvs": ("tab:blue", "o"),
        "ipvs_batch": ("tab:cyan", "v"),
        "ipvs_calls": ("tab:purple", "^"),
        "floor": ("black", "s"),
        "iptables": ("tab:red", "D"),
        "ipvsadm": ("tab:orange", "P"),
        "pyroute2": ("tab:green", "X"),
        "nft": ("tab:brown", "*"),
    }
    for ax, scenario in zip(axes.flat, ("load", "change", "noop", "delete"), strict=True):
        for m, (color, marker) in styles.items():
            xs = [n for n in r.sizes if r.seconds(n, m, scenario) is not None]
            if not xs:
                continue
            ys = [r.seconds(n, m, scenario) for n in xs]
            meas = [r.measured(n, m, scenario) for n in xs]
            ax.plot(xs, ys, color=color, linestyle="-", alpha=0.35)
            mx = [x for x, k in zip(xs, meas, strict=True) if k]
            my = [y for y, k in zip(ys, meas, strict=True) if k]
            ax.plot(mx, my, color=color, marker=marker, linestyle="", label=LABELS[m])
            ex = [x for x, k in zip(xs, meas, strict=True) if not k]
            ey = [y for y, k in zip(ys, meas, strict=True) if not k]
            if ex:
                ax.plot(ex, ey, color=color, marker=marker, linestyle="", markerfacecolor="none")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(SCENARIO_TITLES[scenario])
        ax.set_xlabel("services (x 10 endpoints)")
        ax.set_ylabel("seconds")
        ax.set_xticks(r.sizes, [f"{n:,}" for n in r.sizes])
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    fig.suptitle(
        "Programming N services x 10 endpoints (User-Mode Linux sandbox; "
        "hollow markers: extrapolated)"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("results", nargs="?", default="benchmarks/results/results.json")
    parser.add_argument("--host-info", metavar="FILE", help="write the host description")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.host_info:
        with open(args.host_info, "w", encoding="utf-8") as fh:
            json.dump(host_info(), fh)
        return 0
    with open(args.results, encoding="utf-8") as fh:
        data = json.load(fh)
    if "host" in data and "loadavg_after" not in data["host"]:
        with open("/proc/loadavg", encoding="ascii") as fh:
            data["host"]["loadavg_after"] = fh.read().split()[:3]
        with open(args.results, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
    folder = os.path.dirname(os.path.abspath(args.results))
    host_path = os.path.join(folder, "host.json")
    if os.path.exists(host_path):
        with open(host_path, encoding="utf-8") as fh:
            data["host_paths"] = json.load(fh)
    r = Results(data)
    for name, rst in (("results.md", False), ("results.rst", True)):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(render(r, Doc(rst=rst)))
        print(f"wrote {path}")
    # the tables that the explanation pages include
    for name, part in (("trash.rst", render_trash), ("costs.rst", render_costs)):
        doc = Doc(rst=True)
        part(r, doc, fragment=True)
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(doc.text() or "(not measured in this run)\n")
        print(f"wrote {path}")
    if not args.no_plot:
        png = os.path.join(folder, "plot.png")
        render_plot(r, png)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
