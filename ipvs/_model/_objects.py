"""Statistics, destinations, and the small objects: info, timeouts, sync daemons.

Live data (statistics and connection counters) never takes part in equality
or hashing.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from ipvs._model._checks import (
    INT_MAX,
    KEEP,
    MAX_CONNECTION_TIMEOUT,
    U16,
    U32,
    U64,
    V6_BIT,
    Keep,
    bracket,
    building_twin,
    instance_of,
    int_in,
    ip_int,
    is_int,
    slot_setter,
    to_address,
    to_daemon_state,
    to_forward,
    to_group,
    to_tunnel_flags,
    to_tunnel_type,
    valid_interface,
    where,
)
from ipvs._model._enums import DaemonState, Family, ForwardMethod, TunnelFlags, TunnelType
from ipvs.errors import ValidationError

__all__ = [
    "Destination",
    "Info",
    "Stats",
    "SyncDaemon",
    "Timeouts",
    "unchecked_destination",
    "unchecked_stats",
    "unchecked_timeouts",
]


_u64 = int_in(0, U64)
_u32 = int_in(0, U32)


@attrs.frozen(kw_only=True, slots=True, weakref_slot=False)
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


_FORWARD_NAMES: dict[object, ForwardMethod] = {
    **{m: m for m in ForwardMethod},
    **{name.lower(): m for name, m in ForwardMethod.__members__.items()},
    "dr": ForwardMethod.ROUTE,
    "gate": ForwardMethod.ROUTE,
    "nat": ForwardMethod.MASQ,
    "tun": ForwardMethod.TUNNEL,
    "ipip": ForwardMethod.TUNNEL,
}
_ZERO = 0  # defaults are compared by identity: a fast path, not a check
_TUNNEL = ForwardMethod.TUNNEL
_IPIP, _GUE, _GRE = TunnelType.IPIP, TunnelType.GUE, TunnelType.GRE
_NOCSUM = TunnelFlags.NOCSUM
#: The checksum options each tunnel type takes (ipvsadm's rules: GUE one of
#: nocsum, csum, remcsum; GRE nocsum or csum; IPIP none).
_TUNNEL_FLAGS = {
    _IPIP: (TunnelFlags.NOCSUM,),
    _GUE: (TunnelFlags.NOCSUM, TunnelFlags.CSUM, TunnelFlags.REMCSUM),
    _GRE: (TunnelFlags.NOCSUM, TunnelFlags.CSUM),
}


def _int_field(place: str, value: object, hi: int) -> int:
    """The slow check of an integer field (the fast path takes plain ints in range)."""
    if not is_int(value):
        raise ValidationError(f"{place} must be an integer, got {value!r}")
    if not 0 <= value <= hi:  # type: ignore[operator]
        raise ValidationError(f"{place} must be in 0..{hi}, got {value!r}")
    return value  # type: ignore[return-value]


def _check_thresholds(upper: object, lower: object) -> None:
    _int_field("Destination.upper_threshold", upper, U32)
    _int_field("Destination.lower_threshold", lower, U32)
    if lower > upper:  # type: ignore[operator]
        raise ValidationError(
            f"Destination.lower_threshold ({lower}) must not exceed upper_threshold ({upper})"
        )


def _check_tunnel(forward: ForwardMethod, kind: TunnelType, port: int, flags: TunnelFlags) -> None:
    if forward is not _TUNNEL:
        if kind is not _IPIP or port or flags:
            raise ValidationError(
                "Destination.tunnel_type, tunnel_port and tunnel_flags are for "
                f"forward=tunnel only (forward is {forward.name.lower()})"
            )
        return
    if kind is _GUE:
        if not port:
            raise ValidationError("Destination.tunnel_port must be non-zero for a GUE tunnel")
    elif port:
        raise ValidationError(
            f"Destination.tunnel_port is for GUE tunnels only ({kind.name} tunnel)"
        )
    if flags not in _TUNNEL_FLAGS[kind]:
        allowed = ", ".join(str(f.name).lower() for f in _TUNNEL_FLAGS[kind])
        raise ValidationError(
            f"Destination.tunnel_flags {int(flags)} is not one of the options of a "
            f"{kind.name} tunnel ({allowed})"
        )


@attrs.frozen(kw_only=True, slots=True, init=False, weakref_slot=False)
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
        tunnel_type: tunnel encapsulation; default IPIP. Tunnel settings are
            for ``forward=TUNNEL`` only.
        tunnel_port: GUE destination port, 1..65535; required for GUE, and
            only for GUE.
        tunnel_flags: the tunnel's checksum option: for GUE one of
            ``NOCSUM``, ``CSUM`` and ``REMCSUM``, for GRE ``NOCSUM`` or
            ``CSUM``, for IPIP none (ipvsadm's rules).
        active_connections: live active connection count (not compared).
        inactive_connections: live inactive connection count (not compared).
        persistent_connections: live persistence template count (not compared).
        stats: live statistics (not compared).

    Raises:
        ValidationError: a value is invalid.
    """

    address: IPv4Address | IPv6Address = attrs.field(eq=False)
    port: int
    family: Family = attrs.field(init=False)
    forward: ForwardMethod = ForwardMethod.ROUTE
    weight: int = 1
    upper_threshold: int = 0
    lower_threshold: int = 0
    tunnel_type: TunnelType = TunnelType.IPIP
    tunnel_port: int = 0
    tunnel_flags: TunnelFlags = TunnelFlags.NOCSUM
    active_connections: int = attrs.field(default=0, eq=False)
    inactive_connections: int = attrs.field(default=0, eq=False)
    persistent_connections: int = attrs.field(default=0, eq=False)
    stats: Stats | None = attrs.field(default=None, eq=False)
    # the address as an integer (IPv6 with V6_BIT set): compared and hashed
    # instead of the address object, whose comparisons are Python code
    _ip: int = attrs.field(init=False, repr=False)

    def __init__(
        self,
        *,
        address: IPv4Address | IPv6Address | str,
        port: int,
        forward: ForwardMethod | int | str = ForwardMethod.ROUTE,
        weight: int = 1,
        upper_threshold: int = 0,
        lower_threshold: int = 0,
        tunnel_type: TunnelType | int | str = TunnelType.IPIP,
        tunnel_port: int = 0,
        tunnel_flags: TunnelFlags | int | str = TunnelFlags.NOCSUM,
        active_connections: int = 0,
        inactive_connections: int = 0,
        persistent_connections: int = 0,
        stats: Stats | None = None,
    ) -> None:
        # Each check has a fast path for the usual types; anything else takes
        # the general converter or check, which raises or normalises.
        addr = to_address(address)
        if addr.__class__ is IPv4Address or addr.version == 4:
            ip = ip_int(addr)
            family = _INET
        else:
            ip = ip_int(addr) | V6_BIT
            family = _INET6
        if port.__class__ is not int or not 0 <= port <= U16:
            port = _int_field("Destination.port", port, U16)
        fwd: ForwardMethod | None
        if forward.__class__ is ForwardMethod:
            fwd = forward
        else:
            fwd = _FORWARD_NAMES.get(forward) if isinstance(forward, str) else None
            if fwd is None:
                fwd = to_forward(forward)
        if weight.__class__ is not int or not 0 <= weight <= INT_MAX:
            weight = _int_field("Destination.weight", weight, INT_MAX)
        if upper_threshold is not _ZERO or lower_threshold is not _ZERO:
            _check_thresholds(upper_threshold, lower_threshold)
        if (
            fwd is _TUNNEL
            or tunnel_type is not _IPIP
            or tunnel_flags is not _NOCSUM
            or tunnel_port is not _ZERO
        ):
            tunnel_type = to_tunnel_type(tunnel_type)
            tunnel_port = _int_field("Destination.tunnel_port", tunnel_port, U16)
            tunnel_flags = to_tunnel_flags(tunnel_flags)
            _check_tunnel(fwd, tunnel_type, tunnel_port, tunnel_flags)
        if (
            active_connections is not _ZERO
            or inactive_connections is not _ZERO
            or persistent_connections is not _ZERO
        ):
            _int_field("Destination.active_connections", active_connections, U32)
            _int_field("Destination.inactive_connections", inactive_connections, U32)
            _int_field("Destination.persistent_connections", persistent_connections, U32)
        if stats is not None and not isinstance(stats, Stats):
            raise ValidationError(f"Destination.stats has the wrong type: {stats!r}")
        _d_address(self, addr)
        _d_port(self, port)
        _d_family(self, family)
        _d_forward(self, fwd)
        _d_weight(self, weight)
        _d_upper(self, upper_threshold)
        _d_lower(self, lower_threshold)
        _d_ttype(self, tunnel_type)
        _d_tport(self, tunnel_port)
        _d_tflags(self, tunnel_flags)
        _d_active(self, active_connections)
        _d_inactive(self, inactive_connections)
        _d_persist(self, persistent_connections)
        _d_stats(self, stats)
        _d_ip(self, ip)

    @property
    def key(self) -> tuple[IPv4Address | IPv6Address, int]:
        """The destination's identity within its service: ``(address, port)``."""
        return (self.address, self.port)

    def describe(self) -> str:
        """Describe the destination like ipvsadm.

        Returns:
            Text such as ``"10.0.0.2:80"`` or ``"[2001:db8::2]:80"``.
        """
        return bracket(self.address, self.port)

    def sort_key(self) -> tuple[int, int, int]:
        """Return a key for sorting destinations by family, address and port.

        Returns:
            A tuple suitable for sorting.
        """
        return (int(self.family), int(self.address), self.port)

    def replace(
        self,
        *,
        address: IPv4Address | IPv6Address | str | Keep = KEEP,
        port: int | Keep = KEEP,
        forward: ForwardMethod | int | str | Keep = KEEP,
        weight: int | Keep = KEEP,
        upper_threshold: int | Keep = KEEP,
        lower_threshold: int | Keep = KEEP,
        tunnel_type: TunnelType | int | str | Keep = KEEP,
        tunnel_port: int | Keep = KEEP,
        tunnel_flags: TunnelFlags | int | str | Keep = KEEP,
    ) -> Destination:
        """Return a copy with some settings changed (``attrs.evolve`` without importing attrs).

        The copy is checked like a new destination; live data (connection
        counts, statistics) is not carried over. Changing ``forward`` away
        from tunnelling drops the tunnel settings not given.

        Args:
            address: as for :class:`Destination`.
            port: as for :class:`Destination`.
            forward: as for :class:`Destination`.
            weight: as for :class:`Destination`.
            upper_threshold: as for :class:`Destination`.
            lower_threshold: as for :class:`Destination`.
            tunnel_type: as for :class:`Destination`.
            tunnel_port: as for :class:`Destination`.
            tunnel_flags: as for :class:`Destination`.

        Returns:
            The new destination.

        Raises:
            ValidationError: a new value is invalid, or does not fit with the
                values kept.

        Example:
            >>> backend = Destination(address="10.1.0.1", port=80, weight=5)
            >>> backend.replace(weight=0).weight
            0
        """
        new_forward = self.forward if isinstance(forward, Keep) else to_forward(forward)
        tunnelled = new_forward is ForwardMethod.TUNNEL
        return Destination(
            address=self.address if isinstance(address, Keep) else address,
            port=self.port if isinstance(port, Keep) else port,
            forward=new_forward,
            weight=self.weight if isinstance(weight, Keep) else weight,
            upper_threshold=(
                self.upper_threshold if isinstance(upper_threshold, Keep) else upper_threshold
            ),
            lower_threshold=(
                self.lower_threshold if isinstance(lower_threshold, Keep) else lower_threshold
            ),
            tunnel_type=(
                (self.tunnel_type if tunnelled else TunnelType.IPIP)
                if isinstance(tunnel_type, Keep)
                else tunnel_type
            ),
            tunnel_port=(
                (self.tunnel_port if tunnelled else 0)
                if isinstance(tunnel_port, Keep)
                else tunnel_port
            ),
            tunnel_flags=(
                (self.tunnel_flags if tunnelled else TunnelFlags.NOCSUM)
                if isinstance(tunnel_flags, Keep)
                else tunnel_flags
            ),
        )


