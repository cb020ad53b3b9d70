"""Reading ipvsadm rules: options, tokens, values, and applying rules to a table."""

from __future__ import annotations

import _socket  # the C module: socket.py costs start-up time
import re
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import attrs

from ipvs._model import (
    Destination,
    Family,
    ForwardMethod,
    Protocol,
    Service,
    ServiceEntry,
    ServiceFlags,
    ServiceKey,
    Table,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._checks import address_int, parse_v4, v4_from_int
from ipvs._model._trusted import unchecked_destination
from ipvs._plan import gc_paused
from ipvs.errors import ValidationError
from ipvs.formats.ipvsadm._rules import (
    AddDestination,
    AddService,
    Clear,
    DeleteDestination,
    DeleteService,
    EditDestination,
    EditService,
    Rule,
)
from ipvs.formats.ipvsadm._text import (
    DEFAULT_PERSISTENCE,
    INT_MAX,
    MAX_TIMEOUT,
    SCHED_MAXLEN,
    U32,
    Address,
    dest_text,
    ntop,
)

__all__ = ["parse", "parse_table"]


# --------------------------------------------------------------------------
# Option table
# --------------------------------------------------------------------------

_NONE, _REQUIRED, _OPTIONAL = 0, 1, 2


@attrs.frozen(slots=True)
class _Opt:
    name: str  # canonical id
    arg: int
    command: bool = False


_OPTS: dict[str, _Opt] = {}
_SHORT: dict[str, str] = {}
_LONG: dict[str, str] = {}


def _def(name: str, short: str | None, long: str | None, arg: int, command: bool = False) -> None:
    _OPTS[name] = _Opt(name, arg, command)
    if short:
        _SHORT[short] = name
    if long:
        _LONG[long] = name


# Commands handled here.
_def("A", "A", "add-service", _NONE, True)
_def("E", "E", "edit-service", _NONE, True)
_def("D", "D", "delete-service", _NONE, True)
_def("C", "C", "clear", _NONE, True)
_def("a", "a", "add-server", _NONE, True)
_def("e", "e", "edit-server", _NONE, True)
_def("d", "d", "delete-server", _NONE, True)
# Commands ipvsadm knows that are not service/destination rules.
for _s, _l, _a in (
    ("R", "restore", _NONE),
    ("S", "save", _NONE),
    ("L", "list", _NONE),
    ("l", None, _NONE),
    ("Z", "zero", _NONE),
    ("h", "help", _NONE),
    ("v", "version", _NONE),
    (None, "set", _NONE),
    (None, "start-daemon", _REQUIRED),
    (None, "stop-daemon", _REQUIRED),
):
    _def("cmd:" + (_l or _s or ""), _s, _l, _a, True)
# Options.
_def("t", "t", "tcp-service", _REQUIRED)
_def("u", "u", "udp-service", _REQUIRED)
_def("sctp", None, "sctp-service", _REQUIRED)
_def("f", "f", "fwmark-service", _REQUIRED)
_def("6", "6", "ipv6", _NONE)
_def("s", "s", "scheduler", _REQUIRED)
_def("b", "b", "sched-flags", _REQUIRED)
_def("p", "p", "persistent", _OPTIONAL)
_def("M", "M", "netmask", _REQUIRED)
_def("pe", None, "pe", _REQUIRED)
_def("o", "o", "ops", _NONE)
_def("r", "r", "real-server", _REQUIRED)
_def("g", "g", "gatewaying", _NONE)
_def("i", "i", "ipip", _NONE)
_def("m", "m", "masquerading", _NONE)
_def("w", "w", "weight", _REQUIRED)
_def("x", "x", "u-threshold", _REQUIRED)
_def("y", "y", "l-threshold", _REQUIRED)
_def("tun-type", None, "tun-type", _REQUIRED)
_def("tun-port", None, "tun-port", _REQUIRED)
_def("tun-nocsum", None, "tun-nocsum", _NONE)
_def("tun-csum", None, "tun-csum", _NONE)
_def("tun-remcsum", None, "tun-remcsum", _NONE)
# Options ipvsadm accepts only with other commands (listing, daemons, ...).
for _s, _l, _a in (
    ("n", "numeric", _NONE),
    ("c", "connection", _NONE),
    (None, "timeout", _NONE),
    (None, "daemon", _NONE),
    (None, "stats", _NONE),
    (None, "rate", _NONE),
    (None, "thresholds", _NONE),
    (None, "persistent-conn", _NONE),
    (None, "nosort", _NONE),
    (None, "sort", _NONE),
    ("X", "exact", _NONE),
    (None, "mcast-interface", _REQUIRED),
    (None, "syncid", _REQUIRED),
    (None, "sync-maxlen", _REQUIRED),
    (None, "mcast-group", _REQUIRED),
    (None, "mcast-port", _REQUIRED),
    (None, "mcast-ttl", _REQUIRED),
):
    _def("other:" + (_l or _s or ""), _s, _l, _a)

_SERVICE_OPTS = frozenset({"t", "u", "sctp", "f", "6"})
_FWD_OPTS = frozenset({"g", "i", "m"})
_TUN_OPTS = frozenset({"tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum"})
_ALLOWED: dict[str, frozenset[str]] = {
    "A": _SERVICE_OPTS | {"s", "b", "p", "M", "pe", "o"},
    "E": _SERVICE_OPTS | {"s", "b", "p", "M", "pe", "o"},
    "D": _SERVICE_OPTS,
    "C": frozenset(),
    "a": _SERVICE_OPTS | {"r", "w", "x", "y"} | _FWD_OPTS | _TUN_OPTS,
    "e": _SERVICE_OPTS | {"r", "w", "x", "y"} | _FWD_OPTS | _TUN_OPTS,
    "d": _SERVICE_OPTS | {"r"},
}
_COMMAND_NAMES = {
    "A": "-A (--add-service)",
    "E": "-E (--edit-service)",
    "D": "-D (--delete-service)",
    "C": "-C (--clear)",
    "a": "-a (--add-server)",
    "e": "-e (--edit-server)",
    "d": "-d (--delete-server)",
}
# Options that name the same setting: giving two of a group is an error.
_GROUP = {"t": "svc", "u": "svc", "sctp": "svc", "f": "svc", "g": "fwd", "i": "fwd", "m": "fwd"}

_SCHED_FLAG_NAMES = {
    "flag-1": (ServiceFlags.SCHED1, None),
    "flag-2": (ServiceFlags.SCHED2, None),
    "flag-3": (ServiceFlags.SCHED3, None),
    "sh-fallback": (ServiceFlags.SCHED1, "sh"),
    "sh-port": (ServiceFlags.SCHED2, "sh"),
    "mh-fallback": (ServiceFlags.SCHED1, "mh"),
    "mh-port": (ServiceFlags.SCHED2, "mh"),
}


class _LineError(Exception):
    """A problem on the current line (the line number is added later)."""


# --------------------------------------------------------------------------
# Tokenising (popt-compatible)
# --------------------------------------------------------------------------


@attrs.frozen(slots=True)
class _Item:
    opt: str  # canonical id
    value: str | None
    text: str  # the option as written, for messages


def _split(line: str) -> list[str]:
    """Split a line into words as ipvsadm does (space, tab, CR, LF), without ``ipvsadm``."""
    if line.isascii() and "\x1f" not in line:
        # after splitlines() only space, tab and \x1f are left of str.split()'s whitespace
        words = line.split()
    else:
        words = [t for t in re.split(r"[ \t\r\n]+", line) if t]
    if "ipvsadm" in words:
        words = [t for t in words if t != "ipvsadm"]
    return words


def _tokenise(tokens: list[str]) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok == "--":
            if i < len(tokens):
                raise _LineError(f"unexpected argument {tokens[i]!r}")
            break
        if tok.startswith("--"):
            name, eq, attached = tok[2:].partition("=")
            if name not in _LONG:
                raise _LineError(f"unknown option {tok!r}")
            opt = _OPTS[_LONG[name]]
            text = "--" + name
            if opt.arg == _NONE:
                if eq:
                    raise _LineError(f"option {text} takes no argument, got {tok!r}")
                items.append(_Item(opt.name, None, text))
            elif eq:
                items.append(_Item(opt.name, attached, text))
            elif opt.arg == _REQUIRED:
                if i >= len(tokens):
                    raise _LineError(f"option {text} needs an argument")
                items.append(_Item(opt.name, tokens[i], text))
                i += 1
            elif i < len(tokens) and not tokens[i].startswith("-"):
                items.append(_Item(opt.name, tokens[i], text))
                i += 1
            else:
                items.append(_Item(opt.name, None, text))
            continue
        if tok.startswith("-") and len(tok) > 1:
            j = 1
            while j < len(tok):
                ch = tok[j]
                j += 1
                if ch not in _SHORT:
                    raise _LineError(
                        f"unknown option '-{ch}'" + (f" in {tok!r}" if len(tok) > 2 else "")
                    )
                opt = _OPTS[_SHORT[ch]]
                text = "-" + ch
                if opt.arg == _NONE:
                    items.append(_Item(opt.name, None, text))
                    continue
                rest = tok[j:]
                if rest:
                    items.append(_Item(opt.name, rest, text))
                elif opt.arg == _REQUIRED:
                    if i >= len(tokens):
                        raise _LineError(f"option {text} needs an argument")
                    items.append(_Item(opt.name, tokens[i], text))
                    i += 1
                elif i < len(tokens) and not tokens[i].startswith("-"):
                    items.append(_Item(opt.name, tokens[i], text))
                    i += 1
                else:
                    items.append(_Item(opt.name, None, text))
                break
            continue
        raise _LineError(f"unexpected argument {tok!r}")
    return items


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

_DECIMAL = re.compile(r"[+-]?[0-9]+\Z")
_NAME = re.compile(r"[A-Za-z0-9_.+-]*[A-Za-z_][A-Za-z0-9_.+-]*\Z")


def _shown(text: str) -> str:
    """A value for a message, cut short when it is long."""
    return text if len(text) <= 24 else text[:20] + "..."


def _number(text: str, lo: int, hi: int, what: str, opt: str) -> int:
    """Read a decimal integer the way ipvsadm does (``strtol``, base 10)."""
    if not _DECIMAL.match(text):
        raise _LineError(f"{opt} {_shown(text)}: {what} must be a decimal integer in {lo}..{hi}")
    if len(text) > 24:  # longer than any bound: no need to convert it
        raise _LineError(f"{opt} {_shown(text)}: {what} must be in {lo}..{hi}")
    value = int(text)
    if not lo <= value <= hi:
        raise _LineError(f"{opt} {text}: {what} must be in {lo}..{hi}")
    return value


def _c_ulong(text: str) -> int | None:
    """Read one ``inet_aton`` part (C ``strtoul`` with base 0); None if invalid."""
    if len(text) > 40:  # no part of an address is this long
        return None
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return int(text[2:], 16)
    if re.fullmatch(r"0[0-7]*", text):
        return int(text, 8)
    if re.fullmatch(r"[1-9][0-9]*", text):
        return int(text)
    return None


def _inet_aton(text: str) -> IPv4Address | None:
    """Parse an IPv4 address like glibc's ``inet_aton`` (1 to 4 parts)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_c_ulong(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [v for v in values if v is not None]
    last_bits = 32 - 8 * (len(nums) - 1)
    if any(v > 255 for v in nums[:-1]) or nums[-1] >= 1 << last_bits:
        return None
    value = 0
    for v in nums[:-1]:
        value = (value << 8) | v
    value = (value << last_bits) | nums[-1]
    return IPv4Address(value)


def _inet_pton6(text: str) -> IPv6Address | None:
    if "%" in text or not text or not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return None
    try:
        return IPv6Address(text)
    except ValueError:
        return None


_SERVICE_PROTOCOLS = {Protocol.TCP: "tcp", Protocol.UDP: "udp", Protocol.SCTP: "sctp"}


class _Names:
    """Host and service names in rules, resolved as ipvsadm resolves them, or refused.

    ipvsadm resolves a host name with ``gethostbyname`` (IPv4) and a port
    name with ``getservbyname`` for the service's protocol (the system's
    services database, ``/etc/services``). Each name is looked up once per
    parse. A bracketed name (``[name]:port``, which ``ipvsadm -S`` prints
    for IPv6 services) is resolved to an IPv6 address, which ipvsadm itself
    cannot do.
    """

    def __init__(self, resolve: bool) -> None:
        self.resolve = resolve
        self.hosts: dict[tuple[str, bool], Address] = {}
        self.ports: dict[tuple[str, str], int] = {}

    def host(self, name: str, text: str, opt: str, *, v6: bool) -> Address:
        if not _NAME.match(name):
            if v6:
                raise _LineError(f"{opt} {text}: invalid IPv6 address (use [address]:port)")
            raise _LineError(f"{opt} {_shown(name)!r}: invalid IP address")
        if not self.resolve:
            raise _LineError(
                f"{opt} {_shown(name)!r}: host names are not resolved here (names refused); "
                "give a numeric IPv4 or IPv6 address"
            )
        found = self.hosts.get((name, v6))
        if found is None:
            try:
                if v6:
                    info = _socket.getaddrinfo(name, None, _socket.AF_INET6, _socket.SOCK_STREAM)
                    found = IPv6Address(str(info[0][4][0]).partition("%")[0])
                else:
                    found = IPv4Address(_socket.gethostbyname(name))
            except (OSError, UnicodeError, ValueError, IndexError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                kind = "an IPv6 address" if v6 else "an IPv4 address"
                raise _LineError(
                    f"{opt} {_shown(text)}: cannot resolve the host name {_shown(name)!r} "
                    f"to {kind} ({reason})"
                ) from None
            self.hosts[(name, v6)] = found
        return found

    def port(self, name: str, full: str, opt: str, protocol: Protocol | None) -> int:
        if not _NAME.match(name):
            raise _LineError(f"{opt} {full}: invalid port {_shown(name)!r}")
        if not self.resolve:
            raise _LineError(
                f"{opt} {_shown(full)}: service names such as {_shown(name)!r} are not "
                "resolved here (names refused); give a numeric port"
            )
        proto = _SERVICE_PROTOCOLS.get(protocol)  # type: ignore[arg-type]
        if proto is None:
            raise _LineError(
                f"{opt} {_shown(full)}: the port name {_shown(name)!r} needs the service's "
                "protocol (-t, -u or --sctp-service before it)"
            )
        found = self.ports.get((name, proto))
        if found is None:
            try:
                found = _socket.getservbyname(name, proto)
            except (OSError, UnicodeError) as exc:
                raise _LineError(
                    f"{opt} {_shown(full)}: unknown service name {_shown(name)!r} for {proto} "
                    f"(not in the services database: {exc})"
                ) from None
            self.ports[(name, proto)] = found
        return found


def _parse_port(text: str, full: str, opt: str, names: _Names, protocol: Protocol | None) -> int:
    if _DECIMAL.match(text):
        value = int(text) if len(text) <= 6 else -1
        if 0 <= value <= 0xFFFF:
            return value
        raise _LineError(f"{opt} {_shown(full)}: port must be in 0..65535")
    return names.port(text, full, opt, protocol)


def _host_port(
    text: str, opt: str, names: _Names, protocol: Protocol | None
) -> tuple[Address, int | None]:
    """Parse ``host[:port]`` as ipvsadm does; the port is None when omitted."""
    if text.startswith("["):
        inner, sep, rest = text[1:].partition("]")
        if not sep:
            raise _LineError(f"{opt} {text}: invalid IPv6 address (use [address]:port)")
        if not rest.startswith(":") or rest == ":":
            raise _LineError(f"{opt} {text}: a bracketed IPv6 address needs ':port' after ']'")
        bracketed: Address | None = _inet_pton6(inner)
        if bracketed is None:
            bracketed = names.host(inner, text, opt, v6=True)
        return bracketed, _parse_port(rest[1:], text, opt, names, protocol)
    if text.count(":") > 1:  # an IPv6 address has at least two colons
        addr6 = _inet_pton6(text)
        if addr6 is not None:
            return addr6, None
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, ""
    if sep and not port_text:
        raise _LineError(f"{opt} {text}: missing port after ':'")
    if not host:
        raise _LineError(f"{opt} {text}: missing address")
    if ":" in host:
        raise _LineError(f"{opt} {text}: put an IPv6 address in brackets: [address]:port")
    if not sep and host.isdigit():
        raise _LineError(f"{opt} {text}: a bare number is not an address (ipvsadm refuses it)")
    addr4: Address | None = parse_v4(host) or _inet_aton(host)  # inet_aton's value
    if addr4 is None:
        addr4 = names.host(host, text, opt, v6=False)
    port = _parse_port(port_text, text, opt, names, protocol) if sep else None
    return addr4, port


# --------------------------------------------------------------------------
# Parsing one rule
# --------------------------------------------------------------------------


class _Rule:
    """The options of one rule, accumulated in order like ipvsadm does."""

    def __init__(self, command: str, names: _Names) -> None:
        self.command = command
        self.names = names
        self.seen: dict[str, str] = {}
        self.family = Family.INET
        self.protocol: Protocol | None = None
        self.address: Address | None = None
        self.port = 0
        self.fwmark: int | None = None
        self.netmask: IPv4Address | int = IPv4Address(U32)
        self.scheduler = "wlc"
        self.sched_flags: str | None = None
        self.persistent: int | None = None
        self.pe_name: str | None = None
        self.onepacket = False
        self.dest: Address | None = None
        self.dest_port = 0
        self.forward = ForwardMethod.ROUTE
        self.weight = 1
        self.upper = 0
        self.lower = 0
        self.tun_type: TunnelType | None = None
        self.tun_port: int | None = None
        self.csum: list[str] = []

    def apply(self, item: _Item) -> None:
        name, value, text = item.opt, item.value, item.text
        if name not in _ALLOWED[self.command]:
            raise _LineError(f"option {text} is not allowed with {_COMMAND_NAMES[self.command]}")
        group = _GROUP.get(name, name)
        if group in self.seen and name != "6":
            if group == "svc":
                raise _LineError(f"{text}: the service is already given by {self.seen[group]}")
            if group == "fwd":
                raise _LineError(
                    f"{text}: the forwarding method is already given by {self.seen[group]}"
                )
            raise _LineError(f"option {text} is given twice")
        self.seen[group] = text
        getattr(self, "_opt_" + name.replace("-", "_"))(value or "", text)

    # service ------------------------------------------------------------------

    def _service(self, protocol: Protocol, value: str, text: str) -> None:
        addr, port = _host_port(value, text, self.names, protocol)
        self.protocol, self.address, self.port = protocol, addr, port or 0
        if addr.version == 6:
            self.family = Family.INET6
            self.netmask = 128
        else:
            self.family = Family.INET

    def _opt_t(self, value: str, text: str) -> None:
        self._service(Protocol.TCP, value, text)

    def _opt_u(self, value: str, text: str) -> None:
        self._service(Protocol.UDP, value, text)

    def _opt_sctp(self, value: str, text: str) -> None:
        self._service(Protocol.SCTP, value, text)

    def _opt_f(self, value: str, text: str) -> None:
        self.fwmark = _number(value, 1, U32, "the firewall mark", text)
        self.family = Family.INET

    def _opt_6(self, value: str, text: str) -> None:
        if self.fwmark is None:
            raise _LineError(f"{text} is only allowed after -f (--fwmark-service)")
        self.family = Family.INET6
        self.netmask = 128

    def _opt_s(self, value: str, text: str) -> None:
        self.scheduler = value[:SCHED_MAXLEN]

    def _opt_b(self, value: str, text: str) -> None:
        self.sched_flags = value

    def _opt_p(self, value: str, text: str) -> None:
        if not value:
            self.persistent = DEFAULT_PERSISTENCE
        else:
            self.persistent = _number(value, 1, MAX_TIMEOUT, "the persistence timeout", text)

    def _opt_M(self, value: str, text: str) -> None:
        if self.family == Family.INET6:
            self.netmask = _number(value, 1, 128, "an IPv6 netmask (prefix length)", text)
            return
        mask = _inet_aton(value)
        if mask is None:
            if _NAME.match(value):
                raise _LineError(f"{text} {value}: host names are not resolved; give a dotted mask")
            raise _LineError(f"{text} {value}: invalid IPv4 netmask")
        self.netmask = mask

    def _opt_pe(self, value: str, text: str) -> None:
        self.pe_name = value

    def _opt_o(self, value: str, text: str) -> None:
        self.onepacket = True

    # destination ----------------------------------------------------------------

    def _opt_r(self, value: str, text: str) -> None:
        addr, port = _host_port(value, text, self.names, self.protocol)
        self.dest = addr
        self.dest_port = port if port is not None else self.port

    def _opt_g(self, value: str, text: str) -> None:
        self.forward = ForwardMethod.ROUTE

    def _opt_i(self, value: str, text: str) -> None:
        self.forward = ForwardMethod.TUNNEL

    def _opt_m(self, value: str, text: str) -> None:
        self.forward = ForwardMethod.MASQ

    def _opt_w(self, value: str, text: str) -> None:
        self.weight = _number(value, 0, INT_MAX, "the weight", text)

    def _opt_x(self, value: str, text: str) -> None:
        self.upper = _number(value, 0, INT_MAX, "the upper threshold", text)

    def _opt_y(self, value: str, text: str) -> None:
        self.lower = _number(value, 0, INT_MAX, "the lower threshold", text)

    def _opt_tun_type(self, value: str, text: str) -> None:
        types = {"ipip": TunnelType.IPIP, "gue": TunnelType.GUE, "gre": TunnelType.GRE}
        if value not in types:
            raise _LineError(f"{text} {value}: the tunnel type must be ipip, gue or gre")
        self.tun_type = types[value]

    def _opt_tun_port(self, value: str, text: str) -> None:
        self.tun_port = _number(value, 1, 0xFFFF, "the tunnel port", text)

    def _opt_tun_nocsum(self, value: str, text: str) -> None:
        self.csum.append(text)

    _opt_tun_csum = _opt_tun_nocsum
    _opt_tun_remcsum = _opt_tun_nocsum

    # results ------------------------------------------------------------------

    def key(self) -> ServiceKey:
        if "svc" not in self.seen:
            raise _LineError(
                f"{_COMMAND_NAMES[self.command]} needs a service: -t, -u, --sctp-service or -f"
            )
        if self.fwmark is not None:
            return ServiceKey(fwmark=self.fwmark, family=self.family)
        return ServiceKey(protocol=self.protocol, address=self.address, port=self.port)

    def service(self) -> Service:
        key = self.key()
        flags = ServiceFlags(0)
        if self.persistent is not None:
            flags |= ServiceFlags.PERSISTENT
        if key.fwmark is None and key.port == 0 and self.persistent is None:
            raise _LineError(
                f"{self.seen['svc']}: port 0 is only allowed for a persistent service (add -p)"
            )
        if self.onepacket:
            if key.fwmark is None and key.protocol != Protocol.UDP:
                raise _LineError("-o (--ops) is only allowed for UDP and fwmark services")
            flags |= ServiceFlags.ONEPACKET
        if self.sched_flags is not None:
            flags |= self._sched_flags()
        return Service(
            key=key,
            scheduler=self.scheduler,
            flags=flags,
            timeout=self.persistent or 0,
            netmask=self.netmask,
            pe_name=self.pe_name,
        )

    def _sched_flags(self) -> ServiceFlags:
        assert self.sched_flags is not None
        text = self.seen["b"]
        names = [n for n in self.sched_flags.split(",") if n]
        if not names and self.sched_flags:
            raise _LineError(f"{text} {self.sched_flags}: no scheduler flag given")
        flags = ServiceFlags(0)
        for name in names:
            if name not in _SCHED_FLAG_NAMES:
                known = ", ".join(_SCHED_FLAG_NAMES)
                raise _LineError(
                    f"{text} {self.sched_flags}: unknown scheduler flag {name!r} (known: {known})"
                )
            bit, scheduler = _SCHED_FLAG_NAMES[name]
            if scheduler is not None and scheduler != self.scheduler:
                raise _LineError(
                    f"{text} {self.sched_flags}: flag {name!r} needs -s {scheduler} "
                    f"(the scheduler is {self.scheduler!r})"
                )
            flags |= bit
        return flags

    def destination_address(self) -> tuple[Address, int]:
        if self.dest is None:
            raise _LineError(
                f"{_COMMAND_NAMES[self.command]} needs a real server: -r address[:port]"
            )
        return self.dest, self.dest_port

    def destination(self, key: ServiceKey) -> Destination:
        addr, port = self.destination_address()
        if key.fwmark is None and self.forward in (ForwardMethod.ROUTE, ForwardMethod.TUNNEL):
            port = self.port
        if addr.version != (6 if key.family == Family.INET6 else 4) and (
            self.forward != ForwardMethod.TUNNEL
        ):
            raise _LineError(
                f"{self.seen['r']} {_describe(addr)}: a real server of another address family "
                "than the service needs -i (tunnelling)"
            )
        tun_type, tun_port, tun_flags = self._tunnel()
        return Destination(
            address=addr,
            port=port,
            forward=self.forward,
            weight=self.weight,
            upper_threshold=self.upper,
            lower_threshold=self.lower,
            tunnel_type=tun_type,
            tunnel_port=tun_port,
            tunnel_flags=tun_flags,
        )

    def _tunnel(self) -> tuple[TunnelType, int, TunnelFlags]:
        given = [self.seen[o] for o in ("tun-type", "tun-port") if o in self.seen] + self.csum
        if not given:
            return TunnelType.IPIP, 0, TunnelFlags.NOCSUM
        if self.forward != ForwardMethod.TUNNEL:
            raise _LineError(f"{given[0]}: tunnel options need -i (--ipip)")
        kind = self.tun_type if self.tun_type is not None else TunnelType.IPIP
        name = kind.name.lower()
        extra = [self.seen["tun-port"]] if "tun-port" in self.seen else []
        extra += self.csum
        if kind == TunnelType.IPIP and extra:
            raise _LineError(f"{extra[0]} is not allowed with the ipip tunnel type")
        if kind == TunnelType.GUE and self.tun_port is None:
            raise _LineError("--tun-type gue needs --tun-port")
        if kind == TunnelType.GRE:
            if self.tun_port is not None:
                raise _LineError("--tun-port is not allowed with the gre tunnel type")
            if "--tun-remcsum" in self.csum:
                raise _LineError("--tun-remcsum is not allowed with the gre tunnel type")
        if len(self.csum) > 1:
            raise _LineError(
                f"{self.csum[1]} conflicts with {self.csum[0]} (a {name} tunnel takes "
                "one checksum option)"
            )
        flags = {
            "--tun-csum": TunnelFlags.CSUM,
            "--tun-remcsum": TunnelFlags.REMCSUM,
        }.get(self.csum[0] if self.csum else "", TunnelFlags.NOCSUM)
        return kind, self.tun_port or 0, flags


def _describe(addr: Address) -> str:
    return f"[{ntop(addr)}]" if addr.version == 6 else str(addr)


def _parse_line(tokens: list[str], number: int, names: _Names) -> Rule:
    items = _tokenise(tokens)
    if not items:
        raise _LineError("no command")
    first = _OPTS[items[0].opt]
    if not first.command:
        raise _LineError(
            "the first option must be a command (-A, -E, -D, -a, -e, -d or -C), "
            f"got {items[0].text}"
        )
    if items[0].opt not in _ALLOWED:
        raise _LineError(f"command {items[0].text} is not supported in rules")
    rule = _Rule(items[0].opt, names)
    for item in items[1:]:
        if _OPTS[item.opt].command:
            raise _LineError(f"a second command {item.text} after {items[0].text}")
        rule.apply(item)
    cmd = rule.command
    if cmd == "C":
        return Clear(line=number)
    if cmd == "A":
        return AddService(rule.service(), line=number)
    if cmd == "E":
        return EditService(rule.service(), line=number)
    if cmd == "D":
        return DeleteService(rule.key(), line=number)
    key = rule.key()
    if cmd == "d":
        addr, port = rule.destination_address()
        return DeleteDestination(key, addr, port, line=number)
    dest = rule.destination(key)
    if cmd == "a":
        return AddDestination(key, dest, line=number)
    return EditDestination(key, dest, line=number)


_SERVICE_OPTION = {"-t": Protocol.TCP, "-u": Protocol.UDP}
_FORWARD_OPTION = {"-m": ForwardMethod.MASQ, "-g": ForwardMethod.ROUTE, "-i": ForwardMethod.TUNNEL}
_MASQ = ForwardMethod.MASQ
_INET, _IPIP, _NOCSUM = Family.INET, TunnelType.IPIP, TunnelFlags.NOCSUM
_inet_pton, _AF_INET, _from_bytes = _socket.inet_pton, _socket.AF_INET, int.from_bytes


class _Reader:
    """Reads rules line by line: the common shapes directly, the rest by the full parser.

    ``ipvsadm -Sn`` writes most lines in two shapes, ``-A -t|-u ADDR:PORT -s
    SCHED`` and ``-a -t|-u ADDR:PORT -r ADDR:PORT -m|-g|-i -w WEIGHT``. For
    those (with dotted-quad addresses, decimal numbers, and the service spec
    cached), the reader builds the objects itself, which is what the full
    parser would build; any other line, and any value that is not plainly
    valid, goes to the full parser, which decides and words the error.
    """

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.specs: dict[tuple[str, str], tuple[ServiceKey, int] | None] = {}

    def _spec(self, option: str, text: str) -> tuple[ServiceKey, int] | None:
        """The key and port of ``-t``/``-u ADDR:PORT`` in its plain form, else None."""
        found = self.specs.get((option, text), False)
        if found is not False:
            return found  # type: ignore[return-value]
        host, sep, port_text = text.rpartition(":")
        addr = parse_v4(host) if sep else None
        result = None
        if addr is not None and port_text.isdigit() and len(port_text) <= 5:
            port = int(port_text)
            if port <= 0xFFFF:
                result = (
                    ServiceKey(protocol=_SERVICE_OPTION[option], address=addr, port=port),
                    port,
                )
        if len(self.specs) < 65536:
            self.specs[(option, text)] = result
        return result

    def fast(self, words: list[str]) -> Service | tuple[ServiceKey, Destination] | None:
        """A new service or a (key, destination) for the common shapes; None otherwise."""
        n = len(words)
        if n == 8 and words[0] == "-a":
            _, option, spec, r, real, fwd_option, w, weight_text = words
            forward = _FORWARD_OPTION.get(fwd_option)
            if r != "-r" or w != "-w" or forward is None or option not in _SERVICE_OPTION:
                return None
            service = self.specs.get((option, spec), False)
            if service is False:
                service = self._spec(option, spec)
            if service is None or not weight_text.isdigit() or len(weight_text) > 10:
                return None
            weight = int(weight_text)
            host, sep, port_text = real.rpartition(":")
            if weight > INT_MAX or not sep or not port_text.isdigit() or len(port_text) > 5:
                return None
            try:
                packed = _inet_pton(_AF_INET, host)
            except (OSError, ValueError):
                return None
            port = int(port_text)
            if port > 0xFFFF:
                return None
            key, service_port = service  # type: ignore[misc]
            if forward is not _MASQ:
                port = service_port  # ipvsadm: -g and -i keep the service's port
            return key, unchecked_destination(
                v4_from_int(_from_bytes(packed, "big")),
                port,
                _INET,
                forward,
                weight,
                0,
                0,
                _IPIP,
                0,
                _NOCSUM,
                0,
                0,
                0,
                None,
            )
        if n == 5 and words[0] == "-A" and words[3] == "-s":
            option, spec = words[1], words[2]
            if option not in _SERVICE_OPTION:
                return None
            service = self._spec(option, spec)
            if service is None or service[1] == 0:  # port 0 needs -p: the full parser says so
                return None
            return Service(key=service[0], scheduler=words[4][:SCHED_MAXLEN])
        return None

    def rules(
        self, text: str
    ) -> Iterator[tuple[int, Rule | Service | tuple[ServiceKey, Destination]]]:
        """Yield each rule with its line number (common shapes as objects, not rules)."""
        for number, line in enumerate(_lines(text), start=1):
            if line.lstrip(" \t").startswith("#"):
                continue
            words = _split(line)
            if not words:
                continue
            try:
                fast = self.fast(words) if line.isascii() else None
                yield number, fast if fast is not None else _parse_line(words, number, self.names)
            except (_LineError, ValidationError) as exc:
                raise ValidationError(f"line {number}: {exc}") from None


_OTHER_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``str.splitlines()``, one at a time where the text allows.

    A rules file of 100,000 lines would otherwise be held as 100,000 strings
    at once. Only ``\\n`` breaks lines in an ASCII text without other line
    boundaries; anything else is left to ``splitlines``.
    """
    if not text.isascii() or not _OTHER_BREAKS.isdisjoint(text):
        yield from text.splitlines()
        return
    start = 0
    find = text.find
    while True:
        end = find("\n", start)
        if end < 0:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _as_rule(number: int, item: Rule | Service | tuple[ServiceKey, Destination]) -> Rule:
    if isinstance(item, Service):
        return AddService(item, line=number)
    if isinstance(item, tuple):
        return AddDestination(item[0], item[1], line=number)
    return item


