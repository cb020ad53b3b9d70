"""Golden tests of ipvs.ipvsadm against the real ipvsadm 1.31 (kernel tests).

Each test runs in a fresh network namespace; ipvsadm subprocesses inherit it.
ipvsadm is the oracle: state set by ``ipvsadm -R`` and read back with
:meth:`ipvs.Client.snapshot` must save (:func:`save`) and list
(:func:`listing`) byte for byte as ipvsadm saves and lists it, and what
:func:`save` writes must restore into the same state.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ipvs import Client
from ipvs._model import (
    Destination,
    Family,
    ForwardMethod,
    Service,
    ServiceEntry,
    ServiceFlags,
    ServiceKey,
    Table,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._trusted import unchecked_destination
from ipvs.formats.ipvsadm import (
    daemons_listing,
    listing,
    parse_table,
    save,
    timeouts_listing,
)
from ipvs.formats.ipvsadm._write import _compare_destinations, _compare_services, _merge_sort

pytestmark = pytest.mark.skipif(shutil.which("ipvsadm") is None, reason="ipvsadm not installed")

U32 = 0xFFFFFFFF
INT_MAX = 0x7FFFFFFF


def ipvsadm(*args: str, stdin: str | None = None) -> str:
    """Run ipvsadm; fail on any error message or non-zero status."""
    proc = subprocess.run(
        ["ipvsadm", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stderr == "", (args, proc.returncode, proc.stderr)
    return proc.stdout


@pytest.fixture
def client() -> Iterator[Client]:
    with Client() as c:
        yield c


def restore(text: str) -> None:
    """Flush, then restore like the ipvsadm-restore script (which drops '#' lines)."""
    ipvsadm("-C")
    rules = "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))
    ipvsadm("-R", stdin=rules)


def check_save_and_list(client: Client) -> Table:
    """Direction (a): the kernel state, read by us, saves and lists like ipvsadm."""
    snap = client.snapshot()
    assert save(snap) == ipvsadm("-Sn")
    assert listing(snap, info=client.info()) == ipvsadm("-Ln")
    return snap


# --------------------------------------------------------------------------
# A fixed rich example
# --------------------------------------------------------------------------

RICH = """\
# IPv4, with persistence, a netmask, the sip engine and every forwarding method
ipvsadm -A -t 192.168.1.1:80 -s wrr -p 120 -M 255.255.255.0 --pe sip
-a -t 192.168.1.1:80 -r 10.0.0.2 -m -w 0
-a -t 192.168.1.1:80 -r 10.0.0.3:8080 --masquerading --weight=5 -x 100 -y 10
-a -t 192.168.1.1:80 -r 10.0.0.4 -g
-a -t 192.168.1.1:80 -r 10.0.0.5 -i --tun-type ipip
-a -t 192.168.1.1:80 -r 10.0.0.6 -i --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 192.168.1.1:80 -r 10.0.0.7 -i --tun-type gue --tun-port 6081 --tun-csum
-a -t 192.168.1.1:80 -r 10.0.0.8 -i --tun-type gre --tun-csum
-a -t 192.168.1.1:80 -r 10.0.0.9 -i --tun-type gre
-a -t 192.168.1.1:80 -r [2001:db8::9]:80 -i
-a -t 192.168.1.1:80 -r 200.0.0.1 -w 65536
--add-service --tcp-service 10.0.0.1:0 --scheduler sh --persistent -b sh-port,sh-fallback
-A -t 10.0.0.1:443 -s mh -b mh-fallback
-A -t 10.0.0.1:444 -s rr -b flag-2,flag-3
-A -u 10.0.0.1:53 -s lc -o
-a -u 10.0.0.1:53 -r 10.0.1.1:5353 -m
-a -u 10.0.0.1:53 -r 10.0.1.2:5353 -m -w 3
-A --sctp-service 10.0.0.1:9999 -s nq
-a --sctp-service 10.0.0.1:9999 -r 10.0.2.1 -g
-A -t [2001:db8::1]:443 -s sed -p 600 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8:1::2]:8443 -m
-a -t [2001:db8::1]:443 -r [2001:db8:1::3]:8443 -g -w 4
-a -t [2001:db8::1]:443 -r 10.0.3.3 -i --tun-type gue --tun-port 5555
-A -u 2001:db8::2 -s dh -p
-A -f 1 -s wlc -o
-a -f 1 -r 10.0.4.1:0 -g
-a -f 1 -r 10.0.4.2:7 -m
-A -f 2 -6 -s lblcr -p 30 -M 96 --pe sip
-a -f 2 -6 -r [2001:db8:2::1]:0 -g
-a -f 2 -6 -r 10.0.5.1 -i
-A -f 2147483647 -s fo
-A -t 0.0.0.0:1 -s ovf
"""


def test_rich_restore_then_save(client: Client) -> None:
    restore(RICH)
    snap = check_save_and_list(client)
    assert snap == parse_table(RICH)


def test_rich_save_then_restore(client: Client) -> None:
    table = parse_table(RICH)
    ours = save(table)
    restore(ours)
    assert ipvsadm("-Sn") == ours
    restore(save(table, thresholds=True))
    assert client.snapshot() == table


def test_rich_listings_with_zero_counters(client: Client) -> None:
    restore(RICH)
    snap = client.snapshot()
    info = client.info()
    for args, kwargs in [
        (["--stats"], {"stats": True}),
        (["--stats", "--exact"], {"stats": True, "exact": True}),
        (["--rate"], {"rate": True}),
        (["--rate", "--exact"], {"rate": True, "exact": True}),
        (["--thresholds"], {"thresholds": True}),
        (["--persistent-conn"], {"persistent_conn": True}),
        (["--exact"], {"exact": True}),
    ]:
        assert listing(snap, info=info, **kwargs) == ipvsadm("-Ln", *args), args


def test_cyclic_sort_order_follows_kernel_order(client: Client) -> None:
    # The comparator is not transitive here (differences of 2**31 or more), so
    # ipvsadm's order depends on the kernel's dump order, which the snapshot keeps.
    rules = [
        "-A -u 0.0.0.1:1",
        "-A -u 100.0.0.1:1",
        "-A -u 200.0.0.1:1",
        "-A -u 150.0.0.1:1",
        "-A -u 50.0.0.1:1",
        "-A -f 2147483648",
        "-A -f 1",
        "-A -f 4294967295",
        "-A -f 3000000000",
        "-A -t [::1]:5",
        "-A -t [8000::1]:5",
        "-A -t [c000::1]:5",
        "-A -t [4000::1]:5",
    ]
    restore("\n".join(rules) + "\n")
    check_save_and_list(client)


def test_forwarding_methods_ipvsadm_cannot_set(client: Client) -> None:
    svc = Service.tcp("10.0.0.1", 80, scheduler="rr")
    client.add_service(svc)
    for i, fwd in enumerate(ForwardMethod):
        client.add_destination(
            svc, Destination(address=f"10.1.0.{i + 1}", port=80 + i, forward=fwd, weight=INT_MAX)
        )
    # tunnel settings the kernel stores but the model refuses as desired state (a GUE
    # tunnel on a direct-routing destination, GRE with remote checksum): sent unchecked
    plain = Destination(address="10.1.0.9", port=80)
    gre = Destination(address="10.1.0.10", port=80, forward="TUNNEL", tunnel_type="GRE")
    for dest, tunnel_type, tunnel_port, tunnel_flags in (
        (plain, TunnelType.GUE, 9, TunnelFlags.NOCSUM),
        (gre, TunnelType.GRE, 0, TunnelFlags.REMCSUM),
    ):
        client.add_destination(
            svc,
            unchecked_destination(
                dest.address, dest.port, dest.family, dest.forward, dest.weight, 0, 0,
                tunnel_type, tunnel_port, tunnel_flags, 0, 0, 0, None,
            ),
        )  # fmt: skip
    client.add_service(Service.mark(U32, scheduler="rr"))
    check_save_and_list(client)


def test_timeouts_listing(client: Client) -> None:
    assert timeouts_listing(client.timeouts()) == ipvsadm("-Ln", "--timeout")
    ipvsadm("--set", "100", "20", "30")
    assert timeouts_listing(client.timeouts()) == ipvsadm("-Ln", "--timeout")


def test_daemons_listing(client: Client) -> None:
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    assert daemons_listing(client.daemons()) == ipvsadm("-Ln", "--daemon") == ""
    try:
        ipvsadm("--start-daemon", "master", "--mcast-interface", "lo")
        assert daemons_listing(client.daemons()) == ipvsadm("-Ln", "--daemon")
        ipvsadm(
            "--start-daemon",
            "backup",
            "--mcast-interface",
            "lo",
            "--syncid",
            "7",
            "--sync-maxlen",
            "1200",
            "--mcast-group",
            "239.1.2.3",
            "--mcast-port",
            "9000",
            "--mcast-ttl",
            "5",
        )
        text = ipvsadm("-Ln", "--daemon")
        assert daemons_listing(client.daemons()) == text
        assert text.count("\n") == 2
    finally:
        for state in ("master", "backup"):
            subprocess.run(["ipvsadm", "--stop-daemon", state], capture_output=True, check=False)


def _stable(client: Client, args: list[str], **kwargs: bool) -> tuple[str, str]:
    """Our listing and ipvsadm's, taken when the counters did not move meanwhile."""
    info = client.info()
    for _ in range(20):
        before = listing(client.snapshot(), info=info, **kwargs)
        theirs = ipvsadm("-Ln", *args)
        after = listing(client.snapshot(), info=info, **kwargs)
        if before == after:
            return before, theirs
        time.sleep(0.1)
    pytest.fail(f"counters kept moving for {args}")


