"""Fast paths for the kernel's dump messages: fixed layouts, checked and read at once.

A snapshot of a large table is mostly destination messages, and they always
come in one of two fixed layouts: without PAD attributes (x86_64 and other
architectures with efficient unaligned access) and with them (User-Mode
Linux, our sandbox, where a zero-length PAD precedes each 64-bit counter
whose payload would not be 8-byte aligned in the message). For each layout:

* every attribute header is checked in one comparison: the message, read as
  one integer and masked to its header bytes, must equal the expected
  headers;
* the values are read by two precompiled structs (host order, and network
  order for the address and ports), skipping the headers.

Service messages carry a scheduler name of variable length; their layouts
are compiled on first sight, keyed by the message's size and that name's
attribute length. Anything else (or any value the decoder must refuse) goes
to the table-driven parser, which stays the reference.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from ipvs._model import (
    Destination,
    Family,
    ForwardMethod,
    Protocol,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._checks import v4_from_int
from ipvs._model._trusted import unchecked_destination, unchecked_service, unchecked_stats
from ipvs.netlink._framing import NLATTR
from ipvs.netlink._schema import CmdAttr, DestAttr, StatsAttr, SvcAttr

__all__ = ["ZERO_STATS", "dest_fast", "is_fast_layout", "service_fast", "stats_of"]


class _Layout:
    """A message layout: header positions and the fields read in host and network order."""

    def __init__(self) -> None:
        self.size = 0
        self.headers: list[tuple[int, bytes]] = []
        self.host: list[tuple[int, str, str]] = []  # (offset, struct code, name)
        self.net: list[tuple[int, str, str]] = []

    def attr(self, length: int, atype: int, body: int | None = None, *, align: bool = False) -> int:
        """Append an attribute header; return the offset of its payload.

        With ``align``, a 64-bit value: the kernel precedes it with an empty
        PAD attribute where its payload would not be 8-byte aligned (counted
        from the start of the netlink message, 20 bytes before the area).
        """
        if align and (20 + self.size + 4) % 8:
            self.headers.append((self.size, NLATTR.pack(4, StatsAttr.PAD)))
            self.size += 4
        self.headers.append((self.size, NLATTR.pack(length, atype)))
        self.size += 4
        payload = self.size
        if body is not None:
            self.size += body
        return payload

    def value(self, offset: int, code: str, name: str, *, network: bool = False) -> None:
        (self.net if network else self.host).append((offset, code, name))

    def compile(self) -> tuple[int, int, Callable[..., Any], Callable[..., Any], dict[str, int]]:
        """Return (mask, expected, host unpack, network unpack, field index by name)."""
        mask = bytearray(self.size)
        expected = bytearray(self.size)
        for offset, raw in self.headers:
            mask[offset : offset + 4] = b"\xff" * 4
            expected[offset : offset + 4] = raw
        index: dict[str, int] = {}

        def fmt(fields: list[tuple[int, str, str]], order: str) -> struct.Struct:
            out = [order]
            at = 0
            for i, (offset, code, name) in enumerate(sorted(fields)):
                if offset > at:
                    out.append(f"{offset - at}x")
                out.append(code)
                at = offset + struct.calcsize("=" + code)
                index[name] = i
            return struct.Struct("".join(out))

        host = fmt(self.host, "=")
        net = fmt(self.net, ">")
        return (
            int.from_bytes(mask, "little"),
            int.from_bytes(expected, "little"),
            host.unpack_from,
            net.unpack_from,
            index,
        )


def _stats(layout: _Layout, padded: bool) -> None:
    """STATS (the 32-bit copy: its header checked, its contents skipped) and STATS64 (read)."""
    nest = layout.size
    layout.attr(0, DestAttr.STATS)
    for stat in range(1, 11):
        wide = stat in (StatsAttr.INBYTES, StatsAttr.OUTBYTES)
        layout.attr(12 if wide else 8, stat, 8 if wide else 4, align=wide and padded)
    _set_length(layout, nest)
    nest = layout.size
    layout.attr(0, DestAttr.STATS64)
    for stat in range(1, 11):
        layout.value(layout.attr(12, stat, 8, align=padded), "Q", f"stat{stat}")
    _set_length(layout, nest)


def _set_length(layout: _Layout, offset: int) -> None:
    """Give the nest whose header is at ``offset`` the length up to the current end."""
    for i, (at, raw) in enumerate(layout.headers):
        if at == offset:
            layout.headers[i] = (at, NLATTR.pack(layout.size - at, NLATTR.unpack(raw)[1]))
            return
    raise AssertionError(offset)


def _dest_layout(padded: bool) -> _Layout:
    layout = _Layout()
    layout.attr(380 if padded else 336, CmdAttr.DEST)
    at = layout.attr(20, DestAttr.ADDR, 16)
    layout.value(at, "16s", "addr")
    layout.value(at, "I", "addr4", network=True)
    layout.value(layout.attr(6, DestAttr.PORT, 4), "H", "port", network=True)
    layout.value(layout.attr(8, DestAttr.FWD_METHOD, 4), "I", "fwd")
    layout.value(layout.attr(8, DestAttr.WEIGHT, 4), "I", "weight")
    layout.value(layout.attr(5, DestAttr.TUN_TYPE, 4), "B", "tun_type")
    layout.value(layout.attr(6, DestAttr.TUN_PORT, 4), "H", "tun_port", network=True)
    layout.value(layout.attr(6, DestAttr.TUN_FLAGS, 4), "H", "tun_flags")
    layout.value(layout.attr(8, DestAttr.U_THRESH, 4), "I", "upper")
    layout.value(layout.attr(8, DestAttr.L_THRESH, 4), "I", "lower")
    layout.value(layout.attr(8, DestAttr.ACTIVE_CONNS, 4), "I", "active")
    layout.value(layout.attr(8, DestAttr.INACT_CONNS, 4), "I", "inactive")
    layout.value(layout.attr(8, DestAttr.PERSIST_CONNS, 4), "I", "persist")
    layout.value(layout.attr(6, DestAttr.ADDR_FAMILY, 4), "H", "family")
    _stats(layout, padded)
    assert layout.size == (380 if padded else 336)
    return layout


_DEST = {}
for _padded in (False, True):
    _layout = _dest_layout(_padded)
    _DEST[_layout.size] = _layout.compile()
_MASK, _EXPECTED, _, _, _W = _DEST[336]
assert _DEST[380][4] == _W
_I_ADDR, _I_FWD, _I_WEIGHT = _W["addr"], _W["fwd"], _W["weight"]
_I_TTYPE, _I_TFLAGS, _I_UPPER, _I_LOWER = _W["tun_type"], _W["tun_flags"], _W["upper"], _W["lower"]
_I_ACTIVE, _I_INACT, _I_PERSIST, _I_FAMILY = (
    _W["active"],
    _W["inactive"],
    _W["persist"],
    _W["family"],
)
_STATS = slice(_W["stat1"], _W["stat10"] + 1)
assert [_W[f"stat{i}"] for i in range(1, 11)] == list(range(_W["stat1"], _W["stat1"] + 10))
_N_ADDR4, _N_PORT, _N_TPORT = _W["addr4"], _W["port"], _W["tun_port"]
_FWD = tuple(ForwardMethod(i) for i in range(5))
_TUN_TYPE = tuple(TunnelType(i) for i in range(3))
_TUN_FLAGS = tuple(TunnelFlags(i) for i in range(4))
_INET = Family.INET
_INET6 = Family.INET6
_from_bytes = int.from_bytes
#: One Stats for all idle objects: a table of idle destinations shares it (immutable).
_ZEROS = (0,) * 10
ZERO_STATS = unchecked_stats(*_ZEROS)


def stats_of(values: tuple[int, ...]) -> Stats:
    """The Stats of ten counters (the shared zero Stats when all are zero)."""
    return ZERO_STATS if values == _ZEROS else unchecked_stats(*values)


def dest_fast(area: memoryview | bytes) -> Destination | None:
    """Decode the usual kernel layouts, or return None to use the generic parser."""
    layout = _DEST.get(len(area))
    if layout is None:
        return None
    mask, expected, host, net, _ = layout
    if _from_bytes(area, "little") & mask != expected:
        return None
    vals = host(area)
    addr4, port, tport = net(area)
    family = vals[_I_FAMILY]
    address: IPv4Address | IPv6Address
    if family == 2:
        address = v4_from_int(addr4)
        fam = _INET
    elif family == 10:
        address = IPv6Address(_from_bytes(vals[_I_ADDR], "big"))
        fam = _INET6
    else:
        return None
    fwd = vals[_I_FWD]
    weight = vals[_I_WEIGHT]
    ttype = vals[_I_TTYPE]
    tflags = vals[_I_TFLAGS]
    upper = vals[_I_UPPER]
    lower = vals[_I_LOWER]
    # anything the decoder refuses (or that needs a pseudo-member) goes the slow way
    if fwd > 4 or weight > 0x7FFFFFFF or lower > upper or ttype > 2 or tflags > 3:
        return None
    if ttype == 1 and tport == 0:
        return None
    return unchecked_destination(
        address,
        port,
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
        stats_of(vals[_STATS]),
    )


def is_fast_layout(area: memoryview | bytes) -> bool:
    """Tell whether a destination message has the size of a fast-path layout."""
    return len(area) in _DEST


# -- services -------------------------------------------------------------------------------

_U16 = struct.Struct("=H")
_SERVICES: dict[tuple[int, int], Any] = {}
_PROTOCOLS = {p.value: p for p in Protocol}
_NOT_HASHED = 0xFFFFFFFF & ~int(ServiceFlags.HASHED)


def _service_layout(size: int, sched_len: int) -> Any:
    """The layout of an address service's message whose SCHED_NAME attribute has this length.

    AF, PROTOCOL, ADDR, PORT, SCHED_NAME, FLAGS, TIMEOUT, NETMASK, STATS,
    STATS64 (no PE_NAME, no FWMARK), with or without PAD; None if neither
    gives ``size``.
    """
    for padded in (False, True):
        layout = _Layout()
        layout.attr(size, CmdAttr.SERVICE)
        layout.value(layout.attr(6, SvcAttr.AF, 4), "H", "af")
        layout.value(layout.attr(6, SvcAttr.PROTOCOL, 4), "H", "protocol")
        at = layout.attr(20, SvcAttr.ADDR, 16)
        layout.value(at, "16s", "addr")
        layout.value(at, "I", "addr4", network=True)
        layout.value(layout.attr(6, SvcAttr.PORT, 4), "H", "port", network=True)
        at = layout.attr(sched_len, SvcAttr.SCHED_NAME, (sched_len - 4 + 3) & ~3)
        layout.value(at, f"{sched_len - 4}s", "sched")
        at = layout.attr(12, SvcAttr.FLAGS, 8)
        layout.value(at, "I", "flags")
        layout.value(at + 4, "I", "mask")
        layout.value(layout.attr(8, SvcAttr.TIMEOUT, 4), "I", "timeout")
        at = layout.attr(8, SvcAttr.NETMASK, 4)
        layout.value(at, "I", "netmask4", network=True)
        layout.value(at, "I", "netmask6")
        _stats(layout, padded)
        if layout.size == size:
            return layout.compile()
    return None


def service_fast(area: memoryview | bytes) -> Service | None:
    """Decode an address service in the kernel's usual layout, or return None."""
    size = len(area)
    if size < 64:
        return None
    sched_len = _U16.unpack_from(area, 48)[0]  # after the nest, AF, PROTOCOL, ADDR, PORT
    layout_key = (size, sched_len)
    layout = _SERVICES.get(layout_key)
    if layout is None:
        if not 5 <= sched_len <= 20:
            return None
        layout = _service_layout(size, sched_len)
        if layout is None:
            return None  # not cached: odd replies must not crowd out the usual ones
        if len(_SERVICES) >= 64:
            _SERVICES.clear()
        _SERVICES[layout_key] = layout
    mask, expected, host, net, index = layout
    if _from_bytes(area, "little") & mask != expected:
        return None
    vals = host(area)
    addr4, port, netmask4 = net(area)
    af = vals[index["af"]]
    protocol = _PROTOCOLS.get(vals[index["protocol"]])
    raw_sched: bytes = vals[index["sched"]]
    end = raw_sched.find(b"\0")
    if protocol is None or end <= 0:
        return None
    try:
        scheduler = raw_sched[:end].decode()
    except UnicodeDecodeError:
        return None
    netmask: IPv4Address | int
    address: IPv4Address | IPv6Address
    if af == 2:
        address = v4_from_int(addr4)
        netmask = v4_from_int(netmask4)
    elif af == 10:
        address = IPv6Address(_from_bytes(vals[index["addr"]], "big"))
        prefix: int = vals[index["netmask6"]]
        if not 1 <= prefix <= 128:
            return None
        netmask = prefix
    else:
        return None
    stats = index["stat1"]
    return unchecked_service(
        ServiceKey(protocol=protocol, address=address, port=port),
        scheduler,
        ServiceFlags(vals[index["flags"]] & vals[index["mask"]] & _NOT_HASHED),
        vals[index["timeout"]],
        netmask,
        None,
        stats_of(vals[stats : stats + 10]),
    )
