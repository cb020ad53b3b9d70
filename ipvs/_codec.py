"""Sans-I/O encoder and decoder of IPVS generic netlink messages.

Encoders return complete netlink messages (header included) given the IPVS
family id, a sequence number and the netlink flags. Decoders take the
attribute area of a reply (the payload after the genl header) and return
model objects. Anything malformed raises :class:`~ipvs._errors.DecodeError`,
and nothing else.

The attribute numbers and wire kinds mirror the kernel's policies in
``net/netfilter/ipvs/ip_vs_ctl.c`` (see :data:`POLICIES`). Traps worth
remembering: ports and the tunnel port are big-endian, the daemon's
multicast port is host order, ``FLAGS`` is a host-order ``{flags, mask}``
pair, and ``NETMASK`` holds a network-order IPv4 mask but a host-order IPv6
prefix length.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from enum import Enum, IntEnum
from ipaddress import IPv4Address, IPv6Address
from operator import itemgetter
from typing import Any, NamedTuple, ParamSpec, TypeVar

import attrs

from ipvs._errors import DecodeError, ValidationError
from ipvs._model import (
    DaemonState,
    Destination,
    Family,
    ForwardMethod,
    Info,
    Protocol,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
    TunnelFlags,
    TunnelType,
    _unchecked_destination,
    _unchecked_stats,
)
from ipvs._netlink import (
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    attr,
    encode_genl,
    iter_messages,
    parse_attrs,
    split_genl,
)

__all__ = [
    "CMD_POLICY",
    "DAEMON_POLICY",
    "DEST_POLICY",
    "GENL_NAME",
    "GENL_VERSION",
    "INFO_POLICY",
    "POLICIES",
    "STATS64_POLICY",
    "STATS_POLICY",
    "SVC_POLICY",
    "AttrSpec",
    "CmdAttr",
    "Command",
    "DaemonAttr",
    "DestAttr",
    "InfoAttr",
    "Kind",
    "Request",
    "StatsAttr",
    "SvcAttr",
    "decode_daemon",
    "decode_destination",
    "decode_info",
    "decode_request",
    "decode_service",
    "decode_timeouts",
    "encode_del_daemon",
    "encode_del_dest",
    "encode_del_service",
    "encode_dest_msg",
    "encode_flush",
    "encode_get_config",
    "encode_get_daemons",
    "encode_get_dests",
    "encode_get_info",
    "encode_get_service",
    "encode_get_services",
    "encode_new_daemon",
    "encode_new_dest",
    "encode_new_service",
    "encode_service_key_nest",
    "encode_service_nest",
    "encode_set_config",
    "encode_set_dest",
    "encode_set_service",
    "encode_zero",
]

#: The generic netlink family name.
GENL_NAME = "IPVS"
#: The generic netlink version the kernel writes and we send.
GENL_VERSION = 1

REQUEST_ACK = NLM_F_REQUEST | NLM_F_ACK
REQUEST_DUMP = NLM_F_REQUEST | NLM_F_DUMP


class Command(IntEnum):
    """IPVS generic netlink commands (``IPVS_CMD_*``)."""

    UNSPEC = 0
    NEW_SERVICE = 1
    SET_SERVICE = 2
    DEL_SERVICE = 3
    GET_SERVICE = 4
    NEW_DEST = 5
    SET_DEST = 6
    DEL_DEST = 7
    GET_DEST = 8
    NEW_DAEMON = 9
    DEL_DAEMON = 10
    GET_DAEMON = 11
    SET_CONFIG = 12
    GET_CONFIG = 13
    SET_INFO = 14
    GET_INFO = 15
    ZERO = 16
    FLUSH = 17


class CmdAttr(IntEnum):
    """Top-level attributes (``IPVS_CMD_ATTR_*``)."""

    SERVICE = 1
    DEST = 2
    DAEMON = 3
    TIMEOUT_TCP = 4
    TIMEOUT_TCP_FIN = 5
    TIMEOUT_UDP = 6


class SvcAttr(IntEnum):
    """Service nest attributes (``IPVS_SVC_ATTR_*``)."""

    AF = 1
    PROTOCOL = 2
    ADDR = 3
    PORT = 4
    FWMARK = 5
    SCHED_NAME = 6
    FLAGS = 7
    TIMEOUT = 8
    NETMASK = 9
    STATS = 10
    PE_NAME = 11
    STATS64 = 12


class DestAttr(IntEnum):
    """Destination nest attributes (``IPVS_DEST_ATTR_*``)."""

    ADDR = 1
    PORT = 2
    FWD_METHOD = 3
    WEIGHT = 4
    U_THRESH = 5
    L_THRESH = 6
    ACTIVE_CONNS = 7
    INACT_CONNS = 8
    PERSIST_CONNS = 9
    STATS = 10
    ADDR_FAMILY = 11
    STATS64 = 12
    TUN_TYPE = 13
    TUN_PORT = 14
    TUN_FLAGS = 15


class DaemonAttr(IntEnum):
    """Sync daemon nest attributes (``IPVS_DAEMON_ATTR_*``)."""

    STATE = 1
    MCAST_IFN = 2
    SYNC_ID = 3
    SYNC_MAXLEN = 4
    MCAST_GROUP = 5
    MCAST_GROUP6 = 6
    MCAST_PORT = 7
    MCAST_TTL = 8


class StatsAttr(IntEnum):
    """Statistics nest attributes (``IPVS_STATS_ATTR_*``)."""

    CONNS = 1
    INPKTS = 2
    OUTPKTS = 3
    INBYTES = 4
    OUTBYTES = 5
    CPS = 6
    INPPS = 7
    OUTPPS = 8
    INBPS = 9
    OUTBPS = 10
    PAD = 11


class InfoAttr(IntEnum):
    """Top-level attributes of the ``GET_INFO`` reply (``IPVS_INFO_ATTR_*``)."""

    VERSION = 1
    CONN_TAB_SIZE = 2


class Kind(Enum):
    """How an attribute's payload is encoded on the wire."""

    U8 = "u8"  #: unsigned 8-bit
    U16 = "u16"  #: host-order u16
    U32 = "u32"  #: host-order u32
    U64 = "u64"  #: host-order u64
    BE16 = "be16"  #: network-order u16 (ports)
    BINARY = "binary"  #: at most ``size`` bytes, zero-filled to ``size``
    MIN_BINARY = "min_binary"  #: at least ``size`` bytes
    RAW4 = "raw4"  #: four raw bytes (read like NLA_U32, interpreted by the caller)
    STRING = "string"  #: NUL-terminated string of at most ``size`` characters
    FLAGS = "flags"  #: ``{u32 flags, u32 mask}`` host order, at most 8 bytes
    NESTED = "nested"  #: a nest (decoded separately)


