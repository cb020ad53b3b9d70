"""The benchmark workload: N ClusterIP-like TCP services with E endpoints each.

Every method programs the same logical configuration, so this module renders
it once per representation: an :class:`ipvs.Table`, ``ipvsadm -R`` text,
pyroute2 request objects, kube-proxy-shaped ``iptables-restore`` text, and
prebuilt IPVS netlink messages (the floor).

Addresses: service ``i`` has the VIP ``10.96.0.0 + i + 1`` port 80 (like a
Kubernetes ClusterIP range); its endpoint ``j`` is ``10.128.0.0 + i*E + j + 1``
port 8080, forwarded in NAT (masquerade) mode with weight 1, scheduler rr.
Service 0's endpoints are 10.1.1.2 ... 10.1.E.2 instead: the traffic check
puts real backends there.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address

from ipvs import Destination, ForwardMethod, Service, Table, netlink as C, netlink as N

VIP_BASE = int(IPv4Address("10.96.0.0"))
EP_BASE = int(IPv4Address("10.128.0.0"))
SERVICE_PORT = 80
ENDPOINT_PORT = 8080
#: A replacement endpoint address range for the "change one endpoint" scenario.
SPARE_BASE = int(IPv4Address("10.64.0.0"))
POD_CIDR = "10.244.0.0/16"
MASQ_MARK = "0x4000"


def vip(i: int) -> IPv4Address:
    """Return service ``i``'s virtual IP."""
    return IPv4Address(VIP_BASE + i + 1)


def endpoint(i: int, j: int, per_service: int) -> IPv4Address:
    """Return the address of service ``i``'s endpoint ``j``.

    Service 0's endpoints are 10.1.1.2, 10.1.2.2, ...: the addresses
    :class:`ipvs.testing.topology.Topology` gives its backends, so that the
    traffic check can serve them.
    """
    if i == 0:
        return IPv4Address(f"10.1.{j + 1}.2")
    return IPv4Address(EP_BASE + i * per_service + j + 1)


def spare_endpoint(k: int) -> IPv4Address:
    """Return a replacement endpoint address, unused by the workload."""
    return IPv4Address(SPARE_BASE + k + 1)


def service(i: int) -> Service:
    """Return service ``i`` as a model object."""
    return Service.tcp(vip(i), SERVICE_PORT, scheduler="rr")


def destination(address: IPv4Address, weight: int = 1) -> Destination:
    """Return an endpoint as a NAT-mode destination."""
    return Destination(
        address=address, port=ENDPOINT_PORT, forward=ForwardMethod.MASQ, weight=weight
    )


