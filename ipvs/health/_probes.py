"""The probes: asyncio I/O that asks a destination whether it is healthy.

Every probe's socket is made inside the network namespace the client
programs (:meth:`Target.socket`); commands run there through ``nsenter``.
A probe never raises: whatever goes wrong becomes a failed :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import random
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from ipvs._client import _netns
from ipvs.health import _wire
from ipvs.health._checks import (
    Check,
    CommandCheck,
    DNSCheck,
    FunctionCheck,
    HTTPCheck,
    Outcome,
    Target,
    TCPCheck,
    UDPCheck,
)

__all__ = ["probe"]

_ERRORS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "timed out",
}


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno in _ERRORS:
        return _ERRORS[exc.errno]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def probe(check: Check, target: Target) -> Outcome:
    """Run one probe of ``check`` against ``target``, within ``check.timeout``.

    Args:
        check: the check.
        target: where to probe (and from which namespace).

    Returns:
        The outcome; never raises (but lets cancellation through).
    """
    run = _PROBES[type(check)] if type(check) in _PROBES else _probe_for(check)
    try:
        return await asyncio.wait_for(run(check, target), check.timeout)
    except asyncio.TimeoutError:
        if isinstance(check, UDPCheck) and not check.needs_reply:
            return Outcome(ok=True, detail=f"no error within {check.timeout:g} s")
        return Outcome(ok=False, detail=f"timed out after {check.timeout:g} s")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return Outcome(ok=False, detail=_describe_error(exc))


def _probe_for(check: Check) -> Callable[[Any, Target], Awaitable[Outcome]]:
    for kind, run in _PROBES.items():
        if isinstance(check, kind):
            return run
    raise TypeError(f"no probe for {type(check).__name__}")


async def _tcp(check: TCPCheck, target: Target) -> Outcome:
    loop = asyncio.get_running_loop()
    sock = target.socket(socket.SOCK_STREAM)
    try:
        await loop.sock_connect(sock, target.sockaddr)
    finally:
        sock.close()
    return Outcome(ok=True, detail="connected")


@functools.lru_cache(maxsize=16)
def _client_tls(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    if verify:
        return ssl.create_default_context(cafile=ca_file)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _server_name(check: HTTPCheck, target: Target) -> str:
    if check.server_name is not None:
        return check.server_name
    if check.host is not None:
        host = check.host
        if host.startswith("["):
            return host[1:].partition("]")[0]
        return host.rpartition(":")[0] if host.count(":") == 1 else host
    return str(target.address) if check.verify else ""


class _Reply(asyncio.Protocol):
    """Collects an HTTP reply until it is complete, the peer closes, or it is too long."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.data = bytearray()
        self.done = done
        self.error: Exception | None = None

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) >= _wire.MAX_REPLY or _wire.http_complete(bytes(self.data)):
            self._finish()

    def eof_received(self) -> bool:
        self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc  # raised by the probe if the reply is incomplete
        self._finish()


async def _http(check: HTTPCheck, target: Target) -> Outcome:
    # Transports rather than streams: on a timeout or a cancellation every
    # transport is aborted at once, never left in a graceful TLS shutdown.
    loop = asyncio.get_running_loop()
    sock = target.socket(socket.SOCK_STREAM)
    transports: list[asyncio.Transport] = []
    try:
        await loop.sock_connect(sock, target.sockaddr)
        reply = _Reply(loop.create_future())
        transport, _ = await loop.create_connection(lambda: reply, sock=sock)
        transports.append(transport)
        if check.tls:
            tls = await loop.start_tls(
                transport,
                reply,
                _client_tls(check.verify, check.ca_file),
                server_hostname=_server_name(check, target),
            )
            assert tls is not None
            transports.append(tls)
        transports[-1].write(_wire.http_request(check, target))
        await reply.done
        if reply.error is not None and not _wire.http_complete(bytes(reply.data)):
            raise reply.error
    finally:
        for transport in reversed(transports):
            transport.abort()
        sock.close()
    return _wire.http_verdict(check, bytes(reply.data))


async def _udp(check: UDPCheck, target: Target) -> Outcome:
    loop = asyncio.get_running_loop()
    sock = target.socket(socket.SOCK_DGRAM)
    try:
        sock.connect(target.sockaddr)
        await loop.sock_sendall(sock, check.payload)
        reply = await loop.sock_recv(sock, 65535)  # an ICMP error raises here
    finally:
        sock.close()
    return _wire.udp_verdict(check, reply)


async def _dns(check: DNSCheck, target: Target) -> Outcome:
    loop = asyncio.get_running_loop()
    ident = random.randrange(0x10000)
    sock = target.socket(socket.SOCK_DGRAM)
    try:
        sock.connect(target.sockaddr)
        await loop.sock_sendall(sock, _wire.dns_query(ident, check))
        while True:
            reply = await loop.sock_recv(sock, 65535)
            verdict = _wire.dns_verdict(ident, reply, require_answer=check.require_answer)
            if verdict is not None:
                return verdict
    finally:
        sock.close()


def _environment(check: CommandCheck, target: Target) -> dict[str, str]:
    env = dict(os.environ)
    env["IPVS_HEALTH_ADDRESS"] = str(target.address)
    env["IPVS_HEALTH_PORT"] = str(target.port)
    env["IPVS_HEALTH_SERVICE"] = target.service.describe()
    env.update(check.env)
    return env


async def _command(check: CommandCheck, target: Target) -> Outcome:
    argv = list(check.command)
    fds: tuple[int, ...] = ()
    if target.netns is not None:
        # nsenter enters the namespace through a descriptor we pass it, so
        # that names and /proc/self paths mean what they mean here
        fd = os.open(_netns.resolve(target.netns), os.O_RDONLY | os.O_CLOEXEC)
        fds = (fd,)
        argv = ["nsenter", f"--net=/proc/self/fd/{fd}", "--", *argv]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=_environment(check, target),
            start_new_session=True,
            pass_fds=fds,
        )
    finally:
        for fd in fds:
            os.close(fd)
    try:
        output, _ = await proc.communicate()
    except BaseException:
        # the timeout (or the checker stopping): kill the command and what it started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    return _wire.command_verdict(proc.returncode, output, dynamic_weight=check.dynamic_weight)


async def _function(check: FunctionCheck, target: Target) -> Outcome:
    result = await check.function(target)
    if isinstance(result, Outcome):
        return result
    return Outcome(ok=bool(result), detail="ok" if result else "failed")


_PROBES: dict[type[Any], Callable[[Any, Target], Awaitable[Outcome]]] = {
    TCPCheck: _tcp,
    HTTPCheck: _http,
    UDPCheck: _udp,
    DNSCheck: _dns,
    CommandCheck: _command,
    FunctionCheck: _function,
}
