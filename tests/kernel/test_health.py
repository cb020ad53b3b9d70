"""Every checker kind against real backends, in each of the three ways backends fail.

One topology per failure mode: two backends (web1, web2) with HTTP, HTTPS,
UDP and DNS servers, and one virtual service per checker kind, all balancing
web1 and web2 by round robin. web2 fails; each kind that can see the failure
must take web2 out within its detection time (measured), after which no new
connection reaches it (counted over many requests); the kinds that cannot see
it (a TCP connect does not see an HTTP 503) must leave it in. Then web2
recovers, and each kind must bring it back within its recovery time.

The checker runs on an AsyncClient of the topology's own director namespace:
the test's namespace has no route to the backends, so every probe that
succeeds was made from the client's namespace.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import pytest

import ipvs
from ipvs import health
from ipvs.testing.topology import Topology

# A timeout well above the time a probe takes, even when the sandbox is
# loaded: a healthy backend must not fail twice in a row by accident.
INTERVAL, TIMEOUT, FALL, RISE = 0.5, 1.0, 2, 2
HTTPS, UDP, DNS = 8443, 9000, 5353
#: The sandbox has one slow CPU that the probes, the traffic and the servers share.
SLACK = 1.0
KINDS = ("tcp", "http", "https", "udp", "dns", "command")


def checks(topo: Topology) -> dict[str, health.Check]:
    timing: dict[str, Any] = {"interval": INTERVAL, "timeout": TIMEOUT, "fall": FALL, "rise": RISE}
    return {
        "tcp": health.TCPCheck(**timing),
        "http": health.HTTPCheck(path="/healthz", body="web", **timing),
        "https": health.HTTPCheck(
            path="/healthz", tls=True, ca_file=topo.ca_certificate, port=HTTPS, **timing
        ),
        "udp": health.UDPCheck(payload=b"ping", expect=b"web", port=UDP, **timing),
        "dns": health.DNSCheck(
            name="health.test", type="A", require_answer=True, port=DNS, **timing
        ),
        # a process start is slow in the sandbox (nsenter, then bash): more time
        "command": health.CommandCheck(
            command=["bash", "-c", "exec 3<>/dev/tcp/$IPVS_HEALTH_ADDRESS/$IPVS_HEALTH_PORT"],
            **{**timing, "interval": 1.0, "timeout": 2.0},
        ),
    }


def _fail_stop(topo: Topology) -> None:
    topo.stop_backend("web2")


def _heal_stop(topo: Topology) -> None:
    topo.start_backend("web2")


def _fail_http(topo: Topology) -> None:
    topo.set_http_status("web2", 503)


def _heal_http(topo: Topology) -> None:
    topo.set_http_status("web2", 200)


def _fail_drop(topo: Topology) -> None:
    topo.drop_packets("web2")


def _heal_drop(topo: Topology) -> None:
    topo.accept_packets("web2")


Action = Callable[[Topology], None]

#: failure mode -> (how web2 fails, how it recovers, the kinds that must see it)
MODES: dict[str, tuple[Action, Action, set[str]]] = {
    "stop": (_fail_stop, _heal_stop, set(KINDS)),
    "http-error": (_fail_http, _heal_http, {"http", "https"}),
    "drop": (_fail_drop, _heal_drop, set(KINDS)),
}


def _requests(topo: Topology, vip: str, count: int) -> collections.Counter[str]:
    seen: collections.Counter[str] = collections.Counter()
    for _ in range(count):
        try:
            seen[topo.get(vip, 80, timeout=2.0)] += 1
        except OSError as exc:
            seen[f"failed: {type(exc).__name__}"] += 1
    return seen


def _bound(check: health.Check, kind: type[health.HealthEvent]) -> float:
    down = kind is health.DestinationDown
    return check.detection_time() if down else check.recovery_time()


async def _collect(
    stream: health.EventStream,
    kind: type[health.HealthEvent],
    services: set[ipvs.ServiceKey],
    timeout: float,
) -> dict[ipvs.ServiceKey, Any]:
    found: dict[ipvs.ServiceKey, Any] = {}
    deadline = time.monotonic() + timeout
    while services - set(found):
        left = deadline - time.monotonic()
        event = await stream.next(
            lambda e: isinstance(e, kind) and e.service in services,  # type: ignore[attr-defined]
            timeout=max(left, 0.01),
        )
        found.setdefault(event.service, event)  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("mode", list(MODES))
def test_each_kind_detects_and_recovers(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    fail, heal, seeing = MODES[mode]
    report: list[str] = []
    with Topology(own_director=True) as topo:
        backends = [
            topo.add_backend(name, https_port=HTTPS, udp_port=UDP, dns_port=DNS)
            for name in ("web1", "web2")
        ]
        checks_ = checks(topo)
        vips = {kind: topo.add_vip(f"100.100.100.{i}") for i, kind in enumerate(KINDS, 1)}
        services = {
            kind: health.CheckedService(
                service=ipvs.Service.tcp(vips[kind], 80, scheduler="rr"),
                destinations=[
                    ipvs.Destination(address=b.address, port=b.port, forward="masq")
                    for b in backends
                ],
                checks=[checks_[kind]],
            )
            for kind in KINDS
        }
        keys = {services[k].key: k for k in KINDS}
        watched = {services[k].key for k in seeing}
        blind = {services[k].key for k in set(KINDS) - seeing}

        async def main() -> None:
            async with ipvs.AsyncClient(netns=topo.director_netns) as client:
                checker = health.HealthChecker(client, list(services.values()))
                async with checker:
                    for kind in KINDS:  # everything flows before the failure
                        seen = await asyncio.to_thread(_requests, topo, vips[kind], 4)
                        assert seen == {"web1": 2, "web2": 2}, (kind, seen)
                    stream = checker.events()

                    async def timed(what: str, action: Action, kind: type[Any]) -> None:
                        # the change is in effect when the action returns (iptables
                        # replaces its table at the end; a process start is slow here)
                        called = time.monotonic()
                        await asyncio.to_thread(action, topo)
                        done = time.monotonic()
                        report.append(f"{mode:10} {what} web2 took {done - called:.2f} s")
                        bound = {k: _bound(checks_[k], kind) for k in KINDS}
                        longest = max(bound[k] for k in seeing)
                        found = await _collect(stream, kind, watched, longest + SLACK + 5)
                        for key, event in found.items():
                            name, took = keys[key], event.applied_at - done
                            report.append(
                                f"{mode:10} {name:8} {kind.__name__} after "
                                f"{event.at - done:.2f} s, applied {took:.2f} s "
                                f"(bound {bound[name]:.2f} s) {getattr(event, 'reason', '')}"
                            )
                            assert event.destination.describe() == "10.1.2.2:8080"
                            assert took <= bound[name] + SLACK, report[-1]

                    await timed("failing", fail, health.DestinationDown)
                    # after the detection no new connection reaches web2
                    for key in watched:
                        seen = await asyncio.to_thread(_requests, topo, vips[keys[key]], 20)
                        assert seen == {"web1": 20}, (keys[key], seen)
                    # the kinds blind to this failure keep web2 in
                    await asyncio.sleep(FALL * INTERVAL * 2)
                    status = {s.service: s for s in checker.status()}
                    for key in blind:
                        assert all(d.up for d in status[key].destinations), keys[key]
                        report.append(f"{mode:10} {keys[key]:8} stays up (cannot see it)")
                    await timed("healing", heal, health.DestinationUp)
                    for kind in KINDS:
                        seen = await asyncio.to_thread(_requests, topo, vips[kind], 4)
                        assert seen == {"web1": 2, "web2": 2}, (kind, seen)
                    stream.close()

        asyncio.run(main())
    with capsys.disabled():
        print("\n" + "\n".join(report))
