"""A short fuzz run in the host tests (``scripts/fuzz`` runs the long one), and its checks.

``IPVS_FUZZ_INPUTS`` sets the size of the short run (default 5,000 inputs,
a few seconds).
"""

from __future__ import annotations

import contextlib
import errno as E
import os
import struct
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ipvs._client import _flows
from ipvs.errors import DecodeError, KernelError
from ipvs.netlink import (
    NLM_F_MULTI,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    Conversation,
    encode_new_dest,
    encode_service_nest,
    iter_messages,
)
from tests.fuzz import harness
from tests.fuzz.harness import Finding, Report, Target, conversation, known_bug, run

INPUTS = int(os.environ.get("IPVS_FUZZ_INPUTS", "5000"))


def new_findings(report: Report) -> list[str]:
    return [f.describe() for f in report.findings if known_bug(f) is None]


def test_short_run_raises_only_allowed_errors() -> None:
    report = run(INPUTS, seed=20260)
    assert new_findings(report) == []
    assert report.inputs == INPUTS
    # The run reaches every decoder with inputs it accepts and inputs it refuses,
    # finishes exchanges with values and with typed kernel errors, and feeds
    # the conversation datagrams it takes.
    decoders = report.details["decoders"]
    for name in (
        "iter_messages",
        "decode_ack",
        "decode_done",
        "split_genl",
        "decode_family_id",
        "parse_attrs",
        "iter_attrs",
        "decode_service",
        "decode_destination",
        "decode_daemon",
        "decode_timeouts",
        "decode_info",
        "decode_request",
    ):
        assert decoders[name, "ok"] > 0, name
        assert decoders[name, "DecodeError"] > 0, name
    conv = report.details["conversation"]
    assert conv["receive_data", "ok"] > 0
    assert conv["receive_data", "DecodeError"] > 0
    assert conv["result", "ok"] > 0
    typed = {o for (call, o), n in conv.items() if call == "result" and o.endswith("Error")}
    assert {"KernelError", "DecodeError"} <= typed
    flows = report.details["flows"]
    for name in ("snapshot", "apply", "destinations"):
        assert flows[name, "ok"] > 0, name
        assert flows[name, "DecodeError"] > 0, name


def test_the_same_seed_gives_the_same_run() -> None:
    a, b = run(200, seed=7), run(200, seed=7)
    assert a.outcomes == b.outcomes and a.details == b.details
    assert run(200, seed=8).details != a.details


def test_seeds_are_well_formed_messages() -> None:
    seeds = harness.seeds()
    assert len(seeds) > 30
    for seed in seeds:
        (msg,) = iter_messages(seed)
        assert 16 + len(msg.payload) == len(seed)


def test_a_planted_bug_is_found_and_allowed_errors_are_not() -> None:
    def calls(chunks: list[bytes]) -> Iterator[tuple[str, Callable[[], Any]]]:
        data = b"".join(chunks)

        def decoder() -> None:
            if len(data) % 3 == 0:
                raise TypeError("planted")
            raise DecodeError("fine")

        yield "planted", decoder

    report = run(300, seed=1, targets=(Target("planted", calls, (DecodeError,)),))
    counts = report.outcomes["planted"]
    assert counts["TypeError"] > 0 and counts["DecodeError"] > 0
    assert report.finding_count == counts["TypeError"]
    assert {f.error for f in report.findings} == {"TypeError: planted"}
    assert len(report.findings) == 3  # three kept of each kind
    assert known_bug(report.findings[0]) is None
    assert "bytes.fromhex(" in report.findings[0].describe()


def test_known_bugs_match_only_their_own_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    def finding(error: str, traceback: str) -> Finding:
        return Finding("conversation", "result", 0, 0, (b"",), error, traceback)

    where = 'File "ipvs/errors.py", line 250, in error_for'
    assert known_bug(finding("OverflowError: x", where)) is None  # none is known today
    monkeypatch.setattr(harness, "KNOWN_BUGS", (("a-bug", "OverflowError", "in error_for"),))
    assert known_bug(finding("OverflowError: x", where)) == "a-bug"
    assert known_bug(finding("OverflowError: x", "in receive_data")) is None
    assert known_bug(finding("TypeError: x", where)) is None


# --------------------------------------------------------------------------- structured


