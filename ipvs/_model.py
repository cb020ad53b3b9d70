"""The data model: immutable, validated descriptions of IPVS objects.

Every class here is a frozen, slotted :mod:`attrs` class with keyword-only
arguments. Values are checked when an object is built; bad input raises
:class:`~ipvs._errors.ValidationError` with a message naming the field.

Services and destinations carry *live data* (statistics and connection
counters) that the kernel reports. Live data never takes part in equality or
hashing, so an object describing the desired state compares equal to the
object decoded from the kernel for the same configuration.
"""

from __future__ import annotations

import ipaddress
from enum import Enum, IntEnum, IntFlag
from typing import Any, TypeAlias

import attrs

from ipvs._errors import ValidationError

__all__ = [
    "DaemonState",
    "Destination",
    "Family",
    "ForwardMethod",
    "IPAddress",
    "Info",
    "Protocol",
    "Scheduler",
    "Service",
    "ServiceFlags",
    "ServiceKey",
    "Stats",
    "SyncDaemon",
    "Timeouts",
    "TunnelFlags",
    "TunnelType",
]

IPv4Address = ipaddress.IPv4Address
IPv6Address = ipaddress.IPv6Address

#: An IPv4 or IPv6 address object.
IPAddress: TypeAlias = "ipaddress.IPv4Address | ipaddress.IPv6Address"

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_INT_MAX = 0x7FFFFFFF


# --------------------------------------------------------------------------
# Enumerations
# --------------------------------------------------------------------------


class Family(IntEnum):
    """Address family of a service or destination (the kernel's ``AF_*`` value)."""

    INET = 2
    INET6 = 10


class Protocol(IntEnum):
    """Transport protocol of a service (``IPPROTO_*``)."""

    TCP = 6
    UDP = 17
    SCTP = 132


class ForwardMethod(IntEnum):
    """Packet-forwarding method of a destination.

    ``ROUTE`` (direct routing, ipvsadm ``-g``) is the default; ``DIRECT`` is an
    alias for it.
    """

    MASQ = 0
    LOCAL = 1
    TUNNEL = 2
    ROUTE = 3
    DIRECT = 3
    BYPASS = 4


class TunnelType(IntEnum):
    """Encapsulation used by a ``TUNNEL`` destination."""

    IPIP = 0
    GUE = 1
    GRE = 2


class TunnelFlags(IntFlag):
    """Checksum options of a GUE or GRE tunnel (``NOCSUM`` is the empty set)."""

    NOCSUM = 0
    CSUM = 1
    REMCSUM = 2


class ServiceFlags(IntFlag):
    """Service flag bits.

    ``SCHED1``/``SCHED2`` mean fallback/port hashing for the ``sh`` and ``mh``
    schedulers and have the aliases ``SH_FALLBACK``, ``SH_PORT``,
    ``MH_FALLBACK`` and ``MH_PORT``. ``HASHED`` is maintained by the kernel
    and cannot be set.
    """

    PERSISTENT = 0x0001
    HASHED = 0x0002
    ONEPACKET = 0x0004
    SCHED1 = 0x0008
    SCHED2 = 0x0010
    SCHED3 = 0x0020
    SH_FALLBACK = 0x0008
    SH_PORT = 0x0010
    MH_FALLBACK = 0x0008
    MH_PORT = 0x0010


_NO_FLAGS = ServiceFlags(0)


class Scheduler(str, Enum):
    """Names of the schedulers shipped with Linux.

    :attr:`Service.scheduler` is a plain string, so any other scheduler name the
    kernel knows is accepted too.
    """

    RR = "rr"
    WRR = "wrr"
    LC = "lc"
    WLC = "wlc"
    LBLC = "lblc"
    LBLCR = "lblcr"
    DH = "dh"
    SH = "sh"
    SED = "sed"
    NQ = "nq"
    FO = "fo"
    OVF = "ovf"
    MH = "mh"
    NONE = "none"


class DaemonState(IntEnum):
    """Role of a connection-synchronisation daemon."""

    MASTER = 1
    BACKUP = 2


# --------------------------------------------------------------------------
# Converters and validators (named functions, as the mypy attrs plugin wants)
# --------------------------------------------------------------------------


