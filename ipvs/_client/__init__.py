"""The client layer: the library's only I/O (sockets and network namespaces).

:class:`Client` (blocking) and :class:`AsyncClient` (asyncio) are thin shells
that drive the same pure pieces: the :class:`~ipvs.netlink.Conversation` for
bytes and the flows in ``_flows`` for what to send next (snapshot, apply with
rollback, reap).
"""

from typing import Any

from ipvs._client._batch import AsyncBatch, Batch
from ipvs._client._socket import DEFAULT_RCVBUF, DEFAULT_SNDBUF, NetlinkSocket
from ipvs._client._sync import Client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ipvs._client._async import AsyncClient as AsyncClient

__all__ = [
    "DEFAULT_RCVBUF",
    "DEFAULT_SNDBUF",
    "AsyncBatch",
    "AsyncClient",
    "Batch",
    "Client",
    "NetlinkSocket",
]


def __getattr__(name: str) -> Any:
    # AsyncClient imports asyncio, a large part of the start-up of a program
    # (the ipvs command line) that uses only Client: it is imported on first use.
    if name == "AsyncClient":
        from ipvs._client._async import AsyncClient

        return AsyncClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
