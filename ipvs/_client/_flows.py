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
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ipvs._client._log import DEBUG, log
from ipvs._client._vips import Changed, ChangeLinks, ReadLink
from ipvs._model import Service, ServiceEntry, ServiceKey, Table, key_of
from ipvs._plan import (
    AddDestination,
    AddressChange,
    AddService,
    ApplyResult,
    Binding,
    DeleteDestination,
    DeleteService,
    Drain,
    Operation,
    Plan,
    ReapResult,
    Scope,
    UpdateDestination,
    UpdateService,
    address_changes,
    after_services,
    before_services,
    diff,
    failure_error,
    gc_paused,
    reap_decisions,
    rollback_operations,
    undo_changes,
)
from ipvs.errors import (
    AddressError,
    ApplyError,
    ConflictError,
    DecodeError,
    DestinationNotFound,
    KernelError,
    RollbackError,
    ServiceNotFound,
    SnapshotUnstable,
    ValidationError,
    error_for,
)
from ipvs.netlink import Conversation, Exchange, Pipeline, Write

__all__ = [
    "Flow",
    "PipelineStep",
    "Together",
    "apply",
    "apply_plan",
    "destinations",
    "observe",
    "plan_writes",
    "reap",
    "send_writes",
    "snapshot",
]

T = TypeVar("T")

# The library logs to the "ipvs" logger (see _log): INFO for each apply that
# sends something, each rollback, each conflict and each drain reaped; DEBUG
# for every operation sent. Nothing is shown unless the program configures it.


