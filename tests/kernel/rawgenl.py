"""A deliberately tiny, independent generic netlink client for tests.

It shares no code with the library, so tests can use it as a second opinion
(and the harness can probe for IPVS before the library is trusted).
"""

from __future__ import annotations

import socket
import struct

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def attrs(payload: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    off = 0
    while off + 4 <= len(payload):
        length, kind = struct.unpack_from("=HH", payload, off)
        if length < 4:
            break
        out[kind & 0x3FFF] = payload[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


def request(family: int, cmd: int, body: bytes = b"", flags: int = NLM_F_REQUEST) -> list[bytes]:
    """Send one request and return the genl payloads (after the genl header) of the replies."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC) as sock:
        msg = struct.pack("=BBH", cmd, 1, 0) + body
        sock.send(struct.pack("=IHHII", 16 + len(msg), family, flags, 1, 0) + msg)
        replies: list[bytes] = []
        while True:
            data = sock.recv(65536)
            off = 0
            while off < len(data):
                length, kind, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if kind == 2:  # NLMSG_ERROR
                    (err,) = struct.unpack_from("=i", data, off + 16)
                    if err:
                        raise OSError(-err, f"netlink error {-err}")
                    return replies
                if kind == 3:  # NLMSG_DONE
                    return replies
                replies.append(data[off + 20 : off + length])
                off += (length + 3) & ~3
            if not flags & 0x300:
                return replies


def resolve_family(name: str) -> int | None:
    """Return the generic netlink family id of ``name``, or None if not registered."""
    raw = name.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(raw), 2) + raw + b"\0" * (-len(raw) % 4)
    try:
        (reply,) = request(GENL_ID_CTRL, 3, attr)
    except OSError as exc:
        if exc.errno == 2:  # ENOENT
            return None
        raise
    return int(struct.unpack_from("=H", attrs(reply)[1])[0])
