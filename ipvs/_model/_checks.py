"""Converters and validators of the model (named functions, as the mypy attrs plugin wants).

Every problem raises :class:`~ipvs.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import _socket  # the C module: socket.py costs start-up time
import enum
import ipaddress
import operator
from collections.abc import Callable
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address
from typing import Any, TypeAlias

import attrs

from ipvs._model._enums import (
    DaemonState,
    Family,
    ForwardMethod,
    Protocol,
    Scheduler,
    ServiceFlags,
    TunnelFlags,
    TunnelType,
)
from ipvs.errors import ValidationError

U16 = 0xFFFF
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
INT_MAX = 0x7FFFFFFF
#: The largest persistence timeout, in seconds: ipvsadm's bound for ``-p`` (31 days).
#: The kernel stores ``timeout * HZ`` in 32 bits, so this round-trips for any HZ
#: up to 1603 (Linux offers at most 1200).
MAX_PERSISTENCE = 2678400
#: The largest connection timeout (``SET_CONFIG``), in seconds: the kernel refuses
#: more than ``INT_MAX / HZ``; this is that bound for HZ = 1200, the largest HZ
#: Linux offers (the sandbox kernel has HZ = 100, most distributions 250 or 1000).
MAX_CONNECTION_TIMEOUT = INT_MAX // 1200
#: The bit that an IPv6 destination's or key's comparison integer carries above
#: its address, so that one integer orders family first, then address.
V6_BIT = 1 << 128

#: An IPv4 or IPv6 address object.
IPAddress: TypeAlias = "IPv4Address | IPv6Address"


def where(inst: object, name: str) -> str:
    return f"{type(inst).__name__}.{name}"


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(lo: int, hi: int) -> Any:
    """Build an attrs validator accepting ints in ``lo..hi`` (inclusive)."""

    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not is_int(value):
            raise ValidationError(
                f"{where(inst, attribute.name)} must be an integer, got {value!r}"
            )
        if not lo <= value <= hi:  # type: ignore[operator]
            raise ValidationError(
                f"{where(inst, attribute.name)} must be in {lo}..{hi}, got {value!r}"
            )

    return check


def opt_int_in(lo: int, hi: int) -> Any:
    inner = int_in(lo, hi)

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


def to_family(value: Family | int | str) -> Family:
    if isinstance(value, str):
        alias = {"IPV4": "INET", "IPV6": "INET6", "4": "INET", "6": "INET6"}
        value = alias.get(value.strip().upper(), value)
    result: Family = _enum_value(Family, "family", value)
    return result


def to_protocol(value: Protocol | int | str) -> Protocol:
    result: Protocol = _enum_value(Protocol, "protocol", value)
    return result


def to_opt_protocol(value: Protocol | int | str | None) -> Protocol | None:
    return None if value is None else to_protocol(value)


def to_forward(value: ForwardMethod | int | str) -> ForwardMethod:
    if isinstance(value, str):
        alias = {"DR": "ROUTE", "GATE": "ROUTE", "NAT": "MASQ", "TUN": "TUNNEL", "IPIP": "TUNNEL"}
        value = alias.get(value.strip().upper(), value)
    result: ForwardMethod = _enum_value(ForwardMethod, "forward", value)
    return result


def to_tunnel_type(value: TunnelType | int | str) -> TunnelType:
    result: TunnelType = _enum_value(TunnelType, "tunnel_type", value)
    return result


def to_tunnel_flags(value: TunnelFlags | int | str) -> TunnelFlags:
    if isinstance(value, TunnelFlags):
        return value
    if isinstance(value, str):
        try:
            return TunnelFlags[value.strip().upper()]
        except KeyError:
            raise ValidationError(f"tunnel_flags: unknown name {value!r}") from None
    if is_int(value) and 0 <= value <= U16:
        return TunnelFlags(value)
    raise ValidationError(f"tunnel_flags: must be a TunnelFlags value in 0..65535, got {value!r}")


def to_service_flags(value: ServiceFlags | int) -> ServiceFlags:
    if not is_int(value) or not 0 <= value <= U32:
        raise ValidationError(f"flags: must be an integer in 0..{U32}, got {value!r}")
    return value if isinstance(value, ServiceFlags) else ServiceFlags(value)


def to_daemon_state(value: DaemonState | int | str) -> DaemonState:
    result: DaemonState = _enum_value(DaemonState, "state", value)
    return result


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """Return the setter of one slot of a slotted class (faster than ``object.__setattr__``)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


def building_twin(cls: type) -> Any:
    """Return a plain class with the slots of the frozen class ``cls``, for fast building.

    Set an instance's slots with plain attribute stores, then make it a ``cls``
    by assigning ``__class__``: several times faster than a setter call per
    slot of a frozen class. The layouts must match (``cls`` has no
    ``__weakref__`` slot); this is checked here, once.
    """
    twin = type(f"_Building{cls.__name__}", (), {"__slots__": cls.__dict__["__slots__"]})
    probe = twin()
    probe.__class__ = cls  # TypeError if the layouts differ
    return twin


