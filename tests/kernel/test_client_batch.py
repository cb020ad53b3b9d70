"""Pipelined batches against the real kernel: completeness, partial failure, ENOBUFS."""

from __future__ import annotations

import errno
import ipaddress
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

import ipvs
from ipvs import BatchError, Client, Destination, Service, ServiceKey


def saved() -> str:
    proc = subprocess.run(["ipvsadm", "-Sn"], check=True, capture_output=True, text=True)
    return proc.stdout


def _services(count: int) -> list[Service]:
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    return [
        Service.tcp(str(ipaddress.IPv4Address(base + i)), 80, scheduler="rr") for i in range(count)
    ]


def test_ten_thousand_operations_land_completely(client: Client) -> None:
    services = _services(1000)
    dests = [Destination(address=f"10.200.0.{j + 1}", port=8080, weight=j) for j in range(9)]
    with client.batch() as batch:
        for svc in services:
            batch.add_service(svc)
            for d in dests:
                batch.add_destination(svc, d)
        assert len(batch) == 10_000
    assert batch.failures == []

    table = client.snapshot()
    assert len(table) == 1000
    assert table.destination_count() == 9000
    assert table == ipvs.Table((svc, dests) for svc in services)
    text = saved()
    assert len(text.splitlines()) == 10_000
    assert text.count("-a -t ") == 9000
    assert "-a -t 10.0.3.231:80 -r 10.200.0.9:8080 -g -w 8\n" in text  # the last service


def test_failures_in_the_middle_are_reported_and_the_rest_applied(client: Client) -> None:
    web = Service.tcp("10.0.0.1", 80, scheduler="rr")
    other = Service.udp("10.0.0.2", 53, scheduler="rr")
    d1 = Destination(address="10.1.0.1", port=80)
    d2 = Destination(address="10.1.0.2", port=80)
    missing = ServiceKey.tcp("10.9.9.9", 80)
    with pytest.raises(BatchError) as info, client.batch() as b:
        b.add_service(web)  # 0
        b.add_destination(web, d1)  # 1
        b.add_service(web)  # 2: EEXIST
        b.add_destination(missing, d1)  # 3: ESRCH
        b.add_destination(web, d2)  # 4
        b.delete_destination(web, Destination(address="10.1.0.3", port=80))  # 5: ENOENT
        b.add_service(Service.tcp("10.0.0.3", 80, scheduler="nosuch"))  # 6: ENOENT
        b.add_destination(web, d1)  # 7: EEXIST
        b.add_service(other)  # 8
        b.update_destination(web, Destination(address="10.1.0.2", port=80, weight=5))  # 9
        b.add_destination(web, Destination(address="224.0.0.1", port=80))  # 10: EINVAL
        b.delete_service(missing)  # 11: ESRCH
        b.update_service(Service(key=missing))  # 12: ESRCH
    exc = info.value
    assert exc.total == 13
    got = [(f.index, f.errno, type(f), f.operation) for f in exc.failures]
    assert got == [
        (2, errno.EEXIST, ipvs.ServiceExists, "add_service"),
        (3, errno.ESRCH, ipvs.ServiceNotFound, "add_destination"),
        (5, errno.ENOENT, ipvs.DestinationNotFound, "delete_destination"),
        (6, errno.ENOENT, ipvs.SchedulerNotFound, "add_service"),
        (7, errno.EEXIST, ipvs.DestinationExists, "add_destination"),
        (10, errno.EINVAL, ipvs.InvalidArgument, "add_destination"),
        (11, errno.ESRCH, ipvs.ServiceNotFound, "delete_service"),
        (12, errno.ESRCH, ipvs.ServiceNotFound, "update_service"),
    ]
    assert (
        str(exc.failures[1]) == "add_destination: no such service (TCP 10.9.9.9:80 -> 10.1.0.1:80)"
    )
    assert str(exc).startswith("8 of 13 operations failed: add_service: service already exists")
    assert str(exc).endswith("; and 5 more")
    assert saved() == (
        "-A -t 10.0.0.1:80 -s rr\n"
        "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1\n"
        "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 5\n"
        "-A -u 10.0.0.2:53 -s rr\n"
    )


