"""Kernel-side netlink messages as bytes, built by hand for tests (acks, dump ends, replies)."""

from __future__ import annotations

import struct

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x2, 0x100, 0x200


def nla(atype: int, payload: bytes) -> bytes:
    """One attribute, padded."""
    return struct.pack("=HH", 4 + len(payload), atype) + payload + b"\0" * (-len(payload) % 4)


def message(kind: int, flags: int, seq: int, payload: bytes, pid: int = 0) -> bytes:
    """One netlink message, padded to 4 bytes."""
    body = struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, pid) + payload
    return body + b"\0" * (-len(body) % 4)


def ack(
    seq: int,
    errno: int = 0,
    text: str | None = None,
    *,
    request_kind: int = 0x24,
    offset: int | None = None,
) -> bytes:
    """The ``NLMSG_ERROR`` the kernel sends: capped echo, extended-ack TLVs if any."""
    flags = NLM_F_CAPPED
    tlvs = b""
    if text is not None:
        tlvs += nla(1, text.encode() + b"\0")
    if offset is not None:
        tlvs += nla(2, struct.pack("=I", offset))
    if tlvs:
        flags |= NLM_F_ACK_TLVS
    echo = struct.pack("=IHHII", 36, request_kind, 0x5, seq, 0)
    return message(NLMSG_ERROR, flags, seq, struct.pack("=i", -errno) + echo + tlvs)


def done(seq: int, errno: int = 0) -> bytes:
    """The end of a dump."""
    return message(NLMSG_DONE, NLM_F_MULTI, seq, struct.pack("=i", -errno))


def reply(kind: int, seq: int, command: int, attrs: bytes, *, multi: bool = False) -> bytes:
    """A generic netlink data message (genl header, then attributes)."""
    return message(
        kind, NLM_F_MULTI if multi else 0, seq, struct.pack("=BBH", command, 1, 0) + attrs
    )
