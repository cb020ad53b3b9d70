"""Capture IPVS generic netlink replies from the real kernel into tests/data.

Run it inside the sandbox (it needs IPVS and root)::

    python -m ipvs.testing.sandbox -- .venv/bin/python tests/capture_vectors.py

For each scenario it builds a rich IPVS state with ipvsadm (one ``ipvsadm -R``
run, in a fresh network namespace of its own), then sends the dump and get
requests with a deliberately independent raw netlink socket (no library code)
and records every reply message, header included, as hex. The manifest
written to :data:`OUTPUT` also holds the ipvsadm input and the expected
objects in a plain JSON form, written by hand below from what ipvsadm was told
(plus the documented kernel defaults), never from a decoder's output.

``tests/test_vectors.py`` decodes the stored bytes on any host;
``tests/kernel/test_capture.py`` re-captures in the sandbox and checks the live
bytes still decode to the same objects.

Two scenarios are needed because the kernel refuses to start a sync daemon
while a mixed-family destination exists, and refuses a mixed-family
destination while a daemon runs (EINVAL both ways).
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

OUTPUT = pathlib.Path(__file__).parent / "data" / "ipvs_vectors.json"

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3

# IPVS commands used here (include/uapi/linux/ip_vs.h)
GET_SERVICE, GET_DEST, GET_DAEMON, GET_CONFIG, GET_INFO = 4, 8, 11, 13, 15
AF_INET, AF_INET6 = 2, 10
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
IPVSADM_PROTO = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}


# ----------------------------------------------------------------------------
# Scenarios: what ipvsadm is told, and the objects that describes (plain JSON)
# ----------------------------------------------------------------------------
#
# Plain form of a service:
#   key:  {"protocol": "tcp", "address": "10.0.0.1", "port": 80}
#      or {"fwmark": 2, "family": "inet6"}
#   scheduler, flags (list of ServiceFlags names), timeout, netmask (dotted
#   IPv4 mask or IPv6 prefix length), pe_name (or null), destinations.
# Plain form of a destination: address, port, forward, weight,
#   upper_threshold, lower_threshold, tunnel_type, tunnel_port, tunnel_flags
#   (list of TunnelFlags names).
#
# Defaults the kernel or ipvsadm fill in and that are therefore expected:
# ipvsadm sends timeout 0 and netmask 255.255.255.255 / 128 for services
# without -p, -p alone means 360 s, a destination is -g with weight 1,
# thresholds 0; a master daemon gets maxlen 1500-28, group 224.0.0.81,
# port 8848 and TTL 1.


def _svc(key: dict[str, Any], scheduler: str, **kw: Any) -> dict[str, Any]:
    v6 = key.get("family") == "inet6" or ":" in str(key.get("address", ""))
    out = {
        "key": key,
        "scheduler": scheduler,
        "flags": [],
        "timeout": 0,
        "netmask": 128 if v6 else "255.255.255.255",
        "pe_name": None,
        "destinations": [],
    }
    out.update(kw)
    return out


def _dest(address: str, port: int, forward: str = "route", **kw: Any) -> dict[str, Any]:
    out = {
        "address": address,
        "port": port,
        "forward": forward,
        "weight": 1,
        "upper_threshold": 0,
        "lower_threshold": 0,
        "tunnel_type": "ipip",
        "tunnel_port": 0,
        "tunnel_flags": [],
    }
    out.update(kw)
    return out


def _tcp(a: str, p: int) -> dict[str, Any]:
    return {"protocol": "tcp", "address": a, "port": p}


def _udp(a: str, p: int) -> dict[str, Any]:
    return {"protocol": "udp", "address": a, "port": p}


MAIN_COMMANDS = """\
--set 100 20 30
--start-daemon master --mcast-interface lo --syncid 7
--start-daemon backup --mcast-interface lo --syncid 8 --sync-maxlen 1400 \
--mcast-group ff02::1 --mcast-port 9000 --mcast-ttl 3
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 3 -x 100 -y 10
-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 0
-a -t 10.0.0.1:80 -r 10.1.0.3:80 -i -w 2 --tun-type ipip
-a -t 10.0.0.1:80 -r 10.1.0.4:80 -i --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 10.1.0.5:80 -i --tun-type gue --tun-port 443 --tun-remcsum
-a -t 10.0.0.1:80 -r 10.1.0.6:80 -i --tun-type gre --tun-nocsum
-a -t 10.0.0.1:80 -r 10.1.0.7:80 -i --tun-type gre --tun-csum
-A -t [2001:db8::1]:443 -s wlc -p 600 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8:1::1]:8443 -m -w 5 -x 1000
-a -t [2001:db8::1]:443 -r [2001:db8:1::2]:443 -i --tun-type gue --tun-port 6081 --tun-nocsum
-A -u 10.0.0.2:53 -s rr -o
-a -u 10.0.0.2:53 -r 10.1.1.1:53 -g -w 65535
-A -u [2001:db8::2]:53 -s sh -b sh-fallback,sh-port -o
-A --sctp-service 10.0.0.3:3868 -s mh -b mh-fallback,mh-port -p 60 -M 255.255.255.0
-a --sctp-service 10.0.0.3:3868 -r 10.1.2.1:3868 -m
-A -u 10.0.0.4:5060 -s rr -p --pe sip
-a -u 10.0.0.4:5060 -r 10.1.3.1:5060 -m -x 50 -y 40
-A -f 1 -s lc
-a -f 1 -r 10.1.4.1:0 -g
-A -f 2 -6 -s wrr -p 120 -M 48
-a -f 2 -6 -r [2001:db8:4::1]:0 -m -w 7
-A -t 10.0.0.5:8080 -s dh -b flag-1,flag-2,flag-3
"""

MAIN_SERVICES = [
    _svc(
        _tcp("10.0.0.1", 80),
        "rr",
        destinations=[
            _dest("10.1.0.1", 8080, "masq", weight=3, upper_threshold=100, lower_threshold=10),
            _dest("10.1.0.2", 80, "route", weight=0),
            _dest("10.1.0.3", 80, "tunnel", weight=2),
            _dest(
                "10.1.0.4", 80, "tunnel", tunnel_type="gue", tunnel_port=6080, tunnel_flags=["CSUM"]
            ),
            _dest(
                "10.1.0.5",
                80,
                "tunnel",
                tunnel_type="gue",
                tunnel_port=443,
                tunnel_flags=["REMCSUM"],
            ),
            _dest("10.1.0.6", 80, "tunnel", tunnel_type="gre"),
            _dest("10.1.0.7", 80, "tunnel", tunnel_type="gre", tunnel_flags=["CSUM"]),
        ],
    ),
    _svc(
        _tcp("2001:db8::1", 443),
        "wlc",
        flags=["PERSISTENT"],
        timeout=600,
        netmask=64,
        destinations=[
            _dest("2001:db8:1::1", 8443, "masq", weight=5, upper_threshold=1000),
            _dest("2001:db8:1::2", 443, "tunnel", tunnel_type="gue", tunnel_port=6081),
        ],
    ),
    _svc(
        _udp("10.0.0.2", 53),
        "rr",
        flags=["ONEPACKET"],
        destinations=[_dest("10.1.1.1", 53, weight=65535)],
    ),
    _svc(_udp("2001:db8::2", 53), "sh", flags=["ONEPACKET", "SCHED1", "SCHED2"]),
    _svc(
        {"protocol": "sctp", "address": "10.0.0.3", "port": 3868},
        "mh",
        flags=["PERSISTENT", "SCHED1", "SCHED2"],
        timeout=60,
        netmask="255.255.255.0",
        destinations=[_dest("10.1.2.1", 3868, "masq")],
    ),
    _svc(
        _udp("10.0.0.4", 5060),
        "rr",
        flags=["PERSISTENT"],
        timeout=360,
        pe_name="sip",
        destinations=[_dest("10.1.3.1", 5060, "masq", upper_threshold=50, lower_threshold=40)],
    ),
    _svc({"fwmark": 1, "family": "inet"}, "lc", destinations=[_dest("10.1.4.1", 0)]),
    _svc(
        {"fwmark": 2, "family": "inet6"},
        "wrr",
        flags=["PERSISTENT"],
        timeout=120,
        netmask=48,
        destinations=[_dest("2001:db8:4::1", 0, "masq", weight=7)],
    ),
    _svc(_tcp("10.0.0.5", 8080), "dh", flags=["SCHED1", "SCHED2", "SCHED3"]),
]

MAIN_DAEMONS = [
    {
        "state": "master",
        "interface": "lo",
        "sync_id": 7,
        "max_length": 1472,
        "group": "224.0.0.81",
        "port": 8848,
        "ttl": 1,
    },
    {
        "state": "backup",
        "interface": "lo",
        "sync_id": 8,
        "max_length": 1400,
        "group": "ff02::1",
        "port": 9000,
        "ttl": 3,
    },
]

MIXED_COMMANDS = """\
-A -t 10.0.0.10:80 -s rr
-a -t 10.0.0.10:80 -r [2001:db8:5::1]:80 -i --tun-type gre --tun-csum
-a -t 10.0.0.10:80 -r 10.1.5.1:80 -i
-A -u [2001:db8::10]:4789 -s rr
-a -u [2001:db8::10]:4789 -r 10.1.6.1:4789 -i --tun-type gue --tun-port 6080 --tun-remcsum
"""

MIXED_SERVICES = [
    _svc(
        _tcp("10.0.0.10", 80),
        "rr",
        destinations=[
            _dest("2001:db8:5::1", 80, "tunnel", tunnel_type="gre", tunnel_flags=["CSUM"]),
            _dest("10.1.5.1", 80, "tunnel"),
        ],
    ),
    _svc(
        _udp("2001:db8::10", 4789),
        "rr",
        destinations=[
            _dest(
                "10.1.6.1",
                4789,
                "tunnel",
                tunnel_type="gue",
                tunnel_port=6080,
                tunnel_flags=["REMCSUM"],
            ),
        ],
    ),
]

#: name -> (setup shell commands, ipvsadm -R input, expected plain objects)
SCENARIOS: dict[str, dict[str, Any]] = {
    "main": {
        "setup": [["ip", "link", "set", "lo", "multicast", "on"]],
        "commands": MAIN_COMMANDS,
        "expected": {
            "services": MAIN_SERVICES,
            "daemons": MAIN_DAEMONS,
            "timeouts": {"tcp": 100, "tcp_fin": 20, "udp": 30},
            "info": {"version": "1.2.1", "version_code": 0x010201, "connection_table_size": 4096},
        },
        # one GET_SERVICE doit (not a dump) for this service
        "get_one": _tcp("2001:db8::1", 443),
    },
    "mixed": {
        "setup": [],
        "commands": MIXED_COMMANDS,
        "expected": {
            "services": MIXED_SERVICES,
            "daemons": [],
            "timeouts": {"tcp": 900, "tcp_fin": 120, "udp": 300},
            "info": {"version": "1.2.1", "version_code": 0x010201, "connection_table_size": 4096},
        },
        "get_one": _udp("2001:db8::10", 4789),
    },
}


def service_label(key: dict[str, Any]) -> str:
    """Name a plain service key the way ipvsadm's command line does (``-t 1.2.3.4:80``)."""
    if "fwmark" in key:
        return f"-f {key['fwmark']}" + (" -6" if key["family"] == "inet6" else "")
    addr = key["address"]
    host = f"[{addr}]" if ":" in addr else addr
    return f"{IPVSADM_PROTO[key['protocol']]} {host}:{key['port']}"


