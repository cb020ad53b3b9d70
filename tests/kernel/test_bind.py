"""apply(bind=...) in the kernel: addresses on a dummy interface, made, removed and rolled back.

Each test runs for both clients, in the test's own namespace (the addresses
and links are read back with pyroute2).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

import ipvs

pyroute2 = pytest.importorskip("pyroute2")

WEB = ipvs.Service.tcp("10.9.0.1", 80, scheduler="rr")
DNS = ipvs.Service.udp("10.9.0.1", 53)
API = ipvs.Service.tcp("10.9.0.2", 443)
V6 = ipvs.Service.tcp("2001:db8::9", 80)
DEST = ipvs.Destination(address="10.1.1.2", port=8080, forward="masq")


def interface(name: str = "ipvs0") -> dict[str, Any] | None:
    """The link's kind, state and host addresses, or None when there is none."""
    with pyroute2.IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        (link,) = ipr.get_links(found[0])
        addresses = sorted(
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=found[0])
            if a["scope"] == 0
        )
    kind = link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND")
    return {"kind": kind, "up": bool(link["flags"] & 1), "addresses": addresses}


def local(address: str) -> bool:
    """Whether the namespace accepts traffic for the address (a socket can bind it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def test_services_get_their_addresses_and_lose_them(client: Any) -> None:
    assert not local("10.9.0.1")
    result = client.apply(
        ipvs.Table([(WEB, [DEST]), DNS, API, V6, ipvs.Service.mark(5)]), bind="ipvs0"
    )
    assert [c.describe() for c in result.plan.addresses] == [
        "+ link ipvs0 (dummy, up)",
        "+ address 10.9.0.1/32 on ipvs0",
        "+ address 10.9.0.2/32 on ipvs0",
        "+ address 2001:db8::9/128 on ipvs0",
    ]
    assert interface() == {
        "kind": "dummy",
        "up": True,
        "addresses": ["10.9.0.1/32", "10.9.0.2/32", "2001:db8::9/128"],
    }
    assert local("10.9.0.1") and local("2001:db8::9")
    assert len(client.snapshot()) == 5
    # the same again: nothing to do
    assert not client.apply(
        ipvs.Table([(WEB, [DEST]), DNS, API, V6, ipvs.Service.mark(5)]), bind="ipvs0"
    ).plan
    # WEB goes but DNS keeps 10.9.0.1; API and V6 go with their addresses
    result = client.apply(ipvs.Table([DNS]), bind=ipvs.Binding(interface="ipvs0"))
    assert [op.describe() for op in result.plan] == [
        "- TCP 10.9.0.1:80 (and its 1 destination)",
        "- TCP 10.9.0.2:443",
        "- TCP [2001:db8::9]:80",
        "- FWM 5",
    ]
    assert [c.describe() for c in result.plan.addresses] == [
        "- address 10.9.0.2/32 on ipvs0",
        "- address 2001:db8::9/128 on ipvs0",
    ]
    assert interface() == {"kind": "dummy", "up": True, "addresses": ["10.9.0.1/32"]}
    # the last one goes; keep_link=False takes the interface too
    result = client.apply(ipvs.Table(), bind=ipvs.Binding(keep_link=False))
    assert [c.describe() for c in result.plan.addresses][-1] == "- link ipvs0"
    assert interface() is None


def test_an_address_someone_removed_and_a_downed_link_are_repaired(client: Any) -> None:
    client.apply(ipvs.Table([WEB]), bind="ipvs0")
    with pyroute2.IPRoute() as ipr:
        (index,) = ipr.link_lookup(ifname="ipvs0")
        ipr.addr("del", index=index, address="10.9.0.1", prefixlen=32)
        ipr.addr("add", index=index, address="10.9.0.77", prefixlen=32)  # an orphan
        ipr.link("set", index=index, state="down")
    result = client.apply(ipvs.Table([WEB]), bind="ipvs0")
    assert not result.plan.operations
    assert str(result.plan).splitlines() == [
        "~ link ipvs0 down -> up",
        "+ address 10.9.0.1/32 on ipvs0",
        "- address 10.9.0.77/32 on ipvs0",
        "Plan: 0 to add, 0 to change, 0 to delete; 1 address to bind, 1 to unbind.",
    ]
    assert interface() == {"kind": "dummy", "up": True, "addresses": ["10.9.0.1/32"]}


def test_services_outside_the_scope_keep_their_addresses(client: Any) -> None:
    client.apply(ipvs.Table([WEB, API]), bind="ipvs0")
    scope = ipvs.Scope.networks("10.9.0.2/32")
    result = client.apply(ipvs.Table(), scope=scope, bind="ipvs0")
    assert [c.describe() for c in result.plan.addresses] == ["- address 10.9.0.2/32 on ipvs0"]
    assert interface()["addresses"] == ["10.9.0.1/32"]  # type: ignore[index]


def test_a_kernel_failure_rolls_the_addresses_back(client: Any) -> None:
    client.apply(ipvs.Table([WEB]), bind="ipvs0")
    bad = ipvs.Service.tcp("10.9.0.3", 80, scheduler="nosuch")
    with pytest.raises(ipvs.ApplyError) as info:
        client.apply(ipvs.Table([WEB, API, bad]), bind="ipvs0")
    assert type(info.value) is ipvs.ApplyError
    assert isinstance(info.value.error, ipvs.SchedulerNotFound)
    assert list(client.snapshot()) == [WEB.key]
    assert interface()["addresses"] == ["10.9.0.1/32"]  # type: ignore[index]


def test_a_failed_address_rolls_everything_back(client: Any) -> None:
    client.apply(ipvs.Table([WEB]), bind="ipvs0")
    # with IPv6 off on the interface, the kernel refuses the IPv6 address (EACCES)
    with open("/proc/sys/net/ipv6/conf/ipvs0/disable_ipv6", "w") as fh:
        fh.write("1\n")
    with pytest.raises(ipvs.AddressError) as info:
        client.apply(ipvs.Table([WEB, API, V6]), bind="ipvs0")
    error = info.value
    assert error.operation == ipvs.AddAddress(
        interface="ipvs0", address=ipaddress.ip_address("2001:db8::9")
    )
    assert error.error.errno == 13 and error.rollback_failures == []
    assert str(error) == (
        "+ address 2001:db8::9/128 on ipvs0: add_address: Permission denied; "
        "all applied operations were rolled back"
    )
    # nothing of it is left: 10.9.0.2 was bound first, and unbound again; no service was sent
    assert interface()["addresses"] == ["10.9.0.1/32"]  # type: ignore[index]
    assert list(client.snapshot()) == [WEB.key]


def test_an_interface_of_another_kind_is_refused_before_anything_is_sent(client: Any) -> None:
    with pyroute2.IPRoute() as ipr:
        ipr.link("add", ifname="ipvs0", kind="veth", peer="ipvs0p")
    with pytest.raises(ipvs.ValidationError, match="ipvs0 is a veth, not a dummy interface"):
        client.apply(ipvs.Table([WEB]), bind="ipvs0")
    assert len(client.snapshot()) == 0


def test_a_dry_run_shows_the_addresses_and_binds_nothing(client: Any) -> None:
    result = client.apply(ipvs.Table([WEB]), bind="ipvs0", dry_run=True)
    assert not result.applied
    assert [c.describe() for c in result.plan.addresses] == [
        "+ link ipvs0 (dummy, up)",
        "+ address 10.9.0.1/32 on ipvs0",
    ]
    assert interface() is None
    # a plan made earlier applies with its address steps
    client.apply_plan(result.plan)
    assert interface()["addresses"] == ["10.9.0.1/32"]  # type: ignore[index]
