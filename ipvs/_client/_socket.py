"""The generic netlink socket: opened in any namespace, sends bytes, receives datagrams.

This module and the two clients are the library's only I/O. The protocol
(sequence numbers, which reply ends which request, pipelines) is
:class:`ipvs.netlink.Conversation`'s business; the socket only moves bytes.

Datagrams are read with ``recv_into`` into one preallocated buffer; a view of
it is valid until the next receive, so callers feed it to the conversation at
once.
"""

from __future__ import annotations

import _socket
import errno as E
import os

from ipvs._client import _netns
from ipvs.errors import DecodeError, OutcomeUnknown, ValidationError

__all__ = ["DEFAULT_RCVBUF", "DEFAULT_SNDBUF", "NetlinkSocket"]

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

#: Socket buffer sizes asked for (with the FORCE options when allowed).
DEFAULT_RCVBUF = 32 << 20
DEFAULT_SNDBUF = 8 << 20

_RECV_BUFFER = 256 << 10
_MAX_BUFFER = 1 << 30


def _buffer_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name}: expected a size in bytes, got {value!r}")
    if not 1 <= value <= _MAX_BUFFER:  # the kernel raises tiny sizes to its minimum
        raise ValidationError(f"{name}: must be 1..{_MAX_BUFFER} bytes, got {value!r}")
    return value


class NetlinkSocket:
    """A generic netlink socket, optionally opened inside another namespace.

    Args:
        netns: a network namespace name (under /var/run/netns) or path; the
            socket is created inside it and the calling thread returns to its
            own namespace afterwards, also on error.
        rcvbuf: receive buffer size in bytes.
        sndbuf: send buffer size in bytes.
        blocking: False for an event loop (receive with ``block=False`` only).

    Raises:
        ValidationError: an argument has the wrong type or size.
        NetnsError: the namespace cannot be entered.
        OSError: the socket cannot be created.
    """

    def __init__(
        self,
        netns: str | os.PathLike[str] | None = None,
        *,
        rcvbuf: int = DEFAULT_RCVBUF,
        sndbuf: int = DEFAULT_SNDBUF,
        blocking: bool = True,
    ) -> None:
        rcvbuf = _buffer_size("rcvbuf", rcvbuf)
        sndbuf = _buffer_size("sndbuf", sndbuf)
        if netns is None:
            sock = self._open()
        else:
            with _netns.entered(netns):
                sock = self._open()
        self.sock = sock
        self._set_buffer(_socket.SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)
        self._set_buffer(_socket.SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)
        sock.setblocking(blocking)
        self.port_id: int = sock.getsockname()[0]
        #: Syscall counters (``send`` and ``recv`` calls), for benchmarks and tests.
        self.sends = 0
        self.recvs = 0
        self._buf = bytearray(_RECV_BUFFER)
        self._view = memoryview(self._buf)
        sndbuf_now = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF)
        # sendmsg refuses buffers larger than sk_sndbuf - 32; keep a margin.
        self.max_send = max(4096, min(sndbuf_now // 2, 1 << 20))

    @staticmethod
    def _open() -> _socket.socket:
        sock = _socket.socket(
            _socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_GENERIC
        )
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.bind((0, 0))
        except BaseException:
            sock.close()
            raise
        return sock

    def _set_buffer(self, plain: int, force: int, size: int) -> None:
        try:
            self.sock.setsockopt(_socket.SOL_SOCKET, force, size)
        except OSError:
            self.sock.setsockopt(_socket.SOL_SOCKET, plain, size)

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self.sock.fileno()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self.sock.fileno() < 0

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send one datagram (the kernel handles it before this returns).

        Args:
            data: one or more complete netlink messages.
        """
        self.sock.send(data)
        self.sends += 1

    def recv(self, *, block: bool = True) -> memoryview | None:
        """Receive one datagram into the shared buffer.

        Args:
            block: wait for data; when False return None if none is queued.

        Returns:
            A view of the datagram, valid until the next receive.

        Raises:
            OutcomeUnknown: the kernel dropped replies (ENOBUFS); whatever was
                queued is discarded so the socket stays usable.
            DecodeError: a datagram was larger than the buffer.
        """
        flags = _socket.MSG_TRUNC | (0 if block else _socket.MSG_DONTWAIT)
        while True:
            self.recvs += 1
            try:
                n = self.sock.recv_into(self._buf, _RECV_BUFFER, flags)
            except BlockingIOError:
                return None
            except InterruptedError:  # pragma: no cover - PEP 475 retries already
                continue
            except OSError as exc:
                if exc.errno == E.ENOBUFS:
                    self._drain()
                    raise OutcomeUnknown(
                        E.ENOBUFS,
                        message="the kernel dropped replies (receive queue overflow, ENOBUFS): "
                        "the outcome of the operations in flight is unknown",
                    ) from exc
                raise
            if n > _RECV_BUFFER:
                raise DecodeError(f"netlink datagram of {n} bytes exceeds the receive buffer")
            return self._view[:n]

    def _drain(self) -> None:
        """Discard whatever is queued, so the socket is usable after an overflow."""
        while True:
            try:
                self.sock.recv_into(self._buf, _RECV_BUFFER, _socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != E.ENOBUFS:
                    return
