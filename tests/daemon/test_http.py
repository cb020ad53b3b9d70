"""The metrics endpoint on loopback: the text, gzip, other paths, a failed read, closing."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import pytest

import ipvs
from ipvs.daemon import CONTENT_TYPE, MetricsServer


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_serves_the_text_fresh_at_each_request() -> None:
    calls = []

    def produce() -> str:
        calls.append(1)
        return f"x_total {len(calls)}\n"

    server = MetricsServer("127.0.0.1", 0, produce)
    try:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        url = f"http://127.0.0.1:{port}"
        status, headers, body = get(f"{url}/metrics")
        assert (status, headers["Content-Type"], body) == (200, CONTENT_TYPE, b"x_total 1\n")
        status, headers, body = get(f"{url}/metrics?x=1", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(body) == b"x_total 2\n"
        assert get(f"{url}/")[0] == 200
        assert get(f"{url}/nothing")[0] == 404
        assert len(calls) == 2
    finally:
        server.close()
        server.close()  # idempotent
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/metrics")


def test_a_failed_read_is_a_500_and_serving_goes_on() -> None:
    answers = iter([ipvs.IPVSError("the kernel said no"), "ok 1\n"])

    def produce() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    server = MetricsServer("127.0.0.1", 0, produce)
    try:
        url = f"http://127.0.0.1:{server.address[1]}/metrics"
        assert get(url)[::2] == (500, b"the kernel said no\n")
        assert get(url)[::2] == (200, b"ok 1\n")
    finally:
        server.close()


def test_a_taken_port_is_one_error() -> None:
    first = MetricsServer("127.0.0.1", 0, lambda: "")
    try:
        with pytest.raises(ipvs.IPVSError, match=r"metrics: cannot listen on 127\.0\.0\.1:\d+: "):
            MetricsServer("127.0.0.1", first.address[1], lambda: "")
    finally:
        first.close()
