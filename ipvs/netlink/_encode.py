"""Encoders: model objects into complete IPVS request messages.

Every encoder takes the IPVS family id, a sequence number and the netlink
flags (usually :data:`~ipvs.netlink.REQUEST_ACK`, or ``NLM_F_REQUEST`` alone
for pipelined writes, or :data:`~ipvs.netlink.REQUEST_DUMP`), then the
objects, and returns the message bytes. Encoders use the kernel's names
(``encode_new_dest``); the clients use domain names (``add_destination``).
:class:`~ipvs.netlink.Conversation` fills in family, sequence and flags.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from ipvs._model import DaemonState, Destination, Service, ServiceKey, SyncDaemon, Timeouts
from ipvs._model._checks import V6_BIT, ip_int
from ipvs.errors import ValidationError
from ipvs.netlink._framing import FLAGS, NLM_F_REQUEST, U8, U16, U32, attr, encode_genl
from ipvs.netlink._schema import (
    REQUEST_ACK,
    REQUEST_DUMP,
    CmdAttr,
    Command,
    DaemonAttr,
    SvcAttr,
)

__all__ = [
    "encode_del_daemon",
    "encode_del_dest",
    "encode_del_service",
    "encode_dest",
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

_ADDR128 = (1 << 128) - 1
_SVC_KEY_ADDR = struct.Struct("=HH HHH2x HHH2x HH16s HHBB2x")
_SVC_KEY_MARK = struct.Struct("=HH HHH2x HHI")
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
    for many destination messages of one service (see :func:`encode_dest`).

    Args:
        service: the service or its key.

    Returns:
        ``AF`` plus ``FWMARK``, or plus ``PROTOCOL``, ``ADDR`` (16 bytes) and
        ``PORT`` (big-endian), inside a ``SERVICE`` attribute.
    """
    key = service.key if service.__class__ is Service else _key_of(service)
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
        _packed(ip_int(key.address), key.family),
        6,
        SvcAttr.PORT,
        port >> 8,
        port & 0xFF,
    )


def _packed(ip: int, family: int) -> bytes:
    """An address's bytes from its integer (the struct pads IPv4 to 16 bytes with zeros)."""
    return ip.to_bytes(4, "big") if family == 2 else (ip & _ADDR128).to_bytes(16, "big")


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
    parts.append(attr(SvcAttr.FLAGS, FLAGS.pack(service.flags, 0xFFFFFFFF)))
    parts.append(attr(SvcAttr.TIMEOUT, U32.pack(service.timeout)))
    netmask = service.netmask
    raw = netmask.packed if isinstance(netmask, IPv4Address) else U32.pack(netmask)
    parts.append(attr(SvcAttr.NETMASK, raw))
    return attr(CmdAttr.SERVICE, b"".join(parts))


def _dest_struct(svc_len: int) -> struct.Struct:
    st = _DEST_MSG.get(svc_len)
    if st is None:
        st = _DEST_MSG[svc_len] = struct.Struct(f"=IHHIIBBH{svc_len}s{_DEST_FMT}")
    return st


def encode_dest(
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
    ip = dest._ip
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
        # ADDR, zero-filled to 16 bytes; the integer has V6_BIT above an IPv6 address
        ip.to_bytes(4, "big") if ip < V6_BIT else (ip & _ADDR128).to_bytes(16, "big"),
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
    return encode_dest(
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
    return encode_dest(
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
    return encode_dest(
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
        return attr(CmdAttr.DAEMON, attr(DaemonAttr.STATE, U32.pack(state)))
    parts = [
        attr(DaemonAttr.STATE, U32.pack(daemon.state)),
        attr(DaemonAttr.MCAST_IFN, _string(daemon.interface)),
        attr(DaemonAttr.SYNC_ID, U32.pack(daemon.sync_id)),
    ]
    if daemon.max_length:
        parts.append(attr(DaemonAttr.SYNC_MAXLEN, U16.pack(daemon.max_length)))
    if isinstance(daemon.group, IPv4Address):
        parts.append(attr(DaemonAttr.MCAST_GROUP, daemon.group.packed))
    elif isinstance(daemon.group, IPv6Address):
        parts.append(attr(DaemonAttr.MCAST_GROUP6, daemon.group.packed))
    if daemon.port:
        parts.append(attr(DaemonAttr.MCAST_PORT, U16.pack(daemon.port)))  # host order!
    if daemon.ttl:
        parts.append(attr(DaemonAttr.MCAST_TTL, U8.pack(daemon.ttl)))
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
        attr(CmdAttr.TIMEOUT_TCP, U32.pack(timeouts.tcp))
        + attr(CmdAttr.TIMEOUT_TCP_FIN, U32.pack(timeouts.tcp_fin))
        + attr(CmdAttr.TIMEOUT_UDP, U32.pack(timeouts.udp))
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
