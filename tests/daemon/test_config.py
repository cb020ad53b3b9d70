"""The configuration file of ``ipvs run``: every option read, every error named by its path."""

from __future__ import annotations

import ipaddress
import json
import pathlib
from typing import Any

import pytest

import ipvs
from ipvs.daemon import Config, OnStop, config_from_dict, config_from_text, load_config
from ipvs.health import (
    CommandCheck,
    DNSCheck,
    HTTPCheck,
    OnFailure,
    State,
    TCPCheck,
    UDPCheck,
)

EXAMPLE = pathlib.Path(__file__).parents[2] / "docs" / "howto" / "director.yaml"

FULL = """
services:
  - protocol: tcp
    address: 100.100.100.100
    port: 80
    scheduler: wrr
    checks:
      - kind: http
        path: /healthz
        status: [200, 204]
        interval: 1
        timeout: 0.5
        rise: 2
        fall: 3
        retry_interval: 0.25
        initial: down
    on_failure: remove
    sorry_server: {address: 10.1.9.9, port: 8080, forward: masq}
    quorum: 2
    hysteresis: 1
    on_quorum_up: /usr/local/bin/notify up
    on_quorum_down: [/usr/local/bin/notify, down]
    destinations:
      - address: 10.1.1.2
        port: 8080
        forward: masq
        weight: 2
      - address: 10.1.2.2
        port: 8080
        forward: masq
        checks:
          - {kind: tcp, port: 8081}
          - {kind: command, command: [check-db, --fast], dynamic_weight: true, env: {A: b}}
        on_failure: quiesce
        on_up: echo up
        on_down: echo down
  - protocol: udp
    address: 100.100.100.100
    port: 53
    destinations:
      - address: 10.1.1.2
        port: 53
        checks:
          - {kind: dns, name: health.test, type: A, require_answer: true}
          - {kind: udp, payload: ping, expect: pong}
  - fwmark: 7
    destinations:
      - {address: 10.1.1.2, port: 0}
    checks:
      - {kind: https, path: /, verify: false, server_name: web.test, host: web.test}
bind:
  interface: kube-ipvs0
  keep_link: false
daemon:
  resync: 10
  on_stop: remove
  retry_delay: 2
  lock_timeout: null
  log_level: DEBUG
  metrics: {listen: "[::1]:9999"}
  hook_timeout: 5
"""


def test_every_option_is_read() -> None:
    config = config_from_text(FULL, "full.yaml")
    web, dns, mark = config.services
    assert web.service == ipvs.Service.tcp("100.100.100.100", 80, scheduler="wrr")
    first, second = web.destinations
    assert first.destination.weight == 2 and first.on_failure is OnFailure.REMOVE
    (http,) = first.checks
    assert http == HTTPCheck(
        path="/healthz",
        status=[200, 204],
        interval=1.0,
        timeout=0.5,
        rise=2,
        fall=3,
        retry_interval=0.25,
        initial=State.DOWN,
    )
    assert second.on_failure is OnFailure.QUIESCE
    assert second.checks == (
        TCPCheck(port=8081),
        CommandCheck(command=["check-db", "--fast"], dynamic_weight=True, env={"A": "b"}),
    )
    assert second.on_up is not None and second.on_down is not None
    assert web.sorry_server == ipvs.Destination(address="10.1.9.9", port=8080, forward="masq")
    assert (web.quorum, web.hysteresis) == (2, 1)
    assert web.on_quorum_up is not None and web.on_quorum_down is not None
    assert dns.destinations[0].checks == (
        DNSCheck(name="health.test", type="A", require_answer=True),
        UDPCheck(payload=b"ping", expect=b"pong"),
    )
    assert mark.service.key == ipvs.ServiceKey.mark(7)
    assert mark.destinations[0].checks == (
        HTTPCheck(path="/", tls=True, verify=False, server_name="web.test", host="web.test"),
    )
    assert config.bind == ipvs.Binding(interface="kube-ipvs0", keep_link=False)
    assert (config.resync, config.on_stop, config.retry_delay) == (10.0, OnStop.REMOVE, 2.0)
    assert (config.lock_timeout, config.log_level, config.hook_timeout) == (None, "debug", 5.0)
    assert config.metrics == "[::1]:9999"
    assert config.source == "full.yaml"
    assert config.describe() == ("3 services, 4 destinations, 6 checks, bound to kube-ipvs0")
    assert len(config.table) == 3
    assert config.table[web.key].destinations == (first.destination, second.destination)


