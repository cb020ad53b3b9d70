"""What the clients do, written once, with no I/O: flows of exchanges.

A flow is a generator that yields *steps* (an :class:`~ipvs.netlink.Exchange`
or a :class:`PipelineStep`) and receives each step's result (or has its error
thrown in). :class:`ipvs.Client` runs a flow with blocking calls and
:class:`ipvs.AsyncClient` with ``await``; the logic (snapshot, apply with
rollback, reap) exists once::

    def flow(conv):
        services = yield conv.services()
        ...
        return table
"""

from __future__ import annotations

import errno as E
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from ipvs._model import Service, ServiceEntry, ServiceKey, Table, key_of
from ipvs._plan import (
    AddDestination,
    AddService,
    ApplyResult,
    DeleteDestination,
    DeleteService,
    Drain,
    Operation,
    Plan,
    ReapResult,
    Scope,
    UpdateDestination,
    UpdateService,
    diff,
    failure_error,
    gc_paused,
    reap_decisions,
    rollback_operations,
)
from ipvs.errors import (
    ConflictError,
    DestinationNotFound,
    KernelError,
    ServiceNotFound,
    ValidationError,
    error_for,
)
from ipvs.netlink import Conversation, Exchange, Pipeline, Write

__all__ = [
    "Flow",
    "PipelineStep",
    "apply",
    "apply_plan",
    "destinations",
    "plan_writes",
    "reap",
    "send_writes",
    "snapshot",
]

T = TypeVar("T")


