"""The client layer: the library's only I/O (sockets and network namespaces).

:class:`~ipvs.Client` (blocking, ``_sync``) and :class:`~ipvs.AsyncClient`
(asyncio, ``_async``) are thin shells that drive the same pure pieces: the
:class:`~ipvs.netlink.Conversation` for bytes and the flows in ``_flows`` for
what to send next (snapshot, apply with rollback, reap).

Nothing is imported here: ``ipvs.Client`` loads ``_sync`` and leaves asyncio
alone (importing it costs more than the rest of the client).
"""
