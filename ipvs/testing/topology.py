"""Small virtual networks for IPVS tests: a director, backends, a VIP.

A :class:`Topology` builds, inside network namespaces it creates itself, the
classic IPVS setup::

    director namespace                      backend namespaces
    +------------------------------+        +-------------------------+
    | VIP 100.100.100.100 (dummy)  |  veth  | eth0 10.1.1.2/24        |
    | ipvs-<token>-1  10.1.1.1/24  |--------| default via 10.1.1.1    |
    | ipvs-<token>-2  10.1.2.1/24  |---+    | whoami HTTP server      |
    +------------------------------+   |    +-------------------------+
                                       +----| eth0 10.1.2.2/24 ...    |

Each backend runs a tiny standard-library HTTP server that answers every
``GET`` with its own name, so a client can see where IPVS sent it. The
client runs in the director namespace, where the IPVS rules are: IPVS
handles such locally generated traffic in its ``LOCAL_OUT`` hook, and the
backends reply through their default route to the director, where IPVS
rewrites the replies back (masquerading/NAT mode). No sysctl has to be
changed for that.

The director is the caller's current network namespace (the one of the
calling thread when the topology is created), an existing named namespace, or
one the topology creates (``own_director=True``). Nothing outside the
director and the namespaces the topology creates is touched, and everything
is removed again on exit, also when building fails half way.

Example:
    .. code-block:: python

        import ipvs
        from ipvs.testing.topology import Topology

        with Topology(own_director=True) as topo:
            web1 = topo.add_backend("web1")
            web2 = topo.add_backend("web2")
            vip = topo.add_vip("100.100.100.100")
            with ipvs.Client(netns=topo.director_netns) as client:
                svc = ipvs.Service.tcp(vip, 80, scheduler="rr")
                dests = [ipvs.Destination(address=b.address, port=b.port, forward="masq")
                         for b in (web1, web2)]
                client.apply(ipvs.Table([(svc, dests)]))
            print(topo.get(vip, 80), topo.get(vip, 80))   # web2 web1

Servers run as separate processes (``python -m ipvs.testing.topology serve``)
that enter their namespace themselves; they exit when the topology is closed
or when the process that started them dies.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from ipvs._client import _netns
from ipvs.errors import HTTPError, NetnsError, TopologyError

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

__all__ = [
    "Backend",
    "Connection",
    "HTTPError",
    "Topology",
    "TopologyError",
    "main",
    "sysctl",
    "whoami_server",
]

_IFNAME_MAX = 15


@dataclass(frozen=True)
class Backend:
    """A backend of a :class:`Topology`: a namespace with a whoami server.

    Attributes:
        name: the name the server answers with.
        netns: the name of the backend's network namespace (under /run/netns).
        address: the backend's address (on its ``eth0``).
        port: the port the server listens on (on every address).
        gateway: the director's address on the veth link (the backend's default route).
        link: the name of the director's end of the veth pair.
    """

    name: str
    netns: str
    address: str
    port: int
    gateway: str
    link: str

    def describe(self) -> str:
        """Describe the backend.

        Returns:
            Text such as ``"web1 10.1.1.2:8080 (netns ipvs-1a2b3c-web1)"``.
        """
        return f"{self.name} {self.address}:{self.port} (netns {self.netns})"


# --------------------------------------------------------------------------
# sysctl
# --------------------------------------------------------------------------


def sysctl(key: str, value: str | int | None = None, *, netns: str | None = None) -> str:
    """Read, and optionally write, a sysctl in a network namespace.

    Entries under ``net.`` belong to the network namespace of the thread that
    opens them, so they are opened inside ``netns``; other keys are global and
    refused when ``netns`` is given.

    Args:
        key: a dotted (``net.ipv4.ip_forward``) or slashed key.
        value: the value to write, or None to only read.
        netns: a namespace name or path (None: the calling thread's namespace).

    Returns:
        The value read back after writing (stripped).

    Raises:
        TopologyError: ``key`` is malformed, or not per namespace while a
            namespace is given.
        OSError: the entry cannot be read or written.
    """
    rel = key.replace(".", "/") if "/" not in key else key.strip("/")
    if not rel or ".." in rel.split("/"):
        raise TopologyError(f"sysctl: bad key {key!r}")
    if netns is not None and not rel.startswith("net/"):
        raise TopologyError(f"sysctl: {key!r} is not per network namespace")
    path = "/proc/sys/" + rel
    ctx = _netns.entered(netns) if netns is not None else contextlib.nullcontext()
    with ctx:
        if value is not None:
            with open(path, "w", encoding="ascii") as fh:
                fh.write(f"{value}\n")
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()


# --------------------------------------------------------------------------
# HTTP: the whoami server and a minimal client
# --------------------------------------------------------------------------


_server_class: Any = None


def _whoami_class() -> Any:
    """Build the server class on first use (http.server is slow to import)."""
    global _server_class
    if _server_class is not None:
        return _server_class
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class WhoamiHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so a held connection can ask again

        def do_GET(self) -> None:
            name: str = getattr(self.server, "whoami_name", "")
            body = (name + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class WhoamiServer(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        whoami_name = ""

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that went away

    WhoamiServer.RequestHandlerClass = WhoamiHandler  # type: ignore[misc]
    _server_class = WhoamiServer
    return WhoamiServer


def whoami_server(name: str, port: int, *, netns: str | None = None) -> ThreadingHTTPServer:
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

    Returns:
        The server.

    Raises:
        OSError: the port cannot be bound.
        NetnsError: the namespace cannot be entered.
    """
    cls = _whoami_class()
    ctx = _netns.entered(netns) if netns is not None else contextlib.nullcontext()
    with ctx:
        server: ThreadingHTTPServer = cls(("0.0.0.0", port), cls.RequestHandlerClass)
    server.whoami_name = name  # type: ignore[attr-defined]
    return server


def _reply(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _host() -> int:
    """Serve whoami servers on command, until standard input closes.

    Commands, one per line on stdin: ``serve NAME NETNS PORT`` and
    ``stop NAME``; each is answered on stdout with ``ok NAME`` or
    ``error NAME MESSAGE``. EOF (the parent closed us or died) ends everything.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    servers: dict[str, ThreadingHTTPServer] = {}
    _reply("ready")
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            name = words[1] if len(words) > 1 else "-"
            try:
                if words[0] == "serve" and len(words) == 4:
                    netns = None if words[2] == "-" else words[2]
                    server = whoami_server(name, int(words[3]), netns=netns)
                    servers[name] = server
                    threading.Thread(target=server.serve_forever, daemon=True).start()
                elif words[0] == "stop" and len(words) == 2:
                    server = servers.pop(name)
                    server.shutdown()
                    server.server_close()
                else:
                    raise ValueError(f"bad command {line.strip()!r}")
            except Exception as exc:
                _reply(f"error {name} {type(exc).__name__}: {exc}".replace("\n", " "))
            else:
                _reply(f"ok {name}")
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
    return 0


def _serve(name: str, port: int, netns: str | None) -> int:
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


def _read_reply(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.x reply with a Content-Length (or ending at EOF)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPError("the connection closed before a complete reply")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HTTPError(f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        field, _, val = line.partition(":")
        headers[field.strip().lower()] = val.strip()
    body = bytearray(rest)
    length = headers.get("content-length")
    if length is None:
        while chunk := sock.recv(65536):
            body += chunk
        buf.clear()
        return int(parts[1]), headers, bytes(body)
    want = int(length)
    while len(body) < want:
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPError("the connection closed in the middle of a reply")
        body += chunk
    buf[:] = body[want:]
    return int(parts[1]), headers, bytes(body[:want])


class Connection:
    """One open TCP connection to an HTTP server, reusable (keep-alive).

    Made by :meth:`Topology.hold`; as long as it is open, IPVS counts it as an
    active connection of the destination it was scheduled to.

    Args:
        sock: a connected socket.
        host: the value of the ``Host`` header.

    Attributes:
        socket: the connected socket.
    """

    def __init__(self, sock: socket.socket, host: str) -> None:
        self.socket = sock
        self._host = host
        self._buf = bytearray()

    def request(self, path: str = "/") -> str:
        """Send a ``GET`` on this connection and return the body, stripped.

        Args:
            path: the request path.

        Returns:
            The reply body without surrounding white space (a backend's name).

        Raises:
            HTTPError: the reply is not a 200 or is malformed.
            OSError: the connection failed (``TimeoutError`` on timeout).
        """
        req = f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\nUser-Agent: ipvs-topology\r\n\r\n"
        self.socket.sendall(req.encode("latin-1"))
        status, _headers, body = _read_reply(self.socket, self._buf)
        if status != 200:
            raise HTTPError(f"HTTP status {status}")
        return body.decode("utf-8", "replace").strip()

    @property
    def local_address(self) -> tuple[str, int]:
        """The connection's local (client) address and port."""
        host, port = self.socket.getsockname()[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.socket.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------
# The topology
# --------------------------------------------------------------------------


class _ServerHost:
    """The process that runs the whoami servers of one topology."""

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


def _create_netns(name: str) -> None:
    try:
        _netns.create_named(name)
    except NetnsError as exc:
        raise TopologyError(str(exc.strerror or exc)) from None


def _remove_netns(name: str) -> None:
    _netns.remove_named(name)


def _package_root() -> str:
    import ipvs

    return os.path.dirname(os.path.dirname(os.path.abspath(ipvs.__file__)))


class Topology:
    """A director with backends in their own namespaces, as a context manager.

    Args:
        director_netns: the director's namespace: None for the calling
            thread's current one, or a name under /run/netns or a path to a
            namespace file. Ignored with ``own_director``.
        own_director: create a fresh namespace ``<prefix>-director`` (with
            ``lo`` up) as the director, so that not even the caller's
            namespace is changed. Then :attr:`director_netns` names it, for
            ``ipvs.Client(netns=topo.director_netns)``.
        prefix: the namespace name prefix; by default ``ipvs-<random token>``,
            unique per topology.
        startup_timeout: seconds to wait for a server to listen.

    Attributes:
        prefix: the prefix of every namespace and link name made.
        backends: the backends, in the order they were added.

    Raises:
        TopologyError: the director namespace cannot be opened.

    Example:
        .. code-block:: python

            with Topology() as topo:
                web = topo.add_backend("web")
                assert topo.get(web.address, web.port) == "web"
    """

    def __init__(
        self,
        director_netns: str | os.PathLike[str] | None = None,
        *,
        own_director: bool = False,
        prefix: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._token = secrets.token_hex(3)
        self.prefix = prefix if prefix is not None else f"ipvs-{self._token}"
        self.startup_timeout = startup_timeout
        self.backends: list[Backend] = []
        self._cleanups: list[Callable[[], None]] = []
        self._host: _ServerHost | None = None
        self._stopped: set[str] = set()
        self._connections: list[Connection] = []
        self._vips: dict[str, str] = {}
        self._closed = False
        self._own_director = own_director
        self._director_fd = -1
        self._director_name: str | None = None
        try:
            if own_director:
                name = f"{self.prefix}-director"
                self._create_netns(name)
                self._director_name = name
                path = _netns.resolve(name)
            elif director_netns is None:
                path = "/proc/thread-self/ns/net"
            else:
                path = _netns.resolve(director_netns)
                self._director_name = os.fspath(director_netns)
            try:
                self._director_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise TopologyError(f"cannot open the director namespace {path}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- context management -------------------------------------------------------

    def __enter__(self) -> Topology:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the servers, close held connections, delete links and namespaces.

        Safe to call twice. Errors while cleaning up are collected and raised
        at the end (after everything was tried) as one :class:`TopologyError`.

        Raises:
            TopologyError: something could not be removed.
        """
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        while self._cleanups:
            step = self._cleanups.pop()
            try:
                step()
            except Exception as exc:
                errors.append(f"{getattr(step, '__doc__', None) or step!r}: {exc}")
        if self._director_fd >= 0:
            os.close(self._director_fd)
            self._director_fd = -1
        if errors:
            raise TopologyError("cleaning up the topology failed: " + "; ".join(errors))

    # -- namespaces -----------------------------------------------------------------

    @property
    def director_netns(self) -> str:
        """A path or name of the director namespace, usable from any thread.

        For the caller's namespace this is ``/proc/<pid>/fd/<fd>`` of a file
        descriptor the topology holds open until it is closed.
        """
        if self._director_name is not None:
            return self._director_name
        self._check_open()
        return f"/proc/{os.getpid()}/fd/{self._director_fd}"

    @property
    def netns_names(self) -> list[str]:
        """The names of the namespaces this topology created (director first)."""
        names = [f"{self.prefix}-director"] if self._own_director else []
        return names + [b.netns for b in self.backends]

    @contextlib.contextmanager
    def director(self) -> Iterator[None]:
        """Run a ``with`` block with the calling thread in the director namespace.

        Sockets made in the block belong to the director namespace.

        Yields:
            None, with the calling thread in the director namespace.

        Raises:
            NetnsError: the namespace cannot be entered.
        """
        self._check_open()
        with self._in_director():
            yield

    def _in_director(self) -> contextlib.AbstractContextManager[None]:
        return _netns.entered(f"/proc/self/fd/{self._director_fd}")

    def _check_open(self) -> None:
        if self._closed:
            raise TopologyError("the topology is closed")

    @staticmethod
    def _in(name: str) -> contextlib.AbstractContextManager[None]:
        return _netns.entered(name)

    def _create_netns(self, name: str) -> None:
        _create_netns(name)

        def remove_netns() -> None:
            """remove the network namespace"""
            _remove_netns(name)

        self._cleanups.append(remove_netns)

    def _link_name(self, index: int) -> str:
        name = f"{self.prefix}-{index}"
        if len(name) > _IFNAME_MAX:
            name = f"ipvs{self._token}-{index}"
        return name

    # -- building -------------------------------------------------------------------

    def add_backend(
        self,
        name: str,
        address: str | None = None,
        port: int = 8080,
        *,
        prefixlen: int = 24,
    ) -> Backend:
        """Add a backend: a namespace, a veth link to the director, a whoami server.

        The backend's namespace is ``<prefix>-<name>``. Its end of the veth
        pair is ``eth0`` with ``address``; the director's end gets the first
        address of the same network; the backend's default route points at it.

        Args:
            name: the backend's name (letters, digits, ``-``, ``_``, ``.``);
                the server answers with it.
            address: the backend's IPv4 address; by default ``10.1.N.2`` for
                the N-th backend (the director then has ``10.1.N.1``).
            port: the server's TCP port.
            prefixlen: the link network's prefix length.

        Returns:
            The backend, once its server accepts connections.

        Raises:
            TopologyError: the name is taken or invalid, the address is
                unusable, or the server did not start.
        """
        self._check_open()
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise TopologyError(f"bad backend name {name!r}")
        if any(b.name == name for b in self.backends):
            raise TopologyError(f"backend {name!r} exists already")
        index = len(self.backends) + 1
        if address is None:
            if index > 254:
                raise TopologyError("too many backends for the default addresses")
            address = f"10.1.{index}.2"
        try:
            iface = ipaddress.IPv4Interface(f"{address}/{prefixlen}")
        except ValueError as exc:
            raise TopologyError(f"bad backend address {address!r}: {exc}") from None
        hosts = iface.network.hosts()
        gateway = next(hosts, None)
        if gateway is None or gateway == iface.ip:
            raise TopologyError(f"{address}/{prefixlen} leaves no address for the director")
        nsname = f"{self.prefix}-{name}"
        link = self._link_name(index)
        self._server_host()  # starts in the background while the links are made
        self._create_netns(nsname)
        self._add_veth(link, nsname, iface, gateway)
        backend = Backend(
            name=name,
            netns=nsname,
            address=str(iface.ip),
            port=port,
            gateway=str(gateway),
            link=link,
        )
        self._start_server(backend)
        self.backends.append(backend)
        return backend

    def _add_veth(
        self,
        link: str,
        nsname: str,
        iface: ipaddress.IPv4Interface,
        gateway: ipaddress.IPv4Address,
    ) -> None:
        from pyroute2 import IPRoute

        peer = f"{link}p"[-_IFNAME_MAX:]
        with self._in_director(), IPRoute() as ipr:
            ipr.link("add", ifname=link, kind="veth", peer=peer)
            self._cleanups.append(self._deleter(link))
            (index,) = ipr.link_lookup(ifname=link)
            (peer_index,) = ipr.link_lookup(ifname=peer)
            fd = os.open(_netns.resolve(nsname), os.O_RDONLY | os.O_CLOEXEC)
            try:
                ipr.link("set", index=peer_index, net_ns_fd=fd)
            finally:
                os.close(fd)
            ipr.addr("add", index=index, address=str(gateway), prefixlen=iface.network.prefixlen)
            ipr.link("set", index=index, state="up")
        with self._in(nsname), IPRoute() as ipr:
            (eth,) = ipr.link_lookup(ifname=peer)
            ipr.link("set", index=eth, ifname="eth0")
            ipr.addr("add", index=eth, address=str(iface.ip), prefixlen=iface.network.prefixlen)
            ipr.link("set", index=eth, state="up")
            ipr.route("add", dst="0.0.0.0/0", gateway=str(gateway))

    def _deleter(self, ifname: str) -> Callable[[], None]:
        def delete_link() -> None:
            """delete a link"""
            from pyroute2 import IPRoute

            with self._in_director(), IPRoute() as ipr:
                found = ipr.link_lookup(ifname=ifname)
                if found:
                    ipr.link("del", index=found[0])

        return delete_link

    def _server_host(self) -> _ServerHost:
        if self._host is None:
            host = _ServerHost(self.startup_timeout)
            self._cleanups.append(host.stop)
            self._host = host
        return self._host

    def _start_server(self, backend: Backend) -> None:
        try:
            self._server_host().command("serve", backend.name, backend.netns, str(backend.port))
        except TopologyError as exc:
            raise TopologyError(f"backend {backend.name}: {exc}") from None

    def stop_backend(self, name: str) -> None:
        """Stop a backend's server (new connections to it are refused).

        Args:
            name: the backend's name.

        Raises:
            KeyError: no such backend.
            TopologyError: the server was stopped already.
        """
        backend = self.backend(name)
        if name in self._stopped:
            raise TopologyError(f"backend {name} is stopped already")
        assert self._host is not None
        self._host.command("stop", backend.name)
        self._stopped.add(name)

    def add_vip(self, address: str, *, prefixlen: int | None = None) -> str:
        """Put a virtual IP address on a dummy interface in the director namespace.

        Args:
            address: an IPv4 or IPv6 address.
            prefixlen: its prefix length (default: a host prefix).

        Returns:
            The address, as a string.

        Raises:
            TopologyError: the address is invalid or already added.
        """
        from pyroute2 import IPRoute

        self._check_open()
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as exc:
            raise TopologyError(f"bad VIP {address!r}: {exc}") from None
        text = str(ip)
        if text in self._vips:
            raise TopologyError(f"VIP {text} exists already")
        plen = prefixlen if prefixlen is not None else ip.max_prefixlen
        dummy = f"{self.prefix}-vip"
        if len(dummy) > _IFNAME_MAX:
            dummy = f"ipvs{self._token}-vip"
        with self.director(), IPRoute() as ipr:
            found = ipr.link_lookup(ifname=dummy)
            if not found:
                ipr.link("add", ifname=dummy, kind="dummy")
                self._cleanups.append(self._deleter(dummy))
                found = ipr.link_lookup(ifname=dummy)
                ipr.link("set", index=found[0], state="up")
            ipr.addr("add", index=found[0], address=text, prefixlen=plen)
        self._vips[text] = dummy
        return text

    # -- traffic ----------------------------------------------------------------------

    def backend(self, name: str) -> Backend:
        """Return a backend by name.

        Args:
            name: the backend's name.

        Returns:
            The backend.

        Raises:
            KeyError: no such backend.
        """
        for b in self.backends:
            if b.name == name:
                return b
        raise KeyError(name)

    def connect(self, address: str, port: int, *, timeout: float = 5.0) -> socket.socket:
        """Open a TCP connection from the director namespace.

        Args:
            address: the server address (a VIP or a backend's address).
            port: the server port.
            timeout: seconds for connecting and for every later socket operation.

        Returns:
            The connected socket (the caller closes it).

        Raises:
            OSError: the connection failed (``TimeoutError`` on timeout).
        """
        self._check_open()
        ip = ipaddress.ip_address(address)
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        with self.director():
            sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((str(ip), port))
        except BaseException:
            sock.close()
            raise
        return sock

    def get(self, address: str, port: int = 80, *, path: str = "/", timeout: float = 5.0) -> str:
        """Do one HTTP request on a fresh TCP connection from the director namespace.

        Args:
            address: the server address (a VIP or a backend's address).
            port: the server port.
            path: the request path.
            timeout: seconds for each socket operation.

        Returns:
            The reply body, stripped: the name of the backend that answered.

        Raises:
            HTTPError: the reply is not a 200 or is malformed.
            OSError: the connection failed (``TimeoutError`` on timeout).
        """
        with Connection(self.connect(address, port, timeout=timeout), address) as conn:
            return conn.request(path)

    def hold(self, address: str, port: int = 80, *, timeout: float = 5.0) -> Connection:
        """Open a long-lived connection from the director namespace.

        The connection stays open (an active connection for IPVS) until it is
        closed, at the latest when the topology closes. Use
        :meth:`Connection.request` to ask on it which backend serves it.

        Args:
            address: the server address (a VIP or a backend's address).
            port: the server port.
            timeout: seconds for each socket operation.

        Returns:
            The open connection.

        Raises:
            OSError: the connection failed.
        """
        conn = Connection(self.connect(address, port, timeout=timeout), address)
        self._connections.append(conn)
        return conn

    def __repr__(self) -> str:
        names = ", ".join(b.name for b in self.backends)
        return f"<Topology {self.prefix} backends=[{names}] vips={sorted(self._vips)}>"


# --------------------------------------------------------------------------
# Command line: the server process
# --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m ipvs.testing.topology serve ...``.

    ``serve --name NAME --port PORT [--netns NS]`` runs a whoami server
    (inside ``NS`` if given), prints ``ready`` once it listens, and runs until
    SIGTERM or SIGINT. ``host`` is the server process of a :class:`Topology`
    (commands on standard input; it ends when its standard input closes).

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m ipvs.testing.topology")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a whoami HTTP server")
    serve.add_argument("--name", required=True, help="the name to answer with")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument("--netns", default=None, help="network namespace to listen in")
    sub.add_parser("host", help="serve whoami servers on command (used by Topology)")
    args = parser.parse_args(argv)
    if args.command == "host":
        return _host()
    return _serve(args.name, args.port, args.netns)


if __name__ == "__main__":
    sys.exit(main())
