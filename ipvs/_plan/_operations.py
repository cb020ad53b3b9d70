"""Plan operations: one frozen object per kernel write, each with its inverse.

Every operation is one kernel message. Each knows the service it concerns
(:attr:`key`), how to describe itself for people (:meth:`describe`), and the
operations that undo it (:meth:`inverse`), computed from the state the plan
assumed, so a deleted service comes back with all its settings and
destinations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from ipvs._model import Destination, Service, ServiceKey, flag_names

__all__ = [
    "AddDestination",
    "AddService",
    "DeleteDestination",
    "DeleteService",
    "Drain",
    "Operation",
    "UpdateDestination",
    "UpdateService",
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


def _show_change(field: str, old: object, new: object, before: object, after: object) -> str:
    if field == "flags" and isinstance(before, Service) and isinstance(after, Service):
        a = ",".join(flag_names(before.flags, before.scheduler)) or "none"
        b = ",".join(flag_names(after.flags, after.scheduler)) or "none"
        return f"flags {a} -> {b}"
    return f"{field} {_show(old)} -> {_show(new)}"


def _service_summary(s: Service) -> str:
    parts = [s.scheduler]
    if s.flags:
        parts.append(f"flags={','.join(s.flag_names)}")
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
        text = ", ".join(_show_change(f, a, b, self.old, self.new) for f, a, b in self.changes())
        return f"~ {self.new.describe()} {text}"


@attrs.frozen(kw_only=True, slots=True)
class DeleteService:
    """Delete a virtual service (the kernel deletes its destinations with it).

    Attributes:
        service: the service as the plan assumed it is.
        destinations: its destinations in the kernel's order (newest first),
            kept so that the deletion can be undone exactly.
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
        """Return the operations that undo this one (the service and its destinations).

        The destinations are kept in the kernel's order (newest first), and the
        kernel inserts each new destination first: they are re-added oldest
        first, so the kernel ends with the order it had (``sh`` and ``mh``
        hash over that order).
        """
        ops: list[Operation] = [AddService(service=self.service)]
        key = self.service.key
        ops += [AddDestination(service=key, destination=d) for d in reversed(self.destinations)]
        return ops

    def describe(self) -> str:
        """One line for people, e.g. ``- TCP 10.0.0.1:80``."""
        count = len(self.destinations)
        extra = f" (and its {count} destination{'s' if count != 1 else ''})" if count else ""
        return f"- {self.service.describe()}{extra}"


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
        text = ", ".join(_show_change(f, a, b, self.old, self.new) for f, a, b in self.changes())
        return f"~ {self.service.describe()} -> {self.new.describe()} {text}"


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
