"""The probes' pure halves: requests built, replies judged, byte for byte."""

from __future__ import annotations

import hashlib
import struct

import pytest

from ipvs import Destination, ServiceKey
from ipvs.health import DNSCheck, HTTPCheck, TCPCheck, UDPCheck
from ipvs.health._wire import (
    command_verdict,
    dns_query,
    dns_verdict,
    http_complete,
    http_request,
    http_verdict,
    parse_http_reply,
    udp_verdict,
)

KEY = ServiceKey.tcp("10.0.0.1", 80)
DEST = Destination(address="10.1.0.1", port=8080)
TARGET = TCPCheck().target(KEY, DEST)


def test_http_request_bytes() -> None:
    assert http_request(HTTPCheck(path="/healthz?full=1"), TARGET) == (
        b"GET /healthz?full=1 HTTP/1.0\r\nHost: 10.1.0.1:8080\r\nUser-Agent: ipvs-health\r\n"
        b"Accept: */*\r\nConnection: close\r\n\r\n"
    )
    assert b"\r\nHost: www.test\r\n" in http_request(HTTPCheck(host="www.test"), TARGET)


def reply(status: int, body: bytes, *, length: bool = True) -> bytes:
    head = f"HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def test_parse_http_reply() -> None:
    assert parse_http_reply(reply(200, b"web1\n") + b"extra") == (
        200,
        {"content-type": "text/plain", "content-length": "5"},
        b"web1\n",
    )
    assert parse_http_reply(reply(503, b"until EOF", length=False))[2] == b"until EOF"
    for bad in (b"", b"HTTP/1.1 200 OK\r\n", b"SSH-2.0-OpenSSH\r\n\r\n", reply(200, b"abc")[:-1]):
        with pytest.raises(ValueError):
            parse_http_reply(bad)


def test_http_complete_needs_the_whole_body() -> None:
    whole = reply(200, b"web1\n")
    assert http_complete(whole)
    assert not http_complete(whole[:-1])
    assert not http_complete(reply(200, b"x", length=False))  # ends at EOF only
    assert not http_complete(b"HTTP/1.1 200")


BODY = b"<html>ok: web1</html>"


@pytest.mark.parametrize(
    ("check", "data", "ok", "detail"),
    [
        (HTTPCheck(), reply(200, BODY), True, "HTTP 200"),
        (HTTPCheck(), reply(204, b""), True, "HTTP 204"),
        (HTTPCheck(), reply(301, b""), False, "HTTP 301"),
        (HTTPCheck(), reply(503, BODY), False, "HTTP 503"),
        (HTTPCheck(status=[503]), reply(503, BODY), True, "HTTP 503"),
        (HTTPCheck(body=r"ok: web\d"), reply(200, BODY), True, "HTTP 200"),
        (HTTPCheck(body="^ready$"), reply(200, BODY), False, "does not match"),
        (HTTPCheck(digest=hashlib.md5(BODY).hexdigest()), reply(200, BODY), True, "HTTP 200"),
        (HTTPCheck(digest=hashlib.sha256(BODY).hexdigest()), reply(200, BODY), True, "HTTP 200"),
        (HTTPCheck(digest="0" * 32), reply(200, BODY), False, "body md5"),
        (HTTPCheck(), b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", False, "bad reply"),
        (HTTPCheck(), b"", False, "bad reply"),
    ],
)
def test_http_verdict(check: HTTPCheck, data: bytes, ok: bool, detail: str) -> None:
    outcome = http_verdict(check, data)
    assert outcome.ok is ok
    assert detail in outcome.detail


def test_udp_verdict() -> None:
    assert udp_verdict(UDPCheck(require_reply=True), b"anything").ok
    assert udp_verdict(UDPCheck(expect=b"web"), b"web1\n").ok
    outcome = udp_verdict(UDPCheck(expect=b"web"), b"error")
    assert not outcome.ok and "does not start with" in outcome.detail


def test_dns_query_bytes() -> None:
    query = dns_query(0xBEEF, DNSCheck(name="health.test.", type="A"))
    assert query == (
        struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0)
        + b"\x06health\x04test\x00"
        + struct.pack("!HH", 1, 1)
    )
    root = dns_query(1, DNSCheck())  # "." and SOA
    assert root[12:] == b"\x00" + struct.pack("!HH", 6, 1)


def answer(ident: int, flags: int, answers: int = 0) -> bytes:
    return struct.pack("!HHHHHH", ident, flags, 1, answers, 0, 0) + b"\x00\x00\x06\x00\x01"


@pytest.mark.parametrize(
    ("data", "require", "ok", "detail"),
    [
        (answer(7, 0x8180, 1), False, True, "NOERROR, 1 records"),
        (answer(7, 0x8180, 0), False, True, "NOERROR, 0 records"),
        (answer(7, 0x8180, 0), True, False, "without records"),
        (answer(7, 0x8183), False, False, "NXDOMAIN"),
        (answer(7, 0x8182), False, False, "SERVFAIL"),
        (answer(7, 0x8189), False, False, "rcode 9"),
    ],
)
def test_dns_verdict(data: bytes, require: bool, ok: bool, detail: str) -> None:
    outcome = dns_verdict(7, data, require_answer=require)
    assert outcome is not None and outcome.ok is ok and detail in outcome.detail


def test_dns_verdict_ignores_what_is_not_the_reply() -> None:
    assert dns_verdict(7, answer(8, 0x8180)) is None  # another id
    assert dns_verdict(7, answer(7, 0x0100)) is None  # a query, not a response
    assert dns_verdict(7, b"\x00\x07") is None  # too short


@pytest.mark.parametrize(
    ("code", "output", "dynamic", "ok", "weight", "detail"),
    [
        (0, b"fine\n", False, True, None, "exit status 0: fine"),
        (1, b"line 1\ndown: disk full\n", False, False, None, "exit status 1: down: disk full"),
        (5, b"", False, False, None, "exit status 5"),
        (5, b"", True, True, 3, "weight 3"),
        (2, b"", True, True, 0, "weight 0"),
        (255, b"", True, True, 253, "weight 253"),
        (1, b"", True, False, None, "exit status 1"),
        (0, b"", True, True, None, "exit status 0"),
        (-9, b"", False, False, None, "signal 9"),
        (None, b"", False, False, None, "timeout"),
    ],
)
def test_command_verdict(
    code: int | None, output: bytes, dynamic: bool, ok: bool, weight: int | None, detail: str
) -> None:
    outcome = command_verdict(code, output, dynamic_weight=dynamic)
    assert (outcome.ok, outcome.weight) == (ok, weight)
    assert detail in outcome.detail
