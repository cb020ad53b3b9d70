"""The pure half of applying a plan: results, rollback, conflicts, and drains.

IPVS has no kernel transactions: every message is applied on its own. The
library gets all-or-nothing behaviour by sending a plan pipelined, learning
exactly which operations failed (errors carry sequence numbers), and undoing
every operation that did apply with its inverse, computed from the state the
plan assumed. The decisions live here, free of I/O; the clients send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ipvs._model import Destination, DestinationKey, ServiceEntry, ServiceKey, Table
from ipvs._plan._diff import Plan
from ipvs._plan._operations import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Drain,
    Operation,
    UpdateDestination,
    UpdateService,
)
from ipvs.errors import (
    ApplyError,
    ConflictError,
    DestinationExists,
    DestinationNotFound,
    KernelError,
    RollbackError,
    ServiceExists,
    ServiceNotFound,
)

__all__ = [
    "ApplyResult",
    "ReapResult",
    "failure_error",
    "reap_decisions",
    "rollback_operations",
]


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


def rollback_operations(
    operations: Sequence[Operation],
    failures: Mapping[int, Any],
    before: Mapping[ServiceKey, ServiceEntry | None] | None = None,
) -> list[Operation]:
    """Return the operations that undo every operation that applied, in sending order.

    Undoing restores settings and sets, and also the kernel's order of
    destinations, which the ``sh`` and ``mh`` schedulers hash over: the
    kernel inserts a new destination first, so a deleted service gets its
    destinations back oldest first, and a destination deleted from a service
    that stays is put back at its old place by taking off, and putting back
    oldest first, the destinations that were newer than it.

    Args:
        operations: the plan's operations.
        failures: the indexes of the operations that failed (they changed nothing).
        before: what the kernel held, in its order, for the services the plan
            touches (default: what the operations recorded).

    Returns:
        The inverse operations, last applied first.
    """
    inverse: list[Operation] = []
    deleted: dict[ServiceKey, set[DestinationKey]] = {}
    for i in range(len(operations)):
        op = operations[i]
        if i not in failures and isinstance(op, DeleteDestination):
            deleted.setdefault(op.service, set()).add(op.destination.key)
    restored: set[ServiceKey] = set()
    for i in range(len(operations) - 1, -1, -1):
        if i in failures:
            continue
        op = operations[i]
        entry = None if before is None else before.get(op.key)
        if isinstance(op, DeleteService) and entry is not None:
            inverse.append(AddService(service=op.service))
            inverse += [
                AddDestination(service=op.key, destination=d) for d in reversed(entry.destinations)
            ]
        elif isinstance(op, DeleteDestination):
            if op.service in restored:
                continue
            restored.add(op.service)
            order = entry.destinations if entry is not None else ()
            inverse += _put_back(op.service, order, deleted[op.service], operations, failures)
        else:
            inverse += op.inverse()
    return inverse


def _put_back(
    key: ServiceKey,
    order: Sequence[Destination],
    gone: set[DestinationKey],
    operations: Sequence[Operation],
    failures: Mapping[int, Any],
) -> list[Operation]:
    """Re-add deleted destinations of a service that stays, at their old places."""
    positions = [i for i, d in enumerate(order) if d.key in gone]
    if len(positions) != len(gone):  # the order is unknown: re-add, order not kept
        return [
            inv
            for i in range(len(operations) - 1, -1, -1)
            if i not in failures
            and isinstance(operations[i], DeleteDestination)
            and operations[i].key == key
            for inv in operations[i].inverse()
        ]
    prefix = order[: max(positions) + 1]  # the deleted ones and every newer one
    ops: list[Operation] = [
        DeleteDestination(service=key, destination=d) for d in prefix if d.key not in gone
    ]
    ops += [AddDestination(service=key, destination=d) for d in reversed(prefix)]
    return ops


_CONFLICTS: dict[type[Any], tuple[type[KernelError], ...]] = {
    AddService: (ServiceExists,),
    UpdateService: (ServiceNotFound,),
    DeleteService: (ServiceNotFound,),
    AddDestination: (DestinationExists, ServiceNotFound),
    UpdateDestination: (DestinationNotFound, ServiceNotFound),
    DeleteDestination: (DestinationNotFound, ServiceNotFound),
}


def failure_error(
    plan: Plan,
    failures: Mapping[int, KernelError],
    rollback: Sequence[Operation] = (),
    rollback_failures: Mapping[int, KernelError] | None = None,
) -> ApplyError:
    """Build the error for a plan some of whose operations failed.

    Args:
        plan: the plan.
        failures: the failed operations' errors, by plan index.
        rollback: the inverse operations that were sent.
        rollback_failures: those that failed, by index in ``rollback``.

    Returns:
        :class:`RollbackError` when undoing failed too; :class:`ConflictError`
        when the first failure shows the kernel was not in the assumed state
        (an add found the object, an update or delete did not); else
        :class:`ApplyError`.
    """
    failed = dict(failures)
    if rollback_failures:
        return RollbackError(
            plan, failed, [(rollback[i], err) for i, err in sorted(rollback_failures.items())]
        )
    first = min(failed)
    if isinstance(failed[first], _CONFLICTS[type(plan.operations[first])]):
        return ConflictError(
            plan,
            failed,
            note="the kernel changed behind the plan; all applied operations were "
            "rolled back (take a new snapshot)",
        )
    return ApplyError(plan, failed)


def reap_decisions(
    drains: Iterable[Drain],
    live: Mapping[ServiceKey, Mapping[DestinationKey, Destination] | None],
    *,
    now: float,
    since: dict[Any, float],
    grace: float | None,
    count_inactive: bool,
) -> tuple[list[Drain], list[Drain], list[Drain]]:
    """Decide which drains are finished, which to delete now, and which wait.

    Args:
        drains: the pending drains.
        live: each drained service's destinations as the kernel has them now
            (None: the service is gone).
        now: the current time.
        since: when each drain was first seen, keyed by ``(service key,
            destination key)``; updated in place.
        grace: seconds after which a drain is deleted even with connections.
        count_inactive: wait for inactive connections too.

    Returns:
        ``(removed, to_delete, pending)``: already gone (or revived with a
        non-zero weight, which ends the drain without deleting), to delete
        now, and still waiting.
    """
    removed: list[Drain] = []
    to_delete: list[Drain] = []
    pending: list[Drain] = []
    for drain in drains:
        dests = live.get(drain.service)
        tag = (drain.service, drain.destination.key)
        dest = None if dests is None else dests.get(drain.destination.key)
        if dest is None:
            removed.append(drain)
            since.pop(tag, None)
            continue
        if dest.weight != 0:
            since.pop(tag, None)
            continue  # revived: someone gave it traffic again
        started = since.setdefault(tag, now)
        idle = dest.active_connections == 0 and (
            not count_inactive or dest.inactive_connections == 0
        )
        if idle or (grace is not None and now - started >= grace):
            to_delete.append(drain)
        else:
            pending.append(drain)
    return removed, to_delete, pending
