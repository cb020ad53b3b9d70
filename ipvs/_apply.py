"""Apply plans all or nothing, transactions, and draining.

IPVS has no kernel transactions: every message is applied on its own. The
library gets all-or-nothing behaviour by sending a plan pipelined, learning
exactly which operations failed (errors carry sequence numbers), and undoing
every operation that did apply with its inverse, computed from the state the
plan assumed (so a deleted service comes back with all its settings and
destinations). Statistics and connection state are not restored: the kernel
cannot be told them.

Optimistic concurrency: a plan records the state it assumed. If the kernel
answers an add with "exists" or an update/delete with "not found", another
writer got there first: the plan is rolled back and :class:`ConflictError`
is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from ipvs._client import Batch, Client
from ipvs._codec import Command
from ipvs._errors import (
    DestinationExists,
    DestinationNotFound,
    IPVSError,
    KernelError,
    ServiceExists,
    ServiceNotFound,
    ValidationError,
)
from ipvs._model import Destination, Service, ServiceKey
from ipvs._plan import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Drain,
    Operation,
    Plan,
    Scope,
    UpdateDestination,
    UpdateService,
    diff,
    gc_paused,
)
from ipvs._table import ServiceEntry, Table

if TYPE_CHECKING:
    pass

__all__ = [
    "ApplyError",
    "ApplyResult",
    "ConflictError",
    "ReapResult",
    "RollbackError",
    "Transaction",
    "apply",
    "apply_plan",
    "reap",
]


class ApplyError(IPVSError):
    """An operation of a plan failed; every applied operation was undone.

    Attributes:
        operation: the first operation that failed.
        error: the kernel's error for it.
        failures: every failed operation with its error, by plan index.
        plan: the plan.
    """

    def __init__(
        self,
        plan: Plan,
        failures: dict[int, KernelError],
        *,
        note: str = "all applied operations were rolled back",
    ) -> None:
        self.plan = plan
        self.failures = failures
        first = min(failures)
        self.operation: Operation = plan.operations[first]
        self.error: KernelError = failures[first]
        more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
        super().__init__(
            f"operation {first + 1} of {len(plan)} failed: {self.operation.describe()}: "
            f"{self.error}{more}; {note}"
        )


class ConflictError(ApplyError):
    """The kernel was not in the state the plan assumed (another writer changed it).

    The plan was rolled back; take a new snapshot and plan again.
    """


class RollbackError(ApplyError):
    """An operation failed and undoing the applied ones failed too.

    The kernel is in an unknown state; take a snapshot.

    Attributes:
        rollback_failures: the inverse operations that failed, with their errors.
    """

    def __init__(
        self,
        plan: Plan,
        failures: dict[int, KernelError],
        rollback_failures: list[tuple[Operation, KernelError]],
    ) -> None:
        self.rollback_failures = rollback_failures
        shown = "; ".join(f"{op.describe()}: {err}" for op, err in rollback_failures[:3])
        super().__init__(
            plan, failures, note=f"rolling back failed too, the state is unknown: {shown}"
        )


@attrs.frozen(kw_only=True, slots=True)
class ApplyResult:
    """What :meth:`ipvs.Client.apply` did.

    Attributes:
        plan: the plan (empty when nothing had to change).
        table: the state the kernel holds now, as far as the library knows;
            pass it as ``current`` to the next apply to skip the snapshot.
        applied: False for a dry run.
        drains: destinations left draining at weight 0 (``drain=True``).
    """

    plan: Plan
    table: Table
    applied: bool = True
    drains: tuple[Drain, ...] = ()

    def __str__(self) -> str:
        return str(self.plan)


_NEW_DEST, _SET_DEST, _DEL_DEST = Command.NEW_DEST, Command.SET_DEST, Command.DEL_DEST


def _queue(batch: Batch, op: Operation) -> None:
    # Plan operations hold validated model objects: queue them directly.
    q = batch._queue_unchecked
    if isinstance(op, AddDestination):
        q("add_destination", _NEW_DEST, (op.service, op.destination), op.service, op.destination)
    elif isinstance(op, UpdateDestination):
        q("update_destination", _SET_DEST, (op.service, op.new), op.service, op.new)
    elif isinstance(op, DeleteDestination):
        q("delete_destination", _DEL_DEST, (op.service, op.destination), op.service, op.destination)
    elif isinstance(op, AddService):
        batch.add_service(op.service)
    elif isinstance(op, UpdateService):
        batch.update_service(op.new)
    else:
        batch.delete_service(op.service.key)


def send_operations(
    client: Client,
    operations: Iterable[Operation],
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, KernelError]:
    """Send plan operations pipelined; return the failures by index.

    Args:
        client: the client.
        operations: the operations.
        progress: called with (operations sent, total) while sending.

    Returns:
        The failed operations' errors by position.

    Raises:
        OutcomeUnknown: replies were lost.
    """
    batch = client.batch()
    with gc_paused():
        for op in operations:
            _queue(batch, op)
    return {err.index if err.index is not None else -1: err for err in batch.send(progress)}


_CONFLICTS: dict[type[Any], tuple[type[KernelError], ...]] = {
    AddService: (ServiceExists,),
    UpdateService: (ServiceNotFound,),
    DeleteService: (ServiceNotFound,),
    AddDestination: (DestinationExists, ServiceNotFound),
    UpdateDestination: (DestinationNotFound, ServiceNotFound),
    DeleteDestination: (DestinationNotFound, ServiceNotFound),
}


def _is_conflict(op: Operation, error: KernelError) -> bool:
    return isinstance(error, _CONFLICTS[type(op)])


def apply_plan(
    client: Client,
    plan: Plan,
    *,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Apply a plan all or nothing.

    Args:
        client: an open client.
        plan: the plan.
        verify: read the touched services back afterwards and compare.
        progress: called with (operations sent, total) while sending.

    Returns:
        The result with the new known state.

    Raises:
        ConflictError: the kernel was not in the state the plan assumed; rolled back.
        ApplyError: an operation failed; rolled back.
        RollbackError: rolling back failed too.
        OutcomeUnknown: replies were lost; the state is unknown.
    """
    ops = plan.operations
    if not ops:
        return ApplyResult(plan=plan, table=plan.current, drains=plan.drains)
    failures = send_operations(client, ops, progress)
    if failures:
        applied = [op for i, op in enumerate(ops) if i not in failures]
        inverse = [inv for op in reversed(applied) for inv in op.inverse()]
        rollback = send_operations(client, inverse) if inverse else {}
        if rollback:
            raise RollbackError(
                plan, failures, [(inverse[i], err) for i, err in sorted(rollback.items())]
            )
        first = min(failures)
        if _is_conflict(ops[first], failures[first]):
            raise ConflictError(
                plan,
                failures,
                note="the kernel changed behind the plan; all applied operations were "
                "rolled back (take a new snapshot)",
            )
        raise ApplyError(plan, failures)
    table = plan.expected()
    if verify:
        _verify(client, plan, table)
    return ApplyResult(plan=plan, table=table, drains=plan.drains)