# ----------------------------------------------------------------------------
# A raw generic netlink socket, independent of the library
# ----------------------------------------------------------------------------


def _nla(atype: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), atype) + payload + b"\0" * (-len(payload) % 4)


def service_identity_nest(key: dict[str, Any]) -> bytes:
    """Encode ``IPVS_CMD_ATTR_SERVICE`` holding only a service's identity."""
    if "fwmark" in key:
        af = AF_INET6 if key["family"] == "inet6" else AF_INET
        body = _nla(1, struct.pack("=H", af)) + _nla(5, struct.pack("=I", key["fwmark"]))
    else:
        v6 = ":" in key["address"]
        af = AF_INET6 if v6 else AF_INET
        raw = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, key["address"])
        body = (
            _nla(1, struct.pack("=H", af))
            + _nla(2, struct.pack("=H", PROTOCOLS[key["protocol"]]))
            + _nla(3, raw.ljust(16, b"\0"))
            + _nla(4, struct.pack("!H", key["port"]))
        )
    return _nla(1 | 0x8000, body)  # NLA_F_NESTED, as libnl does


def _messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    off = 0
    while off + 16 <= len(data):
        length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16 or off + length > len(data):
            raise ValueError(f"bad netlink length {length}")
        yield kind, flags, seq, data[off : off + length]
        off += (length + 3) & ~3


