"""Each probe against real servers on the loopback interface (no kernel needed)."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ipvs import Destination, ServiceKey
from ipvs.health import (
    Check,
    CommandCheck,
    DNSCheck,
    FunctionCheck,
    HTTPCheck,
    Outcome,
    Target,
    TCPCheck,
    UDPCheck,
    probe,
)
from ipvs.testing.topology._whoami import dns_answer, make_ca, make_certificate

KEY = ServiceKey.tcp("10.0.0.1", 80)
LOOPBACK = "127.0.0.1"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def target(port: int) -> Target:
    return TCPCheck().target(KEY, Destination(address=LOOPBACK, port=port))


async def outcome(check: Check, port: int) -> Outcome:
    return await probe(check, target(port))


def free_port(kind: int = 1) -> int:
    import socket

    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class HTTPServer:
    """A loopback HTTP server whose answer the test sets."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.status = 200
        self.body = b"web1\n"
        self.silent = False
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(request)
            if self.silent:
                await asyncio.sleep(10)
            writer.write(
                f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(self.body)}\r\n\r\n".encode()
                + self.body
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, LOOPBACK, 0, ssl=self.tls)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


def test_tcp_connects_or_is_refused() -> None:
    async def main() -> tuple[Outcome, Outcome]:
        async with HTTPServer() as port:
            up = await outcome(TCPCheck(), port)
        return up, await outcome(TCPCheck(), free_port())

    up, down = run(main())
    assert (up.ok, up.detail) == (True, "connected")
    assert (down.ok, down.detail) == (False, "connection refused")


def test_http_status_body_and_host() -> None:
    async def main() -> list[Outcome]:
        server = HTTPServer()
        async with server as port:
            results = [await outcome(HTTPCheck(body="web1", host="www.test"), port)]
            server.status = 503
            results.append(await outcome(HTTPCheck(), port))
            results.append(await outcome(HTTPCheck(status=[503]), port))
            server.status, server.body = 200, b"maintenance"
            results.append(await outcome(HTTPCheck(body="^web"), port))
        assert b"Host: www.test\r\n" in server.requests[0]
        assert server.requests[1].startswith(b"GET / HTTP/1.0\r\n")
        return results

    assert [(o.ok, o.detail.split(",")[0]) for o in run(main())] == [
        (True, "HTTP 200"),
        (False, "HTTP 503"),
        (True, "HTTP 503"),
        (False, "HTTP 200"),
    ]


def test_a_silent_server_times_out_within_the_timeout() -> None:
    async def main() -> tuple[Outcome, float]:
        server = HTTPServer()
        server.silent = True
        async with server as port:
            started = time.monotonic()
            result = await outcome(HTTPCheck(timeout=0.2), port)
            return result, time.monotonic() - started

    result, took = run(main())
    assert (result.ok, result.detail) == (False, "timed out after 0.2 s")
    assert 0.2 <= took < 1.0


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    directory = str(tmp_path_factory.mktemp("tls"))
    ca = make_ca(directory)
    cert, key = make_certificate(directory, ca, "web1", LOOPBACK)
    return ca[0], cert, key


def test_https_with_and_without_verification(certificates: tuple[str, str, str]) -> None:
    ca, cert, key = certificates
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    async def main() -> list[Outcome]:
        async with HTTPServer(tls) as port:
            return [
                await outcome(HTTPCheck(tls=True, ca_file=ca), port),
                await outcome(HTTPCheck(tls=True, ca_file=ca, server_name="web1"), port),
                await outcome(HTTPCheck(tls=True, ca_file=ca, server_name="other"), port),
                await outcome(HTTPCheck(tls=True), port),  # the system's authorities
                await outcome(HTTPCheck(tls=True, verify=False), port),
                await outcome(HTTPCheck(), port),  # plain HTTP to a TLS port
            ]

    ok, named, wrong_name, untrusted, unverified, plain = run(main())
    assert ok.ok and named.ok and unverified.ok
    assert not wrong_name.ok and wrong_name.detail.startswith("TLS")
    assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.detail
    assert not plain.ok


class UDPServer(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self.answer = answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.answer(data)
        if reply is not None:
            self.transport.sendto(reply, addr)


async def udp_server(answer: Callable[[bytes], bytes | None]) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: UDPServer(answer), local_addr=(LOOPBACK, 0)
    )
    try:
        yield int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


def test_udp_reply_silence_and_refusal() -> None:
    async def main() -> list[Outcome]:
        results = []
        async for port in udp_server(lambda data: b"web1:" + data):
            results.append(await outcome(UDPCheck(payload=b"ping", expect=b"web1:ping"), port))
            results.append(await outcome(UDPCheck(expect=b"web2", timeout=0.2), port))
        async for port in udp_server(lambda data: None):
            results.append(await outcome(UDPCheck(timeout=0.2), port))  # silence is fine ...
            results.append(await outcome(UDPCheck(require_reply=True, timeout=0.2), port))
        closed = free_port(2)
        results.append(await outcome(UDPCheck(timeout=1.0), closed))  # ... a refusal is not
        return results

    assert [(o.ok, o.detail) for o in run(main())] == [
        (True, "reply of 9 bytes"),
        (False, "reply b'web1:' does not start with b'web2'"),
        (True, "no error within 0.2 s"),
        (False, "timed out after 0.2 s"),
        (False, "connection refused"),
    ]


