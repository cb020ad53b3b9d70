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
``GET`` with its own name, so a client can see where IPVS sent it; on request
also the same over HTTPS (certificates from the topology's own throw-away
certificate authority), a UDP server that answers with the name, and a DNS
server that answers ``A`` queries with the backend's address. The client
runs in the director namespace, where the IPVS rules are: IPVS handles such
locally generated traffic in its ``LOCAL_OUT`` hook, and the backends reply
through their default route to the director, where IPVS rewrites the replies
back (masquerading/NAT mode). No sysctl has to be changed for that.

A backend can fail in the three ways backends fail in production, and
recover: its servers stop (:meth:`Topology.stop_backend`, connections are
refused) and start again (:meth:`Topology.start_backend`); its application
answers with an HTTP error (:meth:`Topology.set_http_status`); its namespace
drops every packet (:meth:`Topology.drop_packets`, an iptables rule, so
connections time out) and accepts them again (:meth:`Topology.accept_packets`).

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

Servers run in a separate process (``python -m ipvs.testing.topology host``)
whose threads enter their namespaces themselves; it exits when the topology
is closed or when the process that started it dies.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ipvs._client import _netns
from ipvs.errors import HTTPError, TopologyError
from ipvs.testing.topology import _links, _whoami
from ipvs.testing.topology._links import IFNAME_MAX, sysctl
from ipvs.testing.topology._whoami import ServerHost, whoami_server

if TYPE_CHECKING:
    import ssl

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


@dataclass(frozen=True)
class Backend:
    """A backend of a :class:`Topology`: a namespace with a whoami server.

    Attributes:
        name: the name the servers answer with.
        netns: the name of the backend's network namespace (under /run/netns).
        address: the backend's address (on its ``eth0``).
        port: the port the HTTP server listens on (on every address).
        gateway: the director's address on the veth link (the backend's default route).
        link: the name of the director's end of the veth pair.
        https_port: the port of its HTTPS server, or None.
        udp_port: the port of its UDP server (it answers with the name), or None.
        dns_port: the port of its DNS server, or None.
    """

    name: str
    netns: str
    address: str
    port: int
    gateway: str
    link: str
    https_port: int | None = None
    udp_port: int | None = None
    dns_port: int | None = None

    def describe(self) -> str:
        """Describe the backend.

        Returns:
            Text such as ``"web1 10.1.1.2:8080 (netns ipvs-1a2b3c-web1)"``.
        """
        return f"{self.name} {self.address}:{self.port} (netns {self.netns})"