class RawGenl:
    """One generic netlink socket; :meth:`request` returns every reply message raw."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.bind((0, 0))
        self.seq = 100

    def close(self) -> None:
        self.sock.close()

    def request(self, family: int, cmd: int, body: bytes = b"", flags: int = 0) -> list[bytes]:
        """Send one request; return all reply messages (each a complete nlmsg, in order).

        A dump ends with NLMSG_DONE (kept), a doit with its reply plus the
        NLMSG_ERROR ack (kept too, as NLM_F_ACK is always sent for doits).
        """
        self.seq += 1
        seq = self.seq
        dump = bool(flags & NLM_F_DUMP)
        flags |= NLM_F_REQUEST | (0 if dump else NLM_F_ACK)
        genl = struct.pack("=BBH", cmd, 1, 0) + body
        self.sock.send(struct.pack("=IHHII", 16 + len(genl), family, flags, seq, 0) + genl)
        out: list[bytes] = []
        while True:
            data = self.sock.recv(1 << 20)
            for kind, _flags, mseq, raw in _messages(data):
                if mseq != seq:
                    continue
                out.append(raw)
                if kind == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", raw, 16)
                    if err:
                        raise OSError(-err, f"netlink error {-err} for command {cmd}")
                    return out
                if kind == NLMSG_DONE:
                    return out

    def family_id(self, name: str = "IPVS") -> int:
        raw = name.encode() + b"\0"
        (reply, _ack) = self.request(GENL_ID_CTRL, 3, _nla(2, raw))
        off = 20
        while off < len(reply):
            length, atype = struct.unpack_from("=HH", reply, off)
            if atype == 1:  # CTRL_ATTR_FAMILY_ID
                return int(struct.unpack_from("=H", reply, off + 4)[0])
            off += (length + 3) & ~3
        raise LookupError(name)


def _genl_payload(raw: bytes) -> bytes:
    return raw[20:]


def _service_key_from_reply(raw: bytes) -> dict[str, Any]:
    """Read a service dump message's identity by hand (to ask for its destinations)."""
    top = raw[20:]
    length, atype = struct.unpack_from("=HH", top, 0)
    assert atype & 0x3FFF == 1, atype
    nest = top[4:length]
    attrs: dict[int, bytes] = {}
    off = 0
    while off + 4 <= len(nest):
        alen, at = struct.unpack_from("=HH", nest, off)
        attrs[at & 0x3FFF] = nest[off + 4 : off + alen]
        off += (alen + 3) & ~3
    (af,) = struct.unpack("=H", attrs[1])
    family = "inet6" if af == AF_INET6 else "inet"
    if 5 in attrs:
        return {"fwmark": struct.unpack("=I", attrs[5])[0], "family": family}
    (proto,) = struct.unpack("=H", attrs[2])
    name = {v: k for k, v in PROTOCOLS.items()}[proto]
    if af == AF_INET6:
        addr = socket.inet_ntop(socket.AF_INET6, attrs[3])
    else:
        addr = socket.inet_ntop(socket.AF_INET, attrs[3][:4])
    return {"protocol": name, "address": addr, "port": struct.unpack("!H", attrs[4])[0]}


