"""kube-proxy's nftables mode, rendered as ``nft -f`` input for the benchmark workload.

The same N TCP ClusterIP services x E endpoints as every other method
(addresses and ports from :mod:`benchmarks.workload`), written the way
kube-proxy's nftables proxier writes them through knftables, which runs one
``nft -f -`` per transaction. Each function returns the text of one
transaction, one knftables operation per line.

What was mirrored (read in kubernetes/kubernetes and kubernetes-sigs/knftables;
file and line references in ``/work/notes/nft.md``):

* ``pkg/proxy/nftables/proxier_test.go`` (commit 81810de6, the newest version
  read): the expected ruleset of a full sync (``baseRules``: base chains,
  their hooks and priorities, the jump rules, sets and maps with their types
  and comments) and ``TestSyncProxyRulesRepeated``'s partial syncs and their
  operation counts (an endpoint change is ``4E + 5`` operations; a sync with
  nothing to do is an empty transaction).
* ``pkg/proxy/nftables/proxier.go`` (commit b0f823e6): the order of the
  operations in a transaction (``setupNFTables``, ``syncProxyRules``,
  ``writeServiceToEndpointRules``), ``ensureChain`` (every chain written is
  added, then flushed), stale chains (flushed at once, deleted a second
  later in a separate transaction), chain names (``hashAndTruncate``:
  base32 of SHA-256, 8 characters, then the name), and the per-service
  rules: a ``service-HASH-ns/name/tcp/port`` chain reached through the
  ``service-ips`` verdict map (``ipv4_addr . inet_proto . inet_service``),
  marking off-cluster sources for masquerade, then ``numgen random mod E
  vmap``; an ``endpoint-HASH-ns/name/tcp/port__ip/port`` chain per
  endpoint marking hairpin traffic and doing ``dnat to``.
* ``pkg/proxy/endpointslicecache.go``: a service's endpoints are sorted by
  their ``ip:port`` string, which fixes the vmap indices.
* knftables ``objects.go``: the text of each operation, base chain
  priorities written as numbers.

kube-proxy puts no ``counter`` on any rule, so neither does this module.

Simplified or fixed here: IPv4 only (kube-proxy runs a second proxier for an
``ip6 kube-proxy`` table); one namespace (``default``), service ``svc-<i>``
with one port named ``http``, as in the iptables renderer; no NodePorts,
external IPs, load balancers, session affinity or traffic policies (so no
``external-``, ``local-``, ``firewall-`` or ``affinity-`` objects and no
``no-endpoint-*`` elements); ``--nodeport-addresses`` is the node's primary
address (:data:`NODE_IP`, kube-proxy's default in nftables mode: a
``nodeport-ips`` set rather than ``fib daddr type local``); the service CIDR
is :data:`SERVICE_CIDR`. Element comments are only written for
``no-endpoint-*`` maps by kube-proxy, so there are none here.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

from benchmarks.workload import (
    ENDPOINT_PORT,
    MASQ_MARK,
    POD_CIDR,
    SERVICE_PORT,
    Workload,
    vip,
)

__all__ = [
    "FAMILY",
    "LIST_ARGV",
    "MODULES",
    "NODE_IP",
    "SERVICE_CIDR",
    "TABLE",
    "Counts",
    "delete_all",
    "endpoint_chain",
    "endpoint_change",
    "expected_counts",
    "full_resync",
    "full_ruleset",
    "noop_resync",
    "operations",
    "remove_all_services",
    "service_chain",
    "stale_chain_cleanup",
]

FAMILY = "ip"
TABLE = "kube-proxy"
NAMESPACE = "default"
PORT_NAME = "http"
PROTOCOL = "tcp"
#: The cluster's service CIDR (kubeadm's default; every workload VIP is in it).
SERVICE_CIDR = "10.96.0.0/12"
#: The node's primary address: the one element of ``nodeport-ips``.
NODE_IP = "192.168.0.2"
#: What kube-proxy runs before every sync to learn the table's chains and sets
#: (knftables ``ListAll``): a full listing, whatever changed.
LIST_ARGV = ("nft", "--json", "--terse", "list", "table", FAMILY, TABLE)
#: Kernel modules the rendered transactions need (the sandbox cannot load
#: modules on demand; dependencies such as nf_nat follow from modules.dep).
MODULES = (
    "nf_tables",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_numgen",
    "nft_ct",
    "nft_reject_ipv4",
    "nft_fib_ipv4",
)

_T = f"{FAMILY} {TABLE}"

# Base chains: name, type, hook, priority (knftables writes the number:
# dstnat = -100, filter = 0, srcnat = 100).
_BASE_CHAINS = (
    ("filter-prerouting-pre-dnat", "filter", "prerouting", -110),
    ("filter-output-pre-dnat", "filter", "output", -110),
    ("filter-input", "filter", "input", 0),
    ("filter-forward", "filter", "forward", 0),
    ("filter-output", "filter", "output", 0),
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
)

# Regular chains jumped to from base chains: (target, base chain, condition).
_JUMPS = (
    ("nodeport-endpoints-check", "filter-input", "ct state new "),
    ("service-endpoints-check", "filter-input", "ct state new "),
    ("service-endpoints-check", "filter-forward", "ct state new "),
    ("service-endpoints-check", "filter-output", "ct state new "),
    ("firewall-check", "filter-prerouting-pre-dnat", "ct state new "),
    ("firewall-check", "filter-output-pre-dnat", "ct state new "),
    ("services", "nat-output", ""),
    ("services", "nat-prerouting", ""),
    ("masquerading", "nat-postrouting", ""),
    ("cluster-ips-check", "filter-forward", "ct state new "),
    ("cluster-ips-check", "filter-output", "ct state new "),
)

_DISPATCH_KEY = "ipv4_addr . inet_proto . inet_service"
_MAPS = {
    "firewall-ips": (
        f"{_DISPATCH_KEY} : verdict",
        "destinations that are subject to LoadBalancerSourceRanges",
    ),
    "no-endpoint-services": (
        f"{_DISPATCH_KEY} : verdict",
        "vmap to drop or reject packets to services with no endpoints",
    ),
    "no-endpoint-nodeports": (
        "inet_proto . inet_service : verdict",
        "vmap to drop or reject packets to service nodeports with no endpoints",
    ),
    "service-ips": (
        f"{_DISPATCH_KEY} : verdict",
        "ClusterIP, ExternalIP and LoadBalancer IP traffic",
    ),
    "service-nodeports": ("inet_proto . inet_service : verdict", "NodePort traffic"),
}
# The sets and maps a full sync resets (knftables flush), in kube-proxy's order.
_CONTAINERS = (
    ("set", "cluster-ips"),
    ("map", "service-ips"),
    ("map", "firewall-ips"),
    ("map", "no-endpoint-services"),
    ("map", "no-endpoint-nodeports"),
    ("map", "service-nodeports"),
)

_FIXED_CHAINS = len(_BASE_CHAINS) + 8  # + the regular chains of the setup
_FIXED_RULES = 23


# -- names -----------------------------------------------------------------------------


def _hashed(name: str) -> str:
    """kube-proxy's ``hashAndTruncate``: 8 characters of base32(SHA-256), a dash, the name."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    out = f"{digest[:8]}-{name}"
    limit = 256 - 16  # knftables.NameLengthMax minus the longest prefix
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _service_base(i: int) -> str:
    return f"{NAMESPACE}/svc-{i}/{PROTOCOL}/{PORT_NAME}"


