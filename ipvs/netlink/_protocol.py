"""The sans-I/O protocol object: one netlink conversation with the kernel's IPVS.

:class:`Conversation` plays the part h11's ``Connection`` plays for HTTP: it
knows the generic netlink family id and the sequence numbers, builds the bytes
of each request, and turns the bytes the kernel sends back into events and
results. It never touches a socket; any I/O loop can drive it:

.. code-block:: python

    conv = Conversation()
    exchange = conv.resolve_family()
    sock.send(exchange.data)
    while not exchange.done:
        conv.receive_data(sock.recv(65536))
    exchange.result()                      # the family id; conv.family_id is set

    exchange = conv.services()             # a GET_SERVICE dump
    sock.send(exchange.data)
    while not exchange.done:
        conv.receive_data(sock.recv(65536))
    services = exchange.result()           # list[Service], or a typed error raised

How each kind of request ends is the protocol's business, not the I/O's:

* a write carries ``NLM_F_ACK`` and ends with its acknowledgement
  (``NLMSG_ERROR`` with error 0, or the error);
* a dump ends with ``NLMSG_DONE`` (which may carry an error);
* a single get (``GET_INFO``, ``GET_CONFIG``, one ``GET_SERVICE``) ends with
  its one reply, or an error;
* a request sent with a *barrier* (an acknowledged ``NLMSG_NOOP`` in the same
  send) ends with the barrier's acknowledgement, even when the kernel sends
  nothing for the request itself: it acknowledges nothing when an operation
  returns EINTR, as stopping a sync daemon can;
* a :class:`Pipeline` sends many writes without ``NLM_F_ACK`` and one barrier:
  only failures are answered, each attributed to its write by sequence number,
  and the barrier's acknowledgement ends it.

Errors carry the kernel's extended-acknowledgement text when it sends one.
"""

from __future__ import annotations

import errno as E
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from ipvs._model import (
    DaemonState,
    Destination,
    Info,
    Service,
    ServiceKey,
    SyncDaemon,
    Timeouts,
    key_of,
)
from ipvs.errors import (
    DecodeError,
    FamilyUnknown,
    IPVSError,
    IPVSUnavailable,
    KernelError,
    ValidationError,
    error_for,
)
from ipvs.netlink._decode import (
    decode_daemon,
    decode_destination,
    decode_info,
    decode_service,
    decode_timeouts,
)
from ipvs.netlink._encode import (
    encode_del_daemon,
    encode_del_dest,
    encode_del_service,
    encode_dest,
    encode_flush,
    encode_get_config,
    encode_get_daemons,
    encode_get_dests,
    encode_get_info,
    encode_get_service,
    encode_get_services,
    encode_new_daemon,
    encode_new_dest,
    encode_new_service,
    encode_service_key_nest,
    encode_set_config,
    encode_set_dest,
    encode_set_service,
    encode_zero,
)
from ipvs.netlink._framing import (
    CTRL_ATTR_FAMILY_ID,
    NLM_F_ACK,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    NLMSGHDR,
    U16,
    decode_ack,
    decode_done,
    encode_get_family,
    parse_attrs,
)
from ipvs.netlink._schema import GENL_NAME, REQUEST_ACK, REQUEST_DUMP, Command

__all__ = [
    "Ack",
    "Conversation",
    "Done",
    "Event",
    "Exchange",
    "Pipeline",
    "Reply",
    "Write",
]

T = TypeVar("T")

_unpack_header = NLMSGHDR.unpack_from
_pack_header = NLMSGHDR.pack
_BARRIER_FLAGS = NLM_F_REQUEST | NLM_F_ACK


class Reply(NamedTuple):
    """A data message answering a request (a dump entry or a get's reply)."""

    #: The sequence number of the request it answers.
    seq: int
    #: The genl command of the reply.
    command: int
    #: The decoded object (a :class:`~ipvs.Service`, ...), or None without a decoder.
    value: Any
    #: The attribute area; a view into the received data, valid until it is reused.
    attrs: memoryview