# ----------------------------------------------------------------------------
# Plain form -> library objects, and decoding stored replies (used by the tests)
# ----------------------------------------------------------------------------


def to_service(plain: dict[str, Any]) -> Any:
    """Build an :class:`ipvs.Service` from the plain form (destinations ignored)."""
    import ipvs

    key = plain["key"]
    if "fwmark" in key:
        skey = ipvs.ServiceKey.mark(key["fwmark"], key["family"])
    else:
        skey = ipvs.ServiceKey(protocol=key["protocol"], address=key["address"], port=key["port"])
    flags = ipvs.ServiceFlags(0)
    for name in plain["flags"]:
        flags |= ipvs.ServiceFlags[name]
    return ipvs.Service(
        key=skey,
        scheduler=plain["scheduler"],
        flags=flags,
        timeout=plain["timeout"],
        netmask=plain["netmask"],
        pe_name=plain["pe_name"],
    )


def to_destination(plain: dict[str, Any]) -> Any:
    """Build an :class:`ipvs.Destination` from the plain form."""
    import ipvs

    flags = ipvs.TunnelFlags(0)
    for name in plain["tunnel_flags"]:
        flags |= ipvs.TunnelFlags[name]
    return ipvs.Destination(
        address=plain["address"],
        port=plain["port"],
        forward=plain["forward"],
        weight=plain["weight"],
        upper_threshold=plain["upper_threshold"],
        lower_threshold=plain["lower_threshold"],
        tunnel_type=plain["tunnel_type"],
        tunnel_port=plain["tunnel_port"],
        tunnel_flags=flags,
    )


