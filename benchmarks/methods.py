"""The ways of programming the workload that the suite compares, and state checks.

Each method exposes the four scenarios of the suite as plain callables that
the suite times: ``load`` (full load from empty), ``change`` (replace one
endpoint of one service), ``noop`` (resync with nothing to do) and
``delete`` (remove everything). Setup that a real program would do once (or
that is the caller's business, such as building the desired table) happens
outside the timed callables.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from typing import Any

from benchmarks.workload import (
    EMPTY_NAT,
    ENDPOINT_PORT,
    SERVICE_PORT,
    Workload,
    destination,
    service,
    vip,
)
from ipvs import Client, Table, netlink as C, netlink as N

_HDR = struct.Struct("=IHHII")
_ERR = struct.Struct("=i")


# -- independent state checks ---------------------------------------------------------


def ipvs_counts() -> tuple[int, int]:
    """Count services and destinations from /proc (not through the library).

    The file is the calling thread's network namespace's.
    """
    with open("/proc/thread-self/net/ip_vs", "rb") as fh:
        data = fh.read()
    services = 0
    dests = -1  # the header has one "  ->" line
    for line in data.splitlines():
        if line.startswith(b"  ->"):
            dests += 1
        elif line[:3] in (b"TCP", b"UDP", b"FWM", b"SCT"):
            services += 1
    return services, max(dests, 0)


def run(argv: Sequence[str], data: str | None = None) -> str:
    """Run a command, feeding ``data`` on stdin; return its stdout; raise on failure."""
    proc = subprocess.run(list(argv), input=data, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def iptables_nat_save() -> str:
    """Return ``iptables-legacy-save -t nat`` without its comment lines."""
    text = run(["iptables-legacy-save", "-t", "nat"])
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def iptables_rule_count() -> int:
    """Count the rules of the nat table."""
    return sum(1 for line in iptables_nat_save().splitlines() if line.startswith("-A "))


# -- the floor: prebuilt bytes on a plain netlink socket -------------------------------


class Chunker:
    """Assigns sequence numbers and packs prebuilt messages into send chunks."""

    def __init__(self, chunk_limit: int) -> None:
        self.chunk_limit = chunk_limit
        self.seq = 1000

    def seqs(self, count: int) -> int:
        """Reserve ``count`` sequence numbers; return the first."""
        first = self.seq
        self.seq += count
        return first

    def chunks(self, messages: Sequence[bytes]) -> list[bytes]:
        """Join messages into chunks of at most ``chunk_limit`` bytes, plus an ACKed barrier."""
        out: list[bytes] = []
        part: list[bytes] = []
        size = 0
        for m in messages:
            if size + len(m) > self.chunk_limit and part:
                out.append(b"".join(part))
                part, size = [], 0
            part.append(m)
            size += len(m)
        barrier_seq = self.seqs(1)
        part.append(_HDR.pack(16, N.NLMSG_NOOP, N.NLM_F_REQUEST | N.NLM_F_ACK, barrier_seq, 0))
        out.append(b"".join(part))
        return out


class RawNetlink:
    """A plain generic netlink socket that sends prebuilt bytes and reads a barrier's ack."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
        self.sock.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)  # SO_SNDBUFFORCE
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
        self.sock.setsockopt(270, 10, 1)  # NETLINK_CAP_ACK: acks without the request copy
        self.sock.bind((0, 0))
        self.buf = bytearray(1 << 20)
        self.errors = 0

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def replay(self, chunks: Sequence[bytes]) -> None:
        """Send the chunks and wait for the barrier's ack (the last message of the last chunk)."""
        send = self.sock.send
        for c in chunks:
            send(c)
        barrier_seq = _HDR.unpack_from(chunks[-1], len(chunks[-1]) - 16)[3]
        recv = self.sock.recv_into
        buf = self.buf
        while True:
            n = recv(buf)
            off = 0
            while off + 16 <= n:
                length, kind, _f, seq, _pid = _HDR.unpack_from(buf, off)
                if kind == N.NLMSG_ERROR:
                    if seq == barrier_seq:
                        return
                    if _ERR.unpack_from(buf, off + 16)[0]:
                        self.errors += 1
                off += (length + 3) & ~3

    def dump(self, request: bytes) -> int:
        """Send one prebuilt dump request and read to NLMSG_DONE; return the reply count."""
        self.sock.send(request)
        recv = self.sock.recv_into
        buf = self.buf
        count = 0
        while True:
            n = recv(buf)
            off = 0
            while off + 16 <= n:
                length, kind, _f, _seq, _pid = _HDR.unpack_from(buf, off)
                if kind == N.NLMSG_DONE:
                    return count
                if kind == N.NLMSG_ERROR:
                    raise RuntimeError("dump failed")
                count += 1
                off += (length + 3) & ~3