class AttrSpec(NamedTuple):
    """One row of a policy table."""

    #: The attribute's name (without the ``IPVS_*_ATTR_`` prefix).
    name: str
    #: The wire encoding.
    kind: Kind
    #: Integer width, maximum (BINARY, STRING) or minimum (MIN_BINARY) length; 0 for nests.
    size: int


_K = Kind

#: Top-level policy (``ip_vs_cmd_policy``).
CMD_POLICY: Mapping[int, AttrSpec] = {
    CmdAttr.SERVICE: AttrSpec("SERVICE", _K.NESTED, 0),
    CmdAttr.DEST: AttrSpec("DEST", _K.NESTED, 0),
    CmdAttr.DAEMON: AttrSpec("DAEMON", _K.NESTED, 0),
    CmdAttr.TIMEOUT_TCP: AttrSpec("TIMEOUT_TCP", _K.U32, 4),
    CmdAttr.TIMEOUT_TCP_FIN: AttrSpec("TIMEOUT_TCP_FIN", _K.U32, 4),
    CmdAttr.TIMEOUT_UDP: AttrSpec("TIMEOUT_UDP", _K.U32, 4),
}

#: Service nest policy (``ip_vs_svc_policy``), plus the output-only STATS64.
SVC_POLICY: Mapping[int, AttrSpec] = {
    SvcAttr.AF: AttrSpec("AF", _K.U16, 2),
    SvcAttr.PROTOCOL: AttrSpec("PROTOCOL", _K.U16, 2),
    SvcAttr.ADDR: AttrSpec("ADDR", _K.BINARY, 16),
    SvcAttr.PORT: AttrSpec("PORT", _K.BE16, 2),
    SvcAttr.FWMARK: AttrSpec("FWMARK", _K.U32, 4),
    SvcAttr.SCHED_NAME: AttrSpec("SCHED_NAME", _K.STRING, 15),
    SvcAttr.FLAGS: AttrSpec("FLAGS", _K.FLAGS, 8),
    SvcAttr.TIMEOUT: AttrSpec("TIMEOUT", _K.U32, 4),
    SvcAttr.NETMASK: AttrSpec("NETMASK", _K.RAW4, 4),
    SvcAttr.STATS: AttrSpec("STATS", _K.NESTED, 0),
    SvcAttr.PE_NAME: AttrSpec("PE_NAME", _K.STRING, 16),
    SvcAttr.STATS64: AttrSpec("STATS64", _K.NESTED, 0),
}

#: Destination nest policy (``ip_vs_dest_policy``), plus the output-only STATS64.
DEST_POLICY: Mapping[int, AttrSpec] = {
    DestAttr.ADDR: AttrSpec("ADDR", _K.BINARY, 16),
    DestAttr.PORT: AttrSpec("PORT", _K.BE16, 2),
    DestAttr.FWD_METHOD: AttrSpec("FWD_METHOD", _K.U32, 4),
    DestAttr.WEIGHT: AttrSpec("WEIGHT", _K.U32, 4),
    DestAttr.U_THRESH: AttrSpec("U_THRESH", _K.U32, 4),
    DestAttr.L_THRESH: AttrSpec("L_THRESH", _K.U32, 4),
    DestAttr.ACTIVE_CONNS: AttrSpec("ACTIVE_CONNS", _K.U32, 4),
    DestAttr.INACT_CONNS: AttrSpec("INACT_CONNS", _K.U32, 4),
    DestAttr.PERSIST_CONNS: AttrSpec("PERSIST_CONNS", _K.U32, 4),
    DestAttr.STATS: AttrSpec("STATS", _K.NESTED, 0),
    DestAttr.ADDR_FAMILY: AttrSpec("ADDR_FAMILY", _K.U16, 2),
    DestAttr.STATS64: AttrSpec("STATS64", _K.NESTED, 0),
    DestAttr.TUN_TYPE: AttrSpec("TUN_TYPE", _K.U8, 1),
    DestAttr.TUN_PORT: AttrSpec("TUN_PORT", _K.BE16, 2),
    DestAttr.TUN_FLAGS: AttrSpec("TUN_FLAGS", _K.U16, 2),
}

