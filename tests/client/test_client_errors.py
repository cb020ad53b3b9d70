"""Error paths of the clients, fed canned kernel datagrams (runs anywhere, no kernel).

A fake socket stands in for the client's netlink socket only: everything the
client sends goes through the real :class:`ipvs.netlink.Conversation`, and the
fake answers with the bytes the kernel would send (family lookup, ACKs with
errors and extended-ack text, dump ends, pipeline failures), so these tests
exercise the real protocol object, not a stand-in for it.
"""

from __future__ import annotations

import asyncio
import errno as E
import os
import pickle
import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ipvs
from ipvs import (
    AsyncClient,
    BatchError,
    Client,
    DaemonState,
    Destination,
    Service,
    ServiceKey,
    SyncDaemon,
    Timeouts,
    netlink as C,
)
from ipvs._client import _async, _sync
from ipvs.errors import KernelError, error_for
from tests.netlink import frames as F

FAMILY_ID = 0x24


class FakeKernel:
    """Answers requests the way the kernel's IPVS would, with scripted errors."""

    def __init__(self) -> None:
        self.lookups = 0
        self.lookup_error: int | None = None
        self.lookup_answers = True
        self.errors: dict[int, int] = {}  # command -> errno
        self.extack: dict[int, str] = {}  # command -> extended-ack text
        self.pipeline_errors: dict[int, int] = {}  # index in the pipeline -> errno
        self.services: list[Service] = []
        self.sent: list[C.Request] = []
        self.pipelined: list[C.Request] = []
        self.barriers: list[int] = []

    def answer(self, data: bytes) -> list[bytes]:
        """Return the datagrams the kernel sends back for one send."""
        out: list[bytes] = []
        pipeline: list[C.Request] = []
        for msg in C.iter_messages(data):
            raw = bytes(msg.payload)
            if msg.type == C.GENL_ID_CTRL:
                self.lookups += 1
                if self.lookup_error is not None:
                    out.append(F.ack(msg.seq, self.lookup_error, request_kind=C.GENL_ID_CTRL))
                elif self.lookup_answers:
                    attrs = F.nla(1, struct.pack("=H", FAMILY_ID))
                    out.append(F.reply(C.GENL_ID_CTRL, msg.seq, 1, attrs))
                else:
                    out.append(F.ack(msg.seq, 0, request_kind=C.GENL_ID_CTRL))
                continue
            if msg.type == C.NLMSG_NOOP:
                self.barriers.append(msg.seq)
                out.append(F.ack(msg.seq, 0, request_kind=C.NLMSG_NOOP))
                continue
            assert msg.type == FAMILY_ID
            header = struct.pack("=IHHII", 16 + len(raw), msg.type, msg.flags, msg.seq, 0)
            request = C.decode_request(header + raw)
            if (
                not msg.flags & C.NLM_F_ACK
                and not msg.flags & C.NLM_F_DUMP
                and request.command
                in (
                    C.Command.NEW_SERVICE,
                    C.Command.SET_SERVICE,
                    C.Command.DEL_SERVICE,
                    C.Command.NEW_DEST,
                    C.Command.SET_DEST,
                    C.Command.DEL_DEST,
                )
            ):
                index = len(pipeline)
                pipeline.append(request)
                self.pipelined.append(request)
                if index in self.pipeline_errors:
                    out.append(F.ack(msg.seq, self.pipeline_errors[index]))
                continue
            self.sent.append(request)
            errno = self.errors.get(request.command, 0)
            if errno:
                out.append(F.ack(msg.seq, errno, self.extack.get(request.command)))
            elif msg.flags & C.NLM_F_DUMP:
                out += self._dump(request, msg.seq)
            elif request.command == C.Command.GET_SERVICE:
                svc = next((s for s in self.services if s.key == request.service), None)
                if svc is None:
                    out.append(F.ack(msg.seq, E.ESRCH))
                else:
                    out.append(F.reply(FAMILY_ID, msg.seq, 1, C.encode_service_nest(svc)))
            elif msg.flags & C.NLM_F_ACK:
                out.append(F.ack(msg.seq))
        return [b"".join(out)] if out else []

    def _dump(self, request: C.Request, seq: int) -> list[bytes]:
        parts: list[bytes] = []
        if request.command == C.Command.GET_SERVICE:
            for svc in self.services:
                parts.append(F.reply(FAMILY_ID, seq, 1, C.encode_service_nest(svc), multi=True))
        parts.append(F.done(seq))
        return parts


