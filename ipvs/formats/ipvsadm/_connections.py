"""The connection table as ``ipvsadm -Lnc`` lists it."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

from ipvs._model import Connection
from ipvs.errors import ValidationError
from ipvs.formats.ipvsadm._text import ntop

__all__ = ["connections_listing"]


def _endpoint(address: IPv4Address | IPv6Address, port: int) -> str:
    return f"[{ntop(address)}]:{port}" if address.version == 6 else f"{address}:{port}"


def connections_listing(connections: Iterable[Connection], *, persistent_conn: bool = False) -> str:
    """Write the connection table as ``ipvsadm -Lnc`` does (``-Lnc --persistent-conn``).

    Args:
        connections: what :meth:`ipvs.Client.connections` returns.
        persistent_conn: add the persistence engine's name and data columns.

    Returns:
        The listing, each line ending in a newline.

    Raises:
        ValidationError: an item is not a :class:`~ipvs.Connection`.
    """
    lines = ["IPVS connection entries"]
    if persistent_conn:
        lines.append(
            f"pro expire {'state':<11} {'source':<18} {'virtual':<18} {'destination':<18} "
            f"{'pe name':<16} pe_data"
        )
    else:
        lines.append(f"pro expire {'state':<11} {'source':<18} {'virtual':<18} destination")
    for c in connections:
        if not isinstance(c, Connection):
            raise ValidationError(f"connections_listing: expected Connection, got {c!r}")
        expire = f"{c.expires // 60:02d}:{c.expires % 60:02d}"
        head = (
            f"{c.protocol:<3} {expire:<6} {c.state:<11} "
            f"{_endpoint(c.client_address, c.client_port):<18} "
            f"{_endpoint(c.virtual_address, c.virtual_port):<18} "
        )
        dest = _endpoint(c.destination_address, c.destination_port)
        if persistent_conn and c.pe_name is not None:
            lines.append(f"{head}{dest:<16} {c.pe_name:<18} {c.pe_data}")
        else:
            lines.append(f"{head}{dest}")
    return "\n".join(lines) + "\n"