def _where(inst: object, name: str) -> str:
    return f"{type(inst).__name__}.{name}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(lo: int, hi: int) -> Any:
    """Build an attrs validator accepting ints in ``lo..hi`` (inclusive)."""

    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not _is_int(value):
            raise ValidationError(
                f"{_where(inst, attribute.name)} must be an integer, got {value!r}"
            )
        if not lo <= value <= hi:  # type: ignore[operator]
            raise ValidationError(
                f"{_where(inst, attribute.name)} must be in {lo}..{hi}, got {value!r}"
            )

    return check


def _opt_int_in(lo: int, hi: int) -> Any:
    inner = _int_in(lo, hi)

    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            inner(inst, attribute, value)

    return check


def _enum_value(enum_cls: type[IntEnum], field: str, value: object) -> Any:
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        try:
            return enum_cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(m.lower() for m in enum_cls.__members__)
            raise ValidationError(
                f"{field}: unknown name {value!r} (expected one of {names})"
            ) from None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return enum_cls(value)
        except ValueError:
            pass
    raise ValidationError(f"{field}: invalid value {value!r} for {enum_cls.__name__}")


def _to_family(value: Family | int | str) -> Family:
    if isinstance(value, str):
        alias = {"IPV4": "INET", "IPV6": "INET6", "4": "INET", "6": "INET6"}
        value = alias.get(value.strip().upper(), value)
    result: Family = _enum_value(Family, "family", value)
    return result


def _to_protocol(value: Protocol | int | str) -> Protocol:
    result: Protocol = _enum_value(Protocol, "protocol", value)
    return result


def _to_opt_protocol(value: Protocol | int | str | None) -> Protocol | None:
    return None if value is None else _to_protocol(value)


def _to_forward(value: ForwardMethod | int | str) -> ForwardMethod:
    if isinstance(value, str):
        alias = {"DR": "ROUTE", "GATE": "ROUTE", "NAT": "MASQ", "TUN": "TUNNEL", "IPIP": "TUNNEL"}
        value = alias.get(value.strip().upper(), value)
    result: ForwardMethod = _enum_value(ForwardMethod, "forward", value)
    return result


def _to_tunnel_type(value: TunnelType | int | str) -> TunnelType:
    result: TunnelType = _enum_value(TunnelType, "tunnel_type", value)
    return result


def _to_tunnel_flags(value: TunnelFlags | int | str) -> TunnelFlags:
    if isinstance(value, TunnelFlags):
        return value
    if isinstance(value, str):
        try:
            return TunnelFlags[value.strip().upper()]
        except KeyError:
            raise ValidationError(f"tunnel_flags: unknown name {value!r}") from None
    if _is_int(value) and 0 <= value <= _U16:
        return TunnelFlags(value)
    raise ValidationError(f"tunnel_flags: must be a TunnelFlags value in 0..65535, got {value!r}")


def _to_service_flags(value: ServiceFlags | int) -> ServiceFlags:
    if not _is_int(value) or not 0 <= value <= _U32:
        raise ValidationError(f"flags: must be an integer in 0..{_U32}, got {value!r}")
    return value if isinstance(value, ServiceFlags) else ServiceFlags(value)


def _to_daemon_state(value: DaemonState | int | str) -> DaemonState:
    result: DaemonState = _enum_value(DaemonState, "state", value)
    return result


def _parse_address(field: str, value: object) -> IPv4Address | IPv6Address:
    if isinstance(value, (IPv4Address, IPv6Address)):
        addr = value
    elif isinstance(value, str):
        try:
            addr = ipaddress.ip_address(value.strip())
        except ValueError:
            raise ValidationError(f"{field}: invalid IP address {value!r}") from None
    else:
        raise ValidationError(f"{field}: expected an IP address or string, got {value!r}")
    if isinstance(addr, IPv6Address) and addr.scope_id is not None:
        raise ValidationError(f"{field}: scoped IPv6 addresses are not supported: {value!r}")
    return addr


def _to_address(value: IPv4Address | IPv6Address | str) -> IPv4Address | IPv6Address:
    return _parse_address("address", value)


