"""The fast path for the kernel's destination dump message: one precompiled struct.

A snapshot of a large table is mostly destination messages, and they always
come in one of two fixed layouts; decoding one with a single
``Struct.unpack_from`` (checking every attribute header in the same call) is
several times faster than the table-driven parser, which stays the fallback.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from operator import itemgetter
from typing import Any

from ipvs._model import Destination, Family, ForwardMethod, TunnelFlags, TunnelType
from ipvs._model._trusted import unchecked_destination, unchecked_stats
from ipvs.netlink._framing import NLATTR, U32
from ipvs.netlink._schema import CmdAttr, DestAttr, StatsAttr

__all__ = ["dest_fast", "is_fast_layout"]


# Fast path for the kernel's destination dump message. Two layouts exist: without
# PAD attributes (x86_64 and other architectures with efficient unaligned access)
# and with them (e.g. User-Mode Linux, our sandbox), where a zero-length PAD
# precedes each 64-bit counter that would not be 8-byte aligned.
# Each attribute header (u16 len, u16 type) is read as one native u32 and
# compared with the expected value; the values are read in the same unpack.
def _build_dest_fast(
    padded: bool,
) -> tuple[struct.Struct, Callable[[tuple[Any, ...]], Any], tuple[int, ...], dict[str, int]]:
    fmt = ["="]
    expected: list[int] = []
    hdr_idx: list[int] = []
    where: dict[str, int] = {}
    count = 0

    def field(length: int, atype: int, code: str = "", names: tuple[str, ...] = ()) -> None:
        nonlocal count
        fmt.append("I" + code)
        hdr_idx.append(count)
        expected.append(U32.unpack(NLATTR.pack(length, atype))[0])
        count += 1
        for name in names:
            where[name] = count
            count += 1

    def pad() -> None:
        if padded:
            field(4, StatsAttr.PAD)

    field(380 if padded else 336, CmdAttr.DEST)
    field(20, DestAttr.ADDR, "16s", ("addr",))
    field(6, DestAttr.PORT, "BB2x", ("port_hi", "port_lo"))
    field(8, DestAttr.FWD_METHOD, "I", ("fwd",))
    field(8, DestAttr.WEIGHT, "I", ("weight",))
    field(5, DestAttr.TUN_TYPE, "B3x", ("tun_type",))
    field(6, DestAttr.TUN_PORT, "BB2x", ("tun_port_hi", "tun_port_lo"))
    field(6, DestAttr.TUN_FLAGS, "H2x", ("tun_flags",))
    field(8, DestAttr.U_THRESH, "I", ("upper",))
    field(8, DestAttr.L_THRESH, "I", ("lower",))
    field(8, DestAttr.ACTIVE_CONNS, "I", ("active",))
    field(8, DestAttr.INACT_CONNS, "I", ("inactive",))
    field(8, DestAttr.PERSIST_CONNS, "I", ("persist",))
    field(6, DestAttr.ADDR_FAMILY, "H2x", ("family",))
    if padded:
        field(100, DestAttr.STATS, "96x")  # the 32-bit copy is not needed
    else:
        field(92, DestAttr.STATS, "88x")
    field(160 if padded else 124, DestAttr.STATS64)
    for stat in range(1, 11):
        if stat > 1:
            pad()
        field(12, stat, "Q", (f"stat{stat}",))
    st = struct.Struct("".join(fmt))
    assert st.size == (380 if padded else 336)
    return st, itemgetter(*hdr_idx), tuple(expected), where


_DEST_FAST, _dest_fast_headers, _DEST_FAST_EXPECTED, _W = _build_dest_fast(False)
_DEST_PAD, _dest_pad_headers, _DEST_PAD_EXPECTED, _WP = _build_dest_fast(True)
# (unpack, header getter, expected headers, stats slice) by message size
_DEST_LAYOUTS = {
    _DEST_FAST.size: (
        _DEST_FAST.unpack_from,
        _dest_fast_headers,
        _DEST_FAST_EXPECTED,
        slice(_W["stat1"], _W["stat10"] + 1, _W["stat2"] - _W["stat1"]),
    ),
    _DEST_PAD.size: (
        _DEST_PAD.unpack_from,
        _dest_pad_headers,
        _DEST_PAD_EXPECTED,
        slice(_WP["stat1"], _WP["stat10"] + 1, _WP["stat2"] - _WP["stat1"]),
    ),
}
assert all(_W[k] == _WP[k] for k in _W if not k.startswith("stat"))
_I_ADDR, _I_PORT_HI, _I_PORT_LO = _W["addr"], _W["port_hi"], _W["port_lo"]
_I_FWD, _I_WEIGHT, _I_TTYPE = _W["fwd"], _W["weight"], _W["tun_type"]
_I_TPORT_HI, _I_TPORT_LO, _I_TFLAGS = _W["tun_port_hi"], _W["tun_port_lo"], _W["tun_flags"]
_I_UPPER, _I_LOWER, _I_FAMILY = _W["upper"], _W["lower"], _W["family"]
_I_ACTIVE, _I_INACT, _I_PERSIST = _W["active"], _W["inactive"], _W["persist"]
_FWD = tuple(ForwardMethod(i) for i in range(5))
_TUN_TYPE = tuple(TunnelType(i) for i in range(3))
_TUN_FLAGS = tuple(TunnelFlags(i) for i in range(4))
_INET = Family.INET
_INET6 = Family.INET6
_from_bytes = int.from_bytes


def dest_fast(area: memoryview | bytes) -> Destination | None:
    """Decode the usual kernel layouts, or return None to use the generic parser."""
    layout = _DEST_LAYOUTS.get(len(area))
    if layout is None:
        return None
    unpack, headers, expected, stats = layout
    vals = unpack(area)
    if headers(vals) != expected:
        return None
    family = vals[_I_FAMILY]
    address: IPv4Address | IPv6Address
    if family == 2:
        address = IPv4Address(_from_bytes(vals[_I_ADDR][:4], "big"))
        fam = _INET
    elif family == 10:
        address = IPv6Address(_from_bytes(vals[_I_ADDR], "big"))
        fam = _INET6
    else:
        return None
    fwd = vals[_I_FWD]
    weight = vals[_I_WEIGHT]
    ttype = vals[_I_TTYPE]
    tport = (vals[_I_TPORT_HI] << 8) | vals[_I_TPORT_LO]
    tflags = vals[_I_TFLAGS]
    upper = vals[_I_UPPER]
    lower = vals[_I_LOWER]
    # anything the model would reject (or that needs a pseudo-member) goes the slow way
    if fwd > 4 or weight > 0x7FFFFFFF or lower > upper or ttype > 2 or tflags > 3:
        return None
    if ttype == 1 and tport == 0:
        return None
    return unchecked_destination(
        address,
        (vals[_I_PORT_HI] << 8) | vals[_I_PORT_LO],
        fam,
        _FWD[fwd],
        weight,
        upper,
        lower,
        _TUN_TYPE[ttype],
        tport,
        _TUN_FLAGS[tflags],
        vals[_I_ACTIVE],
        vals[_I_INACT],
        vals[_I_PERSIST],
        unchecked_stats(*vals[stats]),
    )


def is_fast_layout(area: memoryview | bytes) -> bool:
    """Tell whether a destination message has the size of a fast-path layout."""
    return len(area) in _DEST_LAYOUTS
