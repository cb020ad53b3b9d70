"""Prometheus metrics: the kernel's IPVS figures as node_exporter names them, and the director's.

node_exporter's ``ipvs`` collector reads ``/proc/net/ip_vs_stats`` (the
namespace's totals) and ``/proc/net/ip_vs`` (each backend's connections and
weight). The same figures come out here under the same names and labels,
read over netlink (the totals still from ``/proc``, which has them alone),
so that dashboards and alerts made for node_exporter work unchanged. The
per-service and per-backend counters (what ``ipvsadm -Ln --stats`` shows,
which node_exporter does not export), the health of each destination and
the director's own figures (applies, failures, rollbacks, apply latency,
reloads, resyncs) are added under ``ipvs_`` names.

Building the figures is pure (:func:`kernel_families`,
:func:`director_families`), and so is writing them in Prometheus's text
format (:func:`exposition`), which the director's endpoint serves and
``ipvs stats --prometheus`` prints. :class:`Collector` hands the same
figures to a prometheus-client registry, for programs that have one.

The text is written here rather than by prometheus-client: at 1,000
services x 10 destinations (about 100,000 samples) its generic writer took
13 to 15 times as long as this one in the sandbox kernel's guest (1.5 to
2.3 s; ``benchmarks/director.py`` measures both side by side);
prometheus-client's own parser reads both back the same (the tests check it).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ipvs._client import _netns
from ipvs._model import Destination, ServiceKey, Stats, Table
from ipvs.errors import MissingDependency
from ipvs.health import ServiceStatus

if TYPE_CHECKING:
    from ipvs._client._sync import Client

__all__ = [
    "APPLY_BUCKETS",
    "BACKEND_LABELS",
    "CONTENT_TYPE",
    "SERVICE_LABELS",
    "Counters",
    "Family",
    "KernelReader",
    "backend_labels",
    "director_families",
    "exposition",
    "kernel_families",
    "parse_totals",
    "render",
    "require",
    "service_labels",
]

#: node_exporter's labels of a backend, in its order.
BACKEND_LABELS = (
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
)
#: The labels of a service (a backend's without the remote ones).
SERVICE_LABELS = ("local_address", "local_port", "proto", "local_mark")
#: The buckets of the apply latency histogram, in seconds.
APPLY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_INSTALL = "pip install prometheus-client"
#: The media type of :func:`exposition`'s text (Prometheus's text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def require() -> Any:
    """Import prometheus-client (for :class:`Collector` only).

    Returns:
        The ``prometheus_client`` module.

    Raises:
        MissingDependency: it is not installed.
    """
    try:
        import prometheus_client
    except ImportError:
        raise MissingDependency(
            f"a prometheus-client collector needs prometheus-client, which is not installed "
            f"({_INSTALL})"
        ) from None
    return prometheus_client


def service_labels(key: ServiceKey) -> tuple[str, ...]:
    """A service's label values, as node_exporter writes them.

    ``proto`` is ``TCP``, ``UDP``, ``SCTP`` or ``FWM``; a firewall-mark
    service has an empty ``local_address``, ``local_port`` 0 and its mark
    in ``local_mark`` as the kernel's ``/proc/net/ip_vs`` prints it (eight
    upper-case hex digits); others have an empty ``local_mark``.

    Example:
        >>> import ipvs
        >>> from ipvs.daemon import service_labels
        >>> service_labels(ipvs.ServiceKey.tcp("10.0.0.1", 80))
        ('10.0.0.1', '80', 'TCP', '')
        >>> service_labels(ipvs.ServiceKey.mark(26))
        ('', '0', 'FWM', '0000001A')
    """
    if key.fwmark is not None:
        return ("", "0", "FWM", f"{key.fwmark:08X}")
    assert key.protocol is not None
    return (str(key.address), str(key.port), key.protocol.name, "")


def backend_labels(key: ServiceKey, destination: Destination) -> tuple[str, ...]:
    """A backend's label values (see :func:`service_labels`), in :data:`BACKEND_LABELS` order."""
    address, port, proto, mark = service_labels(key)
    return (address, port, str(destination.address), str(destination.port), proto, mark)


