"""The client: one method per IPVS operation, against the real kernel.

:class:`Client` owns one generic netlink socket (optionally inside another
network namespace) and turns model objects into kernel messages with the
codec. Writes can be queued in a :meth:`Client.batch` and sent pipelined:
many messages per ``sendmsg``, no per-message acknowledgement, one barrier
at the end, errors attributed by sequence number.
"""

from __future__ import annotations

import errno as E
import os
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ipvs import _codec as C
from ipvs import _netlink as N
from ipvs._errors import (
    DaemonExists,
    DaemonNotFound,
    DestinationExists,
    DestinationNotFound,
    InvalidArgument,
    IPVSError,
    IPVSPermissionError,
    IPVSUnavailable,
    KernelError,
    OutcomeUnknown,
    SchedulerNotFound,
    ServiceExists,
    ServiceNotFound,
    ValidationError,
)
from ipvs._model import (
    DaemonState,
    Destination,
    Info,
    Service,
    ServiceKey,
    SyncDaemon,
    Timeouts,
)
from ipvs._table import ServiceEntry, Table
from ipvs._transport import DEFAULT_RCVBUF, DEFAULT_SNDBUF, NetlinkSocket

if TYPE_CHECKING:
    from ipvs._apply import ApplyResult, ReapResult, Transaction
    from ipvs._plan import Drain, Scope

__all__ = ["Batch", "BatchError", "Client", "error_for"]

_REQ = N.NLM_F_REQUEST
_ACK = N.NLM_F_REQUEST | N.NLM_F_ACK

_EXISTS = {
    "add_service": ServiceExists,
    "add_destination": DestinationExists,
    "start_daemon": DaemonExists,
}
_EXISTS_TEXT = {
    "add_service": "service already exists",
    "add_destination": "destination already exists",
    "start_daemon": "daemon is already running",
}


def error_for(errno: int, operation: str, obj: Any = None) -> KernelError:
    """Map a kernel errno for an operation to the library's typed error.

    Args:
        errno: the positive errno.
        operation: the operation name (``"add_service"``, ...).
        obj: the object concerned.

    Returns:
        The exception to raise (not raised here).
    """
    cls: type[KernelError] = KernelError
    text: str | None = None
    if errno == E.EPERM:
        cls, text = IPVSPermissionError, "permission denied: CAP_NET_ADMIN is needed"
    elif errno == E.EEXIST and operation in _EXISTS:
        cls, text = _EXISTS[operation], _EXISTS_TEXT[operation]
    elif errno == E.ESRCH:
        if operation == "stop_daemon":
            cls, text = DaemonNotFound, "no such daemon is running"
        else:
            cls, text = ServiceNotFound, "no such service"
    elif errno == E.ENOENT and operation in ("add_service", "update_service"):
        cls, text = SchedulerNotFound, "scheduler or persistence engine not found"
    elif errno == E.ENOENT and operation in ("update_destination", "delete_destination"):
        cls, text = DestinationNotFound, "no such destination"
    elif errno == E.ENODEV and operation == "start_daemon":
        cls, text = InvalidArgument, "no such network interface"
    elif errno in (E.EINVAL, E.ERANGE, E.EAFNOSUPPORT, E.EOPNOTSUPP):
        cls = InvalidArgument
        text = f"invalid argument ({os.strerror(errno)})"
    elif errno == E.ENOBUFS:
        cls, text = OutcomeUnknown, "replies were lost (ENOBUFS): the outcome is unknown"
    return cls(errno, operation, obj, text)


class BatchError(IPVSError):
    """Some operations of a batch failed; the others were applied.

    Attributes:
        failures: one :class:`KernelError` per failed operation, in order;
            each has an ``index`` attribute (its position in the batch).
        total: the number of operations in the batch.
    """

    def __init__(self, failures: list[KernelError], total: int) -> None:
        self.failures = failures
        self.total = total
        shown = "; ".join(str(f) for f in failures[:3])
        more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
        super().__init__(f"{len(failures)} of {total} operations failed: {shown}{more}")


