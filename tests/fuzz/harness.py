"""A fuzz harness for what the kernel sends: every decoder, and a live Conversation.

Inputs (plain :mod:`random`, seeded, for volume):

* real kernel datagrams (``tests/data/ipvs_vectors.json``: dumps of services,
  destinations, daemons, config and info captured from Linux 6.1) and
  hand-built acknowledgements, errors and dump ends, re-addressed to the
  sequence numbers the conversation waits for, combined, then mutated (bit
  flips, interesting bytes and integers, corrupted length fields,
  truncation, insertion, deletion, splicing);
* netlink messages with random header fields and payloads;
* random bytes.

Targets:

* ``decoders``: every decoder of :mod:`ipvs.netlink` (framing, acks, dump
  ends, the genl header, the controller's reply, services, destinations for
  each family, daemons, timeouts, info, requests), fed each message of the
  input and the raw input;
* ``conversation``: a :class:`~ipvs.netlink.Conversation` with an exchange
  of every kind pending (dumps, gets, an acknowledged write, a write with a
  barrier, the family lookup) and two pipelines, fed the input as one to
  three datagrams; afterwards every finished exchange's ``result()`` and
  every pipeline's ``errors()``;
* ``flows``: the clients' flows (``snapshot``, ``apply`` with its pipeline,
  rollback and verification, ``destinations``), run step by step as
  :class:`ipvs.Client` runs them, each step answered with the next fuzzed
  datagram (re-addressed to the step) and then a well-formed end.

Allowed outcomes: a value, or :class:`~ipvs.errors.DecodeError`; from the
conversation also a :class:`~ipvs.errors.KernelError` raised by
``receive_data`` when a pipeline's barrier fails, and the typed
:class:`~ipvs.errors.KernelError` a finished exchange's ``result()`` raises
for the kernel's error; from the flows also :class:`~ipvs.errors.ApplyError`
(a plan failed and was rolled back) and :class:`NoAnswer` (a step the fuzzed
kernel never finished). Anything else is a finding, reported with the input.

Run ``scripts/fuzz [N]`` (default 10**6 inputs) for the counts by outcome;
``tests/fuzz/test_fuzz.py`` runs a short run in the host tests.
"""

from __future__ import annotations

import collections
import errno as E
import json
import pathlib
import random
import struct
import traceback
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import attrs

from ipvs import DaemonState, Destination, Family, Service, ServiceKey, Table
from ipvs._client import _flows
from ipvs.errors import ApplyError, DecodeError, IPVSError, KernelError
from ipvs.netlink import (
    NLM_F_ACK_TLVS,
    NLM_F_CAPPED,
    NLM_F_MULTI,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    Conversation,
    Write,
    decode_ack,
    decode_daemon,
    decode_destination,
    decode_done,
    decode_family_id,
    decode_info,
    decode_request,
    decode_service,
    decode_timeouts,
    encode_new_dest,
    encode_new_service,
    iter_attrs,
    iter_messages,
    parse_attrs,
    split_genl,
)

__all__ = [
    "KNOWN_BUGS",
    "Finding",
    "NoAnswer",
    "Report",
    "Target",
    "datagrams",
    "known_bug",
    "run",
    "seeds",
]

VECTORS = pathlib.Path(__file__).parent.parent / "data" / "ipvs_vectors.json"
FAMILY_ID = 28  # the captured vectors' IPVS family id
FIRST_SEQ = 1000

WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
DEST = Destination(address="10.1.0.1", port=8080, forward="masq")
DEST6 = Destination(address="2001:db8::2", port=53, forward="tunnel")

_HEADER = struct.Struct("=IHHII")
_I32 = struct.Struct("=i")