# --------------------------------------------------------------------------
# HTTP: a minimal client
# --------------------------------------------------------------------------


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
        self._host: ServerHost | None = None
        self._stopped: set[str] = set()
        self._dropping: set[str] = set()
        self._connections: list[Connection] = []
        self._vips: dict[str, str] = {}
        self._tls_dir: str | None = None
        self._ca: tuple[str, str] | None = None
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
        with _netns.entered(self._director_path):
            yield

    @property
    def _director_path(self) -> str:
        return f"/proc/self/fd/{self._director_fd}"

    def _check_open(self) -> None:
        if self._closed:
            raise TopologyError("the topology is closed")

    def _create_netns(self, name: str) -> None:
        _links.create_netns(name)

        def remove_netns() -> None:
            """remove the network namespace"""
            _links.remove_netns(name)

        self._cleanups.append(remove_netns)

    def _link_name(self, index: int) -> str:
        name = f"{self.prefix}-{index}"
        if len(name) > IFNAME_MAX:
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
        https_port: int | None = None,
        udp_port: int | None = None,
        dns_port: int | None = None,
    ) -> Backend:
        """Add a backend: a namespace, a veth link to the director, its servers.

        The backend's namespace is ``<prefix>-<name>``. Its end of the veth
        pair is ``eth0`` with ``address``; the director's end gets the first
        address of the same network; the backend's default route points at it.

        Args:
            name: the backend's name (letters, digits, ``-``, ``_``, ``.``);
                the servers answer with it.
            address: the backend's IPv4 address; by default ``10.1.N.2`` for
                the N-th backend (the director then has ``10.1.N.1``).
            port: the HTTP server's TCP port.
            prefixlen: the link network's prefix length.
            https_port: also serve HTTPS on this port, with a certificate for
                the name and the address signed by :attr:`ca_certificate`
                (made with the ``openssl`` command).
            udp_port: also answer UDP datagrams on this port with the name
                and a newline.
            dns_port: also answer DNS queries on this UDP port: ``A`` queries
                with the backend's address, others with no records.

        Returns:
            The backend, once its servers accept connections.

        Raises:
            TopologyError: the name is taken or invalid, the address is
                unusable, or the servers did not start.
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
        settings = [f"http={port}"]
        if https_port is not None:
            ca = self._authority()
            cert, key = _whoami.make_certificate(self._tls(), ca, name, str(iface.ip))
            settings += [f"https={https_port}", f"cert={cert}", f"key={key}"]
        if udp_port is not None:
            settings.append(f"udp={udp_port}")
        if dns_port is not None:
            settings += [f"dns={dns_port}", f"address={iface.ip}"]
        self._server_host()  # starts in the background while the links are made
        self._create_netns(nsname)
        _links.add_veth(self._director_path, link, nsname, iface, gateway)
        self._cleanups.append(self._deleter(link))
        backend = Backend(
            name=name,
            netns=nsname,
            address=str(iface.ip),
            port=port,
            gateway=str(gateway),
            link=link,
            https_port=https_port,
            udp_port=udp_port,
            dns_port=dns_port,
        )
        self._command("serve", backend.name, backend.netns, *settings)
        self.backends.append(backend)
        return backend

    def _tls(self) -> str:
        if self._tls_dir is None:
            path = tempfile.mkdtemp(prefix=f"{self.prefix}-tls-")

            def remove_certificates() -> None:
                """remove the certificates"""
                shutil.rmtree(path, ignore_errors=True)

            self._cleanups.append(remove_certificates)
            self._tls_dir = path
        return self._tls_dir

    def _authority(self) -> tuple[str, str]:
        if self._ca is None:
            self._ca = _whoami.make_ca(self._tls())
        return self._ca

    @property
    def ca_certificate(self) -> str | None:
        """The PEM file of the certificate authority that signed the HTTPS backends.

        None until a backend with ``https_port`` was added. Trust it to verify
        the backends' certificates (``ssl.create_default_context(cafile=...)``).
        """
        return self._ca[0] if self._ca is not None else None

    def _deleter(self, ifname: str) -> Callable[[], None]:
        def delete_link() -> None:
            """delete a link"""
            _links.delete_link(self._director_path, ifname)

        return delete_link

    def _server_host(self) -> ServerHost:
        if self._host is None:
            host = ServerHost(self.startup_timeout)
            self._cleanups.append(host.stop)
            self._host = host
        return self._host

    def _command(self, *words: str) -> None:
        try:
            self._server_host().command(*words)
        except TopologyError as exc:
            raise TopologyError(f"backend {words[1]}: {exc}") from None

    # -- failing and recovering ------------------------------------------------------

    def stop_backend(self, name: str) -> None:
        """Stop a backend's servers (new connections to them are refused).

        Connections accepted before stay open and are still served, as with a
        server process that stops listening.

        Args:
            name: the backend's name.

        Raises:
            KeyError: no such backend.
            TopologyError: the servers were stopped already.
        """
        self.backend(name)
        if name in self._stopped:
            raise TopologyError(f"backend {name} is stopped already")
        self._command("stop", name)
        self._stopped.add(name)

    def start_backend(self, name: str) -> None:
        """Start a stopped backend's servers again, with the same ports and settings.

        Args:
            name: the backend's name.

        Raises:
            KeyError: no such backend.
            TopologyError: the servers are running, or cannot start.
        """
        self.backend(name)
        if name not in self._stopped:
            raise TopologyError(f"backend {name} is running")
        self._command("start", name)
        self._stopped.discard(name)

    def set_http_status(self, name: str, status: int, *, path: str | None = None) -> None:
        """Make a backend's HTTP and HTTPS servers answer with another status code.

        The body is still the backend's name. ``set_http_status(name, 200)``
        restores the normal answers for every path.

        Args:
            name: the backend's name.
            status: the status code, 100..599 (e.g. 503: an application that
                is up but not ready).
            path: only requests for this path (without the query); None:
                every path, replacing earlier per-path settings.

        Raises:
            KeyError: no such backend.
            TopologyError: the status or path is invalid.
        """
        self.backend(name)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise TopologyError(f"bad HTTP status {status!r}")
        words = ["status", name, str(status)]
        if path is not None:
            if not path.startswith("/") or any(c.isspace() for c in path):
                raise TopologyError(f"bad path {path!r}")
            words.append(path)
        self._command(*words)

    def drop_packets(self, name: str) -> None:
        """Make a backend's namespace drop every packet that arrives on its link.

        An iptables rule (``-I INPUT -i eth0 -j DROP``, with the legacy
        iptables where both exist) in the backend's namespace: connections
        and queries to it time out, as with a host that died or a network
        that broke, instead of being refused.

        Args:
            name: the backend's name.

        Raises:
            KeyError: no such backend.
            TopologyError: it drops packets already, or iptables failed.
        """
        backend = self.backend(name)
        if name in self._dropping:
            raise TopologyError(f"backend {name} drops packets already")
        _links.iptables(backend.netns, "-I", "INPUT", "-i", "eth0", "-j", "DROP")
        self._dropping.add(name)

    def accept_packets(self, name: str) -> None:
        """Remove the rule of :meth:`drop_packets`: the backend is reachable again.

        Args:
            name: the backend's name.

        Raises:
            KeyError: no such backend.
            TopologyError: it does not drop packets, or iptables failed.
        """
        backend = self.backend(name)
        if name not in self._dropping:
            raise TopologyError(f"backend {name} does not drop packets")
        _links.iptables(backend.netns, "-D", "INPUT", "-i", "eth0", "-j", "DROP")
        self._dropping.discard(name)

    # -- addresses --------------------------------------------------------------------

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
        if len(dummy) > IFNAME_MAX:
            dummy = f"ipvs{self._token}-vip"
        if _links.add_dummy_address(self._director_path, dummy, text, plen):
            self._cleanups.append(self._deleter(dummy))
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

    def get(
        self,
        address: str,
        port: int = 80,
        *,
        path: str = "/",
        timeout: float = 5.0,
        tls: bool = False,
    ) -> str:
        """Do one HTTP request on a fresh TCP connection from the director namespace.

        Args:
            address: the server address (a VIP or a backend's address).
            port: the server port.
            path: the request path.
            timeout: seconds for each socket operation.
            tls: speak HTTPS, trusting only :attr:`ca_certificate` and
                checking that the certificate names ``address``.

        Returns:
            The reply body, stripped: the name of the backend that answered.

        Raises:
            HTTPError: the reply is not a 200 or is malformed.
            OSError: the connection failed (``TimeoutError`` on timeout;
                ``ssl.SSLError`` when the certificate is not trusted).
        """
        sock = self.connect(address, port, timeout=timeout)
        if tls:
            try:
                sock = self._tls_client().wrap_socket(sock, server_hostname=address)
            except BaseException:
                sock.close()
                raise
        with Connection(sock, address) as conn:
            return conn.request(path)

    def _tls_client(self) -> ssl.SSLContext:
        import ssl

        if self._ca is None:
            raise TopologyError("no backend serves HTTPS")
        return ssl.create_default_context(cafile=self._ca[0])

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
    sub.add_parser("host", help="serve the backends of a Topology on command")
    args = parser.parse_args(argv)
    if args.command == "host":
        return _whoami.host_main()
    return _whoami.serve_main(args.name, args.port, args.netns)
