"""The classic IPVS demo, programmed from Python: round robin, weights, a drain.

A virtual service 100.100.100.100:80 balances two HTTP "whoami" backends,
each in its own network namespace behind a veth pair, in masquerading (NAT)
mode. Everything is programmed with this library (``ipvs.Client``,
``ipvs.Table``, ``client.apply``); requests are sent to the VIP and the
backends' answers show where IPVS sent each connection:

a. plan and apply a round-robin service;   b. list the table;
c. requests alternate between the backends; d. weighted round robin 3:1;
e. drain a backend (weight 0): new connections avoid it, an open one stays;
f. statistics;                              g. reap the drained backend.

The demo checks what it observes against what it programmed and exits with
status 1 (and says why) on any mismatch, so it doubles as an end-to-end test.
It works in network namespaces of its own and changes nothing else. Run it in
the sandbox kernel::

    bash scripts/demo
    # or: python -m ipvs.testing.sandbox -- .venv/bin/python examples/demo.py
"""

from __future__ import annotations

import collections
import ipaddress
import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence

import ipvs
from ipvs.formats import ipvsadm
from ipvs.testing.topology import Connection, Topology

VIP = "100.100.100.100"
PORT = 80
BACKEND_PORT = 8080


class DemoFailure(Exception):
    """What the demo observed does not match what it programmed."""


def step(title: str) -> None:
    """Print a step header."""
    print(f"\n=== {title} " + "=" * max(3, 66 - len(title)))


def indent(text: str, prefix: str = "    ") -> str:
    """Indent every line of ``text``."""
    return "\n".join(prefix + line for line in text.splitlines())


def check(condition: bool, message: str) -> None:
    """Fail the demo unless ``condition`` holds."""
    if not condition:
        raise DemoFailure(message)
    print(f"    ok: {message}")


# --------------------------------------------------------------------------
# ipvsadm-style listings
# --------------------------------------------------------------------------


def listing(client: ipvs.Client, *, stats: bool = False) -> str:
    """List the kernel's table like ``ipvsadm -Ln`` (or ``-Ln --stats``)."""
    text = ipvsadm.listing(client.snapshot(), stats=stats, info=client.info())
    return text.rstrip("\n")


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------


def requests(topo: Topology, count: int) -> list[str]:
    """Send ``count`` requests to the VIP, each on a fresh connection."""
    return [topo.get(VIP, PORT, timeout=5.0) for _ in range(count)]


def live_destination(client: ipvs.Client, key: ipvs.ServiceKey, address: str) -> ipvs.Destination:
    """Read one destination of a service from the kernel (with its counters)."""
    wanted = ipaddress.ip_address(address)
    for dest in client.destinations(key):
        if dest.address == wanted:
            return dest
    raise DemoFailure(f"destination {address} is missing from the kernel's table")


