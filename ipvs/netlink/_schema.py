"""The IPVS generic netlink schema: commands, attributes and their policies.

The attribute numbers and wire kinds mirror the kernel's policies in
``net/netfilter/ipvs/ip_vs_ctl.c``. Traps worth remembering: ports and the
tunnel port are big-endian, the daemon's multicast port is host order,
``FLAGS`` is a host-order ``{flags, mask}`` pair, and ``NETMASK`` holds a
network-order IPv4 mask but a host-order IPv6 prefix length.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import NamedTuple

from ipvs.netlink._framing import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST

__all__ = [
    "CMD_POLICY",
    "DAEMON_POLICY",
    "DEST_POLICY",
    "GENL_NAME",
    "GENL_VERSION",
    "INFO_POLICY",
    "POLICIES",
    "REQUEST_ACK",
    "REQUEST_DUMP",
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
    "StatsAttr",
    "SvcAttr",
]

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
