"""The metrics: node_exporter's names and labels, the per-service counters, the director's own."""

from __future__ import annotations

import pytest

import ipvs
from ipvs import Destination, Service, Stats, Table
from ipvs.daemon import (
    APPLY_BUCKETS,
    BACKEND_LABELS,
    Collector,
    Counters,
    Family,
    backend_labels,
    director_families,
    exposition,
    kernel_families,
    parse_totals,
    service_labels,
)
from ipvs.daemon._metrics import to_prometheus
from ipvs.health import HealthModel, Outcome, TCPCheck

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

WEB = Service.tcp("100.100.100.100", 80, scheduler="rr", stats=Stats(connections=7, bytes_in=900))
D1 = Destination(
    address="10.1.1.2",
    port=8080,
    forward="masq",
    weight=3,
    active_connections=2,
    inactive_connections=5,
    persistent_connections=1,
    stats=Stats(connections=4, packets_in=40, packets_out=30, bytes_in=500, bytes_out=600),
)
D2 = Destination(address="10.1.2.2", port=8080, forward="masq", stats=Stats(connections=3))
V6 = Service.udp("2001:db8::1", 53, stats=Stats(connections=1))
MARK = Service.mark(26, stats=Stats())
TABLE = Table([(WEB, [D1, D2]), (V6, [Destination(address="2001:db8::2", port=53)]), MARK])

PROC_STATS = """\
   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
       B       64       32              3E8              7D0

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       0        0        0                0                0
"""


Parsed = dict[str, dict[tuple[tuple[str, str], ...], float]]


def parse(text: str) -> tuple[Parsed, dict[str, tuple[str, str]]]:
    """Text read by prometheus-client's parser: the samples, each family's type and help."""
    out: Parsed = {}
    kinds = {}
    for family in text_string_to_metric_families(text):
        kinds[family.name] = (family.type, family.documentation)
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out, kinds


def by_client(families: list[Family]) -> str:
    """The text prometheus-client writes for families (through Collector's conversion)."""
    registry = prometheus_client.CollectorRegistry(auto_describe=False)

    class Fixed:
        def collect(self) -> object:
            yield from to_prometheus(families)

    registry.register(Fixed())
    return str(prometheus_client.generate_latest(registry).decode())


def render(families: list[Family]) -> Parsed:
    """Families in the text format (ours), read back: name -> labels -> value."""
    return parse(exposition(families))[0]


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


WEB_D1 = labels(
    local_address="100.100.100.100",
    local_port="80",
    remote_address="10.1.1.2",
    remote_port="8080",
    proto="TCP",
    local_mark="",
)


def test_labels_are_node_exporters() -> None:
    assert BACKEND_LABELS == (
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "proto",
        "local_mark",
    )
    assert service_labels(V6.key) == ("2001:db8::1", "53", "UDP", "")
    assert service_labels(Service.sctp("10.0.0.1", 9).key)[2] == "SCTP"
    assert backend_labels(MARK.key, D1) == ("", "0", "10.1.1.2", "8080", "FWM", "0000001A")


def test_totals_are_read_from_proc() -> None:
    totals = parse_totals(PROC_STATS)
    assert totals == Stats(
        connections=11, packets_in=100, packets_out=50, bytes_in=1000, bytes_out=2000
    )
    with pytest.raises(ValueError, match="unexpected format"):
        parse_totals("nothing\n")


def test_kernel_families_as_node_exporter_and_ipvsadm_stats_show_them() -> None:
    metrics = render(kernel_families(TABLE, parse_totals(PROC_STATS)))
    assert metrics["node_ipvs_connections_total"] == {(): 11}
    assert metrics["node_ipvs_incoming_packets_total"] == {(): 100}
    assert metrics["node_ipvs_outgoing_packets_total"] == {(): 50}
    assert metrics["node_ipvs_incoming_bytes_total"] == {(): 1000}
    assert metrics["node_ipvs_outgoing_bytes_total"] == {(): 2000}
    assert metrics["node_ipvs_backend_connections_active"][WEB_D1] == 2
    assert metrics["node_ipvs_backend_connections_inactive"][WEB_D1] == 5
    assert metrics["node_ipvs_backend_weight"][WEB_D1] == 3
    assert metrics["ipvs_backend_connections_persistent"][WEB_D1] == 1
    assert len(metrics["node_ipvs_backend_weight"]) == 3  # every destination once
    assert metrics["ipvs_backend_connections_total"][WEB_D1] == 4
    assert metrics["ipvs_backend_incoming_packets_total"][WEB_D1] == 40
    assert metrics["ipvs_backend_outgoing_packets_total"][WEB_D1] == 30
    assert metrics["ipvs_backend_incoming_bytes_total"][WEB_D1] == 500
    assert metrics["ipvs_backend_outgoing_bytes_total"][WEB_D1] == 600
    service = labels(local_address="100.100.100.100", local_port="80", proto="TCP", local_mark="")
    assert metrics["ipvs_service_connections_total"][service] == 7
    assert metrics["ipvs_service_incoming_bytes_total"][service] == 900
    mark = labels(local_address="", local_port="0", proto="FWM", local_mark="0000001A")
    assert metrics["ipvs_service_connections_total"][mark] == 0


