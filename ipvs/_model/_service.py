"""The identity of a virtual service (:class:`ServiceKey`) and the service itself."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from ipvs._model._checks import (
    U16,
    U32,
    bracket,
    family_of,
    instance_of,
    int_in,
    is_int,
    opt_instance_of,
    opt_int_in,
    to_address,
    to_family,
    to_opt_address,
    to_opt_protocol,
    to_scheduler,
    to_service_flags,
    valid_pe_name,
    valid_scheduler,
    valid_service_flags,
)
from ipvs._model._enums import Family, Protocol, Scheduler, ServiceFlags
from ipvs._model._objects import Stats
from ipvs.errors import ValidationError

__all__ = ["Service", "ServiceKey", "flag_names", "key_of"]

_NO_FLAGS = ServiceFlags(0)


@attrs.frozen(kw_only=True, slots=True, init=False)
class ServiceKey:
    """The identity of a virtual service, as the kernel looks it up.

    A key is either a firewall-mark key (``fwmark`` set; ``protocol``,
    ``address`` and ``port`` None) or an address key (``protocol``, ``address``
    and ``port`` set; ``fwmark`` None).

    Args:
        family: address family. Derived from ``address`` when omitted; for a
            fwmark key it defaults to :attr:`Family.INET`.
        protocol: transport protocol (a :class:`Protocol`, its number, or
            ``"tcp"``/``"udp"``/``"sctp"``).
        address: virtual IP address (an address object or a string).
        port: virtual port, 0..65535.
        fwmark: firewall mark, 1..2**32-1.

    Raises:
        ValidationError: a value is out of range, or the fields do not form
            one of the two kinds of key, or ``family`` disagrees with
            ``address``.
    """

    family: Family = attrs.field(converter=to_family)
    protocol: Protocol | None = attrs.field(default=None, converter=to_opt_protocol)
    address: IPv4Address | IPv6Address | None = attrs.field(default=None, converter=to_opt_address)
    port: int | None = attrs.field(default=None, validator=opt_int_in(0, U16))
    fwmark: int | None = attrs.field(default=None, validator=opt_int_in(1, U32))

    def __init__(
        self,
        *,
        family: Family | int | str | None = None,
        protocol: Protocol | int | str | None = None,
        address: IPv4Address | IPv6Address | str | None = None,
        port: int | None = None,
        fwmark: int | None = None,
    ) -> None:
        if fwmark is not None:
            if protocol is not None or address is not None or port is not None:
                raise ValidationError("ServiceKey: a fwmark key takes no protocol, address or port")
            if family is None:
                family = Family.INET
        else:
            if protocol is None or address is None or port is None:
                raise ValidationError(
                    "ServiceKey: give either fwmark, or all of protocol, address and port"
                )
            address = to_address(address)
            derived = family_of(address)
            if family is not None and to_family(family) != derived:
                raise ValidationError(
                    f"ServiceKey.family {family!r} disagrees with address {address}"
                )
            family = derived
        self.__attrs_init__(
            family=family, protocol=protocol, address=address, port=port, fwmark=fwmark
        )

    @classmethod
    def tcp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of a TCP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.TCP, address=address, port=port)

    @classmethod
    def udp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of a UDP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.UDP, address=address, port=port)

    @classmethod
    def sctp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of an SCTP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.SCTP, address=address, port=port)

    @classmethod
    def mark(cls, fwmark: int, family: Family | int | str = Family.INET) -> ServiceKey:
        """Build the key of a firewall-mark service.

        Args:
            fwmark: the mark, 1..2**32-1.
            family: :attr:`Family.INET` (default) or :attr:`Family.INET6`.

        Returns:
            The key.
        """
        return cls(fwmark=fwmark, family=family)

    @property
    def is_fwmark(self) -> bool:
        """True for a firewall-mark key."""
        return self.fwmark is not None

    def describe(self) -> str:
        """Describe the key the way ipvsadm prints it.

        Returns:
            Text such as ``"TCP 10.0.0.1:80"``, ``"UDP [2001:db8::1]:53"``,
            ``"FWM 5"`` or ``"FWM 5 IPv6"``.
        """
        if self.fwmark is not None:
            return f"FWM {self.fwmark}" + (" IPv6" if self.family == Family.INET6 else "")
        assert self.protocol is not None and self.address is not None
        assert self.port is not None
        return f"{self.protocol.name} {bracket(self.address, self.port)}"

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Return a key for sorting services like ``ipvsadm -L``.

        Returns:
            A tuple ordering by fwmark, family, protocol, address and port.
        """
        return (
            self.fwmark or 0,
            int(self.family),
            int(self.protocol or 0),
            int(self.address) if self.address is not None else 0,
            self.port or 0,
        )


