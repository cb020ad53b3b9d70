"""Diff two tables into a readable, ordered, minimal plan of operations.

:func:`diff` is pure: it compares a current and a desired :class:`~ipvs.Table`
and returns a :class:`Plan`, an ordered tuple of frozen operations, each of
which is one kernel message. Settings changes become in-place updates; only a
changed identity becomes a delete and an add. Statistics never cause
operations.

The order is *make before break*: services are added and updated first, then
destinations are added and updated, then destinations and services are
deleted, so that traffic always has somewhere to go while a plan is applied.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from ipvs._model import (
    Destination,
    DestinationKey,
    Protocol,
    Service,
    ServiceEntry,
    ServiceKey,
    Table,
)
from ipvs._plan._addresses import AddressChange, after_services, before_services
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
from ipvs._plan._scope import Scope, check_scope
from ipvs.errors import ValidationError

__all__ = ["Plan", "diff", "gc_paused", "simulate"]


@attrs.frozen(kw_only=True, slots=True)
class Plan(Sequence[Operation]):
    """An ordered list of operations that turns ``current`` into ``desired``.

    ``str(plan)`` renders it for people (``+`` add, ``~`` change with
    ``field old -> new``, ``-`` delete); :func:`ipvs.formats.document.plan_to_dict` exports it.

    Attributes:
        operations: the operations, in the order they are sent.
        current: the state the plan assumes the kernel is in.
        desired: the state asked for.
        scope: the services the plan may touch (None: all).
        drains: destinations left at weight 0 instead of deleted (``drain=True``).
        addresses: the steps that bind and unbind service addresses (an
            apply with a :class:`~ipvs.Binding`): sent before and after the
            operations, as each step says.
    """

    operations: tuple[Operation, ...]
    current: Table = attrs.field(eq=False, repr=False)
    desired: Table = attrs.field(eq=False, repr=False)
    scope: Scope | None = attrs.field(default=None, eq=False, repr=False)
    drains: tuple[Drain, ...] = ()
    addresses: tuple[AddressChange, ...] = ()
    _exact_except: frozenset[ServiceKey] | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )
    _touched: tuple[ServiceKey, ...] = attrs.field(default=(), init=False, eq=False, repr=False)

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __getitem__(self, index: Any) -> Any:
        return self.operations[index]

    def __bool__(self) -> bool:
        return bool(self.operations) or bool(self.addresses)

    def counts(self) -> tuple[int, int, int]:
        """Return how many operations add, change and delete."""
        add = sum(1 for op in self.operations if op.symbol == "+")
        change = sum(1 for op in self.operations if op.symbol == "~")
        return add, change, len(self.operations) - add - change

    def summary(self) -> str:
        """One line such as ``Plan: 2 to add, 1 to change, 0 to delete.``"""
        if not self:
            return "No changes."
        add, change, delete = self.counts()
        text = f"Plan: {add} to add, {change} to change, {delete} to delete."
        if self.addresses:
            bind = sum(1 for c in self.addresses if c.operation == "add_address")
            unbind = sum(1 for c in self.addresses if c.operation == "delete_address")
            noun = "address" if bind == 1 else "addresses"
            text = f"{text[:-1]}; {bind} {noun} to bind, {unbind} to unbind."
        return text

    def __str__(self) -> str:
        lines = [c.describe() for c in before_services(self.addresses)]
        lines += [op.describe() for op in self.operations]
        lines += [c.describe() for c in after_services(self.addresses)]
        lines += [f"  draining {d.describe()}" for d in self.drains]
        lines.append(self.summary())
        return "\n".join(lines)

    def with_addresses(self, changes: Sequence[AddressChange]) -> Plan:
        """Return the plan with address steps (an apply with a :class:`~ipvs.Binding` adds them)."""
        plan = attrs.evolve(self, addresses=tuple(changes))
        object.__setattr__(plan, "_exact_except", self._exact_except)
        object.__setattr__(plan, "_touched", self._touched)
        return plan

    def inverse(self) -> list[Operation]:
        """Return operations that undo the whole plan, in the order to send them."""
        return [inv for op in reversed(self.operations) for inv in op.inverse()]

    def expected(self) -> Table:
        """Return the table the kernel holds after the plan is applied."""
        with gc_paused():
            if self._exact_except is None:
                return simulate(self.current, self.operations)
            # made by diff(): each touched service ends as desired, but drains
            exact = self._exact_except
            get = self.desired.get
            changes = {key: get(key) for key in self._touched if key not in exact}
            table = self.current._replace_many(changes) if changes else self.current
            if not exact:
                return table
            return simulate(table, [op for op in self.operations if op.key in exact])


def simulate(table: Table, operations: Iterable[Operation]) -> Table:
    """Apply operations to a table the way the kernel would (strictly).

    Only the services the operations touch are rebuilt; the result is derived
    from ``table`` so that later diffs against it stay cheap.
    """
    state: dict[ServiceKey, tuple[Service, dict[DestinationKey, Destination]] | None] = {}

    def get(key: ServiceKey) -> tuple[Service, dict[DestinationKey, Destination]] | None:
        if key not in state:
            entry = table.get(key)
            state[key] = None if entry is None else (entry.service, entry.destination_map())
        return state[key]

    for op in operations:
        cur = get(op.key)
        if isinstance(op, AddService):
            if cur is not None:
                raise ValidationError(f"{op.describe()}: service exists")
            state[op.key] = (op.service, {})
            continue
        if cur is None:
            raise ValidationError(f"{op.describe()}: no such service")
        if isinstance(op, UpdateService):
            state[op.key] = (op.new, cur[1])
        elif isinstance(op, DeleteService):
            state[op.key] = None
        elif isinstance(op, AddDestination):
            if op.destination.key in cur[1]:
                raise ValidationError(f"{op.describe()}: destination exists")
            cur[1][op.destination.key] = op.destination
        elif isinstance(op, UpdateDestination):
            if op.new.key not in cur[1]:
                raise ValidationError(f"{op.describe()}: no such destination")
            cur[1][op.new.key] = op.new
        else:
            if op.destination.key not in cur[1]:
                raise ValidationError(f"{op.describe()}: no such destination")
            del cur[1][op.destination.key]
    changes = {
        k: None if v is None else ServiceEntry(service=v[0], destinations=v[1].values())
        for k, v in state.items()
    }
    return table._replace_many(changes)


def _is_udp(key: ServiceKey) -> bool:
    return key.protocol == Protocol.UDP


def diff(
    current: Table,
    desired: Table,
    *,
    scope: Scope | Callable[[ServiceKey], bool] | None = None,
    drain: bool = False,
) -> Plan:
    """Compute the minimal ordered plan that turns ``current`` into ``desired``.

    Args:
        current: the state now (usually a snapshot, or the known state from
            the previous apply).
        desired: the state wanted.
        scope: which services the plan may touch; services outside it are
            left alone even if ``desired`` lacks them. None means all.
        drain: instead of deleting a destination that left a service that
            stays, set its weight to 0 and list it in :attr:`Plan.drains`
            (UDP destinations are still deleted at once, as kube-proxy does).

    Returns:
        The plan. ``diff(a, a)`` is empty.

    Raises:
        ValidationError: ``desired`` holds a service outside ``scope``.
    """
    for name, table in (("current", current), ("desired", desired)):
        if not isinstance(table, Table):
            raise ValidationError(f"diff: {name} must be a Table, got {type(table).__name__}")
    check_scope(scope)
    with gc_paused():
        return _diff(current, desired, scope, drain)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects are created.

    Building a large plan creates hundreds of thousands of small objects,
    none of them in reference cycles; the collector's repeated full scans
    would cost more than the work itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _diff(
    current: Table,
    desired: Table,
    scope: Scope | Callable[[ServiceKey], bool] | None,
    drain: bool,
) -> Plan:
    in_scope: Callable[[ServiceKey], bool] = scope if scope is not None else (lambda _k: True)
    touched = desired.changed_since(current)
    keys: list[ServiceKey] = list(
        touched if touched is not None else set(current.keys()) | set(desired.keys())
    )
    keys.sort(key=ServiceKey.sort_key)
    # One list per phase, in make-before-break order; keys are visited in
    # sorted order and destinations sorted, so no sort of operations is needed.
    add_svc: list[Operation] = []
    upd_svc: list[Operation] = []
    add_dst: list[Operation] = []
    upd_dst: list[Operation] = []
    del_dst: list[Operation] = []
    del_svc: list[Operation] = []
    drains: list[Drain] = []
    drained_keys: set[ServiceKey] = set()
    changed: list[ServiceKey] = []  # the keys the plan touches, in order
    for key in keys:
        want = desired.get(key)
        have = current.get(key)
        if not in_scope(key):
            if want is not None and want != have:
                raise ValidationError(
                    f"desired service {key.describe()} is outside the scope {scope!r}"
                )
            continue
        if want is None:
            if have is not None:
                del_svc.append(DeleteService(service=have.service, destinations=have.destinations))
                changed.append(key)
            continue
        if have is None:
            changed.append(key)
            add_svc.append(AddService(service=want.service))
            add_dst += [
                AddDestination(service=key, destination=d) for d in want.sorted_destinations()
            ]
            continue
        if want == have:
            continue
        changed.append(key)
        if want.service != have.service:
            upd_svc.append(UpdateService(old=have.service, new=want.service))
        if want.sorted_destinations() == have.sorted_destinations():
            continue
        have_d = have.destination_map()
        want_keys = {d.key for d in want.destinations}
        for d in want.sorted_destinations():
            old = have_d.get(d.key)
            if old is None:
                add_dst.append(AddDestination(service=key, destination=d))
            elif old != d:
                upd_dst.append(UpdateDestination(service=key, old=old, new=d))
        for old in have.sorted_destinations():
            if old.key in want_keys:
                continue
            if drain and not _is_udp(key):
                quiet = attrs.evolve(old, weight=0)
                if old.weight != 0:
                    upd_dst.append(UpdateDestination(service=key, old=old, new=quiet))
                drains.append(Drain(service=key, destination=quiet))
                drained_keys.add(key)
            else:
                del_dst.append(DeleteDestination(service=key, destination=old))
    plan = Plan(
        operations=(*add_svc, *upd_svc, *add_dst, *upd_dst, *del_dst, *del_svc),
        current=current,
        desired=desired,
        scope=scope if isinstance(scope, Scope) or scope is None else Scope(scope),
        drains=tuple(drains),
    )
    # The plan turns every touched service into its desired entry, except
    # where destinations drain: expected() can take those entries as they are.
    object.__setattr__(plan, "_exact_except", frozenset(drained_keys))
    object.__setattr__(plan, "_touched", tuple(changed))
    return plan