class Ack(NamedTuple):
    """An ``NLMSG_ERROR`` message: an acknowledgement (errno 0) or an error."""

    #: The sequence number of the request it answers.
    seq: int
    #: 0 for success, else the positive errno.
    errno: int
    #: The kernel's extended-acknowledgement text, if any.
    message: str | None = None
    #: The offset of the offending attribute in the request, if the kernel said.
    offset: int | None = None


class Done(NamedTuple):
    """``NLMSG_DONE``: the end of a dump."""

    #: The sequence number of the dump request.
    seq: int
    #: 0, or the positive errno the dump ended with.
    errno: int


#: What :meth:`Conversation.receive_data` returns, one per message.
Event = Reply | Ack | Done

_ACK, _DUMP, _GET = 0, 1, 2


class Exchange(Generic[T]):
    """One request and the replies that end it (see the module documentation).

    Build exchanges with :class:`Conversation`'s methods, send :attr:`data`,
    feed what arrives to :meth:`Conversation.receive_data` until :attr:`done`,
    then call :meth:`result`.

    Attributes:
        operation: the operation's name for errors (``"add_service"``, ...).
        object: the object concerned, for errors.
        seq: the request's sequence number.
        data: the bytes to send (the request, and the barrier if any).
        done: True once the kernel has answered completely.
        values: the decoded replies received so far.
        parts: how many datagrams carried its replies (not counting the end
            of a dump, which IPVS always sends in a datagram of its own).
    """

    __slots__ = (
        "_barrier",
        "_datagram",
        "_decode",
        "_error",
        "_finish",
        "_kind",
        "_typed",
        "data",
        "done",
        "object",
        "operation",
        "parts",
        "seq",
        "values",
    )

    def __init__(
        self,
        operation: str,
        obj: Any,
        seq: int,
        data: bytes,
        kind: int,
        decode: Callable[[memoryview], Any] | None,
        finish: Callable[[list[Any]], T],
        barrier: int | None = None,
        typed: Callable[[Ack], KernelError | None] | None = None,
    ) -> None:
        self.operation = operation
        self.object = obj
        self.seq = seq
        self.data = data
        self.done = False
        self.values: list[Any] = []
        # A dump whose replies took more than one datagram was built in several
        # steps, and other writers could change the table in between.
        self.parts = 0
        self._datagram = -1
        self._kind = kind
        self._decode = decode
        self._finish = finish
        self._barrier = barrier
        self._typed = typed
        self._error: Ack | None = None

    def __repr__(self) -> str:
        state = "done" if self.done else "waiting"
        return f"<Exchange {self.operation} seq={self.seq} {state}>"

    @property
    def seqs(self) -> tuple[int, ...]:
        """The sequence numbers this exchange listens to."""
        return (self.seq,) if self._barrier is None else (self.seq, self._barrier)

    def error(self) -> KernelError | None:
        """Return the typed error the kernel answered with, or None.

        Returns:
            The error (not raised), or None while there is none.
        """
        ack = self._error
        if ack is None:
            return None
        if self._typed is not None:
            err = self._typed(ack)
            if err is not None:
                return err
        return error_for(ack.errno, self.operation, self.object, kernel_message=ack.message)

    def result(self) -> T:
        """Return what the kernel answered, or raise its error.

        Returns:
            The result: None for a write, a list for a dump, an object for a get.

        Raises:
            KernelError: the typed error the kernel answered with.
            IPVSError: the exchange is not done yet.
        """
        if not self.done:
            raise IPVSError(f"{self.operation}: the exchange is not finished yet")
        err = self.error()
        if err is not None:
            raise err
        return self._finish(self.values)

    def _fail(self, errno: int, message: str | None = None) -> None:
        self._error = Ack(self.seq, errno, message)
        self.done = True

    def _receive(
        self, kind: int, flags: int, seq: int, payload: memoryview, datagram: int = 0
    ) -> Event | None:
        if kind == NLMSG_ERROR:
            if len(payload) < 4:
                raise DecodeError("truncated NLMSG_ERROR payload")
            ack = _ack_of(seq, flags, payload)
            if seq == self._barrier:
                self.done = True
            elif ack.errno:
                self._error = ack
                self.done = self._barrier is None
            elif self._kind != _DUMP:
                self.done = self._barrier is None
            return ack
        if kind == NLMSG_DONE:
            errno = -decode_done(payload)
            if not 0 <= errno <= 4095:
                raise DecodeError(f"invalid errno {-errno} in NLMSG_DONE")
            if errno:
                self._error = Ack(seq, errno)
            if self._kind == _DUMP:
                self.done = self._barrier is None
            return Done(seq, errno)
        if kind in (NLMSG_NOOP, NLMSG_OVERRUN):
            return None
        if len(payload) < 4:
            raise DecodeError("truncated generic netlink header")
        if datagram != self._datagram:
            self._datagram = datagram
            self.parts += 1
        attrs = payload[4:]
        value = None if self._decode is None else self._decode(attrs)
        self.values.append(value)
        if self._kind == _GET and not flags & NLM_F_MULTI:
            self.done = self._barrier is None
        return Reply(seq, payload[0], value, attrs)


