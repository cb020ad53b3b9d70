"""Graceful drain with real TCP connections through a masquerading VIP."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from ipvs import Client, Destination, ForwardMethod, Service, Table
from ipvs.testing.topology import Topology


def _live(client: Client, svc: Service, address: str) -> Destination | None:
    return next((d for d in client.destinations(svc) if str(d.address) == address), None)


def test_a_draining_destination_stays_until_its_connections_end(
    make_client: Callable[..., Any],
) -> None:
    with Topology() as topo:
        web1 = topo.add_backend("web1")
        web2 = topo.add_backend("web2")
        vip = topo.add_vip("100.100.100.100")
        svc = Service.tcp(vip, 80, scheduler="rr")
        d1, d2 = (
            Destination(address=b.address, port=b.port, forward=ForwardMethod.MASQ)
            for b in (web1, web2)
        )
        with make_client() as client:
            result = client.apply(Table([(svc, [d1, d2])]))
            # hold a few long-lived connections; rr spreads them over both backends
            held = [topo.hold(vip, 80) for _ in range(4)]
            served = [c.request() for c in held]
            assert served.count("web2") == 2
            result = client.apply(Table([(svc, [d1])]), current=result.table, drain=True)
            assert [d.describe() for d in result.drains] == [f"TCP {vip}:80 -> {d2.describe()}"]
            live = _live(client, svc, web2.address)
            assert live is not None and live.weight == 0 and live.active_connections == 2
            # new connections avoid it, established ones are still served by it
            assert {topo.get(vip, 80) for _ in range(6)} == {"web1"}
            assert [c.request() for c in held] == served
            # while connections are active, reaping keeps it
            for _ in range(2):
                reaped = client.reap(result.drains, current=result.table, count_inactive=False)
                assert reaped.removed == () and len(reaped.pending) == 1
                assert _live(client, svc, web2.address) is not None
            for conn in held:
                conn.close()
            deadline = time.monotonic() + 10
            while (d := _live(client, svc, web2.address)) and d.active_connections:
                assert time.monotonic() < deadline, "connections never ended"
                time.sleep(0.1)
            # counting inactive (TIME_WAIT) ones it still waits ...
            assert client.reap(result.drains).pending
            # ... and without, it goes now
            reaped = client.reap(result.drains, current=result.table, count_inactive=False)
            assert len(reaped.removed) == 1 and reaped.pending == ()
            assert _live(client, svc, web2.address) is None
            assert reaped.table is not None and client.snapshot() == reaped.table
            assert reaped.table == Table([(svc, [d1])])


def test_grace_period_deletes_even_with_connections(
    make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ipvs")
    with Topology() as topo:
        web1 = topo.add_backend("web1")
        vip = topo.add_vip("100.100.100.101")
        svc = Service.tcp(vip, 80, scheduler="rr")
        d1 = Destination(address=web1.address, port=web1.port, forward=ForwardMethod.MASQ)
        with make_client() as client:
            result = client.apply(Table([(svc, [d1])]))
            conn = topo.hold(vip, 80)
            assert conn.request() == "web1"
            result = client.apply(Table([(svc, [])]), current=result.table, drain=True)
            since: dict[object, float] = {}
            now = [100.0]
            assert client.reap(result.drains, grace=30, since=since, clock=lambda: now[0]).pending
            now[0] += 31
            reaped = client.reap(result.drains, grace=30, since=since, clock=lambda: now[0])
            assert len(reaped.removed) == 1 and client.destinations(svc) == []
            conn.close()
    assert f"reap: removed {reaped.removed[0].describe()}" in caplog.messages


def test_udp_destinations_are_deleted_at_once(make_client: Callable[..., Any]) -> None:
    svc = Service.udp("10.0.0.53", 53)
    d = Destination(address="10.1.0.1", port=53, forward=ForwardMethod.MASQ)
    with make_client() as client:
        result = client.apply(Table([(svc, [d])]))
        result = client.apply(Table([(svc, [])]), current=result.table, drain=True)
        assert result.drains == () and client.destinations(svc) == []
