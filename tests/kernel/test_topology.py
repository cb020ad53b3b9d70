"""The topology helper: backends in namespaces, a VIP, traffic, and cleanup."""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time

import pytest

import ipvs
from ipvs.testing.topology import HTTPError, Topology, TopologyError, sysctl

NETNS_DIR = "/run/netns"


def _netns_with(prefix: str) -> list[str]:
    if not os.path.isdir(NETNS_DIR):
        return []
    return [name for name in os.listdir(NETNS_DIR) if name.startswith(prefix)]


def _links() -> set[str]:
    return {name for _index, name in socket.if_nameindex()}


def test_backends_answer_directly_with_their_names() -> None:
    with Topology() as topo:
        web1 = topo.add_backend("web1")
        web2 = topo.add_backend("web2", port=8081)
        assert (web1.address, web1.gateway, web1.port) == ("10.1.1.2", "10.1.1.1", 8080)
        assert (web2.address, web2.gateway, web2.port) == ("10.1.2.2", "10.1.2.1", 8081)
        assert web1.netns == f"{topo.prefix}-web1"
        assert topo.get(web1.address, web1.port) == "web1"
        assert topo.get(web2.address, web2.port) == "web2"
        assert topo.backend("web2") == web2


def test_close_removes_namespaces_links_and_servers() -> None:
    before = _links()
    with Topology() as topo:
        topo.add_backend("a")
        topo.add_backend("b")
        topo.add_vip("100.100.100.100")
        held = topo.hold("10.1.1.2", 8080)
        assert held.request() == "a"
        names = topo.netns_names
        assert sorted(_netns_with(topo.prefix)) == sorted(names)
        assert len(_links() - before) == 3  # two veth ends and the dummy
        host = topo._host
        assert host is not None
    assert _netns_with(topo.prefix) == []
    assert _links() == before
    assert host.proc.returncode == 0
    assert held.socket.fileno() == -1  # closed by the topology


def test_unique_prefix_per_topology() -> None:
    with Topology() as one, Topology() as two:
        assert one.prefix != two.prefix


def test_failure_while_building_cleans_up() -> None:
    before = _links()
    with pytest.raises(TopologyError, match="backend bad"), Topology() as topo:
        topo.add_backend("ok")
        topo.add_backend("bad", port=70000)  # the server cannot bind it
    assert _netns_with(topo.prefix) == []
    assert _links() == before


def test_bad_names_and_addresses_are_refused() -> None:
    with Topology() as topo:
        with pytest.raises(TopologyError, match="bad backend name"):
            topo.add_backend("no/slash")
        with pytest.raises(TopologyError, match="bad backend address"):
            topo.add_backend("x", address="10.1.1.300")
        with pytest.raises(TopologyError, match="no address for the director"):
            topo.add_backend("x", address="10.9.9.1")
        topo.add_backend("x")
        with pytest.raises(TopologyError, match="exists already"):
            topo.add_backend("x")
        with pytest.raises(TopologyError, match="bad VIP"):
            topo.add_vip("nope")


def test_rr_vip_alternates_between_two_backends() -> None:
    with Topology() as topo, ipvs.Client() as client:
        backends = [topo.add_backend("web1"), topo.add_backend("web2")]
        vip = topo.add_vip("100.100.100.100")
        service = ipvs.Service.tcp(vip, 80, scheduler="rr")
        dests = [ipvs.Destination(address=b.address, port=b.port, forward="masq") for b in backends]
        client.apply(ipvs.Table([(service, dests)]))
        replies = [topo.get(vip, 80) for _ in range(6)]
        assert set(replies) == {"web1", "web2"}
        assert all(a != b for a, b in itertools.pairwise(replies))


def test_held_connection_is_active_and_keeps_its_backend() -> None:
    with Topology() as topo, ipvs.Client() as client:
        web = topo.add_backend("web")
        vip = topo.add_vip("10.200.0.1")
        service = ipvs.Service.tcp(vip, 80, scheduler="rr")
        dest = ipvs.Destination(address=web.address, port=web.port, forward="masq")
        client.apply(ipvs.Table([(service, [dest])]))
        with topo.hold(vip, 80) as held:
            assert held.request() == "web"
            assert held.request() == "web"  # keep-alive: the same connection
            (live,) = client.destinations(service.key)
            assert live.active_connections == 1


def test_own_director_leaves_the_callers_namespace_alone() -> None:
    before = _links()
    with Topology(own_director=True) as topo:
        web = topo.add_backend("web")
        vip = topo.add_vip("100.100.100.100")
        assert _links() == before
        assert topo.director_netns == f"{topo.prefix}-director"
        with ipvs.Client(netns=topo.director_netns) as client:
            service = ipvs.Service.tcp(vip, 80, scheduler="rr")
            dest = ipvs.Destination(address=web.address, port=web.port, forward="masq")
            client.apply(ipvs.Table([(service, [dest])]))
            assert topo.get(vip, 80) == "web"
        with ipvs.Client() as mine:
            assert len(mine.snapshot()) == 0
    assert _netns_with(topo.prefix) == []


