"""``ipvs run`` at scale: reload, resync and scrape times at 1,000 services x 10.

Run it in the sandbox (it prints a report, and writes JSON with ``--out``)::

    python -m ipvs.testing.sandbox --timeout 1800 --mem 4G -- \\
        .venv/bin/python -m benchmarks.director --out benchmarks/results/director.json

The director runs in this process, in a fresh network namespace, on a
configuration file of N TCP services x E destinations (no health checks:
E destinations of every service would need E x N probes each interval),
its VIPs bound to a dummy interface and its metrics endpoint on loopback.
Measured, each several times (the median is shown; the JSON keeps every
sample):

* reload (:meth:`Director.reload`: read and check the file, one apply of
  the difference): the file unchanged, one weight changed, 10 services added;
* resync (:meth:`Director.resync`: a snapshot compared with the
  configuration, repairs applied): nothing changed, one destination deleted
  by another writer, one VIP address removed from the interface;
* a scrape of the metrics endpoint over HTTP (a snapshot with statistics,
  the totals from ``/proc``, the text format);
* side by side in the same run, the floors: reading and checking the file
  alone, a snapshot alone, and ``ipvs stats --prometheus``'s rendering alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import ipvs
from ipvs.daemon import Director, Family, exposition, kernel_families, load_config, render
from ipvs.testing import netns as _netns

perf = time.perf_counter
PORT = 9475


def vip(i: int) -> str:
    return f"10.96.{i // 250}.{i % 250 + 1}"


def document(services: int, dests: int, *, weight: int = 1, extra: int = 0) -> dict[str, Any]:
    """The configuration: N services x E destinations, the first one's first weight given."""
    out = []
    for i in range(services + extra):
        out.append(
            {
                "protocol": "tcp",
                "address": vip(i),
                "port": 80,
                "scheduler": "rr",
                "destinations": [
                    {
                        "address": f"10.1.0.{j + 1}",
                        "port": 8080,
                        "forward": "masq",
                        "weight": weight if (i, j) == (0, 0) else 1,
                    }
                    for j in range(dests)
                ],
            }
        )
    return {
        "services": out,
        "bind": {"interface": "ipvs0"},
        "daemon": {
            "resync": 0,
            "log_level": "warning",
            "metrics": {"listen": f"127.0.0.1:{PORT}"},
        },
    }


def write(path: str, doc: dict[str, Any]) -> None:
    """Write the configuration as YAML or JSON, as the file name says."""
    with open(path, "w", encoding="utf-8") as fh:
        if path.endswith(".json"):
            json.dump(doc, fh)
            return
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        yaml.dump(doc, fh, Dumper=dumper, default_flow_style=None, sort_keys=False)


def scrape() -> tuple[float, int]:
    """One scrape as Prometheus makes it (gzip accepted); its time and compressed size."""
    started = perf()
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/metrics", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        size = len(reply.read())
    return perf() - started, size


def by_prometheus_client(families: list[Family]) -> bytes:
    """The same families written by prometheus-client (its generate_latest)."""
    import prometheus_client
    from prometheus_client.registry import Collector

    from ipvs.daemon._metrics import to_prometheus

    class Fixed(Collector):
        def collect(self) -> Any:
            yield from to_prometheus(families)

    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(Fixed())
    return prometheus_client.generate_latest(registry)


