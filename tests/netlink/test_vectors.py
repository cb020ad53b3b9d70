"""Decode replies captured from a real kernel (tests/data) and compare with what ipvsadm was told.

The vectors come from ``tests/capture_vectors.py`` run in the sandbox
(Linux 6.1, x86_64 User-Mode Linux, ipvsadm 1.31). The expected objects in
the manifest were written by hand from the ipvsadm input, so these tests
check the codec against the kernel, not against itself.

pyroute2 (``pyroute2.netlink.generic.ipvs.ipvsmsg``) serves as a second
opinion where it decodes a field correctly. It is wrong in two places, which
the tests below pin down with the raw bytes:

* ``IPVS_SVC_ATTR_NETMASK`` is declared ``ip4addr``. For an IPv6 service the
  kernel sends the *prefix length* as a host-order u32, so pyroute2 shows
  prefix 64 as ``"64.0.0.0"`` (on little-endian hosts).
* ``IPVS_DEST_ATTR_TUN_PORT`` is declared ``uint16`` (host order), but the
  kernel sends it big-endian like every other port, so pyroute2 shows GUE port
  6080 as 49175 (0x17C0 byte-swapped).

It also leaves the daemon nest and the timeouts undecoded (``hex``), so
those have no second opinion.
"""

from __future__ import annotations

import json
import pathlib
import struct
import sys
from collections import Counter
from ipaddress import IPv4Address
from typing import Any

import attrs
import pytest

from ipvs import Destination, Family, Info, ServiceFlags, Stats, Timeouts, TunnelType
from tests import capture_vectors as cv

MANIFEST_PATH = pathlib.Path(__file__).parent.parent / "data" / "ipvs_vectors.json"
MANIFEST: dict[str, Any] = json.loads(MANIFEST_PATH.read_text())
SCENARIOS = sorted(MANIFEST["scenarios"])

pytestmark = pytest.mark.skipif(
    sys.byteorder != MANIFEST["byteorder"],
    reason="the vectors hold host-order fields of a little-endian kernel",
)


def _scenario(name: str) -> dict[str, Any]:
    scenario: dict[str, Any] = MANIFEST["scenarios"][name]
    return scenario


@pytest.fixture(scope="module")
def decoded() -> dict[str, dict[str, Any]]:
    return {name: cv.decode_replies(_scenario(name)["replies"]) for name in SCENARIOS}


# ---------------------------------------------------------------------------
# The data file and the script agree
# ---------------------------------------------------------------------------


def test_manifest_matches_the_capture_script() -> None:
    assert sorted(cv.SCENARIOS) == SCENARIOS
    for name, scenario in cv.SCENARIOS.items():
        stored = _scenario(name)
        assert stored["commands"] == scenario["commands"]
        assert stored["setup"] == scenario["setup"]
        assert stored["get_one"] == scenario["get_one"]
        # JSON round trip turns tuples into lists; compare in JSON form
        assert stored["expected"] == json.loads(json.dumps(scenario["expected"]))


def test_vectors_come_from_the_sandbox_kernel() -> None:
    assert MANIFEST["kernel"].startswith("6.1.")
    assert MANIFEST["ipvsadm"].startswith("ipvsadm v1.31")
    main = _scenario("main")["replies"]
    # every service and every destination of the rich state was captured
    assert len(main["GET_SERVICE"]) - 1 == len(cv.MAIN_SERVICES)
    assert len(main["GET_DEST"]) == len(cv.MAIN_SERVICES)


# ---------------------------------------------------------------------------
# Codec against the kernel
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_services_decode_to_what_ipvsadm_was_told(
    name: str, decoded: dict[str, dict[str, Any]]
) -> None:
    expected = [cv.to_service(p) for p in _scenario(name)["expected"]["services"]]
    got = decoded[name]["services"]
    assert len(got) == len(expected)
    assert set(got) == set(expected)
    # the kernel sends statistics; nothing flowed, so all are zero
    assert all(s.stats == Stats() for s in got)