def service_chain(i: int) -> str:
    """Return service ``i``'s chain, e.g. ``service-XXXXXXXX-default/svc-0/tcp/http``."""
    return "service-" + _hashed(_service_base(i))


def endpoint_chain(i: int, address: IPv4Address, port: int = ENDPOINT_PORT) -> str:
    """Return the chain of service ``i``'s endpoint ``address:port``.

    For example ``endpoint-XXXXXXXX-default/svc-0/tcp/http__10.1.1.2/8080``.
    """
    return "endpoint-" + _hashed(f"{_service_base(i)}__{address}/{port}")


def _sorted_endpoints(addresses: Iterable[IPv4Address]) -> list[IPv4Address]:
    # kube-proxy orders a service's endpoints by their "ip:port" string.
    return sorted(addresses, key=lambda a: f"{a}:{ENDPOINT_PORT}")


# -- pieces ------------------------------------------------------------------------------


def _ensure_chain(out: list[str], name: str) -> None:
    out.append(f"add chain {_T} {name}")
    out.append(f"flush chain {_T} {name}")


def _service_ops(out: list[str], i: int, endpoints: list[IPv4Address], elements: bool) -> None:
    """One service as a sync that writes it: chains, then elements, then rules."""
    svc = service_chain(i)
    eps = [(a, endpoint_chain(i, a)) for a in _sorted_endpoints(endpoints)]
    for _addr, chain in eps:
        _ensure_chain(out, chain)
    _ensure_chain(out, svc)
    v = vip(i)
    if elements:
        out.append(f"add element {_T} cluster-ips {{ {v} }}")
        out.append(
            f"add element {_T} service-ips {{ {v} . {PROTOCOL} . {SERVICE_PORT} : goto {svc} }}"
        )
    out.append(f"add rule {_T} {svc} ip daddr {v} ip saddr != {POD_CIDR} jump mark-for-masquerade")
    vmap = " , ".join(f"{k} : goto {chain}" for k, (_a, chain) in enumerate(eps))
    out.append(f"add rule {_T} {svc} numgen random mod {len(eps)} vmap {{ {vmap} }}")
    for addr, chain in eps:
        out.append(f"add rule {_T} {chain} ip saddr {addr} jump mark-for-masquerade")
        out.append(f"add rule {_T} {chain} meta l4proto {PROTOCOL} dnat to {addr}:{ENDPOINT_PORT}")