@dataclass(frozen=True)
class Workload:
    """N services with E endpoints each."""

    services: int
    endpoints: int

    @property
    def operations(self) -> int:
        """Kernel operations for a full load: one per service and per destination."""
        return self.services * (1 + self.endpoints)

    def pairs(self) -> Iterator[tuple[Service, list[Destination]]]:
        """Yield each service with its destinations."""
        e = self.endpoints
        for i in range(self.services):
            yield service(i), [destination(endpoint(i, j, e)) for j in range(e)]

    def table(self) -> Table:
        """Return the configuration as a table."""
        return Table(self.pairs())

    def plain(self) -> list[tuple[str, list[str]]]:
        """Return each service's VIP and its endpoints as strings (API data, say)."""
        e = self.endpoints
        return [
            (str(vip(i)), [str(endpoint(i, j, e)) for j in range(e)]) for i in range(self.services)
        ]

    # -- ipvsadm -------------------------------------------------------------------

    def ipvsadm_rules(self) -> str:
        """Return the configuration as ``ipvsadm -R`` input."""
        lines: list[str] = []
        e = self.endpoints
        for i in range(self.services):
            v = f"{vip(i)}:{SERVICE_PORT}"
            lines.append(f"-A -t {v} -s rr")
            lines += [f"-a -t {v} -r {endpoint(i, j, e)}:{ENDPOINT_PORT} -m -w 1" for j in range(e)]
        return "\n".join(lines) + "\n"

    # -- floor: prebuilt messages ------------------------------------------------------

    def load_messages(self, family_id: int, first_seq: int) -> list[bytes]:
        """Encode the full load as messages without NLM_F_ACK, sequence numbers preassigned."""
        out: list[bytes] = []
        seq = first_seq
        req = N.NLM_F_REQUEST
        for svc, dests in self.pairs():
            out.append(C.encode_new_service(family_id, seq, req, svc))
            seq += 1
            nest = C.encode_service_key_nest(svc.key)
            for d in dests:
                out.append(C.encode_dest(family_id, C.Command.NEW_DEST, seq, req, nest, d))
                seq += 1
        return out

    def delete_messages(self, family_id: int, first_seq: int) -> list[bytes]:
        """Encode the deletion of every service, sequence numbers preassigned."""
        req = N.NLM_F_REQUEST
        return [
            C.encode_del_service(family_id, first_seq + i, req, service(i).key)
            for i in range(self.services)
        ]

    # -- iptables, shaped like kube-proxy's iptables mode ---------------------------------

    def iptables_restore(self) -> str:
        """Return the whole nat table as kube-proxy's iptables mode writes it."""
        return self._iptables(None)

    def iptables_partial(self, changed: int, old: IPv4Address, new: IPv4Address) -> str:
        """Return kube-proxy's partial ``--noflush`` restore after one endpoint changed.

        Service ``changed``'s endpoint ``old`` became ``new``: the service's
        KUBE-SVC chain and KUBE-SERVICES are rewritten, a KUBE-SEP chain is
        created for ``new`` and the one of ``old`` deleted, as kube-proxy
        (MinimizeIPTablesRestore) does.
        """
        return self._iptables((changed, old, new))

    def endpoint_list(self, i: int) -> list[IPv4Address]:
        """Return service ``i``'s endpoint addresses."""
        return [endpoint(i, j, self.endpoints) for j in range(self.endpoints)]

    def _iptables(self, change: tuple[int, IPv4Address, IPv4Address] | None) -> str:
        chains: list[str] = []
        rules: list[str] = []
        deleted: list[str] = []
        add_chain = chains.append
        add = rules.append
        if change is None:
            chains += [
                ":PREROUTING ACCEPT [0:0]",
                ":INPUT ACCEPT [0:0]",
                ":OUTPUT ACCEPT [0:0]",
                ":POSTROUTING ACCEPT [0:0]",
                ":KUBE-SERVICES - [0:0]",
                ":KUBE-POSTROUTING - [0:0]",
                ":KUBE-MARK-MASQ - [0:0]",
                ":KUBE-NODEPORTS - [0:0]",
            ]
            rules += [
                '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
                '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
                '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" '
                "-j KUBE-POSTROUTING",
                f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
                f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ_MARK}",
                '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic '
                'requiring SNAT" -j MASQUERADE --random-fully',
                f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ_MARK}",
            ]
        else:
            add_chain(":KUBE-SERVICES - [0:0]")
        e = self.endpoints
        for i in range(self.services):
            name = f"default/svc-{i}:http"
            svc_chain = "KUBE-SVC-" + _hash(name + "tcp")
            v = vip(i)
            match = f"-m tcp -p tcp -d {v}/32 --dport {SERVICE_PORT}"
            add(f'-A KUBE-SERVICES -m comment --comment "{name} cluster IP" {match} -j {svc_chain}')
            if change is not None and change[0] != i:
                continue  # an unchanged service: only its KUBE-SERVICES jump is rewritten
            eps = self.endpoint_list(i)
            if change is not None:
                eps = [change[2] if a == change[1] else a for a in eps]
                deleted.append("KUBE-SEP-" + _hash(f"{name}tcp{change[1]}:{ENDPOINT_PORT}"))
            add_chain(f":{svc_chain} - [0:0]")
            add(
                f'-A {svc_chain} -m comment --comment "{name} cluster IP" {match} '
                f"! -s {POD_CIDR} -j KUBE-MARK-MASQ"
            )
            sep_rules: list[str] = []
            for j, addr in enumerate(eps):
                ep = f"{addr}:{ENDPOINT_PORT}"
                sep = "KUBE-SEP-" + _hash(f"{name}tcp{ep}")
                if change is None or addr == change[2]:
                    add_chain(f":{sep} - [0:0]")
                    sep_rules += [
                        f"-A {sep} -m comment --comment {name} -s {addr}/32 -j KUBE-MARK-MASQ",
                        f"-A {sep} -m comment --comment {name} -m tcp -p tcp "
                        f"-j DNAT --to-destination {ep}",
                    ]
                left = e - j
                stat = (
                    f"-m statistic --mode random --probability {1.0 / left:0.10f} "
                    if left > 1
                    else ""
                )
                add(f'-A {svc_chain} -m comment --comment "{name} -> {ep}" {stat}-j {sep}')
            rules += sep_rules
        add(
            '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this '
            'must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
        )
        if change is not None:
            add_chain(f":{deleted[0]} - [0:0]")
            rules += [f"-X {c}" for c in deleted]
        return "*nat\n" + "\n".join(chains) + "\n" + "\n".join(rules) + "\nCOMMIT\n"

    def iptables_rule_count(self) -> int:
        """Return the number of rules the full restore creates."""
        return 7 + self.services * (1 + 1 + self.endpoints + 2 * self.endpoints) + 1


EMPTY_NAT = (
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
)


def _hash(text: str) -> str:
    """kube-proxy's chain name hash: base32 of SHA-256, first 16 characters."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def build_plain(plain: list[tuple[str, list[str]]]) -> Table:
    """Build the table from plain data, as a sync loop does every round."""
    return Table(
        [
            (
                Service.tcp(v, SERVICE_PORT, scheduler="rr"),
                [Destination(address=a, port=ENDPOINT_PORT, forward="masq", weight=1) for a in eps],
            )
            for v, eps in plain
        ]
    )
