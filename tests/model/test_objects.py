"""Tests of the data model: construction, defaults, derivation and validation."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import attrs
import pytest
from hypothesis import given, strategies as st

from ipvs._model import (
    DaemonState,
    Destination,
    Family,
    ForwardMethod,
    Info,
    Protocol,
    Scheduler,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
    Timeouts,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._checks import parse_v4
from ipvs.errors import ValidationError

# --------------------------------------------------------------------------- enums


def test_enum_values_match_the_kernel() -> None:
    assert (Family.INET, Family.INET6) == (2, 10)
    assert (Protocol.TCP, Protocol.UDP, Protocol.SCTP) == (6, 17, 132)
    assert [int(m) for m in ForwardMethod] == [0, 1, 2, 3, 4]
    assert ForwardMethod["DIRECT"] is ForwardMethod.ROUTE
    assert (TunnelType.IPIP, TunnelType.GUE, TunnelType.GRE) == (0, 1, 2)
    assert (TunnelFlags.NOCSUM, TunnelFlags.CSUM, TunnelFlags.REMCSUM) == (0, 1, 2)
    assert (DaemonState.MASTER, DaemonState.BACKUP) == (1, 2)


def test_service_flag_aliases() -> None:
    for alias, canonical in (
        ("SH_FALLBACK", "SCHED1"),
        ("MH_FALLBACK", "SCHED1"),
        ("SH_PORT", "SCHED2"),
        ("MH_PORT", "SCHED2"),
    ):
        assert ServiceFlags[alias] is ServiceFlags[canonical]
    values = {
        "PERSISTENT": 1,
        "HASHED": 2,
        "ONEPACKET": 4,
        "SCHED1": 8,
        "SCHED2": 0x10,
        "SCHED3": 0x20,
    }
    for name, value in values.items():
        assert ServiceFlags[name] == value
    assert ServiceFlags.SH_FALLBACK | ServiceFlags.SH_PORT == 0x18
    # unknown bits are kept (the kernel stores any bit)
    assert int(ServiceFlags(0x40 | 1)) == 0x41


def test_scheduler_enum() -> None:
    names = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf"]
    assert [s.value for s in Scheduler] == [*names, "mh", "none"]
    assert Scheduler("wlc") is Scheduler.WLC
    assert isinstance(Scheduler.WLC, str)


# --------------------------------------------------------------------------- ServiceKey


def test_service_key_tcp_derives_family() -> None:
    key = ServiceKey.tcp("10.0.0.1", 80)
    assert key.family is Family.INET
    assert key.protocol is Protocol.TCP
    assert key.address == IPv4Address("10.0.0.1")
    assert key.port == 80
    assert key.fwmark is None
    assert not key.is_fwmark
    v6 = ServiceKey.udp("2001:db8::1", 53)
    assert v6.family is Family.INET6 and v6.protocol is Protocol.UDP
    assert ServiceKey.sctp(IPv4Address("1.2.3.4"), 0).protocol is Protocol.SCTP


def test_service_key_accepts_strings_for_protocol_and_family() -> None:
    key = ServiceKey(protocol="TcP", address="10.0.0.1", port=80, family="inet")
    assert key == ServiceKey.tcp("10.0.0.1", 80)
    assert ServiceKey(protocol=17, address="::1", port=1).protocol is Protocol.UDP
    assert ServiceKey(protocol="sctp", address="::1", port=1).protocol is Protocol.SCTP


def test_service_key_mark() -> None:
    key = ServiceKey.mark(5)
    assert key.family is Family.INET and key.fwmark == 5 and key.is_fwmark
    assert key.protocol is None and key.address is None and key.port is None
    assert ServiceKey.mark(5, Family.INET6).family is Family.INET6
    assert ServiceKey(fwmark=7).family is Family.INET
    assert ServiceKey.mark(5) != ServiceKey.mark(5, "inet6")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"fwmark": 0}, "fwmark"),
        ({"fwmark": 2**32}, "fwmark"),
        ({"fwmark": True}, "fwmark"),
        ({"fwmark": 1, "port": 80}, "fwmark"),
        ({"fwmark": 1, "protocol": "tcp"}, "fwmark"),
        ({"fwmark": 1, "address": "1.2.3.4"}, "fwmark"),
        ({"fwmark": 1, "family": 7}, "family"),
        ({"protocol": "tcp", "address": "10.0.0.1"}, "port"),
        ({"protocol": "tcp", "port": 1}, "address"),
        ({"address": "10.0.0.1", "port": 1}, "protocol"),
        ({"protocol": "icmp", "address": "10.0.0.1", "port": 1}, "protocol"),
        ({"protocol": 1, "address": "10.0.0.1", "port": 1}, "protocol"),
        ({"protocol": "tcp", "address": "10.0.0.1", "port": 65536}, "port"),
        ({"protocol": "tcp", "address": "10.0.0.1", "port": -1}, "port"),
        ({"protocol": "tcp", "address": "10.0.0.1", "port": "80"}, "port"),
        ({"protocol": "tcp", "address": "10.0.0.999", "port": 1}, "address"),
        ({"protocol": "tcp", "address": 167772161, "port": 1}, "address"),
        ({"protocol": "tcp", "address": "fe80::1%eth0", "port": 1}, "address"),
        ({"protocol": "tcp", "address": "10.0.0.1", "port": 1, "family": "inet6"}, "family"),
        ({"protocol": "tcp", "address": "::1", "port": 1, "family": 2}, "family"),
    ],
)
def test_service_key_validation(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ServiceKey(**kwargs)


def test_service_key_describe() -> None:
    assert ServiceKey.tcp("10.0.0.1", 80).describe() == "TCP 10.0.0.1:80"
    assert ServiceKey.udp("2001:db8::1", 53).describe() == "UDP [2001:db8::1]:53"
    assert ServiceKey.sctp("10.0.0.1", 9).describe() == "SCTP 10.0.0.1:9"
    assert ServiceKey.mark(5).describe() == "FWM 5"
    assert ServiceKey.mark(5, Family.INET6).describe() == "FWM 5 IPv6"


def test_service_key_hash_and_sort() -> None:
    a = ServiceKey.tcp("10.0.0.2", 80)
    b = ServiceKey.tcp("10.0.0.10", 80)
    c = ServiceKey.mark(1)
    v6 = ServiceKey.tcp("::1", 80)
    assert len({a, ServiceKey.tcp("10.0.0.2", 80), b}) == 2
    assert sorted([c, b, v6, a], key=ServiceKey.sort_key) == [a, b, v6, c]


def test_service_key_is_frozen() -> None:
    key = ServiceKey.tcp("10.0.0.1", 80)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        key.port = 81  # type: ignore[misc]


# --------------------------------------------------------------------------- Service


def test_service_defaults() -> None:
    svc = Service(key=ServiceKey.tcp("10.0.0.1", 80))
    assert svc.scheduler == "wlc"
    assert svc.flags == 0 and isinstance(svc.flags, ServiceFlags)
    assert svc.timeout == 0
    assert svc.netmask == IPv4Address("255.255.255.255")
    assert svc.pe_name is None
    assert svc.stats is None
    assert Service.mark(3, Family.INET6).netmask == 128


def test_service_delegating_properties() -> None:
    svc = Service.udp("2001:db8::1", 53, scheduler=Scheduler.RR)
    assert svc.scheduler == "rr" and type(svc.scheduler) is str
    assert svc.family is Family.INET6
    assert svc.protocol is Protocol.UDP
    assert svc.address == IPv6Address("2001:db8::1")
    assert svc.port == 53
    assert svc.fwmark is None
    assert svc.describe() == "UDP [2001:db8::1]:53"
    assert svc.sort_key() == svc.key.sort_key()
    mark = Service.mark(9)
    assert mark.fwmark == 9 and mark.address is None
    assert Service.sctp("1.2.3.4", 5).protocol is Protocol.SCTP
    assert Service.tcp("1.2.3.4", 5).protocol is Protocol.TCP


@pytest.mark.parametrize(
    ("netmask", "expected"),
    [
        ("255.255.255.0", IPv4Address("255.255.255.0")),
        (IPv4Address("255.255.0.0"), IPv4Address("255.255.0.0")),
        (24, IPv4Address("255.255.255.0")),
        (0, IPv4Address("0.0.0.0")),
        (32, IPv4Address("255.255.255.255")),
        ("/16", IPv4Address("255.255.0.0")),
        ("0.255.0.255", IPv4Address("0.255.0.255")),  # the kernel does not check contiguity
    ],
)
def test_service_ipv4_netmask_conversion(netmask: Any, expected: IPv4Address) -> None:
    assert Service.tcp("10.0.0.1", 80, netmask=netmask).netmask == expected


def test_service_ipv6_netmask_and_prefix_length() -> None:
    assert Service.tcp("::1", 80, netmask=64).netmask == 64
    assert Service.tcp("::1", 80, netmask="48").netmask == 48
    assert Service.tcp("::1", 80, netmask=64).prefix_length == 64
    assert Service.tcp("10.0.0.1", 80, netmask=20).prefix_length == 20


@pytest.mark.parametrize(
    ("key", "settings", "fragment"),
    [
        (ServiceKey.tcp("10.0.0.1", 80), {"netmask": 33}, "netmask"),
        (ServiceKey.tcp("10.0.0.1", 80), {"netmask": "255.255.255.256"}, "netmask"),
        (ServiceKey.tcp("10.0.0.1", 80), {"netmask": IPv6Address("::")}, "netmask"),
        (ServiceKey.tcp("::1", 80), {"netmask": 0}, "netmask"),
        (ServiceKey.tcp("::1", 80), {"netmask": 129}, "netmask"),
        (ServiceKey.tcp("::1", 80), {"netmask": "ffff::"}, "netmask"),
        (ServiceKey.mark(1, "inet6"), {"netmask": IPv4Address("255.0.0.0")}, "netmask"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": ""}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "x" * 16}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "r r"}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "rr\0"}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "wlé"}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": 5}, "scheduler"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": ServiceFlags.HASHED}, "HASHED is read-only"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": 3}, "HASHED is read-only"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": -1}, "flags"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": 2**32}, "flags"),
        (ServiceKey.tcp("10.0.0.1", 80), {"timeout": -1}, "timeout"),
        (ServiceKey.tcp("10.0.0.1", 80), {"timeout": 2**32}, "timeout"),
        (ServiceKey.tcp("10.0.0.1", 80), {"pe_name": ""}, "pe_name"),
        (ServiceKey.tcp("10.0.0.1", 80), {"pe_name": "p" * 17}, "pe_name"),
        (ServiceKey.tcp("10.0.0.1", 80), {"stats": "lots"}, "stats"),
    ],
)
def test_service_validation(key: ServiceKey, settings: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Service(key=key, **settings)


def test_service_key_must_be_a_key() -> None:
    with pytest.raises(ValidationError, match="key"):
        Service(key="TCP 10.0.0.1:80")  # type: ignore[arg-type]


def test_service_limits_accepted() -> None:
    svc = Service.udp(
        "10.0.0.1", 80, scheduler="x" * 15, pe_name="p" * 16, timeout=2678400, flags=0x3D
    )
    assert svc.pe_name == "p" * 16
    assert svc.flags == ServiceFlags(0x3D)
    assert Service.mark(1, flags=ServiceFlags.ONEPACKET).flags == ServiceFlags.ONEPACKET
    # a timeout without PERSISTENT is stored (and reported) by the kernel all the same
    assert Service.tcp("10.0.0.1", 80, timeout=5).timeout == 5


@pytest.mark.parametrize(
    ("key", "settings", "fragment"),
    [
        # the kernel keeps timeout * HZ in 32 bits: ipvsadm's bound, 31 days, round-trips
        (ServiceKey.tcp("10.0.0.1", 80), {"timeout": 2678401}, "timeout must be in 0..2678400"),
        (ServiceKey.tcp("10.0.0.1", 80), {"timeout": 42949673}, "timeout"),
        (ServiceKey.tcp("10.0.0.1", 80), {"timeout": True}, "timeout"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": 0x40}, "0x40 are not service flags"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": 1 << 31}, "not service flags"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": ServiceFlags.ONEPACKET}, "ONEPACKET.*TCP"),
        (ServiceKey.sctp("10.0.0.1", 80), {"flags": ServiceFlags.ONEPACKET}, "ONEPACKET.*SCTP"),
        (ServiceKey.tcp("10.0.0.1", 80), {"flags": ServiceFlags.PERSISTENT}, "PERSISTENT needs"),
        (ServiceKey.mark(3), {"flags": 1, "timeout": 0}, "PERSISTENT needs a timeout"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "RR"}, "case-sensitive; use 'rr'"),
        (ServiceKey.tcp("10.0.0.1", 80), {"scheduler": "Wlc"}, "use 'wlc'"),
        (ServiceKey.tcp("10.0.0.1", 80), {"pe_name": "SIP"}, "use 'sip'"),
    ],
)
def test_service_checks_match_the_kernel_and_ipvsadm(
    key: ServiceKey, settings: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Service(key=key, **settings)


def test_service_names_outside_the_kernel_are_left_to_the_kernel() -> None:
    # a name the kernel does not ship may be an out-of-tree module: the kernel decides
    assert Service.tcp("10.0.0.1", 80, scheduler="MySched").scheduler == "MySched"
    assert Service.tcp("10.0.0.1", 80, scheduler=Scheduler.MH).scheduler == "mh"
    assert Service.tcp("10.0.0.1", 80, pe_name="Mine").pe_name == "Mine"


def test_service_equality_ignores_stats() -> None:
    a = Service.tcp("10.0.0.1", 80, scheduler="rr")
    b = Service.tcp("10.0.0.1", 80, scheduler="rr", stats=Stats(connections=5))
    assert a == b and hash(a) == hash(b)
    assert a != Service.tcp("10.0.0.1", 80, scheduler="wlc")
    assert a != Service.tcp("10.0.0.1", 80, scheduler="rr", pe_name="sip")


def test_service_evolve_keeps_validation() -> None:
    svc = Service.tcp("10.0.0.1", 80)
    assert attrs.evolve(svc, scheduler="sh").scheduler == "sh"
    with pytest.raises(ValidationError, match="HASHED"):
        attrs.evolve(svc, flags=ServiceFlags.HASHED)


# --------------------------------------------------------------------------- Destination


def test_destination_defaults_and_derivation() -> None:
    d = Destination(address="10.0.0.2", port=80)
    assert d.family is Family.INET
    assert d.forward is ForwardMethod.ROUTE
    assert d.weight == 1
    assert (d.upper_threshold, d.lower_threshold) == (0, 0)
    assert d.tunnel_type is TunnelType.IPIP
    assert d.tunnel_port == 0
    assert d.tunnel_flags == TunnelFlags.NOCSUM
    assert (d.active_connections, d.inactive_connections, d.persistent_connections) == (0, 0, 0)
    assert d.stats is None
    assert d.key == (IPv4Address("10.0.0.2"), 80)
    assert d.describe() == "10.0.0.2:80"
    v6 = Destination(address=IPv6Address("2001:db8::2"), port=80)
    assert v6.family is Family.INET6
    assert v6.describe() == "[2001:db8::2]:80"


def test_destination_converters() -> None:
    d = Destination(
        address="10.0.0.2",
        port=80,
        forward="tunnel",
        tunnel_type="gue",
        tunnel_port=6080,
        tunnel_flags="remcsum",
    )
    assert d.forward is ForwardMethod.TUNNEL
    assert d.tunnel_type is TunnelType.GUE
    assert d.tunnel_flags == TunnelFlags.REMCSUM
    assert Destination(address="::1", port=1, forward="dr").forward is ForwardMethod.ROUTE
    assert Destination(address="::1", port=1, forward="MASQ").forward is ForwardMethod.MASQ
    assert Destination(address="::1", port=1, forward=2).forward is ForwardMethod.TUNNEL
    gre = Destination(address="::1", port=1, forward="ipip", tunnel_type=2, tunnel_flags=1)
    assert (gre.tunnel_type, gre.tunnel_flags) == (TunnelType.GRE, TunnelFlags.CSUM)
    assert Destination(address=" 10.0.0.2 ", port=1).address == IPv4Address("10.0.0.2")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        # tunnel settings belong to tunnel destinations (the kernel stores them anyway)
        ({"forward": "masq", "tunnel_type": "gre"}, "forward=tunnel only"),
        ({"forward": "route", "tunnel_port": 6080}, "forward=tunnel only"),
        ({"forward": "local", "tunnel_flags": "csum"}, "forward=tunnel only"),
        # ipvsadm's rules per tunnel type
        ({"tunnel_type": "ipip", "tunnel_port": 6080}, "GUE tunnels only"),
        ({"tunnel_type": "ipip", "tunnel_flags": "csum"}, "IPIP tunnel"),
        ({"tunnel_type": "gre", "tunnel_port": 6080}, "GUE tunnels only"),
        ({"tunnel_type": "gre", "tunnel_flags": "remcsum"}, "GRE tunnel .nocsum, csum"),
        ({"tunnel_type": "gue", "tunnel_port": 1, "tunnel_flags": 3}, "tunnel_flags 3"),
        ({"tunnel_type": "gue", "tunnel_port": 1, "tunnel_flags": 4}, "tunnel_flags 4"),
        ({"tunnel_type": "gue", "tunnel_port": 0}, "tunnel_port must be non-zero"),
    ],
)
def test_destination_tunnel_rules(kwargs: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"address": "10.0.0.2", "port": 80, "forward": "tunnel", **kwargs}
    with pytest.raises(ValidationError, match=fragment):
        Destination(**args)


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.04",
        " 1.2.3.4",
        "1.2.3.4\n",
        "1.2.3.-4",
        "1.2.3.4/32",
        "1e1.2.3.4",
        "\uff11.2.3.4",  # a full-width digit one: isdigit(), but not ASCII
        "::1",
        "",
        "0x1.2.3.4",
        "1..2.3",
        "1.2.3.4\x00",
    ],
)
def test_fast_address_parsing_matches_ipaddress(text: str) -> None:
    """The inet_pton fast path accepts exactly what IPv4Address accepts, with the same value."""
    try:
        expected: IPv4Address | None = IPv4Address(text)
    except ValueError:
        expected = None
    got = parse_v4(text)
    assert got == expected
    if got is not None:
        assert type(got) is IPv4Address and int(got) == int(IPv4Address(text))
        assert str(got) == text and hash(got) == hash(IPv4Address(text))


@given(st.lists(st.text("0123456789.x ", max_size=4), min_size=1, max_size=5))
def test_fast_address_parsing_matches_ipaddress_generated(parts: list[str]) -> None:
    text = ".".join(parts)
    try:
        expected: IPv4Address | None = IPv4Address(text)
    except ValueError:
        expected = None
    assert parse_v4(text) == expected


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"address": "nope"}, "address"),
        ({"address": None}, "address"),
        ({"port": 65536}, "port"),
        ({"port": -1}, "port"),
        ({"forward": 5}, "forward"),
        ({"forward": "teleport"}, "forward"),
        ({"weight": -1}, "weight"),
        ({"weight": 2**31}, "weight"),
        ({"weight": 1.5}, "weight"),
        ({"upper_threshold": 2**32}, "upper_threshold"),
        ({"lower_threshold": -1}, "lower_threshold"),
        ({"lower_threshold": 1}, "lower_threshold"),  # upper is 0: the kernel still refuses
        ({"upper_threshold": 10, "lower_threshold": 11}, "lower_threshold"),
        ({"tunnel_type": 3}, "tunnel_type"),
        ({"tunnel_type": "vxlan"}, "tunnel_type"),
        ({"tunnel_type": TunnelType.GUE}, "tunnel_port"),
        ({"tunnel_port": 65536}, "tunnel_port"),
        ({"tunnel_port": 0.0}, "tunnel_port"),
        ({"tunnel_flags": 65536}, "tunnel_flags"),
        ({"tunnel_flags": "fast"}, "tunnel_flags"),
        ({"forward": True}, "forward"),
        ({"forward": 0.0}, "forward"),
        ({"forward": ["masq"]}, "forward"),
        ({"port": True}, "port"),
        ({"port": 80.0}, "port"),
        ({"upper_threshold": 1.0}, "upper_threshold"),
        ({"active_connections": 0.0}, "active_connections"),
        ({"active_connections": -1}, "active_connections"),
        ({"inactive_connections": 2**32}, "inactive_connections"),
        ({"persistent_connections": -1}, "persistent_connections"),
        ({"stats": 3}, "stats"),
    ],
)
def test_destination_validation(kwargs: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"address": "10.0.0.2", "port": 80}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=fragment):
        Destination(**args)


def test_destination_family_is_not_an_argument() -> None:
    with pytest.raises(TypeError):
        Destination(address="10.0.0.2", port=80, family=Family.INET)  # type: ignore[call-arg]


def test_destination_equality_ignores_live_data() -> None:
    a = Destination(address="10.0.0.2", port=80, weight=3)
    b = Destination(
        address="10.0.0.2",
        port=80,
        weight=3,
        active_connections=4,
        inactive_connections=5,
        persistent_connections=6,
        stats=Stats(bytes_in=10),
    )
    assert a == b and hash(a) == hash(b)
    assert a != attrs.evolve(a, weight=4)
    assert a != attrs.evolve(a, forward=ForwardMethod.MASQ)


def test_destination_evolve_rederives_family() -> None:
    d = attrs.evolve(Destination(address="10.0.0.2", port=80), address="2001:db8::9")
    assert d.family is Family.INET6


def test_destination_sort_key() -> None:
    a = Destination(address="10.0.0.2", port=80)
    b = Destination(address="10.0.0.10", port=80)
    c = Destination(address="10.0.0.2", port=8080)
    assert sorted([c, b, a], key=Destination.sort_key) == [a, c, b]


# --------------------------------------------------------------------------- Stats, Info, Timeouts


def test_stats_defaults_and_validation() -> None:
    s = Stats()
    assert attrs.astuple(s) == (0,) * 10
    assert Stats(bytes_in=2**64 - 1).bytes_in == 2**64 - 1
    with pytest.raises(ValidationError, match="bytes_out"):
        Stats(bytes_out=2**64)
    with pytest.raises(ValidationError, match="cps"):
        Stats(cps=-1)


def test_info() -> None:
    info = Info.from_code(0x010201, 4096)
    assert info == Info(version="1.2.1", version_code=0x010201, connection_table_size=4096)
    assert info.describe() == "IP Virtual Server version 1.2.1 (size=4096)"
    with pytest.raises(ValidationError, match="connection_table_size"):
        Info.from_code(0x010201, -1)
    with pytest.raises(ValidationError, match="version"):
        Info(version=1, version_code=1, connection_table_size=1)  # type: ignore[arg-type]


def test_timeouts() -> None:
    t = Timeouts(tcp=900, tcp_fin=120, udp=300)
    assert t.describe() == "Timeout (tcp tcpfin udp): 900 120 300"
    assert Timeouts() == Timeouts(tcp=0, tcp_fin=0, udp=0)
    for field in ("tcp", "tcp_fin", "udp"):
        # the kernel refuses more than INT_MAX / HZ; this bound holds for HZ up to 1200
        assert getattr(Timeouts(**{field: 1789569}), field) == 1789569
        with pytest.raises(ValidationError, match=field):
            Timeouts(**{field: 1789570})
        with pytest.raises(ValidationError, match=field):
            Timeouts(**{field: 2**31})
        with pytest.raises(ValidationError, match=field):
            Timeouts(**{field: -1})


# --------------------------------------------------------------------------- SyncDaemon


def test_sync_daemon_defaults_and_converters() -> None:
    d = SyncDaemon(state="backup", interface="eth0")
    assert d.state is DaemonState.BACKUP
    assert (d.sync_id, d.max_length, d.group, d.port, d.ttl) == (0, 0, None, 0, 0)
    g = SyncDaemon(state=1, interface="eth0", group="ff02::1", sync_id=9)
    assert g.group == IPv6Address("ff02::1")
    assert g.describe() == "master sync daemon (mcast=eth0, syncid=9, group=ff02::1)"
    full = SyncDaemon(
        state=DaemonState.MASTER,
        interface="eth1",
        sync_id=1,
        max_length=1472,
        group="224.0.0.81",
        port=8848,
        ttl=1,
    )
    assert full.describe() == (
        "master sync daemon (mcast=eth1, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"state": 3}, "state"),
        ({"state": "primary"}, "state"),
        ({"interface": ""}, "interface"),
        ({"interface": "x" * 16}, "interface"),
        ({"interface": "et h0"}, "interface"),
        ({"interface": "a/b"}, "interface"),
        ({"interface": ".."}, "interface"),
        ({"interface": 7}, "interface"),
        ({"sync_id": 256}, "sync_id"),
        ({"max_length": 65536}, "max_length"),
        ({"group": "10.0.0.1"}, "group"),
        ({"group": "2001:db8::1"}, "group"),
        ({"group": "bogus"}, "group"),
        ({"port": 65536}, "port"),
        ({"ttl": 256}, "ttl"),
    ],
)
def test_sync_daemon_validation(kwargs: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"state": "master", "interface": "eth0"}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=fragment):
        SyncDaemon(**args)


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="port"):
        ServiceKey.tcp("10.0.0.1", 70000)
