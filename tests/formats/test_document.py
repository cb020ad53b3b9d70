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
            r"services\[0\].flags\[0\]: unknown flag 'sticky'",
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
    with pytest.raises(ValidationError, match=r"^document: expected a mapping, got a list$"):
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


# --------------------------------------------------------------------------- strict reading


@pytest.mark.parametrize(
    "text",
    [
        '{"services": []}',
        "services: []",
        "services: []\n",
        b'{"services": []}',
        "\ufeffservices: []",
    ],
)
def test_an_empty_table_is_said_explicitly(text: str | bytes) -> None:
    read = table_from_json if str(text).lstrip("b'\ufeff").startswith("{") else table_from_yaml
    assert read(text) == Table()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "document: missing 'services'"),
        ({"services": None}, "services: expected a list, got null"),
        ({"services": {}}, "services: expected a list, got a mapping"),
        ({"services": 0}, "services: expected a list, got 0"),
        ({"services": False}, "services: expected a list, got false"),
        ({"services": ""}, "services: expected a list, got ''"),
        ({"services": "[]"}, "services: expected a list, got '\\[\\]'"),
    ],
)
def test_nothing_else_reads_as_an_empty_table(document: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match="^" + message):
        table_from_dict(document)
    with pytest.raises(ValidationError, match="services: \\[\\]"):
        table_from_dict(document)


def test_repeated_keys_name_the_path_in_json_and_yaml() -> None:
    with pytest.raises(ValidationError, match=r"^document: key 'services' is given twice$"):
        table_from_json('{"services": [], "services": []}')
    with pytest.raises(
        ValidationError, match=r"^services\[0\].destinations\[0\]: key 'port' is given twice$"
    ):
        table_from_json(
            '{"services": [{"fwmark": 1, "destinations": [{"address": "10.0.0.1", '
            '"port": 1, "port": 2}]}]}'
        )
    with pytest.raises(
        ValidationError, match=r"^services\[1\]: key 'scheduler' is given twice \(line 5\)$"
    ):
        table_from_yaml(
            "services:\n  - fwmark: 1\n  - fwmark: 2\n    scheduler: rr\n    scheduler: wrr\n"
        )


def test_yaml_merge_keys_and_aliases_still_work() -> None:
    text = """
pool: &pool
  - {address: 10.1.0.1, port: 80}
base: &base {scheduler: rr, flags: [persistent]}
"""
    with pytest.raises(ValidationError, match="unknown key"):
        table_from_yaml(text + "services: []\n")  # pool and base are not table keys
    table = table_from_yaml("""
services:
  - &web {protocol: tcp, address: 10.0.0.1, port: 80, scheduler: wrr,
          destinations: &pool [{address: 10.1.0.1, port: 80}]}
  - <<: *web
    port: 443
    scheduler: rr
  - {protocol: udp, address: 10.0.0.1, port: 53, destinations: *pool}
""")
    assert [s.scheduler for s in table.services()] == ["wrr", "rr", "wlc"]
    assert table.destination_count() == 3


