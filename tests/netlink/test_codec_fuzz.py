"""Property tests of the codec: round trips, and robustness against bad bytes.

Requests: every model object encoded by the request encoders decodes back
to itself. Replies: kernel-like reply bytes are built by a small helper
below (following the kernel's attribute order and encodings) and decoded.
Random and mutated bytes must raise DecodeError and nothing else.
"""

from __future__ import annotations

import contextlib
import random
import struct
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings, strategies as st

from ipvs._model import (
    Destination,
    Family,
    Info,
    Service,
    ServiceFlags,
    Stats,
    SyncDaemon,
    Timeouts,
)
from ipvs.errors import DecodeError
from ipvs.netlink import (
    NLM_F_DUMP,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    Command,
    Request,
    attr,
    decode_daemon,
    decode_destination,
    decode_info,
    decode_request,
    decode_service,
    decode_timeouts,
    encode_del_daemon,
    encode_del_dest,
    encode_del_service,
    encode_get_dests,
    encode_get_service,
    encode_new_daemon,
    encode_new_dest,
    encode_new_service,
    encode_set_config,
    encode_set_dest,
    encode_set_service,
    encode_zero,
    iter_messages,
)
from tests.strategies import (
    destinations,
    infos,
    service_keys,
    services,
    stats,
    sync_daemons,
    timeouts,
)

FID = 0x24
ACK = 0x05
u16 = struct.Struct("=H").pack
u32 = struct.Struct("=I").pack
u64 = struct.Struct("=Q").pack
be16 = struct.Struct("!H").pack

seqs = st.integers(min_value=0, max_value=0xFFFFFFFF)
flag_values = st.sampled_from([ACK, NLM_F_REQUEST, NLM_F_REQUEST | NLM_F_DUMP])

# ----------------------------------------------------------------- reply builders (test side)


def message(cmd: int, body: bytes, seq: int = 1, flags: int = NLM_F_MULTI) -> bytes:
    """Wrap attributes in nlmsghdr + genlmsghdr as the kernel does (version 1)."""
    payload = bytes([cmd, 1, 0, 0]) + body
    return struct.pack("=IHHII", 16 + len(payload), FID, flags, seq, 4321) + payload


def stats_nests(s: Stats | None) -> list[bytes]:
    """STATS (u32 counters truncated, u64 bytes) then STATS64, like the kernel."""
    if s is None:
        return []
    values = attrs.astuple(s)
    s32 = b"".join(
        attr(i, u64(v) if i in (4, 5) else u32(v & 0xFFFFFFFF))
        for i, v in enumerate(values, start=1)
    )
    s64 = b"".join(attr(i, u64(v)) for i, v in enumerate(values, start=1))
    return [attr(10, s32), attr(12, s64)]


def addr16(address: Any) -> bytes:
    return bytes(address.packed).ljust(16, b"\0")


def service_reply(svc: Service) -> bytes:
    """The attribute area of the kernel's NEW_SERVICE reply for ``svc``."""
    key = svc.key
    parts = [attr(1, u16(key.family))]
    if key.fwmark is not None:
        parts.append(attr(5, u32(key.fwmark)))
    else:
        assert key.protocol is not None and key.port is not None
        parts += [attr(2, u16(key.protocol)), attr(3, addr16(key.address)), attr(4, be16(key.port))]
    parts.append(attr(6, svc.scheduler.encode() + b"\0"))
    if svc.pe_name:
        parts.append(attr(11, svc.pe_name.encode() + b"\0"))
    flags = int(svc.flags) | ServiceFlags.HASHED  # live services are always hashed
    parts.append(attr(7, struct.pack("=II", flags, 0xFFFFFFFF)))
    parts.append(attr(8, u32(svc.timeout)))
    mask = svc.netmask
    parts.append(attr(9, mask.packed if isinstance(mask, IPv4Address) else u32(mask)))
    parts += stats_nests(svc.stats)
    return attr(1, b"".join(parts))


def dest_reply(d: Destination, shuffle: random.Random | None = None) -> bytes:
    """The attribute area of the kernel's NEW_DEST dump message (§8 order)."""
    parts = [
        attr(1, addr16(d.address)),
        attr(2, be16(d.port)),
        attr(3, u32(d.forward)),
        attr(4, u32(d.weight)),
        attr(13, bytes([d.tunnel_type])),
        attr(14, be16(d.tunnel_port)),
        attr(15, u16(d.tunnel_flags)),
        attr(5, u32(d.upper_threshold)),
        attr(6, u32(d.lower_threshold)),
        attr(7, u32(d.active_connections)),
        attr(8, u32(d.inactive_connections)),
        attr(9, u32(d.persistent_connections)),
        attr(11, u16(d.family)),
        *stats_nests(d.stats),
    ]
    if shuffle is not None:
        shuffle.shuffle(parts)
    return attr(2, b"".join(parts))


