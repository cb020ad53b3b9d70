"""The backends' servers, and the process that runs them.

Each backend of a :class:`~ipvs.testing.topology.Topology` answers, in its own
network namespace:

* HTTP ``GET`` with its name (the "whoami" server), with a status code that
  can be changed per path (an application that fails while its port is open);
* optionally the same over TLS, with a certificate signed by the topology's
  own certificate authority (made with the ``openssl`` command);
* optionally UDP datagrams, with its name (an echo of identity);
* optionally DNS queries: ``A`` queries with its own address, others with an
  empty ``NOERROR`` answer.

All of them run as threads of one server process per topology (``python -m
ipvs.testing.topology host``), which takes commands on its standard input:

``serve NAME NETNS key=value...``
    start a backend's servers: ``http=PORT``, ``https=PORT`` with ``cert=PATH``
    and ``key=PATH``, ``udp=PORT``, ``dns=PORT`` with ``address=ADDR``.
``stop NAME`` / ``start NAME``
    stop every server of a backend (its ports refuse connections), or start
    them again with the same settings.
``status NAME CODE [PATH]``
    answer HTTP requests (for PATH only, or all) with status CODE.

Each command is answered with ``ok NAME`` or ``error NAME MESSAGE``; the
process ends when its standard input closes (its parent closed it, or died).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from ipvs._client import _netns
from ipvs.errors import TopologyError

if TYPE_CHECKING:
    import ssl
    from http.server import ThreadingHTTPServer

__all__ = [
    "BackendServers",
    "ServerHost",
    "dns_responder",
    "host_main",
    "make_ca",
    "make_certificate",
    "serve_main",
    "udp_echo_server",
    "whoami_server",
]


# --------------------------------------------------------------------------
# HTTP and HTTPS: the whoami server
# --------------------------------------------------------------------------

_server_classes: tuple[Any, Any] | None = None


def _whoami_classes() -> tuple[Any, Any]:
    """Build the server classes on first use (http.server is slow to import)."""
    global _server_classes
    if _server_classes is not None:
        return _server_classes
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class WhoamiHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so a held connection can ask again

        def do_GET(self) -> None:
            name: str = getattr(self.server, "whoami_name", "")
            statuses: Mapping[str | None, int] = getattr(self.server, "statuses", {})
            path = self.path.split("?", 1)[0]
            status = statuses.get(path, statuses.get(None, 200))
            body = (name + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class WhoamiServer(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        whoami_name = ""
        ssl_context: ssl.SSLContext | None = None

        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            if self.ssl_context is not None:
                # the handshake happens in the connection's own thread, on first read
                sock = self.ssl_context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
            return sock, address

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that went away, or a failed TLS handshake

    WhoamiServer.RequestHandlerClass = WhoamiHandler  # type: ignore[misc]
    _server_classes = (WhoamiServer, WhoamiHandler)
    return _server_classes


def _in(netns: str | None) -> contextlib.AbstractContextManager[None]:
    return _netns.entered(netns) if netns is not None else contextlib.nullcontext()


def whoami_server(
    name: str,
    port: int,
    *,
    netns: str | None = None,
    statuses: Mapping[str | None, int] | None = None,
    tls: ssl.SSLContext | None = None,
) -> ThreadingHTTPServer:
    """Make an HTTP server that answers every ``GET`` with its name and a newline.

    The server is bound and listening when this returns; run it with
    ``serve_forever()`` in a thread of your choice, stop it with ``shutdown()``
    and ``server_close()``. It speaks HTTP/1.1 with keep-alive and handles
    each connection in a daemon thread.

    Args:
        name: the name to answer with.
        port: the TCP port (on every IPv4 address).
        netns: the namespace (name or path) to open the listening socket in;
            None for the calling thread's. The socket stays in that namespace
            whatever thread serves it.
        statuses: the status code to answer with, by request path (without
            the query); the key None stands for every other path. The mapping
            is read at each request, so changing it changes the answers.
            Default: 200 everywhere.
        tls: a server-side TLS context: the server speaks HTTPS.

    Returns:
        The server.

    Raises:
        OSError: the port cannot be bound.
        NetnsError: the namespace cannot be entered.
    """
    cls, handler = _whoami_classes()
    with _in(netns):
        server: ThreadingHTTPServer = cls(("0.0.0.0", port), handler)
    server.whoami_name = name  # type: ignore[attr-defined]
    server.statuses = statuses if statuses is not None else {}  # type: ignore[attr-defined]
    server.ssl_context = tls  # type: ignore[attr-defined]
    return server


def tls_server_context(certificate: str, key: str) -> ssl.SSLContext:
    """Build a server-side TLS context from a PEM certificate and key."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certificate, key)
    return ctx


# --------------------------------------------------------------------------
# UDP: an identity echo and a DNS responder
# --------------------------------------------------------------------------


