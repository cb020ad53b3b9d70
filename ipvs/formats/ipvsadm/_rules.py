"""The rules of an ipvsadm save file, one class per command."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import TypeAlias

import attrs

from ipvs._model import (
    Destination,
    Service,
    ServiceKey,
)

__all__ = [
    "AddDestination",
    "AddService",
    "Clear",
    "DeleteDestination",
    "DeleteService",
    "EditDestination",
    "EditService",
    "Rule",
]


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


@attrs.frozen(slots=True)
class AddService:
    """``-A``: create a virtual service.

    Attributes:
        service: the service, with ipvsadm's defaults applied.
        line: the input line it came from (1-based; not compared).
    """

    service: Service
    line: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen(slots=True)
class EditService:
    """``-E``: replace a service's settings (every setting, as ipvsadm does).

    Attributes:
        service: the new service; its key names the service to change.
        line: the input line it came from (1-based; not compared).
    """

    service: Service
    line: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen(slots=True)
class DeleteService:
    """``-D``: delete a virtual service and its destinations.

    Attributes:
        key: the service to delete.
        line: the input line it came from (1-based; not compared).
    """

    key: ServiceKey
    line: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen(slots=True)
class AddDestination:
    """``-a``: add a real server to a service.

    Attributes:
        service_key: the service.
        destination: the destination, with ipvsadm's defaults applied.
        line: the input line it came from (1-based; not compared).
    """

    service_key: ServiceKey
    destination: Destination
    line: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen(slots=True)
class EditDestination:
    """``-e``: replace a real server's settings (every setting, as ipvsadm does).

    Attributes:
        service_key: the service.
        destination: the new destination; its address and port name the
            destination to change.
        line: the input line it came from (1-based; not compared).
    """

    service_key: ServiceKey
    destination: Destination
    line: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen(slots=True)
class DeleteDestination:
    """``-d``: remove a real server from a service.

    Attributes:
        service_key: the service.
        address: the real server's address.
        port: the real server's port.
        line: the input line it came from (1-based; not compared).
    """

    service_key: ServiceKey
    address: IPv4Address | IPv6Address
    port: int
    line: int = attrs.field(default=0, eq=False, kw_only=True)

    @property
    def key(self) -> tuple[IPv4Address | IPv6Address, int]:
        """The destination key ``(address, port)``."""
        return (self.address, self.port)


@attrs.frozen(slots=True)
class Clear:
    """``-C``: delete every service.

    Attributes:
        line: the input line it came from (1-based; not compared).
    """

    line: int = attrs.field(default=0, eq=False, kw_only=True)


#: One parsed ipvsadm rule.
Rule: TypeAlias = (
    "AddService | EditService | DeleteService | AddDestination | EditDestination"
    " | DeleteDestination | Clear"
)