def _key(obj: Service | ServiceKey) -> ServiceKey:
    if isinstance(obj, Service):
        return obj.key
    if isinstance(obj, ServiceKey):
        return obj
    raise ValidationError(f"expected a Service or ServiceKey, got {obj!r}")


def _dest(obj: object) -> Destination:
    if not isinstance(obj, Destination):
        raise ValidationError(f"expected a Destination, got {obj!r}")
    return obj


def _service(obj: object) -> Service:
    if not isinstance(obj, Service):
        raise ValidationError(f"expected a Service, got {obj!r}")
    return obj


class Batch:
    """Queued writes sent pipelined on exit (see :meth:`Client.batch`).

    Each method validates its arguments at once (before any syscall) and
    queues one kernel message. Leaving the ``with`` block normally sends them
    all; leaving it with an exception sends nothing.

    Attributes:
        failures: after sending, the failed operations (also raised as
            :class:`BatchError` by the context manager).
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        # (operation name, command, object for errors, service key or None, payload)
        self._ops: list[tuple[str, int, Any, ServiceKey | None, Any]] = []
        self._sent = False
        self.failures: list[KernelError] = []

    def __len__(self) -> int:
        return len(self._ops)

    def _queue(self, name: str, cmd: int, obj: Any, key: ServiceKey | None, payload: Any) -> None:
        if self._sent:
            raise IPVSError("this batch was already sent")
        self._ops.append((name, cmd, obj, key, payload))

    def add_service(self, service: Service) -> None:
        """Queue the creation of a service.

        Args:
            service: the service.
        """
        s = _service(service)
        self._queue("add_service", C.Command.NEW_SERVICE, s, None, s)

    def update_service(self, service: Service) -> None:
        """Queue a change of a service's settings.

        Args:
            service: the service with its new settings.
        """
        s = _service(service)
        self._queue("update_service", C.Command.SET_SERVICE, s, None, s)

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Queue the deletion of a service.

        Args:
            service: the service or its key.
        """
        k = _key(service)
        self._queue("delete_service", C.Command.DEL_SERVICE, k, None, k)

    def add_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue the addition of a destination.

        Args:
            service: the service or its key.
            destination: the destination.
        """
        k, d = _key(service), _dest(destination)
        self._queue("add_destination", C.Command.NEW_DEST, (k, d), k, d)

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a change of a destination's settings.

        Args:
            service: the service or its key.
            destination: the destination with its new settings.
        """
        k, d = _key(service), _dest(destination)
        self._queue("update_destination", C.Command.SET_DEST, (k, d), k, d)

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue the removal of a destination.

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).
        """
        k, d = _key(service), _dest(destination)
        self._queue("delete_destination", C.Command.DEL_DEST, (k, d), k, d)

    def _queue_unchecked(
        self, name: str, cmd: int, obj: Any, key: ServiceKey | None, payload: Any
    ) -> None:
        """Queue an operation whose arguments are already model objects (internal)."""
        self._ops.append((name, cmd, obj, key, payload))

    def messages(self, family_id: int, first_seq: int) -> Iterator[bytes]:
        """Encode the queued operations lazily (message ``i`` gets ``first_seq + i``).

        Args:
            family_id: the IPVS family id.
            first_seq: the first sequence number.

        Yields:
            The messages, without NLM_F_ACK.
        """
        nests: dict[ServiceKey, bytes] = {}
        encode_dest = C.encode_dest_msg
        seq = first_seq
        for _name, cmd, _obj, key, payload in self._ops:
            if key is not None:
                nest = nests.get(key)
                if nest is None:
                    nest = nests[key] = C.encode_service_key_nest(key)
                yield encode_dest(family_id, cmd, seq, _REQ, nest, payload)
            elif cmd == C.Command.NEW_SERVICE:
                yield C.encode_new_service(family_id, seq, _REQ, payload)
            elif cmd == C.Command.SET_SERVICE:
                yield C.encode_set_service(family_id, seq, _REQ, payload)
            else:
                yield C.encode_del_service(family_id, seq, _REQ, payload)
            seq += 1

    def send(self, progress: Callable[[int, int], None] | None = None) -> list[KernelError]:
        """Send the queued operations now, pipelined.

        Args:
            progress: called with (operations sent, total) as sending proceeds.

        Returns:
            The failures (empty when everything was applied); each error has
            an ``index`` attribute.

        Raises:
            OutcomeUnknown: replies were lost; which operations applied is unknown.
        """
        if self._sent:
            raise IPVSError("this batch was already sent")
        self._sent = True
        if not self._ops:
            return []
        failed = self._client._pipeline(self, progress)
        failures: list[KernelError] = []
        for index in sorted(failed):
            name, _cmd, obj, _key, _payload = self._ops[index]
            err = error_for(failed[index], name, obj)
            err.index = index
            failures.append(err)
        self.failures = failures
        return failures

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._sent = True  # discard
            return
        failures = self.send()
        if failures:
            raise BatchError(failures, len(self._ops))


class Client:
    """A connection to the kernel's IPVS, in this or another network namespace.

    Args:
        netns: None for the caller's namespace, a name under /var/run/netns,
            or a path such as ``/proc/1234/ns/net``. The socket is opened
            inside it; the calling thread always returns to its own namespace.
        rcvbuf: receive buffer size (bytes) for the socket.
        sndbuf: send buffer size (bytes) for the socket.

    Raises:
        NetnsError: the namespace cannot be entered.

    Example:
        .. code-block:: python

            with ipvs.Client() as client:
                client.add_service(ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr"))
    """

    def __init__(
        self,
        netns: str | os.PathLike[str] | None = None,
        *,
        rcvbuf: int = DEFAULT_RCVBUF,
        sndbuf: int = DEFAULT_SNDBUF,
    ) -> None:
        self.netns = netns
        self._sock = NetlinkSocket(netns, rcvbuf=rcvbuf, sndbuf=sndbuf)
        self._family: int | None = None

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" netns={self.netns!r}" if self.netns is not None else ""
        return f"<ipvs.Client{where}>"

    @property
    def family_id(self) -> int:
        """The generic netlink id of the IPVS family (resolved on first use).

        Raises:
            IPVSUnavailable: the kernel has no IPVS.
        """
        if self._family is None:
            seq = self._sock.next_seq()
            found: list[int] = []
            try:
                self._sock.request(
                    N.encode_get_family("IPVS", seq),
                    seq,
                    lambda _k, payload: found.append(N.decode_family_id(payload)),
                )
            except KernelError as exc:
                if exc.errno == E.ENOENT:
                    raise IPVSUnavailable(
                        E.ENOENT,
                        message="the kernel has no IPVS: the generic netlink family 'IPVS' is "
                        "not registered (load the ip_vs module: modprobe ip_vs)",
                    ) from None
                raise error_for(exc.errno or 0, "resolve_family") from None
            if not found:
                raise IPVSUnavailable(E.ENOENT, message="no reply to the IPVS family lookup")
            self._family = found[0]
        return self._family

    # -- plumbing ----------------------------------------------------------------

    def _call(
        self,
        operation: str,
        obj: Any,
        build: Callable[[int, int], bytes],
        on_reply: Callable[[memoryview], None] | None = None,
        *,
        barrier: bool = False,
    ) -> None:
        family = self.family_id
        seq = self._sock.next_seq()
        message = build(family, seq)
        callback = None if on_reply is None else (lambda _k, payload: on_reply(payload[4:]))
        barrier_seq = self._sock.next_seq() if barrier else None
        try:
            self._sock.request(message, seq, callback, barrier_seq)
        except KernelError as exc:
            if type(exc) is KernelError:
                raise error_for(exc.errno or 0, operation, obj) from None
            raise

    def _pipeline(
        self, batch: Batch, progress: Callable[[int, int], None] | None = None
    ) -> dict[int, int]:
        family = self.family_id
        seqs = self._sock.seqs(len(batch) + 1)
        messages = batch.messages(family, seqs[0])
        barrier_seq = seqs[-1]
        barrier = N.NLMSGHDR.pack(16, N.NLMSG_NOOP, _ACK, barrier_seq, 0)
        return self._sock.pipeline(messages, len(batch), seqs[0], barrier, barrier_seq, progress)

    # -- reads -------------------------------------------------------------------

    def info(self) -> Info:
        """Return the IPVS version and connection table size.

        Returns:
            The kernel's answer.

        Raises:
            IPVSUnavailable: no IPVS.
            IPVSPermissionError: no CAP_NET_ADMIN.
        """
        out: list[Info] = []
        self._call(
            "info",
            None,
            lambda f, s: C.encode_get_info(f, s),
            lambda area: out.append(C.decode_info(area)),
        )
        return out[0]

    def services(self) -> list[Service]:
        """Return every service, with its statistics.

        Returns:
            The services, in the kernel's order.
        """
        out: list[Service] = []
        self._call(
            "services",
            None,
            lambda f, s: C.encode_get_services(f, s),
            lambda area: out.append(C.decode_service(area)),
        )
        return out

    def service(self, key: Service | ServiceKey) -> Service:
        """Return one service, with its statistics.

        Args:
            key: the service or its key.

        Returns:
            The service as the kernel has it.

        Raises:
            ServiceNotFound: no such service.
        """
        k = _key(key)
        out: list[Service] = []
        self._call(
            "service",
            k,
            lambda f, s: C.encode_get_service(f, s, _REQ, k),
            lambda area: out.append(C.decode_service(area)),
        )
        return out[0]

    def destinations(self, service: Service | ServiceKey) -> list[Destination]:
        """Return a service's destinations with statistics and connection counts.

        Args:
            service: the service or its key.

        Returns:
            The destinations, in the kernel's order (newest first).

        Raises:
            ServiceNotFound: no such service (checked only when the kernel
                returns no destination, since its dump cannot tell).
        """
        k = _key(service)
        out: list[Destination] = []
        family = int(k.family)
        self._call(
            "destinations",
            k,
            lambda f, s: C.encode_get_dests(f, s, C.REQUEST_DUMP, k),
            lambda area: out.append(C.decode_destination(area, family)),
        )
        if not out:
            try:
                self.service(k)
            except ServiceNotFound:
                raise error_for(E.ESRCH, "destinations", k) from None
        return out

    def timeouts(self) -> Timeouts:
        """Return the TCP, TCP FIN and UDP connection timeouts.

        Returns:
            The timeouts in seconds.
        """
        out: list[Timeouts] = []
        self._call(
            "timeouts",
            None,
            lambda f, s: C.encode_get_config(f, s),
            lambda area: out.append(C.decode_timeouts(area)),
        )
        return out[0]

    def daemons(self) -> list[SyncDaemon]:
        """Return the running connection synchronisation daemons.

        Returns:
            Zero to two daemons (master first).
        """
        out: list[SyncDaemon] = []
        self._call(
            "daemons",
            None,
            lambda f, s: C.encode_get_daemons(f, s),
            lambda area: out.append(C.decode_daemon(area)),
        )
        return out

    def snapshot(self) -> Table:
        """Read the whole table: every service with its destinations and stats.

        One dump lists the services; then one destination dump per service
        (the kernel has no other way), run back to back on the one socket.

        Returns:
            The table.
        """
        services = self.services()
        family = self.family_id
        sock = self._sock
        entries: list[ServiceEntry] = []
        decode = C.decode_destination
        for svc in services:
            seq = sock.next_seq()
            dests: list[Destination] = []
            fam = int(svc.family)
            sock.request(
                C.encode_get_dests(family, seq, C.REQUEST_DUMP, svc.key),
                seq,
                lambda _k, payload, d=dests, f=fam: d.append(decode(payload[4:], f)),  # type: ignore[misc]
            )
            entries.append(ServiceEntry(service=svc, destinations=dests))
        return Table(entries)

    # -- writes ------------------------------------------------------------------

    def add_service(self, service: Service) -> None:
        """Create a virtual service.

        Args:
            service: the service.

        Raises:
            ServiceExists: it exists already.
            SchedulerNotFound: unknown scheduler or persistence engine.
        """
        s = _service(service)
        self._call("add_service", s, lambda f, q: C.encode_new_service(f, q, _ACK, s))

    def update_service(self, service: Service) -> None:
        """Change a service's settings (scheduler, flags, timeout, netmask, PE).

        Args:
            service: the service with its new settings.

        Raises:
            ServiceNotFound: no such service.
            SchedulerNotFound: unknown scheduler or persistence engine.
        """
        s = _service(service)
        self._call("update_service", s, lambda f, q: C.encode_set_service(f, q, _ACK, s))

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Delete a virtual service and its destinations.

        Args:
            service: the service or its key.

        Raises:
            ServiceNotFound: no such service.
        """
        k = _key(service)
        self._call("delete_service", k, lambda f, q: C.encode_del_service(f, q, _ACK, k))

    def add_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Add a destination (real server) to a service.

        Args:
            service: the service or its key.
            destination: the destination.

        Raises:
            ServiceNotFound: no such service.
            DestinationExists: the destination exists already.
            InvalidArgument: the kernel refused a setting.
        """
        k, d = _key(service), _dest(destination)
        self._call("add_destination", (k, d), lambda f, q: C.encode_new_dest(f, q, _ACK, k, d))

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Change a destination's settings (weight, method, thresholds, tunnel).

        Args:
            service: the service or its key.
            destination: the destination with its new settings.

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        k, d = _key(service), _dest(destination)
        self._call("update_destination", (k, d), lambda f, q: C.encode_set_dest(f, q, _ACK, k, d))

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Remove a destination from a service.

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        k, d = _key(service), _dest(destination)
        self._call("delete_destination", (k, d), lambda f, q: C.encode_del_dest(f, q, _ACK, k, d))

    def set_timeouts(self, timeouts: Timeouts) -> None:
        """Set the connection timeouts (a value of 0 leaves that one unchanged).

        Args:
            timeouts: the new timeouts.

        Raises:
            InvalidArgument: a value is out of the kernel's range.
        """
        if not isinstance(timeouts, Timeouts):
            raise ValidationError(f"expected Timeouts, got {timeouts!r}")
        self._call("set_timeouts", timeouts, lambda f, q: C.encode_set_config(f, q, _ACK, timeouts))

    def start_daemon(self, daemon: SyncDaemon) -> None:
        """Start a connection synchronisation daemon.

        Args:
            daemon: its settings.

        Raises:
            DaemonExists: a daemon in that state runs already.
            InvalidArgument: unknown interface or bad settings.
        """
        if not isinstance(daemon, SyncDaemon):
            raise ValidationError(f"expected SyncDaemon, got {daemon!r}")
        self._call(
            "start_daemon",
            daemon,
            lambda f, q: C.encode_new_daemon(f, q, _ACK, daemon),
            barrier=True,
        )

    def stop_daemon(self, state: DaemonState | SyncDaemon | str) -> None:
        """Stop the master or backup synchronisation daemon.

        Args:
            state: :attr:`DaemonState.MASTER` or ``BACKUP`` (or a
                :class:`SyncDaemon`, or ``"master"``/``"backup"``).

        Raises:
            DaemonNotFound: no such daemon runs.
        """
        if isinstance(state, SyncDaemon):
            which = state.state
        elif isinstance(state, str):
            try:
                which = DaemonState[state.upper()]
            except KeyError:
                raise ValidationError(
                    f"daemon state must be master or backup, got {state!r}"
                ) from None
        else:
            which = DaemonState(state)
        # Stopping a daemon whose thread has not run yet makes the kernel
        # return EINTR, and then it acknowledges nothing: the barrier ends the wait.
        self._call(
            "stop_daemon",
            which,
            lambda f, q: C.encode_del_daemon(f, q, _ACK, which),
            barrier=True,
        )

    def zero(self, service: Service | ServiceKey | None = None) -> None:
        """Reset statistics: of one service and its destinations, or of everything.

        Args:
            service: the service, or None for all.

        Raises:
            ServiceNotFound: no such service.
        """
        k = None if service is None else _key(service)
        self._call("zero", k, lambda f, q: C.encode_zero(f, q, _ACK, k))

    def flush(self) -> None:
        """Delete every service and destination in the namespace."""
        self._call("flush", None, lambda f, q: C.encode_flush(f, q, _ACK))

    # -- batches, plans, transactions ---------------------------------------------

    def batch(self) -> Batch:
        """Queue writes and send them pipelined when the ``with`` block ends.

        Returns:
            A :class:`Batch`; as a context manager it raises
            :class:`BatchError` listing the failed operations (the others
            were applied).

        Example:
            .. code-block:: python

                with client.batch() as b:
                    b.add_service(svc)
                    for d in dests:
                        b.add_destination(svc, d)
        """
        return Batch(self)

    def apply(
        self,
        desired: Table,
        *,
        scope: Scope | Callable[[ServiceKey], bool] | None = None,
        drain: bool = False,
        dry_run: bool = False,
        current: Table | None = None,
        verify: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ApplyResult:
        """Make the kernel match ``desired``, all or nothing.

        Snapshot (unless ``current`` is given), diff, send the plan pipelined,
        and on any failure undo what was applied. See :func:`ipvs.diff`.

        Args:
            desired: the wanted table.
            scope: which services may be touched (default: all).
            drain: drain removed destinations (weight 0) instead of deleting them.
            dry_run: compute and return the plan without sending anything.
            current: the known current state (for example the previous
                result's ``table``), to skip the snapshot.
            verify: read the touched services back after applying.
            progress: called with (operations sent, total) while sending.

        Returns:
            The plan, the new known state and the pending drains.

        Raises:
            ApplyError: an operation failed; everything was rolled back.
            ConflictError: the kernel did not hold the state the plan assumed.
            RollbackError: the rollback failed too.
            ValidationError: ``desired`` is outside ``scope``.
        """
        from ipvs._apply import apply

        return apply(
            self,
            desired,
            scope=scope,
            drain=drain,
            dry_run=dry_run,
            current=current,
            verify=verify,
            progress=progress,
        )

    def transaction(self, current: Table | None = None) -> Transaction:
        """Queue changes; commit them all on a clean exit, none on an exception.

        Args:
            current: the known current state (default: a snapshot at start).

        Returns:
            A :class:`~ipvs.Transaction` context manager.
        """
        from ipvs._apply import Transaction

        return Transaction(self, current)

    def reap(
        self,
        drains: Iterable[Drain],
        *,
        grace: float | None = None,
        since: dict[Any, float] | None = None,
        current: Table | None = None,
        count_inactive: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> ReapResult:
        """Delete drained destinations whose connections have ended.

        Args:
            drains: the pending drains (from :attr:`ApplyResult.drains`).
            grace: seconds after which a drain is deleted even with connections.
            since: when each drain started (kept by the caller between rounds).
            current: the known state; the result's ``table`` has the removals.
            count_inactive: also wait for inactive connections (TIME_WAIT and
                friends, kept up to two minutes after a close).
            clock: the time source for ``grace`` (default: ``time.monotonic``).

        Returns:
            What was removed and what still drains.
        """
        from ipvs._apply import reap

        return reap(
            self,
            drains,
            grace=grace,
            since=since,
            current=current,
            count_inactive=count_inactive,
            **({} if clock is None else {"clock": clock}),
        )