def daemon_reply(d: SyncDaemon) -> bytes:
    """The attribute area of a GET_DAEMON dump message."""
    parts = [
        attr(1, u32(d.state)),
        attr(2, d.interface.encode() + b"\0"),
        attr(3, u32(d.sync_id)),
        attr(4, u16(d.max_length)),
        attr(7, u16(d.port)),
        attr(8, bytes([d.ttl])),
    ]
    if d.group is not None:
        parts.append(attr(5 if d.group.version == 4 else 6, d.group.packed))
    return attr(3, b"".join(parts))


def timeouts_reply(t: Timeouts) -> bytes:
    return attr(4, u32(t.tcp)) + attr(5, u32(t.tcp_fin)) + attr(6, u32(t.udp))


def info_reply(i: Info) -> bytes:
    return attr(1, u32(i.version_code)) + attr(2, u32(i.connection_table_size))


def same_live(a: Destination, b: Destination) -> bool:
    return attrs.astuple(a) == attrs.astuple(b)


# ----------------------------------------------------------------- request round trips


@given(svc=services(), seq=seqs, flags=flag_values)
def test_service_requests_round_trip(svc: Service, seq: int, flags: int) -> None:
    for encode, command in (
        (encode_new_service, Command.NEW_SERVICE),
        (encode_set_service, Command.SET_SERVICE),
    ):
        msg = encode(FID, seq, flags, svc)
        expected = Request(command=command, family_id=FID, flags=flags, seq=seq, service=svc)
        assert decode_request(msg) == expected
    for encode_key, command in (
        (encode_del_service, Command.DEL_SERVICE),
        (encode_get_service, Command.GET_SERVICE),
        (encode_zero, Command.ZERO),
        (encode_get_dests, Command.GET_DEST),
    ):
        got = decode_request(encode_key(FID, seq, flags, svc))
        assert got == Request(command=command, family_id=FID, flags=flags, seq=seq, service=svc.key)


@given(key=service_keys(), dest=destinations(), seq=seqs)
def test_dest_requests_round_trip(key: Any, dest: Destination, seq: int) -> None:
    for encode, command in (
        (encode_new_dest, Command.NEW_DEST),
        (encode_set_dest, Command.SET_DEST),
        (encode_del_dest, Command.DEL_DEST),
    ):
        msg = encode(FID, seq, ACK, key, dest)
        req = decode_request(msg)
        assert req == Request(
            command=command, family_id=FID, flags=ACK, seq=seq, service=key, destination=dest
        )
        assert req.destination is not None and req.destination.family is dest.family


@given(daemon=sync_daemons(), seq=seqs)
def test_daemon_requests_round_trip(daemon: SyncDaemon, seq: int) -> None:
    new = decode_request(encode_new_daemon(FID, seq, ACK, daemon))
    assert new == Request(
        command=Command.NEW_DAEMON, family_id=FID, flags=ACK, seq=seq, daemon=daemon
    )
    delete = decode_request(encode_del_daemon(FID, seq, ACK, daemon))
    assert delete.daemon == daemon and delete.command is Command.DEL_DAEMON
    by_state = decode_request(encode_del_daemon(FID, seq, ACK, daemon.state))
    assert by_state.daemon is daemon.state


@given(t=timeouts, seq=seqs)
def test_timeouts_request_round_trip(t: Timeouts, seq: int) -> None:
    req = decode_request(encode_set_config(FID, seq, ACK, t))
    assert req == Request(command=Command.SET_CONFIG, family_id=FID, flags=ACK, seq=seq, timeouts=t)


# ----------------------------------------------------------------- reply round trips


@given(svc=services(live=True))
def test_service_reply_round_trip(svc: Service) -> None:
    got = decode_service(service_reply(svc))
    assert got == svc
    assert got.stats == svc.stats
    assert not got.flags & ServiceFlags.HASHED