def _text(text: object, where: str) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        from ipvs.formats import decode_text

        return decode_text(text)
    raise ValidationError(f"{where}: the text must be a str or bytes, got {type(text).__name__}")


def parse(text: str | bytes, *, resolve: bool = True) -> list[Rule]:
    """Parse ipvsadm save/restore rules (the input of ``ipvsadm -R``).

    Each non-blank line not starting with ``#`` is one rule: a command
    (``-A``, ``-E``, ``-D``, ``-a``, ``-e``, ``-d``, ``-C`` or their long
    forms) followed by its options, written as ipvsadm accepts them (short
    options may be clustered or carry their value, ``--long=value`` works,
    ``-p`` takes an optional timeout). Words equal to ``ipvsadm`` are
    ignored. ipvsadm's defaults are applied: scheduler ``wlc``, weight 1,
    direct routing, persistence timeout 360, the real-server port defaults
    to the service port.

    Host and port names (``-t www.example.com:http``, as ``ipvsadm -S``
    without ``-n`` prints them) are resolved as ``ipvsadm -R`` resolves
    them: host names through the system's resolver to IPv4 addresses, port
    names through the services database (``/etc/services``) for the
    service's protocol. A bracketed name (``[name]:port``) is resolved to an
    IPv6 address. With ``resolve=False`` names are refused, and parsing
    makes no lookups at all.

    Args:
        text: the rules (bytes are decoded as UTF-8).
        resolve: resolve host and port names (True, as ipvsadm does) or
            refuse them (False).

    Returns:
        The commands, in input order; each remembers its line number.

    Raises:
        ValidationError: a line is malformed, breaks one of ipvsadm's rules,
            or names a host or port that does not resolve; the message
            starts with ``line N:`` and names the offending option or value.

    Example:
        >>> [cmd] = parse("-A -t 10.0.0.1:80 -s rr")
        >>> cmd.service.describe(), cmd.service.scheduler
        ('TCP 10.0.0.1:80', 'rr')
        >>> [cmd] = parse("-A -u 127.0.0.1:domain")  # the services database: 53/udp
        >>> cmd.service.describe()
        'UDP 127.0.0.1:53'
    """
    text = _text(text, "parse")
    reader = _Reader(_Names(resolve))
    return [_as_rule(number, item) for number, item in reader.rules(text)]


