"""``ipvs run`` as a process: VIP binding, reloads, drift repair, stopping, metrics.

Each test builds a topology (backends in namespaces of their own, whoami
servers) and starts ``python -m ipvs run CONFIG`` as a subprocess, in the
test's own namespace (the director) or, with ``--netns``, in one the
topology made; it reads the daemon's log lines from its standard error.
Nothing puts the VIP on an interface but the daemon: a request that reaches
a backend through the VIP went through an address the daemon bound.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ipvs
from ipvs.testing.topology import Topology

pytest.importorskip("pyroute2")
pytest.importorskip("prometheus_client")

VIP = "100.100.100.100"
ROOT = Path(__file__).parents[2]
#: The sandbox has one slow CPU: starts and probes take longer than on a host.
START = 60.0


def config(
    backends: list[Any],
    *,
    weights: dict[str, int] | None = None,
    extra_services: str = "",
    daemon: str = "",
    checks: bool = True,
) -> str:
    weights = weights or {}
    dests = "\n".join(
        f"      - {{address: {b.address}, port: {b.port}, forward: masq, "
        f"weight: {weights.get(b.name, 1)}}}"
        for b in backends
    )
    check = (
        "    checks: [{kind: http, path: /, interval: 0.5, timeout: 2, fall: 2, rise: 2}]\n"
        if checks
        else ""
    )
    return (
        "services:\n"
        f"  - protocol: tcp\n    address: {VIP}\n    port: 80\n    scheduler: rr\n"
        f"{check}"
        f"    destinations:\n{dests}\n"
        f"{extra_services}"
        "bind: {interface: ipvs0}\n"
        f"daemon:\n  log_level: debug\n{daemon}"
    )


class Daemon:
    """``ipvs run`` in a subprocess, with its log lines collected by a thread."""

    def __init__(self, path: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ipvs", *args, "run", str(path)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._seen = 0
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.lines.append("<EOF>")
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait for a log line after the last one matched; return its match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._seen, len(self.lines)):
                    found = re.search(pattern, self.lines[i])
                    if found is not None:
                        self._seen = i + 1
                        return found
                    if self.lines[i] == "<EOF>":
                        raise AssertionError(f"the daemon ended before {pattern!r}:\n{self.log()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.log()}")
                self._cond.wait(left)

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout)
        self.close()
        return status

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    daemons: list[Daemon] = []

    def make(text: str, *args: str) -> Daemon:
        path = tmp_path / "director.yaml"
        path.write_text(text)
        daemon = Daemon(path, *args)
        daemons.append(daemon)
        daemon.wait_for(r"ipvs\.daemon: started in", START)
        return daemon

    yield make
    for daemon in daemons:
        daemon.close()


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "director.yaml").write_text(text)


def weights(client: ipvs.Client, port: int = 80) -> dict[str, int]:
    return {d.describe(): d.weight for d in client.destinations(ipvs.ServiceKey.tcp(VIP, port))}


def requests(topo: Topology, count: int, port: int = 80) -> list[str]:
    return [topo.get(VIP, port, timeout=5.0) for _ in range(count)]


def test_packets_reach_the_backends_through_the_vip_it_binds(start: Any) -> None:
    with Topology() as topo, ipvs.Client() as client:
        backends = [topo.add_backend(n) for n in ("web1", "web2")]
        with pytest.raises(OSError):
            topo.get(VIP, 80, timeout=1.0)  # no VIP yet: nowhere to go
        daemon = start(config(backends))
        assert "1 address to bind" in daemon.log()
        assert sorted(requests(topo, 4)) == ["web1", "web1", "web2", "web2"]
        assert weights(client) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 1}
        assert daemon.stop() == 0


def test_reload_changes_the_table_keeps_connections_and_health(start: Any, tmp_path: Path) -> None:
    with Topology() as topo, ipvs.Client() as client:
        backends = [topo.add_backend(n) for n in ("web1", "web2", "web3")]
        daemon = start(config(backends[:2]))
        held = [topo.hold(VIP, 80) for _ in range(2)]
        served = {conn.request() for conn in held}
        assert served == {"web1", "web2"}
        topo.stop_backend("web2")
        daemon.wait_for(r"10\.1\.2\.2:8080 down", 15)
        daemon.wait_for(r"ipvs\.health: applied 1 operations", 15)
        assert weights(client) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 0}
        # a new backend, a new weight, a new service on another port
        write(
            tmp_path,
            config(
                backends,
                weights={"web1": 3},
                extra_services=(
                    f"  - {{protocol: tcp, address: {VIP}, port: 8000, scheduler: rr,\n"
                    f"     destinations: [{{address: 10.1.3.2, port: 8080, forward: masq}}]}}\n"
                ),
            ),
        )
        daemon.signal(signal.SIGHUP)
        found = daemon.wait_for(r"reloaded .* in ([0-9.]+) s: .* Plan: (.*)", 30)
        assert found.group(2) == "3 to add, 1 to change, 0 to delete."
        # web2 is still down: its check stayed, so did its state (no flap to weight 1)
        assert weights(client) == {"10.1.1.2:8080": 3, "10.1.2.2:8080": 0, "10.1.3.2:8080": 1}
        assert "10.1.2.2:8080 up" not in daemon.log()
        assert requests(topo, 1, port=8000) == ["web3"]
        # the connections made before the reload are served by the same backends
        web1 = next(c for c in held if c.request() == "web1")
        assert web1.request() == "web1"
        topo.start_backend("web2")
        daemon.wait_for(r"10\.1\.2\.2:8080 up", 15)
        assert daemon.stop() == 0


def test_a_bad_reload_is_refused_and_the_table_kept(start: Any, tmp_path: Path) -> None:
    with Topology() as topo, ipvs.Client() as client:
        backends = [topo.add_backend(n) for n in ("web1", "web2")]
        daemon = start(config(backends))
        before = client.snapshot()
        write(tmp_path, config(backends).replace("scheduler: rr", "scheduler: rr\n    wieght: 2"))
        daemon.signal(signal.SIGHUP)
        line = daemon.wait_for(r"ERROR ipvs\.daemon: reload refused.*", 15).group(0)
        assert f"kept: {tmp_path / 'director.yaml'}: services[0]: unknown key(s) wieght" in line
        # a file the kernel refuses: rolled back, also one line
        write(tmp_path, config(backends).replace("scheduler: rr", "scheduler: nosuch"))
        daemon.signal(signal.SIGHUP)
        line = daemon.wait_for(r"ERROR ipvs\.daemon: reload failed.*", 15).group(0)
        assert "scheduler or persistence engine not found" in line
        assert client.snapshot() == before
        assert sorted(requests(topo, 2)) == ["web1", "web2"]
        assert daemon.stop() == 0
        log = daemon.log()
        assert log.count("reload refused") == 1 and log.count("reload failed") == 1
        assert "Traceback" not in log


def test_drift_is_repaired_within_the_resync_period(start: Any) -> None:
    with Topology() as topo, ipvs.Client() as client:
        backends = [topo.add_backend(n) for n in ("web1", "web2")]
        daemon = start(config(backends, checks=False, daemon="  resync: 1\n"))
        other = ipvs.Service.tcp("10.99.0.1", 80)
        client.add_service(other)  # another writer's service: outside the daemon's scope
        service = ipvs.ServiceKey.tcp(VIP, 80)
        deleted = time.monotonic()
        client.delete_destination(service, ipvs.Destination(address="10.1.2.2", port=8080))
        while "10.1.2.2:8080" not in weights(client):
            assert time.monotonic() - deleted < 1.0 + 5.0, daemon.log()
            time.sleep(0.05)
        repaired = time.monotonic() - deleted
        daemon.wait_for(r"resync in [0-9.]+ s repaired drift made by others", 5)
        assert weights(client) == {"10.1.1.2:8080": 1, "10.1.2.2:8080": 1}
        assert other.key in client.snapshot()
        # an address removed from its interface comes back too
        subprocess.run(["ip", "addr", "del", f"{VIP}/32", "dev", "ipvs0"], check=True)
        daemon.wait_for(r"resync in [0-9.]+ s repaired drift.*1 address to bind", 5)
        assert sorted(requests(topo, 2)) == ["web1", "web2"]
        assert daemon.stop() == 0
        print(f"drift repaired {repaired:.2f} s after the deletion (resync period 1 s)")


@pytest.mark.parametrize("on_stop", ["keep", "remove"])
def test_sigterm_leaves_or_removes_what_it_made(
    start: Any, on_stop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    with systemd, Topology(own_director=True) as topo:
        backends = [topo.add_backend(n) for n in ("web1", "web2")]
        with ipvs.Client(netns=topo.director_netns) as client:
            other = ipvs.Service.udp("10.99.0.1", 53)
            client.add_service(other)
            daemon = start(
                config(backends, daemon=f"  on_stop: {on_stop}\n"), "--netns", topo.director_netns
            )
            assert sorted(requests(topo, 2)) == ["web1", "web2"]
            assert systemd.recv(4096).startswith(b"READY=1\nSTATUS=1 services, 2 destinations")
            assert daemon.stop() == 0
            assert systemd.recv(4096) == b"STOPPING=1"
            assert "stopped:" in daemon.log()
            table = client.snapshot()
        links = subprocess.run(
            ["ip", "-n", topo.director_netns, "-br", "addr", "show", "dev", "ipvs0"],
            capture_output=True,
            text=True,
            check=False,
        )
        if on_stop == "keep":
            assert set(table) == {other.key, ipvs.ServiceKey.tcp(VIP, 80)}
            assert f"{VIP}/32" in links.stdout
            assert sorted(requests(topo, 2)) == ["web1", "web2"]  # still served
        else:
            assert set(table) == {other.key}  # only what it made is gone
            assert links.returncode != 0  # the interface is gone too


def _ipvsadm_stats() -> dict[tuple[str, str], list[int]]:
    """``ipvsadm -Ln --stats --exact``: (service, destination or '') -> the five counters."""
    out = subprocess.run(
        ["ipvsadm", "-Ln", "--stats", "--exact"], capture_output=True, text=True, check=True
    ).stdout
    stats: dict[tuple[str, str], list[int]] = {}
    service = ""
    for line in out.splitlines()[3:]:
        fields = line.split()
        if fields[0] == "->":
            stats[(service, fields[1])] = [int(f) for f in fields[2:7]]
        else:
            service = f"{fields[0]} {fields[1]}"
            stats[(service, "")] = [int(f) for f in fields[2:7]]
    return stats


def _settled_stats(timeout: float = 15.0) -> dict[tuple[str, str], list[int]]:
    """ipvsadm's counters once the kernel has counted the traffic.

    The kernel sums its per-CPU counters every two seconds (its estimator):
    what ipvsadm and the metrics show lags that much. Wait for two reads a
    summing apart that agree, with every connection counted.
    """
    deadline = time.monotonic() + timeout
    before = _ipvsadm_stats()
    while True:
        time.sleep(2.2)
        now = _ipvsadm_stats()
        if now == before and now[(f"TCP {VIP}:80", "")][0] == 10:
            return now
        assert time.monotonic() < deadline, f"the counters did not settle: {now}"
        before = now


def _scrape(port: int) -> tuple[str, float]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as reply:
        text = reply.read().decode()
    return text, time.perf_counter() - started


def test_metrics_are_scraped_over_http_and_match_ipvsadm(start: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with Topology() as topo:
        backends = [topo.add_backend(n) for n in ("web1", "web2")]
        daemon = start(config(backends, daemon="  metrics: {listen: '127.0.0.1:9475'}\n"))
        daemon_line = next(line for line in daemon.lines if "metrics on" in line)
        assert "metrics on 127.0.0.1:9475" in daemon_line
        requests(topo, 10)
        topo.stop_backend("web2")
        daemon.wait_for(r"10\.1\.2\.2:8080 down", 15)
        daemon.wait_for(r"ipvs\.health: applied 1 operations", 15)
        expected = _settled_stats()
        text, seconds = _scrape(9475)
        metrics: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                metrics.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                    sample.value
                )
        assert _ipvsadm_stats() == expected  # nothing moved while scraping
        names = [
            "connections_total",
            "incoming_packets_total",
            "outgoing_packets_total",
            "incoming_bytes_total",
            "outgoing_bytes_total",
        ]
        service = (
            ("local_address", VIP),
            ("local_mark", ""),
            ("local_port", "80"),
            ("proto", "TCP"),
        )
        assert [metrics[f"ipvs_service_{n}"][service] for n in names] == expected[
            (f"TCP {VIP}:80", "")
        ]
        for b in backends:
            labels = tuple(
                sorted(
                    {
                        **dict(service),
                        "remote_address": b.address,
                        "remote_port": str(b.port),
                    }.items()
                )
            )
            counters = [metrics[f"ipvs_backend_{n}"][labels] for n in names]
            assert counters == expected[(f"TCP {VIP}:80", f"{b.address}:{b.port}")]
            assert metrics["node_ipvs_backend_weight"][labels] == (1 if b.name == "web1" else 0)
            assert metrics["ipvs_backend_up"][labels] == (1 if b.name == "web1" else 0)
        # the namespace's totals, as node_exporter reads them
        assert metrics["node_ipvs_connections_total"][()] == 10
        assert metrics["node_ipvs_incoming_packets_total"][()] == expected[(f"TCP {VIP}:80", "")][1]
        assert metrics["ipvs_applies_total"][()] >= 2  # the start, web2 down
        assert metrics["ipvs_apply_duration_seconds_count"][()] == metrics["ipvs_applies_total"][()]
        assert metrics["ipvs_service_quorum"][service] == 1
        # the same once from the command line
        once = subprocess.run(
            [sys.executable, "-m", "ipvs", "stats", "--prometheus"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
        assert "\nnode_ipvs_connections_total 10\n" in once
        assert "ipvs_applies_total" not in once  # no director there
        assert daemon.stop() == 0
        print(f"one scrape of 1 service x 2: {seconds * 1000:.1f} ms")