def parse_totals(text: str) -> Stats:
    """Read ``/proc/net/ip_vs_stats``: the namespace's totals since IPVS started.

    Args:
        text: the file's text.

    Returns:
        The counters (connections, packets and bytes in and out).

    Raises:
        ValueError: the text is not in that format.

    Example:
        >>> from ipvs.daemon import parse_totals
        >>> parse_totals('''   Total Incoming Outgoing         Incoming         Outgoing
        ...    Conns  Packets  Packets            Bytes            Bytes
        ...       1A       FF        0              400                0
        ... ''').packets_in
        255
    """
    lines = text.splitlines()
    fields = lines[2].split() if len(lines) > 2 else []
    if len(fields) != 5:
        raise ValueError("ip_vs_stats: unexpected format")
    conns, pin, pout, bin_, bout = (int(f, 16) for f in fields)
    return Stats(connections=conns, packets_in=pin, packets_out=pout, bytes_in=bin_, bytes_out=bout)


@attrs.frozen(slots=True)
class Family:
    """One metric family, free of prometheus-client: name, type, help and samples.

    Attributes:
        name: the metric name (counters end in ``_total``).
        kind: ``counter``, ``gauge`` or ``histogram``.
        help: the help text.
        labels: the label names.
        samples: ``(label values, value)`` pairs; for a histogram, one
            ``(bucket bounds and cumulative counts, sum)`` pair.
    """

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], Any]] = attrs.field(factory=list)


_TOTALS = (
    ("connections", "node_ipvs_connections_total", "The total number of connections made."),
    ("packets_in", "node_ipvs_incoming_packets_total", "The total number of incoming packets."),
    ("packets_out", "node_ipvs_outgoing_packets_total", "The total number of outgoing packets."),
    ("bytes_in", "node_ipvs_incoming_bytes_total", "The total amount of incoming data."),
    ("bytes_out", "node_ipvs_outgoing_bytes_total", "The total amount of outgoing data."),
)
_PER = (
    ("connections", "connections_total", "connections scheduled"),
    ("packets_in", "incoming_packets_total", "incoming packets"),
    ("packets_out", "outgoing_packets_total", "outgoing packets"),
    ("bytes_in", "incoming_bytes_total", "incoming bytes"),
    ("bytes_out", "outgoing_bytes_total", "outgoing bytes"),
)


def _sum(stats: Iterable[Stats | None]) -> Stats:
    total = dict.fromkeys(("connections", "packets_in", "packets_out", "bytes_in", "bytes_out"), 0)
    for s in stats:
        if s is not None:
            for name in total:
                total[name] += getattr(s, name)
    return Stats(**total)


def kernel_families(table: Table, totals: Stats | None = None) -> list[Family]:
    """The kernel's figures: node_exporter's families, then per-service and per-backend counters.

    Args:
        table: a snapshot (with statistics).
        totals: the namespace's totals (``/proc/net/ip_vs_stats``); None
            sums the services instead (which misses deleted services).

    Returns:
        The families.
    """
    if totals is None:
        totals = _sum(e.service.stats for e in table.values())
    families = [
        Family(name, "counter", text, (), [((), getattr(totals, field))])
        for field, name, text in _TOTALS
    ]
    active = Family(
        "node_ipvs_backend_connections_active",
        "gauge",
        "The current active connections by local and remote address.",
        BACKEND_LABELS,
    )
    inactive = Family(
        "node_ipvs_backend_connections_inactive",
        "gauge",
        "The current inactive connections by local and remote address.",
        BACKEND_LABELS,
    )
    weight = Family(
        "node_ipvs_backend_weight",
        "gauge",
        "The current backend weight by local and remote address.",
        BACKEND_LABELS,
    )
    persistent = Family(
        "ipvs_backend_connections_persistent",
        "gauge",
        "The current persistence templates by local and remote address.",
        BACKEND_LABELS,
    )
    per_service = [
        Family(f"ipvs_service_{suffix}", "counter", f"The service's {text}.", SERVICE_LABELS)
        for _field, suffix, text in _PER
    ]
    per_backend = [
        Family(f"ipvs_backend_{suffix}", "counter", f"The backend's {text}.", BACKEND_LABELS)
        for _field, suffix, text in _PER
    ]
    for entry in table.entries():
        key = entry.key
        labels = service_labels(key)
        stats = entry.service.stats or Stats()
        for family, (field, _s, _t) in zip(per_service, _PER, strict=True):
            family.samples.append((labels, getattr(stats, field)))
        for dest in entry.sorted_destinations():
            blabels = backend_labels(key, dest)
            active.samples.append((blabels, dest.active_connections))
            inactive.samples.append((blabels, dest.inactive_connections))
            weight.samples.append((blabels, dest.weight))
            persistent.samples.append((blabels, dest.persistent_connections))
            dstats = dest.stats or Stats()
            for family, (field, _s, _t) in zip(per_backend, _PER, strict=True):
                family.samples.append((blabels, getattr(dstats, field)))
    return [*families, active, inactive, weight, persistent, *per_service, *per_backend]


