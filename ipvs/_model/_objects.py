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
    U16,
    U32,
    U64,
    bracket,
    family_of,
    instance_of,
    int_in,
    opt_instance_of,
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

__all__ = ["Destination", "Info", "Stats", "SyncDaemon", "Timeouts"]


_u64 = int_in(0, U64)
_u32 = int_in(0, U32)


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

    address: IPv4Address | IPv6Address = attrs.field(converter=to_address)
    port: int = attrs.field(validator=int_in(0, U16))
    family: Family = attrs.field(init=False)
    forward: ForwardMethod = attrs.field(default=ForwardMethod.ROUTE, converter=to_forward)
    weight: int = attrs.field(default=1, validator=int_in(0, INT_MAX))
    upper_threshold: int = attrs.field(default=0, validator=_u32)
    lower_threshold: int = attrs.field(default=0, validator=_u32)
    tunnel_type: TunnelType = attrs.field(default=TunnelType.IPIP, converter=to_tunnel_type)
    tunnel_port: int = attrs.field(default=0, validator=int_in(0, U16))
    tunnel_flags: TunnelFlags = attrs.field(default=TunnelFlags.NOCSUM, converter=to_tunnel_flags)
    active_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    inactive_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    persistent_connections: int = attrs.field(default=0, eq=False, validator=_u32)
    stats: Stats | None = attrs.field(default=None, eq=False, validator=opt_instance_of(Stats))

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "family", family_of(self.address))
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
        return bracket(self.address, self.port)

    def sort_key(self) -> tuple[int, int, int]:
        """Return a key for sorting destinations by family, address and port.

        Returns:
            A tuple suitable for sorting.
        """
        return (int(self.family), int(self.address), self.port)


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


_timeout = int_in(0, INT_MAX)


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