#: Values that often break decoders, as 1, 2 and 4 byte integers.
INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFF)
INTERESTING_16 = (0, 1, 3, 4, 5, 15, 16, 17, 20, 0x7FFF, 0x8000, 0xFFFF)
INTERESTING_32 = (0, 1, 4, 16, 20, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFF001, 0xFFFFF000)
#: Error codes for NLMSG_ERROR and NLMSG_DONE (as the kernel writes them, negative).
ERRNOS = (
    0,
    -E.EPERM,
    -E.ENOENT,
    -E.ESRCH,
    -E.EINTR,
    -E.EEXIST,
    -E.EINVAL,
    -E.ENOBUFS,
    -E.EOPNOTSUPP,
    -4095,
    -4096,
    -(2**31),
    2**31 - 1,
    1,
    5,
)


# --------------------------------------------------------------------------- the targets


class Target:
    """One thing fuzzed: a name, what to run, and which exceptions are fine."""

    def __init__(
        self,
        name: str,
        run: Callable[[list[bytes]], Iterator[tuple[str, Callable[[], Any]]]],
        allowed: tuple[type[BaseException], ...],
    ) -> None:
        self.name = name
        self.run = run
        self.allowed = allowed


def _listed(func: Callable[[Any], Iterator[Any]], data: Any) -> list[Any]:
    return list(func(data))


def _decoder_calls(chunks: list[bytes]) -> Iterator[tuple[str, Callable[[], Any]]]:
    """Every decoder, on each message of the input and on the raw input."""
    data = b"".join(chunks)
    yield "iter_messages", partial(_listed, iter_messages, data)
    yield "decode_request", partial(decode_request, data)
    areas = [memoryview(data)]
    try:
        messages = list(iter_messages(data))
    except DecodeError:
        messages = []
    for msg in messages:
        payload = msg.payload
        yield "decode_ack", partial(decode_ack, msg.flags, payload)
        yield "decode_done", partial(decode_done, payload)
        yield "split_genl", partial(split_genl, payload)
        yield "decode_family_id", partial(decode_family_id, payload)
        areas.append(payload[4:])
    for area in areas:
        yield "parse_attrs", partial(parse_attrs, area)
        yield "iter_attrs", partial(_listed, iter_attrs, area)
        yield "decode_service", partial(decode_service, area)
        for family in (Family.INET, Family.INET6, 0, 99):
            yield "decode_destination", partial(decode_destination, area, family)
        yield "decode_daemon", partial(decode_daemon, area)
        yield "decode_timeouts", partial(decode_timeouts, area)
        yield "decode_info", partial(decode_info, area)


def conversation() -> tuple[Conversation, list[Any], list[Any]]:
    """A conversation waiting for an answer of every kind (sequence numbers 1000..1019)."""
    conv = Conversation(family_id=FAMILY_ID, seq=FIRST_SEQ)
    exchanges = [
        conv.services(),  # 1000: dump
        conv.destinations(WEB.key),  # 1001: dump, IPv4
        conv.destinations(ServiceKey.mark(7, "inet6")),  # 1002: dump, IPv6
        conv.info(),  # 1003: get
        conv.timeouts(),  # 1004: get
        conv.daemons(),  # 1005: dump
        conv.add_service(WEB),  # 1006: acknowledged write
        conv.stop_daemon(DaemonState.MASTER),  # 1007, barrier 1008
        conv.service(WEB.key),  # 1009: get
        conv.resolve_family(),  # 1010: controller get
    ]
    pipelines = [
        conv.pipeline(  # 1011..1013, barrier 1014
            [
                Write("add_service", WEB),
                Write("add_destination", WEB, DEST),
                Write("delete_service", WEB.key),
            ]
        ),
        conv.pipeline([Write("add_destination", WEB.key, DEST6)]),  # 1015, barrier 1016
    ]
    return conv, exchanges, pipelines


#: The sequence numbers :func:`conversation` waits for (and a few it does not).
SEQS = (*range(FIRST_SEQ, FIRST_SEQ + 17), 0, FIRST_SEQ - 1, FIRST_SEQ + 17, 0xFFFFFFFF)


