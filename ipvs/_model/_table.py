"""The whole IPVS table as one immutable value: desired or observed state.

A :class:`Table` maps each :class:`~ipvs.ServiceKey` to a :class:`ServiceEntry`
(the service and its destinations). Tables compare by identity and settings
only, never by live statistics, so a table read from the kernel equals the
desired table it was built from.

Tables are immutable; :meth:`Table.with_service` and friends return new
tables that remember what changed relative to their origin, which lets
:func:`ipvs.diff` look only at the changed services when the desired state
was derived from the known current state.
"""

from __future__ import annotations

import operator
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from ipaddress import IPv4Address, IPv6Address
from typing import Any, TypeVar, overload

import attrs

from ipvs._model._checks import building_twin, slot_setter, to_address
from ipvs._model._enums import ForwardMethod
from ipvs._model._objects import Destination
from ipvs._model._service import Service, ServiceKey
from ipvs.errors import NotInTable, ValidationError

__all__ = ["DestinationKey", "DestinationLike", "ServiceEntry", "ServiceLike", "Table"]

_T = TypeVar("_T")

DestinationKey = tuple[IPv4Address | IPv6Address, int]


_TUNNEL = ForwardMethod.TUNNEL
_order = operator.attrgetter("_ip", "port")


def _sorted_destinations(
    service: Service, value: tuple[Destination, ...]
) -> tuple[Destination, ...]:
    """Check the destinations of one service and return them sorted by family, address, port."""
    family = service.key.family
    for d in value:
        if d.__class__ is not Destination and not isinstance(d, Destination):
            raise ValidationError(f"ServiceEntry.destinations: expected Destination, got {d!r}")
        if d.family is not family and d.forward is not _TUNNEL:
            raise ValidationError(
                f"destination {d.describe()} of {service.describe()}: a destination of "
                "another address family needs forward=tunnel (the kernel refuses others)"
            )
    if len(value) < 2:
        return value
    ordered = sorted(value, key=_order)
    previous = ordered[0]
    for d in ordered[1:]:
        if d._ip == previous._ip and d.port == previous.port:
            raise ValidationError(f"destination {d.describe()} is listed twice")
        previous = d
    return tuple(ordered)


@attrs.frozen(kw_only=True, slots=True, init=False, weakref_slot=False)
class ServiceEntry:
    """A virtual service together with its destinations.

    Args:
        service: the service.
        destinations: its destinations, each address and port at most once,
            each of the service's address family unless it is tunnelled.
            Their order is kept as given (a snapshot keeps the kernel's order,
            newest first, which ipvsadm's sorting depends on) but does not
            matter for equality.

    Raises:
        ValidationError: a destination is listed twice, is not a Destination,
            or has another address family without ``forward=TUNNEL``.
    """

    service: Service
    destinations: tuple[Destination, ...] = attrs.field(default=(), eq=False)
    _sorted: tuple[Destination, ...] = attrs.field(init=False, repr=False)

    def __init__(self, *, service: Service, destinations: Iterable[Destination] = ()) -> None:
        if service.__class__ is not Service and not isinstance(service, Service):
            raise ValidationError(f"ServiceEntry.service: expected Service, got {service!r}")
        dests = destinations if destinations.__class__ is tuple else tuple(destinations)
        _e_service(self, service)
        _e_destinations(self, dests)
        _e_sorted(self, _sorted_destinations(service, dests))

    def sorted_destinations(self) -> tuple[Destination, ...]:
        """Return the destinations sorted by family, address and port."""
        return self._sorted

    @property
    def key(self) -> ServiceKey:
        """The service's key."""
        return self.service.key

    def destination_map(self) -> dict[DestinationKey, Destination]:
        """Return the destinations by ``(address, port)``.

        Returns:
            A new dict.
        """
        return {d.key: d for d in self.destinations}

    def describe(self) -> str:
        """Describe the entry's service.

        Returns:
            Text such as ``"TCP 10.0.0.1:80"``.
        """
        return self.service.describe()


_e_service, _e_destinations, _e_sorted = (
    slot_setter(ServiceEntry, a.name) for a in attrs.fields(ServiceEntry)
)


def trusted_entry(
    service: Service, destinations: tuple[Destination, ...], ordered: tuple[Destination, ...]
) -> ServiceEntry:
    """Build a :class:`ServiceEntry` without checks: ``ordered`` is ``destinations`` sorted.

    The caller guarantees what :class:`ServiceEntry` checks.
    """
    entry = _new(_BuildingEntry)
    entry.service = service
    entry.destinations = destinations
    entry._sorted = ordered
    entry.__class__ = ServiceEntry
    return entry  # type: ignore[no-any-return]