@pytest.mark.parametrize("name", SCENARIOS)
def test_destinations_decode_to_what_ipvsadm_was_told(
    name: str, decoded: dict[str, dict[str, Any]]
) -> None:
    for plain in _scenario(name)["expected"]["services"]:
        label = cv.service_label(plain["key"])
        expected = [cv.to_destination(d) for d in plain["destinations"]]
        got = decoded[name]["destinations"][label]
        # the kernel lists destinations newest first
        assert got == expected[::-1], label
        for d in got:
            assert d.stats == Stats()
            assert (d.active_connections, d.inactive_connections) == (0, 0)
            assert d.persistent_connections == 0


@pytest.mark.parametrize("name", SCENARIOS)
def test_table_of_the_capture_equals_the_expected_table(
    name: str, decoded: dict[str, dict[str, Any]]
) -> None:
    assert decoded[name]["table"] == cv.expected_table(_scenario(name)["expected"])


def test_mixed_family_destinations_keep_their_own_family(
    decoded: dict[str, dict[str, Any]],
) -> None:
    dests = decoded["mixed"]["destinations"]
    v6_in_v4 = dests["-t 10.0.0.10:80"]
    assert {d.family for d in v6_in_v4} == {Family.INET, Family.INET6}
    (v4_in_v6,) = dests["-u [2001:db8::10]:4789"]
    assert v4_in_v6.family == Family.INET
    assert v4_in_v6.address == IPv4Address("10.1.6.1")
    assert (v4_in_v6.tunnel_type, v4_in_v6.tunnel_port) == (TunnelType.GUE, 6080)


@pytest.mark.parametrize("name", SCENARIOS)
def test_get_service_doit_decodes(name: str, decoded: dict[str, dict[str, Any]]) -> None:
    scenario = _scenario(name)
    (plain,) = [s for s in scenario["expected"]["services"] if s["key"] == scenario["get_one"]]
    assert decoded[name]["one"] == cv.to_service(plain)


@pytest.mark.parametrize("name", SCENARIOS)
def test_daemons_timeouts_info_decode(name: str, decoded: dict[str, dict[str, Any]]) -> None:
    expected = _scenario(name)["expected"]
    assert decoded[name]["daemons"] == [cv.to_daemon(p) for p in expected["daemons"]]
    assert decoded[name]["timeouts"] == Timeouts(**expected["timeouts"])
    assert decoded[name]["info"] == Info(**expected["info"])


def test_daemon_wire_encoding() -> None:
    """The daemon's multicast port is host order (unlike every other port); group v4 is raw."""
    master, backup = (
        _attrs(_nest(bytes.fromhex(h), 3)) for h in _scenario("main")["replies"]["GET_DAEMON"][:2]
    )
    assert master[7] == struct.pack("<H", 8848)  # MCAST_PORT, host order (LE)
    assert master[5] == bytes([224, 0, 0, 81])  # MCAST_GROUP, network order
    assert backup[7] == struct.pack("<H", 9000)
    assert backup[6] == bytes.fromhex("ff020000000000000000000000000001")  # MCAST_GROUP6
    assert 5 not in backup


# ---------------------------------------------------------------------------
# pyroute2 as a second opinion
# ---------------------------------------------------------------------------


def _nest(raw: bytes, atype: int) -> bytes:
    """The payload of top-level attribute ``atype`` of one stored message."""
    return _attrs(raw[20:])[atype]


