"""The sans-I/O protocol object, table-driven: requests to bytes, kernel bytes to events.

Every case starts a request on a fresh :class:`Conversation` (family 0x24,
first sequence number 100), checks the exact bytes it would send, feeds the
kernel's datagrams one by one, and checks the events each returns, when the
exchange is done, and its result or typed error.
"""

from __future__ import annotations

import errno as E
import struct
from collections.abc import Callable
from typing import Any

import pytest

import ipvs
from ipvs import DaemonState, Destination, Service, ServiceKey, netlink as nl
from ipvs.netlink import Ack, Conversation, Done, Reply, Write
from tests.netlink import frames as F

FAMILY = 0x24
WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
DEST = Destination(address="10.1.0.1", port=8080, forward="masq")
INFO_ATTRS = F.nla(1, struct.pack("=I", 0x010201)) + F.nla(2, struct.pack("=I", 4096))


def conv() -> Conversation:
    return Conversation(family_id=FAMILY, seq=100)


def svc_reply(seq: int, svc: Service = WEB) -> bytes:
    return F.reply(FAMILY, seq, 1, nl.encode_service_nest(svc), multi=True)


# (name, start the exchange, expected request bytes, datagrams, events after each
#  datagram, result or exception type)
CASES: list[tuple[str, Callable[[Conversation], Any], bytes, list[bytes], list[list[Any]], Any]] = [
    (
        "write acknowledged",
        lambda c: c.flush(),
        nl.encode_flush(FAMILY, 100, nl.REQUEST_ACK),
        [F.ack(100)],
        [[Ack(100, 0)]],
        None,
    ),
    (
        "write refused, with the kernel's text",
        lambda c: c.add_service(WEB),
        nl.encode_new_service(FAMILY, 100, nl.REQUEST_ACK, WEB),
        [F.ack(100, E.EINVAL, "bad scheduler", offset=40)],
        [[Ack(100, E.EINVAL, "bad scheduler", 40)]],
        ipvs.InvalidArgument,
    ),
    (
        "dump in two datagrams",
        lambda c: c.services(),
        nl.encode_get_services(FAMILY, 100),
        [svc_reply(100), svc_reply(100) + F.done(100)],
        [["reply"], ["reply", Done(100, 0)]],
        [WEB, WEB],
    ),
    (
        "empty dump",
        lambda c: c.destinations(WEB),
        nl.encode_get_dests(FAMILY, 100, nl.REQUEST_DUMP, WEB.key),
        [F.done(100)],
        [[Done(100, 0)]],
        [],
    ),
    (
        "dump ended by an error",
        lambda c: c.daemons(),
        nl.encode_get_daemons(FAMILY, 100),
        [F.done(100, E.EBUSY)],
        [[Done(100, E.EBUSY)]],
        ipvs.KernelError,
    ),
    (
        "dump refused at once",
        lambda c: c.services(),
        nl.encode_get_services(FAMILY, 100),
        [F.ack(100, E.EPERM)],
        [[Ack(100, E.EPERM)]],
        ipvs.IPVSPermissionError,
    ),
    (
        "get answered by one reply",
        lambda c: c.info(),
        nl.encode_get_info(FAMILY, 100),
        [F.reply(FAMILY, 100, 15, INFO_ATTRS)],
        [["reply"]],
        ipvs.Info.from_code(0x010201, 4096),
    ),
    (
        "get of a missing service",
        lambda c: c.service(WEB.key),
        nl.encode_get_service(FAMILY, 100, nl.NLM_F_REQUEST, WEB.key),
        [F.ack(100, E.ESRCH)],
        [[Ack(100, E.ESRCH)]],
        ipvs.ServiceNotFound,
    ),
    (
        "barrier ends a request the kernel never answers (EINTR)",
        lambda c: c.stop_daemon(DaemonState.MASTER),
        nl.encode_del_daemon(FAMILY, 100, nl.REQUEST_ACK, DaemonState.MASTER)
        + struct.pack("=IHHII", 16, nl.NLMSG_NOOP, 0x5, 101, 0),
        [F.ack(101, request_kind=nl.NLMSG_NOOP)],
        [[Ack(101, 0)]],
        None,
    ),
    (
        "barrier after an error: the error wins, the barrier ends it",
        lambda c: c.stop_daemon(DaemonState.BACKUP),
        nl.encode_del_daemon(FAMILY, 100, nl.REQUEST_ACK, DaemonState.BACKUP)
        + struct.pack("=IHHII", 16, nl.NLMSG_NOOP, 0x5, 101, 0),
        [F.ack(100, E.ESRCH), F.ack(101, request_kind=nl.NLMSG_NOOP)],
        [[Ack(100, E.ESRCH)], [Ack(101, 0)]],
        ipvs.DaemonNotFound,
    ),
    (
        "messages for other requests are skipped",
        lambda c: c.flush(),
        nl.encode_flush(FAMILY, 100, nl.REQUEST_ACK),
        [F.ack(7) + F.done(8), F.ack(100)],
        [[], [Ack(100, 0)]],
        None,
    ),
]


