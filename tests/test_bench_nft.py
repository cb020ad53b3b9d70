"""The kube-proxy nftables renderer of the benchmarks (benchmarks/nft.py)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from ipaddress import IPv4Address

import pytest

from benchmarks import nft
from benchmarks.workload import ENDPOINT_PORT, Workload, spare_endpoint, vip

CHAIN_ADD = re.compile(r"^add chain ip kube-proxy (\S+)", re.M)
RULE = re.compile(r"^add rule ip kube-proxy (\S+) (.*)$", re.M)
TARGET = re.compile(r"(?:goto|jump) ([^\s,}]+)")


def _chains(text: str) -> list[str]:
    return CHAIN_ADD.findall(text)


def test_chain_names_hash_like_kube_proxy() -> None:
    # Expected values from kube-proxy's own tests (proxier_test.go).
    assert nft._hashed("ns1/svc1/tcp/p80") == "ULMVA6XW-ns1/svc1/tcp/p80"
    assert (
        nft._hashed("ns1/svc1/tcp/p80__10.180.0.1/80") == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    )
    assert nft._hashed("testing/service/tcp/http") == "P4ZYZVCF-testing/service/tcp/http"
    long = "x" * 300
    assert len(nft._hashed(long)) == 240 and nft._hashed(long).endswith("...")
    assert re.fullmatch(r"service-[A-Z2-7]{8}-default/svc-7/tcp/http", nft.service_chain(7))
    assert re.fullmatch(
        r"endpoint-[A-Z2-7]{8}-default/svc-7/tcp/http__10\.0\.0\.1/8080",
        nft.endpoint_chain(7, IPv4Address("10.0.0.1")),
    )


@pytest.mark.parametrize(("n", "e"), [(1, 1), (3, 2), (4, 5)])
def test_full_ruleset_counts(n: int, e: int) -> None:
    wl = Workload(n, e)
    text = nft.full_ruleset(wl)
    counts = nft.expected_counts(wl)
    assert len(set(_chains(text))) == counts.chains == 16 + n * (1 + e)
    assert len(RULE.findall(text)) == counts.rules == 23 + n * (2 + 2 * e)
    assert text.count("add element ip kube-proxy cluster-ips {") == counts.cluster_ips == n
    assert text.count("add element ip kube-proxy service-ips {") == counts.service_ips == n
    assert text.count("add element ip kube-proxy nodeport-ips { 192.168.0.2 }") == 1
    assert text.count(" type nat hook ") == 3 and text.count(" type filter hook ") == 5
    assert "counter" not in text  # kube-proxy counts nothing
    assert text.startswith('add table ip kube-proxy { comment "rules for kube-proxy" ; }\n')
    assert nft.operations(text) == len(text.splitlines())
    # every service: the map entry, the masquerade mark, the numgen vmap over E endpoints
    for i in range(n):
        svc = nft.service_chain(i)
        assert (
            f"add element ip kube-proxy service-ips {{ {vip(i)} . tcp . 80 : goto {svc} }}" in text
        )
        rules = [r for c, r in RULE.findall(text) if c == svc]
        assert rules[0] == f"ip daddr {vip(i)} ip saddr != 10.244.0.0/16 jump mark-for-masquerade"
        assert rules[1].startswith(f"numgen random mod {e} vmap {{ 0 : goto endpoint-")
        assert len(TARGET.findall(rules[1])) == e
        for addr in wl.endpoint_list(i):
            chain = nft.endpoint_chain(i, addr)
            assert [r for c, r in RULE.findall(text) if c == chain] == [
                f"ip saddr {addr} jump mark-for-masquerade",
                f"meta l4proto tcp dnat to {addr}:{ENDPOINT_PORT}",
            ]


def test_every_chain_exists_before_it_is_used() -> None:
    text = nft.full_ruleset(Workload(3, 3))
    seen: set[str] = set()
    for line in text.splitlines():
        m = CHAIN_ADD.match(line)
        if m:
            seen.add(m.group(1))
        for target in TARGET.findall(line):
            assert target in seen, line


def test_first_sync_and_nodeport_variants() -> None:
    wl = Workload(2, 2)
    first, later = nft.full_ruleset(wl), nft.full_ruleset(wl, first_sync=False)
    dance = [line for line in first.splitlines() if line.startswith("delete chain")]
    assert len(dance) == 8 and nft.operations(first) - nft.operations(later) == 16
    match_all = nft.full_ruleset(wl, node_ip=None)
    assert "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto" in match_all
    assert "delete set ip kube-proxy nodeport-ips" in match_all
    assert "@nodeport-ips" not in match_all


def test_endpoints_in_kube_proxy_order() -> None:
    # Service 0's endpoints are 10.1.1.2 ... 10.1.11.2; kube-proxy sorts them as strings.
    text = nft.full_ruleset(Workload(1, 11))
    vmap = next(r for c, r in RULE.findall(text) if c == nft.service_chain(0) and "numgen" in r)
    order = [t.split("__")[1].split("/")[0] for t in TARGET.findall(vmap)]
    assert order[:4] == ["10.1.1.2", "10.1.10.2", "10.1.11.2", "10.1.2.2"]


def test_endpoint_change_touches_only_that_service() -> None:
    wl = Workload(5, 3)
    old, new = wl.endpoint_list(2)[1], spare_endpoint(0)
    text = nft.endpoint_change(wl, 2, old, new)
    assert nft.operations(text) == 4 * 3 + 5
    mine = {nft.service_chain(2), *(nft.endpoint_chain(2, a) for a in wl.endpoint_list(2))}
    mine.add(nft.endpoint_chain(2, new))
    for line in text.splitlines():
        assert line.split()[4] in mine, line
    assert "element" not in text and "delete" not in text
    assert text.splitlines()[-1] == f"flush chain ip kube-proxy {nft.endpoint_chain(2, old)}"
    # the old chain only gets flushed; the new one is created with its rules
    assert nft.endpoint_chain(2, old) not in _chains(text)
    assert f"dnat to {new}:{ENDPOINT_PORT}" in text and f"dnat to {old}:" not in text
    assert len(_chains(text)) == 3 + 1  # E endpoint chains + the service chain
    vmap = next(r for c, r in RULE.findall(text) if "numgen" in r)
    assert nft.endpoint_chain(2, new) in vmap and nft.endpoint_chain(2, old) not in vmap
    assert nft.stale_chain_cleanup(2, old) == (
        f"delete chain ip kube-proxy {nft.endpoint_chain(2, old)}\n"
    )
    # the change back restores the workload's chains and flushes the stand-in's
    back = nft.endpoint_change(wl, 2, new, old)
    assert nft.operations(back) == 4 * 3 + 5
    assert back.splitlines()[-1] == f"flush chain ip kube-proxy {nft.endpoint_chain(2, new)}"
    restored = {nft.service_chain(2), *(nft.endpoint_chain(2, a) for a in wl.endpoint_list(2))}
    assert set(_chains(back)) == restored
    with pytest.raises(ValueError):
        nft.endpoint_change(wl, 2, spare_endpoint(5), spare_endpoint(6))
    with pytest.raises(ValueError):
        nft.endpoint_change(wl, 2, old, wl.endpoint_list(2)[0])


def test_change_is_independent_of_service_count() -> None:
    small, large = Workload(10, 4), Workload(1000, 4)
    old = small.endpoint_list(3)[0]
    a = nft.endpoint_change(small, 3, old, spare_endpoint(1))
    assert a == nft.endpoint_change(large, 3, old, spare_endpoint(1))


def test_noop_cleanup_and_removal() -> None:
    wl = Workload(3, 2)
    assert nft.noop_resync(wl) == ""
    assert nft.LIST_ARGV == ("nft", "--json", "--terse", "list", "table", "ip", "kube-proxy")
    assert nft.delete_all() == "delete table ip kube-proxy\n"
    flush, delete = nft.remove_all_services(wl)
    assert flush.count("flush chain") == delete.count("delete chain") == 3 * (1 + 2)
    assert flush.count("delete element ip kube-proxy cluster-ips") == 3
    assert flush.count("delete element ip kube-proxy service-ips") == 3
    assert "add " not in flush + delete


def test_full_resync_rewrites_service_chains_only() -> None:
    wl = Workload(4, 3)
    text = nft.full_resync(wl)
    chains = _chains(text)
    assert not any(c.startswith("endpoint-") for c in chains)
    assert sum(bool(re.match(r"service-[A-Z2-7]{8}-", c)) for c in chains) == 4
    assert "element ip kube-proxy service-ips" not in text
    assert "delete chain" not in text


# -- nft parses and accepts it (nft -c in a private network namespace) ----------------------


@functools.lru_cache(maxsize=1)
def _nft_check_argv() -> list[str] | None:
    if shutil.which("nft") is None or shutil.which("unshare") is None:
        return None
    argv = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    argv += ["nft", "-c", "-f", "-"]
    probe = subprocess.run(argv, input="add table ip t\n", capture_output=True, text=True)
    return argv if probe.returncode == 0 else None


def _check(text: str) -> None:
    argv = _nft_check_argv()
    if argv is None:
        pytest.skip("cannot run nft -c in a private network namespace here")
    proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_nft_accepts_the_transactions() -> None:
    wl = Workload(20, 4)
    full = nft.full_ruleset(wl)
    old = wl.endpoint_list(7)[2]
    _check(full)
    _check(nft.full_ruleset(wl, node_ip=None))
    there = nft.endpoint_change(wl, 7, old, spare_endpoint(0))
    _check(full + there)
    _check(full + there + nft.endpoint_change(wl, 7, spare_endpoint(0), old))
    _check(full + nft.full_resync(wl))
    _check(full + nft.remove_all_services(wl)[0])
    _check(full + nft.delete_all())


def test_nft_method_swaps_an_endpoint_back_and_forth(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import methods

    sent: list[tuple[list[str], str | None]] = []

    def run(argv: list[str], data: str | None = None) -> str:
        sent.append((list(argv), data))
        return '{"nftables": []}'

    monkeypatch.setattr(methods, "run", run)
    wl = Workload(3, 2)
    tool = methods.Nft(wl)
    last = wl.endpoint_list(2)[-1]
    stand_in = IPv4Address("10.64.0.3")
    tool.load()
    tool.change()
    tool.cleanup()
    tool.change()
    tool.cleanup()
    tool.noop()
    tool.delete()
    argvs = [argv for argv, _ in sent]
    texts = [data for _, data in sent]
    assert argvs == [["nft", "-f", "-"]] * 5 + [list(nft.LIST_ARGV), ["nft", "-f", "-"]] * 1 + [
        ["nft", "-f", "-"]
    ]
    assert texts[0] == nft.full_ruleset(wl)
    assert texts[1] == nft.endpoint_change(wl, 2, last, stand_in)
    assert texts[2] == nft.stale_chain_cleanup(2, last)  # the chain the change flushed
    assert texts[3] == nft.endpoint_change(wl, 2, stand_in, last)
    assert texts[4] == nft.stale_chain_cleanup(2, stand_in)
    assert texts[5] is None and texts[6] == ""  # ListAll, then an empty transaction
    assert texts[7] == "delete table ip kube-proxy\n"
    assert tool.change_ops == 4 * 2 + 5
    assert tool.ops == nft.operations(texts[0])


def test_nft_counts_read_the_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from benchmarks import methods

    listing = json.dumps(
        {
            "nftables": [
                {"metainfo": {}},
                {"table": {"name": "kube-proxy"}},
                *({"chain": {"name": f"c{i}"}} for i in range(4)),
                *({"rule": {"chain": "c0"}} for _ in range(7)),
                {"map": {"name": "service-ips"}},
            ]
        }
    )

    def run(argv: list[str], data: str | None = None) -> str:
        kind, name = argv[-4], argv[-1]
        del data
        count = {"cluster-ips": 2, "service-ips": 3}[name]
        return json.dumps({"nftables": [{kind: {"name": name, "elem": list(range(count))}}]})

    monkeypatch.setattr(methods, "run", run)
    assert methods.nft_counts(listing) == (4, 7, 2, 3)


def test_report_shows_the_nft_column() -> None:
    from benchmarks import report

    def fig(seconds: float) -> dict[str, object]:
        return {"seconds": seconds, "measured": True}

    nft_figs = {
        "operations": 100,
        "text_bytes": 2_000_000,
        "load": fig(2.0),
        "change": fig(0.3),
        "stale_chain_cleanup": fig(0.2),
        "list_all": fig(1.0),
        "noop": fig(1.2),
        "delete": fig(0.05),
        "packets": {
            "succeeded": 20,
            "connections": 20,
            "vip": "10.96.0.1:80",
            "backends_reached": 10,
            "backends": 10,
        },
    }
    ipvs_figs = {"load": fig(1.0), "change": fig(0.001), "noop": fig(0.5), "delete": fig(0.1)}
    r = report.Results({"sizes": {"1000": {"methods": {"nft": nft_figs, "ipvs": ipvs_figs}}}})
    doc = report.Doc()
    report.render_nft(r, doc)
    text = doc.text()
    assert "| 1,000 | 100 ops, 2.0 MB | 2.00 s |" in text
    assert "20/20 via 10.96.0.1:80, 10/10 endpoints" in text
    # nft deletes faster here (0.05 s vs 0.1 s): the report says so
    assert "delete everything at 1,000: nft is 2.00x faster than this library" in text
    assert r.ratio(1000, "nft", "ipvs", "load") == 2.0
