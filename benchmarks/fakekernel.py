"""A stand-in for the kernel's IPVS on the host: the real client, no system call.

:class:`FakeSocket` replaces the client's netlink socket. Everything the
client sends goes through the real :class:`ipvs.netlink.Conversation`; the
fake answers with the bytes the kernel would send, built in advance: the
family lookup, acknowledgements, the barrier's acknowledgement that ends a
pipeline, ``GET_INFO``, and kernel-shaped dump replies (services and
destinations with their statistics, the x86_64 layout, packed into
datagrams of about 32 KiB as the kernel packs them) for a table loaded with
:meth:`FakeKernel.load`. Writes are not applied: the state is what was
loaded.

The fake's own work (finding and copying replies, setting their sequence
numbers) is timed in :attr:`FakeKernel.seconds`, so that benchmarks can
report the library's time alone. Pipelined writes are recognised by their
shape (many messages in one send, the barrier last) without being parsed.
"""

from __future__ import annotations

import contextlib
import struct
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from ipvs import Destination, Service, Stats, Table, netlink as C
from ipvs.netlink import CmdAttr, Command, DestAttr, InfoAttr, SvcAttr, attr

FAMILY_ID = 0x24
DATAGRAM = 32000
_HDR = struct.Struct("=IHHII")
_U16 = struct.Struct("=H").pack
_U32 = struct.Struct("=I").pack
_U64 = struct.Struct("=Q").pack
_perf = time.perf_counter
STATS = Stats(
    connections=11,
    packets_in=2200,
    packets_out=3300,
    bytes_in=444400,
    bytes_out=5555500,
    cps=1,
    pps_in=2,
    pps_out=3,
    bps_in=40,
    bps_out=50,
)


def _stats_nests(stats: Stats) -> bytes:
    values = (
        stats.connections,
        stats.packets_in,
        stats.packets_out,
        stats.bytes_in,
        stats.bytes_out,
        stats.cps,
        stats.pps_in,
        stats.pps_out,
        stats.bps_in,
        stats.bps_out,
    )
    small = b"".join(
        attr(t, (_U64 if t in (4, 5) else _U32)(v))
        for t, v in zip(range(1, 11), values, strict=True)
    )
    wide = b"".join(attr(t, _U64(v)) for t, v in zip(range(1, 11), values, strict=True))
    return attr(10, small) + attr(12, wide)


def service_message(svc: Service, stats: Stats = STATS) -> bytes:
    """The kernel's dump message for a service (flags with HASHED, both statistics nests)."""
    nest = C.encode_service_nest(svc)
    body = bytearray(nest[4:])
    # the kernel reports HASHED on every live service
    offset = body.find(attr(SvcAttr.FLAGS, struct.pack("=II", svc.flags, 0xFFFFFFFF)))
    struct.pack_into("=I", body, offset + 4, int(svc.flags) | 2)
    payload = struct.pack("=BBH", Command.NEW_SERVICE, 1, 0)
    payload += attr(CmdAttr.SERVICE, bytes(body) + _stats_nests(stats))
    return _HDR.pack(16 + len(payload), FAMILY_ID, C.NLM_F_MULTI, 0, 0) + payload


def destination_message(d: Destination, stats: Stats = STATS) -> bytes:
    """The kernel's dump message for a destination, in its order and x86_64 layout."""
    nest = b"".join(
        [
            attr(DestAttr.ADDR, d.address.packed.ljust(16, b"\0")),
            attr(DestAttr.PORT, struct.pack("!H", d.port)),
            attr(DestAttr.FWD_METHOD, _U32(d.forward)),
            attr(DestAttr.WEIGHT, _U32(d.weight)),
            attr(DestAttr.TUN_TYPE, bytes([d.tunnel_type])),
            attr(DestAttr.TUN_PORT, struct.pack("!H", d.tunnel_port)),
            attr(DestAttr.TUN_FLAGS, _U16(d.tunnel_flags)),
            attr(DestAttr.U_THRESH, _U32(d.upper_threshold)),
            attr(DestAttr.L_THRESH, _U32(d.lower_threshold)),
            attr(DestAttr.ACTIVE_CONNS, _U32(3)),
            attr(DestAttr.INACT_CONNS, _U32(4)),
            attr(DestAttr.PERSIST_CONNS, _U32(0)),
            attr(DestAttr.ADDR_FAMILY, _U16(d.family)),
            _stats_nests(stats),
        ]
    )
    payload = struct.pack("=BBH", Command.NEW_DEST, 1, 0) + attr(CmdAttr.DEST, nest)
    return _HDR.pack(16 + len(payload), FAMILY_ID, C.NLM_F_MULTI, 0, 0) + payload