class FakeSocket:
    """The client's socket, answered by a :class:`FakeKernel` (no system call)."""

    last: FakeSocket | None = None

    def __init__(self, netns: Any = None, *, rcvbuf: int = 0, sndbuf: int = 0, **_: Any) -> None:
        self.netns = netns
        self.kernel = FakeKernel()
        self.queue: list[bytes] = []
        self.closed = False
        self.max_send = 1 << 20
        self.recv_error: BaseException | None = None
        self.sends = 0
        FakeSocket.last = self

    def close(self) -> None:
        self.closed = True

    def fileno(self) -> int:
        return -1 if self.closed else 99

    def send(self, data: bytes | bytearray | memoryview) -> None:
        self.sends += 1
        self.queue += self.kernel.answer(bytes(data))

    def recv(self, *, block: bool = True) -> memoryview | None:
        if self.recv_error is not None:
            error, self.recv_error = self.recv_error, None
            self.queue.clear()
            raise error
        if not self.queue:
            if block:
                raise AssertionError("the client waits for a reply the kernel never sends")
            return None
        return memoryview(self.queue.pop(0))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKernel]:
    monkeypatch.setattr(_sync, "NetlinkSocket", FakeSocket)
    client = Client()
    sock = FakeSocket.last
    assert sock is not None
    sock.kernel.client = client  # type: ignore[attr-defined]
    sock.kernel.socket = sock  # type: ignore[attr-defined]
    yield sock.kernel


def _client_of(kernel: FakeKernel) -> Client:
    client: Client = kernel.client  # type: ignore[attr-defined]
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
    assert exc.kernel_message is None
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
    exc = error_for(E.EEXIST, "add_service", WEB, kernel_message="already there")
    exc.index = 4
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is ipvs.ServiceExists
    assert (copy.errno, copy.operation, copy.kernel_message) == (
        E.EEXIST,
        "add_service",
        "already there",
    )
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
    fake: FakeKernel,
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


def test_kernel_extended_ack_text_reaches_the_error(fake: FakeKernel) -> None:
    fake.errors[C.Command.NEW_DAEMON] = E.EINVAL
    fake.extack[C.Command.NEW_DAEMON] = "Attribute failed policy validation"
    with pytest.raises(ipvs.InvalidArgument) as info:
        _client_of(fake).start_daemon(MASTER)
    assert info.value.kernel_message == "Attribute failed policy validation"
    assert str(info.value) == (
        "start_daemon: invalid argument (Invalid argument): Attribute failed policy "
        "validation (master sync daemon (mcast=eth0, syncid=3))"
    )


def test_permission_error_from_any_method(fake: FakeKernel) -> None:
    fake.errors[C.Command.NEW_DEST] = E.EPERM
    with pytest.raises(PermissionError) as info:
        _client_of(fake).add_destination(WEB, DEST)
    assert isinstance(info.value, ipvs.IPVSPermissionError)
    assert "CAP_NET_ADMIN" in str(info.value)
    assert str(info.value).startswith("add_destination: ")


def test_lost_replies_are_outcome_unknown_and_the_client_stays_usable(fake: FakeKernel) -> None:
    sock: FakeSocket = fake.socket  # type: ignore[attr-defined]
    client = _client_of(fake)
    client.flush()  # resolves the family
    lost = ipvs.OutcomeUnknown(E.ENOBUFS, message="the kernel dropped replies")
    sock.recv_error = lost
    with pytest.raises(ipvs.OutcomeUnknown) as info:
        client.add_service(WEB)
    assert info.value is lost
    client.zero()  # the next exchange works: nothing stale is pending
    assert [r.command for r in fake.sent][-1] == C.Command.ZERO


def test_validation_errors_send_nothing(fake: FakeKernel) -> None:
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
    with pytest.raises(ipvs.ValidationError):
        client.stop_daemon(3)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.apply({"services": []})  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        client.apply_plan("plan")  # type: ignore[arg-type]
    assert fake.sent == []


# ---------------------------------------------------------------------------
# Family resolution: IPVSUnavailable
# ---------------------------------------------------------------------------