def test_dns_answers_errors_and_strangers() -> None:
    def servfail(query: bytes) -> bytes | None:
        reply = bytearray(dns_answer(query, LOOPBACK) or b"")
        reply[3] = (reply[3] & 0xF0) | 2
        return bytes(reply)

    def stranger_first(query: bytes) -> bytes | None:
        return b"\x00\x00" + (dns_answer(query, LOOPBACK) or b"")[2:]  # another id: ignored

    async def main() -> list[Outcome]:
        results = []
        async for port in udp_server(lambda q: dns_answer(q, LOOPBACK)):
            results.append(await outcome(DNSCheck(name="h.test", type="A"), port))
            results.append(await outcome(DNSCheck(type="MX", require_answer=True), port))
        async for port in udp_server(servfail):
            results.append(await outcome(DNSCheck(), port))
        async for port in udp_server(stranger_first):
            results.append(await outcome(DNSCheck(timeout=0.2), port))
        return results

    assert [(o.ok, o.detail) for o in run(main())] == [
        (True, "DNS NOERROR, 1 records"),
        (False, "DNS NOERROR without records"),
        (False, "DNS SERVFAIL"),
        (False, "timed out after 0.2 s"),
    ]


def test_commands_exit_status_weight_and_environment() -> None:
    async def main() -> list[Outcome]:
        return [
            await outcome(CommandCheck(command="exit 0"), 8080),
            await outcome(CommandCheck(command="echo no; exit 1"), 8080),
            await outcome(CommandCheck(command="exit 7", dynamic_weight=True), 8080),
            await outcome(
                CommandCheck(
                    command='test "$IPVS_HEALTH_ADDRESS:$IPVS_HEALTH_PORT $IPVS_HEALTH_SERVICE'
                    ' $MINE" = "127.0.0.1:8080 TCP 10.0.0.1:80 x"',
                    env={"MINE": "x"},
                ),
                8080,
            ),
            await outcome(CommandCheck(command=["/no/such/command"]), 8080),
        ]

    assert [(o.ok, o.detail, o.weight) for o in run(main())] == [
        (True, "exit status 0", None),
        (False, "exit status 1: no", None),
        (True, "exit status 7: weight 5", 5),
        (True, "exit status 0", None),
        (False, "no such file or directory", None),
    ]


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: pathlib.Path) -> None:
    pidfile = tmp_path / "child"
    command = f"sleep 30 & echo $! > {pidfile}; wait"

    async def main() -> Outcome:
        return await outcome(CommandCheck(command=command, timeout=0.5), 8080)

    result = run(main())
    assert (result.ok, result.detail) == (False, "timed out after 0.5 s")
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the command's child outlived the timeout")


def test_function_checks() -> None:
    seen: list[Target] = []

    async def healthy(t: Target) -> bool:
        seen.append(t)
        return True

    async def detailed(t: Target) -> Outcome:
        return Outcome(ok=False, detail="replica lag 30 s")

    async def broken(t: Target) -> bool:
        raise RuntimeError("boom")

    async def slow(t: Target) -> bool:
        await asyncio.sleep(10)
        return True

    async def main() -> list[Outcome]:
        return [
            await outcome(FunctionCheck(function=healthy), 8080),
            await outcome(FunctionCheck(function=detailed), 8080),
            await outcome(FunctionCheck(function=broken), 8080),
            await outcome(FunctionCheck(function=slow, timeout=0.1), 8080),
        ]

    assert [(o.ok, o.detail) for o in run(main())] == [
        (True, "ok"),
        (False, "replica lag 30 s"),
        (False, "RuntimeError: boom"),
        (False, "timed out after 0.1 s"),
    ]
    assert seen[0].port == 8080


def test_timed_out_tls_probes_leave_no_transport_behind(certificates: tuple[str, str, str]) -> None:
    import gc

    _ca, cert, key = certificates
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    async def main() -> list[Outcome]:
        silent_tls = HTTPServer(tls)
        silent_tls.silent = True  # the handshake completes, no reply comes
        mute = HTTPServer()  # plain TCP: the TLS handshake never completes
        mute.silent = True
        async with silent_tls as port, mute as mute_port:
            check = HTTPCheck(tls=True, verify=False, timeout=0.3)
            results = [await outcome(check, port), await outcome(check, mute_port)]
        await asyncio.sleep(0.05)  # the aborted transports finish closing
        return results

    results = run(main())
    gc.collect()  # an unclosed transport would warn here, and fail the test
    assert [(o.ok, o.detail) for o in results] == [(False, "timed out after 0.3 s")] * 2