class _UDPServer(socketserver.UDPServer):
    allow_reuse_address = True
    max_packet_size = 4096

    def __init__(self, port: int, handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(("0.0.0.0", port), handler)
        self.answer: Callable[[bytes], bytes | None] = lambda _data: None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Datagram(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.answer(data)
        if reply is not None:
            sock.sendto(reply, self.client_address)


def udp_echo_server(name: str, port: int, *, netns: str | None = None) -> socketserver.UDPServer:
    """Make a UDP server that answers every datagram with its name and a newline.

    Args:
        name: the name to answer with.
        port: the UDP port (on every IPv4 address).
        netns: the namespace to open the socket in (None: the calling thread's).

    Returns:
        The server, bound; run it with ``serve_forever()``.
    """
    reply = (name + "\n").encode()
    return _udp_server(port, netns, lambda _data: reply)


def _udp_server(
    port: int, netns: str | None, answer: Callable[[bytes], bytes | None]
) -> socketserver.UDPServer:
    with _in(netns):
        server = _UDPServer(port, _Datagram)
    server.answer = answer
    return server


def dns_answer(query: bytes, address: str) -> bytes | None:
    """Answer a DNS query: ``A`` (or ``ANY``) with ``address``, others with no records.

    Args:
        query: the query message.
        address: the IPv4 address to answer with.

    Returns:
        The response message (``FORMERR`` for a malformed question), or None
        when the message is not a query at all.
    """
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack_from("!HHH", query)
    if flags & 0x8000:  # a response, not a query
        return None
    rd = flags & 0x0100
    pos = 12
    try:
        if qdcount != 1:
            raise ValueError("one question expected")
        while query[pos]:
            if query[pos] & 0xC0:
                raise ValueError("compressed question")
            pos += 1 + query[pos]
        pos += 1
        qtype, qclass = struct.unpack_from("!HH", query, pos)
        pos += 4
    except (IndexError, ValueError, struct.error):
        return struct.pack("!HHHHHH", ident, 0x8000 | 0x0400 | rd | 1, 0, 0, 0, 0)
    question = query[12:pos]
    answers = b""
    if qtype in (1, 255) and qclass == 1:
        rdata = bytes(int(part) for part in address.split("."))
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 0, len(rdata)) + rdata
    header = struct.pack("!HHHHHH", ident, 0x8000 | 0x0400 | rd, 1, 1 if answers else 0, 0, 0)
    return header + question + answers


def dns_responder(address: str, port: int, *, netns: str | None = None) -> socketserver.UDPServer:
    """Make a DNS server that answers every ``A`` query with ``address``.

    Args:
        address: the IPv4 address to answer with.
        port: the UDP port (on every IPv4 address).
        netns: the namespace to open the socket in (None: the calling thread's).

    Returns:
        The server, bound; run it with ``serve_forever()``.
    """
    return _udp_server(port, netns, lambda data: dns_answer(data, address))


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------

_Server = Any  # ThreadingHTTPServer or UDPServer: serve_forever, shutdown, server_close


class BackendServers:
    """Every server of one backend, stopped and started together.

    Args:
        name: the backend's name.
        netns: its namespace (None: the calling thread's).
        settings: ``http``, ``https``, ``cert``, ``key``, ``udp``, ``dns`` and
            ``address``, as in the ``serve`` command.
    """

    def __init__(self, name: str, netns: str | None, settings: Mapping[str, str]) -> None:
        self.name = name
        self.netns = netns
        self.settings = dict(settings)
        self.statuses: dict[str | None, int] = {}
        self.servers: list[_Server] = []

    @property
    def running(self) -> bool:
        """True while the servers run."""
        return bool(self.servers)

    def start(self) -> None:
        """Bind every server and serve each in a daemon thread.

        Raises:
            OSError: a port cannot be bound (the others are closed again).
        """
        s, name, netns = self.settings, self.name, self.netns
        made: list[_Server] = []
        try:
            statuses = self.statuses
            if "http" in s:
                made.append(whoami_server(name, int(s["http"]), netns=netns, statuses=statuses))
            if "https" in s:
                tls = tls_server_context(s["cert"], s["key"])
                port = int(s["https"])
                made.append(whoami_server(name, port, netns=netns, statuses=statuses, tls=tls))
            if "udp" in s:
                made.append(udp_echo_server(name, int(s["udp"]), netns=netns))
            if "dns" in s:
                made.append(dns_responder(s["address"], int(s["dns"]), netns=netns))
        except BaseException:
            for server in made:
                server.server_close()
            raise
        for server in made:
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        self.servers = made

    def stop(self) -> None:
        """Stop every server and close its socket."""
        servers, self.servers = self.servers, []
        for server in servers:
            server.shutdown()
            server.server_close()


def _reply(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _settings(words: list[str]) -> dict[str, str]:
    if len(words) == 1 and words[0].isdigit():  # the old form: serve NAME NETNS PORT
        return {"http": words[0]}
    settings = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key not in ("http", "https", "cert", "key", "udp", "dns", "address"):
            raise ValueError(f"bad setting {word!r}")
        settings[key] = value
    if "https" in settings and not ("cert" in settings and "key" in settings):
        raise ValueError("https needs cert= and key=")
    if "dns" in settings and "address" not in settings:
        raise ValueError("dns needs address=")
    return settings


def _command(backends: dict[str, BackendServers], words: list[str]) -> None:
    verb, name, rest = words[0], words[1] if len(words) > 1 else "", words[2:]
    if verb == "serve" and len(rest) >= 1:
        if name in backends:
            raise ValueError(f"backend {name} exists already")
        backend = BackendServers(name, None if rest[0] == "-" else rest[0], _settings(rest[1:]))
        backend.start()
        backends[name] = backend
    elif verb == "stop" and not rest:
        backends[name].stop()
    elif verb == "start" and not rest:
        if backends[name].running:
            raise ValueError(f"backend {name} is running")
        backends[name].start()
    elif verb == "status" and len(rest) in (1, 2):
        backends[name].statuses[rest[1] if len(rest) == 2 else None] = int(rest[0])
        if len(rest) == 1:  # a status for every path replaces the per-path ones
            for path in [p for p in backends[name].statuses if p is not None]:
                del backends[name].statuses[path]
    else:
        raise ValueError(f"bad command {' '.join(words)!r}")


def host_main() -> int:
    """Run backends' servers on command, until standard input closes (see the module)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    backends: dict[str, BackendServers] = {}
    _reply("ready")
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            name = words[1] if len(words) > 1 else "-"
            try:
                _command(backends, words)
            except Exception as exc:
                _reply(f"error {name} {type(exc).__name__}: {exc}".replace("\n", " "))
            else:
                _reply(f"ok {name}")
    finally:
        for backend in backends.values():
            backend.stop()
    return 0


def serve_main(name: str, port: int, netns: str | None) -> int:
    """Run one whoami server until SIGTERM or SIGINT."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = whoami_server(name, port, netns=netns)
    _reply("ready")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _package_root() -> str:
    import ipvs

    return os.path.dirname(os.path.dirname(os.path.abspath(ipvs.__file__)))


class ServerHost:
    """The parent's end of the server process of one topology."""

    def __init__(self, timeout: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_package_root(), env.get("PYTHONPATH", "")) if p
        )
        self.timeout = timeout
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self._buf = b""
        self._ready = False
        argv = [sys.executable, "-m", "ipvs.testing.topology", "host"]
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env
            )
        except BaseException:
            self.log.close()
            raise

    def _output(self) -> str:
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace").strip()
        return text[-2000:] or "(no output)"

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TopologyError(f"the server process did not answer within {self.timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self.proc.wait()
                raise TopologyError(
                    f"the server process exited with status {self.proc.returncode}: "
                    f"{self._output()}"
                )
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "replace").strip()

    def command(self, *words: str) -> None:
        """Send one command and wait for its answer.

        Raises:
            TopologyError: the command failed, or the process is gone or silent.
        """
        assert self.proc.stdin is not None
        if not self._ready:
            if self._readline() != "ready":
                raise TopologyError(f"the server process did not start: {self._output()}")
            self._ready = True
        try:
            self.proc.stdin.write((" ".join(words) + "\n").encode())
            self.proc.stdin.flush()
        except OSError as exc:
            raise TopologyError(f"the server process is gone: {exc}; {self._output()}") from exc
        answer = self._readline()
        if answer != f"ok {words[1]}":
            raise TopologyError(f"{' '.join(words)}: {answer.partition(words[1])[2].strip()}")

    def stop(self) -> None:
        """stop the server process"""
        proc = self.proc
        try:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
            self.log.close()


