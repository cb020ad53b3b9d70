"""Generic netlink transport: one socket, sequence numbers, pipelining.

This is the only module that touches sockets. It knows netlink framing but
nothing of IPVS: the client hands it complete messages (built by the codec)
and gets back the replies that carry their sequence numbers.

Replies are read with ``recv_into`` into one preallocated buffer; a view of
it is only valid until the next receive, so callers decode at once.
"""

from __future__ import annotations

import _socket
import errno as E
import os
import struct
from collections.abc import Callable, Iterable
from typing import TypeVar

from ipvs import _netns
from ipvs._errors import DecodeError, KernelError, OutcomeUnknown

__all__ = ["DEFAULT_RCVBUF", "DEFAULT_SNDBUF", "NetlinkSocket"]

T = TypeVar("T")

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 1, 2, 3, 4
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4

#: Socket buffer sizes asked for (with the FORCE options when allowed).
DEFAULT_RCVBUF = 32 << 20
DEFAULT_SNDBUF = 8 << 20

_HDR = struct.Struct("=IHHII")
_ERR = struct.Struct("=i")
_RECV_BUFFER = 256 << 10


class NetlinkSocket:
    """A generic netlink socket, optionally opened inside another namespace.

    Args:
        netns: a network namespace name (under /var/run/netns) or path; the
            socket is created inside it and the calling thread returns to its
            own namespace afterwards, also on error.
        rcvbuf: receive buffer size in bytes.
        sndbuf: send buffer size in bytes.

    Raises:
        NetnsError: the namespace cannot be entered.
        OSError: the socket cannot be created.
    """

    def __init__(
        self,
        netns: str | os.PathLike[str] | None = None,
        *,
        rcvbuf: int = DEFAULT_RCVBUF,
        sndbuf: int = DEFAULT_SNDBUF,
    ) -> None:
        if netns is None:
            sock = self._open()
        else:
            with _netns.entered(netns):
                sock = self._open()
        self.sock = sock
        self._set_buffer(_socket.SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)
        self._set_buffer(_socket.SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)
        self.port_id: int = sock.getsockname()[0]
        self._seq = int.from_bytes(os.urandom(2), "little") << 8
        #: Syscall counters (``send`` and ``recv`` calls), for benchmarks and tests.
        self.sends = 0
        self.recvs = 0
        self._sendbuf: bytearray | None = None
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

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def next_seq(self) -> int:
        """Return a fresh sequence number."""
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    def seqs(self, count: int) -> range:
        """Reserve ``count`` consecutive sequence numbers.

        Args:
            count: how many.

        Returns:
            The reserved numbers (they do not wrap inside the range).
        """
        if self._seq + count + 1 > 0xFFFFFFFF:
            self._seq = 0
        first = self._seq + 1
        self._seq += count
        return range(first, first + count)

    # -- receiving -------------------------------------------------------------

    def recv(self, *, block: bool = True) -> memoryview | None:
        """Receive one datagram into the shared buffer.

        Args:
            block: wait for data; when False return None if none is queued.

        Returns:
            A view of the datagram, valid until the next receive.

        Raises:
            OutcomeUnknown: the kernel dropped replies (ENOBUFS).
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

    # -- request patterns ------------------------------------------------------

    def request(
        self,
        message: bytes | bytearray,
        seq: int,
        on_reply: Callable[[int, memoryview], None] | None = None,
        barrier_seq: int | None = None,
    ) -> None:
        """Send one request (with NLM_F_ACK or a reply expected) and wait for its end.

        For a dump the end is NLMSG_DONE; for a request with NLM_F_ACK it is
        the acknowledgement. A doit request without ACK ends with its first reply.

        Args:
            message: the complete netlink message, carrying ``seq``.
            seq: its sequence number.
            on_reply: called with (message type, payload view) for each reply
                message that is neither an error nor done.
            barrier_seq: if given, an acknowledged no-op with this sequence
                number is sent in the same ``sendmsg``; its acknowledgement
                ends the request even if the kernel sent none for the request
                itself (it sends none when an operation returns EINTR, as
                stopping a sync daemon can).

        Raises:
            KernelError: the kernel answered with an error (plain; the caller
                maps it to the precise class).
            OutcomeUnknown: replies were lost.
        """
        flags = _HDR.unpack_from(message)[2]
        dump = bool(flags & 0x300)
        needs_ack = bool(flags & NLM_F_ACK) and not dump
        if barrier_seq is not None:
            message = bytes(message) + _HDR.pack(
                16, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, barrier_seq, 0
            )
        error = 0
        self.sock.send(message)
        self.sends += 1
        while True:
            view = self.recv()
            assert view is not None
            end = len(view)
            off = 0
            while off + 16 <= end:
                length, kind, mflags, mseq, _pid = _HDR.unpack_from(view, off)
                if length < 16 or off + length > end:
                    raise DecodeError(f"netlink message length {length} is invalid")
                if barrier_seq is not None and mseq == barrier_seq and kind == NLMSG_ERROR:
                    if error:
                        raise KernelError(-error)
                    return
                if mseq == seq:
                    if kind == NLMSG_ERROR:
                        (err,) = _ERR.unpack_from(view, off + 16)
                        if barrier_seq is not None:
                            error = err  # the barrier's acknowledgement follows
                            off += (length + 3) & ~3
                            continue
                        if err:
                            raise KernelError(-err)
                        return
                    if kind == NLMSG_DONE:
                        if length >= 20:
                            (err,) = _ERR.unpack_from(view, off + 16)
                            if err:
                                raise KernelError(-err)
                        return
                    if kind != NLMSG_NOOP and on_reply is not None:
                        on_reply(kind, view[off + 16 : off + length])
                    if not dump and not needs_ack and not mflags & NLM_F_MULTI:
                        return
                off += (length + 3) & ~3

    def pipeline(
        self,
        messages: Iterable[bytes],
        total: int,
        first_seq: int,
        barrier: bytes,
        barrier_seq: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[int, int]:
        """Send many messages without waiting, then one barrier; collect errors.

        Messages are copied into one reused send buffer and packed many per
        ``sendmsg``; they may be produced lazily, so a batch never needs all
        its messages in memory at once (fresh memory is expensive, most of all
        in a User-Mode Linux guest). The kernel processes each send
        synchronously, so errors are drained after every send; the barrier (a
        request that is always acknowledged) marks the end.

        Args:
            messages: complete messages without NLM_F_ACK; message ``i``
                carries sequence number ``first_seq + i``.
            total: how many messages there are.
            first_seq: the sequence number of the first message.
            barrier: a message with NLM_F_ACK sent last.
            barrier_seq: its sequence number.
            progress: called with (messages sent, total) after each send.

        Returns:
            A mapping from message index to the positive errno it failed with.

        Raises:
            OutcomeUnknown: the receive queue overflowed; some errors were lost.
            KernelError: the barrier itself failed.
        """
        failures: dict[int, int] = {}
        limit = self.max_send
        buf = self._send_buffer(limit)
        view_out = memoryview(buf)
        size = 0
        count = 0
        sent = 0
        done = False

        def absorb(view: memoryview) -> None:
            nonlocal done
            end = len(view)
            off = 0
            while off + 16 <= end:
                length, kind, _f, mseq, _pid = _HDR.unpack_from(view, off)
                if length < 16 or off + length > end:
                    raise DecodeError(f"netlink message length {length} is invalid")
                if kind == NLMSG_ERROR:
                    (err,) = _ERR.unpack_from(view, off + 16)
                    if mseq == barrier_seq:
                        if err:
                            raise KernelError(-err, "barrier")
                        done = True
                    elif err:
                        index = (mseq - first_seq) & 0xFFFFFFFF
                        if index < total:
                            failures[index] = -err
                off += (length + 3) & ~3

        def flush(data: memoryview | bytes) -> None:
            if data:
                self.sock.send(data)
                self.sends += 1
            while not done and (view := self.recv(block=False)) is not None:
                absorb(view)
            if progress is not None:
                progress(sent, total)

        for msg in messages:
            n = len(msg)
            if size + n > limit and size:
                sent += count
                flush(view_out[:size])
                size = count = 0
            if n > limit:  # larger than the buffer: send it alone
                sent += 1
                flush(msg)
                continue
            view_out[size : size + n] = msg
            size += n
            count += 1
        sent += count
        if size + len(barrier) <= limit:
            view_out[size : size + len(barrier)] = barrier
            flush(view_out[: size + len(barrier)])
        else:
            flush(view_out[:size])
            flush(barrier)
        view_out.release()
        while not done:
            view = self.recv()
            assert view is not None
            absorb(view)
        return failures

    def _send_buffer(self, size: int) -> bytearray:
        buf = self._sendbuf
        if buf is None or len(buf) < size:
            buf = self._sendbuf = bytearray(size)
        return buf