SEQS = st.sampled_from(harness.SEQS)
ERRNOS = st.sampled_from(harness.ERRNOS) | st.integers(-(2**31), 2**31 - 1)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["ack", "done", "seed", "raw", "noop"]))
    seq = draw(SEQS)
    if kind == "ack":
        text = draw(st.none() | st.binary(max_size=16))
        offset = draw(st.none() | st.integers(0, 2**32 - 1))
        return harness.ack(seq, draw(ERRNOS), text, offset)
    if kind == "done":
        return harness.done(seq, draw(ERRNOS))
    if kind == "seed":
        seed = draw(st.sampled_from(harness.seeds()))
        return seed[:8] + struct.pack("=I", seq) + seed[12:]
    if kind == "noop":
        return struct.pack("=IHHII", 16, NLMSG_NOOP, 0, seq, 0)
    mtype = draw(st.sampled_from([NLMSG_ERROR, NLMSG_DONE, harness.FAMILY_ID, 0x10]))
    flags = draw(st.integers(0, 0xFFFF))
    payload = draw(st.binary(max_size=64))
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload


def padded(msg: bytes) -> bytes:
    return msg + b"\0" * (-len(msg) % 4)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(messages(), min_size=1, max_size=4), min_size=1, max_size=3))
def test_structured_datagrams_to_a_conversation(datagrams: list[list[bytes]]) -> None:
    """Well-framed messages of every kind, in any order, to every pending request."""
    conv, exchanges, pipelines = conversation()
    for datagram in datagrams:
        with contextlib.suppress(DecodeError, KernelError):
            conv.receive_data(b"".join(padded(m) for m in datagram))
    for exchange in exchanges:
        if exchange.done:
            try:
                exchange.result()
            except (DecodeError, KernelError):
                pass
            except OverflowError as exc:  # the known bug nlmsg-done-errno-range
                trace = "".join(traceback.format_exception(exc))
                finding = Finding(
                    "conversation", "result", 0, 0, (), f"OverflowError: {exc}", trace
                )
                assert known_bug(finding) is not None
    for pipeline in pipelines:
        assert all(isinstance(e, KernelError) for e in pipeline.errors())


# --------------------------------------------------------------------------- known bugs


@pytest.mark.parametrize("error", [-(2**31), 5, -4096])
def test_dump_end_with_an_impossible_errno_is_a_decode_error(error: int) -> None:
    """A dump ending with an error outside -4095..0 is malformed, as for NLMSG_ERROR.

    Today INT_MIN makes ``result()`` raise OverflowError (os.strerror(2**31)),
    and a positive value becomes a KernelError with a negative errno. Fix:
    in ``Exchange._receive``, check ``0 <= -decode_done(payload) <= 4095`` and
    raise DecodeError otherwise, as ``_ack_of`` does.
    """
    conv, exchanges, _ = conversation()
    services = exchanges[0]
    with pytest.raises(DecodeError):
        conv.receive_data(harness.done(services.seq, error))
        services.result()


def test_dump_end_with_a_real_errno_is_the_typed_error() -> None:
    conv, exchanges, _ = conversation()
    services = exchanges[0]
    conv.receive_data(harness.done(services.seq, -E.EPERM))
    with pytest.raises(KernelError) as info:
        services.result()
    assert info.value.errno == E.EPERM


@pytest.mark.parametrize("twice", ["service", "destination"])
def test_a_dump_listing_an_entry_twice_is_a_decode_error(twice: str) -> None:
    """Found by the flows target: the kernel's data is malformed, the input was not.

    Fix: in ``_flows.snapshot`` (and ``_verify``), turn the ValidationError of
    Table/ServiceEntry into DecodeError("the kernel listed ... twice").
    """
    first = harness.FIRST_SEQ
    services = [harness.WEB, harness.WEB] if twice == "service" else [harness.WEB]
    dests = [harness.DEST, harness.DEST] if twice == "destination" else [harness.DEST]
    dump = b"".join(
        struct.pack("=IHHII", 20 + len(nest), harness.FAMILY_ID, NLM_F_MULTI, first, 0)
        + bytes([1, 1, 0, 0])
        + nest
        for nest in (encode_service_nest(s) for s in services)
    )
    dest_dump = b"".join(
        encode_new_dest(harness.FAMILY_ID, first + 1, NLM_F_MULTI, harness.WEB.key, d)
        for d in dests
    )
    conv = Conversation(family_id=harness.FAMILY_ID, seq=first)
    with pytest.raises(DecodeError):
        harness._drive(conv, _flows.snapshot(conv), iter([dump, dest_dump]))
