"""The model's bounds against the kernel's: the largest accepted value round-trips.

For each check the model makes for the kernel's sake (or ipvsadm's), the
value at the boundary goes through the kernel and comes back unchanged in a
snapshot, and the value just past it raises ValidationError where the
object is built, before any client (so before any system call); the kernel
is then shown to hold nothing more. Where the kernel itself would accept
the refused value and store something else, that is shown too, through the
unchecked constructors the decoders use (the model's way of holding what
the kernel holds).

The sandbox kernel has HZ = 100; the bounds hold for any HZ up to 1200.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipvs import (
    Destination,
    ForwardMethod,
    InvalidArgument,
    Scope,
    Service,
    ServiceFlags,
    Table,
    Timeouts,
    ValidationError,
)
from ipvs._model._trusted import unchecked_service, unchecked_timeouts
from ipvs.formats import ipvsadm

HZ = 100  # the sandbox kernel's CONFIG_HZ
PERSISTENT = ServiceFlags.PERSISTENT
ONEPACKET = ServiceFlags.ONEPACKET
SCHED = ServiceFlags.SCHED1 | ServiceFlags.SCHED2 | ServiceFlags.SCHED3


def _round_trip(client: Any, table: Table) -> None:
    client.apply(table)
    snapshot = client.snapshot()
    assert snapshot == table
    for key, entry in table.items():
        got = snapshot[key]
        assert got.service == entry.service
        assert set(got.destinations) == set(entry.destinations)


def _refused(build: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        build()


# -- persistence ---------------------------------------------------------------------------


def test_persistence_timeout_bound(client: Any) -> None:
    top = Service.tcp("10.0.0.1", 80, flags=PERSISTENT, timeout=2678400)
    _round_trip(client, Table([top]))
    _refused(lambda: Service.tcp("10.0.0.2", 80, flags=PERSISTENT, timeout=2678401), "timeout")
    assert len(client.snapshot()) == 1


def test_a_timeout_past_the_kernels_32_bits_reads_back_as_something_else(client: Any) -> None:
    """Why the bound: the kernel keeps timeout * HZ in 32 bits and reports it divided by HZ."""
    wraps = 42949673  # * 100 = 2**32 + 4: 4 jiffies, 0 seconds
    _refused(lambda: Service.tcp("10.0.0.1", 80, flags=PERSISTENT, timeout=wraps), "timeout")
    ok = Service.tcp("10.0.0.1", 80, flags=PERSISTENT, timeout=300)
    held = unchecked_service(ok.key, "wlc", PERSISTENT, wraps, ok.netmask, None, None)
    client.add_service(held)
    assert client.snapshot()[ok.key].service.timeout == (wraps * HZ % 2**32) // HZ == 0


def test_persistence_needs_a_timeout(client: Any) -> None:
    shortest = Service.tcp("10.0.0.1", 80, flags=PERSISTENT, timeout=1)
    _round_trip(client, Table([shortest]))
    _refused(lambda: Service.tcp("10.0.0.2", 80, flags=PERSISTENT, timeout=0), "PERSISTENT")
    _refused(lambda: ipvsadm.parse("-A -t 10.0.0.2:80 -p 0"), "persistence timeout")
    assert len(client.snapshot()) == 1


# -- connection timeouts ---------------------------------------------------------------------


def test_connection_timeout_bound(client: Any) -> None:
    top = Timeouts(tcp=1789569, tcp_fin=1789569, udp=1789569)  # INT_MAX / 1200
    client.set_timeouts(top)
    assert client.timeouts() == top
    for field in ("tcp", "tcp_fin", "udp"):
        _refused(lambda f=field: Timeouts(**{f: 1789570}), field)
    assert client.timeouts() == top


def test_the_kernels_own_connection_timeout_bound_depends_on_hz(client: Any) -> None:
    """The kernel refuses more than INT_MAX / HZ: 21,474,836 here, 2,147,483 at HZ = 1000."""
    kernel_top = 0x7FFFFFFF // HZ
    with pytest.raises(InvalidArgument):
        client.set_timeouts(unchecked_timeouts(kernel_top + 1, 0, 0))
    client.set_timeouts(unchecked_timeouts(kernel_top, 0, 0))
    # what the kernel holds reads back as it is, though the model would not send it
    assert client.timeouts().tcp == kernel_top


# -- flags -------------------------------------------------------------------------------------


def test_every_known_flag_round_trips_and_no_other(client: Any) -> None:
    udp = Service.udp("10.0.0.1", 53, scheduler="sh", flags=PERSISTENT | ONEPACKET | SCHED,
                      timeout=60)  # fmt: skip
    mark = Service.mark(7, flags=ONEPACKET)
    _round_trip(client, Table([udp, mark]))
    for bit in (0x40, 0x80, 1 << 31):
        _refused(lambda b=bit: Service.udp("10.0.0.2", 53, flags=b), "not service flags")
    assert len(client.snapshot()) == 2


def test_onepacket_only_on_udp_and_fwmark_services(client: Any) -> None:
    _round_trip(client, Table([Service.udp("10.0.0.1", 53, flags=ONEPACKET)]))
    for make in (Service.tcp, Service.sctp):
        _refused(lambda m=make: m("10.0.0.2", 80, flags=ONEPACKET), "ONEPACKET")
    _refused(lambda: ipvsadm.parse("-A -t 10.0.0.2:80 -o"), "-o")
    assert len(client.snapshot()) == 1


# -- names ---------------------------------------------------------------------------------------


def test_scheduler_names_are_the_kernels_case(client: Any) -> None:
    _round_trip(client, Table([Service.tcp("10.0.0.1", 80, scheduler="rr")]))
    _refused(lambda: Service.tcp("10.0.0.2", 80, scheduler="RR"), "use 'rr'")
    _refused(lambda: ipvsadm.parse_table("-A -t 10.0.0.2:80 -s Wlc"), "line 1: .*use 'wlc'")
    _refused(lambda: Service.tcp("10.0.0.2", 80, pe_name="SIP"), "use 'sip'")
    assert len(client.snapshot()) == 1


# -- tunnels ---------------------------------------------------------------------------------------


def test_tunnel_options_by_type(client: Any) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    top = [
        Destination(address="10.1.0.1", port=80, forward="tunnel", tunnel_type="gue",
                    tunnel_port=65535, tunnel_flags="remcsum"),
        Destination(address="10.1.0.2", port=80, forward="tunnel", tunnel_type="gue",
                    tunnel_port=1, tunnel_flags="csum"),
        Destination(address="10.1.0.3", port=80, forward="tunnel", tunnel_type="gre",
                    tunnel_flags="csum"),
        Destination(address="10.1.0.4", port=80, forward="tunnel"),
    ]  # fmt: skip
    _round_trip(client, Table([(svc, top)]))

    def tunnel(**kw: Any) -> Destination:
        return Destination(address="10.1.0.9", port=80, forward="tunnel", **kw)

    _refused(lambda: tunnel(tunnel_type="gue", tunnel_port=1, tunnel_flags=3), "tunnel_flags 3")
    _refused(lambda: tunnel(tunnel_type="gue", tunnel_port=1, tunnel_flags=4), "tunnel_flags 4")
    _refused(lambda: tunnel(tunnel_type="gre", tunnel_flags="remcsum"), "GRE")
    _refused(lambda: tunnel(tunnel_type="gre", tunnel_port=1), "GUE tunnels only")
    _refused(lambda: tunnel(tunnel_type="ipip", tunnel_flags="csum"), "IPIP")
    _refused(lambda: tunnel(tunnel_type="gue", tunnel_port=0), "tunnel_port")
    assert client.snapshot() == Table([(svc, top)])


def test_tunnel_settings_only_on_tunnel_destinations(client: Any) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    plain = [
        Destination(address=f"10.1.0.{i}", port=80, forward=f)
        for i, f in enumerate(("masq", "route", "local"), start=1)
    ]
    _round_trip(client, Table([(svc, plain)]))
    for forward in ("masq", "route", "local"):
        for setting in ({"tunnel_type": "gre"}, {"tunnel_flags": "csum"}, {"tunnel_port": 1}):
            _refused(
                lambda f=forward, s=setting: Destination(
                    address="10.1.0.9", port=80, forward=f, **s
                ),
                "forward=tunnel only",
            )
    assert client.snapshot() == Table([(svc, plain)])


def test_the_other_family_only_through_a_tunnel(client: Any) -> None:
    v4 = Service.tcp("10.0.0.1", 80)
    v6 = Service.tcp("2001:db8::1", 80)
    across = Destination(address="2001:db8::10", port=80, forward=ForwardMethod.TUNNEL)
    back = Destination(address="10.1.0.1", port=80, forward=ForwardMethod.TUNNEL)
    _round_trip(client, Table([(v4, [across]), (v6, [back])]))
    masq = Destination(address="2001:db8::11", port=80, forward=ForwardMethod.MASQ)
    _refused(lambda: Table([(Service.tcp("10.0.0.2", 80), [masq])]), "another address family")
    _refused(lambda: ipvsadm.parse("-a -t 10.0.0.1:80 -r [2001:db8::11]:80 -m"), "another address")
    assert len(client.snapshot()) == 2


# -- scopes ----------------------------------------------------------------------------------------


def test_scope_of_fwmarks(client: Any) -> None:
    lowest, highest = Service.mark(1), Service.mark(2**32 - 1)
    result = client.apply(Table([lowest, highest]), scope=Scope.fwmarks(1, 2**32 - 1))
    assert len(result.plan) == 2
    assert client.snapshot() == Table([lowest, highest])
    _refused(lambda: Scope.fwmarks(0), "firewall mark")
    _refused(lambda: Scope.fwmarks(2**32), "firewall mark")