class PipelineStep:
    """A step that sends a pipeline; its result is the finished pipeline."""

    __slots__ = ("pipeline", "progress")

    def __init__(
        self, pipeline: Pipeline, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.pipeline = pipeline
        self.progress = progress


class Together:
    """A step that sends several exchanges at once; its result is the list, all done.

    Errors are not raised: the flow reads each exchange's :meth:`~ipvs.netlink.Exchange.error`.
    """

    __slots__ = ("exchanges",)

    def __init__(self, exchanges: list[Exchange[Any]]) -> None:
        self.exchanges = exchanges


Step = Exchange[Any] | PipelineStep | Together | ReadLink | ChangeLinks
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


#: Services looked up one by one (all in one send) rather than by a dump of all.
DUMP_GROUP = 64
#: Reads of a table that keeps changing before :class:`SnapshotUnstable`.
SNAPSHOT_ATTEMPTS = 16


def _unique(items: list[Any], key: Callable[[Any], Any]) -> bool:
    return len({key(x) for x in items}) == len(items)


def _dest_key(d: Any) -> Any:
    return d.key


def _service_key(s: Service) -> ServiceKey:
    return s.key


def _dump_destinations(
    conv: Conversation, keys: Sequence[ServiceKey]
) -> Flow[tuple[dict[ServiceKey, list[Any]], set[ServiceKey], set[ServiceKey]]]:
    """Dump the destinations of services, one after the other.

    The kernel runs one dump at a time per socket, and IPVS ends every dump
    only on the next read (its dump functions report what they added, and
    the kernel stops when one adds nothing): a second dump sent before that
    read is refused with EBUSY, so destination dumps cannot be pipelined.

    Returns:
        The destinations by service (kernel order); the services whose
        replies came in several datagrams (the kernel resumes a long dump by
        position, so writers in between can make it repeat or skip entries);
        and those whose dump listed a destination twice (it certainly did).
    """
    found: dict[ServiceKey, list[Any]] = {}
    parted: set[ServiceKey] = set()
    repeated: set[ServiceKey] = set()
    for key in keys:
        exchange = conv.destinations(key)
        dests: list[Any] = yield exchange
        found[key] = dests
        if not _unique(dests, _dest_key):
            if exchange.parts == 1:  # one reply buffer is built at once: the kernel's data is bad
                raise DecodeError(f"the kernel listed a destination of {key.describe()} twice")
            repeated.add(key)
        if exchange.parts > 1:
            parted.add(key)
    return found, parted, repeated


def _read_services(conv: Conversation) -> Flow[tuple[list[Service], bool, bool]]:
    exchange = conv.services()
    services: list[Service] = yield exchange
    repeated = not _unique(services, _service_key)
    if repeated and exchange.parts <= 1:  # built at once: the kernel's data is bad
        raise DecodeError("the kernel listed a service twice")
    return services, exchange.parts > 1, repeated


def _stable_services(conv: Conversation) -> Flow[list[Service]]:
    """The list of services, read until a read needs no check or two reads agree."""
    services, parted, repeated = yield from _read_services(conv)
    for _ in range(SNAPSHOT_ATTEMPTS):
        if not parted and not repeated:
            return services
        again, parted, again_repeated = yield from _read_services(conv)
        if not repeated and not again_repeated and again == services:
            return services
        services, repeated = again, again_repeated
    raise SnapshotUnstable(
        "the IPVS services kept changing while they were read: no two reads agreed "
        f"in {SNAPSHOT_ATTEMPTS} attempts"
    )


def _stable_destinations(
    conv: Conversation, keys: Sequence[ServiceKey]
) -> Flow[dict[ServiceKey, list[Any]]]:
    """The destinations of services; a dump that came in parts is re-read until two agree.

    While another writer adds and deletes, a read of a long dump can repeat
    an entry (an insertion shifted the rest) or skip one (a deletion did).
    Such a dump is read again until two reads in a row list exactly the same
    with nothing repeated: two reads skipping the same entry would need the
    same change to land on the same part boundary twice in a row.
    """
    dests, parted, repeated = yield from _dump_destinations(conv, keys)
    previous: dict[ServiceKey, list[Any] | None] = {
        k: (None if k in repeated else dests[k]) for k in parted | repeated
    }
    for _ in range(SNAPSHOT_ATTEMPTS):
        if not previous:
            return dests
        recheck = [k for k in keys if k in previous]
        again, _parted, again_repeated = yield from _dump_destinations(conv, recheck)
        for key in recheck:
            reading = None if key in again_repeated else again[key]
            if reading is not None and reading == previous[key]:
                dests[key] = reading
                del previous[key]
            else:
                previous[key] = reading
    raise SnapshotUnstable(
        "the IPVS destinations kept changing while they were read: no two reads in a row "
        f"agreed in {SNAPSHOT_ATTEMPTS} attempts"
    )


def snapshot(conv: Conversation) -> Flow[Table]:
    """Every service with its destinations, read consistently.

    One dump lists the services; a dump of destinations follows for each (the
    kernel has no other way). A dump that came in several parts may have been changed by other
    writers while it was read (the kernel resumes by position): it is read
    again until two reads agree, so a snapshot neither repeats nor misses an
    entry that nobody touched.

    Raises:
        SnapshotUnstable: no two reads agreed within :data:`SNAPSHOT_ATTEMPTS`.
    """
    # Decoding makes one object per service, destination and statistics, none
    # in a reference cycle: the collector's scans would only cost time (25-40%
    # of a snapshot of 10,000 x 10 on the host). Paused while the flow waits
    # for the kernel too; a snapshot is short and cycles are only delayed.
    with gc_paused():
        services = yield from _stable_services(conv)
        dests = yield from _stable_destinations(conv, [s.key for s in services])
        return _table(services, dests)


def _table(services: list[Service], dests: dict[ServiceKey, list[Any]]) -> Table:
    try:
        return Table(ServiceEntry(service=s, destinations=dests[s.key]) for s in services)
    except ValidationError as exc:  # what the kernel sent cannot be a table
        raise DecodeError(f"the kernel's table is malformed: {exc}") from None


def observe(
    conv: Conversation, keys: Sequence[ServiceKey]
) -> Flow[dict[ServiceKey, ServiceEntry | None]]:
    """Read what the kernel holds for some services (None: absent), consistently.

    A few services are asked for one by one (all in one send); many are found
    in one dump of every service.
    """
    present: dict[ServiceKey, Service] = {}
    if len(keys) <= DUMP_GROUP:
        exchanges = [conv.service(k) for k in keys]
        yield Together(exchanges)
        for key, exchange in zip(keys, exchanges, strict=True):
            error = exchange.error()
            if error is None:
                present[key] = exchange.values[0]
            elif not isinstance(error, ServiceNotFound):
                raise error
    else:
        wanted = set(keys)
        services = yield from _stable_services(conv)
        present = {s.key: s for s in services if s.key in wanted}
    existing = [k for k in keys if k in present]
    dests = yield from _stable_destinations(conv, existing)
    return {
        k: ServiceEntry(service=present[k], destinations=dests[k]) if k in present else None
        for k in keys
    }


def _touched(plan: Plan) -> list[ServiceKey]:
    return list(dict.fromkeys(op.key for op in plan.operations))


def apply_plan(
    conv: Conversation,
    plan: Plan,
    *,
    verify: bool = False,
    progress: Callable[[int, int], None] | None = None,
    checked: bool = False,
) -> Flow[ApplyResult]:
    """Send a plan pipelined; on any failure undo what applied, then raise.

    Unless ``checked`` (the plan's current state was read under the same
    lock), the services the plan touches are read first and compared with
    the state the plan assumed: a difference raises :class:`ConflictError`
    with nothing sent, so a stale plan can neither overwrite nor, by its
    rollback, undo another writer's change.
    """
    if not isinstance(plan, Plan):
        raise ValidationError(f"apply_plan: expected a Plan, got {type(plan).__name__}")
    ops = plan.operations
    if not plan:
        return ApplyResult(plan=plan, table=plan.current, drains=plan.drains)
    keys = _touched(plan)
    if checked or not keys:
        before = {k: plan.current.get(k) for k in keys}
    else:
        before = yield from observe(conv, keys)
        try:
            _check_current(plan, before)
        except ConflictError as exc:
            log.info("apply: %s", exc)
            raise
    log.info("apply: sending %s", plan.summary().removeprefix("Plan: ").rstrip("."))
    if log.isEnabledFor(DEBUG):
        for op in (*before_services(plan.addresses), *ops, *after_services(plan.addresses)):
            log.debug("apply: %s", op.describe())
    bound = yield from _bind(conv, plan, before_services(plan.addresses), [])
    failures = yield from send_writes(conv, plan_writes(ops), progress)
    if failures:
        inverse = rollback_operations(ops, failures, before)
        log.info(
            "apply: %d of %d operations failed (first: %s: %s); rolling back %d",
            len(failures),
            len(ops),
            ops[min(failures)].describe(),
            failures[min(failures)],
            len(inverse),
        )
        rollback_failures = yield from send_writes(conv, plan_writes(inverse))
        unbound = yield from _unbind(bound)
        error: ApplyError
        if unbound:
            shown = [(inverse[i], err) for i, err in sorted(rollback_failures.items())]
            error = RollbackError(plan, failures, shown + unbound)
        else:
            error = failure_error(plan, failures, inverse, rollback_failures)
        log.info("apply: %s", error)
        raise error
    yield from _bind(conv, plan, after_services(plan.addresses), bound, before)
    table = plan.expected()
    if verify:
        yield from _verify(conv, plan, table)
    return ApplyResult(plan=plan, table=table, drains=plan.drains)


def _unbind(done: list[AddressChange]) -> Flow[list[tuple[AddressChange, KernelError]]]:
    """Undo address steps that were made; the steps that failed, with their errors."""
    failed: list[tuple[AddressChange, KernelError]] = []
    remaining = undo_changes(done)
    while remaining:  # go on past a failure: undo as much as can be undone
        result = yield ChangeLinks(remaining)
        if result.failed is None or result.error is None:
            break
        failed.append((result.failed, result.error))
        remaining = remaining[remaining.index(result.failed) + 1 :]
    return failed


def _bind(
    conv: Conversation,
    plan: Plan,
    changes: list[AddressChange],
    bound: list[AddressChange],
    sent: Mapping[ServiceKey, ServiceEntry | None] | None = None,
) -> Flow[list[AddressChange]]:
    """Make address steps; on a failure undo them, the operations and ``bound``, then raise.

    Args:
        conv: the conversation.
        plan: the plan.
        changes: the steps to make now.
        bound: the steps made before the operations (undone on failure).
        sent: None while the operations are not sent yet; after, what the
            kernel held before them (to undo them).

    Returns:
        The steps that changed something, after ``bound``.
    """
    if not changes:
        return bound
    result: Changed = yield ChangeLinks(changes)
    if result.failed is None:
        return bound + result.done
    assert result.error is not None
    log.info("apply: %s failed: %s; rolling back", result.failed.describe(), result.error)
    undone = yield from _unbind(result.done)
    failed: list[tuple[Any, KernelError]] = list(undone)
    if sent is not None and plan.operations:
        inverse = rollback_operations(plan.operations, {}, sent)
        errors = yield from send_writes(conv, plan_writes(inverse))
        failed += [(inverse[i], err) for i, err in sorted(errors.items())]
    failed += yield from _unbind(bound)
    error = AddressError(plan, result.failed, result.error, failed)
    log.info("apply: %s", error)
    raise error


def _check_current(plan: Plan, observed: dict[ServiceKey, ServiceEntry | None]) -> None:
    for index, op in enumerate(plan.operations):
        key = op.key
        if observed[key] != plan.current.get(key):
            err = KernelError(
                E.ESTALE,
                "check",
                key,
                message="the kernel holds something else than the plan assumed",
            )
            raise ConflictError(
                plan,
                {index: err},
                note="nothing was sent: another writer changed the service since the plan "
                "was made (take a new snapshot)",
            )


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
    bind: Binding | None = None,
) -> Flow[ApplyResult]:
    """Snapshot (unless ``current`` is given), diff, read the binding's interface, apply."""
    if not isinstance(desired, Table):
        raise ValidationError(f"apply: desired must be a Table, got {type(desired).__name__}")
    if current is not None and not isinstance(current, Table):
        raise ValidationError(f"apply: current must be a Table, got {type(current).__name__}")
    checked = current is None
    if current is None:
        current = yield from snapshot(conv)
    plan = diff(current, desired, scope=scope, drain=drain)
    if bind is not None:
        link = yield ReadLink(bind.interface)
        plan = plan.with_addresses(address_changes(current, desired, plan.scope, bind, link))
    if dry_run:
        return ApplyResult(plan=plan, table=current, applied=False, drains=plan.drains)
    return (yield from apply_plan(conv, plan, verify=verify, progress=progress, checked=checked))


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
            log.info("reap: removed %s", drain.describe())
            since.pop((drain.service, drain.destination.key), None)
            if table is not None and table.has_destination(drain.service, drain.destination):
                table = table.without_destination(drain.service, drain.destination)
    return ReapResult(removed=tuple(removed), pending=tuple(pending), table=table)