def _setup_ops(out: list[str], *, first_sync: bool, reset: bool, node_ip: str | None) -> None:
    """kube-proxy's ``setupNFTables``: the table and everything not per service."""
    out.append(f'add table {_T} {{ comment "rules for kube-proxy" ; }}')
    if first_sync:
        # Once per process: re-create the base chains, so that changed
        # properties (such as priorities) of an older kube-proxy's chains apply.
        for name, *_ in _BASE_CHAINS:
            out.append(f"add chain {_T} {name}")
            out.append(f"delete chain {_T} {name}")
    for name, kind, hook, priority in _BASE_CHAINS:
        out.append(f"add chain {_T} {name} {{ type {kind} hook {hook} priority {priority} ; }}")
        out.append(f"flush chain {_T} {name}")
    created: set[str] = set()
    for target, base, condition in _JUMPS:
        if target not in created:
            created.add(target)
            _ensure_chain(out, target)
        out.append(f"add rule {_T} {base} {condition}jump {target}")
    for name in ("services", "cluster-ips-check", "masquerading", "mark-for-masquerade"):
        if name not in created:
            created.add(name)
            _ensure_chain(out, name)
    out.append(f"add rule {_T} mark-for-masquerade mark set mark or {MASQ_MARK}")
    out.append(f"add rule {_T} masquerading mark and {MASQ_MARK} == 0 return")
    out.append(f"add rule {_T} masquerading mark set mark xor {MASQ_MARK}")
    out.append(f"add rule {_T} masquerading masquerade fully-random")
    out.append(f'add set {_T} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}')
    out.append(
        f"add rule {_T} cluster-ips-check ip daddr @cluster-ips reject"
        ' comment "Reject traffic to invalid ports of ClusterIPs"'
    )
    out.append(
        f"add rule {_T} cluster-ips-check ip daddr {{ {SERVICE_CIDR} }} drop"
        ' comment "Drop traffic to unallocated ClusterIPs"'
    )
    out.append(
        f"add set {_T} nodeport-ips"
        ' { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }'
    )
    if node_ip is None:
        out.append(f"delete set {_T} nodeport-ips")
    else:
        out.append(f"flush set {_T} nodeport-ips")
        out.append(f"add element {_T} nodeport-ips {{ {node_ip} }}")
    for name in ("no-endpoint-services", "no-endpoint-nodeports"):
        _add_map(out, name)
    out.append(
        f"add chain {_T} reject-chain"
        ' { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }'
    )
    out.append(f"flush chain {_T} reject-chain")
    out.append(f"add rule {_T} reject-chain reject")
    out.append(
        f"add rule {_T} service-endpoints-check"
        " ip daddr . meta l4proto . th dport vmap @no-endpoint-services"
    )
    if node_ip is None:
        out.append(
            f"add rule {_T} nodeport-endpoints-check"
            " ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports"
        )
    else:
        out.append(
            f"add rule {_T} nodeport-endpoints-check"
            " ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"
        )
    _add_map(out, "firewall-ips")
    out.append(
        f"add rule {_T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips"
    )
    _add_map(out, "service-ips")
    _add_map(out, "service-nodeports")
    out.append(f"add rule {_T} services ip daddr . meta l4proto . th dport vmap @service-ips")
    local = (
        "fib daddr type local ip daddr != 127.0.0.0/8"
        if node_ip is None
        else "ip daddr @nodeport-ips"
    )
    out.append(f"add rule {_T} services {local} meta l4proto . th dport vmap @service-nodeports")
    if reset:
        for kind, name in _CONTAINERS:
            out.append(f"flush {kind} {_T} {name}")


