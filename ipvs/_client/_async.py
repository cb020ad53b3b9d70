"""The asyncio client: :class:`AsyncClient`, the same operations as :class:`~ipvs.Client`.

It drives the same :class:`~ipvs.netlink.Conversation` and the same flows with
the event loop's readiness callbacks: no thread, no blocking call (opening the
socket in another network namespace switches the calling thread for a moment).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ipvs._client import _checks, _flows
from ipvs._client._batch import AsyncBatch, Progress
from ipvs._client._connections import read_connections
from ipvs._client._flows import Flow, PipelineStep, Together
from ipvs._client._lock import take_async, with_loopback_hint, writers_lock
from ipvs._client._socket import DEFAULT_RCVBUF, DEFAULT_SNDBUF, NetlinkSocket
from ipvs._client._sync import _grouped, daemon_state
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
from ipvs.errors import FamilyUnknown, IPVSError, KernelError, OutcomeUnknown
from ipvs.netlink import Conversation, Exchange, Pipeline, Write

__all__ = ["AsyncClient"]

T = TypeVar("T")


#: Seconds of work after which a long exchange lets other tasks run.
_SHARE_EVERY = 0.002


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class AsyncClient:
    """A connection to the kernel's IPVS for asyncio programs (see :class:`~ipvs.Client`).

    Every method of :class:`~ipvs.Client` exists here as a coroutine, with the
    same arguments, results and errors; :meth:`batch` and :meth:`transaction`
    are used with ``async with``, and :meth:`family_id` is a coroutine where
    ``Client.family_id`` is a property. Tasks may share a client: each call holds
    the client's lock for its whole exchange with the kernel. Use it from one
    event loop.

    Args:
        netns: None for the caller's namespace, a name under /var/run/netns,
            or a path such as ``/proc/1234/ns/net``. The socket is opened
            inside it; the calling thread always returns to its own namespace.
        rcvbuf: receive buffer size (bytes) for the socket.
        sndbuf: send buffer size (bytes) for the socket.

    Raises:
        ValidationError: an argument has the wrong type or value.
        NetnsError: the namespace cannot be entered.

    Example:
        .. code-block:: python

            async with ipvs.AsyncClient() as client:
                await client.add_service(ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr"))
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
        self._sock = NetlinkSocket(netns, rcvbuf=rcvbuf, sndbuf=sndbuf, blocking=False)
        self._links = Links(netns)
        self._conv = Conversation()
        self._lock: asyncio.Lock | None = None
        self._yielded = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the socket; later calls raise :class:`~ipvs.errors.IPVSError`."""
        if self._writers is not None:
            self._writers.close()
        if self._home >= 0:
            os.close(self._home)
            self._home = -1
        self._sock.close()
        self._links.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" netns={self.netns!r}" if self.netns is not None else ""
        return f"<ipvs.AsyncClient{where}>"

    async def family_id(self) -> int:
        """Return the generic netlink id of the IPVS family (resolved on first use).

        Returns:
            The id.

        Raises:
            IPVSUnavailable: the kernel has no IPVS.
        """
        async with self._locked():
            await self._ready()
            return self._conv.require_family()

    # -- I/O -----------------------------------------------------------------------

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _ready(self) -> None:
        if self._sock.closed:
            raise IPVSError("this client is closed")
        if self._conv.family_id is None:
            await self._exchange(self._conv.resolve_family())

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self._sock.fileno()
        loop.add_reader(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    async def _receive(self) -> None:
        """Wait for one datagram and feed it to the conversation."""
        sock = self._sock
        view = sock.recv(block=False)
        if view is None:
            while view is None:
                await self._readable()
                view = sock.recv(block=False)
            self._conv.receive_data(view)
            self._yielded = time.monotonic()
        else:
            self._conv.receive_data(view)
            await self._share()

    async def _share(self) -> None:
        """Let other tasks run now and then while the kernel answers without a pause."""
        now = time.monotonic()
        if now - self._yielded > _SHARE_EVERY:
            self._yielded = now
            await asyncio.sleep(0)

    async def _exchange(self, exchange: Exchange[T]) -> T:
        conv = self._conv
        try:
            self._sock.send(exchange.data)
            while not exchange.done:
                await self._receive()
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            conv.forget(exchange)
            raise
        return exchange.result()

    async def _pipeline(self, step: PipelineStep) -> Pipeline:
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
                await self._share()
            while not pipeline.done:
                await self._receive()
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            conv.forget(pipeline)
            raise
        return pipeline

    async def _together(self, step: Together) -> list[Exchange[Any]]:
        sock, conv = self._sock, self._conv
        try:
            for chunk in _grouped(step.exchanges, sock.max_send):
                sock.send(chunk)
            for exchange in step.exchanges:
                while not exchange.done:
                    await self._receive()
        except OutcomeUnknown:
            conv.abandon()
            raise
        except BaseException:
            for exchange in step.exchanges:
                conv.forget(exchange)
            raise
        return step.exchanges

    async def _prepared(self, make: Callable[[Conversation], Exchange[T]]) -> Exchange[T]:
        """Build the exchange (its checks come before any system call), then the family."""
        if self._sock.closed:
            raise IPVSError("this client is closed")
        try:
            return make(self._conv)
        except FamilyUnknown:
            await self._ready()
            return make(self._conv)

    async def _call(self, make: Callable[[Conversation], Exchange[T]], *, write: bool = False) -> T:
        async with self._locked():
            exchange = await self._prepared(make)
            if not write or self._writers is None:
                return await self._exchange(exchange)
            await take_async(self._writers)
            try:
                return await self._exchange(exchange)
            except IPVSError as exc:
                with_loopback_hint(exc, self.netns)
                raise
            finally:
                self._writers.release()

    async def _drive(self, make: Callable[[Conversation], Flow[T]], *, write: bool = False) -> T:
        async with self._locked():
            await self._ready()
            if not write or self._writers is None:
                return await self._run_flow(make)
            await take_async(self._writers)
            try:
                return await self._run_flow(make)
            except IPVSError as exc:
                with_loopback_hint(exc, self.netns)
                raise
            finally:
                self._writers.release()

    async def _run_flow(self, make: Callable[[Conversation], Flow[T]]) -> T:
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
                    value, error = await self._pipeline(step), None
                elif isinstance(step, Together):
                    value, error = await self._together(step), None
                elif isinstance(step, (ReadLink, ChangeLinks)):
                    value, error = await asyncio.to_thread(self._links.run_blocking, step), None
                else:
                    value, error = await self._exchange(step), None
            except IPVSError as exc:
                value, error = None, exc

    # -- reads -------------------------------------------------------------------

    async def info(self) -> Info:
        """As :meth:`ipvs.Client.info`."""
        return await self._call(lambda c: c.info())

    async def services(self) -> list[Service]:
        """As :meth:`ipvs.Client.services`."""
        return await self._call(lambda c: c.services())

    async def service(self, key: Service | ServiceKey) -> Service:
        """As :meth:`ipvs.Client.service`."""
        return await self._call(lambda c: c.service(key))

    async def destinations(self, service: Service | ServiceKey) -> list[Destination]:
        """As :meth:`ipvs.Client.destinations`."""
        return await self._drive(lambda c: _flows.destinations(c, service))

    async def timeouts(self) -> Timeouts:
        """As :meth:`ipvs.Client.timeouts`."""
        return await self._call(lambda c: c.timeouts())

    async def daemons(self) -> list[SyncDaemon]:
        """As :meth:`ipvs.Client.daemons`."""
        return await self._call(lambda c: c.daemons())

    async def connections(self) -> list[Connection]:
        """As :meth:`ipvs.Client.connections`."""
        if self._sock.closed:
            raise IPVSError("this client is closed")
        return read_connections(self.netns if self.netns is not None else self._home)

    async def snapshot(self) -> Table:
        """As :meth:`ipvs.Client.snapshot`."""
        return await self._drive(_flows.snapshot)

    # -- writes ------------------------------------------------------------------

    async def add_service(self, service: Service) -> None:
        """As :meth:`ipvs.Client.add_service`."""
        await self._call(lambda c: c.add_service(service), write=True)

    async def update_service(self, service: Service) -> None:
        """As :meth:`ipvs.Client.update_service`."""
        await self._call(lambda c: c.update_service(service), write=True)

    async def delete_service(self, service: Service | ServiceKey) -> None:
        """As :meth:`ipvs.Client.delete_service`."""
        await self._call(lambda c: c.delete_service(service), write=True)

    async def add_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> None:
        """As :meth:`ipvs.Client.add_destination`."""
        await self._call(lambda c: c.add_destination(service, destination), write=True)

    async def update_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> None:
        """As :meth:`ipvs.Client.update_destination`."""
        await self._call(lambda c: c.update_destination(service, destination), write=True)

    async def delete_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> None:
        """As :meth:`ipvs.Client.delete_destination`."""
        await self._call(lambda c: c.delete_destination(service, destination), write=True)

    async def set_timeouts(self, timeouts: Timeouts) -> None:
        """As :meth:`ipvs.Client.set_timeouts`."""
        await self._call(lambda c: c.set_timeouts(timeouts))

    async def start_daemon(self, daemon: SyncDaemon) -> None:
        """As :meth:`ipvs.Client.start_daemon`."""
        await self._call(lambda c: c.start_daemon(daemon))

    async def stop_daemon(self, state: DaemonState | SyncDaemon | str) -> None:
        """As :meth:`ipvs.Client.stop_daemon`."""
        which = daemon_state(state)
        await self._call(lambda c: c.stop_daemon(which))

    async def zero(self, service: Service | ServiceKey | None = None) -> None:
        """As :meth:`ipvs.Client.zero`."""
        await self._call(lambda c: c.zero(service))

    async def flush(self) -> None:
        """As :meth:`ipvs.Client.flush`."""
        await self._call(lambda c: c.flush(), write=True)

    # -- batches, plans, transactions ---------------------------------------------

    async def _send_writes(self, writes: list[Write], progress: Progress) -> list[KernelError]:
        failures = await self._drive(lambda c: _flows.send_writes(c, writes, progress), write=True)
        return [failures[i] for i in sorted(failures)]

    def batch(self) -> AsyncBatch:
        """Queue writes and send them pipelined when the ``with`` block ends.

        Returns:
            An :class:`~ipvs.AsyncBatch`; as an async context manager it raises
            :class:`~ipvs.errors.BatchError` listing the failed operations
            (the others were applied).

        Example:
            .. code-block:: python

                async with client.batch() as b:
                    b.add_service(svc)
                    for d in dests:
                        b.add_destination(svc, d)
        """
        return AsyncBatch(self._send_writes)

    async def apply(
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
        """As :meth:`ipvs.Client.apply`."""
        _checks.apply_args(desired, current, scope, progress)
        binding_ = binding(bind)
        if binding_ is not None:
            require()
        return await self._drive(
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

    async def apply_plan(
        self,
        plan: Plan,
        *,
        verify: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ApplyResult:
        """As :meth:`ipvs.Client.apply_plan`."""
        _checks.plan_arg(plan, progress)
        if plan.addresses:
            require()
        return await self._drive(
            lambda c: _flows.apply_plan(c, plan, verify=verify, progress=progress), write=True
        )

    def transaction(self, current: Table | None = None) -> Transaction:
        """Queue changes; commit them all on a clean exit, none on an exception.

        Args:
            current: the known current state (default: a snapshot at start).

        Returns:
            A :class:`~ipvs.Transaction`, used with ``async with``.
        """
        return Transaction(self, current)

    async def reap(
        self,
        drains: Iterable[Drain],
        *,
        grace: float | None = None,
        since: dict[Any, float] | None = None,
        current: Table | None = None,
        count_inactive: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> ReapResult:
        """As :meth:`ipvs.Client.reap`."""
        drains = _checks.reap_args(drains, grace, since, current, clock)
        now = (clock or time.monotonic)()
        return await self._drive(
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
