"""Enumerations of the model: families, protocols, forwarding, tunnels, flags."""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag

__all__ = [
    "DaemonState",
    "Family",
    "ForwardMethod",
    "Protocol",
    "Scheduler",
    "ServiceFlags",
    "TunnelFlags",
    "TunnelType",
]


class Family(IntEnum):
    """Address family of a service or destination (the kernel's ``AF_*`` value)."""

    INET = 2
    INET6 = 10


class Protocol(IntEnum):
    """Transport protocol of a service (``IPPROTO_*``)."""

    TCP = 6
    UDP = 17
    SCTP = 132


class ForwardMethod(IntEnum):
    """Packet-forwarding method of a destination.

    ``ROUTE`` (direct routing, ipvsadm ``-g``) is the default; ``DIRECT`` is an
    alias for it.
    """

    MASQ = 0
    LOCAL = 1
    TUNNEL = 2
    ROUTE = 3
    DIRECT = 3
    BYPASS = 4


class TunnelType(IntEnum):
    """Encapsulation used by a ``TUNNEL`` destination."""

    IPIP = 0
    GUE = 1
    GRE = 2


class TunnelFlags(IntFlag):
    """Checksum options of a GUE or GRE tunnel (``NOCSUM`` is the empty set)."""

    NOCSUM = 0
    CSUM = 1
    REMCSUM = 2


class ServiceFlags(IntFlag):
    """Service flag bits.

    ``SCHED1``/``SCHED2`` mean fallback/port hashing for the ``sh`` and ``mh``
    schedulers and have the aliases ``SH_FALLBACK``, ``SH_PORT``,
    ``MH_FALLBACK`` and ``MH_PORT``. ``HASHED`` is maintained by the kernel
    and cannot be set.
    """

    PERSISTENT = 0x0001
    HASHED = 0x0002
    ONEPACKET = 0x0004
    SCHED1 = 0x0008
    SCHED2 = 0x0010
    SCHED3 = 0x0020
    SH_FALLBACK = 0x0008
    SH_PORT = 0x0010
    MH_FALLBACK = 0x0008
    MH_PORT = 0x0010


class Scheduler(str, Enum):
    """Names of the schedulers shipped with Linux.

    :attr:`Service.scheduler` is a plain string, so any other scheduler name the
    kernel knows is accepted too.
    """

    RR = "rr"
    WRR = "wrr"
    LC = "lc"
    WLC = "wlc"
    LBLC = "lblc"
    LBLCR = "lblcr"
    DH = "dh"
    SH = "sh"
    SED = "sed"
    NQ = "nq"
    FO = "fo"
    OVF = "ovf"
    MH = "mh"
    NONE = "none"


class DaemonState(IntEnum):
    """Role of a connection-synchronisation daemon."""

    MASTER = 1
    BACKUP = 2
