"""Service addresses bound to a dummy interface: which, and in what steps, with no I/O.

A director accepts the traffic of a virtual service only if the service's
address is local: kube-proxy's IPVS mode puts every service address on a
dummy interface (``kube-ipvs0``), keepalived on the interface its VRRP
instance names. :class:`Binding` asks an apply to do the same: the addresses
of the services it makes are added to a dummy interface (created if
missing), and removed once no service uses them.

What to bind is pure: :func:`address_changes` compares the state of the
link (a :class:`LinkState`, read by the client) with the services the table
will hold and returns the steps, each of which is one rtnetlink request and
knows its inverse, so that a rollback can undo it. The clients send them
(with pyroute2), the new addresses before the services that need them and
the removals after the services that used them are gone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import attrs

from ipvs._model import ServiceKey, Table
from ipvs.errors import ValidationError

__all__ = [
    "DEFAULT_INTERFACE",
    "AddAddress",
    "AddressChange",
    "Binding",
    "CreateLink",
    "DeleteAddress",
    "DeleteLink",
    "LinkState",
    "SetLinkDown",
    "SetLinkUp",
    "address_changes",
    "after_services",
    "before_services",
    "bound_addresses",
    "undo_changes",
]

#: The interface :class:`Binding` uses by default (kube-proxy's is ``kube-ipvs0``).
DEFAULT_INTERFACE = "ipvs0"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_IFNAMSIZ = 15  # the longest interface name the kernel takes


def _interface(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, str)
        or not 1 <= len(value.encode()) <= _IFNAMSIZ
        or value in (".", "..")
        or any(c.isspace() or c in "/:" for c in value)
    ):
        raise ValidationError(
            f"{type(inst).__name__}.{attribute.name}: expected an interface name of 1 to "
            f"{_IFNAMSIZ} characters without '/', ':' or spaces, got {value!r}"
        )


def _flag(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(
            f"{type(inst).__name__}.{attribute.name} must be True or False, got {value!r}"
        )


@attrs.frozen(kw_only=True, slots=True)
class Binding:
    """Bind the addresses of the services an apply makes to a dummy interface.

    With a binding, :meth:`ipvs.Client.apply` also puts the virtual address
    of every service it keeps (within its scope) on ``interface``, as a
    host address (IPv4 ``/32``, IPv6 ``/128``), creating the interface (kind
    ``dummy``) and bringing it up when needed; and it removes the host
    addresses on the interface that no service of the resulting table uses
    any more. Firewall-mark services have no address. Link-local and other
    non-host addresses on the interface are left alone. An interface of
    another kind than ``dummy`` is refused: its addresses are not the
    binding's to remove.

    Args:
        interface: the dummy interface's name.
        keep_link: keep the interface when no address is left on it (as
            kube-proxy does); False deletes it then.

    Raises:
        ValidationError: the name is not a valid interface name.

    Example:
        >>> import ipvs
        >>> ipvs.Binding(interface="kube-ipvs0")
        Binding(interface='kube-ipvs0', keep_link=True)
    """

    interface: str = attrs.field(default=DEFAULT_INTERFACE, validator=_interface)
    keep_link: bool = attrs.field(default=True, validator=_flag)


def _to_addresses(value: Iterable[Any]) -> frozenset[Address]:
    try:
        return frozenset(ipaddress.ip_address(a) for a in value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"LinkState.addresses: {exc}") from None


@attrs.frozen(kw_only=True, slots=True)
class LinkState:
    """What an interface is now, as far as a binding is concerned.

    Attributes:
        interface: its name.
        exists: whether there is such an interface.
        kind: its kind (``"dummy"``, ``"veth"``, ...), None when it has none.
        up: whether it is administratively up.
        addresses: its host addresses of global scope (the ones a binding
            manages).
    """

    interface: str = attrs.field(validator=_interface)
    exists: bool = False
    kind: str | None = None
    up: bool = False
    addresses: frozenset[Address] = attrs.field(default=frozenset(), converter=_to_addresses)


def _host(address: Address) -> str:
    return f"{address}/{address.max_prefixlen}"


@attrs.frozen(kw_only=True, slots=True)
class CreateLink:
    """Create the dummy interface and bring it up.

    Attributes:
        interface: its name.
    """

    interface: str
    symbol: ClassVar[str] = "+"
    operation: ClassVar[str] = "create_link"
    before: ClassVar[bool] = True

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [DeleteLink(interface=self.interface)]

    def describe(self) -> str:
        """One line for people, e.g. ``+ link ipvs0 (dummy, up)``."""
        return f"+ link {self.interface} (dummy, up)"


@attrs.frozen(kw_only=True, slots=True)
class DeleteLink:
    """Delete the dummy interface (it holds no address of the binding any more).

    Attributes:
        interface: its name.
    """

    interface: str
    symbol: ClassVar[str] = "-"
    operation: ClassVar[str] = "delete_link"
    before: ClassVar[bool] = False

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [CreateLink(interface=self.interface)]

    def describe(self) -> str:
        """One line for people, e.g. ``- link ipvs0``."""
        return f"- link {self.interface}"


@attrs.frozen(kw_only=True, slots=True)
class SetLinkUp:
    """Bring the interface up (its addresses are local only while it is up).

    Attributes:
        interface: its name.
    """

    interface: str
    symbol: ClassVar[str] = "~"
    operation: ClassVar[str] = "set_link_up"
    before: ClassVar[bool] = True

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [SetLinkDown(interface=self.interface)]

    def describe(self) -> str:
        """One line for people, e.g. ``~ link ipvs0 down -> up``."""
        return f"~ link {self.interface} down -> up"


@attrs.frozen(kw_only=True, slots=True)
class SetLinkDown:
    """Take the interface down (only ever the undoing of :class:`SetLinkUp`).

    Attributes:
        interface: its name.
    """

    interface: str
    symbol: ClassVar[str] = "~"
    operation: ClassVar[str] = "set_link_down"
    before: ClassVar[bool] = False

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [SetLinkUp(interface=self.interface)]

    def describe(self) -> str:
        """One line for people, e.g. ``~ link ipvs0 up -> down``."""
        return f"~ link {self.interface} up -> down"


@attrs.frozen(kw_only=True, slots=True)
class AddAddress:
    """Add a service's address to the interface, as a host address.

    Attributes:
        interface: the interface's name.
        address: the address.
    """

    interface: str
    address: Address
    symbol: ClassVar[str] = "+"
    operation: ClassVar[str] = "add_address"
    before: ClassVar[bool] = True

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [DeleteAddress(interface=self.interface, address=self.address)]

    def describe(self) -> str:
        """One line for people, e.g. ``+ address 10.0.0.1/32 on ipvs0``."""
        return f"+ address {_host(self.address)} on {self.interface}"


@attrs.frozen(kw_only=True, slots=True)
class DeleteAddress:
    """Remove an address no service uses any more from the interface.

    Attributes:
        interface: the interface's name.
        address: the address.
    """

    interface: str
    address: Address
    symbol: ClassVar[str] = "-"
    operation: ClassVar[str] = "delete_address"
    before: ClassVar[bool] = False

    def inverse(self) -> list[AddressChange]:
        """Return the steps that undo this one."""
        return [AddAddress(interface=self.interface, address=self.address)]

    def describe(self) -> str:
        """One line for people, e.g. ``- address 10.0.0.1/32 on ipvs0``."""
        return f"- address {_host(self.address)} on {self.interface}"


AddressChange = CreateLink | DeleteLink | SetLinkUp | SetLinkDown | AddAddress | DeleteAddress


def _order(address: Address) -> tuple[int, int]:
    return (address.version, int(address))


def bound_addresses(
    table: Table, scope: Callable[[ServiceKey], bool] | None = None
) -> frozenset[Address]:
    """The addresses a binding puts on its interface for a table.

    Args:
        table: the services.
        scope: only the services it accepts (None: all).

    Returns:
        The virtual addresses of the address services (not firewall marks).

    Example:
        >>> import ipvs
        >>> from ipvs._plan import bound_addresses
        >>> table = ipvs.Table([ipvs.Service.tcp("10.0.0.1", 80), ipvs.Service.udp("10.0.0.1", 53),
        ...                     ipvs.Service.mark(7)])
        >>> sorted(map(str, bound_addresses(table)))
        ['10.0.0.1']
    """
    return frozenset(
        k.address for k in table if k.address is not None and (scope is None or scope(k))
    )


def address_changes(
    current: Table,
    desired: Table,
    scope: Callable[[ServiceKey], bool] | None,
    binding: Binding,
    link: LinkState,
) -> tuple[AddressChange, ...]:
    """The steps that bind the addresses of the services an apply keeps, and unbind the rest.

    The services the kernel holds after the apply are those of ``desired``
    within ``scope`` and those of ``current`` outside it. Each address of a
    service of ``desired`` within ``scope`` is bound; an address on the
    interface that no service of the result uses is removed (addresses of
    services outside the scope stay, whoever bound them).

    Args:
        current: the state before the apply.
        desired: the state asked for.
        scope: the services the apply may touch (None: all).
        binding: the interface and its options.
        link: the interface as it is now.

    Returns:
        The steps, in the order to send them: making the interface ready
        and adding addresses (before the services are written), then
        removing addresses and the interface (after).

    Raises:
        ValidationError: the interface exists and is not a dummy one.
    """
    if link.interface != binding.interface:
        raise ValidationError(
            f"bind: the link state is of {link.interface!r}, not {binding.interface!r}"
        )
    if link.exists and link.kind != "dummy":
        raise ValidationError(
            f"bind: interface {binding.interface} is a {link.kind or 'device without a kind'}, "
            "not a dummy interface: a binding manages the addresses of its own dummy interface"
        )
    want = bound_addresses(desired, scope)
    keep = set(want)
    keep.update(k.address for k in current if k.address is not None and not _in(scope, k))
    have = link.addresses
    name = binding.interface
    steps: list[AddressChange] = []
    add = sorted(want - have, key=_order)
    remove = sorted(have - keep, key=_order)
    if want and not link.exists:
        steps.append(CreateLink(interface=name))
    elif want and not link.up:
        steps.append(SetLinkUp(interface=name))
    steps += [AddAddress(interface=name, address=a) for a in add]
    steps += [DeleteAddress(interface=name, address=a) for a in remove]
    if link.exists and not binding.keep_link and not (have - set(remove)) and not want:
        steps.append(DeleteLink(interface=name))
    return tuple(steps)


def _in(scope: Callable[[ServiceKey], bool] | None, key: ServiceKey) -> bool:
    return scope is None or bool(scope(key))


def before_services(changes: Sequence[AddressChange]) -> list[AddressChange]:
    """The steps sent before the services are written (the interface, new addresses)."""
    return [c for c in changes if c.before]


def after_services(changes: Sequence[AddressChange]) -> list[AddressChange]:
    """The steps sent after the services are written (removals)."""
    return [c for c in changes if not c.before]


def undo_changes(done: Sequence[AddressChange]) -> list[AddressChange]:
    """The steps that undo steps that were made, last first.

    Args:
        done: the steps that changed something, in the order they were made.

    Returns:
        Their inverses, in the order to send them.
    """
    return [inv for change in reversed(done) for inv in change.inverse()]