def test_json_reads_the_same() -> None:
    import yaml

    document = yaml.safe_load(FULL)
    assert config_from_text(json.dumps(document), "full.json") == config_from_text(FULL)


def test_defaults() -> None:
    config = config_from_dict(
        {"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80}]}
    )
    assert config == Config(services=config.services)
    assert config.bind is None and config.metrics is None
    assert (config.resync, config.on_stop, config.lock_timeout) == (30.0, OnStop.KEEP, 30.0)
    (service,) = config.services
    assert service.destinations == () and service.sorry_server is None
    assert config_from_dict(None).services == ()


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        (True, ipvs.Binding()),
        ("ipvs1", ipvs.Binding(interface="ipvs1")),
        (False, None),
        ({}, ipvs.Binding()),
    ],
)
def test_bind_forms(bind: Any, expected: ipvs.Binding | None) -> None:
    assert config_from_dict({"bind": bind}).bind == expected


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [(True, "127.0.0.1:9475"), ("0.0.0.0:9100", "0.0.0.0:9100"), ({}, "127.0.0.1:9475")],
)
def test_metrics_forms(metrics: Any, expected: str) -> None:
    assert config_from_dict({"daemon": {"metrics": metrics}}).metrics == expected


SVC = {"protocol": "tcp", "address": "10.0.0.1", "port": 80}
DEST = {"address": "10.1.1.2", "port": 80}