class PipelineStep:
    """A step that sends a pipeline; its result is the finished pipeline."""

    __slots__ = ("pipeline", "progress")

    def __init__(
        self, pipeline: Pipeline, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.pipeline = pipeline
        self.progress = progress


Step = Exchange[Any] | PipelineStep
Flow = Generator[Step, Any, T]

_WRITE_OF: dict[type[Any], Callable[[Any], Write]] = {
    AddService: lambda op: Write("add_service", op.service),
    UpdateService: lambda op: Write("update_service", op.new),
    DeleteService: lambda op: Write("delete_service", op.service.key),
    AddDestination: lambda op: Write("add_destination", op.service, op.destination),
    UpdateDestination: lambda op: Write("update_destination", op.service, op.new),
    DeleteDestination: lambda op: Write("delete_destination", op.service, op.destination),
}


class plan_writes(Sequence[Write]):
    """Plan operations seen as pipeline writes (built lazily, one at a time)."""

    __slots__ = ("_ops",)

    def __init__(self, operations: Sequence[Operation]) -> None:
        self._ops = operations

    def __len__(self) -> int:
        return len(self._ops)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [_WRITE_OF[type(op)](op) for op in self._ops[index]]
        op = self._ops[index]
        return _WRITE_OF[type(op)](op)

    def __iter__(self) -> Iterator[Write]:
        new = tuple.__new__  # a Write without the namedtuple's Python-level __new__
        for op in self._ops:
            cls = op.__class__
            if cls is AddDestination:
                yield new(Write, ("add_destination", op.service, op.destination))  # type: ignore[union-attr]
            else:
                yield _WRITE_OF[cls](op)


def send_writes(
    conv: Conversation,
    writes: Sequence[Write],
    progress: Callable[[int, int], None] | None = None,
) -> Flow[dict[int, KernelError]]:
    """Send writes pipelined; the result maps each failed write's index to its error."""
    if not writes:
        return {}
    pipeline = yield PipelineStep(conv.pipeline(writes), progress)
    return {err.index if err.index is not None else -1: err for err in pipeline.errors()}


def destinations(conv: Conversation, service: Service | ServiceKey) -> Flow[list[Any]]:
    """One service's destinations; ServiceNotFound when the service is missing.

    The kernel answers a dump for a missing service with nothing, so an empty
    answer is checked with a get of the service.
    """
    key = key_of(service)
    dests: list[Any] = yield conv.destinations(key)
    if not dests:
        try:
            yield conv.service(key)
        except ServiceNotFound:
            raise error_for(E.ESRCH, "destinations", key) from None
    return dests


def snapshot(conv: Conversation) -> Flow[Table]:
    """Every service with its destinations: one dump, then one dump per service."""
    services: list[Service] = yield conv.services()
    entries: list[ServiceEntry] = []
    for svc in services:
        dests = yield conv.destinations(svc.key)
        entries.append(ServiceEntry(service=svc, destinations=dests))
    return Table(entries)


def apply_plan(
    conv: Conversation,
    plan: Plan,
    *,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Flow[ApplyResult]:
    """Send a plan pipelined; on any failure undo what applied, then raise."""
    if not isinstance(plan, Plan):
        raise ValidationError(f"apply_plan: expected a Plan, got {type(plan).__name__}")
    ops = plan.operations
    if not ops:
        return ApplyResult(plan=plan, table=plan.current, drains=plan.drains)
    failures = yield from send_writes(conv, plan_writes(ops), progress)
    if failures:
        inverse = rollback_operations(ops, failures)
        rollback_failures = yield from send_writes(conv, plan_writes(inverse))
        raise failure_error(plan, failures, inverse, rollback_failures)
    table = plan.expected()
    if verify:
        yield from _verify(conv, plan, table)
    return ApplyResult(plan=plan, table=table, drains=plan.drains)


def _verify(conv: Conversation, plan: Plan, expected: Table) -> Flow[None]:
    for key in {op.key for op in plan.operations}:
        want = expected.get(key)
        try:
            service = yield conv.service(key)
            dests = yield conv.destinations(key)
            got: ServiceEntry | None = ServiceEntry(service=service, destinations=dests)
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
    conv: Conversation,
    desired: Table,
    *,
    scope: Scope | Callable[[ServiceKey], bool] | None = None,
    drain: bool = False,
    dry_run: bool = False,
    current: Table | None = None,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Flow[ApplyResult]:
    """Snapshot (unless ``current`` is given), diff, and apply the plan."""
    if not isinstance(desired, Table):
        raise ValidationError(f"apply: desired must be a Table, got {type(desired).__name__}")
    if current is not None and not isinstance(current, Table):
        raise ValidationError(f"apply: current must be a Table, got {type(current).__name__}")
    if current is None:
        current = yield from snapshot(conv)
    plan = diff(current, desired, scope=scope, drain=drain)
    if dry_run:
        return ApplyResult(plan=plan, table=current, applied=False, drains=plan.drains)
    return (yield from apply_plan(conv, plan, verify=verify, progress=progress))


def reap(
    conv: Conversation,
    drains: Iterable[Drain],
    *,
    now: float,
    grace: float | None = None,
    since: dict[Any, float] | None = None,
    current: Table | None = None,
    count_inactive: bool = True,
) -> Flow[ReapResult]:
    """Delete drained destinations that have no connections left (or ran out of grace)."""
    drains = list(drains)
    if since is None:
        since = {}
    live: dict[ServiceKey, Any] = {}
    for key in dict.fromkeys(d.service for d in drains):
        try:
            dests = yield from destinations(conv, key)
        except ServiceNotFound:
            live[key] = None
            continue
        live[key] = {d.key: d for d in dests}
    removed, to_delete, pending = reap_decisions(
        drains, live, now=now, since=since, grace=grace, count_inactive=count_inactive
    )
    table = current
    if to_delete:
        writes = [Write("delete_destination", d.service, d.destination) for d in to_delete]
        with gc_paused():
            failures = yield from send_writes(conv, writes)
        for i, drain in enumerate(to_delete):
            if i in failures and not isinstance(failures[i], DestinationNotFound):
                pending.append(drain)
                continue
            removed.append(drain)
            since.pop((drain.service, drain.destination.key), None)
            if table is not None and drain.service in table:
                table = table.without_destination(drain.service, drain.destination)
    return ReapResult(removed=tuple(removed), pending=tuple(pending), table=table)