#: Sync daemon nest policy (``ip_vs_daemon_policy``).
DAEMON_POLICY: Mapping[int, AttrSpec] = {
    DaemonAttr.STATE: AttrSpec("STATE", _K.U32, 4),
    DaemonAttr.MCAST_IFN: AttrSpec("MCAST_IFN", _K.STRING, 15),
    DaemonAttr.SYNC_ID: AttrSpec("SYNC_ID", _K.U32, 4),
    DaemonAttr.SYNC_MAXLEN: AttrSpec("SYNC_MAXLEN", _K.U16, 2),
    DaemonAttr.MCAST_GROUP: AttrSpec("MCAST_GROUP", _K.RAW4, 4),
    DaemonAttr.MCAST_GROUP6: AttrSpec("MCAST_GROUP6", _K.MIN_BINARY, 16),
    DaemonAttr.MCAST_PORT: AttrSpec("MCAST_PORT", _K.U16, 2),
    DaemonAttr.MCAST_TTL: AttrSpec("MCAST_TTL", _K.U8, 1),
}

#: ``IPVS_*_ATTR_STATS``: 32-bit counters except the byte counts. PAD (11) is skipped.
STATS_POLICY: Mapping[int, AttrSpec] = {
    StatsAttr.CONNS: AttrSpec("CONNS", _K.U32, 4),
    StatsAttr.INPKTS: AttrSpec("INPKTS", _K.U32, 4),
    StatsAttr.OUTPKTS: AttrSpec("OUTPKTS", _K.U32, 4),
    StatsAttr.INBYTES: AttrSpec("INBYTES", _K.U64, 8),
    StatsAttr.OUTBYTES: AttrSpec("OUTBYTES", _K.U64, 8),
    StatsAttr.CPS: AttrSpec("CPS", _K.U32, 4),
    StatsAttr.INPPS: AttrSpec("INPPS", _K.U32, 4),
    StatsAttr.OUTPPS: AttrSpec("OUTPPS", _K.U32, 4),
    StatsAttr.INBPS: AttrSpec("INBPS", _K.U32, 4),
    StatsAttr.OUTBPS: AttrSpec("OUTBPS", _K.U32, 4),
}

#: ``IPVS_*_ATTR_STATS64``: all ten values are u64. PAD (11) is skipped.
STATS64_POLICY: Mapping[int, AttrSpec] = {
    t: AttrSpec(spec.name, _K.U64, 8) for t, spec in STATS_POLICY.items()
}

#: Top-level attributes of the ``GET_INFO`` reply.
INFO_POLICY: Mapping[int, AttrSpec] = {
    InfoAttr.VERSION: AttrSpec("VERSION", _K.U32, 4),
    InfoAttr.CONN_TAB_SIZE: AttrSpec("CONN_TAB_SIZE", _K.U32, 4),
}

#: Every policy table by name.
POLICIES: Mapping[str, Mapping[int, AttrSpec]] = {
    "cmd": CMD_POLICY,
    "service": SVC_POLICY,
    "dest": DEST_POLICY,
    "daemon": DAEMON_POLICY,
    "stats": STATS_POLICY,
    "stats64": STATS64_POLICY,
    "info": INFO_POLICY,
}

# --------------------------------------------------------------------------
# Generic, table-driven attribute reading
# --------------------------------------------------------------------------

_U8 = struct.Struct("=B")
_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_BE16 = struct.Struct("!H")
_FLAGS = struct.Struct("=II")


def _read_int(st: struct.Struct) -> Callable[[memoryview, AttrSpec], Any]:
    unpack = st.unpack_from

    def read(mv: memoryview, spec: AttrSpec) -> Any:
        if len(mv) < st.size:  # longer is accepted, as by the kernel
            raise DecodeError(f"attribute {spec.name} is too short ({len(mv)} bytes)")
        return unpack(mv)[0]

    return read


def _read_binary(mv: memoryview, spec: AttrSpec) -> bytes:
    if len(mv) > spec.size:
        raise DecodeError(f"attribute {spec.name} is too long ({len(mv)} bytes)")
    return bytes(mv).ljust(spec.size, b"\0")


def _read_min_binary(mv: memoryview, spec: AttrSpec) -> bytes:
    if len(mv) < spec.size:
        raise DecodeError(f"attribute {spec.name} is too short ({len(mv)} bytes)")
    return bytes(mv[: spec.size])


def _read_raw4(mv: memoryview, spec: AttrSpec) -> bytes:
    if len(mv) < 4:
        raise DecodeError(f"attribute {spec.name} is too short ({len(mv)} bytes)")
    return bytes(mv[:4])


def _read_string(mv: memoryview, spec: AttrSpec) -> str:
    raw = bytes(mv)
    end = raw.find(b"\0")
    if end < 0:
        raise DecodeError(f"attribute {spec.name} is not NUL-terminated")
    if end > spec.size:
        raise DecodeError(f"attribute {spec.name} is longer than {spec.size} bytes")
    try:
        return raw[:end].decode()
    except UnicodeDecodeError:
        raise DecodeError(f"attribute {spec.name} is not valid UTF-8") from None


def _read_flags(mv: memoryview, spec: AttrSpec) -> tuple[int, int]:
    if len(mv) > 8:
        raise DecodeError(f"attribute {spec.name} is too long ({len(mv)} bytes)")
    flags: tuple[int, int] = _FLAGS.unpack(bytes(mv).ljust(8, b"\0"))
    return flags


def _read_nested(mv: memoryview, spec: AttrSpec) -> memoryview:
    return mv


_READERS: dict[Kind, Callable[[memoryview, AttrSpec], Any]] = {
    Kind.U8: _read_int(_U8),
    Kind.U16: _read_int(_U16),
    Kind.U32: _read_int(_U32),
    Kind.U64: _read_int(_U64),
    Kind.BE16: _read_int(_BE16),
    Kind.BINARY: _read_binary,
    Kind.MIN_BINARY: _read_min_binary,
    Kind.RAW4: _read_raw4,
    Kind.STRING: _read_string,
    Kind.FLAGS: _read_flags,
    Kind.NESTED: _read_nested,
}