@pytest.mark.parametrize(
    ("start", "sent", "datagrams", "events", "outcome"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_exchange(
    start: Callable[[Conversation], Any],
    sent: bytes,
    datagrams: list[bytes],
    events: list[list[Any]],
    outcome: Any,
) -> None:
    c = conv()
    exchange = start(c)
    assert bytes(exchange.data) == sent
    assert not exchange.done and c.pending == 1
    for i, (datagram, expected) in enumerate(zip(datagrams, events, strict=True)):
        got = c.receive_data(datagram)
        assert [("reply" if isinstance(e, Reply) else e) for e in got] == expected
        assert exchange.done == (i == len(datagrams) - 1)
    assert c.pending == 0
    if isinstance(outcome, type) and issubclass(outcome, BaseException):
        with pytest.raises(outcome) as info:
            exchange.result()
        assert info.value.operation == exchange.operation
    else:
        assert exchange.result() == outcome


def test_reply_events_carry_the_decoded_value_and_the_attributes() -> None:
    c = conv()
    c.services()
    (event, done) = c.receive_data(svc_reply(100) + F.done(100))
    assert isinstance(event, Reply) and isinstance(done, Done)
    assert (event.seq, event.command, event.value) == (100, 1, WEB)
    assert bytes(event.attrs) == nl.encode_service_nest(WEB)


def test_kernel_text_reaches_the_typed_error() -> None:
    c = conv()
    exchange = c.add_destination(WEB, DEST)
    c.receive_data(F.ack(100, E.EINVAL, "Invalid address"))
    err = exchange.error()
    assert isinstance(err, ipvs.InvalidArgument)
    assert err.kernel_message == "Invalid address"
    assert str(err) == (
        "add_destination: invalid argument (Invalid argument): Invalid address "
        "(TCP 10.0.0.1:80 -> 10.1.0.1:8080)"
    )


def test_interleaved_exchanges_are_matched_by_sequence_number() -> None:
    c = conv()
    first = c.services()
    second = c.info()
    assert (first.seq, second.seq) == (100, 101)
    c.receive_data(F.reply(FAMILY, 101, 15, INFO_ATTRS) + svc_reply(100))
    assert second.done and not first.done
    c.receive_data(F.done(100))
    assert first.result() == [WEB] and second.result().version == "1.2.1"


def test_family_resolution() -> None:
    c = Conversation(seq=5)
    with pytest.raises(ipvs.IPVSError, match="resolve_family"):
        c.flush()
    exchange = c.resolve_family()
    assert bytes(exchange.data) == nl.encode_get_family("IPVS", 5)
    c.receive_data(F.reply(nl.GENL_ID_CTRL, 5, 1, F.nla(1, struct.pack("=H", 0x2A))))
    assert exchange.result() == 0x2A == c.family_id
    missing = Conversation(seq=5)
    exchange = missing.resolve_family()
    missing.receive_data(F.ack(5, E.ENOENT, request_kind=nl.GENL_ID_CTRL))
    with pytest.raises(ipvs.IPVSUnavailable, match="modprobe ip_vs"):
        exchange.result()
    assert missing.family_id is None


def _writes() -> list[Write]:
    return [
        Write("add_service", WEB),
        Write("add_destination", WEB.key, DEST),
        Write("update_destination", WEB, DEST),
        Write("delete_service", WEB.key),
    ]


def test_pipeline_bytes_failures_and_barrier() -> None:
    c = conv()
    pipeline = c.pipeline(_writes())
    (chunk,) = [bytes(ch) for ch in pipeline.chunks()]
    nest = nl.encode_service_key_nest(WEB.key)
    assert chunk == (
        nl.encode_new_service(FAMILY, 100, nl.NLM_F_REQUEST, WEB)
        + nl.encode_dest(FAMILY, nl.Command.NEW_DEST, 101, nl.NLM_F_REQUEST, nest, DEST)
        + nl.encode_dest(FAMILY, nl.Command.SET_DEST, 102, nl.NLM_F_REQUEST, nest, DEST)
        + nl.encode_del_service(FAMILY, 103, nl.NLM_F_REQUEST, WEB.key)
        + struct.pack("=IHHII", 16, nl.NLMSG_NOOP, 0x5, 104, 0)
    )
    assert pipeline.sent == 4
    assert c.receive_data(F.ack(101, E.EEXIST) + F.ack(103, E.ESRCH)) == [
        Ack(101, E.EEXIST),
        Ack(103, E.ESRCH),
    ]
    assert not pipeline.done
    assert c.receive_data(F.ack(104, request_kind=nl.NLMSG_NOOP)) == [Ack(104, 0)]
    assert pipeline.done and c.pending == 0
    errors = pipeline.errors()
    assert [(e.index, type(e), e.operation) for e in errors] == [
        (1, ipvs.DestinationExists, "add_destination"),
        (3, ipvs.ServiceNotFound, "delete_service"),
    ]
    assert errors[0].object == (WEB.key, DEST)


def test_pipeline_chunks_respect_the_limit_and_reuse_one_buffer() -> None:
    c = conv()
    writes = [Write("add_destination", WEB.key, DEST)] * 50
    pipeline = c.pipeline(writes)
    size = len(nl.encode_new_dest(FAMILY, 1, nl.NLM_F_REQUEST, WEB, DEST))
    seen = []
    buffers = set()
    for chunk in pipeline.chunks(limit=size * 8):
        assert len(chunk) <= size * 8
        buffers.add(id(chunk.obj))
        seen.append(bytes(chunk))
    data = b"".join(seen)
    messages = list(nl.iter_messages(data))
    assert [m.seq for m in messages] == list(range(100, 151))
    assert messages[-1].type == nl.NLMSG_NOOP and len(seen) == 7 and len(buffers) == 1
    assert pipeline.sent == 50


def test_abandon_fails_what_is_pending_with_outcome_unknown() -> None:
    c = conv()
    exchange = c.add_service(WEB)
    c.pipeline(_writes())
    c.abandon()
    assert exchange.done and c.pending == 0
    with pytest.raises(ipvs.OutcomeUnknown):
        exchange.result()
    assert c.receive_data(F.ack(100)) == []  # late replies are skipped


def test_forget_skips_late_replies() -> None:
    c = conv()
    exchange = c.services()
    c.forget(exchange)
    assert c.receive_data(svc_reply(100) + F.done(100)) == []
    assert not exchange.done
    with pytest.raises(ipvs.IPVSError, match="not finished"):
        exchange.result()


@pytest.mark.parametrize(
    "datagram",
    [
        b"\x10\x00\x00\x00",  # truncated header
        struct.pack("=IHHII", 15, 2, 0, 100, 0),  # length below 16
        struct.pack("=IHHII", 40, 2, 0, 100, 0),  # length past the end
        F.message(nl.NLMSG_ERROR, 0, 100, b"\x01\x00"),  # truncated error
        F.message(nl.NLMSG_ERROR, 0, 100, struct.pack("=i", -(2**31)) + bytes(16)),  # INT_MIN
        F.message(nl.NLMSG_ERROR, 0, 100, struct.pack("=i", 5) + bytes(16)),  # positive errno
        F.message(nl.NLMSG_ERROR, 0, 100, struct.pack("=i", -22)),  # no echoed header
        F.message(FAMILY, 0, 100, b"\x01"),  # truncated genl header
    ],
)
def test_malformed_datagrams_raise_decode_error(datagram: bytes) -> None:
    c = conv()
    c.flush()
    with pytest.raises(ipvs.DecodeError):
        c.receive_data(datagram)


def test_requests_are_validated_before_any_bytes() -> None:
    c = conv()
    with pytest.raises(ipvs.ValidationError):
        c.add_service(WEB.key)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        c.add_destination("10.0.0.1:80", DEST)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        c.stop_daemon("master")  # type: ignore[arg-type]
    assert c.pending == 0


def test_sequence_numbers_never_wrap_inside_a_pipeline() -> None:
    c = Conversation(family_id=FAMILY, seq=0xFFFFFFF0)
    pipeline = c.pipeline([Write("delete_service", ServiceKey.mark(1))] * 40)
    assert pipeline.first_seq == 1 and pipeline.barrier_seq == 41


def test_parts_count_the_datagrams_that_carried_replies() -> None:
    """IPVS ends each dump in a datagram of its own; only replies in several datagrams count."""
    c = conv()
    whole = c.services()
    c.receive_data(svc_reply(100) + svc_reply(100))
    c.receive_data(F.done(100))
    assert whole.done and whole.parts == 1
    split = c.services()
    c.receive_data(svc_reply(101))
    c.receive_data(svc_reply(101) + F.done(101))
    assert split.done and split.parts == 2
