"""Decoders: the kernel's replies (and our own requests) into model objects.

Decoders take the attribute area of a message (the payload after the genl
header, what :attr:`ipvs.netlink.Reply.attrs` holds) and return model objects.
Anything malformed raises :class:`~ipvs.errors.DecodeError`, and nothing else.
Attributes the policy tables do not know are tolerated and ignored.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from ipaddress import IPv4Address, IPv6Address
from typing import Any, ParamSpec, TypeVar

import attrs

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
)
from ipvs._model._trusted import (
    unchecked_destination,
    unchecked_service,
    unchecked_timeouts,
)
from ipvs.errors import DecodeError
from ipvs.netlink._fastpath import dest_fast, is_fast_layout, service_fast, stats_of
from ipvs.netlink._framing import (
    BE16,
    FLAGS,
    U8,
    U16,
    U32,
    U64,
    iter_messages,
    parse_attrs,
    split_genl,
)
from ipvs.netlink._schema import (
    CMD_POLICY,
    DAEMON_POLICY,
    DEST_POLICY,
    INFO_POLICY,
    STATS64_POLICY,
    STATS_POLICY,
    SVC_POLICY,
    AttrSpec,
    CmdAttr,
    Command,
    DaemonAttr,
    DestAttr,
    InfoAttr,
    Kind,
    SvcAttr,
)

__all__ = [
    "Request",
    "decode_daemon",
    "decode_destination",
    "decode_info",
    "decode_request",
    "decode_service",
    "decode_timeouts",
]


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
    flags: tuple[int, int] = FLAGS.unpack(bytes(mv).ljust(8, b"\0"))
    return flags


def _read_nested(mv: memoryview, spec: AttrSpec) -> memoryview:
    return mv


_READERS: dict[Kind, Callable[[memoryview, AttrSpec], Any]] = {
    Kind.U8: _read_int(U8),
    Kind.U16: _read_int(U16),
    Kind.U32: _read_int(U32),
    Kind.U64: _read_int(U64),
    Kind.BE16: _read_int(BE16),
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
    return stats_of(tuple(g(t, 0) for t in range(1, 11)))


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


INT_MAX = 0x7FFFFFFF
# plain ints: ~ServiceFlags.HASHED would only complement the *known* bits on Python >= 3.11
_NOT_HASHED = 0xFFFFFFFF & ~int(ServiceFlags.HASHED)


def _service_from(v: dict[int, Any]) -> Service:
    key = _key_from(v)
    sched = _need(v, SvcAttr.SCHED_NAME, SVC_POLICY)
    flags, mask = _need(v, SvcAttr.FLAGS, SVC_POLICY)
    timeout = _need(v, SvcAttr.TIMEOUT, SVC_POLICY)
    raw_mask = _need(v, SvcAttr.NETMASK, SVC_POLICY)
    netmask: IPv4Address | int
    if key.family == Family.INET:
        netmask = IPv4Address(raw_mask)
    else:
        prefix: int = U32.unpack(raw_mask)[0]
        if not 1 <= prefix <= 128:
            raise DecodeError(f"IPv6 netmask {prefix} is not a prefix length 1..128")
        netmask = prefix
    if not sched:
        raise DecodeError("empty scheduler name")
    # What the kernel holds is shown as it is, even where the model refuses it as
    # desired state (unknown flag bits, ONEPACKET on TCP, persistence without a
    # timeout): a diff against the desired table then plans the repair.
    return unchecked_service(
        key,
        sched,
        ServiceFlags(flags & mask & _NOT_HASHED),
        timeout,
        netmask,
        v.get(SvcAttr.PE_NAME) or None,
        _stats_of(v, SvcAttr.STATS64, SvcAttr.STATS),
    )


def _destination_from(v: dict[int, Any], service_family: int) -> Destination:
    family = _family(v.get(DestAttr.ADDR_FAMILY) or service_family)
    address = _address(family, _need(v, DestAttr.ADDR, DEST_POLICY))
    try:
        forward = ForwardMethod(_need(v, DestAttr.FWD_METHOD, DEST_POLICY))
        tunnel_type = TunnelType(v.get(DestAttr.TUN_TYPE, 0))
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    weight = _need(v, DestAttr.WEIGHT, DEST_POLICY)
    upper = _need(v, DestAttr.U_THRESH, DEST_POLICY)
    lower = _need(v, DestAttr.L_THRESH, DEST_POLICY)
    tunnel_port = v.get(DestAttr.TUN_PORT, 0)
    # the invariants the kernel keeps; tunnel settings may be anything it stores
    if weight > INT_MAX:
        raise DecodeError(f"weight {weight} is negative as the kernel's int")
    if lower > upper:
        raise DecodeError(f"lower threshold {lower} exceeds the upper threshold {upper}")
    if tunnel_type == TunnelType.GUE and tunnel_port == 0:
        raise DecodeError("a GUE tunnel without a port")
    return unchecked_destination(
        address,
        _need(v, DestAttr.PORT, DEST_POLICY),
        family,
        forward,
        weight,
        upper,
        lower,
        tunnel_type,
        tunnel_port,
        TunnelFlags(v.get(DestAttr.TUN_FLAGS, 0)),
        v.get(DestAttr.ACTIVE_CONNS, 0),
        v.get(DestAttr.INACT_CONNS, 0),
        v.get(DestAttr.PERSIST_CONNS, 0),
        _stats_of(v, DestAttr.STATS64, DestAttr.STATS),
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
    fast = service_fast(attrs_area)
    if fast is not None:
        return fast
    nest = _top_nest(memoryview(attrs_area), CmdAttr.SERVICE)[CmdAttr.SERVICE]
    return _service_from(_decode_nest(nest, SVC_POLICY))


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
        if is_fast_layout(attrs_area):
            dest = dest_fast(attrs_area)
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
    # as the kernel has them: its bound is INT_MAX / HZ, the model's that for HZ = 1200
    return unchecked_timeouts(
        v.get(CmdAttr.TIMEOUT_TCP, 0),
        v.get(CmdAttr.TIMEOUT_TCP_FIN, 0),
        v.get(CmdAttr.TIMEOUT_UDP, 0),
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
        timeouts = unchecked_timeouts(
            top.get(CmdAttr.TIMEOUT_TCP, 0),
            top.get(CmdAttr.TIMEOUT_TCP_FIN, 0),
            top.get(CmdAttr.TIMEOUT_UDP, 0),
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
