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
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ipvs._errors import ValidationError
from ipvs._model import Destination, Protocol, Service, ServiceKey
from ipvs._table import DestinationKey, ServiceEntry, Table

if TYPE_CHECKING:
    from ipvs._apply import ApplyResult
    from ipvs._client import Client

__all__ = [
    "AddDestination",
    "AddService",
    "DeleteDestination",
    "DeleteService",
    "Drain",
    "Operation",
    "Plan",
    "Scope",
    "UpdateDestination",
    "UpdateService",
    "diff",
]

_SERVICE_FIELDS = ("scheduler", "flags", "timeout", "netmask", "pe_name")
_DEST_FIELDS = (
    "forward",
    "weight",
    "upper_threshold",
    "lower_threshold",
    "tunnel_type",
    "tunnel_port",
    "tunnel_flags",
)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if hasattr(value, "name") and isinstance(getattr(value, "name", None), str):
        return str(value.name).lower()  # enums
    if isinstance(value, int) and type(value) is not int:  # IntFlag without a single name
        return str(int(value))
    return str(value)


def _changes(old: object, new: object, fields: Sequence[str]) -> list[tuple[str, object, object]]:
    return [
        (f, getattr(old, f), getattr(new, f)) for f in fields if getattr(old, f) != getattr(new, f)
    ]


def _service_summary(s: Service) -> str:
    parts = [s.scheduler]
    if s.flags:
        parts.append(f"flags={_show(s.flags)}")
    if s.timeout:
        parts.append(f"timeout={s.timeout}")
    if s.pe_name:
        parts.append(f"pe={s.pe_name}")
    return " ".join(parts)


def _dest_summary(d: Destination) -> str:
    parts = [d.forward.name.lower(), f"weight={d.weight}"]
    if d.upper_threshold or d.lower_threshold:
        parts.append(f"thresholds={d.lower_threshold}..{d.upper_threshold}")
    if d.forward.name == "TUNNEL" and (d.tunnel_type or d.tunnel_port or d.tunnel_flags):
        parts.append(f"tunnel={d.tunnel_type.name.lower()}")
        if d.tunnel_port:
            parts.append(f"tunnel_port={d.tunnel_port}")
    return " ".join(parts)


@attrs.frozen(kw_only=True, slots=True)
class AddService:
    """Create a virtual service.

    Attributes:
        service: the service to create.
    """

    service: Service
    symbol: ClassVar[str] = "+"
    operation: ClassVar[str] = "add_service"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.service.key

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one."""
        return [DeleteService(service=self.service)]

    def describe(self) -> str:
        """One line for people, e.g. ``+ TCP 10.0.0.1:80 rr``."""
        return f"+ {self.service.describe()} {_service_summary(self.service)}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {"op": self.operation, "service": self.service.describe()}


@attrs.frozen(kw_only=True, slots=True)
class UpdateService:
    """Change a service's settings in place (the kernel's SET_SERVICE).

    Attributes:
        old: the service as the plan assumed it is.
        new: the service as it should be.
    """

    old: Service
    new: Service
    symbol: ClassVar[str] = "~"
    operation: ClassVar[str] = "update_service"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.new.key

    def changes(self) -> list[tuple[str, object, object]]:
        """Return ``(field, old, new)`` for each changed setting."""
        return _changes(self.old, self.new, _SERVICE_FIELDS)

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one."""
        return [UpdateService(old=self.new, new=self.old)]

    def describe(self) -> str:
        """One line for people, e.g. ``~ TCP 10.0.0.1:80 scheduler wlc -> rr``."""
        text = ", ".join(f"{f} {_show(a)} -> {_show(b)}" for f, a, b in self.changes())
        return f"~ {self.new.describe()} {text}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {
            "op": self.operation,
            "service": self.new.describe(),
            "changes": {f: [_show(a), _show(b)] for f, a, b in self.changes()},
        }


@attrs.frozen(kw_only=True, slots=True)
class DeleteService:
    """Delete a virtual service (the kernel deletes its destinations with it).

    Attributes:
        service: the service as the plan assumed it is.
        destinations: its destinations, kept so that the deletion can be undone.
    """

    service: Service
    destinations: tuple[Destination, ...] = ()
    symbol: ClassVar[str] = "-"
    operation: ClassVar[str] = "delete_service"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.service.key

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one (the service and its destinations)."""
        ops: list[Operation] = [AddService(service=self.service)]
        ops += [AddDestination(service=self.service.key, destination=d) for d in self.destinations]
        return ops

    def describe(self) -> str:
        """One line for people, e.g. ``- TCP 10.0.0.1:80``."""
        extra = f" (and its {len(self.destinations)} destinations)" if self.destinations else ""
        return f"- {self.service.describe()}{extra}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {"op": self.operation, "service": self.service.describe()}


@attrs.frozen(kw_only=True, slots=True)
class AddDestination:
    """Add a destination to a service.

    Attributes:
        service: the service's key.
        destination: the destination.
    """

    service: ServiceKey
    destination: Destination
    symbol: ClassVar[str] = "+"
    operation: ClassVar[str] = "add_destination"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.service

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one."""
        return [DeleteDestination(service=self.service, destination=self.destination)]

    def describe(self) -> str:
        """One line for people, e.g. ``+ TCP 10.0.0.1:80 -> 10.1.0.1:80 masq weight=1``."""
        d = self.destination
        return f"+ {self.service.describe()} -> {d.describe()} {_dest_summary(d)}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {
            "op": self.operation,
            "service": self.service.describe(),
            "destination": self.destination.describe(),
        }