async def timed(make: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = perf()
    value = await make()
    return perf() - started, value


def median(samples: list[float]) -> float:
    return statistics.median(samples)


async def measure(services: int, dests: int, rounds: int, workdir: str, fmt: str) -> dict[str, Any]:
    path = os.path.join(workdir, f"director.{fmt}")
    write(path, document(services, dests))
    results: dict[str, Any] = {
        "services": services,
        "destinations": dests,
        "rounds": rounds,
        "format": fmt,
        "file_bytes": os.path.getsize(path),
    }

    started = perf()
    config = load_config(path)
    results["parse_once"] = perf() - started
    director = Director(config, path=path)
    started = perf()
    await director.start()
    results["start"] = perf() - started
    assert director.client is not None
    client = director.client
    try:
        table = await client.snapshot()
        assert len(table) == services and table.destination_count() == services * dests

        samples: dict[str, list[float]] = {
            k: []
            for k in (
                "parse",
                "snapshot",
                "reload_unchanged",
                "reload_one_weight",
                "reload_10_services",
                "resync_nothing",
                "resync_destination",
                "resync_address",
                "scrape",
                "render",
                "text",
                "text_prometheus_client",
            )
        }
        loop = asyncio.get_running_loop()
        for r in range(rounds):
            # floors: the file alone, a snapshot alone
            started = perf()
            load_config(path)
            samples["parse"].append(perf() - started)
            seconds, _ = await timed(client.snapshot)
            samples["snapshot"].append(seconds)

            # reloads
            seconds, ok = await timed(director.reload)
            assert ok
            samples["reload_unchanged"].append(seconds)
            write(path, document(services, dests, weight=2 + r))
            seconds, ok = await timed(director.reload)
            assert ok
            samples["reload_one_weight"].append(seconds)
            write(path, document(services, dests, weight=2 + r, extra=10))
            seconds, ok = await timed(director.reload)
            assert ok and len(await client.snapshot()) == services + 10
            samples["reload_10_services"].append(seconds)
            write(path, document(services, dests, weight=2 + r))
            assert await director.reload()  # back to N (not timed)

            # resyncs
            seconds, result = await timed(director.resync)
            assert result is None
            samples["resync_nothing"].append(seconds)
            key = ipvs.ServiceKey.tcp(vip(services // 2), 80)
            gone = ipvs.Destination(address=f"10.1.0.{r % dests + 1}", port=8080)
            with ipvs.Client() as other:  # another writer
                other.delete_destination(key, gone)
            seconds, result = await timed(director.resync)
            assert result is not None and len(result.plan) == 1
            samples["resync_destination"].append(seconds)
            os.system(f"ip addr del {vip(services // 3)}/32 dev ipvs0")
            seconds, result = await timed(director.resync)
            assert result is not None and len(result.plan.addresses) == 1
            samples["resync_address"].append(seconds)

            # metrics: over HTTP (served by a thread of this process), and rendered alone
            seconds, size = await loop.run_in_executor(None, scrape)
            samples["scrape"].append(seconds)
            results["scrape_bytes"] = size
            started = perf()
            text = await loop.run_in_executor(None, render)
            samples["render"].append(perf() - started)
            results["text_bytes"] = len(text)
            # the text alone, written here and by prometheus-client, from the same families
            families = kernel_families(await client.snapshot())
            started = perf()
            exposition(families)
            samples["text"].append(perf() - started)
            started = perf()
            by_prometheus_client(families)
            samples["text_prometheus_client"].append(perf() - started)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        results["samples"] = samples
        results["median"] = {k: median(v) for k, v in samples.items()}
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            rss = next(line for line in fh if line.startswith("VmRSS:"))
        results["rss_kib"] = int(rss.split()[1])
    finally:
        await director.stop(cleanup=True)
    return results


def report(results: dict[str, Any]) -> str:
    m = results["median"]
    n, e = results["services"], results["destinations"]

    def ms(name: str) -> str:
        return f"{m[name] * 1000:8.1f} ms"

    lines = [
        f"ipvs run at {n:,} services x {e} destinations, a {results['format'].upper()} file of "
        f"{results['file_bytes'] / 1024:.0f} KiB (median of {results['rounds']}):",
        f"  start (apply {n * (e + 1):,} operations, bind {n:,} addresses): "
        f"{results['start']:.2f} s",
        f"  reload, file unchanged          {ms('reload_unchanged')}"
        f"   (reading and checking the file alone: {ms('parse').strip()})",
        f"  reload, one weight changed      {ms('reload_one_weight')}",
        f"  reload, 10 services added       {ms('reload_10_services')}",
        f"  resync, nothing changed         {ms('resync_nothing')}"
        f"   (a snapshot alone: {ms('snapshot').strip()})",
        f"  resync, a destination deleted   {ms('resync_destination')}",
        f"  resync, a VIP address removed   {ms('resync_address')}",
        f"  metrics scrape over HTTP, gzip  {ms('scrape')}"
        f"   ({results['text_bytes'] / 1024:.0f} KiB, {results['scrape_bytes'] / 1024:.0f} KiB "
        f"sent; ipvs stats --prometheus's work: {ms('render').strip()})",
        f"  the text of a snapshot          {ms('text')}"
        f"   (by prometheus-client: {ms('text_prometheus_client').strip()})",
        f"  resident memory after the runs: {results['rss_kib'] / 1024:.0f} MiB",
        f"  ratios: reload unchanged / parse {m['reload_unchanged'] / m['parse']:.2f}, "
        f"resync / snapshot {m['resync_nothing'] / m['snapshot']:.2f}, "
        f"scrape / snapshot {m['scrape'] / m['snapshot']:.2f}, "
        f"prometheus-client's text / ours {m['text_prometheus_client'] / m['text']:.1f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.director")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--format", default="yaml,json", help="the configuration's formats (default: both)"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.destinations > 250 or args.services > 250 * 250:
        parser.error("at most 250 destinations and 62,500 services")
    everything = []
    for fmt in args.format.split(","):
        # a fresh namespace each: IPVS scans its trash of deleted destinations on every add
        with tempfile.TemporaryDirectory(prefix="ipvs-director-") as workdir, _netns.fresh():
            results = asyncio.run(
                measure(args.services, args.destinations, args.rounds, workdir, fmt)
            )
        print(report(results), flush=True)
        everything.append(results)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(everything, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
