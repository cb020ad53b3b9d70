"""``python -m tests.fuzz [N]``: fuzz N inputs (default 10**6) and print counts by outcome.

See :mod:`tests.fuzz.harness`. ``scripts/fuzz`` runs this. Exit status 0 when
every outcome was allowed (or a known bug), 1 otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from tests.fuzz.harness import Report, known_bug, run


def _part(args: tuple[int, int]) -> Report:
    count, seed = args
    return run(count, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description="Fuzz the decoders and the Conversation with random and mutated "
        "kernel datagrams; print the outcomes by exception type.",
    )
    parser.add_argument("inputs", nargs="?", type=int, default=10**6, help="default 10**6")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: all CPUs)"
    )
    parser.add_argument("--details", action="store_true", help="counts per decoder and call")
    args = parser.parse_args(argv)
    jobs = max(1, min(args.jobs, args.inputs // 1000 or 1))
    # Chunks of 10,000 inputs, each from its own seed: the same arguments give
    # the same inputs whatever the number of processes.
    chunk = 10_000
    parts = [
        (min(chunk, args.inputs - start), args.seed + i)
        for i, start in enumerate(range(0, args.inputs, chunk))
    ]
    started = time.monotonic()
    report = Report()
    if jobs == 1:
        for part in parts:
            report.merge(_part(part))
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for result in pool.imap_unordered(_part, parts):
                report.merge(result)
    elapsed = time.monotonic() - started
    print(report.format(details=args.details))
    new = 0
    for finding in report.findings:
        name = known_bug(finding)
        if name is None:
            new += 1
            print("\nNEW FINDING\n" + finding.describe())
        else:
            print(f"known bug {name}: {finding.error} (seed {finding.seed}, input {finding.index})")
    print(
        f"{report.inputs:,} inputs in {elapsed:.0f} s with {jobs} processes "
        f"(seeds {args.seed}..{args.seed + len(parts) - 1}); new findings: {new}"
    )
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