def test_no_ipvs_family_is_ipvs_unavailable(fake: FakeKernel) -> None:
    fake.lookup_error = E.ENOENT
    with pytest.raises(ipvs.IPVSUnavailable) as info:
        _client_of(fake).services()
    exc = info.value
    assert isinstance(exc, ipvs.KernelError)
    assert exc.errno == E.ENOENT
    assert "modprobe ip_vs" in str(exc) and "'IPVS'" in str(exc)
    assert fake.sent == []  # nothing was sent to a family that does not exist


def test_unanswered_family_lookup_is_ipvs_unavailable(fake: FakeKernel) -> None:
    fake.lookup_answers = False
    with pytest.raises(ipvs.IPVSUnavailable):
        _client_of(fake).info()


def test_family_lookup_other_errors_are_mapped(fake: FakeKernel) -> None:
    fake.lookup_error = E.EPERM
    with pytest.raises(ipvs.IPVSPermissionError) as info:
        _ = _client_of(fake).family_id
    assert info.value.operation == "resolve_family"


def test_family_is_resolved_once(fake: FakeKernel) -> None:
    client = _client_of(fake)
    client.flush()
    client.zero()
    assert client.family_id == FAMILY_ID
    assert fake.lookups == 1
    assert [r.family_id for r in fake.sent] == [FAMILY_ID, FAMILY_ID]


def test_close_and_context_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync, "NetlinkSocket", FakeSocket)
    with Client(netns="blue") as client:
        sock = FakeSocket.last
        assert sock is not None and sock.netns == "blue"
        assert repr(client) == "<ipvs.Client netns='blue'>"
    assert sock.closed
    with pytest.raises(ipvs.IPVSError, match="closed"):
        client.flush()


# ---------------------------------------------------------------------------
# Batches: BatchError content
# ---------------------------------------------------------------------------


def _queue_seven(b: ipvs.Batch | ipvs.AsyncBatch) -> None:
    b.add_service(WEB)  # 0
    b.add_destination(WEB, DEST)  # 1
    b.update_service(WEB6)  # 2
    b.delete_destination(WEB.key, DEST)  # 3
    b.update_destination(WEB, DEST)  # 4
    b.delete_service(MARK)  # 5
    b.add_service(WEB6)  # 6


def test_batch_error_lists_exactly_the_failed_operations(fake: FakeKernel) -> None:
    fake.pipeline_errors = {1: E.EEXIST, 3: E.ENOENT, 4: E.ESRCH, 6: E.ENOENT}
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
    assert all(r.flags & C.NLM_F_ACK == 0 for r in sent)  # no per-message ACK: errors only
    assert [r.seq for r in sent] == list(range(sent[0].seq, sent[0].seq + 7))
    assert fake.barriers == [sent[0].seq + 7]  # the barrier comes last


def test_batch_error_with_one_failure(fake: FakeKernel) -> None:
    fake.pipeline_errors = {0: E.EEXIST}
    with pytest.raises(BatchError) as info, _client_of(fake).batch() as b:
        _queue_seven(b)
    assert str(info.value) == (
        f"1 of 7 operations failed: add_service: service already exists ({SVC_TEXT})"
    )


def test_batch_success_and_empty_and_aborted(fake: FakeKernel) -> None:
    client = _client_of(fake)
    with client.batch() as b:
        _queue_seven(b)
    assert len(fake.pipelined) == 7 and b.failures == []
    with client.batch():
        pass
    with pytest.raises(KeyError), client.batch() as b:
        _queue_seven(b)
        raise KeyError("abort")
    assert len(fake.pipelined) == 7 and len(fake.barriers) == 1  # nothing more was sent
    with pytest.raises(ipvs.IPVSError, match="already sent"):
        b.add_service(WEB)


def test_batch_outcome_unknown_is_not_a_batch_error(fake: FakeKernel) -> None:
    sock: FakeSocket = fake.socket  # type: ignore[attr-defined]
    _client_of(fake).flush()
    sock.recv_error = ipvs.OutcomeUnknown(E.ENOBUFS, message="lost")
    fake.pipeline_errors = {2: E.EEXIST}
    with pytest.raises(ipvs.OutcomeUnknown), _client_of(fake).batch() as b:
        _queue_seven(b)


