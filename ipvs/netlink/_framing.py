"""Sans-I/O netlink and generic-netlink framing.

This module builds and splits netlink messages; it never touches a socket.
Decoders accept :class:`memoryview` (or bytes) and return views into the
input, without copying. Malformed input raises
:class:`~ipvs.errors.DecodeError`.

Numbers in netlink headers are in the host's byte order; the structs below
use ``=`` (native order, standard sizes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from ipvs.errors import DecodeError, ValidationError

__all__ = [
    "BE16",
    "CTRL_ATTR_FAMILY_ID",
    "CTRL_ATTR_FAMILY_NAME",
    "CTRL_CMD_GETFAMILY",
    "FLAGS",
    "GENLMSGHDR",
    "GENL_ID_CTRL",
    "NLATTR",
    "NLA_F_NESTED",
    "NLA_F_NET_BYTEORDER",
    "NLA_TYPE_MASK",
    "NLMSGERR_ATTR_COOKIE",
    "NLMSGERR_ATTR_MSG",
    "NLMSGERR_ATTR_OFFS",
    "NLMSGHDR",
    "NLMSG_DONE",
    "NLMSG_ERROR",
    "NLMSG_NOOP",
    "NLMSG_OVERRUN",
    "NLM_F_ACK",
    "NLM_F_ACK_TLVS",
    "NLM_F_CAPPED",
    "NLM_F_DUMP",
    "NLM_F_MATCH",
    "NLM_F_MULTI",
    "NLM_F_REQUEST",
    "NLM_F_ROOT",
    "U8",
    "U16",
    "U32",
    "U64",
    "Message",
    "NlmsgErr",
    "align4",
    "attr",
    "decode_ack",
    "decode_done",
    "decode_family_id",
    "encode_genl",
    "encode_get_family",
    "iter_attrs",
    "iter_messages",
    "parse_attrs",
    "split_genl",
]

# nlmsghdr.nlmsg_flags
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
# flags of NLMSG_ERROR acks
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

# control message types
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

# extended-ack TLVs
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_COOKIE = 3

# attribute type flags
NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF

# generic netlink controller
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

#: ``struct nlmsghdr``: len, type, flags, seq, pid.
NLMSGHDR = struct.Struct("=IHHII")
#: ``struct genlmsghdr``: cmd, version, reserved.
GENLMSGHDR = struct.Struct("=BBH")
#: ``struct nlattr``: len, type.
NLATTR = struct.Struct("=HH")

#: Attribute payloads shared by the encoders and decoders (host order, except BE16).
U8 = struct.Struct("=B")
U16 = struct.Struct("=H")
U32 = struct.Struct("=I")
U64 = struct.Struct("=Q")
BE16 = struct.Struct("!H")
#: ``struct ip_vs_flags``: flags, mask (host order).
FLAGS = struct.Struct("=II")

_NLMSG_GENL = struct.Struct("=IHHIIBBH")
_I32 = struct.Struct("=i")
_ERR_HDR = struct.Struct("=iIHHII")  # error, then the echoed nlmsghdr

_unpack_hdr = NLMSGHDR.unpack_from
_unpack_nla = NLATTR.unpack_from
_pack_nla = NLATTR.pack
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")


def align4(length: int) -> int:
    """Round a length up to the netlink alignment (4 bytes).

    Args:
        length: a byte count.

    Returns:
        The smallest multiple of 4 that is at least ``length``.
    """
    return (length + 3) & ~3


class Message(NamedTuple):
    """One netlink message split from a buffer."""

    #: ``nlmsg_type`` (a family id, or ``NLMSG_ERROR``/``NLMSG_DONE``...).
    type: int
    #: ``nlmsg_flags``.
    flags: int
    #: ``nlmsg_seq``.
    seq: int
    #: ``nlmsg_pid``.
    pid: int
    #: The bytes after the 16-byte header (a view into the buffer).
    payload: memoryview


class NlmsgErr(NamedTuple):
    """A decoded ``NLMSG_ERROR`` payload (``struct nlmsgerr`` and its extended-ack TLVs)."""

    #: 0 for success, else a negative errno.
    error: int
    #: The sequence number of the request it answers.
    seq: int
    #: The extended-ack message text, if any.
    message: str | None = None
    #: The extended-ack attribute offset, if any.
    offset: int | None = None


def _view(data: object) -> memoryview:
    """A byte view of ``data``; anything that is not bytes-like is a DecodeError."""
    try:
        mv = data if isinstance(data, memoryview) else memoryview(data)  # type: ignore[arg-type]
        return mv if mv.ndim == 1 and mv.itemsize == 1 else mv.cast("B")
    except TypeError:
        raise DecodeError(f"expected bytes, got {type(data).__name__}") from None


def iter_messages(buf: memoryview | bytes | bytearray) -> Iterator[Message]:
    """Split a buffer into netlink messages.

    Args:
        buf: one datagram as received from a netlink socket.

    Yields:
        Each message in order; payloads are views into ``buf``.

    Raises:
        DecodeError: a header is truncated or a length field is invalid.
    """
    mv = _view(buf)
    end = len(mv)
    off = 0
    while off < end:
        if end - off < 16:
            raise DecodeError(f"truncated netlink header at offset {off}")
        length, mtype, flags, seq, pid = _unpack_hdr(mv, off)
        if length < 16 or length > end - off:
            raise DecodeError(f"invalid netlink message length {length} at offset {off}")
        yield Message(mtype, flags, seq, pid, mv[off + 16 : off + length])
        off += (length + 3) & ~3


def iter_attrs(mv: memoryview | bytes) -> Iterator[tuple[int, memoryview]]:
    """Iterate over the attributes of an attribute area, in order.

    Type flags (``NLA_F_NESTED``, ``NLA_F_NET_BYTEORDER``) are masked off.

    Args:
        mv: an attribute area (e.g. a message payload after its fixed header,
            or a nest's payload).

    Yields:
        ``(type, payload)`` pairs; payloads are views into ``mv``.

    Raises:
        DecodeError: an attribute header is truncated or its length is invalid.
    """
    mv = _view(mv)
    end = len(mv)
    off = 0
    while off < end:
        if end - off < 4:
            raise DecodeError(f"{end - off} stray bytes after the last attribute")
        length, atype = _unpack_nla(mv, off)
        if length < 4 or length > end - off:
            raise DecodeError(f"invalid attribute length {length} at offset {off}")
        yield atype & NLA_TYPE_MASK, mv[off + 4 : off + length]
        off += (length + 3) & ~3


def parse_attrs(mv: memoryview | bytes) -> dict[int, memoryview]:
    """Parse an attribute area into a mapping of type to payload.

    Type flags are masked off; when a type appears twice the last one wins
    (as in the kernel). Unknown types are kept; callers ignore what they do
    not know.

    Args:
        mv: an attribute area.

    Returns:
        A dict from attribute type to payload view.

    Raises:
        DecodeError: an attribute header is truncated or its length is invalid.
    """
    mv = _view(mv)
    result: dict[int, memoryview] = {}
    end = len(mv)
    off = 0
    while off < end:
        if end - off < 4:
            raise DecodeError(f"{end - off} stray bytes after the last attribute")
        length, atype = _unpack_nla(mv, off)
        if length < 4 or length > end - off:
            raise DecodeError(f"invalid attribute length {length} at offset {off}")
        result[atype & NLA_TYPE_MASK] = mv[off + 4 : off + length]
        off += (length + 3) & ~3
    return result


def attr(atype: int, payload: bytes) -> bytes:
    """Encode one attribute, padded to 4 bytes.

    Args:
        atype: the attribute type (flags included, if wanted).
        payload: the attribute's payload.

    Returns:
        Header, payload and padding.
    """
    length = 4 + len(payload)
    return _pack_nla(length, atype) + payload + _PAD[length & 3]


def encode_genl(
    family_id: int, cmd: int, flags: int, seq: int, attrs: bytes = b"", version: int = 1
) -> bytes:
    """Encode a complete generic netlink message.

    Args:
        family_id: the generic netlink family id (``nlmsg_type``).
        cmd: the genl command.
        flags: ``nlmsg_flags``, e.g. ``NLM_F_REQUEST | NLM_F_ACK``.
        seq: the sequence number.
        attrs: the encoded attributes (already padded).
        version: the genl version byte.

    Returns:
        The message bytes (the port id is 0; the kernel fills it in).
    """
    try:
        return _NLMSG_GENL.pack(20 + len(attrs), family_id, flags, seq, 0, cmd, version, 0) + attrs
    except struct.error as exc:
        raise ValidationError(
            f"netlink header out of range (family {family_id!r}, seq {seq!r}, flags {flags!r}): "
            f"{exc}"
        ) from None


def split_genl(payload: memoryview | bytes) -> tuple[int, int, memoryview]:
    """Split a generic netlink payload into its header and attribute area.

    Args:
        payload: a message payload (the bytes after the nlmsghdr).

    Returns:
        ``(cmd, version, attrs_area)``.

    Raises:
        DecodeError: the payload is shorter than the genl header.
    """
    payload = _view(payload)
    if len(payload) < 4:
        raise DecodeError("truncated generic netlink header")
    cmd, version, _ = GENLMSGHDR.unpack_from(payload)
    return cmd, version, payload[4:]


def encode_get_family(name: str, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    """Encode a controller ``CTRL_CMD_GETFAMILY`` request for a family name.

    Args:
        name: the family name, e.g. ``"IPVS"``.
        seq: the sequence number.
        flags: ``nlmsg_flags``.

    Returns:
        The message bytes.
    """
    body = attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")
    return encode_genl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, flags, seq, body, version=1)


def decode_family_id(payload: memoryview | bytes) -> int:
    """Extract the family id from a controller ``NEWFAMILY`` reply.

    Args:
        payload: the reply's payload (genl header included).

    Returns:
        The family id.

    Raises:
        DecodeError: the payload is malformed or lacks ``CTRL_ATTR_FAMILY_ID``.
    """
    _, _, area = split_genl(payload)
    value = parse_attrs(area).get(CTRL_ATTR_FAMILY_ID)
    if value is None or len(value) < 2:
        raise DecodeError("controller reply lacks a family id")
    family_id: int = U16.unpack_from(value)[0]
    return family_id


def decode_ack(flags: int, payload: memoryview | bytes) -> NlmsgErr:
    """Decode an ``NLMSG_ERROR`` message including extended-ack TLVs.

    Args:
        flags: the message's ``nlmsg_flags`` (``NLM_F_CAPPED`` and
            ``NLM_F_ACK_TLVS`` matter).
        payload: the message payload.

    Returns:
        The decoded :class:`NlmsgErr`.

    Raises:
        DecodeError: the payload is malformed.
    """
    payload = _view(payload)
    if len(payload) < 20:
        raise DecodeError("truncated NLMSG_ERROR payload")
    error, echoed_len, _, _, seq, _ = _ERR_HDR.unpack_from(payload)
    if not flags & NLM_F_ACK_TLVS:
        return NlmsgErr(error, seq)
    if flags & NLM_F_CAPPED or error == 0:
        tlv_off = 20
    else:
        if echoed_len < 16:
            raise DecodeError("invalid echoed message length")
        tlv_off = 4 + align4(echoed_len)
    if tlv_off > len(payload):
        raise DecodeError("truncated echoed request in NLMSG_ERROR")
    tlvs = parse_attrs(payload[tlv_off:])
    message = None
    offset = None
    raw = tlvs.get(NLMSGERR_ATTR_MSG)
    if raw is not None:
        message = bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")
    raw = tlvs.get(NLMSGERR_ATTR_OFFS)
    if raw is not None:
        if len(raw) < 4:
            raise DecodeError("truncated extended-ack offset")
        offset = U32.unpack_from(raw)[0]
    return NlmsgErr(error, seq, message, offset)


def decode_done(payload: memoryview | bytes) -> int:
    """Decode the payload of an ``NLMSG_DONE`` message.

    Args:
        payload: the message payload (an ``int``; may be empty on old kernels).

    Returns:
        0, or the negative errno with which a dump ended.

    Raises:
        DecodeError: the payload has 1..3 bytes.
    """
    payload = _view(payload)
    if len(payload) == 0:
        return 0
    if len(payload) < 4:
        raise DecodeError("truncated NLMSG_DONE payload")
    error: int = _I32.unpack_from(payload)[0]
    return error
