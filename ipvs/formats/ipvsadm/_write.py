"""Writing ipvsadm text: save files and listings, in ipvsadm's own order."""

from __future__ import annotations

import _socket  # the C module: socket.py costs start-up time
import operator
from collections.abc import Callable, Iterable, Sequence
from ipaddress import IPv4Address
from typing import TypeVar

from ipvs._model import (
    DaemonState,
    Destination,
    Family,
    ForwardMethod,
    Info,
    Protocol,
    Service,
    ServiceEntry,
    ServiceFlags,
    Stats,
    SyncDaemon,
    Table,
    Timeouts,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._checks import V6_BIT, ip_int
from ipvs.errors import ValidationError
from ipvs.formats.ipvsadm._text import SCHED_MASK, U32, Address, dest_text, ntop

__all__ = ["daemons_listing", "listing", "save", "timeouts_listing"]

_INET, _INET6 = Family.INET, Family.INET6
_TUNNEL = ForwardMethod.TUNNEL
_PERSISTENT, _ONEPACKET = int(ServiceFlags.PERSISTENT), int(ServiceFlags.ONEPACKET)
_ntoa = _socket.inet_ntoa


# --------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------


def _int32(value: int) -> int:
    value &= U32
    return value - (1 << 32) if value & 0x80000000 else value


def _words(addr: Address) -> list[int]:
    value = int(addr)
    if addr.version == 4:
        return [value, 0, 0, 0]
    return [(value >> (96 - 32 * i)) & U32 for i in range(4)]


def _compare_services(a: Service, b: Service) -> int:
    """ipvsadm's service comparator (differences truncated to a signed int)."""
    r = _int32((a.fwmark or 0) - (b.fwmark or 0))
    if r:
        return r
    r = int(a.family) - int(b.family)
    if r:
        return r
    r = int(a.protocol or 0) - int(b.protocol or 0)
    if r:
        return r
    if a.address is not None and b.address is not None:
        wa, wb = _words(a.address), _words(b.address)
        for i in range(4 if a.family == Family.INET6 else 1):
            r = _int32(wa[i] - wb[i])
            if r:
                return r
    return (a.port or 0) - (b.port or 0)


def _compare_destinations(a: Destination, b: Destination) -> int:
    """ipvsadm's destination comparator: the first one's family decides the width."""
    wa, wb = _words(a.address), _words(b.address)
    r = 0
    for i in range(4 if a.family == Family.INET6 else 1):
        r = _int32(wa[i] - wb[i])
        if r:
            return r
    return a.port - b.port


_T = TypeVar("_T")


def _merge_sort(items: Sequence[_T], cmp: Callable[[_T, _T], int]) -> list[_T]:
    """Sort exactly like glibc's ``qsort`` (top-down merge sort, left half n//2)."""
    n = len(items)
    if n <= 1:
        return list(items)
    left = _merge_sort(items[: n // 2], cmp)
    right = _merge_sort(items[n // 2 :], cmp)
    out: list[_T] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if cmp(left[i], right[j]) <= 0:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


_SPAN = 1 << 31  # differences at least this large overflow ipvsadm's int comparators
_dest_order = operator.attrgetter("_ip", "port")


def _spans_fit(values: Iterable[int]) -> bool:
    """Whether all pairwise differences are below 2**31 (then ipvsadm compares them truly)."""
    low = high = None
    for v in values:
        if low is None or v < low:
            low = v
        if high is None or v > high:
            high = v
    return low is None or high - low < _SPAN  # type: ignore[operator]


def _v6_words(value: int) -> tuple[int, int, int, int]:
    return ((value >> 96) & U32, (value >> 64) & U32, (value >> 32) & U32, value & U32)


def _truly_ordered_services(entries: list[ServiceEntry]) -> bool:
    """Whether ipvsadm's service comparator is a true order on these services."""
    keys = [e.key for e in entries]
    if not _spans_fit(k.fwmark or 0 for k in keys):
        return False
    v4 = [ip_int(k.address) for k in keys if k.address is not None and k.family is _INET]
    if not _spans_fit(v4):
        return False
    v6 = [
        _v6_words(ip_int(k.address)) for k in keys if k.address is not None and k.family is _INET6
    ]
    return all(_spans_fit(w[i] for w in v6) for i in range(4))


def _sorted_destinations(dests: tuple[Destination, ...]) -> list[Destination]:
    """The destinations in ipvsadm's order: by address and port, as its comparator has it."""
    if len(dests) < 2:
        return list(dests)
    ips = [d._ip for d in dests]
    low, high = min(ips), max(ips)
    if high < V6_BIT:  # all IPv4
        truly = high - low < _SPAN
    elif low >= V6_BIT:  # all IPv6
        words = [_v6_words(ip) for ip in ips]
        truly = all(_spans_fit(w[i] for w in words) for i in range(4))
    else:
        truly = False  # mixed families: the first one's family decides the width
    if truly:
        return sorted(dests, key=_dest_order)
    return _merge_sort(dests, _compare_destinations)


def _ordered(table: Table) -> list[tuple[Service, list[Destination]]]:
    """Services and destinations in ipvsadm's order.

    Where ipvsadm's comparators are true orders (no two values differ by 2**31
    or more, as in any table of one site's addresses) every correct sort gives
    its result, and Python's does; elsewhere its merge sort runs over the
    table's own order, as the module documentation explains.
    """
    entries: list[ServiceEntry] = list(table.values())
    if _truly_ordered_services(entries):
        ordered = sorted(entries, key=_entry_order)
    else:
        ordered = _merge_sort(entries, lambda a, b: _compare_services(a.service, b.service))
    return [(e.service, _sorted_destinations(e.destinations)) for e in ordered]


def _entry_order(entry: ServiceEntry) -> tuple[int, int, int, int, int]:
    return entry.service.key.sort_key()


def _address_port(d: Destination) -> str:
    """``ADDR:PORT`` of a destination as ipvsadm prints it (IPv6 in brackets)."""
    if d._ip < V6_BIT:
        return f"{_ntoa(d._ip.to_bytes(4, 'big'))}:{d.port}"
    return dest_text(d.address, d.port)


def _service_spec(service: Service) -> str:
    if service.fwmark is not None:
        return f"-f {_int32(service.fwmark)}" + (" -6" if service.family == Family.INET6 else "")
    option = {Protocol.TCP: "-t", Protocol.UDP: "-u", Protocol.SCTP: "--sctp-service"}
    assert service.protocol is not None and service.address is not None
    return f"{option[service.protocol]} {dest_text(service.address, service.port or 0)}"


def _sched_flag_list(service: Service) -> str:
    flags = service.flags
    if service.scheduler in ("sh", "mh"):
        names = [
            f"{service.scheduler}-fallback" if flags & ServiceFlags.SCHED1 else "",
            f"{service.scheduler}-port" if flags & ServiceFlags.SCHED2 else "",
        ]
    else:
        names = [
            f"flag-{n}" if flags & bit else ""
            for n, bit in (
                (1, ServiceFlags.SCHED1),
                (2, ServiceFlags.SCHED2),
                (3, ServiceFlags.SCHED3),
            )
        ]
    return ",".join(n for n in names if n)


def _has_mask(service: Service) -> bool:
    if isinstance(service.netmask, IPv4Address):
        return int(service.netmask) != U32
    return service.netmask != 128


_SAVE_FORWARD = {
    ForwardMethod.MASQ: "-m",
    ForwardMethod.LOCAL: "-g",
    ForwardMethod.TUNNEL: "-i",
    ForwardMethod.ROUTE: "-g",
}
_LIST_FORWARD = {
    ForwardMethod.MASQ: "Masq",
    ForwardMethod.LOCAL: "Local",
    ForwardMethod.TUNNEL: "Tunnel",
    ForwardMethod.ROUTE: "Route",
}
_CSUM_OPTION = {
    TunnelFlags.NOCSUM: "--tun-nocsum",
    TunnelFlags.CSUM: "--tun-csum",
    TunnelFlags.REMCSUM: "--tun-remcsum",
}


def _tunnel_options(dest: Destination) -> str:
    kind = dest.tunnel_type
    if kind == TunnelType.IPIP:
        return " --tun-type ipip"
    flags = TunnelFlags(dest.tunnel_flags)
    if flags not in _CSUM_OPTION:
        raise ValidationError(
            f"real server {dest.describe()}: tunnel flags {int(flags)} cannot be saved "
            "(ipvsadm knows only nocsum, csum and remcsum)"
        )
    port = f" --tun-port {dest.tunnel_port}" if kind == TunnelType.GUE else ""
    return f" --tun-type {kind.name.lower()}{port} {_CSUM_OPTION[flags]}"


# --------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------


def save(table: Table, *, thresholds: bool = False) -> str:
    """Write a table as ``ipvsadm -Sn`` prints the same kernel state.

    Services and real servers are ordered as ipvsadm orders them (see the
    module documentation for its comparator quirk); each option is printed
    as ipvsadm prints it, including ``-f`` marks as signed numbers,
    ``(null)`` for a real server whose forwarding method ipvsadm does not
    know (:attr:`ForwardMethod.BYPASS`) and ``-g`` for
    :attr:`ForwardMethod.LOCAL`. Tunnel options are printed only for ``-i``
    real servers.

    Args:
        table: the table.
        thresholds: also write ``-x``/``-y`` for non-zero connection
            thresholds (ipvsadm never saves them, but restores them).

    Returns:
        The rules, one per line, each ending in a newline ("" for an empty
        table).

    Raises:
        ValidationError: ``table`` is not a :class:`~ipvs.Table`, or a tunnel
            real server has checksum flags that ipvsadm cannot print.

    Example:
        >>> from ipvs import Destination, Service, Table
        >>> web = Service.tcp("10.0.0.1", 80, scheduler="rr")
        >>> print(save(Table([(web, [Destination(address="10.0.1.1", port=80)])])), end="")
        -A -t 10.0.0.1:80 -s rr
        -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1
    """
    if not isinstance(table, Table):
        raise ValidationError(f"save: expected a Table, got {type(table).__name__}")
    out: list[str] = []
    add = out.append
    for service, dests in _ordered(table):
        spec = _service_spec(service)
        flags = int(service.flags)
        if flags or service.pe_name is not None:
            add(_service_rule(service, spec, flags))
        else:
            add(f"-A {spec} -s {service.scheduler}\n")
        prefix = f"-a {spec} -r "
        for d in dests:
            ip = d._ip
            where = f"{_ntoa(ip.to_bytes(4, 'big'))}:{d.port}" if ip < V6_BIT else _address_port(d)
            forward = d.forward
            line = f"{prefix}{where} {_SAVE_FORWARD.get(forward, '(null)')} -w {d.weight}"
            if forward is _TUNNEL:
                line += _tunnel_options(d)
            if thresholds:
                if d.upper_threshold:
                    line += f" -x {d.upper_threshold}"
                if d.lower_threshold:
                    line += f" -y {d.lower_threshold}"
            add(line + "\n")
    return "".join(out)


def _service_rule(service: Service, spec: str, flags: int) -> str:
    parts = [f"-A {spec} -s {service.scheduler}"]
    if flags & _PERSISTENT:
        parts.append(f" -p {service.timeout}")
        if _has_mask(service):
            parts.append(f" -M {service.netmask}")
    if service.pe_name is not None:
        parts.append(f" --pe {service.pe_name}")
    if flags & _ONEPACKET:
        parts.append(" -o")
    if flags & SCHED_MASK:
        parts.append(f" -b {_sched_flag_list(service)}")
    return "".join(parts) + "\n"


# --------------------------------------------------------------------------
# Listings
# --------------------------------------------------------------------------

_HEADERS = {
    "plain": (
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    ),
    "stats": (
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
        "  -> RemoteAddress:Port\n"
    ),
    "rate": (
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
        "  -> RemoteAddress:Port\n"
    ),
    "thresholds": (
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
        "  -> RemoteAddress:Port\n"
    ),
    "persistent": (
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
        "  -> RemoteAddress:Port\n"
    ),
}
_ZERO_STATS = Stats()


def _large(value: int, exact: bool) -> str:
    """Format a counter like ipvsadm (``--exact`` or K/M/G/T abbreviations)."""
    if exact:
        digits = str(value)
        return digits.rjust(9 if len(digits) <= 8 else len(digits) + 1)
    if value < 100_000_000:
        return f"{value:9d}"
    if value < 1_000_000_000:
        return f"{value // 1000:8d}K"
    if value < 100_000_000_000:
        return f"{value // 1_000_000:8d}M"
    if value < 100_000_000_000_000:
        return f"{value // 1_000_000_000:8d}G"
    return f"{value // 1_000_000_000_000:8d}T"


def _numbers(stats: Stats | None, rate: bool, exact: bool, dest: bool) -> str:
    values: tuple[int, int, int, int, int] = (_RATES if rate else _COUNTS)(stats or _ZERO_STATS)
    if not exact and max(values) < _SMALL:
        # printf formatting, as ipvsadm's: one call, twice as fast as five format specs
        return "%9d%9d%9d%9d%9d" % values  # noqa: UP031
    a, b, c, d, e = values
    if dest:
        # ipvsadm reads a destination's 64-bit counters with its 32-bit reader
        # (all but the byte counts, which it reads whole)
        a, b, c = a & U32, b & U32, c & U32
        if rate:
            d, e = d & U32, e & U32
    return "".join(_large(v, exact) for v in (a, b, c, d, e))


_SMALL = 100_000_000  # below this, every counter prints as a plain 9-digit column
_COUNTS = operator.attrgetter("connections", "packets_in", "packets_out", "bytes_in", "bytes_out")
_RATES = operator.attrgetter("cps", "pps_in", "pps_out", "bps_in", "bps_out")


def _service_name(service: Service) -> str:
    if service.fwmark is not None:
        proto = "FWM"
        name = str(_int32(service.fwmark)) + (" IPv6" if service.family == Family.INET6 else "")
    else:
        assert service.protocol is not None and service.address is not None
        proto = service.protocol.name
        name = dest_text(service.address, service.port or 0)
    return f"{proto:<4} {name}"


def _service_flags_text(service: Service) -> str:
    text = ""
    if service.flags & SCHED_MASK:
        text += f" ({_sched_flag_list(service)})"
    if service.flags & ServiceFlags.PERSISTENT:
        text += f" persistent {service.timeout}"
        if _has_mask(service):
            text += f" mask {service.netmask}"
        if service.pe_name is not None:
            text += f" pe {service.pe_name}"
    if service.flags & ServiceFlags.ONEPACKET:
        text += " ops"
    return text


def listing(
    table: Table,
    *,
    stats: bool = False,
    rate: bool = False,
    thresholds: bool = False,
    persistent_conn: bool = False,
    exact: bool = False,
    info: Info | None = None,
) -> str:
    """Write a table as ``ipvsadm -Ln`` lists it.

    The services and real servers are ordered as ipvsadm orders them, and
    their live data (statistics, connection counts) is shown as ipvsadm
    shows it. Missing statistics count as zero.

    Args:
        table: the table, usually from :meth:`ipvs.Client.snapshot`.
        stats: list counters, like ``--stats``.
        rate: list rates, like ``--rate``.
        thresholds: list connection thresholds, like ``--thresholds``.
        persistent_conn: list persistent connection counts, like
            ``--persistent-conn``.
        exact: print counters and rates in full, like ``--exact``; otherwise
            large numbers are abbreviated with K, M, G or T as ipvsadm does.
        info: what :meth:`ipvs.Client.info` returns, for the first line
            (``IP Virtual Server version 1.2.1 (size=4096)``); without it that
            line is left out.

    Returns:
        The listing, each line ending in a newline.

    Raises:
        ValidationError: ``table`` is not a :class:`~ipvs.Table`, or more than
            one of ``stats``, ``rate``, ``thresholds`` and ``persistent_conn``
            is set.
    """
    if not isinstance(table, Table):
        raise ValidationError(f"listing: expected a Table, got {type(table).__name__}")
    modes = [
        m
        for m, on in (
            ("stats", stats),
            ("rate", rate),
            ("thresholds", thresholds),
            ("persistent", persistent_conn),
        )
        if on
    ]
    if len(modes) > 1:
        raise ValidationError(
            f"listing: choose one of stats, rate, thresholds and "
            f"persistent_conn, got {', '.join(modes)}"
        )
    mode = modes[0] if modes else "plain"
    out: list[str] = []
    if info is not None:
        code = info.version_code
        out.append(
            f"IP Virtual Server version {(code >> 16) & 0xFF}.{(code >> 8) & 0xFF}."
            f"{code & 0xFF} (size={info.connection_table_size})\n"
        )
    out.append(_HEADERS[mode])
    add = out.append
    numeric = mode in ("stats", "rate")
    plain = mode == "plain"
    for service, dests in _ordered(table):
        name = _service_name(service)
        if numeric:
            add(f"{name:<33}{_numbers(service.stats, rate, exact, False)}\n")
        else:
            add(f"{name} {service.scheduler}{_service_flags_text(service)}\n")
        for d in dests:
            ip = d._ip
            where = f"{_ntoa(ip.to_bytes(4, 'big'))}:{d.port}" if ip < V6_BIT else _address_port(d)
            if plain:
                add(
                    "  -> %-28s %-7s %-6d %-10d %-10d\n"  # noqa: UP031 (see _numbers)
                    % (
                        where,
                        _LIST_FORWARD.get(d.forward, "(null)"),
                        d.weight,
                        d.active_connections,
                        d.inactive_connections,
                    )
                )
            elif numeric:
                add(f"  -> {where:<28}{_numbers(d.stats, rate, exact, True)}\n")
            elif mode == "thresholds":
                add(
                    f"  -> {where:<28} {d.upper_threshold:<10} {d.lower_threshold:<10} "
                    f"{d.active_connections:<10} {d.inactive_connections:<10}\n"
                )
            else:
                add(
                    f"  -> {where:<28} {d.weight:<9} {d.persistent_connections:<11} "
                    f"{d.active_connections:<10} {d.inactive_connections:<10}\n"
                )
    return "".join(out)


def timeouts_listing(timeouts: Timeouts) -> str:
    """Write connection timeouts as ``ipvsadm -Ln --timeout`` prints them.

    Args:
        timeouts: what :meth:`ipvs.Client.timeouts` returns.

    Returns:
        One line, ``Timeout (tcp tcpfin udp): 900 120 300``, with its newline.
    """
    return f"Timeout (tcp tcpfin udp): {timeouts.tcp} {timeouts.tcp_fin} {timeouts.udp}\n"


def daemons_listing(daemons: Iterable[SyncDaemon]) -> str:
    """Write sync daemons as ``ipvsadm -Ln --daemon`` prints them.

    Values the kernel reports as 0 (old kernels) are left out, as ipvsadm
    does.

    Args:
        daemons: what :meth:`ipvs.Client.daemons` returns, in that order.

    Returns:
        One line per daemon, such as ``master sync daemon (mcast=eth0,
        syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)``; ""
        when no daemon runs.
    """
    out: list[str] = []
    for d in daemons:
        state = "master" if d.state == DaemonState.MASTER else "backup"
        text = f"{state} sync daemon (mcast={d.interface}, syncid={d.sync_id}"
        if d.max_length:
            text += f", maxlen={d.max_length}"
        if d.group is not None:
            text += f", group={ntop(d.group)}"
        if d.port:
            text += f", port={d.port}"
        if d.ttl:
            text += f", ttl={d.ttl}"
        out.append(text + ")\n")
    return "".join(out)
