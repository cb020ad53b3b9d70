"""What the checker does to the kernel's table, with real connections through a real VIP.

Weight 0 keeps established connections; removal takes the destination out;
the sorry server takes over when nothing is healthy and quorum hooks fire; a
configured weight comes back exactly; a command sets the weight; alpha mode
starts down; a conflicting writer costs one snapshot.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import pathlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import ipvs
from ipvs import health
from ipvs.testing.topology import Topology

FAST: dict[str, Any] = {"interval": 0.3, "timeout": 1.0, "fall": 2, "rise": 2}
VIP = "100.100.100.100"


def _dest(backend: Any, weight: int = 1) -> ipvs.Destination:
    return ipvs.Destination(
        address=backend.address, port=backend.port, forward="masq", weight=weight
    )


def _count(topo: Topology, count: int) -> collections.Counter[str]:
    return collections.Counter(topo.get(VIP, 80, timeout=2.0) for _ in range(count))


async def _weights(client: ipvs.AsyncClient, service: ipvs.Service) -> dict[str, int]:
    return {d.describe(): d.weight for d in await client.destinations(service)}


def _run(
    topo: Topology,
    services: list[health.CheckedService],
    body: Callable[[ipvs.AsyncClient, health.HealthChecker], Awaitable[None]],
) -> None:
    async def main() -> None:
        async with ipvs.AsyncClient(netns=topo.director_netns) as client:
            checker = health.HealthChecker(client, services)
            async with checker:
                await asyncio.wait_for(body(client, checker), 60)

    asyncio.run(main())


def test_weight_0_keeps_established_connections() -> None:
    with Topology(own_director=True) as topo:
        web1, web2 = topo.add_backend("web1"), topo.add_backend("web2")
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="rr")
        config = health.CheckedService(
            service=svc,
            destinations=[_dest(web1), _dest(web2)],
            checks=[health.HTTPCheck(path="/healthz", **FAST)],
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            held = []
            for _ in range(4):
                conn = topo.hold(VIP, 80)
                held.append((conn, conn.request()))
            on_web2 = [conn for conn, name in held if name == "web2"]
            assert len(on_web2) == 2
            with checker.events() as stream:
                # web2's application says it is not ready; its port still serves
                topo.set_http_status("web2", 503, path="/healthz")
                down = await stream.next(health.DestinationDown, timeout=10)
            assert down.applied and down.reason == "HTTP 503"
            assert await _weights(client, svc) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 0}
            seen = await asyncio.to_thread(_count, topo, 30)
            assert seen == {"web1": 30}  # no new connection reaches web2
            for conn in on_web2:  # the established ones are still served by it
                assert conn.request() == "web2"
            live = {d.describe(): d for d in await client.destinations(svc)}
            assert live["10.1.2.2:8080"].active_connections == 2

        _run(topo, [config], body)


def test_remove_policy_deletes_and_adds_back() -> None:
    with Topology(own_director=True) as topo:
        web1, web2 = topo.add_backend("web1"), topo.add_backend("web2")
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="rr")
        config = health.CheckedService(
            service=svc,
            destinations=[_dest(web1), _dest(web2, 2)],
            checks=[health.TCPCheck(**FAST)],
            on_failure="remove",
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            with checker.events() as stream:
                topo.stop_backend("web2")
                await stream.next(health.DestinationDown, timeout=10)
                assert await _weights(client, svc) == {"10.1.1.2:8080": 1}
                topo.start_backend("web2")
                up = await stream.next(health.DestinationUp, timeout=10)
            assert up.weight == 2
            assert await _weights(client, svc) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 2}
            assert checker.table == await client.snapshot()

        _run(topo, [config], body)


def test_sorry_server_takes_over_and_quorum_hooks_fire() -> None:
    with Topology(own_director=True) as topo:
        web1, web2 = topo.add_backend("web1"), topo.add_backend("web2")
        sorry = topo.add_backend("sorry")
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="rr")
        hooks: list[str] = []

        async def quorum_down(event: health.QuorumLost) -> None:
            await asyncio.sleep(0)
            assert event.sorry_server is not None
            hooks.append(f"down weight={event.weight} sorry={event.sorry_server.describe()}")

        config = health.CheckedService(
            service=svc,
            destinations=[_dest(web1), _dest(web2)],
            checks=[health.HTTPCheck(**FAST)],
            sorry_server=_dest(sorry),
            on_quorum_down=quorum_down,
            on_quorum_up=lambda e: hooks.append(f"up weight={e.weight}"),
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            assert await asyncio.to_thread(_count, topo, 4) == {"web1": 2, "web2": 2}
            with checker.events() as stream:
                topo.stop_backend("web1")
                await stream.next(health.DestinationDown, timeout=10)
                assert hooks == []  # web2 still makes the quorum
                topo.set_http_status("web2", 500)
                lost = await stream.next(health.QuorumLost, timeout=10)
                assert lost.applied and lost.sorry_server == _dest(sorry)
                assert await _weights(client, svc) == {
                    "10.1.1.2:8080": 0,
                    "10.1.2.2:8080": 0,
                    "10.1.3.2:8080": 1,
                }
                assert await asyncio.to_thread(_count, topo, 10) == {"sorry": 10}
                topo.start_backend("web1")
                gained = await stream.next(health.QuorumGained, timeout=10)
            assert gained.applied
            assert await _weights(client, svc) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 0}
            assert await asyncio.to_thread(_count, topo, 10) == {"web1": 10}
            await asyncio.sleep(0.1)  # the async hook's task
            assert hooks == ["down weight=0 sorry=10.1.3.2:8080", "up weight=1"]

        _run(topo, [config], body)


def test_a_configured_weight_comes_back_exactly() -> None:
    with Topology(own_director=True) as topo:
        web1 = topo.add_backend("web1", udp_port=9000)
        web2 = topo.add_backend("web2", udp_port=9000)
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="wrr")
        config = health.CheckedService(
            service=svc,
            destinations=[_dest(web1, 3), _dest(web2, 1)],
            checks=[health.UDPCheck(port=9000, require_reply=True, **FAST)],
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            assert await _weights(client, svc) == {"10.1.1.2:8080": 3, "10.1.2.2:8080": 1}
            with checker.events() as stream:
                topo.drop_packets("web1")
                await stream.next(health.DestinationDown, timeout=10)
                assert await _weights(client, svc) == {"10.1.1.2:8080": 0, "10.1.2.2:8080": 1}
                topo.accept_packets("web1")
                up = await stream.next(health.DestinationUp, timeout=10)
            assert up.weight == 3
            assert await _weights(client, svc) == {"10.1.1.2:8080": 3, "10.1.2.2:8080": 1}
            assert await asyncio.to_thread(_count, topo, 40) == {"web1": 30, "web2": 10}

        _run(topo, [config], body)


def test_a_command_sets_the_weight(tmp_path: pathlib.Path) -> None:
    status = tmp_path / "status"
    status.write_text("5")
    with Topology(own_director=True) as topo:
        web1 = topo.add_backend("web1")
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="wrr")
        check = health.CommandCheck(
            command=f"exit $(cat {status})",
            dynamic_weight=True,
            **{**FAST, "interval": 0.5, "timeout": 2.0},
        )
        config = health.CheckedService(service=svc, destinations=[_dest(web1, 2)], checks=[check])

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            with checker.events() as stream:
                changed = await stream.next(health.WeightChanged, timeout=10)
                assert (changed.old, changed.new) == (2, 3)  # type: ignore[attr-defined]
                assert await _weights(client, svc) == {"10.1.1.2:8080": 3}
                status.write_text("0")  # success: the configured weight
                await stream.next(health.WeightChanged, timeout=10)
                assert await _weights(client, svc) == {"10.1.1.2:8080": 2}
                status.write_text("1")  # failure
                await stream.next(health.DestinationDown, timeout=10)
                assert await _weights(client, svc) == {"10.1.1.2:8080": 0}

        _run(topo, [config], body)


def test_alpha_mode_starts_down_and_probes_run_in_the_clients_namespace() -> None:
    with Topology(own_director=True) as topo:
        web1 = topo.add_backend("web1")
        topo.add_vip(VIP)
        # the test's own namespace cannot reach the backend; the director's can
        with pytest.raises(OSError):
            socket.create_connection((web1.address, web1.port), timeout=1.0).close()
        svc = ipvs.Service.tcp(VIP, 80, scheduler="rr")
        config = health.CheckedService(
            service=svc,
            destinations=[_dest(web1)],
            checks=[health.TCPCheck(**{**FAST, "initial": "down"})],
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            stream = checker.events()
            up = await stream.next(health.DestinationUp, timeout=10)
            assert up.applied
            assert await _weights(client, svc) == {"10.1.1.2:8080": 1}
            stream.close()

        async def main() -> None:
            async with ipvs.AsyncClient(netns=topo.director_netns) as client:
                checker = health.HealthChecker(client, [config])
                stream = checker.events()
                await checker.start()
                try:
                    # at the start: weight 0, no quorum
                    lost = await stream.next(timeout=5)
                    assert isinstance(lost, health.QuorumLost)
                    assert await _weights(client, svc) == {"10.1.1.2:8080": 0}
                    await asyncio.wait_for(body(client, checker), 30)
                finally:
                    await checker.stop()

        asyncio.run(main())


def test_a_conflicting_writer_costs_one_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    with Topology(own_director=True) as topo:
        web1, web2 = topo.add_backend("web1"), topo.add_backend("web2")
        topo.add_vip(VIP)
        svc = ipvs.Service.tcp(VIP, 80, scheduler="rr")
        config = health.CheckedService(
            service=svc, destinations=[_dest(web1), _dest(web2)], checks=[health.TCPCheck(**FAST)]
        )

        async def body(client: ipvs.AsyncClient, checker: health.HealthChecker) -> None:
            # another writer deletes web2 behind the checker's back
            with ipvs.Client(netns=topo.director_netns) as other:
                other.delete_destination(svc, _dest(web2))
            with checker.events() as stream:
                topo.stop_backend("web2")
                down = await stream.next(health.DestinationDown, timeout=10)
            assert down.applied
            # the update of web2 failed (it was gone), then a snapshot, then it was added
            assert await _weights(client, svc) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 0}
            assert checker.table == await client.snapshot()

        with caplog.at_level(logging.WARNING, logger="ipvs.health"):
            _run(topo, [config], body)
    assert "taking a snapshot and applying again" in caplog.text