ERRORS: list[tuple[Any, str]] = [
    ([], "document: expected a mapping"),
    ({"servics": []}, "document: unknown key(s) servics; allowed: bind, daemon, services"),
    ({"services": {}}, "services: expected a list"),
    ({"services": [{**SVC, "port": "80"}]}, "services[0].port: expected an integer"),
    (
        {"services": [SVC, {**SVC, "scheduler": "rr"}]},
        "services[1]: service TCP 10.0.0.1:80 is listed twice (also services[0])",
    ),
    (
        {"services": [{**SVC, "destinations": [{**DEST, "wieght": 1}]}]},
        "services[0].destinations[0]: unknown key(s) wieght",
    ),
    (
        {"services": [{**SVC, "destinations": [DEST, DEST]}]},
        "services[0].destinations[1]: destination 10.1.1.2:80 is listed twice",
    ),
    ({"services": [{**SVC, "checks": [{"kind": "ping"}]}]}, "services[0].checks[0].kind: expected"),
    (
        {"services": [{**SVC, "checks": [{"kind": "tcp", "path": "/"}]}]},
        "services[0].checks[0]: unknown key(s) path",
    ),
    (
        {"services": [{**SVC, "checks": [{"kind": "tcp", "interval": -1}]}]},
        "services[0].checks[0]: TCPCheck.interval must be a positive number",
    ),
    (
        {"services": [{**SVC, "checks": [{"kind": "http", "status": [700]}]}]},
        "services[0].checks[0]: HTTPCheck.status: codes must be in 100..599",
    ),
    (
        {"services": [{**SVC, "checks": [{"kind": "udp", "payload": 7}]}]},
        "services[0].checks[0].payload: expected a string",
    ),
    (
        {"services": [{**SVC, "checks": [{"kind": "command", "command": 7}]}]},
        "services[0].checks[0].command: expected a string or a list",
    ),
    (
        {"services": [{**SVC, "checks": [{"kind": "command", "command": "x", "env": []}]}]},
        "services[0].checks[0].env: expected a mapping",
    ),
    (
        {"services": [{**SVC, "destinations": [{**DEST, "on_failure": "drop"}]}]},
        "services[0].destinations[0]: on_failure: expected 'quiesce' or 'remove'",
    ),
    (
        {"services": [{**SVC, "destinations": [{**DEST, "on_up": ""}]}]},
        "services[0].destinations[0].on_up: the command is empty",
    ),
    (
        {"services": [{**SVC, "on_quorum_up": 5}]},
        "services[0].on_quorum_up: expected a command",
    ),
    (
        {"services": [{**SVC, "sorry_server": {"address": "10.1.9.9"}}]},
        "services[0].sorry_server: missing 'port'",
    ),
    (
        {"services": [{**SVC, "destinations": [DEST], "sorry_server": DEST}]},
        "services[0]: TCP 10.0.0.1:80: the sorry server 10.1.1.2:80 is also a destination",
    ),
    ({"services": [{**SVC, "quorum": "2"}]}, "services[0].quorum: expected an integer"),
    (
        {"services": [{**SVC, "quorum": 1, "hysteresis": 1}]},
        "services[0]: CheckedService.hysteresis must be in 0..quorum-1",
    ),
    ({"bind": {"interface": "a/b"}}, "bind: Binding.interface: expected an interface name"),
    ({"bind": {"name": "x"}}, "bind: unknown key(s) name"),
    ({"bind": 7}, "bind: expected a mapping"),
    ({"daemon": {"resync": -1}}, "daemon.resync: expected a number of seconds >= 0"),
    ({"daemon": {"retry_delay": 0}}, "daemon.retry_delay: expected a positive number"),
    ({"daemon": {"on_stop": "flush"}}, "daemon.on_stop: expected 'keep' or 'remove'"),
    ({"daemon": {"log_level": "loud"}}, "daemon.log_level: expected one of debug, info"),
    ({"daemon": {"metrics": {"listen": "9100"}}}, "daemon.metrics.listen: expected HOST:PORT"),
    ({"daemon": {"metrics": "h:0"}}, "daemon.metrics.listen: port must be in 1..65535"),
    ({"daemon": {"metrics": {"port": 1}}}, "daemon.metrics: unknown key(s) port"),
    ({"daemon": {"resync_every": 1}}, "daemon: unknown key(s) resync_every"),
]


@pytest.mark.parametrize(("document", "message"), ERRORS, ids=[m for _d, m in ERRORS])
def test_errors_name_the_path(document: Any, message: str) -> None:
    with pytest.raises(ipvs.ValidationError) as info:
        config_from_dict(document)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_text_errors_name_the_file_and_line() -> None:
    with pytest.raises(
        ipvs.ValidationError, match=r"^x\.yaml: invalid YAML: .*\(line 3, column 1\)$"
    ):
        config_from_text("services:\n  - [\n", "x.yaml")
    with pytest.raises(ipvs.ValidationError, match=r"^x\.json: invalid JSON"):
        config_from_text("{", "x.json")
    with pytest.raises(ipvs.ValidationError, match=r"^x\.yaml: services\[0\]: missing 'port'"):
        config_from_text("services: [{protocol: tcp, address: 10.0.0.1}]", "x.yaml")


def test_load_config_names_a_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ipvs.ValidationError, match=r"nope\.yaml: No such file"):
        load_config(str(tmp_path / "nope.yaml"))
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ipvs.ValidationError, match="not UTF-8"):
        load_config(str(path))


def test_restart_needed_names_what_a_reload_cannot_change() -> None:
    a = config_from_dict({"bind": True, "daemon": {"metrics": True}})
    assert a.restart_needed(config_from_dict({"bind": True, "daemon": {"metrics": True}})) == []
    b = config_from_dict({"bind": "ipvs1", "daemon": {"resync": 5, "lock_timeout": 1}})
    assert a.restart_needed(b) == ["bind", "metrics", "lock_timeout"]


def test_the_documented_example_is_valid() -> None:
    config = load_config(str(EXAMPLE))
    assert config.bind is not None
    assert all(
        s.service.address == ipaddress.ip_address("100.100.100.100") for s in config.services
    )
