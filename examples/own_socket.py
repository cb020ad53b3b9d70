"""Drive IPVS from your own socket and event loop with ``ipvs.netlink.Conversation``.

The :class:`ipvs.netlink.Conversation` is the whole IPVS protocol with no I/O:
it builds the bytes of each request and turns the kernel's datagrams into
results and typed errors. This script opens the netlink socket itself and
drives a conversation twice:

1. with a plain blocking socket: resolve the IPVS family, read the version;
2. from asyncio (``loop.sock_sendall`` / ``loop.sock_recv``): add a service
   and two destinations in one pipelined send, dump the services and the
   destinations, print them, check them against what was written, show a
   typed error with the kernel's own message, and clean up.

It exits with status 1 if what it reads back is not what it wrote. It needs
CAP_NET_ADMIN; run it in the sandbox kernel::

    python -m ipvs.testing.sandbox -- .venv/bin/python examples/own_socket.py

It uses the documentation address 192.0.2.80 (TEST-NET-1), and deletes the
service again before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from typing import TypeVar

import ipvs
from ipvs import netlink

T = TypeVar("T")

NETLINK_GENERIC = 16  # the generic netlink protocol (linux/netlink.h)
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # error replies without a copy of the request
NETLINK_EXT_ACK = 11  # error replies with the kernel's explanation
RECV_SIZE = 1 << 16  # larger than any datagram the kernel sends (32 KiB at most)


def open_socket(*, blocking: bool) -> socket.socket:
    """Open a generic netlink socket, as ``ipvs.Client`` does."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_GENERIC)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    sock.bind((0, 0))  # the kernel picks the port id
    sock.setblocking(blocking)
    return sock


# -- 1. a plain blocking socket -----------------------------------------------------


def blocking_version() -> str:
    """Resolve the IPVS family and ask for the version, with blocking calls."""
    conv = netlink.Conversation()
    with open_socket(blocking=True) as sock:

        def run(exchange: netlink.Exchange[T]) -> T:
            sock.send(exchange.data)
            while not exchange.done:
                conv.receive_data(sock.recv(RECV_SIZE))
            return exchange.result()  # the answer, or the kernel's error raised, typed

        family_id = run(conv.resolve_family())  # also sets conv.family_id
        info = run(conv.info())
    return f"IPVS {info.version}, family id {family_id}, {info.connection_table_size} buckets"


# -- 2. asyncio -----------------------------------------------------------------------


class AsyncDriver:
    """Move a conversation's bytes over a non-blocking socket with asyncio."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.conv = netlink.Conversation()

    async def run(self, exchange: netlink.Exchange[T]) -> T:
        """Send one request, feed replies until it is answered, return its result."""
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(self.sock, exchange.data)
        while not exchange.done:
            self.conv.receive_data(await loop.sock_recv(self.sock, RECV_SIZE))
        return exchange.result()

    async def pipeline(self, writes: list[netlink.Write]) -> list[ipvs.KernelError]:
        """Send many writes without waiting for each; return the failed ones."""
        loop = asyncio.get_running_loop()
        pipeline = self.conv.pipeline(writes)
        for chunk in pipeline.chunks():  # each chunk is reused: send it before the next
            await loop.sock_sendall(self.sock, chunk)
        while not pipeline.done:  # the barrier's acknowledgement ends it
            self.conv.receive_data(await loop.sock_recv(self.sock, RECV_SIZE))
        return pipeline.errors()  # typed errors, each with .index and .kernel_message


def check(condition: bool, message: str) -> None:
    """Stop with status 1 unless ``condition`` holds."""
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"  ok: {message}")


async def main() -> None:
    """Program one service with two destinations, read them back and compare."""
    service = ipvs.Service.tcp("192.0.2.80", 80, scheduler="wrr")
    destinations = [
        ipvs.Destination(address="10.1.1.2", port=8080, forward="masq", weight=3),
        ipvs.Destination(address="10.1.2.2", port=8080, forward="masq", weight=1),
    ]
    with open_socket(blocking=False) as sock:
        io = AsyncDriver(sock)
        family_id = await io.run(io.conv.resolve_family())
        print(f"IPVS family id: {family_id}")
        with contextlib.suppress(ipvs.ServiceNotFound):  # left over from an interrupted run
            await io.run(io.conv.delete_service(service))

        writes = [netlink.Write("add_service", service)]
        writes += [netlink.Write("add_destination", service.key, d) for d in destinations]
        failures = await io.pipeline(writes)
        check(failures == [], f"{len(writes)} writes in one pipelined send, none failed")

        services = await io.run(io.conv.services())
        mine = [s for s in services if s.key == service.key]
        dests = await io.run(io.conv.destinations(service))
        print(f"services: {len(services)}")
        for svc in services:
            conns = svc.stats.connections if svc.stats is not None else 0
            print(f"  {svc.describe()} {svc.scheduler} ({conns} connections so far)")
        for d in dests:
            print(f"    -> {d.describe()} {d.forward.name.lower()} weight={d.weight}")
        check(mine == [service], "the service reads back as written")
        check(set(dests) == set(destinations), "both destinations read back as written")

        try:
            await io.run(io.conv.add_service(service))
        except ipvs.ServiceExists as err:
            check(err.errno == 17, f"a second add is refused: {err}")
        else:
            check(False, "a second add of the same service is refused")

        await io.run(io.conv.delete_service(service))
        left = await io.run(io.conv.services())
        check(service.key not in {s.key for s in left}, "the service is deleted again")


if __name__ == "__main__":
    print(blocking_version())
    asyncio.run(main())