@attrs.frozen(kw_only=True, slots=True)
class UpdateDestination:
    """Change a destination's settings in place (the kernel's SET_DEST).

    Attributes:
        service: the service's key.
        old: the destination as the plan assumed it is.
        new: the destination as it should be.
    """

    service: ServiceKey
    old: Destination
    new: Destination
    symbol: ClassVar[str] = "~"
    operation: ClassVar[str] = "update_destination"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.service

    @property
    def destination(self) -> Destination:
        """The destination as it should be."""
        return self.new

    def changes(self) -> list[tuple[str, object, object]]:
        """Return ``(field, old, new)`` for each changed setting."""
        return _changes(self.old, self.new, _DEST_FIELDS)

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one."""
        return [UpdateDestination(service=self.service, old=self.new, new=self.old)]

    def describe(self) -> str:
        """One line for people, e.g. ``~ TCP 10.0.0.1:80 -> 10.1.0.1:80 weight 1 -> 0``."""
        text = ", ".join(f"{f} {_show(a)} -> {_show(b)}" for f, a, b in self.changes())
        return f"~ {self.service.describe()} -> {self.new.describe()} {text}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {
            "op": self.operation,
            "service": self.service.describe(),
            "destination": self.new.describe(),
            "changes": {f: [_show(a), _show(b)] for f, a, b in self.changes()},
        }


@attrs.frozen(kw_only=True, slots=True)
class DeleteDestination:
    """Remove a destination from a service.

    Attributes:
        service: the service's key.
        destination: the destination as the plan assumed it is.
    """

    service: ServiceKey
    destination: Destination
    symbol: ClassVar[str] = "-"
    operation: ClassVar[str] = "delete_destination"

    @property
    def key(self) -> ServiceKey:
        """The service concerned."""
        return self.service

    def inverse(self) -> list[Operation]:
        """Return the operations that undo this one."""
        return [AddDestination(service=self.service, destination=self.destination)]

    def describe(self) -> str:
        """One line for people, e.g. ``- TCP 10.0.0.1:80 -> 10.1.0.1:80``."""
        return f"- {self.service.describe()} -> {self.destination.describe()}"

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict."""
        return {
            "op": self.operation,
            "service": self.service.describe(),
            "destination": self.destination.describe(),
        }


Operation = (
    AddService
    | UpdateService
    | DeleteService
    | AddDestination
    | UpdateDestination
    | DeleteDestination
)


@attrs.frozen(kw_only=True, slots=True)
class Drain:
    """A destination on its way out: weight 0 now, deleted once idle.

    Attributes:
        service: the service's key.
        destination: the destination (as it is while draining, weight 0).
    """

    service: ServiceKey
    destination: Destination

    def describe(self) -> str:
        """One line for people."""
        return f"{self.service.describe()} -> {self.destination.describe()}"


class Scope:
    """Which services a plan may touch.

    A scope is a predicate on :class:`~ipvs.ServiceKey`. Services outside it
    are never added, changed or deleted, so the library can share a kernel
    with keepalived or another manager. Scopes combine with ``|`` and ``&``.

    Args:
        predicate: returns True for the keys the plan owns.
        description: text for error messages and ``repr``.

    Example:
        >>> from ipvs import Scope, ServiceKey
        >>> scope = Scope.networks("10.96.0.0/12") | Scope.fwmarks(7)
        >>> scope(ServiceKey.tcp("10.96.0.10", 53)), scope(ServiceKey.tcp("192.0.2.1", 80))
        (True, False)
    """

    __slots__ = ("description", "predicate")

    def __init__(
        self, predicate: Callable[[ServiceKey], bool], description: str = "custom"
    ) -> None:
        self.predicate = predicate
        self.description = description

    def __call__(self, key: ServiceKey) -> bool:
        return bool(self.predicate(key))

    def __repr__(self) -> str:
        return f"Scope({self.description})"

    def __or__(self, other: Scope) -> Scope:
        return Scope(lambda k: self(k) or other(k), f"{self.description} | {other.description}")

    def __and__(self, other: Scope) -> Scope:
        return Scope(lambda k: self(k) and other(k), f"{self.description} & {other.description}")

    @classmethod
    def everything(cls) -> Scope:
        """Every service (the default: the plan owns the whole table)."""
        return cls(lambda _k: True, "everything")

    @classmethod
    def keys(cls, keys: Iterable[ServiceKey]) -> Scope:
        """Exactly the given service keys.

        Args:
            keys: the keys owned.

        Returns:
            The scope.
        """
        owned = frozenset(keys)
        return cls(owned.__contains__, f"{len(owned)} keys")

    @classmethod
    def of(cls, table: Table) -> Scope:
        """The services listed in ``table`` (typically the desired state).

        Args:
            table: a table.

        Returns:
            The scope.
        """
        return cls.keys(table.keys())

    @classmethod
    def networks(cls, *networks: str | ipaddress.IPv4Network | ipaddress.IPv6Network) -> Scope:
        """Services whose virtual address lies in one of the networks.

        Args:
            *networks: networks such as ``"10.96.0.0/12"``.

        Returns:
            The scope (fwmark services are outside it).

        Raises:
            ValidationError: a network is malformed.
        """
        try:
            nets = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        except ValueError as exc:
            raise ValidationError(f"Scope.networks: {exc}") from None

        def inside(k: ServiceKey) -> bool:
            return k.address is not None and any(
                k.address.version == n.version and k.address in n for n in nets
            )

        return cls(inside, "networks " + ",".join(map(str, nets)))

    @classmethod
    def fwmarks(cls, *marks: int) -> Scope:
        """Firewall-mark services with the given marks (any family).

        Args:
            *marks: the marks.

        Returns:
            The scope.
        """
        owned = frozenset(marks)
        return cls(lambda k: k.fwmark is not None and k.fwmark in owned, f"fwmarks {sorted(owned)}")