_INET = Family.INET
_INET6 = Family.INET6
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
    _d_ip,
) = (slot_setter(Destination, a.name) for a in attrs.fields(Destination))
_BuildingStats = building_twin(Stats)
_BuildingDestination = building_twin(Destination)
_new = object.__new__


def unchecked_stats(
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
    s = _new(_BuildingStats)
    s.connections = connections
    s.packets_in = packets_in
    s.packets_out = packets_out
    s.bytes_in = bytes_in
    s.bytes_out = bytes_out
    s.cps = cps
    s.pps_in = pps_in
    s.pps_out = pps_out
    s.bps_in = bps_in
    s.bps_out = bps_out
    s.__class__ = Stats
    return s  # type: ignore[no-any-return]


def unchecked_destination(
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

    The caller guarantees the types (each value of its field's type and in
    the range the kernel's attribute can carry); the object may break rules
    that the validated constructor adds for desired state (tunnel settings
    on a non-tunnel destination, say), since the kernel may hold such state.
    """
    d = _new(_BuildingDestination)
    d.address = address
    d.port = port
    d.family = family
    d.forward = forward
    d.weight = weight
    d.upper_threshold = upper_threshold
    d.lower_threshold = lower_threshold
    d.tunnel_type = tunnel_type
    d.tunnel_port = tunnel_port
    d.tunnel_flags = tunnel_flags
    d.active_connections = active_connections
    d.inactive_connections = inactive_connections
    d.persistent_connections = persistent_connections
    d.stats = stats
    d._ip = ip_int(address) if family is _INET else ip_int(address) | V6_BIT
    d.__class__ = Destination
    return d  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True, slots=True)
class Info:
    """What ``GET_INFO`` reports about the kernel's IPVS.

    Attributes:
        version: version text, e.g. ``"1.2.1"``.
        version_code: the version as an integer, e.g. ``0x010201``.
        connection_table_size: size of the connection hash table.
    """

    version: str = attrs.field(validator=instance_of(str))
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


_timeout = int_in(0, MAX_CONNECTION_TIMEOUT)


@attrs.frozen(kw_only=True, slots=True)
class Timeouts:
    """Connection timeouts in seconds (``SET_CONFIG``/``GET_CONFIG``).

    On set, 0 means "leave unchanged". Each is at most 1,789,569 seconds
    (about 20.7 days): the kernel refuses more than ``INT_MAX / HZ``, and this
    bound holds for every HZ Linux offers (up to 1200).

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


def unchecked_timeouts(tcp: int, tcp_fin: int, udp: int) -> Timeouts:
    """Build :class:`Timeouts` without validation (the kernel's, which depend on its HZ)."""
    t = _new(Timeouts)
    _set_tcp(t, tcp)
    _set_tcp_fin(t, tcp_fin)
    _set_udp(t, udp)
    return t


_set_tcp, _set_tcp_fin, _set_udp = (slot_setter(Timeouts, a.name) for a in attrs.fields(Timeouts))


def _valid_group(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not value.is_multicast:  # type: ignore[attr-defined]
        raise ValidationError(f"{where(inst, attribute.name)} must be a multicast address")


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

    state: DaemonState = attrs.field(converter=to_daemon_state)
    interface: str = attrs.field(validator=valid_interface)
    sync_id: int = attrs.field(default=0, validator=int_in(0, 255))
    max_length: int = attrs.field(default=0, validator=int_in(0, U16))
    group: IPv4Address | IPv6Address | None = attrs.field(
        default=None, converter=to_group, validator=_valid_group
    )
    port: int = attrs.field(default=0, validator=int_in(0, U16))
    ttl: int = attrs.field(default=0, validator=int_in(0, 255))

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
