"""Error paths of the client, with a fake transport (runs anywhere, no kernel).

The fake stands in for :class:`ipvs._transport.NetlinkSocket`: it answers the
family lookup, decodes every request with the codec (so the tests see what
would have been sent) and fails commands with scripted errnos.
"""

from __future__ import annotations

import errno as E
import os
import pickle
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import ipvs
from ipvs import (
    BatchError,
    Client,
    DaemonState,
    Destination,
    Service,
    ServiceKey,
    SyncDaemon,
    Timeouts,
    _client,
)
from ipvs import netlink as C
from ipvs.errors import error_for
from ipvs.errors import KernelError

FAMILY_ID = 0x24
GENL_ID_CTRL = 0x10


def _nla(atype: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), atype) + payload + b"\0" * (-len(payload) % 4)


class FakeSocket:
    """A scripted transport with NetlinkSocket's interface."""

    last: FakeSocket | None = None

    def __init__(self, netns: Any = None, *, rcvbuf: int = 0, sndbuf: int = 0) -> None:
        self.netns = netns
        self.seq = 1000
        self.lookups = 0
        self.lookup_error: int | None = None
        self.lookup_answers = True
        self.errors: dict[int, BaseException | int] = {}
        self.sent: list[C.Request] = []
        self.pipelined: list[C.Request] = []
        self.pipeline_seqs: tuple[int, int] | None = None
        self.pipeline_result: dict[int, int] | BaseException = {}
        self.closed = False
        FakeSocket.last = self

    def close(self) -> None:
        self.closed = True

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def seqs(self, count: int) -> range:
        first = self.seq + 1
        self.seq += count
        return range(first, first + count)

    def request(
        self,
        message: bytes,
        seq: int,
        on_reply: Callable[[int, memoryview], None] | None = None,
        barrier_seq: int | None = None,
    ) -> None:
        kind = struct.unpack_from("=H", message, 4)[0]
        assert struct.unpack_from("=I", message, 8)[0] == seq
        if kind == GENL_ID_CTRL:
            self.lookups += 1
            if self.lookup_error is not None:
                raise KernelError(self.lookup_error)
            if self.lookup_answers and on_reply is not None:
                payload = struct.pack("=BBH", 1, 2, 0) + _nla(1, struct.pack("=H", FAMILY_ID))
                on_reply(FAMILY_ID, memoryview(payload))
            return
        assert kind == FAMILY_ID
        request = C.decode_request(message)
        self.sent.append(request)
        failure = self.errors.get(request.command)
        if isinstance(failure, BaseException):
            raise failure
        if failure:
            raise KernelError(failure)

    def pipeline(
        self,
        messages: Iterable[bytes],
        total: int,
        first_seq: int,
        barrier: bytes,
        barrier_seq: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[int, int]:
        self.pipelined = [C.decode_request(m) for m in messages]
        assert len(self.pipelined) == total
        self.pipeline_seqs = (first_seq, barrier_seq)
        assert [r.seq for r in self.pipelined] == list(range(first_seq, first_seq + total))
        assert struct.unpack_from("=IHHI", barrier) == (16, 1, 0x5, barrier_seq)  # NOOP + ACK
        if isinstance(self.pipeline_result, BaseException):
            raise self.pipeline_result
        return dict(self.pipeline_result)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSocket]:
    monkeypatch.setattr(_client, "NetlinkSocket", FakeSocket)
    client = Client()
    sock = FakeSocket.last
    assert sock is not None
    sock.client = client  # type: ignore[attr-defined]
    yield sock


def _client_of(sock: FakeSocket) -> Client:
    client: Client = sock.client  # type: ignore[attr-defined]
    return client


WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
WEB6 = Service.udp("2001:db8::1", 53)
MARK = ServiceKey.mark(5, "inet6")
DEST = Destination(address="10.1.0.1", port=8080)
DEST6 = Destination(address="2001:db8::2", port=53, forward="tunnel")
MASTER = SyncDaemon(state="master", interface="eth0", sync_id=3)


# ---------------------------------------------------------------------------
# error_for: the errno x operation table
# ---------------------------------------------------------------------------