# --------------------------------------------------------------------------
# Certificates, made with the openssl command
# --------------------------------------------------------------------------

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]


def _openssl(args: list[str]) -> None:
    try:
        proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise TopologyError("HTTPS backends need the openssl command (Debian: openssl)") from None
    if proc.returncode != 0:
        raise TopologyError(f"openssl {args[0]} failed: {proc.stderr.strip()[-500:]}")


def make_ca(directory: str) -> tuple[str, str]:
    """Make a throw-away certificate authority (an EC P-256 key, valid two days).

    Args:
        directory: where to write ``ca.pem`` and ``ca.key``.

    Returns:
        The paths of the certificate and the key.

    Raises:
        TopologyError: openssl is missing or failed.
    """
    cert, key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    _openssl(
        [
            *("req", "-x509", "-new", *_EC, "-keyout", key, "-out", cert),
            *("-subj", "/CN=ipvs test CA", "-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ]
    )
    return cert, key


def make_certificate(
    directory: str, ca: tuple[str, str], name: str, address: str
) -> tuple[str, str]:
    """Make a server certificate for ``name`` and ``address``, signed by ``ca``.

    Args:
        directory: where to write ``<name>.pem`` and ``<name>.key``.
        ca: the CA's certificate and key (from :func:`make_ca`).
        name: the DNS name (and common name) to certify.
        address: the IP address to certify.

    Returns:
        The paths of the certificate and the key.

    Raises:
        TopologyError: openssl is missing or failed.
    """
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}.key")
    _openssl(
        [
            *("req", "-x509", "-new", *_EC, "-keyout", key, "-out", cert, "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=IP:{address},DNS:{name}"),
            *("-addext", "basicConstraints=CA:FALSE", "-CA", ca[0], "-CAkey", ca[1]),
        ]
    )
    return cert, key