def _add_map(out: list[str], name: str) -> None:
    kind, comment = _MAPS[name]
    out.append(f'add map {_T} {name} {{ type {kind} ; comment "{comment}" ; }}')


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


# -- the transactions ------------------------------------------------------------------


def full_ruleset(wl: Workload, *, first_sync: bool = True, node_ip: str | None = NODE_IP) -> str:
    """Return kube-proxy's first full sync into an empty kernel: the whole ruleset.

    Args:
        wl: the services and endpoints.
        first_sync: include the once-per-process re-creation of the base
            chains (``add chain`` + ``delete chain`` of each), as a starting
            kube-proxy sends.
        node_ip: the address NodePorts are accepted on; None renders
            ``--nodeport-addresses`` matching everything (``fib daddr type
            local``, which needs nft_fib_ipv4).

    Returns:
        One transaction (``nft -f`` input).
    """
    out: list[str] = []
    _setup_ops(out, first_sync=first_sync, reset=True, node_ip=node_ip)
    for i in range(wl.services):
        _service_ops(out, i, wl.endpoint_list(i), elements=True)
    return _text(out)


def full_resync(wl: Workload, *, node_ip: str | None = NODE_IP) -> str:
    """Return the periodic full sync over a kernel that already holds the same rules.

    kube-proxy also does a full sync about once an hour. Since kubernetes
    PR 130119 it reads the sets, maps and chains back first and rewrites only
    the setup and every service chain: existing endpoint chains and elements
    are skipped (``TestSyncProxyRulesStartup``). The exact handling of the
    set and map contents is rendered here as "read back, nothing to do"
    (no flush).

    Args:
        wl: the services and endpoints.
        node_ip: as for :func:`full_ruleset`.

    Returns:
        One transaction.
    """
    out: list[str] = []
    _setup_ops(out, first_sync=False, reset=False, node_ip=node_ip)
    for i in range(wl.services):
        svc = service_chain(i)
        eps = [endpoint_chain(i, a) for a in _sorted_endpoints(wl.endpoint_list(i))]
        _ensure_chain(out, svc)
        out.append(
            f"add rule {_T} {svc} ip daddr {vip(i)} ip saddr != {POD_CIDR} jump mark-for-masquerade"
        )
        vmap = " , ".join(f"{k} : goto {chain}" for k, chain in enumerate(eps))
        out.append(f"add rule {_T} {svc} numgen random mod {len(eps)} vmap {{ {vmap} }}")
    return _text(out)