def test_yaml_aliases_cannot_blow_up() -> None:
    # 600 services x 1,000 destinations from a 60 KB text: refused before building any.
    dests = ", ".join(f"{{address: 10.1.{i >> 8}.{i & 255}, port: 80}}" for i in range(1000))
    head = f"services:\n  - {{fwmark: 1, destinations: &pool [{dests}]}}\n"
    services = [
        f"  - {{protocol: tcp, address: 10.0.{i >> 8}.{i & 255}, port: 80, destinations: *pool}}\n"
        for i in range(1, 600)
    ]
    with pytest.raises(ValidationError, match=r"^services: the document's aliases expand to 600"):
        table_from_yaml(head + "".join(services))
    # sharing within the limit is fine
    table = table_from_yaml(head + "".join(services[:3]))
    assert table.destination_count() == 4 * 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, r"^\[0\](\[0\]){31}: nested deeper than 32 levels"),
        (
            '{"services": [{"fwmark": 1, "destinations": ' + "[" * 5000 + "]" * 5000 + "}]}",
            # Python 3.13's parser reads 5,000 levels without a RecursionError: then
            # the model's check names the first place where a mapping was due
            r"^services\[0\].destinations(\[0\]){29}: nested deeper than 32 levels"
            r"|^services\[0\]\.destinations\[0\]: expected a mapping, got a list",
        ),
    ],
)
def test_deep_json_is_refused_with_the_path(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        table_from_json(text)


def test_deep_yaml_is_refused_with_the_path_and_line() -> None:
    with pytest.raises(
        ValidationError, match=r"^services(\[0\]){31}: nested deeper than 32 levels \(line 1\)$"
    ):
        table_from_yaml("services: " + "[" * 50_000 + "]" * 50_000)
    block = "services:\n" + "".join("  " * i + "- \n" for i in range(40))
    with pytest.raises(ValidationError, match=r"nested deeper than 32 levels \(line 3[0-9]\)$"):
        table_from_yaml(block)
    shallow = "services:\n" + "".join("  " * i + "- \n" for i in range(20))
    with pytest.raises(ValidationError, match=r"^services\[0\]: expected a mapping, got a list$"):
        table_from_yaml(shallow)


@pytest.mark.parametrize("digits", [65, 4299, 4301, 100_000])
def test_long_integers_are_refused_with_the_path(digits: int) -> None:
    number = "7" * digits
    message = r"^services\[0\].fwmark: integer too long \(\d+ digits; at most 64\)$"
    with pytest.raises(ValidationError, match=message):
        table_from_json(f'{{"services": [{{"fwmark": {number}}}]}}')
    with pytest.raises(ValidationError, match=message):
        table_from_yaml(f"services: [{{fwmark: {number}}}]")
    with pytest.raises(ValidationError, match=message):
        table_from_dict({"services": [{"fwmark": 7 * 10**digits if digits < 5000 else 10**5000}]})


def test_bytes_are_read_as_utf8_with_the_offset_of_a_bad_byte() -> None:
    good = b'{"services": [{"fwmark": 1, "scheduler": "rr"}]}'
    assert table_from_json(good) == table_from_json(good.decode())
    assert table_from_yaml(b"\xef\xbb\xbfservices: []") == Table()
    with pytest.raises(ValidationError, match=r"^not UTF-8: byte 0xff at offset 13 \(line 2\)$"):
        table_from_yaml(b"services: []\n\xff")
    with pytest.raises(ValidationError, match=r"not UTF-8: byte 0xff at offset 0 \(line 1\)"):
        table_from_json('{"services": []}'.encode("utf-16"))
    with pytest.raises(ValidationError, match=r"expected text \(str\) or bytes, got int"):
        table_from_json(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "services: [",
        "services: [{fwmark: 1}\n  - x",
        "services:\n- a\n b: c",
        "services: [\x00]",
        "services: !!int abc",
        "services: !!bool maybe",
        "services: !!timestamp never",
        "services: !!float x",
        "services: !!python/object:os.system ls",
        "services: *nowhere",
        "services: [&a [*a]]",
        "? [a, b]\n: 1\n",
        "---\nservices: []\n---\nservices: []\n",
        "services: {[1]: 2}",
    ],
)
def test_bad_yaml_is_one_line(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        table_from_yaml(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    assert message.startswith(("invalid YAML: ", "services", "document")), message


def test_values_of_the_wrong_type_are_refused_not_converted() -> None:
    svc = {"protocol": "tcp", "address": "10.0.0.1", "port": 80}
    cases = [
        ({**svc, "port": 80.0}, r"services\[0\].port: expected an integer, got 80.0"),
        ({**svc, "port": True}, r"services\[0\].port: expected an integer, got true"),
        ({**svc, "address": 167772161}, r"services\[0\].address: expected a string, got 167772161"),
        ({**svc, "protocol": 6}, r"services\[0\].protocol: expected a string, got 6"),
        ({**svc, "scheduler": None}, r"services\[0\].scheduler: expected a string, got null"),
        ({**svc, "timeout": "300"}, r"services\[0\].timeout: expected an integer, got '300'"),
        ({**svc, "flags": None}, r"services\[0\].flags: expected a list, got null"),
        ({**svc, "flags": [1]}, r"services\[0\].flags\[0\]: expected a string, got 1"),
        ({**svc, "netmask": True}, r"services\[0\].netmask: expected an integer, got true"),
        ({**svc, "destinations": None}, r"services\[0\].destinations: expected a list, got null"),
        (
            {**svc, "destinations": {}},
            r"services\[0\].destinations: expected a list, got a mapping",
        ),
        ({**svc, "x" * 500: 1}, r"services\[0\]: unknown key\(s\) x{37}\.\.\."),
        ({**svc, 7: 1}, r"services\[0\]: unknown key\(s\) 7;"),
        ({**svc, "stats": {}}, r"\(stats: live data, written by table_to_dict\(stats=True\)"),
    ]
    for service, message in cases:
        with pytest.raises(ValidationError, match=message):
            table_from_dict({"services": [service]})


def test_long_values_are_shown_short() -> None:
    with pytest.raises(ValidationError) as info:
        table_from_dict(
            {"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": "9" * 10_000}]}
        )
    assert len(str(info.value)) < 150


def test_daemon_to_dict_names_the_state() -> None:
    import ipvs
    from ipvs.formats.document import daemon_to_dict

    daemon = ipvs.SyncDaemon(state="master", interface="eth0", group="ff02::1", port=8848)
    assert daemon_to_dict(daemon) == {
        "state": "master",
        "interface": "eth0",
        "sync_id": 0,
        "max_length": 0,
        "group": "ff02::1",
        "port": 8848,
        "ttl": 0,
    }
    with pytest.raises(ipvs.ValidationError, match="expected a SyncDaemon"):
        daemon_to_dict("master")  # type: ignore[arg-type]