def _convert_netmask(family: Family, value: object) -> IPv4Address | int:
    if family == Family.INET:
        if value is None:
            return IPv4Address(U32)
        if isinstance(value, IPv4Address):
            return value
        if isinstance(value, str):
            text = value.strip().lstrip("/")
            if text.isdigit():
                value = int(text)
            else:
                try:
                    return IPv4Address(text)
                except ValueError:
                    raise ValidationError(f"Service.netmask: invalid IPv4 mask {value!r}") from None
        if is_int(value) and 0 <= value <= 32:  # type: ignore[operator]
            return IPv4Address((U32 << (32 - value)) & U32)  # type: ignore[operator]
        raise ValidationError(
            f"Service.netmask: an IPv4 service takes a dotted mask or a prefix 0..32, got {value!r}"
        )
    if value is None:
        return 128
    if isinstance(value, str) and value.strip().lstrip("/").isdigit():
        value = int(value.strip().lstrip("/"))
    if is_int(value) and 1 <= value <= 128:  # type: ignore[operator]
        return int(value)  # type: ignore[call-overload, no-any-return]
    raise ValidationError(
        f"Service.netmask: an IPv6 service takes a prefix length 1..128, got {value!r}"
    )


@attrs.frozen(kw_only=True, slots=True, init=False)
class Service:
    """A virtual service: its identity plus its settings.

    Args:
        key: the service identity.
        scheduler: scheduler name (a :class:`Scheduler` or any kernel
            scheduler name, 1..15 printable ASCII characters). ipvsadm's
            default is ``"wlc"``.
        flags: :class:`ServiceFlags`; ``HASHED`` may not be given.
        timeout: persistence timeout in seconds (u32).
        netmask: persistence netmask. For IPv4: an :class:`~ipaddress.IPv4Address`
            or dotted string, or a prefix length 0..32 (converted to a mask).
            For IPv6: a prefix length 1..128. Defaults to a host mask.
        pe_name: persistence engine name (1..16 characters), or None.
        stats: live statistics (not compared).

    Raises:
        ValidationError: a value is invalid.
    """

    key: ServiceKey = attrs.field(validator=instance_of(ServiceKey))
    scheduler: str = attrs.field(default="wlc", converter=to_scheduler, validator=valid_scheduler)
    flags: ServiceFlags = attrs.field(
        default=_NO_FLAGS, converter=to_service_flags, validator=valid_service_flags
    )
    timeout: int = attrs.field(default=0, validator=int_in(0, U32))
    netmask: IPv4Address | int = attrs.field()
    pe_name: str | None = attrs.field(default=None, validator=valid_pe_name)
    stats: Stats | None = attrs.field(default=None, eq=False, validator=opt_instance_of(Stats))

    def __init__(
        self,
        *,
        key: ServiceKey,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> None:
        if not isinstance(key, ServiceKey):
            raise ValidationError(f"Service.key must be a ServiceKey, got {key!r}")
        self.__attrs_init__(
            key=key,
            scheduler=scheduler,
            flags=flags,
            timeout=timeout,
            netmask=_convert_netmask(key.family, netmask),
            pe_name=pe_name,
            stats=stats,
        )

    @classmethod
    def tcp(cls, address: IPv4Address | IPv6Address | str, port: int, **settings: Any) -> Service:
        """Build a TCP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            **settings: other :class:`Service` arguments.

        Returns:
            The service.
        """
        return cls(key=ServiceKey.tcp(address, port), **settings)

    @classmethod
    def udp(cls, address: IPv4Address | IPv6Address | str, port: int, **settings: Any) -> Service:
        """Build a UDP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            **settings: other :class:`Service` arguments.

        Returns:
            The service.
        """
        return cls(key=ServiceKey.udp(address, port), **settings)

    @classmethod
    def sctp(cls, address: IPv4Address | IPv6Address | str, port: int, **settings: Any) -> Service:
        """Build an SCTP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            **settings: other :class:`Service` arguments.

        Returns:
            The service.
        """
        return cls(key=ServiceKey.sctp(address, port), **settings)

    @classmethod
    def mark(
        cls, fwmark: int, family: Family | int | str = Family.INET, **settings: Any
    ) -> Service:
        """Build a firewall-mark service.

        Args:
            fwmark: the mark, 1..2**32-1.
            family: :attr:`Family.INET` (default) or :attr:`Family.INET6`.
            **settings: other :class:`Service` arguments.

        Returns:
            The service.
        """
        return cls(key=ServiceKey.mark(fwmark, family), **settings)

    def __attrs_post_init__(self) -> None:
        if self.key.family == Family.INET:
            if not isinstance(self.netmask, IPv4Address):
                raise ValidationError("Service.netmask of an IPv4 service must be an IPv4Address")
        elif not (is_int(self.netmask) and 1 <= self.netmask <= 128):  # type: ignore[operator]
            raise ValidationError("Service.netmask of an IPv6 service must be 1..128")

    @property
    def family(self) -> Family:
        """The service's address family."""
        return self.key.family

    @property
    def protocol(self) -> Protocol | None:
        """The service's protocol (None for a fwmark service)."""
        return self.key.protocol

    @property
    def address(self) -> IPv4Address | IPv6Address | None:
        """The virtual address (None for a fwmark service)."""
        return self.key.address

    @property
    def port(self) -> int | None:
        """The virtual port (None for a fwmark service)."""
        return self.key.port

    @property
    def fwmark(self) -> int | None:
        """The firewall mark (None for an address service)."""
        return self.key.fwmark

    @property
    def flag_names(self) -> list[str]:
        """The flags' names for this service's scheduler (see :func:`flag_names`)."""
        return flag_names(self.flags, self.scheduler)

    @property
    def prefix_length(self) -> int:
        """The persistence netmask as a prefix length (IPv4 masks need not be contiguous).

        Returns the count of leading one bits for IPv4.
        """
        if isinstance(self.netmask, IPv4Address):
            value = int(self.netmask)
            count = 0
            while count < 32 and value & (1 << (31 - count)):
                count += 1
            return count
        return self.netmask

    def describe(self) -> str:
        """Describe the service by its key, like ipvsadm.

        Returns:
            Text such as ``"TCP 10.0.0.1:80"``.
        """
        return self.key.describe()

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Return the key's sort key (see :meth:`ServiceKey.sort_key`).

        Returns:
            A tuple suitable for sorting.
        """
        return self.key.sort_key()


def key_of(service: Service | ServiceKey) -> ServiceKey:
    """Return the key of a service, or the key itself.

    Args:
        service: a :class:`Service` or a :class:`ServiceKey`.

    Returns:
        The key.

    Raises:
        ValidationError: ``service`` is neither.
    """
    if isinstance(service, Service):
        return service.key
    if isinstance(service, ServiceKey):
        return service
    raise ValidationError(f"expected a Service or ServiceKey, got {service!r}")


_SCHED_BITS = ((1, ServiceFlags.SCHED1), (2, ServiceFlags.SCHED2), (3, ServiceFlags.SCHED3))


def flag_names(flags: ServiceFlags | int, scheduler: str) -> list[str]:
    """Name service flags the way ipvsadm does, for one scheduler.

    The scheduler flags are ``sh-fallback`` and ``sh-port`` for ``sh``,
    ``mh-fallback`` and ``mh-port`` for ``mh``, and ``flag-1`` .. ``flag-3``
    otherwise; the others are ``persistent`` and ``onepacket``. Plans, documents,
    HTML and listings all use these names.

    Args:
        flags: the flags.
        scheduler: the service's scheduler.

    Returns:
        The names, in bit order (empty when no flag is set).

    Example:
        >>> from ipvs import ServiceFlags
        >>> from ipvs._model import flag_names
        >>> flag_names(ServiceFlags.SCHED1 | ServiceFlags.SCHED2, "sh")
        ['sh-fallback', 'sh-port']
    """
    names = []
    if flags & ServiceFlags.PERSISTENT:
        names.append("persistent")
    if flags & ServiceFlags.ONEPACKET:
        names.append("onepacket")
    hashing = scheduler in ("sh", "mh")
    for number, bit in _SCHED_BITS:
        if flags & bit:
            if hashing and number == 1:
                names.append(f"{scheduler}-fallback")
            elif hashing and number == 2:
                names.append(f"{scheduler}-port")
            else:
                names.append(f"flag-{number}")
    return names
