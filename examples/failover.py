"""Failover with health checks: a backend dies, its traffic moves; it returns, and gets it back.

The walkthrough's setup: a virtual service 100.100.100.100:80, round robin,
two HTTP "whoami" backends (web1, web2), each in its own network namespace
behind a veth pair, in masquerading (NAT) mode. IPVS itself does not know
whether a backend is alive; here :class:`ipvs.health.HealthChecker` asks
each one ``GET /`` every half second and changes the table:

a. start the checker: it applies the service; requests alternate;
b. web2's server stops (connections are refused): within the detection
   time the checker sets web2's weight to 0, and every reply comes from web1
   (requests sent during the detection time are counted, and the failed ones
   shown);
c. web2 starts again: within the recovery time it has its weight back, and
   the replies alternate again.

The example prints what it measured and exits with status 1 (saying why)
when the traffic does not match, so it doubles as an end-to-end test. It
works in network namespaces of its own and changes nothing else. Run it in
the sandbox kernel::

    python -m ipvs.testing.sandbox -- .venv/bin/python examples/failover.py
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence

import ipvs
from ipvs import health
from ipvs.testing.topology import HTTPError, Topology

VIP = "100.100.100.100"
PORT = 80
BACKEND_PORT = 8080
# A probe every 0.5 s; two failures in a row take a backend out, two successes
# bring it back. The timeout is generous: a slow answer is not a dead backend.
CHECK = health.HTTPCheck(path="/", interval=0.5, timeout=1.0, fall=2, rise=2)


class FailoverFailure(Exception):
    """What the example observed does not match what should happen."""


def step(title: str) -> None:
    """Print a step header."""
    print(f"\n=== {title} " + "=" * max(3, 66 - len(title)), flush=True)


def check(condition: bool, message: str) -> None:
    """Fail the example unless ``condition`` holds."""
    if not condition:
        raise FailoverFailure(message)
    print(f"    ok: {message}", flush=True)


class Traffic:
    """Requests to the VIP, one after the other on fresh connections, in a thread.

    Each result is ``(time sent, backend name or None, error or None)``.
    """

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.results: list[tuple[float, str | None, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                self.results.append((sent, self.topo.get(VIP, PORT, timeout=1.0), None))
            except (OSError, HTTPError) as exc:
                self.results.append((sent, None, type(exc).__name__))
                time.sleep(0.01)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def requests(topo: Topology, count: int) -> list[str]:
    """Send ``count`` requests to the VIP, each on a fresh connection."""
    return [topo.get(VIP, PORT, timeout=2.0) for _ in range(count)]


def alternates(replies: Sequence[str]) -> bool:
    """True when the replies alternate between web1 and web2."""
    return set(replies) == {"web1", "web2"} and all(a != b for a, b in itertools.pairwise(replies))


async def run(topo: Topology, client: ipvs.AsyncClient) -> None:
    """Run steps a to c against an open topology and client."""
    web1, web2 = topo.backends
    service = health.CheckedService(
        service=ipvs.Service.tcp(VIP, PORT, scheduler="rr"),
        destinations=[
            ipvs.Destination(address=b.address, port=BACKEND_PORT, forward="masq")
            for b in (web1, web2)
        ],
        checks=[CHECK],
    )
    dest2 = service.destinations[1].destination

    # -- a -------------------------------------------------------------------------
    step("a. Start the health checker: HTTP GET / every 0.5 s, fall 2, rise 2")
    checker = health.HealthChecker(client, [service])
    async with checker:
        replies = await asyncio.to_thread(requests, topo, 6)
        print(f"    6 requests: {' '.join(replies)}")
        check(alternates(replies), "replies alternate between web1 and web2")

        # -- b ---------------------------------------------------------------------
        step("b. web2 stops: connections to it are refused")
        bound = CHECK.detection_time()
        with checker.events() as events, Traffic(topo) as traffic:
            await asyncio.sleep(0.3)  # traffic flows before the failure
            stopped = time.monotonic()
            await asyncio.to_thread(topo.stop_backend, web2.name)
            down = await events.next(health.DestinationDown, timeout=bound + 5)
        assert down.applied_at is not None
        detected, applied = down.at - stopped, down.applied_at - stopped
        during = [r for r in traffic.results if stopped <= r[0] < down.applied_at]
        failed = [r for r in during if r[1] is None]
        print(f"    detected after {detected:.2f} s, applied after {applied:.2f} s")
        print(
            f"    (a refused connection fails at once: at most interval x fall = "
            f"{CHECK.interval * CHECK.fall:.2f} s; with probes that time out, {bound:.2f} s)"
        )
        print(
            f"    requests sent while detecting: {len(during)}, failed: {len(failed)} "
            f"({', '.join(sorted({str(r[2]) for r in failed})) or 'none'}), "
            f"answered by web1: {sum(1 for r in during if r[1] == 'web1')}"
        )
        check(
            isinstance(down, health.DestinationDown) and down.destination == dest2, "web2 is down"
        )
        check(applied <= bound, f"the change reached the kernel within {bound:.2f} s")
        live = {d.describe(): d.weight for d in await client.destinations(service.service)}
        print(f"    the kernel: {live}")
        check(live == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 0}, "web2 has weight 0 in the kernel")
        replies = await asyncio.to_thread(requests, topo, 20)
        print(f"    20 requests after the detection: {' '.join(replies)}")
        check(replies == ["web1"] * 20, "every reply comes from web1, none fails")

        # -- c ---------------------------------------------------------------------
        step("c. web2 starts again")
        bound = CHECK.recovery_time()
        with checker.events() as events:
            started = time.monotonic()
            await asyncio.to_thread(topo.start_backend, web2.name)
            up = await events.next(health.DestinationUp, timeout=bound + 5)
        assert up.applied_at is not None
        print(
            f"    back after {up.at - started:.2f} s, applied after "
            f"{up.applied_at - started:.2f} s (bound: {bound:.2f} s)"
        )
        check(up.applied_at - started <= bound, f"web2 is back within {bound:.2f} s")
        live = {d.describe(): d.weight for d in await client.destinations(service.service)}
        check(live == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 1}, "web2 has its weight 1 back")
        replies = await asyncio.to_thread(requests, topo, 6)
        print(f"    6 requests: {' '.join(replies)}")
        check(alternates(replies), "replies alternate between web1 and web2 again")
        print(
            f"\nmeasured: detection {detected:.2f} s (applied {applied:.2f} s), "
            f"recovery {up.at - started:.2f} s (applied {up.applied_at - started:.2f} s), "
            f"{len(failed)} of {len(during)} requests failed while detecting"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example.

    Args:
        argv: unused (the example takes no arguments).

    Returns:
        0 on success, 1 when the traffic does not match, 2 when the
        environment cannot run the example.
    """
    started = time.monotonic()
    if os.geteuid() != 0:
        print(
            "failover: needs root and a kernel with IPVS; run it in the sandbox: "
            "python -m ipvs.testing.sandbox -- .venv/bin/python examples/failover.py",
            file=sys.stderr,
        )
        return 2
    print("ipvs failover: health checks move traffic away from a dead backend and back")
    # the checker logs every change of state, and every apply, to "ipvs.health"
    logging.basicConfig(level=logging.INFO, format="    log: %(message)s", stream=sys.stdout)
    try:
        with Topology(own_director=True) as topo:
            web1 = topo.add_backend("web1", port=BACKEND_PORT)
            web2 = topo.add_backend("web2", port=BACKEND_PORT)
            topo.add_vip(VIP)
            print(f"director: network namespace {topo.director_netns}, VIP {VIP} on a dummy link")
            for b in (web1, web2):
                print(f"backend:  {b.describe()}, veth to the director ({b.gateway})")

            async def session() -> None:
                async with ipvs.AsyncClient(netns=topo.director_netns) as client:
                    await run(topo, client)

            asyncio.run(session())
    except FailoverFailure as exc:
        print(f"\nFAILOVER FAILED: {exc}")
        return 1
    except (ipvs.IPVSUnavailable, ipvs.IPVSPermissionError) as exc:
        print(f"\nfailover: cannot use IPVS here: {exc}", file=sys.stderr)
        return 2
    print(f"\nAll checks passed in {time.monotonic() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