@attrs.frozen(kw_only=True, slots=True)
class Plan(Sequence[Operation]):
    """An ordered list of operations that turns ``current`` into ``desired``.

    ``str(plan)`` renders it for people (``+`` add, ``~`` change with
    ``field old -> new``, ``-`` delete); :meth:`to_dict` exports it.

    Attributes:
        operations: the operations, in the order they are sent.
        current: the state the plan assumes the kernel is in.
        desired: the state asked for.
        scope: the services the plan may touch (None: all).
        drains: destinations left at weight 0 instead of deleted (``drain=True``).
    """

    operations: tuple[Operation, ...]
    current: Table = attrs.field(eq=False, repr=False)
    desired: Table = attrs.field(eq=False, repr=False)
    scope: Scope | None = attrs.field(default=None, eq=False, repr=False)
    drains: tuple[Drain, ...] = ()
    _exact_except: frozenset[ServiceKey] | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __getitem__(self, index: Any) -> Any:
        return self.operations[index]

    def __bool__(self) -> bool:
        return bool(self.operations)

    def counts(self) -> tuple[int, int, int]:
        """Return how many operations add, change and delete."""
        add = sum(1 for op in self.operations if op.symbol == "+")
        change = sum(1 for op in self.operations if op.symbol == "~")
        return add, change, len(self.operations) - add - change

    def summary(self) -> str:
        """One line such as ``Plan: 2 to add, 1 to change, 0 to delete.``"""
        if not self.operations:
            return "No changes."
        add, change, delete = self.counts()
        return f"Plan: {add} to add, {change} to change, {delete} to delete."

    def __str__(self) -> str:
        lines = [op.describe() for op in self.operations]
        lines += [f"  draining {d.describe()}" for d in self.drains]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Export the plan as a JSON-ready dict."""
        add, change, delete = self.counts()
        return {
            "operations": [op.to_dict() for op in self.operations],
            "drains": [d.describe() for d in self.drains],
            "summary": {"add": add, "change": change, "delete": delete},
        }

    def inverse(self) -> list[Operation]:
        """Return operations that undo the whole plan, in the order to send them."""
        return [inv for op in reversed(self.operations) for inv in op.inverse()]

    def expected(self) -> Table:
        """Return the table the kernel holds after the plan is applied."""
        with gc_paused():
            if self._exact_except is None:
                return _simulate(self.current, self.operations)
            # made by diff(): each touched service ends as desired, but drains
            exact = self._exact_except
            changes: dict[ServiceKey, ServiceEntry | None] = {}
            draining = []
            for op in self.operations:
                key = op.key
                if key in exact:
                    draining.append(op)
                elif key not in changes:
                    changes[key] = self.desired.get(key)
            table = self.current._replace_many(changes) if changes else self.current
            return _simulate(table, draining) if draining else table

    def apply(
        self,
        client: Client,
        *,
        verify: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ApplyResult:
        """Apply the plan through ``client``, all or nothing (see :meth:`ipvs.Client.apply`).

        Args:
            client: an open client.
            verify: read the touched services back afterwards and compare.
            progress: called with (operations sent, total) while sending.

        Returns:
            The result, with the new known state.

        Raises:
            ApplyError: an operation failed; everything was rolled back.
            ConflictError: the kernel was not in the state the plan assumed.
            RollbackError: rolling back failed too; the state is unknown.
        """
        from ipvs._apply import apply_plan

        return apply_plan(client, self, verify=verify, progress=progress)

    def _repr_html_(self) -> str:
        from ipvs._html import plan_html

        return plan_html(self)


def _simulate(table: Table, operations: Iterable[Operation]) -> Table:
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
            continue
        if have is None:
            add_svc.append(AddService(service=want.service))
            add_dst += [
                AddDestination(service=key, destination=d) for d in want.sorted_destinations()
            ]
            continue
        if want == have:
            continue
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
    return plan
