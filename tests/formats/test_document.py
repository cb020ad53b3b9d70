"""Table and plan documents (JSON, YAML): round trips, the schema, and errors naming the path."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given

from ipvs import (
    Destination,
    ForwardMethod,
    Service,
    ServiceFlags,
    ServiceKey,
    Table,
    ValidationError,
    diff,
)
from ipvs.formats.document import (
    plan_to_dict,
    table_from_dict,
    table_from_json,
    table_from_yaml,
    table_to_dict,
    table_to_json,
)
from tests.table_strategies import tables


@given(tables(kernel=True))
def test_document_round_trip(t: Table) -> None:
    assert table_from_dict(table_to_dict(t)) == t
    assert table_from_json(table_to_json(t)) == t
    import yaml

    assert table_from_yaml(yaml.safe_dump(table_to_dict(t))) == t


def test_yaml_document_example() -> None:
    text = """
services:
  - protocol: tcp
    address: 10.0.0.1
    port: 80
    scheduler: rr
    destinations:
      - {address: 10.1.0.1, port: 8080, forward: masq, weight: 3}
  - fwmark: 7
    family: inet6
    flags: [persistent]
    timeout: 300
    netmask: 64
"""
    t = table_from_yaml(text)
    web = t[ServiceKey.tcp("10.0.0.1", 80)]
    assert web.service.scheduler == "rr"
    assert web.destinations == (
        Destination(address="10.1.0.1", port=8080, forward=ForwardMethod.MASQ, weight=3),
    )
    mark = t[ServiceKey.mark(7, "inet6")].service
    assert (mark.timeout, mark.netmask, mark.scheduler) == (300, 64, "wlc")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"services": [{"protocol": "tcp", "address": "10.0.0.1"}]},
            r"services\[0\]: missing 'port'",
        ),
        (
            {"services": [{"fwmark": 1, "port": 80}]},
            r"services\[0\]: a fwmark service takes no port",
        ),
        ({"services": [{"fwmark": 1, "colour": "red"}]}, r"services\[0\]: unknown key\(s\) colour"),
        (
            {"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": "80"}]},
            r"services\[0\].port: expected an integer",
        ),
        (
            {"services": [{"fwmark": 1, "destinations": [{"address": "10.0.0.1"}]}]},
            r"services\[0\].destinations\[0\]: missing 'port'",
        ),
        (
            {"services": [{"fwmark": 1, "destinations": [{"address": "x", "port": 1}]}]},
            r"services\[0\].destinations\[0\]:",
        ),
        (
            {"services": [{"fwmark": 1, "flags": ["sticky"]}]},
            r"services\[0\].flags: unknown flag 'sticky'",
        ),
        (
            {
                "services": [
                    {
                        "fwmark": 1,
                        "destinations": [{"address": "10.0.0.1", "port": 1, "forward": "teleport"}],
                    }
                ]
            },
            r"forward: unknown method 'teleport'",
        ),
        ({"servers": []}, r"document: unknown key\(s\) servers"),
        ({"services": [{"fwmark": 1}, {"fwmark": 1}]}, r"listed twice"),
    ],
)
def test_bad_documents_name_the_path(document: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=message):
        table_from_dict(document)


def test_bad_json_and_yaml() -> None:
    with pytest.raises(ValidationError, match="invalid JSON"):
        table_from_json("{")
    with pytest.raises(ValidationError, match="invalid YAML"):
        table_from_yaml("services: [")
    with pytest.raises(ValidationError, match="mapping"):
        table_from_yaml("- 1")


def test_plan_document_is_complete_and_typed() -> None:
    """Numbers are numbers, enums and flags are names, every operation carries its settings."""
    web = Service.tcp("10.0.0.1", 80, scheduler="wlc")
    old = Service.tcp("10.0.0.2", 443, scheduler="sh", flags=ServiceFlags.SH_PORT)
    d1 = Destination(address="10.1.0.1", port=80, forward=ForwardMethod.MASQ)
    d2 = Destination(address="10.1.0.2", port=80, forward=ForwardMethod.MASQ, weight=2)
    current = Table([(web, [d1]), (old, [d1])])
    desired = Table([(attrs.evolve(web, scheduler="rr"), [attrs.evolve(d1, weight=5), d2])])
    doc = json.loads(json.dumps(plan_to_dict(diff(current, desired))))
    assert doc["summary"] == {"add": 1, "change": 2, "delete": 1}
    key = {"protocol": "tcp", "address": "10.0.0.1", "port": 80}
    assert doc["operations"] == [
        {
            "op": "update_service",
            "service": {**key, "scheduler": "rr"},
            "changes": {"scheduler": {"old": "wlc", "new": "rr"}},
        },
        {
            "op": "add_destination",
            "service": key,
            "destination": {"address": "10.1.0.2", "port": 80, "forward": "masq", "weight": 2},
        },
        {
            "op": "update_destination",
            "service": key,
            "destination": {"address": "10.1.0.1", "port": 80, "forward": "masq", "weight": 5},
            "changes": {"weight": {"old": 1, "new": 5}},
        },
        {
            "op": "delete_service",
            "service": {
                "protocol": "tcp",
                "address": "10.0.0.2",
                "port": 443,
                "scheduler": "sh",
                "flags": ["sh-port"],
            },
            "destinations": [{"address": "10.1.0.1", "port": 80, "forward": "masq", "weight": 1}],
        },
    ]
    assert doc["drains"] == []