def _decode_nest(area: memoryview, policy: Mapping[int, AttrSpec]) -> dict[int, Any]:
    """Parse an attribute area and convert known attributes by the policy table."""
    values: dict[int, Any] = {}
    for atype, payload in parse_attrs(area).items():
        spec = policy.get(atype)
        if spec is not None:  # unknown types are tolerated and ignored
            values[atype] = _READERS[spec.kind](payload, spec)
    return values


def _need(values: dict[int, Any], atype: int, policy: Mapping[int, AttrSpec]) -> Any:
    try:
        return values[atype]
    except KeyError:
        raise DecodeError(f"attribute {policy[atype].name} is missing") from None


_P = ParamSpec("_P")
_R = TypeVar("_R")

_CONVERTIBLE = (
    ValueError,  # includes ValidationError, UnicodeDecodeError
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    struct.error,
)


def _decoder(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn every exception a decoder can hit on bad input into DecodeError."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except DecodeError:
            raise
        except _CONVERTIBLE as exc:
            raise DecodeError(f"{func.__name__}: {exc}") from exc

    return wrapper


# --------------------------------------------------------------------------
# Model conversions
# --------------------------------------------------------------------------


def _family(value: int) -> Family:
    try:
        return Family(value)
    except ValueError:
        raise DecodeError(f"unsupported address family {value}") from None


def _address(family: int, raw: bytes) -> IPv4Address | IPv6Address:
    if family == Family.INET:
        return IPv4Address(raw[:4])
    if family == Family.INET6:
        return IPv6Address(raw)
    raise DecodeError(f"unsupported address family {family}")


def _stats_from(area: memoryview, policy: Mapping[int, AttrSpec]) -> Stats:
    v = _decode_nest(area, policy)
    g = v.get
    return _unchecked_stats(*(g(t, 0) for t in range(1, 11)))


def _stats_of(values: dict[int, Any], stats64: int, stats32: int) -> Stats | None:
    area = values.get(stats64)
    if area is not None:
        return _stats_from(area, STATS64_POLICY)
    area = values.get(stats32)
    if area is not None:
        return _stats_from(area, STATS_POLICY)
    return None


def _key_from(v: dict[int, Any]) -> ServiceKey:
    family = _family(_need(v, SvcAttr.AF, SVC_POLICY))
    fwmark = v.get(SvcAttr.FWMARK)
    if fwmark is not None:
        return ServiceKey(family=family, fwmark=fwmark)
    protocol = _need(v, SvcAttr.PROTOCOL, SVC_POLICY)
    raw = _need(v, SvcAttr.ADDR, SVC_POLICY)
    port = _need(v, SvcAttr.PORT, SVC_POLICY)
    try:
        protocol = Protocol(protocol)
    except ValueError:
        raise DecodeError(f"unsupported protocol {protocol}") from None
    return ServiceKey(family=family, protocol=protocol, address=_address(family, raw), port=port)


# plain ints: ~ServiceFlags.HASHED would only complement the *known* bits on Python >= 3.11
_NOT_HASHED = 0xFFFFFFFF & ~int(ServiceFlags.HASHED)


def _service_from(v: dict[int, Any]) -> Service:
    key = _key_from(v)
    sched = _need(v, SvcAttr.SCHED_NAME, SVC_POLICY)
    flags, mask = _need(v, SvcAttr.FLAGS, SVC_POLICY)
    timeout = _need(v, SvcAttr.TIMEOUT, SVC_POLICY)
    raw_mask = _need(v, SvcAttr.NETMASK, SVC_POLICY)
    netmask: IPv4Address | int = (
        IPv4Address(raw_mask) if key.family == Family.INET else _U32.unpack(raw_mask)[0]
    )
    pe_name = v.get(SvcAttr.PE_NAME) or None
    return Service(
        key=key,
        scheduler=sched,
        flags=ServiceFlags(flags & mask & _NOT_HASHED),
        timeout=timeout,
        netmask=netmask,
        pe_name=pe_name,
        stats=_stats_of(v, SvcAttr.STATS64, SvcAttr.STATS),
    )


def _destination_from(v: dict[int, Any], service_family: int) -> Destination:
    family = v.get(DestAttr.ADDR_FAMILY) or service_family
    address = _address(family, _need(v, DestAttr.ADDR, DEST_POLICY))
    try:
        forward = ForwardMethod(_need(v, DestAttr.FWD_METHOD, DEST_POLICY))
        tunnel_type = TunnelType(v.get(DestAttr.TUN_TYPE, 0))
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    return Destination(
        address=address,
        port=_need(v, DestAttr.PORT, DEST_POLICY),
        forward=forward,
        weight=_need(v, DestAttr.WEIGHT, DEST_POLICY),
        upper_threshold=_need(v, DestAttr.U_THRESH, DEST_POLICY),
        lower_threshold=_need(v, DestAttr.L_THRESH, DEST_POLICY),
        tunnel_type=tunnel_type,
        tunnel_port=v.get(DestAttr.TUN_PORT, 0),
        tunnel_flags=TunnelFlags(v.get(DestAttr.TUN_FLAGS, 0)),
        active_connections=v.get(DestAttr.ACTIVE_CONNS, 0),
        inactive_connections=v.get(DestAttr.INACT_CONNS, 0),
        persistent_connections=v.get(DestAttr.PERSIST_CONNS, 0),
        stats=_stats_of(v, DestAttr.STATS64, DestAttr.STATS),
    )


def _daemon_from(v: dict[int, Any]) -> SyncDaemon:
    group: IPv4Address | IPv6Address | None = None
    if DaemonAttr.MCAST_GROUP in v:  # GROUP wins over GROUP6, as in the kernel
        group = IPv4Address(v[DaemonAttr.MCAST_GROUP])
    elif DaemonAttr.MCAST_GROUP6 in v:
        group = IPv6Address(v[DaemonAttr.MCAST_GROUP6])
    return SyncDaemon(
        state=_need(v, DaemonAttr.STATE, DAEMON_POLICY),
        interface=_need(v, DaemonAttr.MCAST_IFN, DAEMON_POLICY),
        sync_id=_need(v, DaemonAttr.SYNC_ID, DAEMON_POLICY),
        max_length=v.get(DaemonAttr.SYNC_MAXLEN, 0),
        group=group,
        port=v.get(DaemonAttr.MCAST_PORT, 0),
        ttl=v.get(DaemonAttr.MCAST_TTL, 0),
    )


def _top_nest(area: memoryview, atype: CmdAttr) -> dict[int, Any]:
    top = parse_attrs(area)
    nest = top.get(atype)
    if nest is None:
        raise DecodeError(f"reply lacks the {atype.name} nest")
    return {atype: nest}


# --------------------------------------------------------------------------
# Reply decoders
# --------------------------------------------------------------------------


@_decoder
def decode_service(attrs_area: memoryview | bytes) -> Service:
    """Decode a service reply (``NEW_SERVICE`` from ``GET_SERVICE``).

    ``HASHED`` is removed from the flags. Statistics come from ``STATS64``
    when present, else from ``STATS``.

    Args:
        attrs_area: the message payload after the genl header.

    Returns:
        The service, with :attr:`Service.stats` filled in.

    Raises:
        DecodeError: the message is malformed.
    """
    nest = _top_nest(memoryview(attrs_area), CmdAttr.SERVICE)[CmdAttr.SERVICE]
    return _service_from(_decode_nest(nest, SVC_POLICY))


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
        expected.append(_U32.unpack(_NLA_HDR.pack(length, atype))[0])
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


_NLA_HDR = struct.Struct("=HH")
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


def _dest_fast(area: memoryview | bytes) -> Destination | None:
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
    return _unchecked_destination(
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
        _unchecked_stats(*vals[stats]),
    )


def decode_destination(attrs_area: memoryview | bytes, service_family: int) -> Destination:
    """Decode a destination reply (``NEW_DEST`` from a ``GET_DEST`` dump).

    The kernel's usual message layout is decoded with a single precompiled
    struct; anything else goes through the table-driven parser.

    Args:
        attrs_area: the message payload after the genl header.
        service_family: the family of the service the dump was for; used
            when the message lacks ``ADDR_FAMILY`` (or it is 0).

    Returns:
        The destination, with connection counters and statistics filled in.

    Raises:
        DecodeError: the message is malformed.
    """
    try:
        if len(attrs_area) in _DEST_LAYOUTS:
            dest = _dest_fast(attrs_area)
            if dest is not None:
                return dest
        nest = _top_nest(memoryview(attrs_area), CmdAttr.DEST)[CmdAttr.DEST]
        return _destination_from(_decode_nest(nest, DEST_POLICY), service_family)
    except DecodeError:
        raise
    except _CONVERTIBLE as exc:
        raise DecodeError(f"decode_destination: {exc}") from exc


@_decoder
def decode_daemon(attrs_area: memoryview | bytes) -> SyncDaemon:
    """Decode a sync daemon reply (``NEW_DAEMON`` from a ``GET_DAEMON`` dump).

    Args:
        attrs_area: the message payload after the genl header.

    Returns:
        The daemon (values absent from old kernels are 0 or None).

    Raises:
        DecodeError: the message is malformed.
    """
    nest = _top_nest(memoryview(attrs_area), CmdAttr.DAEMON)[CmdAttr.DAEMON]
    return _daemon_from(_decode_nest(nest, DAEMON_POLICY))


@_decoder
def decode_timeouts(attrs_area: memoryview | bytes) -> Timeouts:
    """Decode a ``GET_CONFIG`` reply (command ``SET_CONFIG``).

    Args:
        attrs_area: the message payload after the genl header.

    Returns:
        The timeouts; a value the kernel did not send is 0.

    Raises:
        DecodeError: the message is malformed.
    """
    v = _decode_nest(memoryview(attrs_area), CMD_POLICY)
    return Timeouts(
        tcp=v.get(CmdAttr.TIMEOUT_TCP, 0),
        tcp_fin=v.get(CmdAttr.TIMEOUT_TCP_FIN, 0),
        udp=v.get(CmdAttr.TIMEOUT_UDP, 0),
    )


@_decoder
def decode_info(attrs_area: memoryview | bytes) -> Info:
    """Decode a ``GET_INFO`` reply (command ``SET_INFO``).

    Args:
        attrs_area: the message payload after the genl header.

    Returns:
        The info.

    Raises:
        DecodeError: the message is malformed or lacks an attribute.
    """
    v = _decode_nest(memoryview(attrs_area), INFO_POLICY)
    return Info.from_code(
        _need(v, InfoAttr.VERSION, INFO_POLICY), _need(v, InfoAttr.CONN_TAB_SIZE, INFO_POLICY)
    )


# --------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------

_NLA = struct.Struct("=HH")
_SVC_KEY_ADDR = struct.Struct("=HH HHH2x HHH2x HH16s HHBB2x")
_SVC_KEY_MARK = struct.Struct("=HH HHH2x HHI")
_ADDR_IDENTITY_LEN = 44  # AF(8) + PROTOCOL(8) + ADDR(20) + PORT(8)
_MARK_IDENTITY_LEN = 16  # AF(8) + FWMARK(8)
_DEST_NEST_LEN = 96
_DEST_FMT = "HH HHH2x HH16s HHBB2x HHI HHI HHB3x HHBB2x HHH2x HHI HHI"
_DEST_MSG: dict[int, struct.Struct] = {}


def _key_of(obj: Service | ServiceKey) -> ServiceKey:
    if isinstance(obj, Service):
        return obj.key
    if isinstance(obj, ServiceKey):
        return obj
    raise ValidationError(f"expected a Service or ServiceKey, got {obj!r}")


def encode_service_key_nest(service: Service | ServiceKey) -> bytes:
    """Encode the identity-only ``SERVICE`` nest (header included).

    The result is what identity-only commands carry (``DEL_SERVICE``,
    ``GET_SERVICE``, ``ZERO``, the destination commands) and can be reused
    for many destination messages of one service (see :func:`encode_dest_msg`).

    Args:
        service: the service or its key.

    Returns:
        ``AF`` plus ``FWMARK``, or plus ``PROTOCOL``, ``ADDR`` (16 bytes) and
        ``PORT`` (big-endian), inside a ``SERVICE`` attribute.
    """
    key = _key_of(service)
    if key.fwmark is not None:
        return _SVC_KEY_MARK.pack(
            20, CmdAttr.SERVICE, 6, SvcAttr.AF, key.family, 8, SvcAttr.FWMARK, key.fwmark
        )
    assert key.address is not None and key.port is not None and key.protocol is not None
    port = key.port
    return _SVC_KEY_ADDR.pack(
        48,
        CmdAttr.SERVICE,
        6,
        SvcAttr.AF,
        key.family,
        6,
        SvcAttr.PROTOCOL,
        key.protocol,
        20,
        SvcAttr.ADDR,
        key.address.packed,
        6,
        SvcAttr.PORT,
        port >> 8,
        port & 0xFF,
    )


def _string(value: str) -> bytes:
    return value.encode() + b"\0"


def encode_service_nest(service: Service) -> bytes:
    """Encode the full ``SERVICE`` nest sent by ``NEW_SERVICE``/``SET_SERVICE``.

    Contents: identity, ``SCHED_NAME``, ``PE_NAME`` (if set),
    ``FLAGS`` ``{flags, 0xffffffff}``, ``TIMEOUT``, ``NETMASK``. A
    ``SET_SERVICE`` without ``PE_NAME`` removes any persistence engine.

    Args:
        service: the service.

    Returns:
        The ``SERVICE`` attribute (header included).
    """
    body = encode_service_key_nest(service)[4:]
    parts = [body, attr(SvcAttr.SCHED_NAME, _string(service.scheduler))]
    if service.pe_name is not None:
        parts.append(attr(SvcAttr.PE_NAME, _string(service.pe_name)))
    parts.append(attr(SvcAttr.FLAGS, _FLAGS.pack(service.flags, 0xFFFFFFFF)))
    parts.append(attr(SvcAttr.TIMEOUT, _U32.pack(service.timeout)))
    netmask = service.netmask
    raw = netmask.packed if isinstance(netmask, IPv4Address) else _U32.pack(netmask)
    parts.append(attr(SvcAttr.NETMASK, raw))
    return attr(CmdAttr.SERVICE, b"".join(parts))


def _dest_struct(svc_len: int) -> struct.Struct:
    st = _DEST_MSG.get(svc_len)
    if st is None:
        st = _DEST_MSG[svc_len] = struct.Struct(f"=IHHIIBBH{svc_len}s{_DEST_FMT}")
    return st


def encode_dest_msg(
    family_id: int, cmd: int, seq: int, flags: int, svc_nest: bytes, dest: Destination
) -> bytes:
    """Encode a destination command with a pre-encoded service nest.

    The destination nest always carries ``ADDR_FAMILY``, ``ADDR`` (16 bytes),
    ``PORT``, ``FWD_METHOD``, ``WEIGHT``, ``TUN_TYPE``, ``TUN_PORT``,
    ``TUN_FLAGS``, ``U_THRESH`` and ``L_THRESH``; the whole message is built
    by one ``struct.pack`` call.

    Args:
        family_id: the IPVS family id.
        cmd: :attr:`Command.NEW_DEST`, :attr:`Command.SET_DEST` or
            :attr:`Command.DEL_DEST`.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        svc_nest: the result of :func:`encode_service_key_nest`.
        dest: the destination.

    Returns:
        The message bytes.
    """
    st = _DEST_MSG.get(len(svc_nest)) or _dest_struct(len(svc_nest))
    port = dest.port
    tport = dest.tunnel_port
    return st.pack(
        st.size,
        family_id,
        flags,
        seq,
        0,
        cmd,
        1,
        0,
        svc_nest,
        96,
        2,  # DEST nest
        6,
        11,
        dest.family,  # ADDR_FAMILY
        20,
        1,
        dest.address.packed,  # ADDR, zero-filled to 16 bytes
        6,
        2,
        port >> 8,
        port & 0xFF,  # PORT, big-endian
        8,
        3,
        dest.forward,
        8,
        4,
        dest.weight,
        5,
        13,
        dest.tunnel_type,
        6,
        14,
        tport >> 8,
        tport & 0xFF,  # TUN_PORT, big-endian
        6,
        15,
        dest.tunnel_flags,
        8,
        5,
        dest.upper_threshold,
        8,
        6,
        dest.lower_threshold,
    )


_dest_struct(48)
_dest_struct(20)


def _svc_msg(
    family_id: int, cmd: Command, seq: int, flags: int, service: Service | ServiceKey | None
) -> bytes:
    body = b"" if service is None else encode_service_key_nest(service)
    return encode_genl(family_id, cmd, flags, seq, body)


def encode_new_service(family_id: int, seq: int, flags: int, service: Service) -> bytes:
    """Encode ``NEW_SERVICE`` (add a virtual service).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service to add.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.NEW_SERVICE, flags, seq, encode_service_nest(service))


def encode_set_service(family_id: int, seq: int, flags: int, service: Service) -> bytes:
    """Encode ``SET_SERVICE`` (replace a service's settings).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service's new description (identity and settings).

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.SET_SERVICE, flags, seq, encode_service_nest(service))


def encode_del_service(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey
) -> bytes:
    """Encode ``DEL_SERVICE`` (identity only).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service or its key.

    Returns:
        The message bytes.
    """
    return _svc_msg(family_id, Command.DEL_SERVICE, seq, flags, service)


def encode_get_service(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey
) -> bytes:
    """Encode a ``GET_SERVICE`` doit request for one service.

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST``.
        service: the service or its key.

    Returns:
        The message bytes.
    """
    return _svc_msg(family_id, Command.GET_SERVICE, seq, flags, service)


def encode_get_services(family_id: int, seq: int, flags: int = REQUEST_DUMP) -> bytes:
    """Encode a ``GET_SERVICE`` dump request (all services).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags; must include ``NLM_F_DUMP``.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.GET_SERVICE, flags, seq)


def encode_new_dest(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey, dest: Destination
) -> bytes:
    """Encode ``NEW_DEST`` (add a destination to a service).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service or its key.
        dest: the destination.

    Returns:
        The message bytes.
    """
    return encode_dest_msg(
        family_id, Command.NEW_DEST, seq, flags, encode_service_key_nest(service), dest
    )


def encode_set_dest(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey, dest: Destination
) -> bytes:
    """Encode ``SET_DEST`` (replace a destination's settings).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service or its key.
        dest: the destination's new description.

    Returns:
        The message bytes.
    """
    return encode_dest_msg(
        family_id, Command.SET_DEST, seq, flags, encode_service_key_nest(service), dest
    )


def encode_del_dest(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey, dest: Destination
) -> bytes:
    """Encode ``DEL_DEST`` (the full destination nest is sent, as ipvsadm does).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service or its key.
        dest: the destination.

    Returns:
        The message bytes.
    """
    return encode_dest_msg(
        family_id, Command.DEL_DEST, seq, flags, encode_service_key_nest(service), dest
    )


def encode_get_dests(family_id: int, seq: int, flags: int, service: Service | ServiceKey) -> bytes:
    """Encode a ``GET_DEST`` dump request for one service's destinations.

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags; must include ``NLM_F_DUMP``.
        service: the service or its key.

    Returns:
        The message bytes.
    """
    return _svc_msg(family_id, Command.GET_DEST, seq, flags, service)


def _daemon_nest(daemon: SyncDaemon | DaemonState) -> bytes:
    if not isinstance(daemon, SyncDaemon):
        state = daemon if isinstance(daemon, DaemonState) else DaemonState(daemon)
        return attr(CmdAttr.DAEMON, attr(DaemonAttr.STATE, _U32.pack(state)))
    parts = [
        attr(DaemonAttr.STATE, _U32.pack(daemon.state)),
        attr(DaemonAttr.MCAST_IFN, _string(daemon.interface)),
        attr(DaemonAttr.SYNC_ID, _U32.pack(daemon.sync_id)),
    ]
    if daemon.max_length:
        parts.append(attr(DaemonAttr.SYNC_MAXLEN, _U16.pack(daemon.max_length)))
    if isinstance(daemon.group, IPv4Address):
        parts.append(attr(DaemonAttr.MCAST_GROUP, daemon.group.packed))
    elif isinstance(daemon.group, IPv6Address):
        parts.append(attr(DaemonAttr.MCAST_GROUP6, daemon.group.packed))
    if daemon.port:
        parts.append(attr(DaemonAttr.MCAST_PORT, _U16.pack(daemon.port)))  # host order!
    if daemon.ttl:
        parts.append(attr(DaemonAttr.MCAST_TTL, _U8.pack(daemon.ttl)))
    return attr(CmdAttr.DAEMON, b"".join(parts))


def encode_new_daemon(family_id: int, seq: int, flags: int, daemon: SyncDaemon) -> bytes:
    """Encode ``NEW_DAEMON`` (start a sync daemon).

    ``STATE``, ``MCAST_IFN`` and ``SYNC_ID`` are always sent;
    ``SYNC_MAXLEN``, ``MCAST_PORT`` (host order) and ``MCAST_TTL`` only when
    non-zero; ``MCAST_GROUP``/``MCAST_GROUP6`` when a group is given.

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        daemon: the daemon.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.NEW_DAEMON, flags, seq, _daemon_nest(daemon))


def encode_del_daemon(
    family_id: int, seq: int, flags: int, daemon: SyncDaemon | DaemonState
) -> bytes:
    """Encode ``DEL_DAEMON`` (stop a sync daemon).

    Given a :class:`SyncDaemon`, its full nest is sent (the kernel uses only
    ``STATE``); given a :class:`DaemonState`, only ``STATE`` is sent.

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        daemon: the daemon, or just its state.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.DEL_DAEMON, flags, seq, _daemon_nest(daemon))


def encode_get_daemons(family_id: int, seq: int, flags: int = REQUEST_DUMP) -> bytes:
    """Encode a ``GET_DAEMON`` dump request.

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags; must include ``NLM_F_DUMP``.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.GET_DAEMON, flags, seq)