def test_without_proc_the_totals_are_the_sum_of_the_services() -> None:
    metrics = render(kernel_families(TABLE))
    assert metrics["node_ipvs_connections_total"] == {(): 8}
    assert metrics["node_ipvs_incoming_bytes_total"] == {(): 900}


def test_director_families() -> None:
    counters = Counters()
    counters.applied(0.003)
    counters.applied(0.2)
    counters.applied(60.0)
    counters.failures = 2
    counters.rollbacks = 1
    counters.resyncs, counters.repairs = 5, 1
    counters.reloads["applied"] += 2
    counters.reloads["refused"] += 1
    from ipvs.health import CheckedService

    model = HealthModel(
        [CheckedService(service=WEB, destinations=[D1, D2], checks=[TCPCheck(fall=1)])]
    )
    model.record(WEB.key, D2.key, 0, Outcome(ok=False), at=1.0)
    metrics = render(director_families(counters, model.status()))
    d2 = dict(WEB_D1)
    d2["remote_address"] = "10.1.2.2"
    assert metrics["ipvs_backend_up"] == {WEB_D1: 1, tuple(sorted(d2.items())): 0}
    assert metrics["ipvs_backend_configured_weight"][WEB_D1] == 3
    service = labels(local_address="100.100.100.100", local_port="80", proto="TCP", local_mark="")
    assert metrics["ipvs_service_quorum"] == {service: 1}
    assert metrics["ipvs_applies_total"] == {(): 3}
    assert metrics["ipvs_apply_failures_total"] == {(): 2}
    assert metrics["ipvs_rollbacks_total"] == {(): 1}
    assert metrics["ipvs_resyncs_total"] == {(): 5}
    assert metrics["ipvs_resync_repairs_total"] == {(): 1}
    assert metrics["ipvs_reloads_total"] == {
        (("result", "applied"),): 2,
        (("result", "failed"),): 0,
        (("result", "refused"),): 1,
    }
    buckets = metrics["ipvs_apply_duration_seconds_bucket"]
    assert buckets[(("le", "0.0025"),)] == 0
    assert buckets[(("le", "0.005"),)] == 1
    assert buckets[(("le", "0.25"),)] == 2
    assert buckets[(("le", "10.0"),)] == 2
    assert buckets[(("le", "+Inf"),)] == 3
    assert len(buckets) == len(APPLY_BUCKETS) + 1
    assert metrics["ipvs_apply_duration_seconds_count"] == {(): 3}
    assert metrics["ipvs_apply_duration_seconds_sum"] == {(): pytest.approx(60.203)}


def test_our_text_reads_back_as_prometheus_clients_does() -> None:
    counters = Counters()
    counters.applied(0.02)
    odd = Service.tcp("10.0.0.9", 81)
    table = Table([*TABLE.values(), (odd, [D1])])
    families = kernel_families(table, parse_totals(PROC_STATS)) + director_families(counters, ())
    ours, client = exposition(families), by_client(families)
    assert parse(ours) == parse(client)
    # one sample name per family with samples, and a histogram's three
    assert len(parse(ours)[0]) == sum(1 for f in families if f.samples) + 2
    # label values that need escaping, and a help text that does
    tricky = [Family("t", "gauge", 'a \\ b\nc "d"', ("x",), [(('q"\\\n',), 1.5)])]
    assert parse(exposition(tricky)) == parse(by_client(tricky))


def test_the_collector_reads_at_each_scrape() -> None:
    reads = []

    def read() -> tuple[Table, Stats | None]:
        reads.append(1)
        return TABLE, None

    counters = Counters()
    collector = Collector(read, lambda: (counters, ()))
    assert collector.describe() == []
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(collector)
    assert reads == []
    text = prometheus_client.generate_latest(registry).decode()
    assert reads == [1]
    assert "# TYPE node_ipvs_backend_weight gauge" in text
    assert "# TYPE node_ipvs_connections_total counter" in text
    assert "ipvs_applies_total 0.0" in text


def test_only_the_collector_needs_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    collector = Collector(lambda: (TABLE, None))
    assert "node_ipvs_backend_weight" in exposition(collector.families())
    with pytest.raises(ipvs.MissingDependency, match="pip install prometheus-client"):
        list(collector.collect())