def to_daemon(plain: dict[str, Any]) -> Any:
    """Build an :class:`ipvs.SyncDaemon` from the plain form."""
    import ipvs

    return ipvs.SyncDaemon(**plain)


def expected_table(expected: dict[str, Any]) -> Any:
    """The :class:`ipvs.Table` an expected-objects block describes."""
    import ipvs

    return ipvs.Table(
        (to_service(s), [to_destination(d) for d in s["destinations"]])
        for s in expected["services"]
    )


def _header(raw: bytes) -> tuple[int, int, int, int]:
    """(length, type, flags, seq) of one stored message."""
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", raw)
    return length, kind, flags, seq


def decode_replies(replies: dict[str, Any]) -> dict[str, Any]:
    """Decode captured replies with the library's codec, checking the framing.

    Every data message must be a complete netlink message of the IPVS family
    with genl version 1 and the reply command the kernel uses; dumps must end
    with NLMSG_DONE carrying 0, doits with a success ack.

    Returns:
        {"services": [Service...] (dump order), "destinations": {label: [...]},
        "one": Service, "daemons": [...], "timeouts": Timeouts, "info": Info,
        "table": Table}
    """
    import ipvs
    from ipvs import netlink as C, netlink as N

    family_id = replies["family_id"]

    def payloads(hexes: list[str], reply_cmd: int, *, dump: bool) -> list[memoryview]:
        out: list[memoryview] = []
        for i, text in enumerate(hexes):
            raw = bytes.fromhex(text)
            (msg,) = list(N.iter_messages(raw))
            assert msg.type != NLMSG_ERROR or i == len(hexes) - 1
            if i == len(hexes) - 1:
                if dump:
                    assert msg.type == NLMSG_DONE, msg
                    assert N.decode_done(msg.payload) == 0
                else:
                    assert msg.type == NLMSG_ERROR, msg
                    assert N.decode_ack(msg.flags, msg.payload).error == 0
                continue
            assert msg.type == family_id, msg
            assert bool(msg.flags & 0x2) == dump, msg  # NLM_F_MULTI exactly on dumps
            cmd, version, area = N.split_genl(msg.payload)
            assert (cmd, version) == (reply_cmd, C.GENL_VERSION), (cmd, version)
            out.append(area)
        return out

    services = [
        C.decode_service(a)
        for a in payloads(replies["GET_SERVICE"], C.Command.NEW_SERVICE, dump=True)
    ]
    by_label = {}
    for svc in services:
        if svc.fwmark is not None:
            key = {"fwmark": svc.fwmark, "family": "inet6" if svc.family == 10 else "inet"}
        else:
            key = {
                "protocol": svc.protocol.name.lower(),
                "address": str(svc.address),
                "port": svc.port,
            }
        by_label[service_label(key)] = svc
    assert sorted(by_label) == sorted(replies["GET_DEST"]), "a service's destinations are missing"
    destinations = {
        label: [
            C.decode_destination(a, int(by_label[label].family))
            for a in payloads(hexes, C.Command.NEW_DEST, dump=True)
        ]
        for label, hexes in replies["GET_DEST"].items()
    }
    (one,) = [
        C.decode_service(a)
        for a in payloads(replies["GET_SERVICE_ONE"], C.Command.NEW_SERVICE, dump=False)
    ]
    daemons = [
        C.decode_daemon(a) for a in payloads(replies["GET_DAEMON"], C.Command.NEW_DAEMON, dump=True)
    ]
    (timeouts,) = [
        C.decode_timeouts(a)
        for a in payloads(replies["GET_CONFIG"], C.Command.SET_CONFIG, dump=False)
    ]
    (info,) = [
        C.decode_info(a) for a in payloads(replies["GET_INFO"], C.Command.SET_INFO, dump=False)
    ]
    table = ipvs.Table((svc, destinations[label]) for label, svc in by_label.items())
    return {
        "services": services,
        "destinations": destinations,
        "by_label": by_label,
        "one": one,
        "daemons": daemons,
        "timeouts": timeouts,
        "info": info,
        "table": table,
    }