def encode_set_config(family_id: int, seq: int, flags: int, timeouts: Timeouts) -> bytes:
    """Encode ``SET_CONFIG`` (set timeouts; 0 leaves a value unchanged).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        timeouts: the timeouts; all three are sent.

    Returns:
        The message bytes.
    """
    body = (
        attr(CmdAttr.TIMEOUT_TCP, _U32.pack(timeouts.tcp))
        + attr(CmdAttr.TIMEOUT_TCP_FIN, _U32.pack(timeouts.tcp_fin))
        + attr(CmdAttr.TIMEOUT_UDP, _U32.pack(timeouts.udp))
    )
    return encode_genl(family_id, Command.SET_CONFIG, flags, seq, body)


def encode_get_config(family_id: int, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    """Encode ``GET_CONFIG`` (read timeouts).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags (no ``NLM_F_DUMP``).

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.GET_CONFIG, flags, seq)


def encode_get_info(family_id: int, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    """Encode ``GET_INFO`` (version and connection table size).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags (no ``NLM_F_DUMP``).

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.GET_INFO, flags, seq)


def encode_zero(
    family_id: int, seq: int, flags: int, service: Service | ServiceKey | None = None
) -> bytes:
    """Encode ``ZERO`` (reset counters of one service, or of everything).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags, normally ``NLM_F_REQUEST | NLM_F_ACK``.
        service: the service to zero, or None for all.

    Returns:
        The message bytes.
    """
    return _svc_msg(family_id, Command.ZERO, seq, flags, service)


