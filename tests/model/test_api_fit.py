"""The API fits what peers' users expect (issue 14): one set of forms everywhere."""

from __future__ import annotations

import pathlib
import textwrap
from ipaddress import IPv4Address

import pytest

import ipvs
from ipvs import Destination, Service, ServiceEntry, ServiceKey, Table

WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
DNS = Service.udp("10.0.0.53", 53)
B1 = Destination(address="10.1.0.1", port=80, weight=2)
B2 = Destination(address="10.1.0.2", port=80)
TABLE = Table([(WEB, [B1, B2]), DNS])


@pytest.mark.parametrize("form", [WEB, WEB.key, ServiceEntry(service=WEB)], ids=type)
def test_a_service_is_found_by_its_key_the_service_or_its_entry(form: object) -> None:
    assert form in TABLE
    assert TABLE[form].service == WEB  # type: ignore[index]
    assert TABLE.get(form).service == WEB  # type: ignore[arg-type, union-attr]
    assert TABLE.destinations(form) == (B1, B2)  # type: ignore[arg-type]


def test_an_absent_service_is_none_false_or_not_in_table() -> None:
    other = Service.tcp("10.0.0.9", 80)
    assert other not in TABLE and other.key not in TABLE
    assert TABLE.get(other) is None and TABLE.get(other.key, "x") == "x"
    with pytest.raises(ipvs.NotInTable, match=r"^no service TCP 10\.0\.0\.9:80 in the table$"):
        TABLE[other]
    with pytest.raises(KeyError):  # a NotInTable is a KeyError, as a Mapping's must be
        TABLE[other.key]
    assert "not a service" not in TABLE  # other types are simply absent


@pytest.mark.parametrize(
    "form",
    [B1, (B1.address, 80), ("10.1.0.1", 80), (IPv4Address("10.1.0.1"), 80)],
    ids=["destination", "key", "str-tuple", "address-tuple"],
)
def test_a_destination_is_found_and_removed_in_any_form(form: object) -> None:
    assert TABLE.has_destination(WEB, form)  # type: ignore[arg-type]
    assert TABLE.get_destination(WEB.key, form) == B1  # type: ignore[arg-type]
    assert TABLE.get_destination(WEB, form).weight == 2  # type: ignore[arg-type, union-attr]
    smaller = TABLE.without_destination(WEB, form)  # type: ignore[arg-type]
    assert smaller.destinations(WEB) == (B2,)
    assert not smaller.has_destination(WEB, form)  # type: ignore[arg-type]


def test_removing_what_is_absent_is_an_error() -> None:
    with pytest.raises(
        ipvs.NotInTable, match=r"TCP 10\.0\.0\.1:80 has no destination 10\.1\.0\.9:80"
    ):
        TABLE.without_destination(WEB, ("10.1.0.9", 80))
    with pytest.raises(ipvs.NotInTable, match=r"no service UDP 10\.0\.0\.9:53"):
        TABLE.without_service(Service.udp("10.0.0.9", 53))
    with pytest.raises(ipvs.NotInTable):
        TABLE.with_destination(ServiceKey.tcp("10.0.0.9", 80), B1)
    assert TABLE.get_destination(Service.tcp("10.0.0.9", 80), B1) is None
    assert not TABLE.has_destination(WEB, ("2001:db8::1", 80))


def test_service_and_destination_replace_without_attrs() -> None:
    wrr = WEB.replace(scheduler="wrr")
    assert (wrr.key, wrr.scheduler) == (WEB.key, "wrr")
    assert WEB.replace() == WEB
    moved = WEB.replace(key=ServiceKey.tcp("2001:db8::1", 80))
    assert moved.netmask == 128  # the IPv4 mask is not carried to IPv6
    with pytest.raises(ipvs.ValidationError, match="timeout"):
        WEB.replace(flags=ipvs.ServiceFlags.PERSISTENT)  # checked as a new service
    assert B1.replace(weight=0) == Destination(address="10.1.0.1", port=80, weight=0)
    gue = Destination(
        address="10.1.0.1", port=80, forward="tunnel", tunnel_type="gue", tunnel_port=6080
    )
    assert gue.replace(forward="masq").tunnel_port == 0  # the tunnel settings go with it
    assert gue.replace(weight=3).tunnel_port == 6080
    with pytest.raises(ipvs.ValidationError, match="weight"):
        B1.replace(weight=-1)


def test_the_service_port_is_the_default_destination_port() -> None:
    alt = Service.tcp("10.0.0.1", 8080)
    assert alt.destination("10.1.0.1") == Destination(address="10.1.0.1", port=8080)
    assert alt.destination("10.1.0.1", 9000, forward="masq").port == 9000
    assert Service.mark(5).destination("10.1.0.1").port == 0


def test_filter_takes_a_predicate() -> None:
    assert TABLE.filter(lambda k: k.protocol == ipvs.Protocol.UDP) == Table([DNS])
    assert TABLE.filter(ipvs.Scope.networks("10.0.0.0/30")) == Table([(WEB, [B1, B2])])


def test_destinations_keep_the_order_given() -> None:
    reverse = Table([(WEB, [B2, B1])])
    assert reverse.destinations(WEB) == (B2, B1)
    assert reverse == TABLE.without_service(DNS)  # the order does not matter for equality


def test_mypy_catches_misspelt_settings(tmp_path: pathlib.Path) -> None:
    """The factories and filter have typed keywords: a typo fails type checking."""
    from mypy import api

    source = tmp_path / "typo.py"
    source.write_text(
        textwrap.dedent(
            """
            import ipvs
            ok = ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr", timeout=60)
            bad = ipvs.Service.tcp("10.0.0.1", 80, schedular="rr")
            mark = ipvs.Service.mark(5, sheduler="rr")
            dest = ok.destination("10.1.0.1", wieght=2)
            other = ok.replace(timout=5)
            kept = ipvs.Table().filter(5)
            """
        )
    )
    out, _err, status = api.run(["--strict", "--no-incremental", str(source)])
    assert status == 1, out
    for name in ("schedular", "sheduler", "wieght", "timout"):
        assert f'Unexpected keyword argument "{name}"' in out, out
    assert 'Argument 1 to "filter" of "Table" has incompatible type "int"' in out, out
    assert "typo.py:3:" not in out  # the correct line passes