SVC_TEXT = "TCP 10.0.0.1:80"
DEST_TEXT = "TCP 10.0.0.1:80 -> 10.1.0.1:8080"

MAPPING: list[tuple[int, str, Any, type[KernelError], str, tuple[type, ...]]] = [
    # errno, operation, object, class, message (before the object), extra bases
    (E.EPERM, "services", None, ipvs.IPVSPermissionError,
     "permission denied: CAP_NET_ADMIN is needed", (PermissionError,)),
    (E.EPERM, "add_destination", (WEB.key, DEST), ipvs.IPVSPermissionError,
     "permission denied: CAP_NET_ADMIN is needed", (PermissionError,)),
    (E.EEXIST, "add_service", WEB, ipvs.ServiceExists, "service already exists", ()),
    (E.EEXIST, "add_destination", (WEB.key, DEST), ipvs.DestinationExists,
     "destination already exists", ()),
    (E.EEXIST, "start_daemon", MASTER, ipvs.DaemonExists, "daemon is already running", ()),
    (E.EEXIST, "update_service", WEB, KernelError, os.strerror(E.EEXIST), ()),
    (E.ESRCH, "update_service", WEB, ipvs.ServiceNotFound, "no such service", (LookupError,)),
    (E.ESRCH, "delete_service", WEB.key, ipvs.ServiceNotFound, "no such service", (LookupError,)),
    (E.ESRCH, "service", WEB.key, ipvs.ServiceNotFound, "no such service", (LookupError,)),
    (E.ESRCH, "zero", WEB.key, ipvs.ServiceNotFound, "no such service", (LookupError,)),
    (E.ESRCH, "add_destination", (WEB.key, DEST), ipvs.ServiceNotFound, "no such service",
     (LookupError,)),
    (E.ESRCH, "delete_destination", (WEB.key, DEST), ipvs.ServiceNotFound, "no such service",
     (LookupError,)),
    (E.ESRCH, "stop_daemon", DaemonState.BACKUP, ipvs.DaemonNotFound,
     "no such daemon is running", (LookupError,)),
    (E.ENOENT, "add_service", WEB, ipvs.SchedulerNotFound,
     "scheduler or persistence engine not found", (LookupError,)),
    (E.ENOENT, "update_service", WEB, ipvs.SchedulerNotFound,
     "scheduler or persistence engine not found", (LookupError,)),
    (E.ENOENT, "update_destination", (WEB.key, DEST), ipvs.DestinationNotFound,
     "no such destination", (LookupError,)),
    (E.ENOENT, "delete_destination", (WEB.key, DEST), ipvs.DestinationNotFound,
     "no such destination", (LookupError,)),
    (E.ENOENT, "add_destination", (WEB.key, DEST), KernelError, os.strerror(E.ENOENT), ()),
    (E.ENODEV, "start_daemon", MASTER, ipvs.InvalidArgument, "no such network interface",
     (ValueError,)),
    (E.ENODEV, "add_service", WEB, KernelError, os.strerror(E.ENODEV), ()),
    (E.EINVAL, "add_destination", (WEB.key, DEST), ipvs.InvalidArgument,
     f"invalid argument ({os.strerror(E.EINVAL)})", (ValueError,)),
    (E.ERANGE, "update_destination", (WEB.key, DEST), ipvs.InvalidArgument,
     f"invalid argument ({os.strerror(E.ERANGE)})", (ValueError,)),
    (E.EAFNOSUPPORT, "add_service", WEB, ipvs.InvalidArgument,
     f"invalid argument ({os.strerror(E.EAFNOSUPPORT)})", (ValueError,)),
    (E.EOPNOTSUPP, "set_timeouts", Timeouts(tcp=1), ipvs.InvalidArgument,
     f"invalid argument ({os.strerror(E.EOPNOTSUPP)})", (ValueError,)),
    (E.ENOBUFS, "add_service", WEB, ipvs.OutcomeUnknown,
     "replies were lost (ENOBUFS): the outcome is unknown", ()),
    (E.ENOMEM, "flush", None, KernelError, os.strerror(E.ENOMEM), ()),
    (E.EBUSY, "services", None, KernelError, os.strerror(E.EBUSY), ()),
]  # fmt: skip