def encode_flush(family_id: int, seq: int, flags: int = REQUEST_ACK) -> bytes:
    """Encode ``FLUSH`` (delete every service).

    Args:
        family_id: the IPVS family id.
        seq: the sequence number.
        flags: netlink flags.

    Returns:
        The message bytes.
    """
    return encode_genl(family_id, Command.FLUSH, flags, seq)


# --------------------------------------------------------------------------
# Request decoding (for tests and tools)
# --------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Request:
    """A decoded IPVS request message.

    Attributes:
        command: the genl command.
        family_id: the ``nlmsg_type``.
        flags: the ``nlmsg_flags``.
        seq: the sequence number.
        service: the full :class:`Service` for ``NEW_SERVICE``/``SET_SERVICE``,
            a :class:`ServiceKey` for commands that carry an identity, else None.
        destination: the destination of ``NEW_DEST``/``SET_DEST``/``DEL_DEST``.
        daemon: the daemon of ``NEW_DAEMON``/``DEL_DAEMON`` (a bare
            :class:`DaemonState` when only ``STATE`` was sent).
        timeouts: the timeouts of ``SET_CONFIG``.
    """

    command: Command
    family_id: int = 0
    flags: int = 0
    seq: int = 0
    service: Service | ServiceKey | None = None
    destination: Destination | None = None
    daemon: SyncDaemon | DaemonState | None = None
    timeouts: Timeouts | None = None


