"""Client against AsyncClient, side by side in one boot: pipelined loads and single calls.

Run inside the sandbox (each method gets a fresh network namespace)::

    python -m ipvs.testing.sandbox -- python -m benchmarks.clients [--services 1000] [--rounds 5]

Methods, each timed per kernel operation (median of the rounds):

* ``apply N x E``: ``apply`` of the workload's table from an empty namespace
  (one pipelined batch of N x (1 + E) writes, with its diff);
* ``snapshot``: reading that table back (one dump, then one per service);
* ``single add``: ``add_destination`` one call at a time (one request and
  its acknowledgement per operation);
* ``single info``: ``info()`` one call at a time (the smallest round trip).

The asyncio client runs each coroutine on one event loop with nothing else
to do, so the ratio is the price of the event loop's machinery per exchange.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import ipvs
from benchmarks.workload import Workload, destination, spare_endpoint
from ipvs.testing import netns

SINGLE_CALLS = 1000


def _sync_methods(table: ipvs.Table, svc: ipvs.Service) -> dict[str, Callable[[], int]]:
    def apply() -> int:
        with ipvs.Client() as client:
            client.apply(table, current=ipvs.Table())
        return len(table) + table.destination_count()

    def snapshot() -> int:
        with ipvs.Client() as client:
            client.apply(table, current=ipvs.Table())
            start = time.perf_counter()
            client.snapshot()
            return -int((time.perf_counter() - start) * 1e9)  # timed inside

    def single_add() -> int:
        with ipvs.Client() as client:
            client.add_service(svc)
            for k in range(SINGLE_CALLS):
                client.add_destination(svc, destination(spare_endpoint(k)))
        return SINGLE_CALLS + 1

    def single_info() -> int:
        with ipvs.Client() as client:
            for _ in range(SINGLE_CALLS):
                client.info()
        return SINGLE_CALLS

    return {
        "apply": apply,
        "snapshot": snapshot,
        "single add": single_add,
        "single info": single_info,
    }


def _async_methods(table: ipvs.Table, svc: ipvs.Service) -> dict[str, Callable[[], int]]:
    def run(coro: Any) -> int:
        result: int = asyncio.run(coro)
        return result

    async def apply() -> int:
        async with ipvs.AsyncClient() as client:
            await client.apply(table, current=ipvs.Table())
        return len(table) + table.destination_count()

    async def snapshot() -> int:
        async with ipvs.AsyncClient() as client:
            await client.apply(table, current=ipvs.Table())
            start = time.perf_counter()
            await client.snapshot()
            return -int((time.perf_counter() - start) * 1e9)

    async def single_add() -> int:
        async with ipvs.AsyncClient() as client:
            await client.add_service(svc)
            for k in range(SINGLE_CALLS):
                await client.add_destination(svc, destination(spare_endpoint(k)))
        return SINGLE_CALLS + 1

    async def single_info() -> int:
        async with ipvs.AsyncClient() as client:
            for _ in range(SINGLE_CALLS):
                await client.info()
        return SINGLE_CALLS

    return {
        "apply": lambda: run(apply()),
        "snapshot": lambda: run(snapshot()),
        "single add": lambda: run(single_add()),
        "single info": lambda: run(single_info()),
    }


def measure(method: Callable[[], int], operations: int) -> float:
    """Run one method in a fresh namespace; return seconds per operation."""
    with netns.fresh():
        start = time.perf_counter()
        count = method()
        elapsed = time.perf_counter() - start
    if count < 0:  # the method timed its own part, in nanoseconds
        return -count / 1e9 / operations
    return elapsed / count


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    work = Workload(args.services, args.endpoints)
    table = work.table()
    svc = ipvs.Service.tcp("10.63.0.1", 80, scheduler="rr")
    kinds = {"Client": _sync_methods(table, svc), "AsyncClient": _async_methods(table, svc)}
    ops = {
        "apply": work.operations,
        "snapshot": work.operations,
        "single add": SINGLE_CALLS + 1,
        "single info": SINGLE_CALLS,
    }
    results: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    for name in ops:
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind, methods in kinds.items():  # alternate, so drift hits both
                samples[kind].append(measure(methods[name], ops[name]))
        for kind in kinds:
            results[kind][name] = statistics.median(samples[kind])
    print(f"{'per operation (us)':<24}{'Client':>12}{'AsyncClient':>14}{'ratio':>8}")
    for name in ops:
        a, b = results["Client"][name] * 1e6, results["AsyncClient"][name] * 1e6
        label = (
            f"{name} {args.services}x{args.endpoints}" if name in ("apply", "snapshot") else name
        )
        print(f"{label:<24}{a:>12.2f}{b:>14.2f}{b / a:>8.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"workload": [args.services, args.endpoints], "seconds_per_op": results}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