def _describe(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, tuple):
        return " (" + " -> ".join(o.describe() for o in obj) + ")"
    if isinstance(obj, DaemonState):
        return f" ({obj.name.lower()} daemon)"
    return f" ({obj.describe()})"


@pytest.mark.parametrize(
    ("code", "operation", "obj", "cls", "message", "bases"),
    MAPPING,
    ids=[f"{E.errorcode[m[0]]}-{m[1]}" for m in MAPPING],
)
def test_error_for_table(
    code: int,
    operation: str,
    obj: Any,
    cls: type[KernelError],
    message: str,
    bases: tuple[type, ...],
) -> None:
    exc = error_for(code, operation, obj)
    assert type(exc) is cls
    assert isinstance(exc, ipvs.IPVSError) and isinstance(exc, OSError)
    for base in bases:
        assert isinstance(exc, base)
    assert exc.errno == code
    assert exc.operation == operation
    assert exc.object is obj
    assert exc.index is None
    assert str(exc) == f"{operation}: {message}{_describe(obj)}"


def test_object_descriptions_in_messages() -> None:
    assert str(error_for(E.ESRCH, "zero", MARK)) == "zero: no such service (FWM 5 IPv6)"
    assert str(error_for(E.EEXIST, "add_destination", (WEB6.key, DEST6))) == (
        "add_destination: destination already exists (UDP [2001:db8::1]:53 -> [2001:db8::2]:53)"
    )
    assert str(error_for(E.EEXIST, "start_daemon", MASTER)) == (
        "start_daemon: daemon is already running (master sync daemon (mcast=eth0, syncid=3))"
    )


def test_errors_survive_pickling() -> None:
    exc = error_for(E.EEXIST, "add_service", WEB)
    exc.index = 4
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is ipvs.ServiceExists
    assert (copy.errno, copy.operation) == (E.EEXIST, "add_service")
    assert str(copy) == str(exc)
    assert copy.index == 4


# ---------------------------------------------------------------------------
# Every client method names its operation and object
# ---------------------------------------------------------------------------

METHODS: list[tuple[str, Callable[[Client], object], C.Command, str]] = [
    ("add_service", lambda c: c.add_service(WEB), C.Command.NEW_SERVICE, f" ({SVC_TEXT})"),
    ("update_service", lambda c: c.update_service(WEB6), C.Command.SET_SERVICE,
     " (UDP [2001:db8::1]:53)"),
    ("delete_service", lambda c: c.delete_service(MARK), C.Command.DEL_SERVICE,
     " (FWM 5 IPv6)"),
    ("service", lambda c: c.service(WEB), C.Command.GET_SERVICE, f" ({SVC_TEXT})"),
    ("services", lambda c: c.services(), C.Command.GET_SERVICE, ""),
    ("destinations", lambda c: c.destinations(WEB.key), C.Command.GET_DEST, f" ({SVC_TEXT})"),
    ("add_destination", lambda c: c.add_destination(WEB, DEST), C.Command.NEW_DEST,
     f" ({DEST_TEXT})"),
    ("update_destination", lambda c: c.update_destination(WEB.key, DEST), C.Command.SET_DEST,
     f" ({DEST_TEXT})"),
    ("delete_destination", lambda c: c.delete_destination(WEB, DEST), C.Command.DEL_DEST,
     f" ({DEST_TEXT})"),
    ("info", lambda c: c.info(), C.Command.GET_INFO, ""),
    ("timeouts", lambda c: c.timeouts(), C.Command.GET_CONFIG, ""),
    ("set_timeouts", lambda c: c.set_timeouts(Timeouts(udp=9)), C.Command.SET_CONFIG,
     " (Timeout (tcp tcpfin udp): 0 0 9)"),
    ("daemons", lambda c: c.daemons(), C.Command.GET_DAEMON, ""),
    ("start_daemon", lambda c: c.start_daemon(MASTER), C.Command.NEW_DAEMON,
     " (master sync daemon (mcast=eth0, syncid=3))"),
    ("stop_daemon", lambda c: c.stop_daemon("master"), C.Command.DEL_DAEMON,
     " (master daemon)"),
    ("zero", lambda c: c.zero(WEB), C.Command.ZERO, f" ({SVC_TEXT})"),
    ("zero", lambda c: c.zero(), C.Command.ZERO, ""),
    ("flush", lambda c: c.flush(), C.Command.FLUSH, ""),
    ("services", lambda c: c.snapshot(), C.Command.GET_SERVICE, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "call", "command", "described"),
    METHODS,
    ids=[f"{m[0]}-{i}" for i, m in enumerate(METHODS)],
)
def test_methods_name_operation_and_object(
    fake: FakeSocket,
    operation: str,
    call: Callable[[Client], object],
    command: C.Command,
    described: str,
) -> None:
    fake.errors[command] = E.EINVAL
    with pytest.raises(ipvs.InvalidArgument) as info:
        call(_client_of(fake))
    assert info.value.operation == operation
    assert str(info.value) == f"{operation}: invalid argument (Invalid argument){described}"
    assert fake.sent[-1].command == command