class Counters:
    """The director's own figures, counted as they happen (read from another thread)."""

    def __init__(self) -> None:
        self.applies = 0
        self.failures = 0
        self.rollbacks = 0
        self.resyncs = 0
        self.repairs = 0
        self.reloads: dict[str, int] = {"applied": 0, "refused": 0, "failed": 0}
        self._buckets = [0] * (len(APPLY_BUCKETS) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def applied(self, seconds: float) -> None:
        """Count an apply that reached the kernel, and its latency."""
        with self._lock:
            self.applies += 1
            self._buckets[bisect.bisect_left(APPLY_BUCKETS, seconds)] += 1
            self._sum += seconds

    def histogram(self) -> tuple[list[tuple[str, int]], float]:
        """The latency histogram: ``(upper bound, cumulative count)`` pairs up to ``+Inf``, sum."""
        with self._lock:
            counts, total = list(self._buckets), self._sum
        bounds = [*(repr(b) for b in APPLY_BUCKETS), "+Inf"]
        cumulative, running = [], 0
        for bound, count in zip(bounds, counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return cumulative, total


def director_families(
    counters: Counters, health: Sequence[ServiceStatus] | None = None
) -> list[Family]:
    """The director's figures: health per destination and service, applies, reloads, resyncs.

    Args:
        counters: what the director counted.
        health: where every checked service and destination stands.

    Returns:
        The families.
    """
    up = Family(
        "ipvs_backend_up",
        "gauge",
        "1 while the destination passes its health checks (or has none), else 0.",
        BACKEND_LABELS,
    )
    want = Family(
        "ipvs_backend_configured_weight",
        "gauge",
        "The weight the destination has while it is up (configured, or set by a command check).",
        BACKEND_LABELS,
    )
    quorum = Family(
        "ipvs_service_quorum",
        "gauge",
        "1 while the service has its quorum of healthy weight, else 0 (its sorry server serves).",
        SERVICE_LABELS,
    )
    for service in health or ():
        quorum.samples.append((service_labels(service.service), int(service.quorum)))
        for dest in service.destinations:
            labels = backend_labels(service.service, dest.destination)
            up.samples.append((labels, int(dest.up)))
            want.samples.append((labels, dest.weight))
    buckets, total = counters.histogram()
    return [
        up,
        want,
        quorum,
        Family(
            "ipvs_applies_total",
            "counter",
            "Applies that changed the kernel (start, health changes, reloads, resyncs).",
            (),
            [((), counters.applies)],
        ),
        Family(
            "ipvs_apply_failures_total",
            "counter",
            "Applies that failed (the kernel refused, a conflict, a lost reply).",
            (),
            [((), counters.failures)],
        ),
        Family(
            "ipvs_rollbacks_total",
            "counter",
            "Failed applies whose applied steps were undone.",
            (),
            [((), counters.rollbacks)],
        ),
        Family(
            "ipvs_apply_duration_seconds",
            "histogram",
            "How long applies that changed the kernel took.",
            (),
            [((), (buckets, total))],
        ),
        Family(
            "ipvs_reloads_total",
            "counter",
            "Reloads (SIGHUP): applied, refused (a bad file) or failed (the kernel refused).",
            ("result",),
            [((result,), n) for result, n in sorted(counters.reloads.items())],
        ),
        Family(
            "ipvs_resyncs_total",
            "counter",
            "Resyncs: snapshots compared with what the director keeps.",
            (),
            [((), counters.resyncs)],
        ),
        Family(
            "ipvs_resync_repairs_total",
            "counter",
            "Resyncs that found the kernel changed by others and repaired it.",
            (),
            [((), counters.repairs)],
        ),
    ]


def _label_value(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _number(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    return repr(number)


def exposition(families: Iterable[Family]) -> str:
    """Write families in Prometheus's text format (version 0.0.4).

    Each label set is written once and reused by every family that has it
    (a backend's six labels appear in a dozen families).

    Args:
        families: the families.

    Returns:
        The text, one ``# HELP`` and ``# TYPE`` line per family, then its samples.

    Example:
        >>> from ipvs.daemon import Family, exposition
        >>> family = Family("x_total", "counter", "Things.", ("a",), [(("b",), 3)])
        >>> print(exposition([family]), end="")
        # HELP x_total Things.
        # TYPE x_total counter
        x_total{a="b"} 3
    """
    out: list[str] = []
    labelled: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
    for family in families:
        name = family.name
        text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {name} {text}\n# TYPE {name} {family.kind}\n")
        names = family.labels
        for values, value in family.samples:
            key = (names, values)
            labels = labelled.get(key)
            if labels is None:
                pairs = ",".join(
                    f'{n}="{_label_value(v)}"' for n, v in zip(names, values, strict=True)
                )
                labels = labelled[key] = f"{{{pairs}}}" if pairs else ""
            if family.kind != "histogram":
                out.append(f"{name}{labels} {_number(value)}\n")
                continue
            buckets, total = value
            inner = labels[1:-1] + "," if labels else ""
            for bound, count in buckets:
                out.append(f'{name}_bucket{{{inner}le="{bound}"}} {count}\n')
            out.append(f"{name}_count{labels} {buckets[-1][1]}\n")
            out.append(f"{name}_sum{labels} {_number(total)}\n")
    return "".join(out)


def to_prometheus(families: Iterable[Family]) -> Iterator[Any]:
    """Turn families into prometheus-client metric families.

    Raises:
        MissingDependency: prometheus-client is not installed.
    """
    pc = require()
    core = pc.metrics_core
    for family in families:
        if family.kind == "histogram":
            metric = core.HistogramMetricFamily(family.name, family.help, labels=family.labels)
            for labels, (buckets, total) in family.samples:
                metric.add_metric(list(labels), buckets, total)
        else:
            cls = core.CounterMetricFamily if family.kind == "counter" else core.GaugeMetricFamily
            metric = cls(family.name, family.help, labels=family.labels)
            for labels, value in family.samples:
                metric.add_metric(list(labels), value)
        yield metric


class KernelReader:
    """Reads a namespace's table and totals, from any thread.

    Args:
        netns: the namespace (as for :class:`ipvs.Client`); None is the
            namespace of the thread that makes the reader.
    """

    def __init__(self, netns: str | os.PathLike[str] | None = None) -> None:
        from ipvs._client._sync import Client

        self._netns = _netns.Pinned(netns)
        self._client: Client = Client(netns, lock=False)
        #: Seconds the last :meth:`read` took.
        self.last_read = 0.0

    def totals(self) -> Stats | None:
        """The namespace's totals from ``/proc/net/ip_vs_stats`` (None if unreadable)."""
        try:
            with (
                self._netns.entered(),
                open("/proc/thread-self/net/ip_vs_stats", encoding="ascii") as fh,
            ):
                return parse_totals(fh.read())
        except (OSError, ValueError):  # NetnsError is an OSError
            return None

    def read(self) -> tuple[Table, Stats | None]:
        """A snapshot with statistics, and the totals."""
        started = time.perf_counter()
        table = self._client.snapshot()
        totals = self.totals()
        self.last_read = time.perf_counter() - started
        return table, totals

    def close(self) -> None:
        """Close the client and let the namespace go."""
        self._client.close()
        self._netns.close()


class Collector:
    """A prometheus-client collector: :func:`kernel_families` and, for a director, its own.

    For a program with a prometheus-client registry of its own
    (``registry.register(Collector(reader.read))``); the director's endpoint
    does not need it.

    Args:
        reader: reads the table and the totals at each scrape.
        director: returns the director's counters and health (None: none).
    """

    def __init__(
        self,
        reader: Callable[[], tuple[Table, Stats | None]],
        director: Callable[[], tuple[Counters, Sequence[ServiceStatus]]] | None = None,
    ) -> None:
        self._reader = reader
        self._director = director

    def describe(self) -> list[Any]:
        """Nothing: registering must not read the kernel."""
        return []

    def families(self) -> list[Family]:
        """The families, read now."""
        table, totals = self._reader()
        families = kernel_families(table, totals)
        if self._director is not None:
            counters, health = self._director()
            families += director_families(counters, health)
        return families

    def collect(self) -> Iterator[Any]:
        """The families, read now, as prometheus-client metric families.

        Raises:
            MissingDependency: prometheus-client is not installed.
        """
        yield from to_prometheus(self.families())


def render(netns: str | None = None, *, table: Table | None = None) -> str:
    """The kernel's figures once, in the Prometheus text format (``ipvs stats --prometheus``).

    Args:
        netns: the namespace (None: the caller's).
        table: a snapshot of it, with statistics (default: one is taken).

    Returns:
        The text.

    Raises:
        IPVSError: reading the table failed.
    """
    reader = KernelReader(netns)
    try:
        if table is None:
            table, totals = reader.read()
        else:
            totals = reader.totals()
        return exposition(kernel_families(table, totals))
    finally:
        reader.close()
