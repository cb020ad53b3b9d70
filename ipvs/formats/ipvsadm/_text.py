"""Text helpers shared by the ipvsadm reader and writer."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import TypeAlias

from ipvs._model import ServiceFlags

U32 = 0xFFFFFFFF
INT_MAX = 0x7FFFFFFF
#: ipvsadm's limit for ``-p``: 31 days.
MAX_TIMEOUT = 2678400
DEFAULT_PERSISTENCE = 360
SCHED_MAXLEN = 15

Address: TypeAlias = "IPv4Address | IPv6Address"

SCHED_MASK = ServiceFlags.SCHED1 | ServiceFlags.SCHED2 | ServiceFlags.SCHED3


def ntop(addr: Address) -> str:
    """Format an address like glibc's ``inet_ntop``."""
    if addr.version == 4:
        return str(addr)
    value = int(addr)
    words = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i, w in enumerate(words):
        if w == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
        else:
            cur_base, cur_len = -1, 0
    if best_len < 2:
        best_base = -1
    out: list[str] = []
    i = 0
    while i < 8:
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out.append(":")
            i += 1
            continue
        if i != 0:
            out.append(":")
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            out.append(str(IPv4Address(value & U32)))
            break
        out.append(f"{words[i]:x}")
        i += 1
    else:
        if best_base != -1 and best_base + best_len == 8:
            out.append(":")
    return "".join(out)


def dest_text(addr: Address, port: int) -> str:
    return f"[{ntop(addr)}]:{port}" if addr.version == 6 else f"{addr}:{port}"