def endpoint_change(wl: Workload, service: int, old: IPv4Address, new: IPv4Address) -> str:
    """Return kube-proxy's partial sync after one endpoint of one service was replaced.

    Service ``service``'s endpoint ``old`` becomes ``new``; its other
    endpoints are the workload's. Either ``old`` is one of the workload's
    endpoints (the change away from the workload), or ``new`` is and ``old``
    is the stand-in a previous call brought in (the change back), so that
    alternating ``(a, b)`` and ``(b, a)`` swaps an endpoint back and forth.

    Only that service is rewritten: every one of its endpoint chains and its
    service chain is added and flushed and gets its rules again, and the
    chain of ``old`` is flushed (it is deleted a second later, in another
    transaction: :func:`stale_chain_cleanup`). No set or map element changes:
    ``service-ips`` still points at the same service chain. That is
    ``4 E + 5`` operations whatever N is.

    Args:
        wl: the services and endpoints.
        service: the service's index.
        old: the endpoint address that goes.
        new: the endpoint address that comes.

    Returns:
        One transaction.

    Raises:
        ValueError: neither ``old`` nor ``new`` is one of the service's
            endpoints, or both are.
    """
    current = wl.endpoint_list(service)
    if (old in current) == (new in current):
        raise ValueError(f"cannot replace {old} by {new} in service {service}'s endpoints")
    after = [new if a == old else a for a in current]
    out: list[str] = []
    _service_ops(out, service, after, elements=False)
    out.append(f"flush chain {_T} {endpoint_chain(service, old)}")
    return _text(out)


def stale_chain_cleanup(service: int, old: IPv4Address) -> str:
    """Return the later transaction that deletes the chain :func:`endpoint_change` flushed.

    kube-proxy deletes chains a second after they went stale (kernels before
    6.2 notice late that a map element no longer refers to a chain), at the
    start of the next sync, in a transaction of its own.
    """
    return f"delete chain {_T} {endpoint_chain(service, old)}\n"


def noop_resync(wl: Workload) -> str:
    """Return what kube-proxy's sync sends when nothing changed: nothing.

    The partial sync finds every service unchanged and every element already
    present, so the transaction is empty (``TestSyncProxyRulesRepeated``
    expects 0 operations). kube-proxy still pays for the sync: it lists the
    whole table first (:data:`LIST_ARGV`, output proportional to N x E), and
    knftables runs ``nft -f -`` even for an empty transaction. The periodic
    full sync is :func:`full_resync`.

    Returns:
        The empty string.
    """
    del wl
    return ""


def delete_all() -> str:
    """Return kube-proxy's cleanup (``--cleanup``, or a switch to another mode).

    ``CleanupLeftovers`` deletes the whole table in one transaction.
    """
    return f"delete table {_T}\n"


def remove_all_services(wl: Workload) -> tuple[str, str]:
    """Return the two transactions kube-proxy sends when every service is deleted.

    The first flushes every service and endpoint chain and deletes their
    ``cluster-ips`` and ``service-ips`` elements; the second (a second or more
    later) deletes the stale chains.

    Returns:
        (the sync's transaction, the later chain deletion).
    """
    chains = [
        chain
        for i in range(wl.services)
        for chain in (
            service_chain(i),
            *(endpoint_chain(i, a) for a in _sorted_endpoints(wl.endpoint_list(i))),
        )
    ]
    first = [f"flush chain {_T} {c}" for c in chains]
    first += [f"delete element {_T} cluster-ips {{ {vip(i)} }}" for i in range(wl.services)]
    first += [
        f"delete element {_T} service-ips {{ {vip(i)} . {PROTOCOL} . {SERVICE_PORT} }}"
        for i in range(wl.services)
    ]
    return _text(first), _text([f"delete chain {_T} {c}" for c in chains])


# -- checks -------------------------------------------------------------------------------


def operations(transaction: str) -> int:
    """Count the operations of a rendered transaction (one per line)."""
    return sum(1 for line in transaction.splitlines() if line.strip())


@dataclass(frozen=True)
class Counts:
    """What ``nft list table ip kube-proxy`` shows after a full load."""

    chains: int
    rules: int
    cluster_ips: int
    service_ips: int


def expected_counts(wl: Workload) -> Counts:
    """Return the object counts the table holds after :func:`full_ruleset`."""
    n, e = wl.services, wl.endpoints
    return Counts(
        chains=_FIXED_CHAINS + n * (1 + e),
        rules=_FIXED_RULES + n * (2 + 2 * e),
        cluster_ips=n,
        service_ips=n,
    )
