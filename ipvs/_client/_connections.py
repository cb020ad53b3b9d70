"""The kernel's IPVS connection table, read from ``/proc/net/ip_vs_conn`` in a namespace.

Generic netlink has no command for the connection table; the kernel lists it
in ``/proc/net/ip_vs_conn`` of each network namespace (``ipvsadm -Lnc`` reads
the same file). Each line, after a header::

    TCP 0A000001 8C4A 64646464 0050 0A010102 1F90 ESTABLISHED     899
    TCP 2001:0db8:0000:...:0001 8C4A ...                                  (IPv6)

is protocol, client address and port, virtual address and port, destination
address and port (hex, ports in hex), state, seconds to expiry, and for a
persistence engine its name and data.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv6Address, ip_address

from ipvs._client import _netns
from ipvs._model._connection import Connection
from ipvs.errors import DecodeError, NetnsError

__all__ = ["parse_connections", "read_connections"]


def _address(text: str) -> IPv4Address | IPv6Address:
    if ":" in text:
        return ip_address(text)
    return IPv4Address(int(text, 16))


def parse_connections(text: str) -> list[Connection]:
    """Parse the text of ``/proc/net/ip_vs_conn``.

    Args:
        text: the file's contents.

    Returns:
        The connections, in the file's order.

    Raises:
        DecodeError: a line is malformed.
    """
    result: list[Connection] = []
    for number, line in enumerate(text.splitlines()[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (9, 11):
            raise DecodeError(f"ip_vs_conn line {number}: {len(fields)} fields: {line!r}")
        try:
            result.append(
                Connection(
                    protocol=fields[0],
                    client_address=_address(fields[1]),
                    client_port=int(fields[2], 16),
                    virtual_address=_address(fields[3]),
                    virtual_port=int(fields[4], 16),
                    destination_address=_address(fields[5]),
                    destination_port=int(fields[6], 16),
                    state=fields[7],
                    expires=int(fields[8]),
                    pe_name=fields[9] if len(fields) == 11 else None,
                    pe_data=fields[10] if len(fields) == 11 else None,
                )
            )
        except ValueError as exc:
            raise DecodeError(f"ip_vs_conn line {number}: {exc}: {line!r}") from None
    return result


def read_connections(netns: str | os.PathLike[str] | int | None) -> list[Connection]:
    """Read the connection table of a network namespace.

    Args:
        netns: a namespace name or path, an open file descriptor of one, or
            None for the calling thread's.

    Returns:
        The connections.

    Raises:
        NetnsError: the namespace cannot be entered or has no IPVS table.
        DecodeError: the file is malformed.
    """
    path = "/proc/thread-self/net/ip_vs_conn"
    where = f"/proc/self/fd/{netns}" if isinstance(netns, int) else netns
    try:
        if where is None:
            with open(path, encoding="ascii") as fh:
                text = fh.read()
        else:
            with _netns.entered(where), open(path, encoding="ascii") as fh:
                text = fh.read()
    except OSError as exc:
        if isinstance(exc, NetnsError):
            raise
        raise NetnsError(
            exc.errno or 0, f"cannot read the IPVS connection table {path}: {exc.strerror}"
        ) from exc
    return parse_connections(text)