class _Dump:
    """A dump's reply datagrams with the offsets of their messages' sequence numbers."""

    __slots__ = ("datagrams",)

    def __init__(self, messages: list[bytes]) -> None:
        self.datagrams: list[tuple[bytes, list[int]]] = []
        part: list[bytes] = []
        offsets: list[int] = []
        size = 0
        for m in messages:
            if size + len(m) > DATAGRAM and part:
                self.datagrams.append((b"".join(part), offsets))
                part, offsets, size = [], [], 0
            offsets.append(size + 8)
            part.append(m)
            size += len(m)
        if part:
            self.datagrams.append((b"".join(part), offsets))
        done = _HDR.pack(20, C.NLMSG_DONE, C.NLM_F_MULTI, 0, 0) + b"\0\0\0\0"
        self.datagrams.append((done, [8]))  # a separate datagram after a non-empty dump

    def replies(self, seq: int) -> Iterator[bytearray]:
        for data, offsets in self.datagrams:
            out = bytearray(data)
            for off in offsets:
                struct.pack_into("=I", out, off, seq)
            yield out


_EMPTY = _Dump([])


class FakeKernel:
    """The state a :class:`FakeSocket` answers from, and the time spent answering."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.services = _EMPTY
        self.destinations: dict[bytes, _Dump] = {}
        self.writes = 0
        self.loaded: Table | None = None

    def load_cached(self, table: Table) -> None:
        """Load ``table`` unless it is loaded already (the time counts as the kernel's)."""
        if self.loaded is not table:
            start = _perf()
            self.load(table)
            self.seconds += _perf() - start

    def load(self, table: Table) -> None:
        """Answer dumps with this table (services in insertion order, destinations newest first)."""
        self.loaded = table
        entries = list(table.values())
        self.services = _Dump([service_message(e.service) for e in entries])
        self.destinations = {
            C.encode_service_key_nest(e.key): _Dump(
                [destination_message(d) for d in e.destinations]
            )
            for e in entries
        }

    def clear(self) -> None:
        """Forget the loaded table."""
        self.loaded = None
        self.services = _EMPTY
        self.destinations = {}


#: The kernel the next :class:`FakeSocket` answers from.
KERNEL = FakeKernel()


def _ack(seq: int) -> bytes:
    echo = _HDR.pack(20, FAMILY_ID, 0x5, seq, 0)
    return _HDR.pack(36, C.NLMSG_ERROR, C.NLM_F_CAPPED, seq, 0) + b"\0\0\0\0" + echo


class FakeSocket:
    """The client's socket, answered by :data:`KERNEL`."""

    def __init__(self, netns: Any = None, **_: Any) -> None:
        self.netns = netns
        self.kernel = KERNEL
        self.queue: deque[bytes | bytearray] = deque()
        self.closed = False
        self.max_send = 1 << 20
        self.sends = 0
        self.recvs = 0

    def close(self) -> None:
        """Close."""
        self.closed = True

    def fileno(self) -> int:
        """A file descriptor that is never used."""
        return -1 if self.closed else 99

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Take one datagram of requests and queue the kernel's answers."""
        start = _perf()
        self.sends += 1
        mv = memoryview(data)
        length, kind, flags, seq, _pid = _HDR.unpack_from(mv, 0)
        queue = self.queue
        if length < len(mv):  # a pipeline chunk: writes without ACK, maybe the barrier last
            self.kernel.writes += 1
            length, kind, flags, seq, _pid = _HDR.unpack_from(mv, len(mv) - 16)
            if kind == C.NLMSG_NOOP and length == 16:
                queue.append(_ack(seq))
        elif kind == C.GENL_ID_CTRL:
            payload = struct.pack("=BBH", 1, 1, 0) + attr(C.CTRL_ATTR_FAMILY_ID, _U16(FAMILY_ID))
            queue.append(_HDR.pack(16 + len(payload), C.GENL_ID_CTRL, 0, seq, 0) + payload)
        elif kind == C.NLMSG_NOOP:
            queue.append(_ack(seq))
        else:
            command = mv[16]
            if flags & C.NLM_F_DUMP == C.NLM_F_DUMP:
                if command == Command.GET_SERVICE:
                    queue.extend(self.kernel.services.replies(seq))
                elif command == Command.GET_DEST:
                    dump = self.kernel.destinations.get(bytes(mv[20:length]), _EMPTY)
                    queue.extend(dump.replies(seq))
                else:
                    queue.extend(_EMPTY.replies(seq))
            elif command == Command.GET_INFO:
                payload = struct.pack("=BBH", Command.SET_INFO, 1, 0)
                payload += attr(InfoAttr.VERSION, _U32(0x010201))
                payload += attr(InfoAttr.CONN_TAB_SIZE, _U32(4096))
                queue.append(_HDR.pack(16 + len(payload), FAMILY_ID, 0, seq, 0) + payload)
            elif flags & C.NLM_F_ACK:
                queue.append(_ack(seq))
        self.kernel.seconds += _perf() - start

    def recv(self, *, block: bool = True) -> memoryview | None:
        """Return the next queued datagram."""
        self.recvs += 1
        if not self.queue:
            if block:
                raise AssertionError("the client waits for a reply the fake kernel never sends")
            return None
        return memoryview(self.queue.popleft())


@contextlib.contextmanager
def installed() -> Iterator[FakeKernel]:
    """Make every :class:`ipvs.Client` created inside use a :class:`FakeSocket`."""
    from ipvs._client import _sync

    real = _sync.NetlinkSocket
    _sync.NetlinkSocket = FakeSocket  # type: ignore[misc, assignment]
    try:
        yield KERNEL
    finally:
        _sync.NetlinkSocket = real  # type: ignore[misc]