def _conversation_calls(chunks: list[bytes]) -> Iterator[tuple[str, Callable[[], Any]]]:
    conv, exchanges, pipelines = conversation()
    for chunk in chunks:
        yield "receive_data", partial(conv.receive_data, chunk)
    for exchange in exchanges:
        if exchange.done:
            yield "result", exchange.result
    for pipeline in pipelines:
        yield "pipeline.errors", pipeline.errors


class NoAnswer(IPVSError):
    """The fuzzed kernel did not finish a step (a real client would wait, or time out)."""


def _answer(conv: Conversation, seqs: range | tuple[int, ...], chunks: Iterator[bytes]) -> None:
    """Feed the next fuzzed datagram re-addressed to ``seqs``, then a proper end."""
    chunk = next(chunks, None)
    if chunk is not None:
        data = bytearray(chunk)
        if len(data) >= 16:  # the first message's seq: the step's
            struct.pack_into("=I", data, 8, seqs[len(data) % len(seqs)])
        conv.receive_data(bytes(data))
    for seq in seqs:
        conv.receive_data(done(seq) + ack(seq, 0))


def _drive(conv: Conversation, flow: Any, chunks: Iterator[bytes]) -> Any:
    """Run a client flow as Client._drive does, the kernel's part played by fuzzed data."""
    value: Any = None
    error: IPVSError | None = None
    while True:
        try:
            step = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        try:
            if isinstance(step, _flows.PipelineStep):
                pipeline = step.pipeline
                for _chunk in pipeline.chunks():
                    pass
                _answer(conv, range(pipeline.first_seq, pipeline.barrier_seq + 1), chunks)
                if not pipeline.done:
                    conv.forget(pipeline)
                    raise NoAnswer("the pipeline was not answered")
                value, error = pipeline, None
            else:
                _answer(conv, step.seqs, chunks)
                if not step.done:
                    conv.forget(step)
                    raise NoAnswer(f"{step.operation} was not answered")
                value, error = step.result(), None
        except IPVSError as exc:
            value, error = None, exc


_DESIRED = Table(
    [
        (WEB, [DEST, Destination(address="10.1.0.2", port=8080, forward="masq")]),
        (Service.udp("2001:db8::1", 53), [DEST6]),
    ]
)


def _flow_calls(chunks: list[bytes]) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The clients' flows (snapshot, apply with rollback, destinations) over fuzzed replies."""
    conv = Conversation(family_id=FAMILY_ID, seq=FIRST_SEQ)
    feed = iter(chunks)
    which = sum(len(c) for c in chunks) % 4
    if which == 0:
        yield "snapshot", partial(_drive, conv, _flows.snapshot(conv), feed)
    elif which == 1:
        yield "apply", partial(_drive, conv, _flows.apply(conv, _DESIRED), feed)
    elif which == 2:
        yield "apply-verify", partial(_drive, conv, _flows.apply(conv, _DESIRED, verify=True), feed)
    else:
        yield "destinations", partial(_drive, conv, _flows.destinations(conv, WEB.key), feed)


TARGETS = (
    Target("decoders", _decoder_calls, (DecodeError,)),
    Target("conversation", _conversation_calls, (DecodeError, KernelError)),
    Target("flows", _flow_calls, (DecodeError, KernelError, ApplyError, NoAnswer)),
)


# --------------------------------------------------------------------------- the inputs


def _messages(datagram: bytes) -> list[bytes]:
    out = []
    for msg in iter_messages(datagram):
        body = bytes(msg.payload)
        out.append(_HEADER.pack(16 + len(body), msg.type, msg.flags, msg.seq, msg.pid) + body)
    return out


def _pad(msg: bytes) -> bytes:
    return msg + b"\0" * (-len(msg) % 4)