def test_listings_with_traffic(client: Client) -> None:
    subprocess.run(["ip", "addr", "add", "10.9.0.1/32", "dev", "lo"], check=True)
    restore(
        "-A -u 10.9.0.1:9000 -s rr\n-a -u 10.9.0.1:9000 -r 10.9.0.1:9000 -g\n"
        "-A -u 10.9.0.1:9001 -s rr\n-a -u 10.9.0.1:9001 -r 10.9.0.1:9001 -g\n"
        "-A -t 10.9.0.1:9002 -s rr\n-a -t 10.9.0.1:9002 -r 10.9.0.1:9002 -g\n"
    )
    data = b"x" * 65000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for _ in range(2500):  # about 160 MB: shown in K
            tx.sendto(data, ("10.9.0.1", 9000))
        for _ in range(25000):  # about 1.6 GB: shown in M
            tx.sendto(data, ("10.9.0.1", 9001))
    with socket.socket() as listener:
        listener.bind(("10.9.0.1", 9002))
        listener.listen(5)
        for _ in range(3):
            with socket.create_connection(("10.9.0.1", 9002)) as conn:
                peer, _ = listener.accept()
                conn.sendall(b"y" * 1000)
                peer.recv(100)
                peer.close()
    # The kernel folds per-CPU counters into the reported ones every 2 seconds.
    deadline = time.monotonic() + 15
    while True:
        stats = listing(client.snapshot(), stats=True)
        if ("K " in stats and "M " in stats) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "K " in stats and "M " in stats, stats
    for args, kwargs in [
        (["--stats"], {"stats": True}),
        (["--stats", "--exact"], {"stats": True, "exact": True}),
        (["--rate"], {"rate": True}),
        (["--rate", "--exact"], {"rate": True, "exact": True}),
        ([], {}),
    ]:
        ours, theirs = _stable(client, args, **kwargs)
        assert ours == theirs, args


