"""An entry of the kernel's IPVS connection table (what ``ipvsadm -Lnc`` lists)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import attrs

__all__ = ["Connection"]


@attrs.frozen(kw_only=True, slots=True)
class Connection:
    """One connection (or persistence template) IPVS tracks.

    Attributes:
        protocol: ``"TCP"``, ``"UDP"``, ``"SCTP"``, or ``"IP"`` for a
            persistence template.
        client_address: the client's address.
        client_port: the client's port (0 in a template without port).
        virtual_address: the virtual service's address.
        virtual_port: the virtual service's port.
        destination_address: the real server's address.
        destination_port: the real server's port.
        state: the connection state, such as ``"ESTABLISHED"``,
            ``"TIME_WAIT"`` or ``"NONE"`` (a template).
        expires: seconds until the entry expires.
        pe_name: the persistence engine, if any (``"sip"``).
        pe_data: the persistence engine's data, if any (a SIP Call-ID).
    """

    protocol: str
    client_address: IPv4Address | IPv6Address
    client_port: int
    virtual_address: IPv4Address | IPv6Address
    virtual_port: int
    destination_address: IPv4Address | IPv6Address
    destination_port: int
    state: str
    expires: int
    pe_name: str | None = None
    pe_data: str | None = None
