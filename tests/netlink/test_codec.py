"""Byte vectors for the IPVS codec, checked in both directions.

Every vector is written out by hand from the layouts in the kernel facts
reference (§1.3 wire encodings, §8 worked layouts): little-endian host,
family id 0x24. Requests are checked as ``encode(...) == bytes`` and
``decode_request(bytes) == Request(...)``; kernel replies are checked with
the reply decoders.

Fragments are named hex strings so each message reads attribute by
attribute; ``|`` separates attributes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address

import attrs
import pytest

from ipvs._model import (
    DaemonState,
    Destination,
    Family,
    ForwardMethod,
    Info,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
    TunnelFlags,
    TunnelType,
)
from ipvs.errors import DecodeError, ValidationError
from ipvs.netlink import (
    CMD_POLICY,
    DAEMON_POLICY,
    DEST_POLICY,
    INFO_POLICY,
    POLICIES,
    STATS64_POLICY,
    STATS_POLICY,
    SVC_POLICY,
    CmdAttr,
    Command,
    DaemonAttr,
    DestAttr,
    InfoAttr,
    Kind,
    Request,
    StatsAttr,
    SvcAttr,
    decode_daemon,
    decode_destination,
    decode_info,
    decode_request,
    decode_service,
    decode_timeouts,
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

pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="vectors are little-endian")

FID = 0x24
ACK = 0x05  # NLM_F_REQUEST | NLM_F_ACK
DUMP = 0x301  # NLM_F_REQUEST | NLM_F_DUMP
REQ = 0x01


def h(text: str) -> bytes:
    """Hex with spaces and ``|`` separators allowed."""
    return bytes.fromhex(text.replace("|", " "))


Z12 = "00 00 00 00 00 00 00 00 00 00 00 00"

# ----------------------------------------------------------------- models used

SVC_TCP4 = Service.tcp("192.168.1.1", 80)
KEY_TCP4 = SVC_TCP4.key
KEY_UDP6 = ServiceKey.udp("2001:db8::1", 53)
SVC_UDP6 = Service(
    key=KEY_UDP6,
    scheduler="sh",
    flags=ServiceFlags.PERSISTENT | ServiceFlags.SH_FALLBACK | ServiceFlags.SH_PORT,
    timeout=360,
    netmask=64,
    pe_name="sip",
)
KEY_FWM6 = ServiceKey.mark(0x12345678, Family.INET6)
SVC_FWM6 = Service(key=KEY_FWM6, scheduler="rr")
KEY_FWM5 = ServiceKey.mark(5)
SVC_TCP4_PERSIST = Service.tcp(
    "10.0.0.1", 443, flags=ServiceFlags.PERSISTENT, timeout=300, netmask="255.255.255.0"
)
DEST_DR = Destination(address="10.0.0.2", port=80)
DEST_GUE6 = Destination(
    address="2001:db8::2",
    port=8053,
    forward=ForwardMethod.TUNNEL,
    weight=100,
    upper_threshold=1000,
    lower_threshold=10,
    tunnel_type=TunnelType.GUE,
    tunnel_port=6080,
    tunnel_flags=TunnelFlags.REMCSUM,
)
DEST_V4_IN_V6 = Destination(address="10.0.0.3", port=80, forward=ForwardMethod.TUNNEL)
DAEMON_MASTER = SyncDaemon(
    state=DaemonState.MASTER,
    interface="eth0",
    sync_id=7,
    max_length=1472,
    group="224.0.0.81",
    port=8848,
    ttl=2,
)
DAEMON_BACKUP6 = SyncDaemon(state=DaemonState.BACKUP, interface="eth1", group="ff02::1234")
TIMEOUTS = Timeouts(tcp=900, tcp_fin=120, udp=300)

# ----------------------------------------------------------------- fragments

# identity-only SERVICE nests
N_TCP4 = (
    "30 00 01 00"  # SERVICE nest, len 48
    "|06 00 01 00 02 00 00 00"  # AF = 2 (u16 host)
    "|06 00 02 00 06 00 00 00"  # PROTOCOL = 6
    f"|14 00 03 00 c0 a8 01 01 {Z12}"  # ADDR 192.168.1.1, 16 bytes
    "|06 00 04 00 00 50 00 00"  # PORT 80, big-endian
)
ID_UDP6 = (
    "06 00 01 00 0a 00 00 00"  # AF = 10
    "|06 00 02 00 11 00 00 00"  # PROTOCOL = 17
    "|14 00 03 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"  # ADDR 2001:db8::1
    "|06 00 04 00 00 35 00 00"  # PORT 53, big-endian
)
N_UDP6 = "30 00 01 00|" + ID_UDP6
ID_FWM6 = (
    "06 00 01 00 0a 00 00 00"  # AF = 10
    "|08 00 05 00 78 56 34 12"  # FWMARK 0x12345678, u32 host
)
N_FWM6 = "14 00 01 00|" + ID_FWM6
N_FWM5 = "14 00 01 00|06 00 01 00 02 00 00 00|08 00 05 00 05 00 00 00"

# DEST nests (requests)
D_DR = (
    "60 00 02 00"  # DEST nest, len 96
    "|06 00 0b 00 02 00 00 00"  # ADDR_FAMILY = 2 (always sent)
    f"|14 00 01 00 0a 00 00 02 {Z12}"  # ADDR 10.0.0.2
    "|06 00 02 00 00 50 00 00"  # PORT 80, big-endian
    "|08 00 03 00 03 00 00 00"  # FWD_METHOD = ROUTE (3)
    "|08 00 04 00 01 00 00 00"  # WEIGHT = 1
    "|05 00 0d 00 00 00 00 00"  # TUN_TYPE = IPIP, u8 padded
    "|06 00 0e 00 00 00 00 00"  # TUN_PORT = 0
    "|06 00 0f 00 00 00 00 00"  # TUN_FLAGS = 0
    "|08 00 05 00 00 00 00 00"  # U_THRESH = 0
    "|08 00 06 00 00 00 00 00"  # L_THRESH = 0
)
D_GUE6 = (
    "60 00 02 00"
    "|06 00 0b 00 0a 00 00 00"  # ADDR_FAMILY = 10
    "|14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"  # 2001:db8::2
    "|06 00 02 00 1f 75 00 00"  # PORT 8053 = 0x1f75, big-endian
    "|08 00 03 00 02 00 00 00"  # FWD_METHOD = TUNNEL
    "|08 00 04 00 64 00 00 00"  # WEIGHT = 100
    "|05 00 0d 00 01 00 00 00"  # TUN_TYPE = GUE
    "|06 00 0e 00 17 c0 00 00"  # TUN_PORT 6080 = 0x17c0, big-endian
    "|06 00 0f 00 02 00 00 00"  # TUN_FLAGS = REMCSUM, u16 host
    "|08 00 05 00 e8 03 00 00"  # U_THRESH = 1000
    "|08 00 06 00 0a 00 00 00"  # L_THRESH = 10
)
D_V4_TUN = (
    "60 00 02 00"
    "|06 00 0b 00 02 00 00 00"  # ADDR_FAMILY = 2 inside an IPv6 service
    f"|14 00 01 00 0a 00 00 03 {Z12}"
    "|06 00 02 00 00 50 00 00"
    "|08 00 03 00 02 00 00 00"  # TUNNEL
    "|08 00 04 00 01 00 00 00"
    "|05 00 0d 00 00 00 00 00"
    "|06 00 0e 00 00 00 00 00"
    "|06 00 0f 00 00 00 00 00"
    "|08 00 05 00 00 00 00 00"
    "|08 00 06 00 00 00 00 00"
)

# ----------------------------------------------------------------- request vectors

RequestRow = tuple[str, Callable[[], bytes], Request, str]

REQUEST_VECTORS: list[RequestRow] = [
    (
        "NEW_SERVICE tcp v4 (facts §8)",
        lambda: encode_new_service(FID, 1, ACK, SVC_TCP4),
        Request(command=Command.NEW_SERVICE, family_id=FID, flags=ACK, seq=1, service=SVC_TCP4),
        "68 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00"  # nlmsghdr, len 104
        "|01 01 00 00"  # genl: cmd 1, version 1
        "|54 00 01 00"  # SERVICE nest, len 84
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        f"|14 00 03 00 c0 a8 01 01 {Z12}"
        "|06 00 04 00 00 50 00 00"
        "|08 00 06 00 77 6c 63 00"  # SCHED_NAME "wlc"
        "|0c 00 07 00 00 00 00 00 ff ff ff ff"  # FLAGS {0, 0xffffffff}
        "|08 00 08 00 00 00 00 00"  # TIMEOUT 0
        "|08 00 09 00 ff ff ff ff",  # NETMASK 255.255.255.255
    ),
    (
        "NEW_SERVICE persistent v4, netmask in network order",
        lambda: encode_new_service(FID, 11, ACK, SVC_TCP4_PERSIST),
        Request(
            command=Command.NEW_SERVICE, family_id=FID, flags=ACK, seq=11, service=SVC_TCP4_PERSIST
        ),
        "68 00 00 00 24 00 05 00 0b 00 00 00 00 00 00 00|01 01 00 00"
        "|54 00 01 00"
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        f"|14 00 03 00 0a 00 00 01 {Z12}"  # 10.0.0.1
        "|06 00 04 00 01 bb 00 00"  # PORT 443 = 0x01bb, big-endian
        "|08 00 06 00 77 6c 63 00"
        "|0c 00 07 00 01 00 00 00 ff ff ff ff"  # FLAGS {PERSISTENT, mask}
        "|08 00 08 00 2c 01 00 00"  # TIMEOUT 300
        "|08 00 09 00 ff ff ff 00",  # NETMASK 255.255.255.0: ff ff ff 00
    ),
    (
        "SET_SERVICE udp v6: sh flags, PE, v6 prefix in host order",
        lambda: encode_set_service(FID, 2, ACK, SVC_UDP6),
        Request(command=Command.SET_SERVICE, family_id=FID, flags=ACK, seq=2, service=SVC_UDP6),
        "70 00 00 00 24 00 05 00 02 00 00 00 00 00 00 00|02 01 00 00"
        "|5c 00 01 00|" + ID_UDP6 + "|07 00 06 00 73 68 00 00"  # SCHED_NAME "sh"
        "|08 00 0b 00 73 69 70 00"  # PE_NAME "sip"
        "|0c 00 07 00 19 00 00 00 ff ff ff ff"  # FLAGS 0x19
        "|08 00 08 00 68 01 00 00"  # TIMEOUT 360
        "|08 00 09 00 40 00 00 00",  # NETMASK: prefix 64, u32 host
    ),
    (
        "NEW_SERVICE fwmark v6 (fwmark u32 host, prefix 128)",
        lambda: encode_new_service(FID, 3, ACK, SVC_FWM6),
        Request(command=Command.NEW_SERVICE, family_id=FID, flags=ACK, seq=3, service=SVC_FWM6),
        "4c 00 00 00 24 00 05 00 03 00 00 00 00 00 00 00|01 01 00 00"
        "|38 00 01 00|" + ID_FWM6 + "|07 00 06 00 72 72 00 00"  # SCHED_NAME "rr"
        "|0c 00 07 00 00 00 00 00 ff ff ff ff"
        "|08 00 08 00 00 00 00 00"
        "|08 00 09 00 80 00 00 00",  # NETMASK 128
    ),
    (
        "DEL_SERVICE (identity only)",
        lambda: encode_del_service(FID, 4, ACK, SVC_TCP4),
        Request(command=Command.DEL_SERVICE, family_id=FID, flags=ACK, seq=4, service=KEY_TCP4),
        "44 00 00 00 24 00 05 00 04 00 00 00 00 00 00 00|03 01 00 00|" + N_TCP4,
    ),
    (
        "GET_SERVICE doit fwmark",
        lambda: encode_get_service(FID, 5, REQ, KEY_FWM5),
        Request(command=Command.GET_SERVICE, family_id=FID, flags=REQ, seq=5, service=KEY_FWM5),
        "28 00 00 00 24 00 01 00 05 00 00 00 00 00 00 00|04 01 00 00|" + N_FWM5,
    ),
    (
        "GET_SERVICE dump",
        lambda: encode_get_services(FID, 6),
        Request(command=Command.GET_SERVICE, family_id=FID, flags=DUMP, seq=6),
        "14 00 00 00 24 00 01 03 06 00 00 00 00 00 00 00|04 01 00 00",
    ),
    (
        "NEW_DEST DR (facts §8)",
        lambda: encode_new_dest(FID, 7, ACK, SVC_TCP4, DEST_DR),
        Request(
            command=Command.NEW_DEST,
            family_id=FID,
            flags=ACK,
            seq=7,
            service=KEY_TCP4,
            destination=DEST_DR,
        ),
        "a4 00 00 00 24 00 05 00 07 00 00 00 00 00 00 00|05 01 00 00|" + N_TCP4 + "|" + D_DR,
    ),
    (
        "SET_DEST GUE v6: be16 tun_port, tun flags",
        lambda: encode_set_dest(FID, 8, ACK, KEY_UDP6, DEST_GUE6),
        Request(
            command=Command.SET_DEST,
            family_id=FID,
            flags=ACK,
            seq=8,
            service=KEY_UDP6,
            destination=DEST_GUE6,
        ),
        "a4 00 00 00 24 00 05 00 08 00 00 00 00 00 00 00|06 01 00 00|" + N_UDP6 + "|" + D_GUE6,
    ),
    (
        "NEW_DEST v4 tunnel into a v6 fwmark service (dest family sent)",
        lambda: encode_dest(
            FID, Command.NEW_DEST, 9, ACK, encode_service_key_nest(KEY_FWM6), DEST_V4_IN_V6
        ),
        Request(
            command=Command.NEW_DEST,
            family_id=FID,
            flags=ACK,
            seq=9,
            service=KEY_FWM6,
            destination=DEST_V4_IN_V6,
        ),
        "88 00 00 00 24 00 05 00 09 00 00 00 00 00 00 00|05 01 00 00|" + N_FWM6 + "|" + D_V4_TUN,
    ),
    (
        "DEL_DEST (full nest, like ipvsadm)",
        lambda: encode_del_dest(FID, 10, ACK, KEY_TCP4, DEST_DR),
        Request(
            command=Command.DEL_DEST,
            family_id=FID,
            flags=ACK,
            seq=10,
            service=KEY_TCP4,
            destination=DEST_DR,
        ),
        "a4 00 00 00 24 00 05 00 0a 00 00 00 00 00 00 00|07 01 00 00|" + N_TCP4 + "|" + D_DR,
    ),
    (
        "GET_DEST dump",
        lambda: encode_get_dests(FID, 12, DUMP, SVC_TCP4),
        Request(command=Command.GET_DEST, family_id=FID, flags=DUMP, seq=12, service=KEY_TCP4),
        "44 00 00 00 24 00 01 03 0c 00 00 00 00 00 00 00|08 01 00 00|" + N_TCP4,
    ),
    (
        "NEW_DAEMON master: MCAST_PORT host order, GROUP network order",
        lambda: encode_new_daemon(FID, 13, ACK, DAEMON_MASTER),
        Request(command=Command.NEW_DAEMON, family_id=FID, flags=ACK, seq=13, daemon=DAEMON_MASTER),
        "54 00 00 00 24 00 05 00 0d 00 00 00 00 00 00 00|09 01 00 00"
        "|40 00 03 00"  # DAEMON nest, len 64
        "|08 00 01 00 01 00 00 00"  # STATE master
        "|09 00 02 00 65 74 68 30 00 00 00 00"  # MCAST_IFN "eth0"
        "|08 00 03 00 07 00 00 00"  # SYNC_ID 7
        "|06 00 04 00 c0 05 00 00"  # SYNC_MAXLEN 1472, u16 host
        "|08 00 05 00 e0 00 00 51"  # MCAST_GROUP 224.0.0.81
        "|06 00 07 00 90 22 00 00"  # MCAST_PORT 8848 = 0x2290, HOST order
        "|05 00 08 00 02 00 00 00",  # MCAST_TTL 2
    ),
    (
        "NEW_DAEMON backup with GROUP6, zero values omitted",
        lambda: encode_new_daemon(FID, 14, ACK, DAEMON_BACKUP6),
        Request(
            command=Command.NEW_DAEMON, family_id=FID, flags=ACK, seq=14, daemon=DAEMON_BACKUP6
        ),
        "48 00 00 00 24 00 05 00 0e 00 00 00 00 00 00 00|09 01 00 00"
        "|34 00 03 00"
        "|08 00 01 00 02 00 00 00"  # STATE backup
        "|09 00 02 00 65 74 68 31 00 00 00 00"  # "eth1"
        "|08 00 03 00 00 00 00 00"  # SYNC_ID 0
        "|14 00 06 00 ff 02 00 00 00 00 00 00 00 00 00 00 00 00 12 34",  # MCAST_GROUP6
    ),
    (
        "DEL_DAEMON by state",
        lambda: encode_del_daemon(FID, 15, ACK, DaemonState.BACKUP),
        Request(
            command=Command.DEL_DAEMON,
            family_id=FID,
            flags=ACK,
            seq=15,
            daemon=DaemonState.BACKUP,
        ),
        "20 00 00 00 24 00 05 00 0f 00 00 00 00 00 00 00|0a 01 00 00"
        "|0c 00 03 00|08 00 01 00 02 00 00 00",
    ),
    (
        "GET_DAEMON dump",
        lambda: encode_get_daemons(FID, 16),
        Request(command=Command.GET_DAEMON, family_id=FID, flags=DUMP, seq=16),
        "14 00 00 00 24 00 01 03 10 00 00 00 00 00 00 00|0b 01 00 00",
    ),
    (
        "SET_CONFIG timeouts",
        lambda: encode_set_config(FID, 17, ACK, TIMEOUTS),
        Request(command=Command.SET_CONFIG, family_id=FID, flags=ACK, seq=17, timeouts=TIMEOUTS),
        "2c 00 00 00 24 00 05 00 11 00 00 00 00 00 00 00|0c 01 00 00"
        "|08 00 04 00 84 03 00 00"  # TIMEOUT_TCP 900
        "|08 00 05 00 78 00 00 00"  # TIMEOUT_TCP_FIN 120
        "|08 00 06 00 2c 01 00 00",  # TIMEOUT_UDP 300
    ),
    (
        "GET_CONFIG",
        lambda: encode_get_config(FID, 18),
        Request(command=Command.GET_CONFIG, family_id=FID, flags=REQ, seq=18),
        "14 00 00 00 24 00 01 00 12 00 00 00 00 00 00 00|0d 01 00 00",
    ),
    (
        "GET_INFO",
        lambda: encode_get_info(FID, 19),
        Request(command=Command.GET_INFO, family_id=FID, flags=REQ, seq=19),
        "14 00 00 00 24 00 01 00 13 00 00 00 00 00 00 00|0f 01 00 00",
    ),
    (
        "ZERO everything",
        lambda: encode_zero(FID, 20, ACK),
        Request(command=Command.ZERO, family_id=FID, flags=ACK, seq=20),
        "14 00 00 00 24 00 05 00 14 00 00 00 00 00 00 00|10 01 00 00",
    ),
    (
        "ZERO one service",
        lambda: encode_zero(FID, 21, ACK, KEY_FWM5),
        Request(command=Command.ZERO, family_id=FID, flags=ACK, seq=21, service=KEY_FWM5),
        "28 00 00 00 24 00 05 00 15 00 00 00 00 00 00 00|10 01 00 00|" + N_FWM5,
    ),
    (
        "FLUSH",
        lambda: encode_flush(FID, 22),
        Request(command=Command.FLUSH, family_id=FID, flags=ACK, seq=22),
        "14 00 00 00 24 00 05 00 16 00 00 00 00 00 00 00|11 01 00 00",
    ),
]


@pytest.mark.parametrize(
    ("name", "encode", "request_", "hexbytes"),
    REQUEST_VECTORS,
    ids=[row[0] for row in REQUEST_VECTORS],
)
def test_request_vectors_encode(
    name: str, encode: Callable[[], bytes], request_: Request, hexbytes: str
) -> None:
    assert encode().hex(" ") == h(hexbytes).hex(" ")


@pytest.mark.parametrize(
    ("name", "encode", "request_", "hexbytes"),
    REQUEST_VECTORS,
    ids=[row[0] for row in REQUEST_VECTORS],
)
def test_request_vectors_decode(
    name: str, encode: Callable[[], bytes], request_: Request, hexbytes: str
) -> None:
    assert decode_request(h(hexbytes)) == request_


def test_every_command_has_a_vector() -> None:
    covered = {row[2].command for row in REQUEST_VECTORS}
    assert covered == set(Command) - {Command.UNSPEC, Command.SET_INFO}


def test_service_key_nest_is_reusable() -> None:
    nest = encode_service_key_nest(SVC_TCP4)
    assert nest == h(N_TCP4)
    assert encode_service_key_nest(KEY_TCP4) == nest
    a = encode_dest(FID, Command.NEW_DEST, 7, ACK, nest, DEST_DR)
    assert a == encode_new_dest(FID, 7, ACK, KEY_TCP4, DEST_DR)


def test_encoder_rejects_non_service() -> None:
    with pytest.raises(ValidationError):
        encode_service_key_nest("TCP 1.2.3.4:80")  # type: ignore[arg-type]


# ----------------------------------------------------------------- request decoding details


def test_decode_request_accepts_short_address_and_nested_flag() -> None:
    # A request as an older tool might send it: 4-byte ADDR, NLA_F_NESTED on the nest.
    msg = h(
        "38 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
        "|24 00 01 80"  # SERVICE | NLA_F_NESTED, len 36
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        "|08 00 03 00 c0 a8 01 01"  # ADDR, 4 bytes
        "|06 00 04 00 00 50 00 00"
    )
    assert decode_request(msg).service == KEY_TCP4


def test_decode_request_missing_dest_family_uses_service_family() -> None:
    msg = h(
        "a8 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|05 01 00 00|" + N_UDP6 + "|64 00 02 00"
        "|14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
        "|06 00 02 00 1f 75 00 00"
        "|08 00 03 00 02 00 00 00"
        "|08 00 04 00 64 00 00 00"
        "|05 00 0d 00 01 00 00 00"
        "|06 00 0e 00 17 c0 00 00"
        "|06 00 0f 00 02 00 00 00"
        "|08 00 05 00 e8 03 00 00"
        "|08 00 06 00 0a 00 00 00"
        "|0c 00 63 00 00 00 00 00 00 00 00 00"  # unknown type 99: ignored
    )
    req = decode_request(msg)
    assert req.destination == DEST_GUE6
    assert req.destination is not None and req.destination.family is Family.INET6


@pytest.mark.parametrize(
    ("why", "hexbytes"),
    [
        ("no message", ""),
        ("two messages", "14 00 00 00 24 00 01 00 01 00 00 00 00 00 00 00 0f 01 00 00" * 2),
        ("unknown command", "14 00 00 00 24 00 01 00 01 00 00 00 00 00 00 00|63 01 00 00"),
        ("no genl header", "12 00 00 00 24 00 01 00 01 00 00 00 00 00 00 00|0f 01"),
        ("NEW_SERVICE without nest", "14 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|01 01 00 00"),
        (
            "DEL_SERVICE without AF",
            "24 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|10 00 01 00|08 00 05 00 05 00 00 00|04 00 63 00",
        ),
        (
            "fwmark 0",
            "28 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|14 00 01 00|06 00 01 00 02 00 00 00|08 00 05 00 00 00 00 00",
        ),
        (
            "family 7",
            "28 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|14 00 01 00|06 00 01 00 07 00 00 00|08 00 05 00 05 00 00 00",
        ),
        (
            "address key lacking PORT",
            "3c 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|28 00 01 00|06 00 01 00 02 00 00 00|06 00 02 00 06 00 00 00"
            f"|14 00 03 00 c0 a8 01 01 {Z12}",
        ),
        (
            "protocol 1",
            "44 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|30 00 01 00|06 00 01 00 02 00 00 00|06 00 02 00 01 00 00 00"
            f"|14 00 03 00 c0 a8 01 01 {Z12}|06 00 04 00 00 50 00 00",
        ),
        (
            "ADDR longer than 16 bytes",
            "48 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|34 00 01 00|06 00 01 00 02 00 00 00|06 00 02 00 06 00 00 00"
            f"|18 00 03 00 c0 a8 01 01 {Z12} 00 00 00 00|06 00 04 00 00 50 00 00",
        ),
        (
            "PORT one byte",
            "44 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|03 01 00 00"
            "|30 00 01 00|06 00 01 00 02 00 00 00|06 00 02 00 06 00 00 00"
            f"|14 00 03 00 c0 a8 01 01 {Z12}|05 00 04 00 50 00 00 00",
        ),
        (
            "DEST command without DEST nest",
            "44 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|05 01 00 00|" + N_TCP4,
        ),
        (
            "DEST command without SERVICE nest",
            "74 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|05 01 00 00|" + D_DR,
        ),
        (
            "GUE tunnel without port",
            "a4 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|05 01 00 00|"
            + N_TCP4
            + "|"
            + D_DR.replace("05 00 0d 00 00", "05 00 0d 00 01"),
        ),
        (
            "scheduler without NUL",
            "68 00 00 00 24 00 05 00 01 00 00 00 00 00 00 00|01 01 00 00|54 00 01 00"
            "|06 00 01 00 02 00 00 00|06 00 02 00 06 00 00 00"
            f"|14 00 03 00 c0 a8 01 01 {Z12}|06 00 04 00 00 50 00 00"
            "|08 00 06 00 77 6c 63 78"
            "|0c 00 07 00 00 00 00 00 ff ff ff ff|08 00 08 00 00 00 00 00"
            "|08 00 09 00 ff ff ff ff",
        ),
        (
            "IPv6 prefix 0",
            "4c 00 00 00 24 00 05 00 03 00 00 00 00 00 00 00|01 01 00 00|38 00 01 00|"
            + ID_FWM6
            + "|07 00 06 00 72 72 00 00|0c 00 07 00 00 00 00 00 ff ff ff ff"
            "|08 00 08 00 00 00 00 00|08 00 09 00 00 00 00 00",
        ),
        (
            "daemon state 3",
            "20 00 00 00 24 00 05 00 0f 00 00 00 00 00 00 00|0a 01 00 00"
            "|0c 00 03 00|08 00 01 00 03 00 00 00",
        ),
        (
            "daemon interface not UTF-8",
            "34 00 00 00 24 00 05 00 0d 00 00 00 00 00 00 00|09 01 00 00"
            "|20 00 03 00|08 00 01 00 01 00 00 00|09 00 02 00 ff fe 68 30 00 00 00 00"
            "|08 00 03 00 07 00 00 00",
        ),
    ],
)
def test_decode_request_rejects(why: str, hexbytes: str) -> None:
    with pytest.raises(DecodeError):
        decode_request(h(hexbytes))


# ----------------------------------------------------------------- kernel replies

STATS32 = (
    "5c 00 0a 00"  # STATS nest, len 92
    "|08 00 01 00 01 00 00 00"  # CONNS u32
    "|08 00 02 00 02 00 00 00"  # INPKTS u32
    "|08 00 03 00 03 00 00 00"  # OUTPKTS u32
    "|0c 00 04 00 04 00 00 00 01 00 00 00"  # INBYTES u64 = 0x100000004
    "|0c 00 05 00 05 00 00 00 00 00 00 00"  # OUTBYTES u64
    "|08 00 06 00 06 00 00 00"  # CPS
    "|08 00 07 00 07 00 00 00"  # INPPS
    "|08 00 08 00 08 00 00 00"  # OUTPPS
    "|08 00 09 00 09 00 00 00"  # INBPS
    "|08 00 0a 00 0a 00 00 00"  # OUTBPS
)
STATS32_VALUE = Stats(
    connections=1,
    packets_in=2,
    packets_out=3,
    bytes_in=0x100000004,
    bytes_out=5,
    cps=6,
    pps_in=7,
    pps_out=8,
    bps_in=9,
    bps_out=10,
)
STATS64 = (
    "7c 00 0c 00"  # STATS64 nest, len 124
    "|0c 00 01 00 11 00 00 00 01 00 00 00"  # CONNS 0x100000011
    "|0c 00 02 00 12 00 00 00 00 00 00 00"
    "|0c 00 03 00 13 00 00 00 00 00 00 00"
    "|0c 00 04 00 14 00 00 00 00 00 00 00"
    "|0c 00 05 00 15 00 00 00 00 00 00 00"
    "|0c 00 06 00 16 00 00 00 00 00 00 00"
    "|0c 00 07 00 17 00 00 00 00 00 00 00"
    "|0c 00 08 00 18 00 00 00 00 00 00 00"
    "|0c 00 09 00 19 00 00 00 00 00 00 00"
    "|0c 00 0a 00 ff ff ff ff ff ff ff ff"  # OUTBPS 2**64-1
)
STATS64_VALUE = Stats(
    connections=0x100000011,
    packets_in=0x12,
    packets_out=0x13,
    bytes_in=0x14,
    bytes_out=0x15,
    cps=0x16,
    pps_in=0x17,
    pps_out=0x18,
    bps_in=0x19,
    bps_out=2**64 - 1,
)
# STATS64 as a strict-alignment architecture sends it: PAD (type 11, len 4) before u64s
STATS64_PADDED = (
    "88 00 0c 00"  # len 136 = 124 + 3 PADs
    "|04 00 0b 00"  # PAD
    "|0c 00 01 00 11 00 00 00 01 00 00 00"
    "|0c 00 02 00 12 00 00 00 00 00 00 00"
    "|04 00 0b 00"  # PAD
    "|0c 00 03 00 13 00 00 00 00 00 00 00"
    "|0c 00 04 00 14 00 00 00 00 00 00 00"
    "|0c 00 05 00 15 00 00 00 00 00 00 00"
    "|0c 00 06 00 16 00 00 00 00 00 00 00"
    "|0c 00 07 00 17 00 00 00 00 00 00 00"
    "|04 00 0b 00"  # PAD
    "|0c 00 08 00 18 00 00 00 00 00 00 00"
    "|0c 00 09 00 19 00 00 00 00 00 00 00"
    "|0c 00 0a 00 ff ff ff ff ff ff ff ff"
)


def test_decode_service_reply_v4() -> None:
    area = h(
        "2c 01 01 00"  # SERVICE nest, len 300
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        f"|14 00 03 00 c0 a8 01 01 {Z12}"
        "|06 00 04 00 00 50 00 00"
        "|08 00 06 00 77 6c 63 00"
        "|0c 00 07 00 03 00 00 00 ff ff ff ff"  # flags PERSISTENT|HASHED
        "|08 00 08 00 2c 01 00 00"  # timeout 300
        "|08 00 09 00 ff ff ff 00"  # netmask 255.255.255.0
        f"|{STATS32}|{STATS64}"
    )
    svc = decode_service(area)
    assert svc == Service.tcp(
        "192.168.1.1", 80, flags=ServiceFlags.PERSISTENT, timeout=300, netmask=24
    )
    assert svc.flags == ServiceFlags.PERSISTENT  # HASHED stripped
    assert svc.netmask == IPv4Address("255.255.255.0")
    assert svc.stats == STATS64_VALUE  # STATS64 preferred over STATS


def test_decode_service_reply_v4_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipvs.netlink import _decode, _fastpath

    area = h(
        "2c 01 01 00"
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        f"|14 00 03 00 c0 a8 01 01 {Z12}"
        "|06 00 04 00 00 50 00 00"
        "|08 00 06 00 77 6c 63 00"
        "|0c 00 07 00 03 00 00 00 ff ff ff ff"
        "|08 00 08 00 2c 01 00 00"
        "|08 00 09 00 ff ff ff 00"
        f"|{STATS32}|{STATS64}"
    )
    slow = _decode._service_from(
        _decode._decode_nest(_decode._top_nest(memoryview(area), CmdAttr.SERVICE)[1], SVC_POLICY)
    )

    def no_generic(*args: object) -> None:
        raise AssertionError("generic parser used")

    monkeypatch.setattr(_decode, "_decode_nest", no_generic)
    fast = decode_service(area)
    assert fast == slow and fast.stats == slow.stats
    assert attrs.astuple(fast) == attrs.astuple(slow)
    # a header the layout does not expect (NLA_F_NESTED on the nest) goes the generic way
    flagged = bytearray(area)
    flagged[3] |= 0x80
    assert _fastpath.service_fast(bytes(flagged)) is None
    # a scheduler name that is not NUL-terminated goes the generic way (which refuses it)
    assert _fastpath.service_fast(area.replace(b"wlc\0", b"wlcx")) is None
    with pytest.raises(AssertionError, match="generic parser used"):
        decode_service(area.replace(b"wlc\0", b"wlcx"))


def test_decode_service_reply_v6_with_pe_and_only_stats32() -> None:
    area = h(
        "b8 00 01 00|"  # len 184
        + ID_UDP6
        + "|07 00 06 00 73 68 00 00"  # "sh"
        "|08 00 0b 00 73 69 70 00"  # PE "sip"
        "|0c 00 07 00 1b 00 00 00 ff ff ff ff"  # 0x1b = 0x19 | HASHED
        "|08 00 08 00 68 01 00 00"
        "|08 00 09 00 40 00 00 00"  # prefix 64 (host u32)
        f"|{STATS32}"
    )
    svc = decode_service(area)
    assert svc == SVC_UDP6
    assert svc.netmask == 64
    assert svc.stats == STATS32_VALUE


def test_decode_service_reply_fwmark_pad_and_unknown() -> None:
    area = h(
        "c8 00 01 00|"  # len 200
        + ID_FWM6
        + "|07 00 06 00 72 72 00 00"
        "|0c 00 07 00 02 00 00 00 ff ff ff ff"  # HASHED only
        "|08 00 08 00 00 00 00 00"
        "|08 00 09 00 80 00 00 00"
        "|08 00 63 00 01 02 03 04"  # unknown type 99
        f"|{STATS64_PADDED}"
    )
    svc = decode_service(area)
    assert svc == SVC_FWM6
    assert svc.stats == STATS64_VALUE


def test_decode_service_reply_keeps_unknown_flag_bits() -> None:
    area = h(
        "38 00 01 00|" + ID_FWM6 + "|07 00 06 00 72 72 00 00"
        "|0c 00 07 00 43 00 00 80 ff ff ff ff"  # 0x80000043: unknown bits 0x40, 0x80000000
        "|08 00 08 00 00 00 00 00"
        "|08 00 09 00 80 00 00 00"
    )
    assert int(decode_service(area).flags) == 0x80000041  # only HASHED removed


def test_decode_service_reply_empty_pe_means_none() -> None:
    area = h(
        "40 00 01 00|" + ID_FWM6 + "|07 00 06 00 72 72 00 00"
        "|05 00 0b 00 00 00 00 00"  # PE_NAME ""
        "|0c 00 07 00 02 00 00 00 ff ff ff ff"
        "|08 00 08 00 00 00 00 00"
        "|08 00 09 00 80 00 00 00"
    )
    assert decode_service(area).pe_name is None


# the kernel's dest dump message body (§8 order), 336 bytes: the fast path
DEST_REPLY_V4 = (
    "50 01 02 00"  # DEST nest, len 336
    f"|14 00 01 00 0a 00 00 02 {Z12}"  # ADDR 10.0.0.2
    "|06 00 02 00 1f 90 00 00"  # PORT 8080
    "|08 00 03 00 00 00 00 00"  # FWD_METHOD MASQ
    "|08 00 04 00 05 00 00 00"  # WEIGHT 5
    "|05 00 0d 00 00 00 00 00"  # TUN_TYPE
    "|06 00 0e 00 00 00 00 00"  # TUN_PORT
    "|06 00 0f 00 00 00 00 00"  # TUN_FLAGS
    "|08 00 05 00 64 00 00 00"  # U_THRESH 100
    "|08 00 06 00 0a 00 00 00"  # L_THRESH 10
    "|08 00 07 00 03 00 00 00"  # ACTIVE_CONNS 3
    "|08 00 08 00 04 00 00 00"  # INACT_CONNS 4
    "|08 00 09 00 05 00 00 00"  # PERSIST_CONNS 5
    "|06 00 0b 00 02 00 00 00"  # ADDR_FAMILY 2
    f"|{STATS32}|{STATS64}"
)
DEST_REPLY_V4_VALUE = Destination(
    address="10.0.0.2",
    port=8080,
    forward=ForwardMethod.MASQ,
    weight=5,
    upper_threshold=100,
    lower_threshold=10,
)

DEST_REPLY_V6_GUE = (
    "50 01 02 00"
    "|14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
    "|06 00 02 00 1f 75 00 00"  # 8053
    "|08 00 03 00 02 00 00 00"  # TUNNEL
    "|08 00 04 00 64 00 00 00"  # 100
    "|05 00 0d 00 01 00 00 00"  # GUE
    "|06 00 0e 00 17 c0 00 00"  # tun port 6080, big-endian
    "|06 00 0f 00 02 00 00 00"  # REMCSUM
    "|08 00 05 00 e8 03 00 00"
    "|08 00 06 00 0a 00 00 00"
    "|08 00 07 00 00 00 00 00"
    "|08 00 08 00 00 00 00 00"
    "|08 00 09 00 00 00 00 00"
    "|06 00 0b 00 0a 00 00 00"
    f"|{STATS32}|{STATS64}"
)


def _check_live(dest: Destination, active: int, inactive: int, persist: int, stats: Stats) -> None:
    assert (dest.active_connections, dest.inactive_connections) == (active, inactive)
    assert dest.persistent_connections == persist
    assert dest.stats == stats


def test_decode_destination_fast_path_v4() -> None:
    area = h(DEST_REPLY_V4)
    assert len(area) == 336
    dest = decode_destination(area, Family.INET)
    assert dest == DEST_REPLY_V4_VALUE
    assert dest.family is Family.INET and type(dest.forward) is ForwardMethod
    _check_live(dest, 3, 4, 5, STATS64_VALUE)


def test_decode_destination_fast_path_v6_gue() -> None:
    dest = decode_destination(memoryview(h(DEST_REPLY_V6_GUE)), Family.INET6)
    assert dest == DEST_GUE6
    assert dest.tunnel_port == 6080 and dest.port == 8053
    assert dest.tunnel_flags == TunnelFlags.REMCSUM
    _check_live(dest, 0, 0, 0, STATS64_VALUE)


def test_decode_destination_generic_path_matches_fast_path() -> None:
    # NLA_F_NESTED on the DEST nest defeats the fast path's header check
    area = bytearray(h(DEST_REPLY_V4))
    area[3] |= 0x80
    slow = decode_destination(bytes(area), Family.INET)
    fast = decode_destination(h(DEST_REPLY_V4), Family.INET)
    assert slow == fast
    assert attrs.astuple(slow) == attrs.astuple(fast)


def test_decode_destination_old_kernel_without_family_and_stats64() -> None:
    # pre-3.18 layout: no ADDR_FAMILY, no tunnel attributes, no STATS64; IPv6 service
    area = h(
        "b4 00 02 00"  # len 180
        "|14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 07"
        "|06 00 02 00 00 50 00 00"
        "|08 00 03 00 03 00 00 00"
        "|08 00 04 00 02 00 00 00"
        "|08 00 05 00 00 00 00 00"
        "|08 00 06 00 00 00 00 00"
        "|08 00 07 00 01 00 00 00"
        "|08 00 08 00 00 00 00 00"
        "|08 00 09 00 00 00 00 00"
        f"|{STATS32}"
    )
    dest = decode_destination(area, Family.INET6)
    assert dest == Destination(address="2001:db8::7", port=80, weight=2)
    assert dest.family is Family.INET6
    _check_live(dest, 1, 0, 0, STATS32_VALUE)


def test_decode_destination_family_zero_means_service_family() -> None:
    area = h(
        "48 00 02 00"
        f"|14 00 01 00 0a 00 00 09 {Z12}"
        "|06 00 02 00 00 50 00 00"
        "|08 00 03 00 03 00 00 00"
        "|08 00 04 00 01 00 00 00"
        "|08 00 05 00 00 00 00 00"
        "|08 00 06 00 00 00 00 00"
        "|06 00 0b 00 00 00 00 00"  # ADDR_FAMILY 0
    )
    assert decode_destination(area, Family.INET).address == IPv4Address("10.0.0.9")


def test_decode_destination_duplicates_unknowns_and_pad() -> None:
    area = h(
        "9c 00 02 00"  # len 156
        f"|14 00 01 00 0a 00 00 02 {Z12}"
        "|06 00 02 00 1f 90 00 00"
        "|08 00 03 00 00 00 00 00"
        "|08 00 04 00 01 00 00 00"  # WEIGHT 1 ...
        "|08 00 04 00 05 00 00 00"  # ... WEIGHT 5: the last one wins
        "|08 00 05 00 64 00 00 00"
        "|08 00 06 00 0a 00 00 00"
        "|0c 00 63 00 de ad be ef de ad be ef"  # unknown type 99
        "|04 00 00 00"  # type 0 is unknown too
        "|06 00 0b 40 02 00 00 00"  # ADDR_FAMILY with NLA_F_NET_BYTEORDER set
        "|3c 00 0a 00"  # STATS with PAD entries (len 60)
        "|04 00 0b 00"
        "|08 00 01 00 01 00 00 00"
        "|08 00 02 00 02 00 00 00"
        "|08 00 03 00 03 00 00 00"
        "|04 00 0b 00"
        "|0c 00 04 00 04 00 00 00 01 00 00 00"
        "|0c 00 05 00 05 00 00 00 00 00 00 00"
    )
    dest = decode_destination(area, Family.INET6)
    assert dest == DEST_REPLY_V4_VALUE
    assert dest.stats == Stats(
        connections=1, packets_in=2, packets_out=3, bytes_in=0x100000004, bytes_out=5
    )


@pytest.mark.parametrize(
    ("why", "area"),
    [
        ("empty", ""),
        ("no DEST nest", "08 00 01 00 00 00 00 00"),
        ("truncated", DEST_REPLY_V4[:-6]),
        ("fast layout, family 7", DEST_REPLY_V4.replace("06 00 0b 00 02", "06 00 0b 00 07")),
        ("fast layout, forward 5", DEST_REPLY_V4.replace("08 00 03 00 00", "08 00 03 00 05")),
        (
            "fast layout, weight 2**31",
            DEST_REPLY_V4.replace("04 00 05 00 00 00", "04 00 05 00 00 80"),
        ),
        ("fast layout, lower > upper", DEST_REPLY_V4.replace("06 00 0a 00", "06 00 ff 00")),
        ("fast layout, tun type 3", DEST_REPLY_V4.replace("0d 00 00", "0d 00 03")),
        ("fast layout, GUE port 0", DEST_REPLY_V4.replace("0d 00 00", "0d 00 01")),
        (
            "fast layout, bad STATS64 entry",
            DEST_REPLY_V4.replace("0c 00 0a 00 ff", "0d 00 0a 00 ff"),
        ),
        ("no ADDR", "0c 00 02 00|06 00 02 00 00 50 00 00"),
    ],
)
def test_decode_destination_rejects(why: str, area: str) -> None:
    with pytest.raises(DecodeError):
        decode_destination(h(area), Family.INET)


def test_decode_destination_keeps_unknown_tunnel_flag_bits() -> None:
    area = h(DEST_REPLY_V4.replace("06 00 0f 00 00 00", "06 00 0f 00 04 01"))
    assert int(decode_destination(area, Family.INET).tunnel_flags) == 0x104


def test_decode_daemon_reply() -> None:
    area = h(
        "40 00 03 00"
        "|08 00 01 00 01 00 00 00"  # STATE master
        "|09 00 02 00 65 74 68 30 00 00 00 00"  # "eth0"
        "|08 00 03 00 07 00 00 00"  # SYNC_ID
        "|06 00 04 00 c0 05 00 00"  # SYNC_MAXLEN 1472
        "|06 00 07 00 90 22 00 00"  # MCAST_PORT 8848, host order
        "|05 00 08 00 02 00 00 00"  # MCAST_TTL
        "|08 00 05 00 e0 00 00 51"  # MCAST_GROUP 224.0.0.81
    )
    assert decode_daemon(area) == DAEMON_MASTER
    old = h(
        "20 00 03 00|08 00 01 00 02 00 00 00|09 00 02 00 65 74 68 31 00 00 00 00"
        "|08 00 03 00 00 00 00 00"
    )
    assert decode_daemon(old) == SyncDaemon(state=DaemonState.BACKUP, interface="eth1")


def test_decode_daemon_group6_and_rejects() -> None:
    area = h(
        "34 00 03 00|08 00 01 00 02 00 00 00|09 00 02 00 65 74 68 31 00 00 00 00"
        "|08 00 03 00 00 00 00 00"
        "|14 00 06 00 ff 02 00 00 00 00 00 00 00 00 00 00 00 00 12 34"
    )
    assert decode_daemon(area) == DAEMON_BACKUP6
    assert decode_daemon(area).group == IPv6Address("ff02::1234")
    head = "|08 00 01 00 02 00 00 00|09 00 02 00 65 74 68 31 00 00 00 00|08 00 03 00 00 00 00 00"
    with pytest.raises(DecodeError):  # GROUP6 shorter than 16 bytes
        decode_daemon(h("2c 00 03 00" + head + "|0c 00 06 00 ff 02 00 00 00 00 00 00"))
    with pytest.raises(DecodeError):  # not a multicast group
        decode_daemon(h("28 00 03 00" + head + "|08 00 05 00 0a 00 00 01"))
    with pytest.raises(DecodeError):  # no DAEMON nest
        decode_daemon(b"")


def test_decode_info_and_timeouts_replies() -> None:
    info = decode_info(h("08 00 01 00 01 02 01 00|08 00 02 00 00 10 00 00"))
    assert info == Info(version="1.2.1", version_code=0x010201, connection_table_size=4096)
    with pytest.raises(DecodeError):
        decode_info(h("08 00 01 00 01 02 01 00"))
    t = decode_timeouts(
        h("08 00 04 00 84 03 00 00|08 00 05 00 78 00 00 00|08 00 06 00 2c 01 00 00")
    )
    assert t == TIMEOUTS
    # a kernel without the UDP protocol module omits TIMEOUT_UDP
    assert decode_timeouts(h("08 00 04 00 84 03 00 00")) == Timeouts(tcp=900)
    with pytest.raises(DecodeError):
        decode_timeouts(h("08 00 04 00 84 03 00 00 | ff"))
    with pytest.raises(DecodeError):  # u32 too short
        decode_timeouts(h("06 00 04 00 84 03 00 00"))


def test_service_reply_errors() -> None:
    with pytest.raises(DecodeError):
        decode_service(b"")
    with pytest.raises(DecodeError):  # FLAGS longer than 8 bytes
        decode_service(
            h(
                "3c 00 01 00|"
                + ID_FWM6
                + "|07 00 06 00 72 72 00 00|10 00 07 00 00 00 00 00 ff ff ff ff 00 00 00 00"
                "|08 00 08 00 00 00 00 00|08 00 09 00 80 00 00 00"
            )
        )


# ----------------------------------------------------------------- the policy table


def test_policy_tables_mirror_the_kernel() -> None:
    assert [int(a) for a in CmdAttr] == list(range(1, 7))
    assert [int(a) for a in SvcAttr] == list(range(1, 13))
    assert [int(a) for a in DestAttr] == list(range(1, 16))
    assert [int(a) for a in DaemonAttr] == list(range(1, 9))
    assert [int(a) for a in StatsAttr] == list(range(1, 12))
    assert [int(a) for a in InfoAttr] == [1, 2]
    assert SVC_POLICY[SvcAttr.PORT].kind is Kind.BE16
    assert DEST_POLICY[DestAttr.PORT].kind is Kind.BE16
    assert DEST_POLICY[DestAttr.TUN_PORT].kind is Kind.BE16
    assert DAEMON_POLICY[DaemonAttr.MCAST_PORT].kind is Kind.U16  # host order!
    assert SVC_POLICY[SvcAttr.SCHED_NAME].size == 15
    assert SVC_POLICY[SvcAttr.PE_NAME].size == 16
    assert DAEMON_POLICY[DaemonAttr.MCAST_IFN].size == 15
    assert SVC_POLICY[SvcAttr.ADDR] == DEST_POLICY[DestAttr.ADDR]
    assert DAEMON_POLICY[DaemonAttr.MCAST_GROUP6].kind is Kind.MIN_BINARY
    assert StatsAttr.PAD not in STATS_POLICY and StatsAttr.PAD not in STATS64_POLICY
    assert [STATS_POLICY[t].size for t in range(1, 11)] == [4, 4, 4, 8, 8, 4, 4, 4, 4, 4]
    assert {spec.size for spec in STATS64_POLICY.values()} == {8}
    assert CMD_POLICY[CmdAttr.TIMEOUT_UDP].kind is Kind.U32
    assert INFO_POLICY[InfoAttr.VERSION].kind is Kind.U32
    assert set(POLICIES) == {"cmd", "service", "dest", "daemon", "stats", "stats64", "info"}
    assert [int(c) for c in Command] == list(range(18))


def test_kernel_layout_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipvs.netlink import _decode

    def no_generic(*args: object) -> None:
        raise AssertionError("generic parser used")

    monkeypatch.setattr(_decode, "_decode_nest", no_generic)
    dest = decode_destination(h(DEST_REPLY_V4), Family.INET)
    assert dest == DEST_REPLY_V4_VALUE
    with pytest.raises(AssertionError, match="generic parser used"):
        decode_destination(h(DEST_REPLY_V4.replace("50 01 02 00", "50 01 02 80")), Family.INET)


STATS64_ZERO = "7c 00 0c 00" + "".join(
    f"|0c 00 {t:02x} 00 00 00 00 00 00 00 00 00" for t in range(1, 11)
)


def test_idle_destinations_share_one_stats_object() -> None:
    """All-zero counters decode to one shared (immutable) Stats; others to their own."""
    idle = h(DEST_REPLY_V4.replace(STATS64, STATS64_ZERO))
    a, b = decode_destination(idle, Family.INET), decode_destination(idle, Family.INET)
    assert a.stats == Stats() and a.stats is b.stats
    busy = decode_destination(h(DEST_REPLY_V4), Family.INET)
    assert busy.stats == STATS64_VALUE and busy.stats is not a.stats


def test_odd_service_replies_do_not_crowd_out_the_fast_path() -> None:
    from ipvs.netlink import _fastpath

    # replies of odd sizes (garbage, other kernels) must not fill the layout cache
    # nor fill it with other layouts: the usual one below must still be decoded fast
    for size in range(64, 600, 4):
        junk = bytearray(size)
        junk[48] = 9  # a plausible scheduler length ("wlc" below has 8), in zeros
        assert _fastpath.service_fast(bytes(junk)) is None
    area = h(
        "2c 01 01 00"
        "|06 00 01 00 02 00 00 00"
        "|06 00 02 00 06 00 00 00"
        f"|14 00 03 00 c0 a8 01 01 {Z12}"
        "|06 00 04 00 00 50 00 00"
        "|08 00 06 00 77 6c 63 00"
        "|0c 00 07 00 03 00 00 00 ff ff ff ff"
        "|08 00 08 00 2c 01 00 00"
        "|08 00 09 00 ff ff ff 00"
        f"|{STATS32}|{STATS64}"
    )
    assert _fastpath.service_fast(area) is not None