def _verify(client: Client, plan: Plan, expected: Table) -> None:
    keys = {op.key for op in plan.operations}
    for key in keys:
        want = expected.get(key)
        try:
            service = client.service(key)
            got: ServiceEntry | None = ServiceEntry(
                service=service, destinations=client.destinations(key)
            )
        except ServiceNotFound:
            got = None
        if got != want:
            index = next(i for i, op in enumerate(plan.operations) if op.key == key)
            err = KernelError(0, "verify", key, message="the kernel holds something else")
            raise ConflictError(
                plan,
                {index: err},
                note="verification after applying found a difference (another writer?)",
            )


def apply(
    client: Client,
    desired: Table,
    *,
    scope: Scope | Callable[[ServiceKey], bool] | None = None,
    drain: bool = False,
    dry_run: bool = False,
    current: Table | None = None,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Snapshot (unless ``current`` is given), diff and apply. See :meth:`ipvs.Client.apply`.

    Args:
        client: an open client.
        desired: the wanted table.
        scope: which services may be touched.
        drain: drain removed destinations instead of deleting them.
        dry_run: only compute the plan.
        current: the known current state.
        verify: read the touched services back afterwards.
        progress: called with (operations sent, total) while sending.

    Returns:
        The result.

    Raises:
        ApplyError: see :func:`apply_plan`.
        ValidationError: ``desired`` is not a Table or is outside ``scope``.
    """
    if not isinstance(desired, Table):
        raise ValidationError(f"apply: desired must be a Table, got {type(desired).__name__}")
    if current is None:
        current = client.snapshot()
    plan = diff(current, desired, scope=scope, drain=drain)
    if dry_run:
        return ApplyResult(plan=plan, table=current, applied=False, drains=plan.drains)
    return apply_plan(client, plan, verify=verify, progress=progress)


class Transaction:
    """Changes queued locally and applied all or nothing on a clean exit.

    Each method checks the change against the state at the start of the
    transaction (plus the changes queued so far) and raises at once if it
    cannot apply, before anything is sent. On a clean exit of the ``with``
    block the changes are diffed into a plan and applied with rollback; on
    an exception nothing is sent. A finished transaction refuses further use.

    Args:
        client: an open client.
        current: the known state (default: a snapshot taken on entry).

    Attributes:
        result: the :class:`ApplyResult` after a commit.
    """

    def __init__(self, client: Client, current: Table | None = None) -> None:
        self._client = client
        self._start = current
        self._table: Table | None = None
        self._done = False
        self.result: ApplyResult | None = None

    def __enter__(self) -> Transaction:
        if self._done:
            raise IPVSError("this transaction is finished")
        if self._start is None:
            self._start = self._client.snapshot()
        self._table = self._start
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done:
            return
        self._done = True
        if exc_type is None:
            self.result = apply_plan(self._client, self.plan())

    def _state(self) -> Table:
        if self._done:
            raise IPVSError("this transaction is finished; start a new one")
        if self._table is None:
            raise IPVSError("use the transaction in a with block")
        return self._table

    @property
    def table(self) -> Table:
        """The state the transaction will leave."""
        return self._state()

    def plan(self) -> Plan:
        """Return the plan the commit would send.

        Returns:
            The plan.
        """
        table = self._state() if not self._done else self._table
        assert self._start is not None and table is not None
        return diff(self._start, table)

    def _entry(self, key: ServiceKey, operation: str) -> ServiceEntry:
        entry = self._state().get(key)
        if entry is None:
            raise ServiceNotFound(3, operation, key, "no such service")
        return entry

    def add_service(self, service: Service, destinations: Iterable[Destination] = ()) -> None:
        """Queue a new service (optionally with destinations).

        Args:
            service: the service.
            destinations: its destinations.

        Raises:
            ServiceExists: it exists already.
        """
        table = self._state()
        if service.key in table:
            raise ServiceExists(17, "add_service", service, "service already exists")
        self._table = table.with_service(service, destinations)

    def update_service(self, service: Service) -> None:
        """Queue a change of a service's settings.

        Args:
            service: the service with its new settings.

        Raises:
            ServiceNotFound: no such service.
        """
        self._entry(service.key, "update_service")
        self._table = self._state().with_service(service)

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Queue a service's deletion.

        Args:
            service: the service or its key.

        Raises:
            ServiceNotFound: no such service.
        """
        key = service.key if isinstance(service, Service) else service
        self._entry(key, "delete_service")
        self._table = self._state().without_service(key)

    def add_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a new destination.

        Args:
            service: the service or its key.
            destination: the destination.

        Raises:
            ServiceNotFound: no such service.
            DestinationExists: it exists already.
        """
        key = service.key if isinstance(service, Service) else service
        entry = self._entry(key, "add_destination")
        if destination.key in entry.destination_map():
            raise DestinationExists(
                17, "add_destination", (key, destination), "destination already exists"
            )
        self._table = self._state().with_destination(key, destination)

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a change of a destination's settings.

        Args:
            service: the service or its key.
            destination: the destination with its new settings.

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        key = service.key if isinstance(service, Service) else service
        entry = self._entry(key, "update_destination")
        if destination.key not in entry.destination_map():
            raise DestinationNotFound(
                2, "update_destination", (key, destination), "no such destination"
            )
        self._table = self._state().with_destination(key, destination)

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a destination's removal.

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        key = service.key if isinstance(service, Service) else service
        entry = self._entry(key, "delete_destination")
        if destination.key not in entry.destination_map():
            raise DestinationNotFound(
                2, "delete_destination", (key, destination), "no such destination"
            )
        self._table = self._state().without_destination(key, destination)


@attrs.frozen(kw_only=True, slots=True)
class ReapResult:
    """What :meth:`ipvs.Client.reap` did.

    Attributes:
        removed: drains finished (their destinations deleted, or already gone).
        pending: drains still waiting for connections to end.
        table: the known state with the removals applied (when one was given).
    """

    removed: tuple[Drain, ...]
    pending: tuple[Drain, ...]
    table: Table | None = None


def reap(
    client: Client,
    drains: Iterable[Drain],
    *,
    grace: float | None = None,
    since: dict[Any, float] | None = None,
    current: Table | None = None,
    count_inactive: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> ReapResult:
    """Delete drained destinations that have no connections left (or ran out of grace).

    A drain whose destination got a non-zero weight again (someone re-added
    it) is dropped from the list without deleting anything.

    Args:
        client: an open client.
        drains: the pending drains.
        grace: seconds after which a drain is deleted even with connections.
        since: when each drain was first seen, keyed by ``(service key,
            destination key)``; updated in place. Needed for ``grace``.
        current: the known state, updated in the result.
        count_inactive: wait for inactive connections (FIN_WAIT, TIME_WAIT,
            which IPVS keeps for up to two minutes after a close) as well as
            active ones; False deletes as soon as no connection is active.
        clock: the time source for ``grace``.

    Returns:
        The removed and pending drains.

    Raises:
        ApplyError: deleting failed.
    """
    by_service: dict[ServiceKey, list[Drain]] = {}
    for d in drains:
        by_service.setdefault(d.service, []).append(d)
    now = clock()
    if since is None:
        since = {}
    removed: list[Drain] = []
    pending: list[Drain] = []
    to_delete: list[Drain] = []
    for key, group in by_service.items():
        try:
            live = {d.key: d for d in client.destinations(key)}
        except ServiceNotFound:
            removed.extend(group)
            continue
        for drain in group:
            tag = (key, drain.destination.key)
            dest = live.get(drain.destination.key)
            if dest is None:
                removed.append(drain)
                since.pop(tag, None)
                continue
            if dest.weight != 0:
                since.pop(tag, None)
                continue  # revived
            started = since.setdefault(tag, now)
            idle = dest.active_connections == 0 and (
                not count_inactive or dest.inactive_connections == 0
            )
            if idle or (grace is not None and now - started >= grace):
                to_delete.append(drain)
            else:
                pending.append(drain)
    table = current
    if to_delete:
        ops = [DeleteDestination(service=d.service, destination=d.destination) for d in to_delete]
        failures = send_operations(client, ops)
        for i, drain in enumerate(to_delete):
            if i in failures and not isinstance(failures[i], DestinationNotFound):
                pending.append(drain)
                continue
            removed.append(drain)
            since.pop((drain.service, drain.destination.key), None)
            if table is not None and drain.service in table:
                table = table.without_destination(drain.service, drain.destination)
    return ReapResult(removed=tuple(removed), pending=tuple(pending), table=table)
