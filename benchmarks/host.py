"""The user paths on the host, without a kernel: pure Python, measured side by side.

Run it with ``python -m benchmarks.host [--services N] [--rounds R]`` (``bash
benchmarks/run`` runs it too and keeps its JSON). Every figure is per object
(per line of ipvsadm text, per kernel operation) and, since timings on a
shared machine drift, also a ratio to parsing the same number of IPv4
address strings with ``ipaddress.IPv4Address(str)``, timed right next to it
in every round; the minimum over the rounds of each is kept.

The inputs are built first and frozen out of the garbage collector's view
(``gc.freeze``), so that collections during a method scan what the method
creates, not the benchmark's other tables.

The workload is the suite's: N TCP services x E endpoints, built from plain
strings as a user's program would (``Service.tcp(str, int,
scheduler="rr")``, ``Destination(address=str, port=..., forward="masq")``).
The client paths (``apply``, ``snapshot``, the ``ipvs`` command line) run
the real :class:`ipvs.Client` over :mod:`benchmarks.fakekernel`, which
answers like the kernel without system calls; its own time is subtracted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from benchmarks import costs, fakekernel
from benchmarks.workload import Workload, build_plain
from ipvs import Client, Table, diff, netlink as C
from ipvs.formats import ipvsadm

perf = time.perf_counter


@dataclass
class Method:
    """One measured path."""

    name: str
    label: str
    run: Callable[[], object]
    count: int  # objects (or operations) it handles
    unit: str = "object"
    target: float | None = None  # the bound on the ratio, if any
    kernel: bool = False  # runs over the fake kernel (its time is subtracted)


class Host:
    """The workload's inputs, built once, and the methods over them."""

    def __init__(self, services: int, endpoints: int) -> None:
        self.wl = Workload(services, endpoints)
        self.plain = self.wl.plain()
        self.strings = [s for v, eps in self.plain for s in (v, *eps)]
        self.objects = len(self.strings)
        self.table = self.build()
        self.other = self.build()
        self.rules = ipvsadm.save(self.table)
        self.kernel = fakekernel.KERNEL
        self.kernel.load(self.table)
        with fakekernel.installed(), Client() as client:
            self.snapshot = client.snapshot()
        self.kernel.clear()
        folder = tempfile.mkdtemp(prefix="ipvs-host-bench-")
        self.rules_path = os.path.join(folder, "rules.ipvsadm")
        with open(self.rules_path, "w", encoding="ascii") as fh:
            fh.write(self.rules)
        self.family = fakekernel.FAMILY_ID
        self.pairs = [(e.service, e.sorted_destinations()) for e in self.table.values()]

    # -- the paths --------------------------------------------------------------------

    def baseline(self) -> object:
        """The yardstick: parse as many IPv4 address strings as there are objects."""
        return [IPv4Address(s) for s in self.strings]

    def build(self) -> Table:
        """Build the table from plain data, as a sync loop does every round."""
        return build_plain(self.plain)

    def encode(self) -> object:
        """The codec alone: every message of a full load, from prebuilt objects."""
        fam, req = self.family, C.NLM_F_REQUEST
        new_service, encode_dest = C.encode_new_service, C.encode_dest
        new_dest, nest_of = C.Command.NEW_DEST, C.encode_service_key_nest
        out = []
        seq = 1
        for svc, dests in self.pairs:
            out.append(new_service(fam, seq, req, svc))
            nest = nest_of(svc.key)
            for d in dests:
                seq += 1
                out.append(encode_dest(fam, new_dest, seq, req, nest, d))
            seq += 1
        return out

    def apply_empty(self) -> object:
        """``Client.apply`` from an empty kernel: snapshot, diff, encode, expected state."""
        self.kernel.clear()
        with Client() as client:
            return client.apply(self.table)

    def apply_known(self) -> object:
        """``Client.apply(table, current=Table())``: diff, encode, expected state.

        The apply checks first that the kernel holds what ``current`` says (a
        read of the services it touches), so the fake kernel starts empty.
        """
        self.kernel.clear()
        with Client() as client:
            return client.apply(self.table, current=Table())

    def build_apply(self) -> object:
        """Build from plain data, then apply to an empty kernel."""
        self.kernel.clear()
        with Client() as client:
            return client.apply(self.build())

    def snapshot_all(self) -> object:
        """``Client.snapshot()`` of the loaded table."""
        self.kernel.load_cached(self.table)
        with Client() as client:
            return client.snapshot()

    def noop(self) -> object:
        """A no-op resync: ``Client.apply(desired)`` = snapshot + diff that finds nothing."""
        self.kernel.load_cached(self.table)
        with Client() as client:
            result = client.apply(self.other)
        assert not result.plan
        return result

    def cli(self, *argv: str, load: bool) -> Callable[[], object]:
        from ipvs import _cli

        def run() -> object:
            if load:
                self.kernel.load_cached(self.table)
            else:
                self.kernel.clear()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = _cli.main(list(argv))
            assert status == 0, status
            return out

        return run

    def methods(self) -> list[Method]:
        n, ops = self.objects, self.wl.operations
        assert n == ops
        return [
            Method("build", "build the Table from plain data", self.build, n, target=2.5),
            Method(
                "parse",
                "ipvsadm.parse_table of the same rules as text",
                lambda: ipvsadm.parse_table(self.rules),
                n,
                "line",
                target=3.0,
            ),
            Method("save", "ipvsadm.save", lambda: ipvsadm.save(self.table), n, "line", 1.5),
            Method(
                "listing",
                "ipvsadm.listing (ipvsadm -Ln)",
                lambda: ipvsadm.listing(self.snapshot),
                n,
                "line",
                1.5,
            ),
            Method(
                "listing_stats",
                "ipvsadm.listing(stats=True) (ipvsadm -Ln --stats)",
                lambda: ipvsadm.listing(self.snapshot, stats=True),
                n,
                "line",
                1.5,
            ),
            Method(
                "diff_equal",
                "diff of two equal tables built separately",
                lambda: diff(self.table, self.other),
                n,
                target=0.5,
            ),
            Method(
                "diff_empty",
                "diff from an empty table",
                lambda: diff(Table(), self.table),
                n,
                target=1.5,
            ),
            Method("encode", "codec alone: encode every message", self.encode, ops, "operation"),
            Method(
                "apply_known",
                "apply pipeline, state known: diff, encode, expected state",
                self.apply_known,
                ops,
                "operation",
                kernel=True,
            ),
            Method(
                "apply_empty",
                "Client.apply from empty (with the snapshot of an empty kernel)",
                self.apply_empty,
                ops,
                "operation",
                kernel=True,
            ),
            Method(
                "build_apply",
                "build from plain data + Client.apply",
                self.build_apply,
                ops,
                "operation",
                kernel=True,
            ),
            Method(
                "restore",
                "ipvs -q restore FILE (parse + apply, in-process)",
                self.cli("-q", "restore", self.rules_path, load=False),
                ops,
                "operation",
                kernel=True,
            ),
            Method(
                "snapshot",
                "Client.snapshot() (decode every reply)",
                self.snapshot_all,
                n,
                kernel=True,
            ),
            Method(
                "show",
                "ipvs show (snapshot + listing)",
                self.cli("show", load=True),
                n,
                kernel=True,
            ),
            Method(
                "save_cli",
                "ipvs save (snapshot + save)",
                self.cli("save", load=True),
                n,
                kernel=True,
            ),
            Method(
                "noop",
                "no-op resync: Client.apply = snapshot + diff",
                self.noop,
                n,
                kernel=True,
            ),
        ]


