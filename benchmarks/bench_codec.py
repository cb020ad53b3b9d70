"""Codec throughput, side by side with pyroute2's IPVS message classes.

Run with ``python benchmarks/bench_codec.py [--seconds N]``. It prints, per
operation, the rate of this library's codec and of pyroute2 encoding or
decoding the same bytes, and their ratio. This is a script, not a test.

Targets: >= 300,000 NEW_DEST encodes/s and >= 200,000 destination decodes/s
(from a kernel-like dest dump reply, including building the Destination and
Stats objects) on one core.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from ipvs import Destination, Family, ForwardMethod, Service, Stats
from ipvs.netlink import (
    NLM_F_ACK,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    Command,
    attr,
    decode_destination,
    encode_dest,
    encode_new_dest,
    encode_service_key_nest,
    iter_messages,
)

FAMILY_ID = 0x24
FLAGS = NLM_F_REQUEST | NLM_F_ACK
STAT_VALUES = (11, 22, 33, 4444, 5555, 1, 2, 3, 40, 50)


def kernel_dest_reply(seq: int = 7) -> bytes:
    """Build a dest dump message laid out like the kernel's (x86_64, no PAD)."""
    u16 = struct.Struct("=H").pack
    u32 = struct.Struct("=I").pack
    u64 = struct.Struct("=Q").pack
    stats32 = b"".join(
        attr(t, (u64 if t in (4, 5) else u32)(v))
        for t, v in zip(range(1, 11), STAT_VALUES, strict=True)
    )
    stats64 = b"".join(attr(t, u64(v)) for t, v in zip(range(1, 11), STAT_VALUES, strict=True))
    nest = b"".join(
        [
            attr(1, bytes([10, 0, 0, 2]) + bytes(12)),  # ADDR
            attr(2, struct.pack("!H", 8080)),  # PORT
            attr(3, u32(ForwardMethod.MASQ)),  # FWD_METHOD
            attr(4, u32(5)),  # WEIGHT
            attr(13, b"\0"),  # TUN_TYPE
            attr(14, struct.pack("!H", 0)),  # TUN_PORT
            attr(15, u16(0)),  # TUN_FLAGS
            attr(5, u32(100)),  # U_THRESH
            attr(6, u32(10)),  # L_THRESH
            attr(7, u32(3)),  # ACTIVE
            attr(8, u32(4)),  # INACT
            attr(9, u32(5)),  # PERSIST
            attr(11, u16(Family.INET)),  # ADDR_FAMILY
            attr(10, stats32),
            attr(12, stats64),
        ]
    )
    body = bytes([Command.NEW_DEST, 1, 0, 0]) + attr(2, nest)
    return struct.pack("=IHHII", 16 + len(body), FAMILY_ID, NLM_F_MULTI, seq, 1234) + body