def _attrs(area: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    off = 0
    while off + 4 <= len(area):
        length, atype = struct.unpack_from("=HH", area, off)
        out[atype & 0x3FFF] = area[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


def _pyroute2(raw: bytes, nest: str) -> Any:
    from pyroute2.netlink.generic.ipvs import ipvsmsg

    msg = ipvsmsg(raw)
    msg.decode()
    return msg.get_attr(nest)


def _service_messages() -> list[bytes]:
    return [
        bytes.fromhex(h)
        for name in SCENARIOS
        for h in _scenario(name)["replies"]["GET_SERVICE"][:-1]
    ]


def _dest_messages() -> list[tuple[int, bytes]]:
    """(service family, message) of every captured destination."""
    out = []
    for name in SCENARIOS:
        replies = _scenario(name)["replies"]
        for svc_hex in replies["GET_SERVICE"][:-1]:
            svc_raw = bytes.fromhex(svc_hex)
            key = cv._service_key_from_reply(svc_raw)
            family = struct.unpack("=H", _attrs(_nest(svc_raw, 1))[1])[0]
            for h in replies["GET_DEST"][cv.service_label(key)][:-1]:
                out.append((family, bytes.fromhex(h)))
    return out


def _stats_tuple(stats: Stats) -> tuple[int, ...]:
    return (
        stats.connections,
        stats.packets_in,
        stats.packets_out,
        stats.bytes_in,
        stats.bytes_out,
        stats.cps,
        stats.pps_in,
        stats.pps_out,
        stats.bps_in,
        stats.bps_out,
    )


def _pyroute2_stats(nest: Any) -> tuple[int, ...]:
    names = ("CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES")
    names += ("CPS", "INPPS", "OUTPPS", "INBPS", "OUTBPS")
    return tuple(nest.get_attr(f"IPVS_STATS_ATTR_{n}") for n in names)


@pytest.mark.parametrize("raw", _service_messages(), ids=lambda r: f"{len(r)}B")
def test_pyroute2_agrees_on_service_fields(raw: bytes) -> None:
    from ipvs import netlink as C

    ours = C.decode_service(raw[20:])
    theirs = _pyroute2(raw, "IPVS_CMD_ATTR_SERVICE")
    g = theirs.get_attr
    assert g("IPVS_SVC_ATTR_AF") == ours.family
    if ours.fwmark is not None:
        assert g("IPVS_SVC_ATTR_FWMARK") == ours.fwmark
        assert g("IPVS_SVC_ATTR_ADDR") is None and g("IPVS_SVC_ATTR_PORT") is None
    else:
        assert g("IPVS_SVC_ATTR_PROTOCOL") == ours.protocol
        assert g("IPVS_SVC_ATTR_ADDR") == str(ours.address)
        assert g("IPVS_SVC_ATTR_PORT") == ours.port
    assert g("IPVS_SVC_ATTR_SCHED_NAME") == ours.scheduler
    assert g("IPVS_SVC_ATTR_PE_NAME") == ours.pe_name
    assert g("IPVS_SVC_ATTR_TIMEOUT") == ours.timeout
    flags = g("IPVS_SVC_ATTR_FLAGS")
    # the kernel always reports HASHED and a full mask; the model drops HASHED
    assert flags["mask"] == 0xFFFFFFFF
    assert flags["flags"] == ours.flags | ServiceFlags.HASHED
    if ours.family == Family.INET:
        assert g("IPVS_SVC_ATTR_NETMASK") == str(ours.netmask)
    assert ours.stats is not None
    assert _pyroute2_stats(g("IPVS_SVC_ATTR_STATS64")) == _stats_tuple(ours.stats)
    assert _pyroute2_stats(g("IPVS_SVC_ATTR_STATS")) == _stats_tuple(ours.stats)


@pytest.mark.parametrize("family_raw", _dest_messages(), ids=lambda fr: f"af{fr[0]}")
def test_pyroute2_agrees_on_destination_fields(family_raw: tuple[int, bytes]) -> None:
    from ipvs import netlink as C

    family, raw = family_raw
    ours: Destination = C.decode_destination(raw[20:], family)
    g = _pyroute2(raw, "IPVS_CMD_ATTR_DEST").get_attr
    assert g("IPVS_DEST_ATTR_ADDR_FAMILY") == ours.family
    assert g("IPVS_DEST_ATTR_ADDR") == str(ours.address)
    assert g("IPVS_DEST_ATTR_PORT") == ours.port
    assert g("IPVS_DEST_ATTR_FWD_METHOD") == ours.forward
    assert g("IPVS_DEST_ATTR_WEIGHT") == ours.weight
    assert g("IPVS_DEST_ATTR_U_THRESH") == ours.upper_threshold
    assert g("IPVS_DEST_ATTR_L_THRESH") == ours.lower_threshold
    assert g("IPVS_DEST_ATTR_ACTIVE_CONNS") == ours.active_connections
    assert g("IPVS_DEST_ATTR_INACT_CONNS") == ours.inactive_connections
    assert g("IPVS_DEST_ATTR_PERSIST_CONNS") == ours.persistent_connections
    assert g("IPVS_DEST_ATTR_TUN_TYPE") == ours.tunnel_type
    assert g("IPVS_DEST_ATTR_TUN_FLAGS") == ours.tunnel_flags
    if ours.tunnel_port == 0:
        assert g("IPVS_DEST_ATTR_TUN_PORT") == 0  # the only value on which it is right
    assert ours.stats is not None
    assert _pyroute2_stats(g("IPVS_DEST_ATTR_STATS64")) == _stats_tuple(ours.stats)


def test_pyroute2_is_wrong_about_the_ipv6_netmask() -> None:
    """IPv6 NETMASK is a host-order u32 prefix length; pyroute2 prints it as an IPv4 address."""
    from ipvs import netlink as C

    seen: Counter[int] = Counter()
    for raw in _service_messages():
        ours = C.decode_service(raw[20:])
        if ours.family != Family.INET6:
            continue
        wire = _attrs(_nest(raw, 1))[9]
        assert wire == struct.pack("<I", ours.netmask)  # e.g. 64 -> 40 00 00 00
        theirs = _pyroute2(raw, "IPVS_CMD_ATTR_SERVICE").get_attr("IPVS_SVC_ATTR_NETMASK")
        assert theirs == f"{ours.netmask}.0.0.0"
        seen[ours.netmask] += 1
    # prefixes told to ipvsadm: -M 64, -M 48, and the default 128 (two services)
    assert seen == Counter({128: 2, 64: 1, 48: 1})


def test_pyroute2_is_wrong_about_the_tunnel_port_byte_order() -> None:
    """TUN_PORT is big-endian on the wire; pyroute2 reads it as host order (byte-swapped)."""
    from ipvs import netlink as C

    ports = []
    for family, raw in _dest_messages():
        ours = C.decode_destination(raw[20:], family)
        if ours.tunnel_type != TunnelType.GUE:
            continue
        wire = _attrs(_nest(raw, 2))[14]
        assert wire == struct.pack("!H", ours.tunnel_port)
        theirs = _pyroute2(raw, "IPVS_CMD_ATTR_DEST").get_attr("IPVS_DEST_ATTR_TUN_PORT")
        swapped = struct.unpack("<H", struct.pack(">H", ours.tunnel_port))[0]
        assert theirs == swapped != ours.tunnel_port
        ports.append(ours.tunnel_port)
    # --tun-port values told to ipvsadm (6080 twice: main and mixed)
    assert sorted(ports) == [443, 6080, 6080, 6081]


def test_captured_padded_destinations_take_the_fast_path() -> None:
    """The sandbox kernel pads 64-bit counters; its layout has a fast path too."""
    from ipvs.netlink import _decode, _fastpath

    data = json.loads(MANIFEST_PATH.read_text())
    count = 0
    for dumps in data["scenarios"]["main"]["replies"]["GET_DEST"].values():
        for hexmsg in dumps:
            raw = bytes.fromhex(hexmsg)
            if int.from_bytes(raw[4:6], "little") < 0x10:
                continue  # NLMSG_DONE
            area = raw[20:]
            fast = _fastpath.dest_fast(area)
            assert fast is not None, len(area)
            nest = _decode._top_nest(memoryview(area), _decode.CmdAttr.DEST)[_decode.CmdAttr.DEST]
            slow = _decode._destination_from(_decode._decode_nest(nest, _decode.DEST_POLICY), 2)
            assert fast == slow and fast.stats == slow.stats
            assert fast.active_connections == slow.active_connections
            count += 1
    assert count >= 5


def test_captured_services_take_the_fast_path_when_they_can() -> None:
    """Address services without a persistence engine decode by the fast path, like the parser."""
    from ipvs.netlink import _decode, _fastpath

    data = json.loads(MANIFEST_PATH.read_text())
    fast_count = 0
    for scenario in data["scenarios"].values():
        for hexmsg in scenario["replies"]["GET_SERVICE"]:
            raw = bytes.fromhex(hexmsg)
            if int.from_bytes(raw[4:6], "little") < 0x10:
                continue  # NLMSG_DONE
            area = raw[20:]
            nest = _decode._top_nest(memoryview(area), _decode.CmdAttr.SERVICE)
            slow = _decode._service_from(
                _decode._decode_nest(nest[_decode.CmdAttr.SERVICE], _decode.SVC_POLICY)
            )
            fast = _fastpath.service_fast(area)
            if slow.fwmark is not None or slow.pe_name is not None:
                assert fast is None
                continue
            assert fast is not None, slow
            assert fast == slow and fast.stats == slow.stats
            assert attrs.astuple(fast) == attrs.astuple(slow)
            fast_count += 1
    assert fast_count >= 3