def ack(seq: int, error: int, text: bytes | None = None, offset: int | None = None) -> bytes:
    """An NLMSG_ERROR message as the kernel sends it (capped echo, optional TLVs)."""
    flags = NLM_F_CAPPED
    tlvs = b""
    if text is not None:
        tlvs += _nla(1, text)
    if offset is not None:
        tlvs += _nla(2, struct.pack("=I", offset))
    if tlvs:
        flags |= NLM_F_ACK_TLVS
    echo = _HEADER.pack(36, FAMILY_ID, 5, seq, 0)
    payload = _I32.pack(error) + echo + tlvs
    return _HEADER.pack(16 + len(payload), NLMSG_ERROR, flags, seq, 0) + payload


def done(seq: int, error: int = 0) -> bytes:
    """An NLMSG_DONE message."""
    return _HEADER.pack(20, NLMSG_DONE, NLM_F_MULTI, seq, 0) + _I32.pack(error)


def _nla(atype: int, payload: bytes) -> bytes:
    return _pad(struct.pack("=HH", 4 + len(payload), atype) + payload)


def seeds() -> list[bytes]:
    """Well-formed messages: captured kernel replies and built acks, ends and requests."""
    data = json.loads(VECTORS.read_text())
    out: list[bytes] = []
    for scenario in data["scenarios"].values():
        for name, value in scenario["replies"].items():
            datagrams = value.values() if isinstance(value, dict) else [value]
            if name == "family_id":
                continue
            for group in datagrams:
                for text in group:
                    out += _messages(bytes.fromhex(text))
    family = _HEADER.pack(28, 0x10, 0, 1, 0) + bytes([1, 2, 0, 0]) + _nla(1, b"\x1c\x00")
    out += [
        ack(1, 0),
        ack(1, -E.EINVAL, b"bad scheduler\0", 40),
        ack(1, -E.ENOENT),
        done(1),
        done(1, -E.EBUSY),
        _HEADER.pack(16, NLMSG_NOOP, 0, 1, 0),
        _HEADER.pack(16, NLMSG_OVERRUN, 0, 1, 0),
        family,
        encode_new_service(FAMILY_ID, 1, 5, WEB),
        encode_new_dest(FAMILY_ID, 1, 5, WEB.key, DEST),
    ]
    return out


def _readdress(msg: bytes, seq: int) -> bytes:
    return msg[:8] + struct.pack("=I", seq) + msg[12:] if len(msg) >= 16 else msg


def _random_message(rnd: random.Random) -> bytes:
    kind = rnd.choice((NLMSG_ERROR, NLMSG_DONE, NLMSG_NOOP, NLMSG_OVERRUN, FAMILY_ID, 0x10))
    kind = kind if rnd.random() < 0.9 else rnd.randrange(0x10000)
    seq = rnd.choice(SEQS)
    if kind == NLMSG_ERROR and rnd.random() < 0.7:
        text = None if rnd.random() < 0.5 else rnd.randbytes(rnd.randrange(12))
        offset = None if rnd.random() < 0.5 else rnd.choice(INTERESTING_32)
        return ack(seq, rnd.choice(ERRNOS), text, offset)
    if kind == NLMSG_DONE and rnd.random() < 0.7:
        return done(seq, rnd.choice(ERRNOS))
    flags = rnd.choice((0, NLM_F_MULTI, NLM_F_CAPPED, NLM_F_ACK_TLVS | NLM_F_CAPPED))
    flags = flags if rnd.random() < 0.9 else rnd.randrange(0x10000)
    payload = rnd.randbytes(rnd.randrange(48))
    if rnd.random() < 0.5:  # a genl header and attributes
        attrs = b"".join(
            _nla(rnd.randrange(16) | rnd.choice((0, 0x8000)), rnd.randbytes(rnd.randrange(20)))
            for _ in range(rnd.randrange(4))
        )
        payload = bytes([rnd.randrange(12), 1, 0, 0]) + attrs
    return _HEADER.pack(16 + len(payload), kind, flags, seq, 0) + payload


def _pack_int(buf: bytearray, pos: int, size: int, value: int) -> None:
    fmt = {1: "=B", 2: "=H", 4: "=I"}[size]
    if pos + size <= len(buf):
        struct.pack_into(fmt, buf, pos, value & ((1 << (8 * size)) - 1))