# --------------------------------------------------------------------------
# Applying commands
# --------------------------------------------------------------------------


_State = dict[ServiceKey, tuple[Service, dict[tuple[int, int], Destination]]]


def _dkey(address: Address, port: int) -> tuple[int, int]:
    """A destination's key within its service: the address as an integer, and the port."""
    return address_int(address), port


def _apply(state: _State, cmd: Rule, lines: dict[object, int]) -> None:
    if isinstance(cmd, Clear):
        lines.clear()
        state.clear()
        return
    if isinstance(cmd, AddService):
        key = cmd.service.key
        if key in state:
            where = f" (added on line {lines[key]})" if key in lines else ""
            raise _LineError(f"service {key.describe()} already exists{where}")
        lines[key] = cmd.line
        state[key] = (cmd.service, {})
        return
    if isinstance(cmd, EditService):
        key = cmd.service.key
    elif isinstance(cmd, DeleteService):
        key = cmd.key
    else:
        key = cmd.service_key
    if key not in state:
        raise _LineError(f"no such service: {key.describe()}")
    if isinstance(cmd, EditService):
        state[key] = (cmd.service, state[key][1])
        return
    if isinstance(cmd, DeleteService):
        del state[key]
        lines.pop(key, None)
        return
    present = state[key][1]
    if isinstance(cmd, DeleteDestination):
        dkey = _dkey(cmd.address, cmd.port)
        if dkey not in present:
            raise _LineError(
                f"no such real server {dest_text(cmd.address, cmd.port)} in {key.describe()}"
            )
        del present[dkey]
        return
    dest = cmd.destination
    dkey = _dkey(dest.address, dest.port)
    if isinstance(cmd, AddDestination) and dkey in present:
        raise _LineError(
            f"real server {dest_text(dest.address, dest.port)} already exists in {key.describe()}"
        )
    if isinstance(cmd, EditDestination) and dkey not in present:
        raise _LineError(
            f"no such real server {dest_text(dest.address, dest.port)} in {key.describe()}"
        )
    present[dkey] = dest