_new = object.__new__
_BuildingEntry = building_twin(ServiceEntry)
EntryLike = ServiceEntry | Service | tuple[Service, Iterable[Destination]]
#: What the table's methods take for a service: its key, the service, or its entry.
ServiceLike = ServiceKey | Service | ServiceEntry
#: What they take for a destination: the destination, or ``(address, port)``
#: with the address as an object or a string.
DestinationLike = Destination | tuple[IPv4Address | IPv6Address | str, int]


def _skey(service: object) -> ServiceKey:
    """The key of a service given in any of the accepted forms."""
    if service.__class__ is ServiceKey:
        return service
    if isinstance(service, (Service, ServiceEntry)):
        return service.key
    if isinstance(service, ServiceKey):
        return service
    raise ValidationError(
        f"expected a ServiceKey, a Service or a ServiceEntry, got {service!r:.80}"
    )


def _dkey(destination: object) -> DestinationKey:
    """The ``(address, port)`` key of a destination given in any accepted form."""
    if isinstance(destination, Destination):
        return destination.key
    if isinstance(destination, tuple) and len(destination) == 2:
        address, port = destination
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 0xFFFF:
            raise ValidationError(f"destination port: expected 0..65535, got {port!r:.40}")
        return to_address(address), port
    raise ValidationError(
        f"expected a Destination or an (address, port) pair, got {destination!r:.80}"
    )


def _entry(item: EntryLike) -> ServiceEntry:
    if isinstance(item, ServiceEntry):
        return item
    if isinstance(item, Service):
        return ServiceEntry(service=item)
    if isinstance(item, tuple) and len(item) == 2:
        return ServiceEntry(service=item[0], destinations=item[1])
    raise ValidationError(
        f"Table: expected a ServiceEntry, a Service or a (Service, destinations) pair, got {item!r}"
    )