# --------------------------------------------------------------------------
# A generated corpus
# --------------------------------------------------------------------------

SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"]


def _valid_dest_v4(value: int) -> bool:
    first = value >> 24
    return 1 <= first <= 223 and first != 127


def _valid_dest_v6(value: int) -> bool:
    top = value >> 120
    return 0x20 <= top <= 0x3F or 0xFC <= top <= 0xFD


@st.composite
def windowed(draw: st.DrawFn, base: int, bits: int, span: int) -> int:
    return (base + draw(st.integers(min_value=0, max_value=span))) % (1 << bits)


@st.composite
def corpus_tables(draw: st.DrawFn) -> Table:
    """A table the kernel and ipvsadm accept and that ipvsadm sorts deterministically."""
    base4 = draw(st.integers(min_value=0, max_value=U32))
    base6 = draw(st.integers(min_value=0, max_value=(1 << 128) - 1))
    dbase4 = draw(st.integers(min_value=0x01000000, max_value=0xDF000000))
    dbase6 = draw(st.sampled_from([0x2001 << 112, 0x2A00 << 112, 0xFC00 << 112, 0x3FFF << 112]))
    svc_v4 = windowed(base4, 32, 1 << 30).map(IPv4Address)
    svc_v6 = windowed(base6, 128, 1 << 126).map(IPv6Address)
    dest_v4 = windowed(dbase4, 32, 1 << 28).filter(_valid_dest_v4).map(IPv4Address)
    dest_v6 = windowed(dbase6, 128, 1 << 100).filter(_valid_dest_v6).map(IPv6Address)
    entries = []
    keys: set[ServiceKey] = set()
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        family = draw(st.sampled_from(Family))
        persistent = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            key = ServiceKey.mark(draw(st.integers(min_value=1, max_value=INT_MAX)), family)
        else:
            port = draw(st.integers(min_value=0 if persistent else 1, max_value=0xFFFF))
            key = ServiceKey(
                protocol=draw(st.sampled_from([6, 17, 132])),
                address=draw(svc_v4 if family == Family.INET else svc_v6),
                port=port,
            )
        if key in keys:
            continue
        keys.add(key)
        scheduler = draw(st.sampled_from(SCHEDULERS))
        flags = ServiceFlags.PERSISTENT if persistent else ServiceFlags(0)
        if (key.fwmark is not None or key.protocol == 17) and draw(st.booleans()):
            flags |= ServiceFlags.ONEPACKET
        bits = [ServiceFlags.SCHED1, ServiceFlags.SCHED2]
        if scheduler not in ("sh", "mh"):
            bits.append(ServiceFlags.SCHED3)
        for bit in bits:
            if draw(st.integers(0, 3)) == 0:
                flags |= bit
        netmask: IPv4Address | int | None = None
        if persistent:
            netmask = draw(
                st.integers(min_value=0, max_value=U32).map(IPv4Address)
                if family == Family.INET
                else st.integers(min_value=1, max_value=128)
            )
        service = Service(
            key=key,
            scheduler=scheduler,
            flags=flags,
            timeout=draw(st.integers(min_value=1, max_value=2678400)) if persistent else 0,
            netmask=netmask,
            pe_name=draw(st.sampled_from([None, None, "sip"])),
        )
        dests: dict[tuple[object, int], Destination] = {}
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            same = draw(st.integers(0, 4)) > 0
            v6 = (family == Family.INET6) == same
            address = draw(dest_v6 if v6 else dest_v4)
            forward = draw(
                st.sampled_from([ForwardMethod.MASQ, ForwardMethod.ROUTE, ForwardMethod.TUNNEL])
                if same
                else st.just(ForwardMethod.TUNNEL)
            )
            port = draw(st.integers(min_value=0, max_value=0xFFFF))
            if key.fwmark is None and forward != ForwardMethod.MASQ:
                assert key.port is not None
                port = key.port
            upper = draw(st.sampled_from([0, 0, 1, 1000, INT_MAX]))
            tunnel: dict[str, int] = {}
            if forward == ForwardMethod.TUNNEL:
                kind = draw(st.sampled_from(TunnelType))
                tunnel["tunnel_type"] = kind
                if kind == TunnelType.GUE:
                    tunnel["tunnel_port"] = draw(st.integers(min_value=1, max_value=0xFFFF))
                    tunnel["tunnel_flags"] = draw(st.sampled_from([0, 1, 2]))
                elif kind == TunnelType.GRE:
                    tunnel["tunnel_flags"] = draw(st.sampled_from([0, 1]))
            dest = Destination(
                address=address,
                port=port,
                forward=forward,
                weight=draw(st.sampled_from([0, 1, 1, 7, 65535, 65536, INT_MAX])),
                upper_threshold=upper,
                lower_threshold=draw(st.integers(min_value=0, max_value=upper)),
                **tunnel,  # type: ignore[arg-type]
            )
            dests.setdefault(dest.key, dest)
        entries.append(ServiceEntry(service=service, destinations=list(dests.values())))
    table = Table(entries)
    assume(_deterministic(table))
    return table