def parse_table(text: str | bytes, *, base: Table | None = None, resolve: bool = True) -> Table:
    """Build the table that ipvsadm rules produce when restored into an empty kernel.

    The commands from :func:`parse` are applied in order: ``-C`` empties the
    table, ``-E`` and ``-e`` replace settings, ``-D`` and ``-d`` remove. The
    checks the kernel would make are made too: ``-A`` of an existing
    service, ``-E``/``-D``/``-a``/``-e``/``-d`` on a missing service,
    ``-a`` of an existing real server, ``-e``/``-d`` of a missing one.

    The destinations of each service are kept newest first, the order in
    which the kernel reports them after such a restore (ipvsadm's sorting of
    equal addresses depends on it).

    Host and port names are resolved as :func:`parse` says, unless
    ``resolve`` is False.

    Args:
        text: the rules (for example ``ipvsadm -Sn`` output; bytes are
            decoded as UTF-8).
        base: the table to apply the rules to (default: an empty one), as
            ``ipvsadm -R`` without a flush would.
        resolve: resolve host and port names (True, as ipvsadm does) or
            refuse them (False).

    Returns:
        The resulting table.

    Raises:
        ValidationError: a line is malformed, cannot be applied, or names a
            host or port that does not resolve (the message starts with
            ``line N:``); or ``base`` is not a :class:`~ipvs.Table`.

    Example:
        >>> table = parse_table('''
        ... -A -u 10.0.0.1:53 -s rr
        ... -a -u 10.0.0.1:53 -r 10.0.1.1 -m -w 2
        ... ''')
        >>> [d.describe() for d in table.destinations(next(iter(table)))]
        ['10.0.1.1:53']
    """
    text = _text(text, "parse_table")
    if base is not None and not isinstance(base, Table):
        raise ValidationError(f"parse_table: base must be a Table, got {type(base).__name__}")
    state: _State = {}
    if base is not None:
        for key, entry in base.items():
            state[key] = (
                entry.service,
                {_dkey(d.address, d.port): d for d in reversed(entry.destinations)},
            )
    lines: dict[object, int] = {}
    get = state.get
    with gc_paused():
        for number, item in _Reader(_Names(resolve)).rules(text):
            try:
                # the common shapes, applied directly when nothing is amiss
                if isinstance(item, tuple):
                    key, dest = item
                    found = get(key)
                    if found is not None:
                        present = found[1]
                        dkey = (dest._ip, dest.port)
                        if dkey not in present:
                            present[dkey] = dest
                            continue
                elif isinstance(item, Service) and item.key not in state:
                    state[item.key] = (item, {})
                    lines[item.key] = number
                    continue
                _apply(state, _as_rule(number, item), lines)
            except (_LineError, ValidationError) as exc:
                raise ValidationError(f"line {number}: {exc}") from None
        return Table(
            ServiceEntry(service=svc, destinations=tuple(reversed(dests.values())))
            for svc, dests in state.values()
        )