def test_batch_validation_is_immediate(fake: FakeKernel) -> None:
    b = _client_of(fake).batch()
    with pytest.raises(ipvs.ValidationError):
        b.add_destination(WEB, "10.1.0.1:80")  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError):
        b.update_service(WEB.key)  # type: ignore[arg-type]
    assert len(b) == 0


def test_apply_rolls_back_and_names_the_failure(fake: FakeKernel) -> None:
    """A failed write in an apply: the applied ones are undone, pipelined too."""
    fake.pipeline_errors = {1: E.EINVAL}  # the destination add fails
    desired = ipvs.Table([(WEB, [DEST])])
    with pytest.raises(ipvs.ApplyError) as info:
        _client_of(fake).apply(desired, current=ipvs.Table())
    assert info.value.operation == ipvs.AddDestination(service=WEB.key, destination=DEST)
    assert isinstance(info.value.error, ipvs.InvalidArgument)
    assert [r.command for r in fake.pipelined] == [
        C.Command.NEW_SERVICE,
        C.Command.NEW_DEST,
        C.Command.DEL_SERVICE,  # the rollback, a second pipeline
    ]
    assert len(fake.barriers) == 2
    # before sending, the plan's service was checked: absent, as the plan assumed
    assert [r.command for r in fake.sent] == [C.Command.GET_SERVICE]


def test_a_stale_plan_is_refused_before_anything_is_sent(fake: FakeKernel) -> None:
    fake.services = [WEB]  # another writer created it since the caller's snapshot
    with pytest.raises(ipvs.ConflictError, match="nothing was sent") as info:
        _client_of(fake).apply(ipvs.Table([(WEB, [DEST])]), current=ipvs.Table())
    assert info.value.error.operation == "check"
    assert fake.pipelined == [] and fake.barriers == []


# ---------------------------------------------------------------------------
# The asyncio client runs the same protocol object
# ---------------------------------------------------------------------------


class AsyncFakeSocket(FakeSocket):
    """Never blocks: the async client only asks with ``block=False``."""

    def recv(self, *, block: bool = True) -> memoryview | None:
        assert not block, "the async client must not block"
        return super().recv(block=False)


def test_async_client_errors_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_async, "NetlinkSocket", AsyncFakeSocket)

    async def main() -> None:
        async with AsyncClient(netns="red", lock=False) as client:
            kernel = FakeSocket.last.kernel  # type: ignore[union-attr]
            assert repr(client) == "<ipvs.AsyncClient netns='red'>"
            kernel.errors[C.Command.DEL_SERVICE] = E.ESRCH
            with pytest.raises(ipvs.ServiceNotFound) as info:
                await client.delete_service(MARK)
            assert str(info.value) == "delete_service: no such service (FWM 5 IPv6)"
            kernel.services = [WEB]
            assert await client.services() == [WEB]
            assert await client.service(WEB.key) == WEB
            kernel.pipeline_errors = {6: E.ENOENT}
            with pytest.raises(BatchError) as batch_info:
                async with client.batch() as b:
                    _queue_seven(b)
            assert [f.index for f in batch_info.value.failures] == [6]
            assert await client.family_id() == FAMILY_ID

    asyncio.run(main())


def test_applies_rollbacks_and_conflicts_are_logged(
    fake: FakeKernel, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    client = _client_of(fake)
    with caplog.at_level(logging.DEBUG, logger="ipvs"):
        client.apply(ipvs.Table([(WEB, [DEST])]), current=ipvs.Table())
        # Logging is imported on first use, and the library stays silent
        # unless the program configures it.
        assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("ipvs").handlers)
        fake.pipeline_errors = {1: E.EINVAL}
        with pytest.raises(ipvs.ApplyError):
            client.apply(ipvs.Table([(WEB6, [DEST6])]), current=ipvs.Table())
        fake.services = [WEB6]
        with pytest.raises(ipvs.ConflictError):
            client.apply(ipvs.Table([(WEB6, [])]), current=ipvs.Table())
    messages = [r.getMessage() for r in caplog.records]
    assert "apply: sending 2 to add, 0 to change, 0 to delete" in messages
    assert f"apply: + {WEB.describe()} rr" in messages  # each operation, at DEBUG
    assert any(m.startswith("apply: 1 of 2 operations failed") for m in messages)
    assert any("nothing was sent" in m for m in messages)
    assert {r.levelname for r in caplog.records} <= {"DEBUG", "INFO"}
