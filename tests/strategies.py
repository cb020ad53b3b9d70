"""Hypothesis strategies for the model classes (valid objects only).

Every object drawn here is also acceptable to the kernel's own checks and to
ipvsadm's: IPv6 netmasks are 1..128, GUE tunnels have a port, tunnel
settings only on tunnel destinations, lower thresholds do not exceed upper
ones, weights fit in an int, ONEPACKET only on UDP and fwmark services,
persistence with a timeout, and so on. Live data (stats and
connection counters) is drawn separately with ``live=True`` so that tests
of desired state can leave it out.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs
from hypothesis import strategies as st

from ipvs._model import (
    DaemonState,
    Destination,
    Family,
    ForwardMethod,
    Info,
    Protocol,
    Scheduler,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
    TunnelFlags,
    TunnelType,
)

__all__ = [
    "addresses",
    "destinations",
    "infos",
    "ipv4_addresses",
    "ipv6_addresses",
    "pe_names",
    "ports",
    "scheduler_names",
    "service_flags",
    "service_keys",
    "services",
    "stats",
    "sync_daemons",
    "timeouts",
]

U16 = 0xFFFF
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
INT_MAX = 0x7FFFFFFF
MAX_PERSISTENCE = 2678400
MAX_CONNECTION_TIMEOUT = INT_MAX // 1200

ports = st.integers(min_value=0, max_value=U16)
ipv4_addresses: st.SearchStrategy[IPv4Address] = st.builds(
    IPv4Address, st.integers(min_value=0, max_value=U32)
)
ipv6_addresses: st.SearchStrategy[IPv6Address] = st.builds(
    IPv6Address, st.integers(min_value=0, max_value=(1 << 128) - 1)
)
addresses: st.SearchStrategy[IPv4Address | IPv6Address] = st.one_of(ipv4_addresses, ipv6_addresses)
families = st.sampled_from(Family)

_name_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E)

_SCHEDULERS = {s.value for s in Scheduler}


def _not_a_known_name_in_another_case(known: set[str]) -> Any:
    return lambda name: name.lower() == name or name.lower() not in known


#: Scheduler names: the known ones and arbitrary kernel-acceptable names.
scheduler_names = st.one_of(
    st.sampled_from(sorted(_SCHEDULERS)),
    st.text(_name_chars, min_size=1, max_size=15).filter(
        _not_a_known_name_in_another_case(_SCHEDULERS)
    ),
)
#: Persistence engine names (or None).
pe_names = st.one_of(
    st.none(),
    st.just("sip"),
    st.text(_name_chars, min_size=1, max_size=16).filter(
        _not_a_known_name_in_another_case({"sip"})
    ),
)

#: Service flags a user may set on any service (the kernel's bits but HASHED
#: and ONEPACKET, which is for UDP and fwmark services only).
service_flags = st.sets(
    st.sampled_from(
        [ServiceFlags.PERSISTENT, ServiceFlags.SCHED1, ServiceFlags.SCHED2, ServiceFlags.SCHED3]
    )
).map(lambda fs: ServiceFlags(sum(fs)))


@st.composite
def service_keys(draw: st.DrawFn, family: Family | None = None) -> ServiceKey:
    """Draw a ServiceKey: an address key (TCP/UDP/SCTP) or a fwmark key.

    Args:
        draw: hypothesis' draw function.
        family: restrict to this family.

    Returns:
        A valid key.
    """
    fam = family if family is not None else draw(families)
    if draw(st.booleans()):
        return ServiceKey.mark(draw(st.integers(min_value=1, max_value=U32)), fam)
    address: IPv4Address | IPv6Address = (
        draw(ipv4_addresses) if fam == Family.INET else draw(ipv6_addresses)
    )
    return ServiceKey(protocol=draw(st.sampled_from(Protocol)), address=address, port=draw(ports))


@st.composite
def stats(draw: st.DrawFn) -> Stats:
    """Draw a Stats object with 64-bit counters.

    Args:
        draw: hypothesis' draw function.

    Returns:
        The stats.
    """
    values = draw(st.lists(st.integers(min_value=0, max_value=U64), min_size=10, max_size=10))
    names = [a.name for a in attrs.fields(Stats)]
    return Stats(**dict(zip(names, values, strict=True)))


@st.composite
def services(
    draw: st.DrawFn, key: st.SearchStrategy[ServiceKey] | None = None, live: bool = False
) -> Service:
    """Draw a Service.

    Args:
        draw: hypothesis' draw function.
        key: a strategy for the key (default: :func:`service_keys`).
        live: also draw statistics.

    Returns:
        A valid service.
    """
    k = draw(key if key is not None else service_keys())
    netmask: IPv4Address | int
    if k.family == Family.INET:
        netmask = draw(
            st.one_of(
                st.just(IPv4Address(U32)),
                st.integers(min_value=0, max_value=32).map(
                    lambda p: IPv4Address((U32 << (32 - p)) & U32)
                ),
                ipv4_addresses,
            )
        )
    else:
        netmask = draw(st.integers(min_value=1, max_value=128))
    flags = draw(service_flags)
    if (k.fwmark is not None or k.protocol == Protocol.UDP) and draw(st.booleans()):
        flags |= ServiceFlags.ONEPACKET
    persistent = bool(flags & ServiceFlags.PERSISTENT)
    return Service(
        key=k,
        scheduler=draw(scheduler_names),
        flags=flags,
        timeout=draw(st.integers(min_value=1 if persistent else 0, max_value=MAX_PERSISTENCE)),
        netmask=netmask,
        pe_name=draw(pe_names),
        stats=draw(stats()) if live and draw(st.booleans()) else None,
    )


@st.composite
def destinations(draw: st.DrawFn, family: Family | None = None, live: bool = False) -> Destination:
    """Draw a Destination.

    Args:
        draw: hypothesis' draw function.
        family: the family of the service it belongs to: its address has
            that family unless it is tunnelled.
        live: also draw connection counters and statistics.

    Returns:
        A valid destination (lower threshold <= upper, tunnel settings by
        ipvsadm's rules on tunnel destinations only).
    """
    forward = draw(st.sampled_from(ForwardMethod))
    if family is not None and forward != ForwardMethod.TUNNEL:
        address: IPv4Address | IPv6Address = draw(
            ipv4_addresses if family == Family.INET else ipv6_addresses
        )
    else:
        address = draw(addresses)
    upper = draw(st.integers(min_value=0, max_value=U32))
    lower = draw(st.integers(min_value=0, max_value=upper))
    tunnel_type, tunnel_port, tunnel_flags = TunnelType.IPIP, 0, TunnelFlags.NOCSUM
    if forward == ForwardMethod.TUNNEL:
        tunnel_type = draw(st.sampled_from(TunnelType))
        if tunnel_type == TunnelType.GUE:
            tunnel_port = draw(st.integers(min_value=1, max_value=U16))
            tunnel_flags = draw(
                st.sampled_from([TunnelFlags.NOCSUM, TunnelFlags.CSUM, TunnelFlags.REMCSUM])
            )
        elif tunnel_type == TunnelType.GRE:
            tunnel_flags = draw(st.sampled_from([TunnelFlags.NOCSUM, TunnelFlags.CSUM]))
    extra: dict[str, Any] = {}
    if live:
        counts = st.integers(min_value=0, max_value=U32)
        extra = {
            "active_connections": draw(counts),
            "inactive_connections": draw(counts),
            "persistent_connections": draw(counts),
            "stats": draw(st.one_of(st.none(), stats())),
        }
    return Destination(
        address=address,
        port=draw(ports),
        forward=forward,
        weight=draw(st.integers(min_value=0, max_value=INT_MAX)),
        upper_threshold=upper,
        lower_threshold=lower,
        tunnel_type=tunnel_type,
        tunnel_port=tunnel_port,
        tunnel_flags=tunnel_flags,
        **extra,
    )


_ifname_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/:")


@st.composite
def sync_daemons(draw: st.DrawFn) -> SyncDaemon:
    """Draw a SyncDaemon (the group, when given, is multicast).

    Args:
        draw: hypothesis' draw function.

    Returns:
        A valid daemon.
    """
    interface = draw(
        st.text(_ifname_chars, min_size=1, max_size=15).filter(lambda n: n not in (".", ".."))
    )
    group = draw(
        st.one_of(
            st.none(),
            st.integers(min_value=0xE0000000, max_value=0xEFFFFFFF).map(IPv4Address),
            st.integers(min_value=0, max_value=(1 << 120) - 1).map(
                lambda v: IPv6Address((0xFF << 120) | v)
            ),
        )
    )
    return SyncDaemon(
        state=draw(st.sampled_from(DaemonState)),
        interface=interface,
        sync_id=draw(st.integers(min_value=0, max_value=255)),
        max_length=draw(st.integers(min_value=0, max_value=U16)),
        group=group,
        port=draw(ports),
        ttl=draw(st.integers(min_value=0, max_value=255)),
    )


#: Timeouts valid for SET_CONFIG (0..INT_MAX/1200 seconds, any HZ; 0 = unchanged).
timeouts = st.builds(
    Timeouts,
    tcp=st.integers(min_value=0, max_value=MAX_CONNECTION_TIMEOUT),
    tcp_fin=st.integers(min_value=0, max_value=MAX_CONNECTION_TIMEOUT),
    udp=st.integers(min_value=0, max_value=MAX_CONNECTION_TIMEOUT),
)

#: Info objects as GET_INFO reports them.
infos = st.builds(
    Info.from_code,
    st.integers(min_value=0, max_value=0xFFFFFF),
    st.integers(min_value=0, max_value=U32),
)