_new = object.__new__
_inet_pton = _socket.inet_pton
_AF_INET = _socket.AF_INET
_from_bytes = int.from_bytes
_set_v4: Callable[[Any, Any], None] | None
try:  # the stdlib keeps an address's integer in the slot ``_ip``
    _set_v4 = slot_setter(IPv4Address, "_ip")
    _set_v4(IPv4Address(0), 0)
except (KeyError, AttributeError, TypeError):  # pragma: no cover - another ipaddress
    _set_v4 = None


#: The integer of an address object (its ``_ip`` slot where the stdlib has one).
ip_int: Callable[[IPv4Address | IPv6Address], int] = (
    int if _set_v4 is None else operator.attrgetter("_ip")
)


def v4_from_int(value: int) -> IPv4Address:
    """Build an :class:`~ipaddress.IPv4Address` from an int the caller knows is a u32."""
    if _set_v4 is None:  # pragma: no cover
        return IPv4Address(value)
    address: IPv4Address = _new(IPv4Address)
    _set_v4(address, value)
    return address


def parse_v4(text: str) -> IPv4Address | None:
    """Parse a dotted-quad IPv4 address quickly; None if ``text`` is anything else.

    ``inet_pton`` accepts exactly what :class:`~ipaddress.IPv4Address` accepts
    (four decimal numbers 0..255 without leading zeros, nothing around them),
    in a fraction of the time; whatever it refuses goes the slow way.
    """
    try:
        packed = _inet_pton(_AF_INET, text)
    except (OSError, ValueError, TypeError):
        return None
    return v4_from_int(_from_bytes(packed, "big"))


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


def to_address(value: IPv4Address | IPv6Address | str) -> IPv4Address | IPv6Address:
    if isinstance(value, str):
        addr = parse_v4(value)
        if addr is not None:
            return addr
    elif value.__class__ is IPv4Address:
        return value
    return _parse_address("address", value)


def address_int(address: IPv4Address | IPv6Address) -> int:
    """The integer that identifies and orders an address: IPv4 first, then IPv6."""
    if address.version == 4:
        return ip_int(address)
    return ip_int(address) | V6_BIT


def to_opt_address(
    value: IPv4Address | IPv6Address | str | None,
) -> IPv4Address | IPv6Address | None:
    return None if value is None else _parse_address("address", value)


def to_group(
    value: IPv4Address | IPv6Address | str | None,
) -> IPv4Address | IPv6Address | None:
    return None if value is None else _parse_address("group", value)


def to_scheduler(value: Scheduler | str) -> str:
    if isinstance(value, Scheduler):
        return value.value
    return value


def check_name(where: str, value: object, max_len: int) -> None:
    """Check a kernel name (scheduler, persistence engine): 1..max_len printable ASCII."""
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a string, got {value!r}")
    if not 1 <= len(value) <= max_len:
        raise ValidationError(f"{where} must be 1..{max_len} characters long, got {value!r}")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValidationError(f"{where} must be printable ASCII without spaces, got {value!r}")


def valid_scheduler(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_name(where(inst, attribute.name), value, 15)


def valid_pe_name(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_name(where(inst, attribute.name), value, 16)


def valid_interface(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    place = where(inst, attribute.name)
    if not isinstance(value, str):
        raise ValidationError(f"{place} must be a string, got {value!r}")
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        raise ValidationError(f"{place} is not encodable: {value!r}") from None
    if not 1 <= size <= 15:
        raise ValidationError(f"{place} must be 1..15 bytes long, got {value!r}")
    if value in (".", "..") or any(ch.isspace() or ch in "/:\0" for ch in value):
        raise ValidationError(f"{place} is not a valid interface name: {value!r}")


def valid_service_flags(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ServiceFlags):
        raise ValidationError(f"{where(inst, attribute.name)} must be ServiceFlags")
    if value & ServiceFlags.HASHED:
        raise ValidationError(f"{where(inst, attribute.name)}: HASHED is read-only")


def instance_of(cls: type | tuple[type, ...]) -> Any:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, cls):
            raise ValidationError(f"{where(inst, attribute.name)} has the wrong type: {value!r}")

    return check


def opt_instance_of(cls: type | tuple[type, ...]) -> Any:
    inner = instance_of(cls)

    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            inner(inst, attribute, value)

    return check


def bracket(address: IPv4Address | IPv6Address, port: int) -> str:
    if address.version == 6:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def family_of(address: IPv4Address | IPv6Address) -> Family:
    return Family.INET if address.version == 4 else Family.INET6


class Keep(enum.Enum):
    """The default of ``replace()`` arguments: keep the current value."""

    KEEP = 0

    def __repr__(self) -> str:
        return "KEEP"


#: Passed for (or defaulting) a ``replace()`` argument: the value stays as it is.
KEEP = Keep.KEEP