def _ack_of(seq: int, flags: int, payload: memoryview) -> Ack:
    if payload[0] | payload[1] | payload[2] | payload[3] == 0:
        return Ack(seq, 0)  # the usual success: no need to decode further
    raw = decode_ack(flags, payload)
    error = -raw.error
    if not 0 < error <= 4095:
        raise DecodeError(f"invalid errno {raw.error} in NLMSG_ERROR")
    return Ack(seq, error, raw.message, raw.offset)


class Write(NamedTuple):
    """One write of a :class:`Pipeline`: an operation name and its objects.

    ``operation`` is one of ``add_service``, ``update_service``,
    ``delete_service`` (``service`` is a :class:`~ipvs.Service`, or a key to
    delete) and ``add_destination``, ``update_destination``,
    ``delete_destination`` (``service`` is the service or its key,
    ``destination`` the destination).
    """

    operation: str
    service: Service | ServiceKey
    destination: Destination | None = None

    @property
    def object(self) -> Any:
        """The object an error for this write names."""
        if self.destination is None:
            return self.service
        return (key_of(self.service), self.destination)


_DEST_COMMANDS = {
    "add_destination": Command.NEW_DEST,
    "update_destination": Command.SET_DEST,
    "delete_destination": Command.DEL_DEST,
}