def measure(host: Host, methods: list[Method], rounds: int) -> dict[str, Any]:
    """Time each method once per round, each next to a baseline run; keep the minimum."""
    base: list[float] = []
    times: dict[str, list[float]] = {m.name: [] for m in methods}
    with fakekernel.installed() as kernel:
        for r in range(rounds):
            for m in methods:
                gc.collect()
                start = perf()
                host.baseline()
                base.append(perf() - start)
                gc.collect()
                kernel.seconds = 0.0
                start = perf()
                m.run()
                elapsed = perf() - start - (kernel.seconds if m.kernel else 0.0)
                times[m.name].append(elapsed)
            print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    per_base = min(base) / host.objects
    out: dict[str, Any] = {
        "services": host.wl.services,
        "endpoints": host.wl.endpoints,
        "objects": host.objects,
        "rounds": rounds,
        "baseline": {
            "label": "ipaddress.IPv4Address(str)",
            "us_per_object": per_base * 1e6,
            "samples_seconds": base,
        },
        "methods": {},
    }
    for m in methods:
        per = min(times[m.name]) / m.count
        out["methods"][m.name] = {
            "label": m.label,
            "unit": m.unit,
            "count": m.count,
            "us_per_unit": per * 1e6,
            "ratio": per / per_base,
            "target": m.target,
            "met": None if m.target is None else per / per_base <= m.target,
            "samples_seconds": times[m.name],
        }
    return out


def render(res: dict[str, Any]) -> str:
    """A Markdown table of the results."""
    b = res["baseline"]
    lines = [
        f"Host, {res['services']:,} x {res['endpoints']} ({res['objects']:,} objects), "
        f"best of {res['rounds']} rounds; yardstick `{b['label']}`: "
        f"{b['us_per_object']:.2f} us per object in the same run.",
        "",
        "| path | us per unit | ratio | target |",
        "|---|---|---|---|",
    ]
    for m in res["methods"].values():
        target = "-" if m["target"] is None else f"<= {m['target']}"
        if m["met"] is not None:
            target += " met" if m["met"] else " NOT met"
        lines.append(
            f"| {m['label']} | {m['us_per_unit']:.2f} per {m['unit']} | {m['ratio']:.2f} | "
            f"{target} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the host benchmarks; print a table, write JSON with ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.host", description=__doc__)
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", help="run only these methods")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    host = Host(args.services, args.endpoints)
    # The inputs live as long as the run; keep the collector from rescanning
    # them, as in a program whose other data is not the method's business.
    gc.collect()
    gc.freeze()
    methods = [m for m in host.methods() if not args.only or m.name in args.only]
    res = measure(host, methods, args.rounds)
    gc.unfreeze()
    res["costs"] = costs.host_costs(args.services, args.endpoints)
    text = render(res)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