class Floor:
    """Prebuilt IPVS messages replayed pipelined: what the kernel costs alone.

    The messages are built once (no NLM_F_ACK, sequence numbers preassigned)
    and joined into chunks of at most ``chunk_limit`` bytes, the last one
    ending with an acknowledged barrier; :meth:`connect` opens a socket in
    the calling thread's current namespace.
    """

    name = "floor"

    def __init__(self, wl: Workload, family_id: int, chunk_limit: int) -> None:
        self.wl = wl
        self.raw: RawNetlink | None = None
        builder = Chunker(chunk_limit)
        fam = family_id
        first = builder.seqs(wl.operations)
        self.load_chunks = builder.chunks(wl.load_messages(fam, first))
        first = builder.seqs(wl.services)
        self.delete_chunks = builder.chunks(wl.delete_messages(fam, first))
        self.dump_services = C.encode_get_services(fam, builder.seqs(1))
        self.dump_dests = [
            C.encode_get_dests(fam, builder.seqs(1), C.REQUEST_DUMP, service(i).key)
            for i in range(wl.services)
        ]
        # Replace one endpoint and back: DEL_DEST + NEW_DEST, no ACK, then a barrier.
        svc = service(wl.services - 1)
        nest = C.encode_service_key_nest(svc.key)
        old = destination(wl.endpoint_list(wl.services - 1)[-1])
        new = destination(IPv4Address("10.64.0.1"))
        req = N.NLM_F_REQUEST

        def swap(a: Any, b: Any) -> list[bytes]:
            s = builder.seqs(2)
            return builder.chunks(
                [
                    C.encode_dest(fam, C.Command.DEL_DEST, s, req, nest, a),
                    C.encode_dest(fam, C.Command.NEW_DEST, s + 1, req, nest, b),
                ]
            )

        self._swaps = [(swap(old, new), swap(new, old)) for _ in range(100)]
        self._swap_index = 0

    def connect(self) -> None:
        """Open the socket, in the calling thread's network namespace."""
        self.raw = RawNetlink()

    @property
    def errors(self) -> int:
        """Error replies seen (each is a failed message)."""
        return self.raw.errors if self.raw is not None else 0

    @property
    def sends_per_load(self) -> int:
        """Send syscalls of a full load."""
        return len(self.load_chunks)

    def _sock(self) -> RawNetlink:
        assert self.raw is not None, "call connect() first"
        return self.raw

    def load(self) -> None:
        """Full load."""
        self._sock().replay(self.load_chunks)

    def change(self) -> None:
        """Replace one endpoint (two messages and a barrier); alternate calls restore it."""
        pair = self._swaps[(self._swap_index // 2) % len(self._swaps)]
        self._sock().replay(pair[self._swap_index % 2])
        self._swap_index += 1

    def noop(self) -> None:
        """Dump everything (services, then each service's destinations), without decoding."""
        raw = self._sock()
        raw.dump(self.dump_services)
        for req in self.dump_dests:
            raw.dump(req)

    def delete(self) -> None:
        """Delete every service."""
        self._sock().replay(self.delete_chunks)

    def close(self) -> None:
        """Close the socket."""
        if self.raw is not None:
            self.raw.close()
            self.raw = None


# -- this library ---------------------------------------------------------------------------


def load_batch(client: Client, wl: Workload) -> None:
    """Full load with ``Client.batch()`` (the model objects are built inside, as a user would)."""
    with client.batch() as b:
        for svc, dests in wl.pairs():
            b.add_service(svc)
            for d in dests:
                b.add_destination(svc, d)


def load_prebuilt_batch(client: Client, pairs: Sequence[tuple[Any, Sequence[Any]]]) -> None:
    """Full load with ``Client.batch()`` from prebuilt model objects."""
    with client.batch() as b:
        for svc, dests in pairs:
            b.add_service(svc)
            key = svc.key
            for d in dests:
                b.add_destination(key, d)


def load_calls(client: Client, pairs: Sequence[tuple[Any, Sequence[Any]]]) -> None:
    """Full load one acknowledged call at a time."""
    for svc, dests in pairs:
        client.add_service(svc)
        key = svc.key
        for d in dests:
            client.add_destination(key, d)


def table_signature(table: Table) -> set[tuple[str, str, int]]:
    """Return (VIP, endpoint, weight) triples, to compare against other methods' views."""
    return {
        (str(k.address), str(d.address), d.weight) for k, e in table.items() for d in e.destinations
    }


# -- pyroute2 ---------------------------------------------------------------------------------


class Pyroute2:
    """pyroute2's IPVS API (its own socket; one acknowledged request per operation)."""

    name = "pyroute2"

    def __init__(self, wl: Workload) -> None:
        from pyroute2 import IPVS, IPVSDest, IPVSService

        self.wl = wl
        self.IPVSService = IPVSService
        self.IPVSDest = IPVSDest
        self.ipvs = IPVS()
        # IPv4 only, MASQ (fwd_method 0), and no tunnel fields besides pyroute2's defaults.
        self.pairs = [
            (
                IPVSService(addr=str(vip(i)), port=SERVICE_PORT, protocol=6, sched_name="rr"),
                [
                    IPVSDest(addr=str(a), port=ENDPOINT_PORT, fwd_method=0, weight=1)
                    for a in wl.endpoint_list(i)
                ],
            )
            for i in range(wl.services)
        ]
        self.old = self.pairs[0][1][-1]
        self.new = IPVSDest(addr="10.64.0.1", port=ENDPOINT_PORT, fwd_method=0, weight=1)
        self.expected = {
            (str(vip(i)), str(a)) for i in range(wl.services) for a in wl.endpoint_list(i)
        }
        self._flip = False

    def load(self) -> None:
        """Full load."""
        ipvs = self.ipvs
        for svc, dests in self.pairs:
            ipvs.service("add", service=svc)
            for d in dests:
                ipvs.dest("add", service=svc, dest=d)

    def change(self) -> None:
        """Replace one endpoint; alternate calls restore it."""
        svc = self.pairs[0][0]
        a, b = (self.new, self.old) if self._flip else (self.old, self.new)
        self.ipvs.dest("del", service=svc, dest=a)
        self.ipvs.dest("add", service=svc, dest=b)
        self._flip = not self._flip

    def noop(self) -> bool:
        """Dump services and destinations, compare with the expected state."""
        seen: set[tuple[str, str]] = set()
        for msg in self.ipvs.service("dump"):
            svc = self.IPVSService.from_message(msg)
            for dmsg in self.ipvs.dest("dump", service=svc):
                d = dmsg.get("IPVS_CMD_ATTR_DEST")
                seen.add((svc["addr"], d.get("IPVS_DEST_ATTR_ADDR")))
        return seen == self.expected

    def delete(self) -> None:
        """Delete every service."""
        for svc, _dests in self.pairs:
            self.ipvs.service("del", service=svc)

    def close(self) -> None:
        """Close the socket."""
        self.ipvs.close()


# -- ipvsadm ----------------------------------------------------------------------------------


class Ipvsadm:
    """``ipvsadm -R`` of the same rules (a process per call)."""

    name = "ipvsadm"

    def __init__(self, wl: Workload) -> None:
        self.rules = wl.ipvsadm_rules()
        self.expected = sorted(self.rules.splitlines())
        v = f"{vip(0)}:{SERVICE_PORT}"
        old = f"{wl.endpoint_list(0)[-1]}:{ENDPOINT_PORT}"
        new = f"10.64.0.1:{ENDPOINT_PORT}"
        self.swaps = (
            f"-d -t {v} -r {old}\n-a -t {v} -r {new} -m -w 1\n",
            f"-d -t {v} -r {new}\n-a -t {v} -r {old} -m -w 1\n",
        )
        self._flip = 0

    def load(self) -> None:
        """Full load."""
        run(["ipvsadm", "-R"], self.rules)

    def change(self) -> None:
        """Replace one endpoint (one ``ipvsadm -R`` of two lines); alternate calls restore it."""
        run(["ipvsadm", "-R"], self.swaps[self._flip])
        self._flip ^= 1

    def noop(self) -> bool:
        """``ipvsadm -Sn`` and compare with the rules loaded."""
        return sorted(run(["ipvsadm", "-Sn"]).splitlines()) == self.expected

    def delete(self) -> None:
        """``ipvsadm -C``."""
        run(["ipvsadm", "-C"])


# -- iptables (kube-proxy's iptables mode) -------------------------------------------------------


class Iptables:
    """kube-proxy-shaped nat rules through ``iptables-legacy-restore``."""

    name = "iptables"

    def __init__(self, wl: Workload) -> None:
        self.full = wl.iptables_restore()
        old = wl.endpoint_list(0)[-1]
        new = IPv4Address("10.64.0.1")
        self.partials = (wl.iptables_partial(0, old, new), wl.iptables_partial(0, new, old))
        self._flip = 0
        self.reference: str | None = None

    def load(self) -> None:
        """Full restore of the nat table."""
        run(["iptables-legacy-restore", "-w"], self.full)

    def change(self) -> None:
        """kube-proxy's partial restore (--noflush) after one endpoint changed."""
        run(["iptables-legacy-restore", "-w", "--noflush"], self.partials[self._flip])
        self._flip ^= 1

    def noop(self) -> bool:
        """``iptables-legacy-save -t nat`` and compare with the known state."""
        return iptables_nat_save() == self.reference

    def delete(self) -> None:
        """Full restore of an empty nat table."""
        run(["iptables-legacy-restore", "-w"], EMPTY_NAT)


# -- nftables (kube-proxy's nftables mode) ------------------------------------------------------


class Nft:
    """kube-proxy's nftables rules (:mod:`benchmarks.nft`) through ``nft -f -``.

    Each scenario is what kube-proxy's nftables proxier sends for it, one
    ``nft -f -`` process per transaction as knftables runs it: the first
    full sync (``load``); the partial sync after one endpoint of the last
    service was replaced (``change``, ``4 E + 5`` operations whatever N is);
    a sync with nothing to do (``noop``: knftables' ``ListAll`` of the whole
    table, then an empty transaction); and ``--cleanup`` (``delete``: delete
    the table). The flushed endpoint chain that a ``change`` leaves behind is
    deleted by :meth:`cleanup`, which kube-proxy sends a second or more later
    at the start of its next sync; the suite times it apart.
    """

    name = "nft"

    def __init__(self, wl: Workload) -> None:
        from benchmarks import nft

        self.wl = wl
        self.full = nft.full_ruleset(wl)
        self.ops = nft.operations(self.full)
        last = wl.services - 1
        old = wl.endpoint_list(last)[-1]
        new = IPv4Address("10.64.0.3")
        self.partials = (
            nft.endpoint_change(wl, last, old, new),
            nft.endpoint_change(wl, last, new, old),
        )
        self.stale = (nft.stale_chain_cleanup(last, old), nft.stale_chain_cleanup(last, new))
        self.change_ops = nft.operations(self.partials[0])
        self.empty = nft.noop_resync(wl)
        self.drop = nft.delete_all()
        self.list_argv = list(nft.LIST_ARGV)
        self._flip = 0
        self.listed = ""

    def load(self) -> None:
        """kube-proxy's first full sync: the whole ruleset in one transaction."""
        run(["nft", "-f", "-"], self.full)

    def change(self) -> None:
        """kube-proxy's partial sync after one endpoint of one service was replaced."""
        run(["nft", "-f", "-"], self.partials[self._flip])
        self._flip ^= 1

    def cleanup(self) -> None:
        """Delete the endpoint chain the last :meth:`change` flushed (kube-proxy's next sync)."""
        run(["nft", "-f", "-"], self.stale[self._flip ^ 1])

    def list_all(self) -> str:
        """knftables' ``ListAll``: ``nft --json --terse list table ip kube-proxy``."""
        self.listed = run(self.list_argv)
        return self.listed

    def noop(self) -> None:
        """A sync with nothing to do: list the whole table, then an empty transaction."""
        self.list_all()
        run(["nft", "-f", "-"], self.empty)

    def delete(self) -> None:
        """kube-proxy's cleanup: delete the whole table in one transaction."""
        run(["nft", "-f", "-"], self.drop)


def nft_counts(listing: str | None = None) -> tuple[int, int, int, int]:
    """Count (chains, rules, cluster-ips elements, service-ips elements) of kube-proxy's table.

    Args:
        listing: the output of ``nft --json --terse list table ip kube-proxy``
            (listed here when None); the set and map elements are listed apart.

    Returns:
        The four counts; all zero when the table does not exist.
    """
    import json

    from benchmarks import nft

    if listing is None:
        proc = subprocess.run(list(nft.LIST_ARGV), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return (0, 0, 0, 0)
        listing = proc.stdout
    objects = json.loads(listing)["nftables"]
    chains = sum(1 for o in objects if "chain" in o)
    rules = sum(1 for o in objects if "rule" in o)

    def elements(kind: str, name: str) -> int:
        text = run(["nft", "--json", "list", kind, nft.FAMILY, nft.TABLE, name])
        for o in json.loads(text)["nftables"]:
            if kind in o:
                return len(o[kind].get("elem", []))
        return 0

    return chains, rules, elements("set", "cluster-ips"), elements("map", "service-ips")


def versions() -> dict[str, str]:
    """Versions of the tools and libraries involved."""
    import platform

    import pyroute2

    import ipvs

    def first_line(argv: list[str]) -> str:
        try:
            return run(argv).strip().splitlines()[0]
        except (RuntimeError, OSError, IndexError) as exc:
            return f"unavailable ({exc})"

    import hashlib
    import pathlib

    source = hashlib.sha256()
    for path in sorted(pathlib.Path(ipvs.__file__).parent.glob("*.py")):
        source.update(path.name.encode() + b"\0" + path.read_bytes())
    return {
        "python": platform.python_version(),
        "ipvs": ipvs.__version__,
        "ipvs source (sha256 of ipvs/*.py, first 12)": source.hexdigest()[:12],
        "pyroute2": pyroute2.__version__,
        "ipvsadm": first_line(["ipvsadm", "--version"]),
        "iptables": first_line(["iptables-legacy", "--version"]),
        "nft": first_line(["nft", "--version"]),
    }


def guest_machine() -> dict[str, Any]:
    """The guest kernel and what it says about its CPU."""
    info: dict[str, Any] = {"uname": " ".join(os.uname())}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "host", "bogomips", "mode"):
                    info[f"cpuinfo {key}"] = value.strip()
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["meminfo MemTotal"] = fh.readline().split(":")[1].strip()
    except OSError:
        pass
    return info


Timed = Callable[[], object]
