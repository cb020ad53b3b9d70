"""The blocking client: :class:`Client`, a thin I/O shell over the conversation and flows."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ipvs._client import _checks, _flows
from ipvs._client._batch import Batch, Progress
from ipvs._client._connections import read_connections
from ipvs._client._flows import Flow, PipelineStep, Together
from ipvs._client._lock import take, with_loopback_hint, writers_lock
from ipvs._client._socket import DEFAULT_RCVBUF, DEFAULT_SNDBUF, NetlinkSocket
from ipvs._client._vips import ChangeLinks, Links, ReadLink, binding, require
from ipvs._model import (
    Connection,
    DaemonState,
    Destination,
    Info,
    Service,
    ServiceKey,
    SyncDaemon,
    Table,
    Timeouts,
)
from ipvs._plan import ApplyResult, Binding, Drain, Plan, ReapResult, Scope, Transaction
from ipvs.errors import FamilyUnknown, IPVSError, KernelError, OutcomeUnknown, ValidationError
from ipvs.netlink import Conversation, Exchange, Pipeline, Write

__all__ = ["Client", "daemon_state"]

T = TypeVar("T")


def daemon_state(state: DaemonState | SyncDaemon | str) -> DaemonState:
    """Normalise what :meth:`Client.stop_daemon` accepts to a :class:`DaemonState`."""
    if isinstance(state, SyncDaemon):
        return state.state
    if isinstance(state, DaemonState):
        return state
    if isinstance(state, str) and state.strip().upper() in DaemonState.__members__:
        return DaemonState[state.strip().upper()]
    raise ValidationError(
        f"daemon state must be DaemonState.MASTER or BACKUP, 'master' or 'backup', "
        f"or a SyncDaemon; got {state!r}"
    )


def _grouped(exchanges: list[Exchange[Any]], limit: int) -> Iterator[bytes]:
    """Join the requests of several exchanges into sends of at most ``limit`` bytes."""
    group: list[bytes] = []
    size = 0
    for exchange in exchanges:
        n = len(exchange.data)
        if group and size + n > limit:
            yield b"".join(group)
            group, size = [], 0
        group.append(exchange.data)
        size += n
    if group:
        yield b"".join(group)


class Client:
    """A connection to the kernel's IPVS, in this or another network namespace.

    Every method validates its arguments before any system call. A client may
    be shared between threads: each call holds the client's lock for its
    whole exchange with the kernel, so concurrent calls run one after the
    other (use one client per thread for parallel reads).

    Args:
        netns: None for the caller's namespace, a name under /var/run/netns,
            or a path such as ``/proc/1234/ns/net``. The socket is opened
            inside it; the calling thread always returns to its own namespace.
        rcvbuf: receive buffer size (bytes) for the socket.
        sndbuf: send buffer size (bytes) for the socket.
        lock: hold the namespace's writer lock while writing (see below).
        lock_timeout: seconds to wait for another writer's lock; None waits
            forever, 0 not at all.

    Every write (and the reads an apply or a transaction makes before it
    writes) holds an advisory lock on the network namespace's IPVS table,
    ``/run/ipvs/netns-<id>.lock`` (``IPVS_LOCK_DIR`` moves it), as ``iptables
    -w`` holds ``xtables.lock``: cooperating writers, in this process or
    others, take turns, and a plan is checked against the kernel under the
    lock before it is sent, so one writer never undoes another's acknowledged
    change. ``ipvsadm`` and other tools do not take the lock.

    Raises:
        ValidationError: an argument has the wrong type or value.
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
        lock: bool = True,
        lock_timeout: float | None = 30.0,
    ) -> None:
        self.netns = netns
        self._writers = writers_lock(netns, lock, lock_timeout)
        # the namespace this client works in, for what is read outside netlink
        self._home = (
            os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC) if netns is None else -1
        )
        self._sock = NetlinkSocket(netns, rcvbuf=rcvbuf, sndbuf=sndbuf)
        self._links = Links(netns)
        self._conv = Conversation()
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the socket; later calls raise :class:`~ipvs.errors.IPVSError`."""
        if self._writers is not None:
            self._writers.close()
        if self._home >= 0:
            os.close(self._home)
            self._home = -1
        with self._lock:
            self._sock.close()
            self._links.close()

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
        with self._lock:
            self._ready()
            return self._conv.require_family()

    # -- I/O -----------------------------------------------------------------------

    def _ready(self) -> None:
        if self._sock.closed:
            raise IPVSError("this client is closed")
        if self._conv.family_id is None:
            self._exchange(self._conv.resolve_family())

    def _exchange(self, exchange: Exchange[T]) -> T:
        sock, conv = self._sock, self._conv
        try:
            sock.send(exchange.data)
            while not exchange.done:
                view = sock.recv()
                assert view is not None
                conv.receive_data(view)
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            conv.forget(exchange)
            raise
        return exchange.result()

    def _pipeline(self, step: PipelineStep) -> Pipeline:
        sock, conv = self._sock, self._conv
        pipeline, progress = step.pipeline, step.progress
        total = len(pipeline)
        try:
            for chunk in pipeline.chunks(sock.max_send):
                sock.send(chunk)
                while not pipeline.done and (view := sock.recv(block=False)) is not None:
                    conv.receive_data(view)
                if progress is not None:
                    progress(pipeline.sent, total)
            while not pipeline.done:
                view = sock.recv()
                assert view is not None
                conv.receive_data(view)
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            conv.forget(pipeline)
            raise
        return pipeline

    def _together(self, step: Together) -> list[Exchange[Any]]:
        sock, conv = self._sock, self._conv
        try:
            for chunk in _grouped(step.exchanges, sock.max_send):
                sock.send(chunk)
            for exchange in step.exchanges:
                while not exchange.done:
                    view = sock.recv()
                    assert view is not None
                    conv.receive_data(view)
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            for exchange in step.exchanges:
                conv.forget(exchange)
            raise
        return step.exchanges

    def _prepared(self, make: Callable[[Conversation], Exchange[T]]) -> Exchange[T]:
        """Build the exchange (its checks come before any system call), then the family."""
        if self._sock.closed:
            raise IPVSError("this client is closed")
        try:
            return make(self._conv)
        except FamilyUnknown:
            self._ready()
            return make(self._conv)

    def _call(self, make: Callable[[Conversation], Exchange[T]], *, write: bool = False) -> T:
        with self._lock:
            exchange = self._prepared(make)
            if not write or self._writers is None:
                return self._exchange(exchange)
            take(self._writers)
            try:
                return self._exchange(exchange)
            except IPVSError as exc:
                with_loopback_hint(exc, self.netns)
                raise
            finally:
                self._writers.release()

    def _drive(self, make: Callable[[Conversation], Flow[T]], *, write: bool = False) -> T:
        with self._lock:
            self._ready()
            if not write or self._writers is None:
                return self._run_flow(make)
            take(self._writers)
            try:
                return self._run_flow(make)
            except IPVSError as exc:
                with_loopback_hint(exc, self.netns)
                raise
            finally:
                self._writers.release()

    def _run_flow(self, make: Callable[[Conversation], Flow[T]]) -> T:
        flow = make(self._conv)
        value: Any = None
        error: IPVSError | None = None
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                if isinstance(step, PipelineStep):
                    value, error = self._pipeline(step), None
                elif isinstance(step, Together):
                    value, error = self._together(step), None
                elif isinstance(step, (ReadLink, ChangeLinks)):
                    value, error = self._links.run(step), None
                else:
                    value, error = self._exchange(step), None
            except IPVSError as exc:
                value, error = None, exc

    # -- reads -------------------------------------------------------------------

    def info(self) -> Info:
        """Return the IPVS version and connection table size.

        Returns:
            The kernel's answer.

        Raises:
            IPVSUnavailable: no IPVS.
            IPVSPermissionError: no CAP_NET_ADMIN.
        """
        return self._call(lambda c: c.info())

    def services(self) -> list[Service]:
        """Return every service, with its statistics.

        Returns:
            The services, in the kernel's order.
        """
        return self._call(lambda c: c.services())

    def service(self, key: Service | ServiceKey) -> Service:
        """Return one service, with its statistics.

        Args:
            key: the service or its key.

        Returns:
            The service as the kernel has it.

        Raises:
            ServiceNotFound: no such service.
        """
        return self._call(lambda c: c.service(key))

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
        return self._drive(lambda c: _flows.destinations(c, service))

    def timeouts(self) -> Timeouts:
        """Return the TCP, TCP FIN and UDP connection timeouts.

        Returns:
            The timeouts in seconds.
        """
        return self._call(lambda c: c.timeouts())

    def daemons(self) -> list[SyncDaemon]:
        """Return the running connection synchronisation daemons.

        Returns:
            Zero to two daemons (master first).
        """
        return self._call(lambda c: c.daemons())

    def connections(self) -> list[Connection]:
        """Return the kernel's connection table (what ``ipvsadm -Lnc`` lists).

        Read from ``/proc/net/ip_vs_conn`` of the client's network namespace
        (generic netlink has no command for it).

        Returns:
            The connections and persistence templates.

        Raises:
            NetnsError: the table cannot be read.
        """
        if self._sock.closed:
            raise IPVSError("this client is closed")
        return read_connections(self.netns if self.netns is not None else self._home)

    def snapshot(self) -> Table:
        """Read the whole table: every service with its destinations and stats.

        One dump lists the services; then one destination dump per service
        (the kernel has no other way), run back to back on the one socket.

        Returns:
            The table.
        """
        return self._drive(_flows.snapshot)

    # -- writes ------------------------------------------------------------------

    def add_service(self, service: Service) -> None:
        """Create a virtual service.

        Args:
            service: the service.

        Raises:
            ServiceExists: it exists already.
            SchedulerNotFound: unknown scheduler or persistence engine.
        """
        self._call(lambda c: c.add_service(service), write=True)

    def update_service(self, service: Service) -> None:
        """Change a service's settings (scheduler, flags, timeout, netmask, PE).

        Args:
            service: the service with its new settings.

        Raises:
            ServiceNotFound: no such service.
            SchedulerNotFound: unknown scheduler or persistence engine.
        """
        self._call(lambda c: c.update_service(service), write=True)

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Delete a virtual service and its destinations.

        Args:
            service: the service or its key.

        Raises:
            ServiceNotFound: no such service.
        """
        self._call(lambda c: c.delete_service(service), write=True)

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
        self._call(lambda c: c.add_destination(service, destination), write=True)

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Change a destination's settings (weight, method, thresholds, tunnel).

        Args:
            service: the service or its key.
            destination: the destination with its new settings.

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        self._call(lambda c: c.update_destination(service, destination), write=True)

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Remove a destination from a service.

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        self._call(lambda c: c.delete_destination(service, destination), write=True)

    def set_timeouts(self, timeouts: Timeouts) -> None:
        """Set the connection timeouts (a value of 0 leaves that one unchanged).

        Args:
            timeouts: the new timeouts.

        Raises:
            InvalidArgument: a value is out of the kernel's range.
        """
        self._call(lambda c: c.set_timeouts(timeouts))

    def start_daemon(self, daemon: SyncDaemon) -> None:
        """Start a connection synchronisation daemon.

        Args:
            daemon: its settings.

        Raises:
            DaemonExists: a daemon in that state runs already.
            InvalidArgument: unknown interface or bad settings.
        """
        self._call(lambda c: c.start_daemon(daemon))

    def stop_daemon(self, state: DaemonState | SyncDaemon | str) -> None:
        """Stop the master or backup synchronisation daemon.

        Args:
            state: :attr:`DaemonState.MASTER` or ``BACKUP`` (or a
                :class:`SyncDaemon`, or ``"master"``/``"backup"``).

        Raises:
            DaemonNotFound: no such daemon runs.
            ValidationError: ``state`` is none of these.
        """
        which = daemon_state(state)
        self._call(lambda c: c.stop_daemon(which))

    def zero(self, service: Service | ServiceKey | None = None) -> None:
        """Reset statistics: of one service and its destinations, or of everything.

        Args:
            service: the service, or None for all.

        Raises:
            ServiceNotFound: no such service.
        """
        self._call(lambda c: c.zero(service))

    def flush(self) -> None:
        """Delete every service and destination in the namespace."""
        self._call(lambda c: c.flush(), write=True)

    # -- batches, plans, transactions ---------------------------------------------

    def _send_writes(self, writes: list[Write], progress: Progress) -> list[KernelError]:
        failures = self._drive(lambda c: _flows.send_writes(c, writes, progress), write=True)
        return [failures[i] for i in sorted(failures)]

    def batch(self) -> Batch:
        """Queue writes and send them pipelined when the ``with`` block ends.

        Returns:
            A :class:`Batch`; as a context manager it raises
            :class:`~ipvs.errors.BatchError` listing the failed operations
            (the others were applied).

        Example:
            .. code-block:: python

                with client.batch() as b:
                    b.add_service(svc)
                    for d in dests:
                        b.add_destination(svc, d)
        """
        return Batch(self._send_writes)

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
        bind: Binding | str | None = None,
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
            bind: also bind the services' addresses to a dummy interface
                (a :class:`~ipvs.Binding`, or an interface name): the plan's
                :attr:`~ipvs.Plan.addresses`. Needs pyroute2.

        Returns:
            The plan, the new known state and the pending drains.

        Raises:
            ApplyError: an operation failed; everything was rolled back.
            AddressError: binding or unbinding an address failed; everything
                was rolled back.
            ConflictError: the kernel did not hold the state the plan assumed.
            RollbackError: the rollback failed too.
            ValidationError: ``desired`` is outside ``scope``, or the binding's
                interface exists and is not a dummy one.
            MissingDependency: ``bind`` is given and pyroute2 is not installed
                (nothing was sent).
        """
        _checks.apply_args(desired, current, scope, progress)
        binding_ = binding(bind)
        if binding_ is not None:
            require()
        return self._drive(
            lambda c: _flows.apply(
                c,
                desired,
                scope=scope,
                drain=drain,
                dry_run=dry_run,
                current=current,
                verify=verify,
                progress=progress,
                bind=binding_,
            ),
            write=True,
        )

    def apply_plan(
        self,
        plan: Plan,
        *,
        verify: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ApplyResult:
        """Apply a plan made by :func:`ipvs.diff`, all or nothing.

        Args:
            plan: the plan.
            verify: read the touched services back afterwards and compare.
            progress: called with (operations sent, total) while sending.

        Returns:
            The result with the new known state.

        Raises:
            ConflictError: the kernel was not in the state the plan assumed; rolled back.
            ApplyError: an operation failed; rolled back.
            AddressError: an address step failed; rolled back.
            RollbackError: rolling back failed too.
            OutcomeUnknown: replies were lost; the state is unknown.
            MissingDependency: the plan has address steps and pyroute2 is
                not installed (nothing was sent).
        """
        _checks.plan_arg(plan, progress)
        if plan.addresses:
            require()
        return self._drive(
            lambda c: _flows.apply_plan(c, plan, verify=verify, progress=progress), write=True
        )

    def transaction(self, current: Table | None = None) -> Transaction:
        """Queue changes; commit them all on a clean exit, none on an exception.

        Args:
            current: the known current state (default: a snapshot at start).

        Returns:
            A :class:`~ipvs.Transaction` context manager.
        """
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

        A drain whose destination got a non-zero weight again (someone re-added
        it) is dropped from the list without deleting anything.

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
        drains = _checks.reap_args(drains, grace, since, current, clock)
        now = (clock or time.monotonic)()
        return self._drive(
            lambda c: _flows.reap(
                c,
                drains,
                now=now,
                grace=grace,
                since=since,
                current=current,
                count_inactive=count_inactive,
            ),
            write=True,
        )