def test_stop_backend_refuses_new_connections() -> None:
    with Topology() as topo:
        web = topo.add_backend("web")
        assert topo.get(web.address, web.port) == "web"
        topo.stop_backend("web")
        with pytest.raises(ConnectionRefusedError):
            topo.get(web.address, web.port, timeout=2.0)
        with pytest.raises(TopologyError, match="stopped already"):
            topo.stop_backend("web")


def test_sysctl_is_per_namespace() -> None:
    with Topology() as topo:
        web = topo.add_backend("web")
        mine = sysctl("net.ipv4.ip_forward")
        assert sysctl("net.ipv4.ip_forward", 1, netns=web.netns) == "1"
        assert sysctl("net.ipv4.ip_forward") == mine
        with pytest.raises(TopologyError, match="not per network namespace"):
            sysctl("kernel.hostname", netns=web.netns)


def test_closed_topology_refuses_use() -> None:
    topo = Topology()
    topo.close()
    topo.close()  # idempotent
    with pytest.raises(TopologyError, match="closed"):
        topo.add_backend("late")


def test_a_stopped_backend_starts_again_on_the_same_port() -> None:
    with Topology() as topo:
        web = topo.add_backend("web", udp_port=9000)
        topo.stop_backend("web")
        with pytest.raises(ConnectionRefusedError):
            topo.get(web.address, web.port, timeout=2.0)
        topo.start_backend("web")
        assert topo.get(web.address, web.port) == "web"
        assert _udp(topo, web.address, 9000, b"who?") == b"web\n"
        with pytest.raises(TopologyError, match="is running"):
            topo.start_backend("web")
        with pytest.raises(KeyError):
            topo.start_backend("nobody")


def test_http_status_for_every_path_or_one_path() -> None:
    with Topology() as topo:
        web = topo.add_backend("web")
        topo.set_http_status("web", 503, path="/healthz")
        assert topo.get(web.address, web.port, path="/") == "web"
        with pytest.raises(HTTPError, match="503"):
            topo.get(web.address, web.port, path="/healthz")
        topo.set_http_status("web", 500)
        with pytest.raises(HTTPError, match="500"):
            topo.get(web.address, web.port, path="/")
        with pytest.raises(HTTPError, match="500"):
            topo.get(web.address, web.port, path="/healthz?x=1")
        topo.set_http_status("web", 200)  # every path, replacing the per-path setting
        assert topo.get(web.address, web.port, path="/healthz") == "web"
        with pytest.raises(TopologyError, match="bad HTTP status"):
            topo.set_http_status("web", 700)
        with pytest.raises(TopologyError, match="bad path"):
            topo.set_http_status("web", 503, path="healthz")


def test_dropped_packets_time_out_until_accepted_again() -> None:
    with Topology() as topo:
        web = topo.add_backend("web")
        topo.drop_packets("web")
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            topo.get(web.address, web.port, timeout=0.5)
        assert time.monotonic() - started >= 0.5  # silence, not a refusal
        with pytest.raises(TopologyError, match="drops packets already"):
            topo.drop_packets("web")
        topo.accept_packets("web")
        assert topo.get(web.address, web.port) == "web"
        with pytest.raises(TopologyError, match="does not drop packets"):
            topo.accept_packets("web")


def test_https_backends_are_certified_by_the_topology_authority() -> None:
    import ssl

    with Topology() as topo:
        assert topo.ca_certificate is None
        web = topo.add_backend("web", https_port=8443)
        assert topo.ca_certificate is not None
        assert topo.get(web.address, 8443, tls=True) == "web"
        topo.set_http_status("web", 503)
        with pytest.raises(HTTPError, match="503"):
            topo.get(web.address, 8443, tls=True)
        # not trusted without the authority
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(
                topo.connect(web.address, 8443), server_hostname=web.address
            )
    assert not os.path.exists(topo.ca_certificate)


def _udp(topo: Topology, address: str, port: int, payload: bytes) -> bytes:
    with topo.director():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        sock.settimeout(2.0)
        sock.connect((address, port))
        sock.send(payload)
        return sock.recv(4096)


def test_udp_and_dns_servers_answer_with_the_backend() -> None:
    with Topology() as topo:
        web = topo.add_backend("web", udp_port=9000, dns_port=5353)
        assert (web.udp_port, web.dns_port) == (9000, 5353)
        assert _udp(topo, web.address, 9000, b"ping") == b"web\n"
        # an A query for example.test: id 0x1234, recursion desired
        query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        query += b"\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
        reply = _udp(topo, web.address, 5353, query)
        ident, flags, qd, an = struct.unpack_from("!HHHH", reply)
        assert (ident, flags & 0x800F, qd, an) == (0x1234, 0x8000, 1, 1)
        assert socket.inet_ntoa(reply[-4:]) == web.address
        topo.stop_backend("web")
        with pytest.raises(ConnectionRefusedError):  # ICMP port unreachable
            _udp(topo, web.address, 5353, query)
