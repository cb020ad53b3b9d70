"""Hypothesis strategies for whole tables, and pairs of related tables.

``kernel=True`` restricts values to what the sandbox kernel stores and reads
back unchanged (real schedulers, unicast addresses, timeouts that do not
wrap, mixed address families only with tunnelling), so that a table applied
to the kernel and read back compares equal.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

from ipvs._model import (
    Destination,
    Family,
    ForwardMethod,
    Protocol,
    Service,
    ServiceEntry,
    ServiceFlags,
    ServiceKey,
    Table,
    TunnelFlags,
    TunnelType,
)
from tests import strategies as S

SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"]

_v4_unicast = st.integers(min_value=0, max_value=0xFFFF).map(lambda v: IPv4Address(0x0A000000 + v))
_v6_unicast = st.integers(min_value=1, max_value=0xFFFF).map(
    lambda v: IPv6Address((0x20010DB8 << 96) + v)
)


@st.composite
def kernel_keys(draw: st.DrawFn) -> ServiceKey:
    """A service key the kernel accepts (small address and mark ranges, so keys collide)."""
    fam = draw(st.sampled_from(Family))
    if draw(st.integers(0, 4)) == 0:
        return ServiceKey.mark(draw(st.integers(1, 20)), fam)
    address = draw(_v4_unicast if fam == Family.INET else _v6_unicast)
    return ServiceKey(
        protocol=draw(st.sampled_from(Protocol)), address=address, port=draw(st.integers(1, 3))
    )


@st.composite
def kernel_services(draw: st.DrawFn, key: ServiceKey) -> Service:
    """Settings the kernel stores and reports back unchanged."""
    if key.family == Family.INET:
        netmask: IPv4Address | int = draw(
            st.sampled_from([IPv4Address("255.255.255.255"), IPv4Address("255.255.255.0")])
        )
    else:
        netmask = draw(st.sampled_from([128, 64]))
    choices = [ServiceFlags.PERSISTENT, ServiceFlags.SCHED1, ServiceFlags.SCHED2]
    if key.fwmark is not None or key.protocol == Protocol.UDP:
        choices.append(ServiceFlags.ONEPACKET)
    flags = ServiceFlags(sum(draw(st.sets(st.sampled_from(choices)))))
    timeouts = [300, 2678400] if flags & ServiceFlags.PERSISTENT else [0, 300, 2678400]
    return Service(
        key=key,
        scheduler=draw(st.sampled_from(SCHEDULERS)),
        flags=flags,
        timeout=draw(st.sampled_from(timeouts)),
        netmask=netmask,
        pe_name=draw(st.sampled_from([None, None, "sip"])),
    )


@st.composite
def kernel_destinations(draw: st.DrawFn, family: Family) -> Destination:
    """A destination the kernel accepts for a service of ``family``."""
    forward = draw(
        st.sampled_from(
            [ForwardMethod.MASQ, ForwardMethod.LOCAL, ForwardMethod.TUNNEL, ForwardMethod.ROUTE]
        )
    )
    dfam = draw(st.sampled_from(Family)) if forward == ForwardMethod.TUNNEL else family
    address = draw(_v4_unicast if dfam == Family.INET else _v6_unicast)
    upper = draw(st.sampled_from([0, 100, 1000]))
    lower = draw(st.sampled_from([0, upper // 2, upper]))
    tunnel_type = (
        draw(st.sampled_from(TunnelType)) if forward == ForwardMethod.TUNNEL else TunnelType.IPIP
    )
    tunnel_port = 6080 if tunnel_type == TunnelType.GUE else 0
    flags = (
        draw(st.sampled_from([TunnelFlags.NOCSUM, TunnelFlags.CSUM]))
        if tunnel_type != TunnelType.IPIP
        else TunnelFlags.NOCSUM
    )
    return Destination(
        address=address,
        port=draw(st.integers(1, 3)),
        forward=forward,
        weight=draw(st.integers(0, 5)),
        upper_threshold=upper,
        lower_threshold=lower,
        tunnel_type=tunnel_type,
        tunnel_port=tunnel_port,
        tunnel_flags=flags,
    )


@st.composite
def tables(draw: st.DrawFn, kernel: bool = False, max_services: int = 6) -> Table:
    """A table; with ``kernel=True``, one the sandbox kernel can hold exactly."""
    keys = draw(
        st.lists(kernel_keys() if kernel else S.service_keys(), max_size=max_services, unique=True)
    )
    entries = []
    for key in keys:
        svc = draw(kernel_services(key) if kernel else S.services(key=st.just(key)))
        dests = draw(
            st.lists(
                kernel_destinations(key.family) if kernel else S.destinations(key.family),
                max_size=5,
                unique_by=lambda d: d.key,
            )
        )
        entries.append(ServiceEntry(service=svc, destinations=dests))
    return Table(entries)


@st.composite
def table_pairs(draw: st.DrawFn, kernel: bool = False) -> tuple[Table, Table]:
    """Two tables that share many keys, so that diffs update as well as add and delete."""
    a = draw(tables(kernel=kernel))
    b = draw(tables(kernel=kernel))
    # Carry over some of A's services into B, some unchanged, some with new settings.
    result = b
    for key, entry in a.items():
        choice = draw(st.integers(0, 3))
        if choice == 0 or key in result:
            continue
        if choice == 1:
            result = result.with_entry(entry)
        else:
            svc = draw(kernel_services(key)) if kernel else draw(S.services(key=st.just(key)))
            keep = [d for d in entry.destinations if draw(st.booleans())]
            result = result.with_entry(ServiceEntry(service=svc, destinations=keep))
    return a, Table(result.values())