@given(dest=destinations(live=True), seed=st.integers(), service_family=st.sampled_from(Family))
def test_dest_reply_round_trip(dest: Destination, seed: int, service_family: Family) -> None:
    ordered = dest_reply(dest)
    got = decode_destination(ordered, service_family)
    assert same_live(got, dest)
    shuffled = dest_reply(dest, random.Random(seed))  # generic path
    assert same_live(decode_destination(shuffled, service_family), dest)
    # and through the framing, as the client will see it
    (msg,) = iter_messages(message(Command.NEW_DEST, ordered))
    assert same_live(decode_destination(msg.payload[4:], service_family), dest)


@given(daemon=sync_daemons())
def test_daemon_reply_round_trip(daemon: SyncDaemon) -> None:
    assert decode_daemon(daemon_reply(daemon)) == daemon


@given(t=timeouts, i=infos)
def test_config_and_info_replies_round_trip(t: Timeouts, i: Info) -> None:
    assert decode_timeouts(timeouts_reply(t)) == t
    assert decode_info(info_reply(i)) == i


@given(s=stats())
def test_stats_survive_the_fast_path(s: Stats) -> None:
    dest = Destination(address="10.1.2.3", port=1, stats=s)
    assert decode_destination(dest_reply(dest), Family.INET).stats == s


# ----------------------------------------------------------------- robustness

DecoderFn = Callable[[bytes], object]

REPLY_DECODERS: list[DecoderFn] = [
    decode_service,
    lambda b: decode_destination(b, Family.INET),
    lambda b: decode_destination(b, Family.INET6),
    decode_daemon,
    decode_timeouts,
    decode_info,
]


def only_decode_error(func: DecoderFn, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        func(data)


@settings(max_examples=300)
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for func in [*REPLY_DECODERS, decode_request]:
        only_decode_error(func, data)


@st.composite
def valid_reply(draw: st.DrawFn) -> tuple[DecoderFn, bytes]:
    kind = draw(st.sampled_from(["service", "dest", "daemon", "timeouts", "info"]))
    if kind == "service":
        return decode_service, service_reply(draw(services(live=True)))
    if kind == "dest":
        fam = draw(st.sampled_from(Family))
        return (lambda b: decode_destination(b, fam)), dest_reply(draw(destinations(live=True)))
    if kind == "daemon":
        return decode_daemon, daemon_reply(draw(sync_daemons()))
    if kind == "timeouts":
        return decode_timeouts, timeouts_reply(draw(timeouts))
    return decode_info, info_reply(draw(infos))


@st.composite
def valid_request(draw: st.DrawFn) -> bytes:
    seq = draw(seqs)
    kind = draw(st.sampled_from(["service", "dest", "daemon", "timeouts"]))
    if kind == "service":
        return encode_new_service(FID, seq, ACK, draw(services()))
    if kind == "dest":
        return encode_new_dest(FID, seq, ACK, draw(service_keys()), draw(destinations()))
    if kind == "daemon":
        return encode_new_daemon(FID, seq, ACK, draw(sync_daemons()))
    return encode_set_config(FID, seq, ACK, draw(timeouts))


def mutate(data: bytes, how: str, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    if not buf:
        return bytes(buf)
    if how == "bitflip":
        for _ in range(rnd.randint(1, 4)):
            pos = rnd.randrange(len(buf))
            buf[pos] ^= 1 << rnd.randrange(8)
    elif how == "truncate":
        del buf[rnd.randrange(len(buf)) :]
    elif how == "length":
        # corrupt a u16 at a 4-byte boundary: attribute lengths (and nlmsg_len) live there
        pos = rnd.randrange(0, max(len(buf) - 1, 1), 4) if len(buf) > 1 else 0
        struct.pack_into(
            "=H", buf, pos, rnd.choice([0, 1, 3, 4, 5, 0xFFFF, rnd.randrange(0x10000)])
        )
    elif how == "extend":
        buf += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
    return bytes(buf)


HOW = st.sampled_from(["bitflip", "truncate", "length", "extend"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(reply=valid_reply(), how=HOW, seed=st.integers())
def test_mutated_replies_raise_only_decode_error(
    reply: tuple[DecoderFn, bytes], how: str, seed: int
) -> None:
    func, data = reply
    only_decode_error(func, mutate(data, how, random.Random(seed)))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_request(), how=HOW, seed=st.integers())
def test_mutated_requests_raise_only_decode_error(data: bytes, how: str, seed: int) -> None:
    only_decode_error(decode_request, mutate(data, how, random.Random(seed)))


def test_mutation_helper_changes_bytes() -> None:
    data = bytes(range(64))
    rnd = random.Random(1)
    for how in ("bitflip", "truncate", "extend"):
        assert mutate(data, how, rnd) != data