class Pipeline:
    """Many writes sent without acknowledgements, then one barrier.

    Send :meth:`chunks` one after the other and feed whatever the kernel has
    answered to :meth:`Conversation.receive_data` between sends (the kernel
    handles each send before the call returns, so only failures are queued);
    once the last chunk is sent, keep feeding until :attr:`done`. Messages
    are encoded lazily into one reused buffer, so a pipeline of 100,000
    writes never holds them all in memory.

    Attributes:
        writes: the writes, in order.
        first_seq: the sequence number of write 0 (write ``i`` has ``first_seq + i``).
        barrier_seq: the barrier's sequence number.
        sent: how many writes the chunks produced so far have covered.
        done: True once the barrier is acknowledged.
        failures: the kernel's answers to failed writes, by index.
    """

    def __init__(self, conversation: Conversation, writes: Sequence[Write], first_seq: int) -> None:
        self._conversation = conversation
        self.writes = writes
        self.first_seq = first_seq
        self.barrier_seq = first_seq + len(writes)
        self.sent = 0
        self.done = False
        self.failures: dict[int, Ack] = {}

    def __len__(self) -> int:
        return len(self.writes)

    def __repr__(self) -> str:
        return f"<Pipeline {len(self.writes)} writes, {len(self.failures)} failed>"

    def chunks(self, limit: int = 1 << 20) -> Iterator[memoryview]:
        """Encode the writes and the barrier into send-sized chunks.

        Each chunk is a view into a buffer that the next chunk overwrites:
        send it before asking for the next one.

        Args:
            limit: the largest chunk in bytes (a single larger message is
                yielded alone).

        Yields:
            The chunks, the last one ending with the barrier.
        """
        conv = self._conversation
        family = conv.require_family()
        buf = conv._send_buffer(limit)
        out = memoryview(buf)
        size = count = 0
        seq = self.first_seq
        nests: dict[ServiceKey, bytes] = {}
        pack_dest = encode_dest
        dest_commands = _DEST_COMMANDS
        last_service: object = None
        nest = b""
        try:
            for write in self.writes:
                if not isinstance(write, Write):
                    raise ValidationError(f"pipeline: each write must be a Write, got {write!r}")
                operation, service, dest = write
                command = dest_commands.get(operation)
                if command is not None:
                    # a plan's destination writes come grouped by service: look the
                    # service's nest up once per group, not once per message
                    if service is not last_service:
                        key = service.key if isinstance(service, Service) else service
                        found = nests.get(key)
                        if found is None:
                            found = nests[key] = encode_service_key_nest(key)
                        nest, last_service = found, service
                    msg = pack_dest(family, command, seq, NLM_F_REQUEST, nest, _dest_of(dest))
                elif operation == "add_service":
                    msg = encode_new_service(family, seq, NLM_F_REQUEST, _service_of(service))
                elif operation == "update_service":
                    msg = encode_set_service(family, seq, NLM_F_REQUEST, _service_of(service))
                elif operation == "delete_service":
                    msg = encode_del_service(family, seq, NLM_F_REQUEST, service)
                else:
                    raise ValidationError(f"pipeline: unknown write {operation!r}")
                seq += 1
                n = len(msg)
                if size + n > limit and size:
                    self.sent += count
                    yield out[:size]
                    size = count = 0
                if n > limit:
                    self.sent += 1
                    yield memoryview(msg)
                    continue
                out[size : size + n] = msg
                size += n
                count += 1
            barrier = _pack_header(16, NLMSG_NOOP, _BARRIER_FLAGS, self.barrier_seq, 0)
            if size + 16 > limit:
                self.sent += count
                yield out[:size]
                size = count = 0
            out[size : size + 16] = barrier
            self.sent += count
            yield out[: size + 16]
        finally:
            out.release()

    def errors(self) -> list[KernelError]:
        """Return the typed error of every failed write, in order.

        Returns:
            The errors; each has an ``index`` attribute (its write's position).
        """
        result: list[KernelError] = []
        for index in sorted(self.failures):
            ack = self.failures[index]
            write = self.writes[index]
            err = error_for(ack.errno, write.operation, write.object, kernel_message=ack.message)
            err.index = index
            result.append(err)
        return result

    def _receive(self, kind: int, flags: int, seq: int, payload: memoryview) -> Event | None:
        if kind != NLMSG_ERROR:
            return None  # writes without NLM_F_ACK produce nothing else
        if len(payload) < 4:
            raise DecodeError("truncated NLMSG_ERROR payload")
        ack = _ack_of(seq, flags, payload)
        if seq == self.barrier_seq:
            if ack.errno:
                raise error_for(ack.errno, "barrier", kernel_message=ack.message)
            self.done = True
        elif ack.errno:
            self.failures[seq - self.first_seq] = ack
        return ack


def _service_of(obj: object) -> Service:
    if not isinstance(obj, Service):
        raise ValidationError(f"expected a Service, got {obj!r}")
    return obj


def _dest_of(obj: object) -> Destination:
    if not isinstance(obj, Destination):
        raise ValidationError(f"expected a Destination, got {obj!r}")
    return obj


def _none(_values: list[Any]) -> None:
    return None


def _all(values: list[Any]) -> list[Any]:
    return values


def _one(values: list[Any]) -> Any:
    if not values:
        raise DecodeError("the kernel sent no reply")
    return values[0]


