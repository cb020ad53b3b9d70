"""The connection table: /proc/net/ip_vs_conn parsed, and listed as ipvsadm -Lnc lists it."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from ipvs import Connection, DecodeError
from ipvs._client._connections import parse_connections
from ipvs.formats.ipvsadm import connections_listing

PROC = """\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 7F000001 84E2 7F000002 0050 7F000001 1F90 FIN_WAIT        119
TCP 2001:0db8:0000:0000:0000:0000:0000:0001 84E6 2001:0db8:0000:0000:0000:0000:0000:0002 \
0050 2001:0db8:0000:0000:0000:0000:0000:0003 1F90 ESTABLISHED     899
IP  0A000001 0000 0A000002 0050 0A010101 1F90 NONE           3600
UDP 0A000001 13C4 0A000002 13C4 0A010101 13C4 UDP              61 sip abc123
"""


def test_proc_lines_become_connections() -> None:
    conns = parse_connections(PROC)
    assert conns[0] == Connection(
        protocol="TCP",
        client_address=ip_address("127.0.0.1"),
        client_port=0x84E2,
        virtual_address=ip_address("127.0.0.2"),
        virtual_port=80,
        destination_address=ip_address("127.0.0.1"),
        destination_port=8080,
        state="FIN_WAIT",
        expires=119,
    )
    assert conns[1].client_address == ip_address("2001:db8::1")
    assert (conns[2].protocol, conns[2].state, conns[2].client_port) == ("IP", "NONE", 0)
    assert (conns[3].pe_name, conns[3].pe_data) == ("sip", "abc123")


def test_listing_is_ipvsadm_lnc() -> None:
    text = connections_listing(parse_connections(PROC))
    assert text.splitlines() == [
        "IPVS connection entries",
        "pro expire state       source             virtual            destination",
        "TCP 01:59  FIN_WAIT    127.0.0.1:34018    127.0.0.2:80       127.0.0.1:8080",
        "TCP 14:59  ESTABLISHED [2001:db8::1]:34022 [2001:db8::2]:80   [2001:db8::3]:8080",
        "IP  60:00  NONE        10.0.0.1:0         10.0.0.2:80        10.1.1.1:8080",
        "UDP 01:01  UDP         10.0.0.1:5060      10.0.0.2:5060      10.1.1.1:5060",
    ]
    persistent = connections_listing(parse_connections(PROC), persistent_conn=True)
    assert persistent.splitlines()[1] == (
        "pro expire state       source             virtual            destination        "
        "pe name          pe_data"
    )
    assert persistent.splitlines()[-1].endswith("10.1.1.1:5060    sip                abc123")


@pytest.mark.parametrize(
    "line",
    [
        "TCP 7F000001 84E2 7F000002 0050 7F000001 1F90 FIN_WAIT",  # too few fields
        "TCP ZZ000001 84E2 7F000002 0050 7F000001 1F90 FIN_WAIT 119",  # not hex
        "TCP 7F000001 84E2 7F000002 0050 7F000001 1F90 FIN_WAIT soon",  # not a number
    ],
)
def test_malformed_lines_are_decode_errors(line: str) -> None:
    with pytest.raises(DecodeError, match="ip_vs_conn line 2"):
        parse_connections("header\n" + line + "\n")