def wait_for(what: str, probe: Callable[[], bool], timeout: float) -> float:
    """Poll ``probe`` until it is true; return the seconds waited."""
    start = time.monotonic()
    while not probe():
        if time.monotonic() - start > timeout:
            raise DemoFailure(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def run(topo: Topology, client: ipvs.Client) -> None:
    """Run steps a to g against an open topology and client."""
    web1, web2 = topo.backends
    sent: collections.Counter[str] = collections.Counter()  # connections per backend

    def masq(backend_address: str, weight: int = 1) -> ipvs.Destination:
        return ipvs.Destination(
            address=backend_address, port=BACKEND_PORT, forward="masq", weight=weight
        )

    # -- a ---------------------------------------------------------------------
    step("a. Plan and apply: TCP 100.100.100.100:80, round robin, NAT")
    rr = ipvs.Service.tcp(VIP, PORT, scheduler="rr")
    desired = ipvs.Table([(rr, [masq(web1.address), masq(web2.address)])])
    plan = ipvs.diff(client.snapshot(), desired)
    print("plan = ipvs.diff(client.snapshot(), desired):")
    print(indent(str(plan)))
    result = client.apply_plan(plan)
    print(f"applied {len(result.plan)} operations (all or nothing)")

    # -- b ---------------------------------------------------------------------
    step("b. The table, as ipvsadm -Ln shows it")
    print(indent(listing(client)))
    check(client.snapshot() == desired, "the kernel holds exactly the desired table")

    # -- c ---------------------------------------------------------------------
    step("c. Round robin: 4 requests to http://100.100.100.100/")
    replies = requests(topo, 4)
    sent.update(replies)
    for i, name in enumerate(replies, 1):
        print(f"    request {i} -> {name}")
    alternates = all(a != b for a, b in itertools.pairwise(replies))
    check(
        alternates and set(replies) == {web1.name, web2.name},
        "replies alternate between web1 and web2",
    )

    # -- d ---------------------------------------------------------------------
    step("d. Weighted round robin 3:1")
    wrr = ipvs.Service.tcp(VIP, PORT, scheduler="wrr")
    weighted = ipvs.Table([(wrr, [masq(web1.address, 3), masq(web2.address, 1)])])
    preview = client.apply(weighted, current=result.table, dry_run=True)
    print("client.apply(weighted, current=result.table)  # the plan:")
    print(indent(str(preview.plan)))
    result = client.apply(weighted, current=result.table)
    replies = requests(topo, 40)
    sent.update(replies)
    seen = collections.Counter(replies)
    print(f"    40 requests, the first 8: {' '.join(replies[:8])}")
    print(f"    observed web1:web2 = {seen[web1.name]}:{seen[web2.name]}")
    check(
        seen[web1.name] == 30 and seen[web2.name] == 10,
        "weights 3:1 give exactly 30:10 over 40 connections",
    )

    # -- e ---------------------------------------------------------------------
    step("e. Drain web2: weight 0, then reap once its connections are gone")
    held: Connection | None = None
    for _ in range(8):  # wrr 3:1: one connection in four goes to web2
        conn = topo.hold(VIP, PORT)
        name = conn.request()
        sent[name] += 1
        if name == web2.name:
            held = conn
            break
        conn.close()
    if held is None:
        raise DemoFailure("no connection reached web2")
    print(f"    a long-lived connection from {held.local_address[1]} is served by {web2.name}")
    drained = weighted.without_destination(wrr.key, masq(web2.address))
    preview = client.apply(drained, current=result.table, drain=True, dry_run=True)
    print("client.apply(without web2, current=result.table, drain=True)  # the plan:")
    print(indent(str(preview.plan)))
    result = client.apply(drained, current=result.table, drain=True)
    print(indent(listing(client)))
    replies = requests(topo, 10)
    sent.update(replies)
    print(f"    10 new connections: {' '.join(replies)}")
    check(set(replies) == {web1.name}, "new connections all go to web1")
    again = held.request()  # the same connection: nothing new for IPVS to schedule
    print(f"    the held connection asks again -> {again}")
    check(again == web2.name, "the established connection to web2 is still served")
    # count_inactive=False: closed connections linger in TIME_WAIT for two
    # minutes; only the active ones must end before web2 goes.
    reaped = client.reap(result.drains, count_inactive=False)
    live = live_destination(client, wrr.key, web2.address)
    print(
        f"    client.reap(result.drains, count_inactive=False): {len(reaped.removed)} removed, "
        f"{len(reaped.pending)} pending ({live.active_connections} active, "
        f"{live.inactive_connections} inactive connections on web2)"
    )
    check(len(reaped.pending) == 1, "web2 keeps draining while a connection is open")

    # -- f ---------------------------------------------------------------------
    step("f. Statistics, as ipvsadm -Ln --stats shows them")
    total = sum(sent.values())

    def counted() -> bool:
        svc = client.service(wrr.key)
        return svc.stats is not None and svc.stats.connections >= total

    waited = wait_for("the kernel's statistics", counted, timeout=5.0)
    print(indent(listing(client, stats=True)))
    print(f"    (the kernel folds its per-CPU counters every 2 s; waited {waited:.1f} s)")
    for backend in (web1, web2):
        stats = live_destination(client, wrr.key, backend.address).stats
        got = stats.connections if stats is not None else 0
        check(
            got == sent[backend.name],
            f"{backend.name}: the kernel counted {got} connections, the client made "
            f"{sent[backend.name]}",
        )

    # -- g ---------------------------------------------------------------------
    step("g. Close the last connection to web2 and reap it")
    held.close()

    def idle() -> bool:
        return live_destination(client, wrr.key, web2.address).active_connections == 0

    wait_for("web2's active connection to end", idle, timeout=5.0)
    print("    web2 has no active connection left (closed ones linger in TIME_WAIT)")
    reaped = client.reap(result.drains, count_inactive=False)
    check(not reaped.pending, "nothing is left draining")
    print(f"    client.reap(...): removed {', '.join(d.describe() for d in reaped.removed)}")
    print(indent(listing(client)))
    remaining = {str(d.address) for d in client.destinations(wrr.key)}
    check(remaining == {web1.address}, "only web1 is left")
    replies = requests(topo, 3)
    print(f"    3 more requests: {' '.join(replies)}")
    check(set(replies) == {web1.name}, "web1 serves everything")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo.

    Args:
        argv: unused (the demo takes no arguments).

    Returns:
        0 on success, 1 when the traffic does not match the configuration,
        2 when the environment cannot run the demo.
    """
    started = time.monotonic()
    if os.geteuid() != 0:
        print(
            "demo: needs root and a kernel with IPVS; run it in the sandbox: bash scripts/demo",
            file=sys.stderr,
        )
        return 2
    print("ipvs demo: a round-robin virtual service in front of two HTTP backends")
    try:
        with Topology(own_director=True) as topo:
            web1 = topo.add_backend("web1", port=BACKEND_PORT)
            web2 = topo.add_backend("web2", port=BACKEND_PORT)
            topo.add_vip(VIP)
            print(f"director: network namespace {topo.director_netns}, VIP {VIP} on a dummy link")
            for b in (web1, web2):
                print(f"backend:  {b.describe()}, veth to the director ({b.gateway})")
            with ipvs.Client(netns=topo.director_netns) as client:
                run(topo, client)
    except DemoFailure as exc:
        print(f"\nDEMO FAILED: {exc}")
        return 1
    except (ipvs.IPVSUnavailable, ipvs.IPVSPermissionError) as exc:
        print(f"\ndemo: cannot use IPVS here: {exc}", file=sys.stderr)
        return 2
    print(f"\nAll checks passed in {time.monotonic() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