def _family_id(attrs: memoryview) -> int:
    raw = parse_attrs(attrs).get(CTRL_ATTR_FAMILY_ID)
    if raw is None or len(raw) < 2:
        raise DecodeError("controller reply lacks a family id")
    family_id: int = U16.unpack_from(raw)[0]
    return family_id


def _u32(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise ValidationError(
            f"Conversation: {name} must be an integer 0..4294967295, got {value!r}"
        )
    return value


class Conversation:
    """The protocol state of one netlink socket talking to IPVS (no I/O).

    Every method that starts a request returns an :class:`Exchange` (or a
    :class:`Pipeline`) holding the bytes to send; :meth:`receive_data` takes
    whatever the socket received and routes each message to the request it
    answers, by sequence number. Several exchanges may be pending at once.
    The methods validate their arguments at once, before any bytes exist.

    Args:
        family_id: the IPVS generic netlink family id, if already known
            (else use :meth:`resolve_family` first).
        seq: the first sequence number (default: random).

    Example:
        >>> from ipvs import netlink
        >>> conv = netlink.Conversation(family_id=42, seq=100)
        >>> exchange = conv.flush()
        >>> exchange.data.hex()
        '140000002a000500640000000000000011010000'
        >>> conv.receive_data(bytes.fromhex(
        ...     "2400000002000001640000000000000000000000"
        ...     "140000002a0005006400000000000000"))
        [Ack(seq=100, errno=0, message=None, offset=None)]
        >>> exchange.done, exchange.result()
        (True, None)
    """

    def __init__(self, *, family_id: int | None = None, seq: int | None = None) -> None:
        if family_id is not None and (_u32("family_id", family_id) > 0xFFFF):
            raise ValidationError(f"Conversation: family_id must be 0..65535, got {family_id!r}")
        self.family_id = family_id
        if seq is None:
            self._seq = int.from_bytes(os.urandom(2), "little") << 8
        else:
            self._seq = _u32("seq", seq) - 1
        self._pending: dict[int, Exchange[Any]] = {}
        self._pipelines: list[Pipeline] = []
        self._sendbuf: bytearray | None = None
        self._datagrams = 0

    def __repr__(self) -> str:
        return f"<Conversation family_id={self.family_id} pending={len(self._pending)}>"

    # -- sequence numbers and state ------------------------------------------------

    def _reserve(self, count: int) -> int:
        """Reserve ``count`` consecutive sequence numbers (never wrapping inside)."""
        if self._seq + count + 1 > 0xFFFFFFFF:
            self._seq = 0
        first = self._seq + 1
        self._seq += count
        return first

    def _send_buffer(self, size: int) -> bytearray:
        buf = self._sendbuf
        if buf is None or len(buf) < size:
            buf = self._sendbuf = bytearray(size)
        return buf

    def require_family(self) -> int:
        """Return the family id.

        Returns:
            The IPVS family id.

        Raises:
            IPVSError: it is not known yet (see :meth:`resolve_family`).
        """
        if self.family_id is None:
            raise FamilyUnknown("the IPVS family id is not known: run resolve_family() first")
        return self.family_id

    @property
    def pending(self) -> int:
        """How many exchanges and pipelines wait for replies."""
        return len({id(e) for e in self._pending.values()}) + len(self._pipelines)

    def abandon(self, errno: int = E.ENOBUFS, message: str | None = None) -> None:
        """Fail everything pending (the socket lost replies, or the caller gave up).

        Args:
            errno: the error the pending exchanges end with; ENOBUFS (the
                kernel dropped replies) makes them raise
                :class:`~ipvs.errors.OutcomeUnknown`.
            message: text for the errors.
        """
        for exchange in list(self._pending.values()):
            exchange._fail(errno, message)
        self._pending.clear()
        self._pipelines.clear()

    def forget(self, exchange: Exchange[Any] | Pipeline) -> None:
        """Stop waiting for an exchange or pipeline; its late replies will be skipped.

        Args:
            exchange: what the caller gave up on (for example after an interrupt).
        """
        if isinstance(exchange, Pipeline):
            if exchange in self._pipelines:
                self._pipelines.remove(exchange)
            return
        for seq in exchange.seqs:
            if self._pending.get(seq) is exchange:
                del self._pending[seq]

    # -- receiving -----------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Take one datagram from the socket; route each message to its request.

        Args:
            data: the bytes of one ``recv`` (one or more netlink messages).

        Returns:
            One event per message that answers a pending request, in order.
            Messages for no pending request (late or foreign) are skipped.

        Raises:
            DecodeError: the data is malformed.
            KernelError: a pipeline's barrier failed.
        """
        try:
            mv = data if isinstance(data, memoryview) else memoryview(data)
            if mv.ndim != 1 or mv.itemsize != 1:
                mv = mv.cast("B")
        except TypeError:
            raise DecodeError(
                f"expected bytes from the socket, got {type(data).__name__}"
            ) from None
        pending = self._pending
        pipelines = self._pipelines
        events: list[Event] = []
        self._datagrams += 1
        datagram = self._datagrams
        end = len(mv)
        off = 0
        while off < end:
            if end - off < 16:
                raise DecodeError(f"truncated netlink header at offset {off}")
            length, kind, flags, seq, _pid = _unpack_header(mv, off)
            if length < 16 or length > end - off:
                raise DecodeError(f"invalid netlink message length {length} at offset {off}")
            payload = mv[off + 16 : off + length]
            off += (length + 3) & ~3
            exchange = pending.get(seq)
            if exchange is not None:
                event = exchange._receive(kind, flags, seq, payload, datagram)
                if exchange.done:
                    for s in exchange.seqs:
                        pending.pop(s, None)
            else:
                for pipeline in pipelines:
                    if pipeline.first_seq <= seq <= pipeline.barrier_seq:
                        event = pipeline._receive(kind, flags, seq, payload)
                        if pipeline.done:
                            pipelines.remove(pipeline)
                        break
                else:
                    continue
            if event is not None:
                events.append(event)
        return events

    # -- generic requests ----------------------------------------------------------

    def request(
        self,
        build: Callable[[int, int, int], bytes],
        *,
        operation: str = "request",
        obj: Any = None,
        dump: bool = False,
        ack: bool = True,
        decode: Callable[[memoryview], Any] | None = None,
        finish: Callable[[list[Any]], T] | None = None,
        barrier: bool = False,
        family: bool = True,
        typed: Callable[[Ack], KernelError | None] | None = None,
    ) -> Exchange[T]:
        """Start any request; the named methods below are built on this.

        Args:
            build: called with ``(family_id, seq, flags)``; returns the message
                (an ``encode_*`` function of this package fits).
            operation: the name errors use.
            obj: the object errors name.
            dump: a dump request (``NLM_F_DUMP``), ended by ``NLMSG_DONE``.
            ack: ask for an acknowledgement (ignored for dumps); without it
                the request ends with its first reply.
            decode: turns each reply's attribute area into a value.
            finish: turns the list of values into the result (default: the list).
            barrier: also send an acknowledged no-op that ends the exchange.
            family: the message needs the IPVS family id (False for the controller).
            typed: maps an error answer to a typed error (else :func:`~ipvs.errors.error_for`).

        Returns:
            The exchange.
        """
        family_id = self.require_family() if family else 0
        count = 2 if barrier else 1
        seq = self._reserve(count)
        flags = REQUEST_DUMP if dump else (REQUEST_ACK if ack else NLM_F_REQUEST)
        data = build(family_id, seq, flags)
        barrier_seq = None
        if barrier:
            barrier_seq = seq + 1
            data = bytes(data) + _pack_header(16, NLMSG_NOOP, _BARRIER_FLAGS, barrier_seq, 0)
        kind = _DUMP if dump else (_ACK if ack else _GET)
        exchange: Exchange[T] = Exchange(
            operation,
            obj,
            seq,
            data,
            kind,
            decode,
            finish if finish is not None else _all,  # type: ignore[arg-type]
            barrier_seq,
            typed,
        )
        self._pending[seq] = exchange
        if barrier_seq is not None:
            self._pending[barrier_seq] = exchange
        return exchange

    def resolve_family(self, name: str = GENL_NAME) -> Exchange[int]:
        """Ask the generic netlink controller for the IPVS family id.

        When the exchange ends, :attr:`family_id` is set.

        Args:
            name: the family name.

        Returns:
            An exchange whose result is the id; it raises
            :class:`~ipvs.errors.IPVSUnavailable` when the kernel has no IPVS.
        """

        def finish(values: list[Any]) -> int:
            if not values:
                raise IPVSUnavailable(E.ENOENT, message="no reply to the IPVS family lookup")
            family_id = int(values[0])
            self.family_id = family_id
            return family_id

        return self.request(
            lambda _f, seq, _flags: encode_get_family(name, seq),
            operation="resolve_family",
            ack=False,
            decode=_family_id,
            finish=finish,
            family=False,
            typed=_no_ipvs,
        )

    # -- reads -----------------------------------------------------------------------

    def info(self) -> Exchange[Info]:
        """``GET_INFO``: the IPVS version and connection table size."""
        return self.request(
            encode_get_info, operation="info", ack=False, decode=decode_info, finish=_one
        )

    def services(self) -> Exchange[list[Service]]:
        """``GET_SERVICE`` dump: every service, with statistics."""
        return self.request(
            encode_get_services, operation="services", dump=True, decode=decode_service
        )

    def service(self, service: Service | ServiceKey) -> Exchange[Service]:
        """``GET_SERVICE`` of one service (raises ServiceNotFound when absent).

        Args:
            service: the service or its key.
        """
        key = key_of(service)
        return self.request(
            lambda f, s, fl: encode_get_service(f, s, fl, key),
            operation="service",
            obj=key,
            ack=False,
            decode=decode_service,
            finish=_one,
        )

    def destinations(self, service: Service | ServiceKey) -> Exchange[list[Destination]]:
        """``GET_DEST`` dump of one service's destinations, in the kernel's order.

        The kernel answers an unknown service with an empty dump, not an error.

        Args:
            service: the service or its key.
        """
        key = key_of(service)
        family = int(key.family)
        return self.request(
            lambda f, s, fl: encode_get_dests(f, s, fl, key),
            operation="destinations",
            obj=key,
            dump=True,
            decode=lambda attrs: decode_destination(attrs, family),
        )

    def timeouts(self) -> Exchange[Timeouts]:
        """``GET_CONFIG``: the TCP, TCP FIN and UDP timeouts."""
        return self.request(
            encode_get_config, operation="timeouts", ack=False, decode=decode_timeouts, finish=_one
        )

    def daemons(self) -> Exchange[list[SyncDaemon]]:
        """``GET_DAEMON`` dump: the running sync daemons."""
        return self.request(
            encode_get_daemons, operation="daemons", dump=True, decode=decode_daemon
        )

    # -- writes ----------------------------------------------------------------------

    def add_service(self, service: Service) -> Exchange[None]:
        """``NEW_SERVICE``. Args: service: the service."""
        s = _service_of(service)
        return self._write("add_service", s, lambda f, q, fl: encode_new_service(f, q, fl, s))

    def update_service(self, service: Service) -> Exchange[None]:
        """``SET_SERVICE``. Args: service: the service with its new settings."""
        s = _service_of(service)
        return self._write("update_service", s, lambda f, q, fl: encode_set_service(f, q, fl, s))

    def delete_service(self, service: Service | ServiceKey) -> Exchange[None]:
        """``DEL_SERVICE``. Args: service: the service or its key."""
        k = key_of(service)
        return self._write("delete_service", k, lambda f, q, fl: encode_del_service(f, q, fl, k))

    def add_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> Exchange[None]:
        """``NEW_DEST``. Args: service: the service or its key. destination: the destination."""
        k, d = key_of(service), _dest_of(destination)
        return self._write(
            "add_destination", (k, d), lambda f, q, fl: encode_new_dest(f, q, fl, k, d)
        )

    def update_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> Exchange[None]:
        """``SET_DEST``. Args: service: the service or its key. destination: its new settings."""
        k, d = key_of(service), _dest_of(destination)
        return self._write(
            "update_destination", (k, d), lambda f, q, fl: encode_set_dest(f, q, fl, k, d)
        )

    def delete_destination(
        self, service: Service | ServiceKey, destination: Destination
    ) -> Exchange[None]:
        """``DEL_DEST``. Args: service: the service or its key. destination: the destination."""
        k, d = key_of(service), _dest_of(destination)
        return self._write(
            "delete_destination", (k, d), lambda f, q, fl: encode_del_dest(f, q, fl, k, d)
        )

    def set_timeouts(self, timeouts: Timeouts) -> Exchange[None]:
        """``SET_CONFIG``. Args: timeouts: the new timeouts (0 leaves one unchanged)."""
        if not isinstance(timeouts, Timeouts):
            raise ValidationError(f"expected Timeouts, got {timeouts!r}")
        return self._write(
            "set_timeouts", timeouts, lambda f, q, fl: encode_set_config(f, q, fl, timeouts)
        )

    def start_daemon(self, daemon: SyncDaemon) -> Exchange[None]:
        """``NEW_DAEMON``, with a barrier. Args: daemon: its settings."""
        if not isinstance(daemon, SyncDaemon):
            raise ValidationError(f"expected SyncDaemon, got {daemon!r}")
        return self._write(
            "start_daemon",
            daemon,
            lambda f, q, fl: encode_new_daemon(f, q, fl, daemon),
            barrier=True,
        )

    def stop_daemon(self, state: DaemonState) -> Exchange[None]:
        """``DEL_DAEMON``, with a barrier (the kernel may answer nothing: EINTR).

        Args:
            state: which daemon.
        """
        if not isinstance(state, DaemonState):
            raise ValidationError(f"expected a DaemonState, got {state!r}")
        return self._write(
            "stop_daemon", state, lambda f, q, fl: encode_del_daemon(f, q, fl, state), barrier=True
        )

    def zero(self, service: Service | ServiceKey | None = None) -> Exchange[None]:
        """``ZERO``. Args: service: the service, or None for every counter."""
        k = None if service is None else key_of(service)
        return self._write("zero", k, lambda f, q, fl: encode_zero(f, q, fl, k))

    def flush(self) -> Exchange[None]:
        """``FLUSH``: delete every service."""
        return self._write("flush", None, encode_flush)

    def _write(
        self,
        operation: str,
        obj: Any,
        build: Callable[[int, int, int], bytes],
        *,
        barrier: bool = False,
    ) -> Exchange[None]:
        return self.request(build, operation=operation, obj=obj, finish=_none, barrier=barrier)

    def pipeline(self, writes: Sequence[Write]) -> Pipeline:
        """Start a pipeline of writes (see :class:`Pipeline`).

        Args:
            writes: the writes, in order; indexable, since failures are looked
                up by position (a lazy sequence is fine).

        Returns:
            The pipeline.
        """
        self.require_family()
        if not isinstance(writes, Sequence) or isinstance(writes, (str, bytes)):
            raise ValidationError(f"pipeline: expected a sequence of writes, got {writes!r}")
        first = self._reserve(len(writes) + 1)
        pipeline = Pipeline(self, writes, first)
        self._pipelines.append(pipeline)
        return pipeline


def _no_ipvs(ack: Ack) -> KernelError | None:
    if ack.errno != E.ENOENT:
        return None
    return IPVSUnavailable(
        E.ENOENT,
        message="the kernel has no IPVS: the generic netlink family 'IPVS' is "
        "not registered (load the ip_vs module: modprobe ip_vs)",
    )
