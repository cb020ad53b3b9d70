"""The client layer: the library's only I/O (sockets and network namespaces).

:class:`Client` (blocking) and :class:`AsyncClient` (asyncio) are thin shells
that drive the same pure pieces: the :class:`~ipvs.netlink.Conversation` for
bytes and the flows in ``_flows`` for what to send next (snapshot, apply with
rollback, reap).
"""

from ipvs._client._async import AsyncClient
from ipvs._client._batch import AsyncBatch, Batch
from ipvs._client._socket import DEFAULT_RCVBUF, DEFAULT_SNDBUF, NetlinkSocket
from ipvs._client._sync import Client

__all__ = [
    "DEFAULT_RCVBUF",
    "DEFAULT_SNDBUF",
    "AsyncBatch",
    "AsyncClient",
    "Batch",
    "Client",
    "NetlinkSocket",
]