def rate(func: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``func``: the best of many short rounds over ``seconds``.

    Taking the best round filters out interference from other processes.
    """
    n = 100
    while True:  # calibrate a round of about 20 ms
        t0 = time.perf_counter()
        for _ in range(n):
            func()
        dt = time.perf_counter() - t0
        if dt > 0.02:
            break
        n *= 2
    best = n / dt
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(n):
            func()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def pyroute2_ops(service: Service, dest: Destination, reply: bytes) -> dict[str, Callable[[], Any]]:
    """Equivalent pyroute2 operations, or an empty dict without pyroute2."""
    try:
        from pyroute2.netlink.generic.ipvs import ipvsmsg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover
        return {}
    assert service.address is not None

    def encode() -> bytes:
        msg = ipvsmsg()
        msg["cmd"] = Command.NEW_DEST
        msg["version"] = 1
        msg["header"]["type"] = FAMILY_ID
        msg["header"]["flags"] = FLAGS
        msg["header"]["sequence_number"] = 1
        msg["attrs"] = [
            (
                "IPVS_CMD_ATTR_SERVICE",
                {
                    "attrs": [
                        ("IPVS_SVC_ATTR_AF", int(service.family)),
                        ("IPVS_SVC_ATTR_PROTOCOL", int(service.protocol or 0)),
                        ("IPVS_SVC_ATTR_ADDR", str(service.address)),
                        ("IPVS_SVC_ATTR_PORT", service.port),
                    ]
                },
            ),
            (
                "IPVS_CMD_ATTR_DEST",
                {
                    "attrs": [
                        ("IPVS_DEST_ATTR_ADDR_FAMILY", int(dest.family)),
                        ("IPVS_DEST_ATTR_ADDR", str(dest.address)),
                        ("IPVS_DEST_ATTR_PORT", dest.port),
                        ("IPVS_DEST_ATTR_FWD_METHOD", int(dest.forward)),
                        ("IPVS_DEST_ATTR_WEIGHT", dest.weight),
                        ("IPVS_DEST_ATTR_TUN_TYPE", int(dest.tunnel_type)),
                        ("IPVS_DEST_ATTR_TUN_PORT", dest.tunnel_port),
                        ("IPVS_DEST_ATTR_TUN_FLAGS", int(dest.tunnel_flags)),
                        ("IPVS_DEST_ATTR_U_THRESH", dest.upper_threshold),
                        ("IPVS_DEST_ATTR_L_THRESH", dest.lower_threshold),
                    ]
                },
            ),
        ]
        msg.encode()
        return bytes(msg.data)

    def decode() -> Any:
        msg = ipvsmsg(reply)
        msg.decode()
        d = msg.get_attr("IPVS_CMD_ATTR_DEST")
        s = d.get_attr("IPVS_DEST_ATTR_STATS64")
        # pull out every field, as our decoder does
        fields = [d.get_attr(name) for name, _ in d.nla_map[1:] if "STATS" not in name]
        fields.extend(s.get_attr(name) for name, _ in s.nla_map[1:])
        return fields

    return {"encode": encode, "decode": decode}


def main() -> int:
    """Run the benchmark and print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = parser.parse_args()

    service = Service.tcp("192.168.1.1", 80)
    dest = Destination(address="10.0.0.2", port=8080, forward=ForwardMethod.MASQ, weight=5)
    svc_nest = encode_service_key_nest(service)
    reply = kernel_dest_reply()
    area = memoryview(reply)[20:]

    decoded = decode_destination(area, Family.INET)
    assert decoded == Destination(
        address="10.0.0.2",
        port=8080,
        forward=ForwardMethod.MASQ,
        weight=5,
        upper_threshold=100,
        lower_threshold=10,
    )
    assert decoded.stats == Stats(
        connections=11,
        packets_in=22,
        packets_out=33,
        bytes_in=4444,
        bytes_out=5555,
        cps=1,
        pps_in=2,
        pps_out=3,
        bps_in=40,
        bps_out=50,
    )
    assert decoded.active_connections == 3

    def full_decode() -> Destination:
        for m in iter_messages(reply):
            return decode_destination(m.payload[4:], Family.INET)
        raise AssertionError

    ours: dict[str, tuple[str, Callable[[], Any]]] = {
        "encode": (
            "NEW_DEST encode (cached service nest)",
            lambda: encode_dest(FAMILY_ID, Command.NEW_DEST, 1, FLAGS, svc_nest, dest),
        ),
        "encode_full": (
            "NEW_DEST encode (service nest each time)",
            lambda: encode_new_dest(FAMILY_ID, 1, FLAGS, service, dest),
        ),
        "decode": (
            "dest decode (attrs area -> Destination+Stats)",
            lambda: decode_destination(area, Family.INET),
        ),
        "decode_full": ("dest decode (whole datagram, iter_messages)", full_decode),
    }
    theirs = pyroute2_ops(service, dest, reply)

    print(f"Python {sys.version.split()[0]}, {args.seconds:.1f} s per measurement")
    results: dict[str, float] = {}
    for key, (label, func) in ours.items():
        results[key] = rate(func, args.seconds)
        print(f"  ipvs     {label:48s} {results[key]:>12,.0f} /s")
    for key, func in theirs.items():
        r = rate(func, args.seconds)
        print(f"  pyroute2 {key:48s} {r:>12,.0f} /s")
        print(f"    ratio ipvs/pyroute2 ({key}): {results[key] / r:6.1f}x")
    ok = results["encode"] >= 300_000 and results["decode"] >= 200_000
    print("targets (encode >= 300k/s, decode >= 200k/s):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