_FULL_SERVICE = (Command.NEW_SERVICE, Command.SET_SERVICE)
_DEST_CMDS = (Command.NEW_DEST, Command.SET_DEST, Command.DEL_DEST)
_DAEMON_CMDS = (Command.NEW_DAEMON, Command.DEL_DAEMON)


@_decoder
def decode_request(msg: bytes | bytearray | memoryview) -> Request:
    """Decode one request message as produced by the encoders in this module.

    Args:
        msg: exactly one complete netlink message.

    Returns:
        The decoded request.

    Raises:
        DecodeError: the bytes are malformed, hold more or fewer than one
            message, or lack what the command requires.
    """
    messages = list(iter_messages(msg))
    if len(messages) != 1:
        raise DecodeError(f"expected one message, got {len(messages)}")
    m = messages[0]
    cmd, _, area = split_genl(m.payload)
    try:
        command = Command(cmd)
    except ValueError:
        raise DecodeError(f"unknown IPVS command {cmd}") from None
    top = _decode_nest(area, CMD_POLICY)
    service: Service | ServiceKey | None = None
    destination = None
    daemon: SyncDaemon | DaemonState | None = None
    timeouts = None
    svc_area = top.get(CmdAttr.SERVICE)
    if command in _FULL_SERVICE:
        svc_area = _need(top, CmdAttr.SERVICE, CMD_POLICY)
        service = _service_from(_decode_nest(svc_area, SVC_POLICY))
    elif svc_area is not None:
        service = _key_from(_decode_nest(svc_area, SVC_POLICY))
    if command in _DEST_CMDS:
        if service is None:
            raise DecodeError(f"{command.name} lacks the SERVICE nest")
        dest_area = _need(top, CmdAttr.DEST, CMD_POLICY)
        destination = _destination_from(_decode_nest(dest_area, DEST_POLICY), service.family)
    elif command in _DAEMON_CMDS:
        values = _decode_nest(_need(top, CmdAttr.DAEMON, CMD_POLICY), DAEMON_POLICY)
        if command == Command.DEL_DAEMON and DaemonAttr.MCAST_IFN not in values:
            daemon = DaemonState(_need(values, DaemonAttr.STATE, DAEMON_POLICY))
        else:
            daemon = _daemon_from(values)
    elif command == Command.SET_CONFIG:
        timeouts = Timeouts(
            tcp=top.get(CmdAttr.TIMEOUT_TCP, 0),
            tcp_fin=top.get(CmdAttr.TIMEOUT_TCP_FIN, 0),
            udp=top.get(CmdAttr.TIMEOUT_UDP, 0),
        )
    return Request(
        command=command,
        family_id=m.type,
        flags=m.flags,
        seq=m.seq,
        service=service,
        destination=destination,
        daemon=daemon,
        timeouts=timeouts,
    )
