"""The "packets still flow" check: real connections through one VIP of the loaded table.

Service 0 of the workload has its endpoints at 10.1.1.2 ... 10.1.E.2 port
8080, the addresses :class:`ipvs.testing.topology.Topology` gives its
backends: E network namespaces behind veth links, each with a whoami HTTP
server. Service 0's VIP goes on a dummy device of the director (the calling
thread's namespace, where the table is loaded), and a client there opens
connections to it; IPVS forwards them in NAT (masquerading) mode and the
answers name the backend that served each one.

Everything stays inside the sandbox guest.
"""

from __future__ import annotations

import time
from collections import Counter
from ipaddress import IPv4Address
from typing import Any

from ipvs.testing.topology import Topology


class Backends:
    """E whoami backends for service 0, with its VIP, in the calling thread's namespace."""

    def __init__(self, addresses: list[IPv4Address], port: int, vip: IPv4Address) -> None:
        self.addresses = addresses
        self.port = port
        self.vip = str(vip)
        self.topology = Topology()
        self.setup_seconds = 0.0

    def __enter__(self) -> Backends:
        start = time.perf_counter()
        try:
            for j, address in enumerate(self.addresses):
                b = self.topology.add_backend(f"ep{j}", str(address), self.port)
                if b.address != str(address):
                    raise RuntimeError(f"backend got {b.address}, wanted {address}")
            self.topology.add_vip(self.vip)
        except BaseException:
            self.topology.close()
            raise
        self.setup_seconds = time.perf_counter() - start
        return self

    def __exit__(self, *exc: object) -> None:
        self.topology.close()

    def check(self, port: int, connections: int) -> dict[str, Any]:
        """Open ``connections`` connections through the VIP; report who answered."""
        answered: Counter[str] = Counter()
        errors: list[str] = []
        start = time.perf_counter()
        for _ in range(connections):
            try:
                answered[self.topology.get(self.vip, port, timeout=3.0)] += 1
            except OSError as exc:
                errors.append(repr(exc))
        elapsed = time.perf_counter() - start
        expected = {f"ep{j}" for j in range(len(self.addresses))}
        return {
            "vip": f"{self.vip}:{port}",
            "forwarding": "NAT (masquerading)",
            "connections": connections,
            "succeeded": sum(answered.values()),
            "backends_reached": len(answered),
            "backends": len(expected),
            "by_backend": dict(sorted(answered.items())),
            "errors": errors[:5],
            "seconds_per_connection": elapsed / connections,
            "setup_seconds": self.setup_seconds,
            "ok": not errors and set(answered) == expected,
        }
