"""The health checker: probes on a schedule, decisions in the model, changes applied.

One asyncio task per check of each destination runs its probes; each
outcome goes to the :class:`~ipvs.health.HealthModel`, and when the table
must change, one more task applies it with the known state. Changes that
happen in the same turn of the event loop (several destinations failing
together) go to the kernel in one apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ipvs._client._async import AsyncClient
from ipvs._model import DestinationKey, ServiceKey, Table
from ipvs._plan import ApplyResult, Binding, Scope
from ipvs.errors import ConflictError, IPVSError, ValidationError
from ipvs.health._checks import Check, CommandCheck
from ipvs.health._config import CheckedService, Hook
from ipvs.health._events import (
    ApplyFailed,
    DestinationDown,
    DestinationUp,
    HealthEvent,
    ProbeResult,
    QuorumGained,
    QuorumLost,
)
from ipvs.health._probes import probe
from ipvs.health._state import HealthModel, ServiceStatus

__all__ = ["EventStream", "HealthChecker", "logger"]

#: The logger of the health checker: state changes at INFO and WARNING,
#: probe results at DEBUG.
logger = logging.getLogger("ipvs.health")

_END = object()


class EventStream:
    """The checker's events, as an async iterator (from :meth:`HealthChecker.events`).

    Events are queued from the moment the stream is made, so none is missed
    between making it and reading it. The iteration ends when the checker
    stops; :meth:`close` (or leaving a ``with`` block) ends the subscription.
    """

    def __init__(self, unsubscribe: Callable[[EventStream], None], probes: bool) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._unsubscribe = unsubscribe
        self.probes = probes
        self._ended = False

    def _put(self, item: Any) -> None:
        self._queue.put_nowait(item)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> HealthEvent:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def next(
        self,
        kind: type[HealthEvent]
        | tuple[type[HealthEvent], ...]
        | Callable[[HealthEvent], bool]
        | None = None,
        *,
        timeout: float | None = None,
    ) -> HealthEvent:
        """Wait for the next event, or the next one that matches.

        Args:
            kind: an event class (or a tuple of them), or a predicate on
                events; None for any event. Events that do not match are
                skipped.
            timeout: seconds to wait at most (None: no limit).

        Returns:
            The event.

        Raises:
            TimeoutError: none came within ``timeout``.
            IPVSError: the checker stopped first.
        """
        if kind is None:
            match: Callable[[HealthEvent], bool] = lambda _e: True  # noqa: E731
        elif isinstance(kind, (type, tuple)):
            classes = kind
            match = lambda e: isinstance(e, classes)  # noqa: E731
        else:
            match = kind
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                event = await asyncio.wait_for(self.__anext__(), left)
            except asyncio.TimeoutError:
                raise TimeoutError(f"no matching event within {timeout:g} s") from None
            except StopAsyncIteration:
                raise IPVSError("the health checker stopped") from None
            if match(event):
                return event

    def close(self) -> None:
        """Stop receiving events."""
        self._unsubscribe(self)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@attrs.frozen(slots=True)
class _Callback:
    function: Hook
    probes: bool


class HealthChecker:
    """Keep the kernel's table in line with the health of the destinations.

    It owns the given services: on :meth:`start` it takes one snapshot and
    applies the services as their checks' initial states say; then each
    check probes on its schedule, from the network namespace the client
    programs, and every change of state is applied through
    ``client.apply(desired, current=known)`` with the table the kernel is
    known to hold: no snapshot per change, changes of the same moment in
    one apply. If the kernel turns out to differ (a
    :class:`~ipvs.ConflictError`), the checker takes a new snapshot and
    tries once more, and logs it; if applying still fails it reports an
    :class:`ApplyFailed` event and tries again ``retry_delay`` seconds later
    with a new snapshot.

    State changes arrive as events (:meth:`events`, :meth:`subscribe`, the
    hooks of the configuration) and are logged to the ``ipvs.health``
    logger. Stopping leaves the kernel as it is.

    While it runs, :meth:`reconfigure` changes the services it keeps (the
    checks that stay keep their state), and :meth:`resync` compares the
    kernel with what it should hold and repairs what others changed. Every
    apply of the checker runs one at a time.

    Args:
        client: the client; probes run in its namespace (``client.netns``).
            The checker does not close it.
        services: the services to keep (:class:`CheckedService`).
        retry_delay: seconds before applying again after a failure.
        bind: also bind the services' addresses to a dummy interface (a
            :class:`~ipvs.Binding`, or an interface name), at the start,
            on :meth:`reconfigure` and on :meth:`resync` (changes of health
            never change which services exist).

    Raises:
        ValidationError: the configuration is invalid (a service listed twice).

    Example:
        .. code-block:: python

            async with ipvs.AsyncClient(netns=director) as client:
                checker = health.HealthChecker(client, [web])
                async with checker:                       # start ... stop
                    async for event in checker.events():
                        print(event.describe())
    """

    def __init__(
        self,
        client: AsyncClient,
        services: Iterable[CheckedService],
        *,
        retry_delay: float = 1.0,
        bind: Binding | str | None = None,
    ) -> None:
        self.client = client
        self.model = HealthModel(services)
        if not isinstance(retry_delay, (int, float)) or retry_delay <= 0:
            raise ValidationError(f"retry_delay must be positive, got {retry_delay!r}")
        self.retry_delay = float(retry_delay)
        if isinstance(bind, str):
            bind = Binding(interface=bind)
        if bind is not None and not isinstance(bind, Binding):
            raise ValidationError(f"bind: expected a Binding or an interface name, got {bind!r}")
        self.bind: Binding | None = bind
        self._applying: asyncio.Lock | None = None
        self._scope = self.model.scope()
        self._known: Table | None = None
        self._pending: list[HealthEvent] = []
        self._wake: asyncio.Event | None = None
        self._halt: asyncio.Event | None = None
        self._streams: list[EventStream] = []
        self._callbacks: list[_Callback] = []
        self._tasks: dict[tuple[ServiceKey, DestinationKey, int], asyncio.Task[None]] = {}
        self._reconciler: asyncio.Task[None] | None = None
        self._hooks: set[asyncio.Task[Any]] = set()
        self._state = "new"
        #: How many applies reached the kernel (the first one included).
        self.applies = 0

    def __repr__(self) -> str:
        return f"<HealthChecker {self._state}: {len(self.model.services)} services>"

    # -- what it knows -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._state == "running"

    @property
    def table(self) -> Table | None:
        """The table the kernel is known to hold (None before the start or after a failure)."""
        return self._known

    def status(self) -> tuple[ServiceStatus, ...]:
        """Where every service and destination stands (see :meth:`HealthModel.status`)."""
        return self.model.status()

    # -- events ------------------------------------------------------------------------

    def events(self, *, probes: bool = False) -> EventStream:
        """Subscribe to the events, as an async iterator.

        Args:
            probes: also deliver a :class:`ProbeResult` for every probe.

        Returns:
            The stream; ``async for event in stream`` ends when the checker
            stops. Use :meth:`EventStream.next` to wait for one event.
        """
        stream = EventStream(self._drop_stream, probes)
        if self._state == "stopped":
            stream._put(_END)
        else:
            self._streams.append(stream)
        return stream

    def _drop_stream(self, stream: EventStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)

    def subscribe(self, callback: Hook, *, probes: bool = False) -> Callable[[], None]:
        """Call ``callback(event)`` for every event.

        A callback that returns an awaitable (a coroutine function) runs as
        a task; an exception in a callback is logged and otherwise ignored.

        Args:
            callback: the function.
            probes: also call it with a :class:`ProbeResult` for every probe.

        Returns:
            A function that unsubscribes.
        """
        if not callable(callback):
            raise ValidationError("subscribe: the callback must be callable")
        entry = _Callback(callback, probes)
        self._callbacks.append(entry)

        def unsubscribe() -> None:
            if entry in self._callbacks:
                self._callbacks.remove(entry)

        return unsubscribe

    def _publish(self, events: Iterable[HealthEvent]) -> None:
        for event in events:
            probe_result = isinstance(event, ProbeResult)
            for stream in list(self._streams):
                if stream.probes or not probe_result:
                    stream._put(event)
            for callback in list(self._callbacks):
                if callback.probes or not probe_result:
                    self._call(callback.function, event)
            for hook in self._hooks_for(event):
                self._call(hook, event)

    def _hooks_for(self, event: HealthEvent) -> list[Hook]:
        if isinstance(event, (QuorumLost, QuorumGained)):
            config = next(c for c in self.model.services if c.key == event.service)
            hook = config.on_quorum_down if isinstance(event, QuorumLost) else config.on_quorum_up
            return [hook] if hook is not None else []
        if isinstance(event, (DestinationUp, DestinationDown)):
            config = next(c for c in self.model.services if c.key == event.service)
            member = next(m for m in config.destinations if m.destination == event.destination)
            hook = member.on_up if isinstance(event, DestinationUp) else member.on_down
            return [hook] if hook is not None else []
        return []

    def _call(self, function: Hook, event: HealthEvent) -> None:
        try:
            result = function(event)
        except Exception:
            logger.exception("a health event callback failed on %s", event.describe())
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._hooks.add(task)
            task.add_done_callback(self._hook_done)

    def _hook_done(self, task: asyncio.Task[Any]) -> None:
        self._hooks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a health event hook failed", exc_info=task.exception())

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Take a snapshot, apply the initial state, and start probing.

        Raises:
            IPVSError: the checker was started before, or a command check
                needs ``nsenter`` and there is none; or the kernel refused
                the initial table (the error of
                :meth:`~ipvs.AsyncClient.apply`); then nothing runs.
        """
        if self._state != "new":
            raise IPVSError(f"the health checker cannot start: it is {self._state}")
        self._check_nsenter(self.model)
        self._state = "starting"
        try:
            self._known = await self.client.snapshot()
            now = time.monotonic()
            events = self.model.initial_events(now)
            async with self._lock():
                await self._apply(full=True)
        except BaseException:
            self._state = "new"
            raise
        applied_at = time.monotonic()
        self._state = "running"
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()
        logger.info(
            "health checker started: %d services, %d checks",
            len(self.model.services),
            sum(len(m.checks) for s in self.model.services for m in s.destinations),
        )
        self._log(events)
        self._publish([attrs.evolve(e, applied_at=applied_at) for e in events])
        self._reconciler = asyncio.ensure_future(self._reconcile())
        await self._start_probes(HealthModel([]))

    def _check_nsenter(self, model: HealthModel) -> None:
        needs_nsenter = self.client.netns is not None and any(
            isinstance(c, CommandCheck)
            for s in model.services
            for m in s.destinations
            for c in m.checks
        )
        if needs_nsenter and shutil.which("nsenter") is None:
            raise IPVSError("command checks in a network namespace need nsenter (util-linux)")

    async def _start_probes(self, previous: HealthModel) -> None:
        """Probe what the model checks: keep the tasks of checks that stay, end the others."""
        wanted: dict[tuple[ServiceKey, DestinationKey, int], Check] = {
            (config.key, member.key, index): check
            for config in self.model.services
            for member in config.destinations
            for index, check in enumerate(member.checks)
        }
        before: dict[tuple[ServiceKey, DestinationKey, int], Check] = {
            (config.key, member.key, index): check
            for config in previous.services
            for member in config.destinations
            for index, check in enumerate(member.checks)
        }
        retired = [
            task
            for key, task in self._tasks.items()
            if key not in wanted or before.get(key) != wanted[key]
        ]
        self._tasks = {k: t for k, t in self._tasks.items() if t not in retired}
        for task in retired:
            task.cancel()
        for key, check in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.ensure_future(self._probe_loop(*key, check))
        if retired:
            await asyncio.gather(*retired, return_exceptions=True)

    def _lock(self) -> asyncio.Lock:
        if self._applying is None:
            self._applying = asyncio.Lock()
        return self._applying

    async def reconfigure(self, services: Iterable[CheckedService]) -> ApplyResult | None:
        """Keep other services, or the same ones with other settings, while running.

        One apply makes the kernel match: services no longer listed are
        deleted, new ones added (their checks in their initial states),
        changed ones updated. Every check that stays (same service,
        destination, position and settings) keeps its state and its probe
        schedule; a service that stays keeps its quorum. If the apply
        fails, the checker goes on with the configuration it had.

        Args:
            services: the services to keep from now on.

        Returns:
            The apply's result (None if the kernel needed no change).

        Raises:
            ValidationError: the configuration is invalid; nothing changed.
            IPVSError: the checker is not running, or the apply failed (the
                error of :meth:`~ipvs.AsyncClient.apply`; it was rolled back).
        """
        if self._state != "running":
            raise IPVSError(f"the health checker cannot be reconfigured: it is {self._state}")
        async with self._lock():
            previous = self.model
            model = HealthModel(services, previous=previous)
            self._check_nsenter(model)
            scope = Scope.keys({*previous.keys(), *model.keys()})
            try:
                result = await self._apply(full=True, model=model, scope=scope)
            except BaseException:
                self._known = None  # a snapshot next time
                raise
            self.model = model
            self._scope = model.scope()
            events = model.changes_since(previous, time.monotonic())
            applied_at = time.monotonic()
            await self._start_probes(previous)
        added = len(set(model.keys()) - set(previous.keys()))
        removed = len(set(previous.keys()) - set(model.keys()))
        logger.info(
            "health checker reconfigured: %d services (%d added, %d removed)",
            len(model.services),
            added,
            removed,
        )
        self._log(events)
        self._publish([attrs.evolve(e, applied_at=applied_at) for e in events])
        return result

    async def resync(self) -> ApplyResult | None:
        """Compare the kernel with what the checker keeps, and repair the differences.

        A snapshot replaces the known state; the checker's services (and
        with a binding, its interface's addresses) are made as they should
        be: what another writer deleted or changed within them is put back.

        Returns:
            The apply's result (None if nothing differed).

        Raises:
            IPVSError: the checker is not running, or reading or applying failed.
        """
        if self._state != "running":
            raise IPVSError(f"the health checker cannot resync: it is {self._state}")
        async with self._lock():
            self._known = await self.client.snapshot()
            try:
                return await self._apply(full=True)
            except BaseException:
                self._known = None
                raise

    async def stop(self) -> None:
        """Stop probing, apply what is still pending, end the event streams.

        The kernel keeps the table as it is. Hooks still running are awaited.
        Safe to call twice.
        """
        if self._state != "running":
            return
        self._state = "stopping"
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        assert self._wake is not None and self._halt is not None
        assert self._reconciler is not None
        self._halt.set()
        self._wake.set()  # the reconciler applies what is pending, then ends
        await asyncio.gather(self._reconciler, return_exceptions=True)
        while self._hooks:
            await asyncio.gather(*list(self._hooks), return_exceptions=True)
        self._state = "stopped"
        for stream in self._streams:
            stream._put(_END)
        self._streams.clear()
        logger.info("health checker stopped")

    async def __aenter__(self) -> HealthChecker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- probing -----------------------------------------------------------------------

    async def _probe_loop(
        self, service: ServiceKey, destination: DestinationKey, index: int, check: Check
    ) -> None:
        loop = asyncio.get_running_loop()
        member = next(
            m
            for c in self.model.services
            if c.key == service
            for m in c.destinations
            if m.key == destination
        )
        netns = self.client.netns
        target = check.target(
            service, member.destination, os.fspath(netns) if netns is not None else None
        )
        me = asyncio.current_task()
        start = loop.time()
        # The state is checked as well as cancellation: before Python 3.12,
        # asyncio.wait_for can swallow a cancellation that comes as the probe ends.
        while self._state == "running":
            delay = start - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            start = loop.time()
            outcome = await probe(check, target)
            if self._tasks.get((service, destination, index)) is not me:
                return  # retired by a reconfiguration
            now = time.monotonic()
            try:
                events = self.model.record(service, destination, index, outcome, now)
            except Exception:  # a bug: keep probing
                logger.exception("recording a probe result failed")
                events = []
            if logger.isEnabledFor(logging.DEBUG) or self._wants_probes():
                result = ProbeResult(
                    at=now,
                    service=service,
                    destination=member.destination,
                    check=check,
                    outcome=outcome,
                    duration=loop.time() - start,
                )
                logger.debug("%s", result.describe())
                self._publish([result])
            if events:
                self._log(events)
                self._pending.extend(events)
                assert self._wake is not None
                self._wake.set()
            status = self.model.check_status(service, destination, index)
            start += check.step if status.pending else check.interval
            start = max(start, loop.time())

    def _wants_probes(self) -> bool:
        return any(s.probes for s in self._streams) or any(c.probes for c in self._callbacks)

    @staticmethod
    def _log(events: Iterable[HealthEvent]) -> None:
        for event in events:
            down = isinstance(event, (DestinationDown, QuorumLost))
            logger.log(logging.WARNING if down else logging.INFO, "%s", event.describe())

    # -- applying ----------------------------------------------------------------------

    async def _reconcile(self) -> None:
        assert self._wake is not None and self._halt is not None
        wake = self._wake
        while True:
            await wake.wait()
            await asyncio.sleep(0)  # what changes in this turn of the loop joins this apply
            wake.clear()
            events, self._pending = self._pending, []
            try:
                async with self._lock():
                    await self._apply()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._known = None  # take a snapshot next time
                logger.error(
                    "applying the health state failed: %s; again in %g s", exc, self.retry_delay
                )
                failed = ApplyFailed(at=time.monotonic(), error=exc, retry_in=self.retry_delay)
                self._publish([*events, failed])
                if self._state != "running":
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._halt.wait(), self.retry_delay)
                wake.set()
                continue
            applied_at = time.monotonic()
            self._publish([attrs.evolve(e, applied_at=applied_at) for e in events])
            if self._state != "running" and not self._pending:
                return

    async def _apply(
        self,
        *,
        full: bool = False,
        model: HealthModel | None = None,
        scope: Scope | None = None,
    ) -> ApplyResult | None:
        """Apply the desired table with the known state; on a conflict, snapshot and retry once.

        Args:
            full: also bind addresses (when the checker has a binding).
            model: the model to apply (default: the checker's).
            scope: the services the apply may touch (default: the model's);
                those the model does not keep are deleted.

        Returns:
            The result, or None when nothing had to change.
        """
        model = model if model is not None else self.model
        scope = scope if scope is not None else self._scope
        bind = self.bind if full else None
        extra: dict[str, Any] = {"bind": bind} if bind is not None else {}
        if self._known is None:
            self._known = await self.client.snapshot()
        desired = self._desired(model, scope)
        if desired is self._known and bind is None:
            return None
        try:
            result = await self.client.apply(desired, current=self._known, scope=scope, **extra)
        except ConflictError as exc:
            logger.warning(
                "the kernel changed behind the health checker (%s); "
                "taking a snapshot and applying again",
                exc,
            )
            self._known = await self.client.snapshot()
            desired = self._desired(model, scope)
            result = await self.client.apply(desired, current=self._known, scope=scope, **extra)
        self._record(result)
        return result if result.plan else None

    def _desired(self, model: HealthModel, scope: Scope) -> Table:
        assert self._known is not None
        if model is self.model and scope is self._scope:
            return model.desired(self._known)  # the scope holds exactly the model's services
        return _desired(model, self._known, scope)

    def _record(self, result: ApplyResult) -> None:
        self._known = result.table
        if result.plan:
            self.applies += 1
            logger.info("applied %d operations: %s", len(result.plan), result.plan.summary())
            for op in result.plan:
                logger.debug("  %s", op.describe())


def _desired(model: HealthModel, known: Table, scope: Scope) -> Table:
    """The table to apply: the model's services as they should be, others in scope deleted."""
    table = model.desired(known)
    kept = set(model.keys())
    for key in [k for k in known if k not in kept and scope(k) and k in table]:
        table = table.without_service(key)
    return table
