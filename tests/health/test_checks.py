"""Check definitions: defaults, validation, and the detection bounds."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address
from typing import Any

import pytest

import ipvs
from ipvs import Destination, ServiceKey
from ipvs.health import (
    DNS_TYPES,
    CommandCheck,
    DNSCheck,
    FunctionCheck,
    HTTPCheck,
    TCPCheck,
    UDPCheck,
)

KEY = ServiceKey.tcp("10.0.0.1", 80)
DEST = Destination(address="10.1.0.1", port=8080)


def test_defaults_are_haproxy_like() -> None:
    check = TCPCheck()
    assert (check.interval, check.timeout, check.rise, check.fall) == (2.0, 1.0, 2, 3)
    assert check.retry_interval is None and check.step == 2.0
    http = HTTPCheck()
    assert http.status == frozenset(range(200, 300)) and http.path == "/"
    assert (http.tls, http.verify) == (False, True)
    assert DNSCheck().type == DNS_TYPES["SOA"] and DNSCheck().name == "."


@pytest.mark.parametrize(
    ("check", "detection", "recovery"),
    [
        # interval + (fall - 1) * interval + timeout
        (TCPCheck(interval=1.0, timeout=0.5, fall=3, rise=2), 3.5, 2.5),
        # a shorter retry interval while a change is pending
        (TCPCheck(interval=1.0, timeout=0.2, fall=3, rise=2, retry_interval=0.25), 1.7, 1.45),
        # a timeout longer than the interval stretches every step
        (TCPCheck(interval=0.5, timeout=2.0, fall=2, rise=1), 6.0, 4.0),
    ],
)
def test_detection_and_recovery_bounds(check: TCPCheck, detection: float, recovery: float) -> None:
    assert check.detection_time() == pytest.approx(detection)
    assert check.recovery_time() == pytest.approx(recovery)


def test_target_is_the_destination_unless_the_check_names_another() -> None:
    t = TCPCheck().target(KEY, DEST, "/proc/1/ns/net")
    assert (t.address, t.port, t.netns, t.sockaddr) == (
        IPv4Address("10.1.0.1"),
        8080,
        "/proc/1/ns/net",
        ("10.1.0.1", 8080),
    )
    t = UDPCheck(address="10.1.0.9", port=53).target(KEY, DEST)
    assert (t.describe(), t.service, t.destination) == ("10.1.0.9:53", KEY, DEST)
    six = Destination(address="2001:db8::2", port=80)
    assert TCPCheck().target(KEY, six).describe() == "[2001:db8::2]:80"


def test_target_socket_is_non_blocking_in_the_callers_namespace() -> None:
    with TCPCheck().target(KEY, DEST).socket(socket.SOCK_DGRAM) as sock:
        assert sock.type == socket.SOCK_DGRAM and not sock.getblocking()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: TCPCheck(interval=0), "interval"),
        (lambda: TCPCheck(timeout=-1), "timeout"),
        (lambda: TCPCheck(timeout=float("inf")), "timeout"),
        (lambda: TCPCheck(interval=True), "interval"),
        (lambda: TCPCheck(rise=0), "rise"),
        (lambda: TCPCheck(fall=1.5), "fall"),
        (lambda: TCPCheck(retry_interval=0), "retry_interval"),
        (lambda: TCPCheck(port=0), "port"),
        (lambda: TCPCheck(address="nope"), "address"),
        (lambda: HTTPCheck(path="healthz"), "path"),
        (lambda: HTTPCheck(path="/a b"), "path"),
        (lambda: HTTPCheck(status=[200, 700]), "status"),
        (lambda: HTTPCheck(status=[]), "status"),
        (lambda: HTTPCheck(body="("), "regular expression"),
        (lambda: HTTPCheck(digest="xyz"), "hex digits"),
        (lambda: HTTPCheck(host="a\r\nb"), "host"),
        (lambda: HTTPCheck(ca_file="/no/such/file.pem"), "ca_file"),
        (lambda: HTTPCheck(tls="yes"), "tls"),
        (lambda: UDPCheck(payload=3), "payload"),
        (lambda: DNSCheck(type="BOGUS"), "type"),
        (lambda: DNSCheck(name="a..b"), "empty label"),
        (lambda: DNSCheck(name="x" * 64 + ".test"), "too long"),
        (lambda: DNSCheck(name="ünïcode.test"), "ASCII"),
        (lambda: CommandCheck(command=""), "empty"),
        (lambda: CommandCheck(command=[]), "argv"),
        (lambda: CommandCheck(command="x", env={"A": 1}), "env"),
        (lambda: FunctionCheck(function=3), "callable"),
    ],
)
def test_bad_values_are_refused_naming_the_field(make: Any, match: str) -> None:
    with pytest.raises(ipvs.ValidationError, match=match):
        make()


def test_conversions() -> None:
    assert HTTPCheck(status=204).status == frozenset({204})
    assert HTTPCheck(digest="0123456789ABCDEF0123456789ABCDEF").digest == "0123456789abcdef" * 2
    assert UDPCheck(payload="ping").payload == b"ping"
    assert UDPCheck(expect="pong").needs_reply and not UDPCheck().needs_reply
    assert DNSCheck(type="aaaa").type == 28 and DNSCheck(type=99).type == 99
    assert CommandCheck(command="exit 3").command == ("/bin/sh", "-c", "exit 3")
    assert CommandCheck(command=["true"], env={"B": "2", "A": "1"}).env == (("A", "1"), ("B", "2"))


def test_descriptions() -> None:
    async def ready(target: object) -> bool:
        return True

    assert HTTPCheck(path="/healthz", tls=True).describe() == "HTTPS GET /healthz"
    assert DNSCheck(name="health.test", type="A").describe() == "DNS A health.test"
    assert UDPCheck(require_reply=True).describe() == "UDP with a reply"
    assert CommandCheck(command="exit 0").describe() == "command exit 0"
    assert CommandCheck(command=["check", "-v"]).describe() == "command check -v"
    assert FunctionCheck(function=ready).describe() == "ready"
    assert FunctionCheck(function=ready, name="db").describe() == "db"


def test_checks_are_values() -> None:
    assert HTTPCheck(path="/a") == HTTPCheck(path="/a") != HTTPCheck(path="/b")
    assert hash(TCPCheck(fall=2)) == hash(TCPCheck(fall=2))
    with pytest.raises(AttributeError):
        TCPCheck().fall = 5  # type: ignore[misc]
