"""Unchecked constructors for the decoders (trusted, pre-checked kernel data).

Building a validated attrs object costs microseconds; a snapshot of 100,000
destinations decoded from the kernel's own replies does not need the checks.
These functions set the slots directly. Callers guarantee every invariant.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs

from ipvs._model._enums import Family, ForwardMethod, TunnelFlags, TunnelType
from ipvs._model._objects import Destination, Stats

__all__ = ["unchecked_destination", "unchecked_stats"]


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