def _total(items: list[object], cmp: object) -> bool:
    ordered = _merge_sort(items, cmp)  # type: ignore[arg-type]
    return all(
        cmp(ordered[i], ordered[j]) < 0  # type: ignore[operator]
        for i in range(len(ordered))
        for j in range(i + 1, len(ordered))
    )


def _deterministic(table: Table) -> bool:
    """True when ipvsadm's comparators order this table the same for any input order."""
    if not _total([e.service for e in table.values()], _compare_services):
        return False
    return all(_total(list(e.destinations), _compare_destinations) for e in table.values())


def _bracket(address: IPv4Address | IPv6Address, port: int | None) -> str:
    if address.version == 6:
        return f"[{address}]:{port}" if port is not None else str(address)
    return f"{address}:{port}" if port is not None else str(address)


def render(table: Table, rng: random.Random) -> str:
    """Write restore rules for ``table`` independently of save(), in varied spellings."""
    lines: list[str] = []
    for entry in rng.sample(list(table.values()), len(table)):
        svc = entry.service
        if svc.fwmark is not None:
            spec = [rng.choice(["-f", "--fwmark-service"]), str(svc.fwmark)]
            if svc.family == Family.INET6:
                spec.append(rng.choice(["-6", "--ipv6"]))
        else:
            assert svc.address is not None and svc.protocol is not None
            name = {
                6: ["-t", "--tcp-service"],
                17: ["-u", "--udp-service"],
                132: ["--sctp-service"],
            }
            omit = svc.port == 0 and rng.random() < 0.5
            spec = [
                rng.choice(name[svc.protocol]),
                _bracket(svc.address, None if omit else svc.port),
            ]
        opts: list[list[str]] = []
        if svc.scheduler != "wlc" or rng.random() < 0.5:
            opts.append([rng.choice(["-s", "--scheduler"]), svc.scheduler])
        if svc.flags & ServiceFlags.PERSISTENT:
            if svc.timeout == 360 and rng.random() < 0.5:
                opts.append(["-p"])
            else:
                opts.append([rng.choice(["-p", "--persistent"]), str(svc.timeout)])
        if svc.pe_name:
            opts.append(["--pe", svc.pe_name])
        if svc.flags & ServiceFlags.ONEPACKET:
            opts.append([rng.choice(["-o", "--ops"])])
        names = []
        sched = svc.scheduler if svc.scheduler in ("sh", "mh") else None
        for n, bit in (
            (1, ServiceFlags.SCHED1),
            (2, ServiceFlags.SCHED2),
            (3, ServiceFlags.SCHED3),
        ):
            if svc.flags & bit:
                names.append(f"{sched}-{('fallback', 'port')[n - 1]}" if sched else f"flag-{n}")
        if names:
            rng.shuffle(names)
            opts.append([rng.choice(["-b", "--sched-flags"]), ",".join(names)])
        rng.shuffle(opts)
        mask: list[str] = []
        if svc.flags & ServiceFlags.PERSISTENT:
            mask = [rng.choice(["-M", "--netmask"]), str(svc.netmask)]
        words = ["ipvsadm"] if rng.random() < 0.2 else []
        words += [rng.choice(["-A", "--add-service"]), *spec]
        for opt in opts:
            words += opt
        words += mask
        lines.append(" ".join(words))
        dspec = " ".join(spec)
        for d in rng.sample(list(entry.destinations), len(entry.destinations)):
            forced = svc.fwmark is None and d.forward != ForwardMethod.MASQ
            port = None if (forced or d.port == (svc.port or 0)) and rng.random() < 0.5 else d.port
            words = [
                rng.choice(["-a", "--add-server"]),
                dspec,
                rng.choice(["-r", "--real-server"]),
                _bracket(d.address, port),
            ]
            fwd = {
                ForwardMethod.MASQ: ["-m", "--masquerading"],
                ForwardMethod.ROUTE: ["-g", "--gatewaying", ""],
                ForwardMethod.TUNNEL: ["-i", "--ipip"],
            }[d.forward]
            words.append(rng.choice(fwd))
            if d.weight != 1 or rng.random() < 0.3:
                words += [rng.choice(["-w", "--weight"]), str(d.weight)]
            if d.upper_threshold:
                words += ["-x", str(d.upper_threshold)]
            if d.lower_threshold:
                words += ["--l-threshold", str(d.lower_threshold)]
            if d.forward == ForwardMethod.TUNNEL and (d.tunnel_type or rng.random() < 0.5):
                words += ["--tun-type", d.tunnel_type.name.lower()]
                if d.tunnel_type == TunnelType.GUE:
                    words += ["--tun-port", str(d.tunnel_port)]
                if d.tunnel_type != TunnelType.IPIP and (d.tunnel_flags or rng.random() < 0.5):
                    words.append(["--tun-nocsum", "--tun-csum", "--tun-remcsum"][d.tunnel_flags])
            lines.append(" ".join(w for w in words if w))
    return "".join(line + "\n" for line in lines)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=corpus_tables(), seed=st.integers(min_value=0, max_value=2**32))
def test_generated_corpus_both_directions(client: Client, table: Table, seed: int) -> None:
    text = render(table, random.Random(seed))
    assert parse_table(text) == table
    # (a) ipvsadm restores our independent rendering; we read, save and list it.
    restore(text)
    snap = check_save_and_list(client)
    assert snap == table
    # (b) ipvsadm restores what we save and saves it back identically.
    ours = save(table)
    restore(ours)
    assert ipvsadm("-Sn") == ours
    restore(save(table, thresholds=True))
    assert client.snapshot() == table
    ipvsadm("-C")