def test_permission_error_from_any_method(fake: FakeSocket) -> None:
    fake.errors[C.Command.NEW_DEST] = E.EPERM
    with pytest.raises(PermissionError) as info:
        _client_of(fake).add_destination(WEB, DEST)
    assert isinstance(info.value, ipvs.IPVSPermissionError)
    assert "CAP_NET_ADMIN" in str(info.value)
    assert str(info.value).startswith("add_destination: ")


def test_outcome_unknown_passes_through_unchanged(fake: FakeSocket) -> None:
    lost = ipvs.OutcomeUnknown(E.ENOBUFS, message="the kernel dropped replies")
    fake.errors[C.Command.NEW_SERVICE] = lost
    with pytest.raises(ipvs.OutcomeUnknown) as info:
        _client_of(fake).add_service(WEB)
    assert info.value is lost


def test_validation_errors_send_nothing(fake: FakeSocket) -> None:
    client = _client_of(fake)
    with pytest.raises(ipvs.ValidationError):
        client.add_service(WEB.key)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.add_destination("TCP 10.0.0.1:80", DEST)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.set_timeouts((1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.start_daemon("master")  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.stop_daemon("leader")
    assert fake.sent == []


# ---------------------------------------------------------------------------
# Family resolution: IPVSUnavailable
# ---------------------------------------------------------------------------


def test_no_ipvs_family_is_ipvs_unavailable(fake: FakeSocket) -> None:
    fake.lookup_error = E.ENOENT
    with pytest.raises(ipvs.IPVSUnavailable) as info:
        _client_of(fake).services()
    exc = info.value
    assert isinstance(exc, ipvs.KernelError)
    assert exc.errno == E.ENOENT
    assert "modprobe ip_vs" in str(exc) and "'IPVS'" in str(exc)
    assert fake.sent == []  # nothing was sent to a family that does not exist


def test_unanswered_family_lookup_is_ipvs_unavailable(fake: FakeSocket) -> None:
    fake.lookup_answers = False
    with pytest.raises(ipvs.IPVSUnavailable):
        _client_of(fake).info()


def test_family_lookup_other_errors_are_mapped(fake: FakeSocket) -> None:
    fake.lookup_error = E.EPERM
    with pytest.raises(ipvs.IPVSPermissionError) as info:
        _ = _client_of(fake).family_id
    assert info.value.operation == "resolve_family"


def test_family_is_resolved_once(fake: FakeSocket) -> None:
    client = _client_of(fake)
    client.flush()
    client.zero()
    assert client.family_id == FAMILY_ID
    assert fake.lookups == 1
    assert [r.family_id for r in fake.sent] == [FAMILY_ID, FAMILY_ID]


def test_close_and_context_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_client, "NetlinkSocket", FakeSocket)
    with Client(netns="blue") as client:
        sock = FakeSocket.last
        assert sock is not None and sock.netns == "blue"
        assert repr(client) == "<ipvs.Client netns='blue'>"
    assert sock.closed


# ---------------------------------------------------------------------------
# Batches: BatchError content
# ---------------------------------------------------------------------------


def _queue_seven(b: ipvs.Batch) -> None:
    b.add_service(WEB)  # 0
    b.add_destination(WEB, DEST)  # 1
    b.update_service(WEB6)  # 2
    b.delete_destination(WEB.key, DEST)  # 3
    b.update_destination(WEB, DEST)  # 4
    b.delete_service(MARK)  # 5
    b.add_service(WEB6)  # 6


def test_batch_error_lists_exactly_the_failed_operations(fake: FakeSocket) -> None:
    fake.pipeline_result = {1: E.EEXIST, 3: E.ENOENT, 4: E.ESRCH, 6: E.ENOENT}
    with pytest.raises(BatchError) as info, _client_of(fake).batch() as b:
        _queue_seven(b)
    exc = info.value
    assert isinstance(exc, ipvs.IPVSError)
    assert exc.total == 7
    assert [(f.index, type(f), f.errno, f.operation) for f in exc.failures] == [
        (1, ipvs.DestinationExists, E.EEXIST, "add_destination"),
        (3, ipvs.DestinationNotFound, E.ENOENT, "delete_destination"),
        (4, ipvs.ServiceNotFound, E.ESRCH, "update_destination"),
        (6, ipvs.SchedulerNotFound, E.ENOENT, "add_service"),
    ]
    assert exc.failures[0].object == (WEB.key, DEST)
    assert exc.failures[3].object is WEB6
    assert str(exc) == (
        f"4 of 7 operations failed: add_destination: destination already exists ({DEST_TEXT}); "
        f"delete_destination: no such destination ({DEST_TEXT}); "
        f"update_destination: no such service ({DEST_TEXT}); and 1 more"
    )
    assert b.failures == exc.failures
    # what was sent: the seven operations, in order, consecutive sequence numbers
    sent = fake.pipelined
    assert [r.command for r in sent] == [
        C.Command.NEW_SERVICE, C.Command.NEW_DEST, C.Command.SET_SERVICE, C.Command.DEL_DEST,
        C.Command.SET_DEST, C.Command.DEL_SERVICE, C.Command.NEW_SERVICE,
    ]  # fmt: skip
    assert sent[0].service == WEB and sent[2].service == WEB6
    assert sent[1].service == WEB.key and sent[1].destination == DEST
    assert sent[5].service == MARK
    assert all(r.flags & 0x4 == 0 for r in sent)  # no per-message ACK: errors only
    assert fake.pipeline_seqs is not None
    assert fake.pipeline_seqs[1] == fake.pipeline_seqs[0] + 7  # the barrier comes last


def test_batch_error_with_three_failures_has_no_more_suffix(fake: FakeSocket) -> None:
    fake.pipeline_result = {0: E.EEXIST}
    with pytest.raises(BatchError) as info, _client_of(fake).batch() as b:
        _queue_seven(b)
    assert str(info.value) == (
        f"1 of 7 operations failed: add_service: service already exists ({SVC_TEXT})"
    )


def test_batch_success_and_empty_and_aborted(fake: FakeSocket) -> None:
    client = _client_of(fake)
    with client.batch() as b:
        _queue_seven(b)
    assert len(fake.pipelined) == 7 and b.failures == []
    fake.pipelined = []
    with client.batch():
        pass
    assert fake.pipelined == [] and fake.pipeline_seqs is not None
    fake.pipeline_seqs = None
    with pytest.raises(KeyError), client.batch() as b:
        _queue_seven(b)
        raise KeyError("abort")
    assert fake.pipeline_seqs is None  # nothing sent


def test_batch_outcome_unknown_is_not_a_batch_error(fake: FakeSocket) -> None:
    fake.pipeline_result = ipvs.OutcomeUnknown(E.ENOBUFS, message="lost")
    with pytest.raises(ipvs.OutcomeUnknown), _client_of(fake).batch() as b:
        _queue_seven(b)


def test_batch_validation_is_immediate(fake: FakeSocket) -> None:
    b = _client_of(fake).batch()
    with pytest.raises(ipvs.ValidationError):
        b.add_destination(WEB, "10.1.0.1:80")  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        b.update_service(WEB.key)  # type: ignore[arg-type]
    assert len(b) == 0