def mutate(data: bytes, rnd: random.Random, pool: list[bytes]) -> bytes:
    """Apply one to three random mutations."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 3)):
        how = rnd.randrange(10)
        if not buf:
            buf += rnd.randbytes(rnd.randrange(1, 24))
            continue
        pos = rnd.randrange(len(buf))
        if how == 0:  # bit flips
            for _ in range(rnd.randint(1, 4)):
                p = rnd.randrange(len(buf))
                buf[p] ^= 1 << rnd.randrange(8)
        elif how == 1:  # an interesting byte
            buf[pos] = rnd.choice(INTERESTING_8)
        elif how == 2:  # a length or type field (they sit at 4-byte boundaries)
            _pack_int(buf, pos & ~3, 2, rnd.choice(INTERESTING_16))
        elif how == 3:  # the other half of an attribute header
            _pack_int(buf, (pos & ~3) + 2, 2, rnd.choice(INTERESTING_16))
        elif how == 4:  # a 32-bit value
            _pack_int(buf, pos & ~3, 4, rnd.choice(INTERESTING_32))
        elif how == 5:  # truncate
            del buf[pos:]
        elif how == 6:  # insert bytes
            buf[pos:pos] = rnd.randbytes(rnd.randint(1, 8))
        elif how == 7:  # delete bytes
            del buf[pos : pos + rnd.randint(1, 8)]
        elif how == 8:  # splice another seed in
            other = rnd.choice(pool)
            start = rnd.randrange(len(other))
            buf[pos:pos] = other[start : start + rnd.randint(4, 64)]
        else:  # a random byte
            buf[pos] = rnd.randrange(256)
    return bytes(buf)


def datagrams(rnd: random.Random, pool: list[bytes]) -> list[bytes]:
    """One input: one to three datagrams, of one to four messages each."""
    out = []
    for _ in range(rnd.choice((1, 1, 2, 3))):
        choice = rnd.random()
        if choice < 0.05:
            out.append(rnd.randbytes(rnd.randrange(96)))
            continue
        parts = []
        for _ in range(rnd.choice((1, 1, 2, 3, 4))):
            if rnd.random() < 0.6:
                parts.append(_pad(_readdress(rnd.choice(pool), rnd.choice(SEQS))))
            else:
                parts.append(_pad(_random_message(rnd)))
        data = b"".join(parts)
        if choice < 0.85:
            data = mutate(data, rnd, pool)
        out.append(data)
    return out


# --------------------------------------------------------------------------- running


#: Findings already reported, each reproduced by a strict xfail test in
#: tests/fuzz/test_fuzz.py: (name, the start of the error, a line of its
#: traceback). Delete an entry once its bug is fixed (the xfail test then
#: fails as a reminder).
#: Findings known and not fixed yet: (name, exception type, where). Both found so
#: far (NLMSG_DONE's errno out of range; a dump listing an entry twice) are fixed.
KNOWN_BUGS: tuple[tuple[str, str, str], ...] = ()


def known_bug(finding: Finding) -> str | None:
    """The name of the known bug a finding is, or None for a new one."""
    for name, error, where in KNOWN_BUGS:
        if finding.error.startswith(error) and where in finding.traceback:
            return name
    return None


@attrs.frozen
class Finding:
    """An outcome outside the allowed ones: the input, the call, and the traceback."""

    target: str
    call: str
    index: int
    seed: int
    data: tuple[bytes, ...]
    error: str
    traceback: str

    @property
    def kind(self) -> tuple[str, str, str]:
        """What kind of finding: target, call and exception type."""
        return (self.target, self.call, self.error.partition(":")[0])

    def describe(self) -> str:
        """Text to reproduce it."""
        hexes = ", ".join(f"bytes.fromhex({d.hex()!r})" for d in self.data)
        return (
            f"{self.target}: {self.call} raised {self.error} on input {self.index} "
            f"(seed {self.seed}): [{hexes}]\n{self.traceback}"
        )


@attrs.define
class Report:
    """Counts of outcomes (``ok`` or the exception's type), per target and per call."""

    inputs: int = 0
    calls: int = 0
    #: target -> outcome -> count
    outcomes: dict[str, collections.Counter[str]] = attrs.field(factory=dict)
    #: target -> (call, outcome) -> count
    details: dict[str, collections.Counter[tuple[str, str]]] = attrs.field(factory=dict)
    #: The first findings of each kind (target, call, exception type), three at most.
    findings: list[Finding] = attrs.field(factory=list)
    #: How many findings there were, of every kind.
    finding_count: int = 0

    def count(self, target: str, call: str, outcome: str) -> None:
        """Count one call's outcome."""
        self.calls += 1
        self.outcomes.setdefault(target, collections.Counter())[outcome] += 1
        self.details.setdefault(target, collections.Counter())[call, outcome] += 1

    def merge(self, other: Report) -> None:
        """Add another report's counts (from another process)."""
        self.inputs += other.inputs
        self.calls += other.calls
        for target, counts in other.outcomes.items():
            self.outcomes.setdefault(target, collections.Counter()).update(counts)
        for target, detail in other.details.items():
            self.details.setdefault(target, collections.Counter()).update(detail)
        for finding in other.findings:
            self.keep(finding)
        self.finding_count += other.finding_count - len(other.findings)

    def keep(self, finding: Finding) -> None:
        """Count a finding; keep it if fewer than three of its kind are kept."""
        self.finding_count += 1
        kind = finding.kind
        if sum(f.kind == kind for f in self.findings) < 3:
            self.findings.append(finding)

    def format(self, *, details: bool = False) -> str:
        """The counts as text: per target, each outcome; with ``details``, per call too."""
        lines = [f"inputs: {self.inputs:,}  calls: {self.calls:,}"]
        for target, counts in sorted(self.outcomes.items()):
            lines.append(f"{target}: {sum(counts.values()):,} calls")
            for outcome, n in counts.most_common():
                lines.append(f"  {outcome:<36} {n:>13,}")
            if details:
                for (call, outcome), n in sorted(self.details[target].items()):
                    lines.append(f"    {call + ': ' + outcome:<48} {n:>11,}")
        lines.append(f"findings (outcomes outside the allowed ones): {self.finding_count:,}")
        return "\n".join(lines)


def _outcome(exc: BaseException) -> str:
    return type(exc).__name__


def run(count: int, seed: int = 0, *, targets: tuple[Target, ...] = TARGETS) -> Report:
    """Fuzz ``count`` inputs from ``seed`` through every target.

    Args:
        count: how many inputs.
        seed: the random seed (the same seed gives the same inputs).
        targets: what to fuzz.

    Returns:
        The counts, and the first findings of each kind.
    """
    rnd = random.Random(seed)
    pool = seeds()
    report = Report()
    for index in range(count):
        data = datagrams(rnd, pool)
        report.inputs += 1
        for target in targets:
            calls = target.run(data)
            while True:
                try:
                    name, call = next(calls)
                except StopIteration:
                    break
                except Exception as exc:  # the target's own set-up failed
                    report.count(target.name, "setup", _outcome(exc))
                    _keep(report, target, "setup", index, seed, data, exc)
                    break
                try:
                    call()
                except target.allowed as exc:
                    report.count(target.name, name, _outcome(exc))
                except Exception as exc:
                    report.count(target.name, name, _outcome(exc))
                    _keep(report, target, name, index, seed, data, exc)
                else:
                    report.count(target.name, name, "ok")
    return report


def _keep(
    report: Report,
    target: Target,
    call: str,
    index: int,
    seed: int,
    data: list[bytes],
    exc: Exception,
) -> None:
    report.keep(
        Finding(
            target=target.name,
            call=call,
            index=index,
            seed=seed,
            data=tuple(data),
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
        )
    )