def test_send_without_context_manager_returns_failures(client: Client) -> None:
    b = client.batch()
    b.add_service(Service.tcp("10.0.0.1", 80))
    b.add_service(Service.tcp("10.0.0.1", 80))
    failures = b.send()
    assert [(f.index, f.errno) for f in failures] == [(1, errno.EEXIST)]
    assert b.failures == failures
    with pytest.raises(ipvs.IPVSError):
        b.send()  # a batch is sent once
    with pytest.raises(ipvs.IPVSError):
        b.add_service(Service.tcp("10.0.0.2", 80))
    assert saved() == "-A -t 10.0.0.1:80 -s wlc\n"


def test_empty_batch(client: Client) -> None:
    with client.batch() as b:
        pass
    assert b.failures == []
    assert client.batch().send() == []
    assert saved() == ""


def test_exception_inside_the_block_sends_nothing(client: Client) -> None:
    with pytest.raises(RuntimeError, match="boom"), client.batch() as b:
        b.add_service(Service.tcp("10.0.0.1", 80))
        b.add_destination(ServiceKey.tcp("10.0.0.1", 80), Destination(address="10.1.0.1", port=80))
        raise RuntimeError("boom")
    assert saved() == ""
    with pytest.raises(ipvs.IPVSError):
        b.send()  # discarded for good
    assert saved() == ""


def test_validation_happens_when_queued(client: Client) -> None:
    with pytest.raises(ipvs.ValidationError), client.batch() as b:
        b.add_service(Service.tcp("10.0.0.1", 80))
        b.add_destination(ServiceKey.tcp("10.0.0.1", 80), "10.1.0.1:80")  # type: ignore[arg-type]
    assert saved() == ""


def _rcvbuf(client: Client) -> int:
    return client._sock.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def test_tiny_receive_buffer_with_many_failures_is_outcome_unknown(
    make_client: Callable[..., Any],
) -> None:
    """2,000 errors cannot fit a ~2 KB receive queue: the client must say so, never succeed."""
    with make_client(rcvbuf=1) as client:
        assert _rcvbuf(client) < 8192  # the kernel's minimum, far below 2,000 error acks
        client.add_service(Service.tcp("10.0.0.1", 80))
        b = client.batch()
        for port in range(1, 2001):
            b.delete_service(ServiceKey.tcp("10.5.0.1", port))  # every one fails (ESRCH)
        b.add_service(Service.tcp("10.0.0.2", 80))
        with pytest.raises(ipvs.OutcomeUnknown) as info:
            b.send()
        assert info.value.errno == errno.ENOBUFS
        assert isinstance(info.value, ipvs.KernelError)
    # the operations were applied nonetheless: only the replies were lost
    assert saved() == "-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.2:80 -s wlc\n"


def test_tiny_receive_buffer_is_enough_for_a_successful_batch(
    make_client: Callable[..., Any],
) -> None:
    """Successful batch operations are not acknowledged, so a big batch needs no big buffer."""
    with make_client(rcvbuf=1) as client:
        services = _services(500)
        with client.batch() as b:
            for svc in services:
                b.add_service(svc)
                b.add_destination(svc, Destination(address="10.200.0.1", port=80))
        assert len(client.services()) == 500
    assert len(saved().splitlines()) == 1000


def test_client_is_usable_after_outcome_unknown(make_client: Callable[..., Any]) -> None:
    with make_client(rcvbuf=1) as client:
        client._sock.sock.settimeout(3)  # turn a hang into a TimeoutError
        b = client.batch()
        for port in range(1, 2001):
            b.delete_service(ServiceKey.tcp("10.5.0.1", port))
        with pytest.raises(ipvs.OutcomeUnknown):
            b.send()
        assert client.services() == []
        assert client.info().version == "1.2.1"


def test_small_send_buffer_splits_the_batch_into_many_sends(
    make_client: Callable[..., Any],
) -> None:
    with make_client(sndbuf=4096) as client:
        svc = Service.tcp("10.0.0.1", 80)
        with client.batch() as b:
            b.add_service(svc)
            for i in range(2000):
                b.add_destination(
                    svc, Destination(address=f"10.2.{i // 250}.{i % 250 + 1}", port=80)
                )
        assert client._sock.sends > 20
        assert len(client.destinations(svc)) == 2000
        # a failure in a late chunk is still attributed to its operation
        b = client.batch()
        for i in range(1000):
            b.add_destination(svc, Destination(address=f"10.3.{i // 250}.{i % 250 + 1}", port=80))
        b.add_destination(svc, Destination(address="10.2.0.1", port=80))  # exists
        failures = b.send()
        assert [(f.index, f.errno) for f in failures] == [(1000, 17)]