class Table(Mapping[ServiceKey, ServiceEntry]):
    """An immutable IPVS table: service keys to services and destinations.

    Args:
        entries: :class:`ServiceEntry` objects, bare services, or
            ``(service, destinations)`` pairs.

    Raises:
        ValidationError: a service key appears twice, or an entry is malformed.

    Example:
        >>> from ipvs import Destination, Service, Table
        >>> web = Service.tcp("10.0.0.1", 80, scheduler="rr")
        >>> table = Table([(web, [Destination(address="10.1.0.1", port=80)])])
        >>> len(table), table[web.key].destinations[0].describe()
        (1, '10.1.0.1:80')
    """

    __slots__ = ("_delta", "_len", "_map", "_root")

    # A root table holds all its entries in ``_map``. A table derived from one
    # (by with_service() and friends) holds only its differences, ``_delta``
    # (key -> entry, or None for removed), over that root: deriving costs
    # O(changes), not O(table), and diff() can look at just those keys. The
    # full dict is built on first need (iteration, equality) and cached.
    _map: dict[ServiceKey, ServiceEntry] | None
    _root: Table | None
    _delta: dict[ServiceKey, ServiceEntry | None] | None
    _len: int

    def __init__(self, entries: Iterable[EntryLike] = ()) -> None:
        table: dict[ServiceKey, ServiceEntry] = {}
        if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Iterable):
            raise ValidationError(
                "Table: expected an iterable of entries, services or (service, destinations) "
                f"pairs, got {type(entries).__name__}"
            )
        for item in entries:
            entry = _entry(item)
            if entry.key in table:
                raise ValidationError(f"service {entry.describe()} is listed twice")
            table[entry.key] = entry
        self._map = table
        self._root = None
        self._delta = None
        self._len = len(table)

    @classmethod
    def _from_map(cls, entries: dict[ServiceKey, ServiceEntry]) -> Table:
        new = cls.__new__(cls)
        new._map, new._root, new._delta, new._len = entries, None, None, len(entries)
        return new

    @classmethod
    def _derived(cls, base: Table, changes: Mapping[ServiceKey, ServiceEntry | None]) -> Table:
        if base._root is None:
            root, delta = base, dict(changes)
        else:
            assert base._delta is not None
            root, delta = base._root, {**base._delta, **changes}
        root_map = root._entries
        if len(delta) * 4 > len(root_map) + 16:
            # the differences are a large part of the table: make a new root
            entries = dict(root_map)
            for key, entry in delta.items():
                if entry is None:
                    entries.pop(key, None)
                else:
                    entries[key] = entry
            return cls._from_map(entries)
        size = len(root_map)
        for key, entry in delta.items():
            present = key in root_map
            if entry is None and present:
                size -= 1
            elif entry is not None and not present:
                size += 1
        new = cls.__new__(cls)
        new._map, new._root, new._delta, new._len = None, root, delta, size
        return new

    @property
    def _entries(self) -> dict[ServiceKey, ServiceEntry]:
        entries = self._map
        if entries is None:
            assert self._root is not None and self._delta is not None
            entries = dict(self._root._entries)
            for key, entry in self._delta.items():
                if entry is None:
                    entries.pop(key, None)
                else:
                    entries[key] = entry
            self._map = entries
        return entries

    def _replace_many(self, changes: Mapping[ServiceKey, ServiceEntry | None]) -> Table:
        """Return a derived table with entries replaced (or removed, for None)."""
        return Table._derived(self, changes)

    # -- Mapping ---------------------------------------------------------------

    def __getitem__(self, key: ServiceLike) -> ServiceEntry:
        if key.__class__ is not ServiceKey:
            key = _skey(key)
        entry = self.get(key)
        if entry is None:
            raise NotInTable(f"no service {key.describe()} in the table")
        return entry

    def __iter__(self) -> Iterator[ServiceKey]:
        return iter(self._entries)

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[call-overload]

    @overload
    def get(self, key: ServiceLike, /) -> ServiceEntry | None: ...

    @overload
    def get(self, key: ServiceLike, /, default: ServiceEntry | _T) -> ServiceEntry | _T: ...

    def get(self, key: ServiceLike, /, default: Any = None) -> Any:
        """The entry of a service, or ``default``: the get-or-None of services.

        Args:
            key: the service key, the service or its entry (anything else is
                simply not in the table).
            default: what to return when the service is absent.

        Returns:
            The entry, or ``default``.
        """
        if key.__class__ is not ServiceKey and isinstance(key, (Service, ServiceEntry)):
            key = key.key
        entries = self._map
        if entries is not None:
            try:
                return entries.get(key, default)
            except TypeError:  # unhashable: not a key of this table
                return default
        assert self._delta is not None and self._root is not None
        try:
            if key in self._delta:
                entry = self._delta[key]
                return default if entry is None else entry
        except TypeError:
            return default
        return self._root.get(key, default)

    def keys(self) -> KeysView[ServiceKey]:
        """The service keys."""
        return self._entries.keys()

    def values(self) -> ValuesView[ServiceEntry]:
        """The entries."""
        return self._entries.values()

    def items(self) -> ItemsView[ServiceKey, ServiceEntry]:
        """``(key, entry)`` pairs."""
        return self._entries.items()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self is other or self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Table: {len(self)} services, {self.destination_count()} destinations>"

    # -- queries ---------------------------------------------------------------

    def services(self) -> list[Service]:
        """Return the services, sorted like ``ipvsadm -Sn``.

        Returns:
            A new list.
        """
        return [e.service for e in self.entries()]

    def entries(self) -> list[ServiceEntry]:
        """Return the entries sorted by service key.

        Returns:
            A new list.
        """
        return sorted(self._entries.values(), key=lambda e: e.key.sort_key())

    def destinations(self, key: ServiceLike) -> tuple[Destination, ...]:
        """Return one service's destinations.

        Args:
            key: the service, its key or its entry.

        Returns:
            The destinations in their stored order: as given, or the kernel's
            for a snapshot (newest first, see :class:`ServiceEntry`).

        Raises:
            NotInTable: no such service in the table (a :class:`KeyError`).
        """
        return self[key].destinations

    def get_destination(
        self, service: ServiceLike, destination: DestinationLike
    ) -> Destination | None:
        """Return a service's destination, or None: the get-or-None of destinations.

        Args:
            service: the service, its key or its entry.
            destination: a destination or its ``(address, port)``; the address
                may be a string (``("10.0.0.2", 80)``).

        Returns:
            The destination as the table holds it (with its settings), or
            None when the service or the destination is absent.

        Raises:
            ValidationError: ``destination`` is neither form, or its address
                or port is invalid.

        Example:
            >>> from ipvs import Destination, Service, Table
            >>> web = Service.tcp("10.0.0.1", 80)
            >>> table = Table([(web, [Destination(address="10.1.0.1", port=80, weight=3)])])
            >>> table.get_destination(web, ("10.1.0.1", 80)).weight
            3
            >>> table.get_destination(web, ("10.1.0.2", 80)) is None
            True
        """
        dkey = _dkey(destination)
        entry = self.get(_skey(service))
        if entry is None:
            return None
        for d in entry.destinations:
            if d.key == dkey:
                return d
        return None

    def has_destination(self, service: ServiceLike, destination: DestinationLike) -> bool:
        """Tell whether a service has a destination (``service in table`` for services).

        Args:
            service: the service, its key or its entry.
            destination: a destination or its ``(address, port)``.

        Returns:
            True when the service is in the table and has that destination.

        Raises:
            ValidationError: ``destination`` is neither form, or is invalid.
        """
        return self.get_destination(service, destination) is not None

    def destination_count(self) -> int:
        """Return the number of destinations over all services."""
        return sum(len(e.destinations) for e in self._entries.values())

    def changed_since(self, base: Table) -> frozenset[ServiceKey] | None:
        """Tell which services may differ from ``base``, when this is known cheaply.

        Args:
            base: a table this one may have been derived from.

        Returns:
            The keys touched since ``base`` if this table was derived from it
            with the ``with_*``/``without_*`` methods, else None.
        """
        if self is base:
            return frozenset()
        if self._root is base:
            assert self._delta is not None
            return frozenset(self._delta)
        if base._root is self:
            assert base._delta is not None
            return frozenset(base._delta)
        if self._root is not None and self._root is base._root:
            assert self._delta is not None and base._delta is not None
            return frozenset(self._delta) | frozenset(base._delta)
        return None

    # -- derivation ------------------------------------------------------------

    def with_entry(self, entry: ServiceEntry) -> Table:
        """Return a table where ``entry`` replaces (or adds) its service.

        Args:
            entry: the new entry.

        Returns:
            A new table.
        """
        return Table._derived(self, {entry.key: entry})

    def with_service(
        self, service: Service, destinations: Iterable[Destination] | None = None
    ) -> Table:
        """Return a table with ``service`` added or its settings replaced.

        Args:
            service: the service.
            destinations: its destinations; by default the ones it has now
                (none for a new service).

        Returns:
            A new table.

        Raises:
            ValidationError: ``service`` is not a :class:`Service`, or a
                destination is invalid for it.
        """
        if not isinstance(service, Service):
            raise ValidationError(f"with_service: expected a Service, got {service!r:.80}")
        if destinations is None:
            old = self.get(service.key)
            destinations = old.destinations if old is not None else ()
        return self.with_entry(ServiceEntry(service=service, destinations=destinations))

    def without_service(self, key: ServiceLike) -> Table:
        """Return a table without a service (and its destinations).

        Args:
            key: the service, its key or its entry.

        Returns:
            A new table.

        Raises:
            NotInTable: the service is not in the table (check with ``in``
                first to remove it only if present).
        """
        k = _skey(key)
        if k not in self:
            raise NotInTable(f"without_service: no service {k.describe()} in the table")
        return Table._derived(self, {k: None})

    def with_destination(self, key: ServiceLike, destination: Destination) -> Table:
        """Return a table where ``destination`` is added to, or replaced in, a service.

        Args:
            key: the service, its key or its entry.
            destination: the destination.

        Returns:
            A new table.

        Raises:
            NotInTable: no such service.
            ValidationError: ``destination`` is not a :class:`Destination`.
        """
        if not isinstance(destination, Destination):
            raise ValidationError(
                f"with_destination: expected a Destination, got {destination!r:.80}"
            )
        k = _skey(key)
        entry = self[k]
        dests = [d for d in entry.destinations if d.key != destination.key]
        dests.append(destination)
        return self.with_entry(ServiceEntry(service=entry.service, destinations=dests))

    def without_destination(self, key: ServiceLike, destination: DestinationLike) -> Table:
        """Return a table without one destination of a service.

        Args:
            key: the service, its key or its entry.
            destination: the destination or its ``(address, port)`` key; the
                address may be a string (``("10.0.0.2", 80)``).

        Returns:
            A new table.

        Raises:
            NotInTable: no such service, or it has no such destination
                (check with :meth:`has_destination` first to remove it only
                if present).
            ValidationError: ``destination`` is neither form, or is invalid.
        """
        k = _skey(key)
        dkey = _dkey(destination)
        entry = self[k]
        dests = [d for d in entry.destinations if d.key != dkey]
        if len(dests) == len(entry.destinations):
            address, port = dkey
            shown = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
            raise NotInTable(f"without_destination: {k.describe()} has no destination {shown}")
        return self.with_entry(ServiceEntry(service=entry.service, destinations=dests))

    def filter(self, keep: Callable[[ServiceKey], object]) -> Table:
        """Return the table restricted to the services for which ``keep(key)`` is true.

        Args:
            keep: a predicate on :class:`ServiceKey` (for example a :class:`ipvs.Scope`).

        Returns:
            A new table.

        Raises:
            ValidationError: ``keep`` is not callable.
        """
        if not callable(keep):
            raise ValidationError(f"Table.filter: expected a predicate, got {keep!r:.80}")
        return Table(e for k, e in self._entries.items() if keep(k))