def _to_opt_address(
    value: IPv4Address | IPv6Address | str | None,
) -> IPv4Address | IPv6Address | None:
    return None if value is None else _parse_address("address", value)


def _to_group(
    value: IPv4Address | IPv6Address | str | None,
) -> IPv4Address | IPv6Address | None:
    return None if value is None else _parse_address("group", value)


def _to_scheduler(value: Scheduler | str) -> str:
    if isinstance(value, Scheduler):
        return value.value
    return value


def _check_name(where: str, value: object, max_len: int) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a string, got {value!r}")
    if not 1 <= len(value) <= max_len:
        raise ValidationError(f"{where} must be 1..{max_len} characters long, got {value!r}")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValidationError(f"{where} must be printable ASCII without spaces, got {value!r}")


def _valid_scheduler(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_name(_where(inst, attribute.name), value, 15)


def _valid_pe_name(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_name(_where(inst, attribute.name), value, 16)


def _valid_interface(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    where = _where(inst, attribute.name)
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a string, got {value!r}")
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        raise ValidationError(f"{where} is not encodable: {value!r}") from None
    if not 1 <= size <= 15:
        raise ValidationError(f"{where} must be 1..15 bytes long, got {value!r}")
    if value in (".", "..") or any(ch.isspace() or ch in "/:\0" for ch in value):
        raise ValidationError(f"{where} is not a valid interface name: {value!r}")


def _valid_service_flags(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ServiceFlags):
        raise ValidationError(f"{_where(inst, attribute.name)} must be ServiceFlags")
    if value & ServiceFlags.HASHED:
        raise ValidationError(f"{_where(inst, attribute.name)}: HASHED is read-only")


def _instance_of(cls: type | tuple[type, ...]) -> Any:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, cls):
            raise ValidationError(f"{_where(inst, attribute.name)} has the wrong type: {value!r}")

    return check


def _opt_instance_of(cls: type | tuple[type, ...]) -> Any:
    inner = _instance_of(cls)

    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            inner(inst, attribute, value)

    return check


def _bracket(address: IPv4Address | IPv6Address, port: int) -> str:
    if address.version == 6:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def _family_of(address: IPv4Address | IPv6Address) -> Family:
    return Family.INET if address.version == 4 else Family.INET6


# --------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------

_u64 = _int_in(0, _U64)
_u32 = _int_in(0, _U32)


@attrs.frozen(kw_only=True, slots=True)
class Stats:
    """Traffic counters and rates of a service or destination.

    Counters are relative to the last ``ZERO`` command. Rates are the kernel
    estimator's per-second values.

    Attributes:
        connections: connections scheduled.
        packets_in: packets received.
        packets_out: packets sent.
        bytes_in: bytes received.
        bytes_out: bytes sent.
        cps: connections per second.
        pps_in: incoming packets per second.
        pps_out: outgoing packets per second.
        bps_in: incoming bytes per second.
        bps_out: outgoing bytes per second.
    """

    connections: int = attrs.field(default=0, validator=_u64)
    packets_in: int = attrs.field(default=0, validator=_u64)
    packets_out: int = attrs.field(default=0, validator=_u64)
    bytes_in: int = attrs.field(default=0, validator=_u64)
    bytes_out: int = attrs.field(default=0, validator=_u64)
    cps: int = attrs.field(default=0, validator=_u64)
    pps_in: int = attrs.field(default=0, validator=_u64)
    pps_out: int = attrs.field(default=0, validator=_u64)
    bps_in: int = attrs.field(default=0, validator=_u64)
    bps_out: int = attrs.field(default=0, validator=_u64)

    def _repr_html_(self) -> str:
        from ipvs._html import stats_html

        return stats_html(self)


# --------------------------------------------------------------------------
# ServiceKey
# --------------------------------------------------------------------------


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

    family: Family = attrs.field(converter=_to_family)
    protocol: Protocol | None = attrs.field(default=None, converter=_to_opt_protocol)
    address: IPv4Address | IPv6Address | None = attrs.field(default=None, converter=_to_opt_address)
    port: int | None = attrs.field(default=None, validator=_opt_int_in(0, _U16))
    fwmark: int | None = attrs.field(default=None, validator=_opt_int_in(1, _U32))

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
            address = _to_address(address)
            derived = _family_of(address)
            if family is not None and _to_family(family) != derived:
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
        return f"{self.protocol.name} {_bracket(self.address, self.port)}"

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


# --------------------------------------------------------------------------
# Service
# --------------------------------------------------------------------------


def _convert_netmask(family: Family, value: object) -> IPv4Address | int:
    if family == Family.INET:
        if value is None:
            return IPv4Address(_U32)
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
        if _is_int(value) and 0 <= value <= 32:  # type: ignore[operator]
            return IPv4Address((_U32 << (32 - value)) & _U32)  # type: ignore[operator]
        raise ValidationError(
            f"Service.netmask: an IPv4 service takes a dotted mask or a prefix 0..32, got {value!r}"
        )
    if value is None:
        return 128
    if isinstance(value, str) and value.strip().lstrip("/").isdigit():
        value = int(value.strip().lstrip("/"))
    if _is_int(value) and 1 <= value <= 128:  # type: ignore[operator]
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

    key: ServiceKey = attrs.field(validator=_instance_of(ServiceKey))
    scheduler: str = attrs.field(default="wlc", converter=_to_scheduler, validator=_valid_scheduler)
    flags: ServiceFlags = attrs.field(
        default=_NO_FLAGS, converter=_to_service_flags, validator=_valid_service_flags
    )
    timeout: int = attrs.field(default=0, validator=_int_in(0, _U32))
    netmask: IPv4Address | int = attrs.field()
    pe_name: str | None = attrs.field(default=None, validator=_valid_pe_name)
    stats: Stats | None = attrs.field(default=None, eq=False, validator=_opt_instance_of(Stats))

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
        elif not (_is_int(self.netmask) and 1 <= self.netmask <= 128):  # type: ignore[operator]
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

    def _repr_html_(self) -> str:
        from ipvs._html import service_html

        return service_html(self)

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


# --------------------------------------------------------------------------
# Destination
# --------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Destination:
    """A real server (destination) of a virtual service.

    Args:
        address: real server address (an address object or string). The
            destination's :attr:`family` is derived from it.
        port: real server port, 0..65535.
        forward: forwarding method; default :attr:`ForwardMethod.ROUTE`.
        weight: 0..2**31-1; default 1.
        upper_threshold: connection limit, 0 (none) .. 2**32-1.
        lower_threshold: resume threshold, 0..2**32-1, at most
            ``upper_threshold`` (the kernel enforces this even when the upper
            threshold is 0).
        tunnel_type: tunnel encapsulation; default IPIP.
        tunnel_port: GUE destination port, 0..65535; required (non-zero) for GUE.
        tunnel_flags: tunnel checksum flags.
        active_connections: live active connection count (not compared).
        inactive_connections: live inactive connection count (not compared).
        persistent_connections: live persistence template count (not compared).
        stats: live statistics (not compared).

    Raises:
        ValidationError: a value is invalid.
    """

    address: IPv4Address | IPv6Address = attrs.field(converter=_to_address)
    port: int = attrs.field(validator=_int_in(0, _U16))
    family: Family = attrs.field(init=False)
    forward: ForwardMethod = attrs.field(default=ForwardMethod.ROUTE, converter=_to_forward)
    weight: int = attrs.field(default=1, validator=_int_in(0, _INT_MAX))
    upper_threshold: int = attrs.field(default=0, validator=_u32)
    lower_threshold: int = attrs.field(default=0, validator=_u32)
    tunnel_type: TunnelType = attrs.field(default=TunnelType.IPIP, converter=_to_tunnel_type)
    tunnel_port: int = attrs.field(default=0, validator=_int_in(0, _U16))
    tunnel_flags: TunnelFlags = attrs.field(default=TunnelFlags.NOCSUM, converter=_to_tunnel_flags)
    active_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    inactive_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    persistent_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    stats: Stats | None = attrs.field(default=None, eq=False, validator=_opt_instance_of(Stats))

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "family", _family_of(self.address))
        if self.lower_threshold > self.upper_threshold:
            raise ValidationError(
                f"Destination.lower_threshold ({self.lower_threshold}) must not exceed "
                f"upper_threshold ({self.upper_threshold})"
            )
        if self.tunnel_type == TunnelType.GUE and self.tunnel_port == 0:
            raise ValidationError("Destination.tunnel_port must be non-zero for a GUE tunnel")

    @property
    def key(self) -> tuple[IPv4Address | IPv6Address, int]:
        """The destination's identity within its service: ``(address, port)``."""
        return (self.address, self.port)

    def describe(self) -> str:
        """Describe the destination like ipvsadm.

        Returns:
            Text such as ``"10.0.0.2:80"`` or ``"[2001:db8::2]:80"``.
        """
        return _bracket(self.address, self.port)

    def sort_key(self) -> tuple[int, int, int]:
        """Return a key for sorting destinations by family, address and port.

        Returns:
            A tuple suitable for sorting.
        """
        return (int(self.family), int(self.address), self.port)


# --------------------------------------------------------------------------
# Info, Timeouts, SyncDaemon
# --------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Info:
    """What ``GET_INFO`` reports about the kernel's IPVS.

    Attributes:
        version: version text, e.g. ``"1.2.1"``.
        version_code: the version as an integer, e.g. ``0x010201``.
        connection_table_size: size of the connection hash table.
    """

    version: str = attrs.field(validator=_instance_of(str))
    version_code: int = attrs.field(validator=_u32)
    connection_table_size: int = attrs.field(validator=_u32)

    @classmethod
    def from_code(cls, version_code: int, connection_table_size: int) -> Info:
        """Build an :class:`Info` from the kernel's numeric version code.

        Args:
            version_code: ``IP_VS_VERSION_CODE``, e.g. ``0x010201``.
            connection_table_size: size of the connection hash table.

        Returns:
            The info, with :attr:`version` formatted from the code.
        """
        major, minor, patch = (
            (version_code >> 16) & 0xFF,
            (version_code >> 8) & 0xFF,
            version_code & 0xFF,
        )
        version = f"{major}.{minor}.{patch}"
        return cls(
            version=version,
            version_code=version_code,
            connection_table_size=connection_table_size,
        )

    def describe(self) -> str:
        """Describe the info like ``ipvsadm -L`` does in its header.

        Returns:
            Text such as ``"IP Virtual Server version 1.2.1 (size=4096)"``.
        """
        return f"IP Virtual Server version {self.version} (size={self.connection_table_size})"


_timeout = _int_in(0, _INT_MAX)


@attrs.frozen(kw_only=True, slots=True)
class Timeouts:
    """Connection timeouts in seconds (``SET_CONFIG``/``GET_CONFIG``).

    On set, 0 means "leave unchanged".

    Attributes:
        tcp: TCP established timeout.
        tcp_fin: TCP FIN_WAIT timeout.
        udp: UDP timeout.
    """

    tcp: int = attrs.field(default=0, validator=_timeout)
    tcp_fin: int = attrs.field(default=0, validator=_timeout)
    udp: int = attrs.field(default=0, validator=_timeout)

    def describe(self) -> str:
        """Describe the timeouts like ``ipvsadm -L --timeout``.

        Returns:
            Text such as ``"Timeout (tcp tcpfin udp): 900 120 300"``.
        """
        return f"Timeout (tcp tcpfin udp): {self.tcp} {self.tcp_fin} {self.udp}"


def _valid_group(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not value.is_multicast:  # type: ignore[attr-defined]
        raise ValidationError(f"{_where(inst, attribute.name)} must be a multicast address")


@attrs.frozen(kw_only=True, slots=True)
class SyncDaemon:
    """A connection-synchronisation daemon.

    Attributes:
        state: :attr:`DaemonState.MASTER` or :attr:`DaemonState.BACKUP`
            (``"master"``/``"backup"`` accepted).
        interface: multicast interface name, 1..15 bytes.
        sync_id: synchronisation id, 0..255.
        max_length: maximum sync message length, 0 (kernel default) .. 65535.
        group: multicast group (IPv4 or IPv6), or None for the kernel default.
        port: multicast port, 0 (kernel default) .. 65535.
        ttl: multicast TTL, 0 (kernel default) .. 255.
    """

    state: DaemonState = attrs.field(converter=_to_daemon_state)
    interface: str = attrs.field(validator=_valid_interface)
    sync_id: int = attrs.field(default=0, validator=_int_in(0, 255))
    max_length: int = attrs.field(default=0, validator=_int_in(0, _U16))
    group: IPv4Address | IPv6Address | None = attrs.field(
        default=None, converter=_to_group, validator=_valid_group
    )
    port: int = attrs.field(default=0, validator=_int_in(0, _U16))
    ttl: int = attrs.field(default=0, validator=_int_in(0, 255))

    def describe(self) -> str:
        """Describe the daemon like ``ipvsadm --list-daemon``.

        Returns:
            Text such as ``"master sync daemon (mcast=eth0, syncid=1)"``.
        """
        parts = [f"mcast={self.interface}", f"syncid={self.sync_id}"]
        if self.max_length:
            parts.append(f"maxlen={self.max_length}")
        if self.group is not None:
            parts.append(f"group={self.group}")
        if self.port:
            parts.append(f"port={self.port}")
        if self.ttl:
            parts.append(f"ttl={self.ttl}")
        return f"{self.state.name.lower()} sync daemon ({', '.join(parts)})"


# --------------------------------------------------------------------------
# Unchecked constructors for the decoders (trusted, pre-checked kernel data)
# --------------------------------------------------------------------------

_new = object.__new__
_S_FIELDS = tuple(a.name for a in attrs.fields(Stats))
_D_FIELDS = tuple(a.name for a in attrs.fields(Destination))


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(cls.__dict__[n].__set__ for n in names)


(
    _s_conn,
    _s_pin,
    _s_pout,
    _s_bin,
    _s_bout,
    _s_cps,
    _s_ppsi,
    _s_ppso,
    _s_bpsi,
    _s_bpso,
) = _slot_setters(Stats, _S_FIELDS)


def _unchecked_stats(
    connections: int,
    packets_in: int,
    packets_out: int,
    bytes_in: int,
    bytes_out: int,
    cps: int,
    pps_in: int,
    pps_out: int,
    bps_in: int,
    bps_out: int,
) -> Stats:
    """Build a :class:`Stats` without validation (values must be u64)."""
    s = _new(Stats)
    _s_conn(s, connections)
    _s_pin(s, packets_in)
    _s_pout(s, packets_out)
    _s_bin(s, bytes_in)
    _s_bout(s, bytes_out)
    _s_cps(s, cps)
    _s_ppsi(s, pps_in)
    _s_ppso(s, pps_out)
    _s_bpsi(s, bps_in)
    _s_bpso(s, bps_out)
    return s


(
    _d_address,
    _d_port,
    _d_family,
    _d_forward,
    _d_weight,
    _d_upper,
    _d_lower,
    _d_ttype,
    _d_tport,
    _d_tflags,
    _d_active,
    _d_inactive,
    _d_persist,
    _d_stats,
) = _slot_setters(Destination, _D_FIELDS)


def _unchecked_destination(
    address: IPv4Address | IPv6Address,
    port: int,
    family: Family,
    forward: ForwardMethod,
    weight: int,
    upper_threshold: int,
    lower_threshold: int,
    tunnel_type: TunnelType,
    tunnel_port: int,
    tunnel_flags: TunnelFlags,
    active_connections: int,
    inactive_connections: int,
    persistent_connections: int,
    stats: Stats | None,
) -> Destination:
    """Build a :class:`Destination` without validation.

    The caller guarantees every invariant the validated constructor checks.
    """
    d = _new(Destination)
    _d_address(d, address)
    _d_port(d, port)
    _d_family(d, family)
    _d_forward(d, forward)
    _d_weight(d, weight)
    _d_upper(d, upper_threshold)
    _d_lower(d, lower_threshold)
    _d_ttype(d, tunnel_type)
    _d_tport(d, tunnel_port)
    _d_tflags(d, tunnel_flags)
    _d_active(d, active_connections)
    _d_inactive(d, inactive_connections)
    _d_persist(d, persistent_connections)
    _d_stats(d, stats)
    return d