# ----------------------------------------------------------------------------
# Building the state and capturing
# ----------------------------------------------------------------------------


def build(name: str) -> None:
    """Build a scenario's state in the current network namespace with ipvsadm."""
    scenario = SCENARIOS[name]
    for cmd in scenario["setup"]:
        subprocess.run(cmd, check=True)
    proc = subprocess.run(
        ["ipvsadm", "-R"], input=scenario["commands"], capture_output=True, text=True
    )
    if proc.returncode != 0 or proc.stderr:
        raise RuntimeError(f"ipvsadm -R failed ({proc.returncode}): {proc.stderr}")


def capture(name: str) -> dict[str, Any]:
    """Capture the replies for a scenario already built in this namespace.

    Returns:
        {"family_id", "GET_SERVICE", "GET_DEST": {label: [...]}, "GET_SERVICE_ONE",
        "GET_DAEMON", "GET_CONFIG", "GET_INFO"}, every message as hex.
    """
    nl = RawGenl()
    try:
        family = nl.family_id()
        services = nl.request(family, GET_SERVICE, flags=NLM_F_DUMP)
        dests: dict[str, list[str]] = {}
        for raw in services[:-1]:
            key = _service_key_from_reply(raw)
            replies = nl.request(family, GET_DEST, service_identity_nest(key), flags=NLM_F_DUMP)
            dests[service_label(key)] = [r.hex() for r in replies]
        one = nl.request(family, GET_SERVICE, service_identity_nest(SCENARIOS[name]["get_one"]))
        return {
            "family_id": family,
            "GET_SERVICE": [r.hex() for r in services],
            "GET_DEST": dests,
            "GET_SERVICE_ONE": [r.hex() for r in one],
            "GET_DAEMON": [r.hex() for r in nl.request(family, GET_DAEMON, flags=NLM_F_DUMP)],
            "GET_CONFIG": [r.hex() for r in nl.request(family, GET_CONFIG)],
            "GET_INFO": [r.hex() for r in nl.request(family, GET_INFO)],
        }
    finally:
        nl.close()


def _in_fresh_netns(name: str) -> dict[str, Any]:
    """Build and capture a scenario in a child process with a new network namespace."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        status = 1
        try:
            os.close(read)
            _unshare_net()
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            build(name)
            data = json.dumps(capture(name)).encode()
            with os.fdopen(write, "wb") as fh:
                fh.write(data)
            status = 0
        except BaseException as exc:
            print(f"capture of {name} failed: {exc!r}", file=sys.stderr)
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"capture of {name} failed")
    result: dict[str, Any] = json.loads(data)
    return result


def _unshare_net() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def main() -> int:
    if os.environ.get("IPVS_SANDBOX") != "1":
        print(
            "run me in the sandbox: python -m ipvs.testing.sandbox -- "
            ".venv/bin/python tests/capture_vectors.py",
            file=sys.stderr,
        )
        return 2
    ipvsadm = subprocess.run(["ipvsadm", "--version"], capture_output=True, text=True).stdout
    manifest: dict[str, Any] = {
        "about": (
            "IPVS generic netlink replies captured from a real kernel by "
            "tests/capture_vectors.py; every message is a complete netlink message "
            "(header included) in hex. 'expected' was written by hand from the "
            "ipvsadm input, not produced by a decoder."
        ),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "byteorder": sys.byteorder,
        "ipvsadm": ipvsadm.strip(),
        "scenarios": {},
    }
    for name, scenario in SCENARIOS.items():
        manifest["scenarios"][name] = {
            "setup": scenario["setup"],
            "commands": scenario["commands"],
            "get_one": scenario["get_one"],
            "expected": scenario["expected"],
            "replies": _in_fresh_netns(name),
        }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
