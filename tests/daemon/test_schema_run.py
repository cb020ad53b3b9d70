"""docs/schema/run.schema.json agrees with the configuration reader."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

import ipvs
from ipvs.daemon import config_from_dict
from tests.daemon.test_config import DEST, EXAMPLE, FULL, SVC

jsonschema = pytest.importorskip("jsonschema")
yaml = pytest.importorskip("yaml")

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "schema"


def validator() -> Any:
    from referencing import Registry, Resource

    documents = [
        json.loads((SCHEMAS / n).read_text()) for n in ("table.schema.json", "run.schema.json")
    ]
    registry = Registry().with_resources(
        (str(d["$id"]), Resource.from_contents(d)) for d in documents
    )
    schema = documents[1]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=registry)


RUN = validator()


@pytest.mark.parametrize(
    "document",
    [yaml.safe_load(FULL), yaml.safe_load(EXAMPLE.read_text()), {}, {"bind": True}],
    ids=["full", "example", "empty", "bind"],
)
def test_what_the_reader_takes_the_schema_takes(document: Any) -> None:
    config_from_dict(document)
    RUN.validate(document)


BAD: list[Any] = [
    {"servics": []},
    {"services": [{**SVC, "port": "80"}]},
    {"services": [{**SVC, "destinations": [{**DEST, "wieght": 1}]}]},
    {"services": [{**SVC, "checks": [{"kind": "ping"}]}]},
    {"services": [{**SVC, "checks": [{"kind": "tcp", "path": "/"}]}]},
    {"services": [{**SVC, "checks": [{"kind": "tcp", "interval": -1}]}]},
    {"services": [{**SVC, "checks": [{"kind": "http", "status": [700]}]}]},
    {"services": [{**SVC, "checks": [{"kind": "udp", "payload": 7}]}]},
    {"services": [{**SVC, "checks": [{"kind": "command"}]}]},
    {"services": [{**SVC, "destinations": [{**DEST, "on_failure": "drop"}]}]},
    {"services": [{**SVC, "sorry_server": {"address": "10.1.9.9"}}]},
    {"services": [{**SVC, "sorry_server": {**DEST, "checks": []}}]},
    {"services": [{**SVC, "quorum": 0}]},
    {"bind": {"interface": "a/b"}},
    {"bind": {"name": "x"}},
    {"daemon": {"resync": -1}},
    {"daemon": {"on_stop": "flush"}},
    {"daemon": {"metrics": {"listen": "9100"}}},
    {"daemon": {"resync_every": 1}},
]


@pytest.mark.parametrize("document", BAD, ids=[json.dumps(d)[:60] for d in BAD])
def test_what_the_reader_refuses_the_schema_refuses(document: Any) -> None:
    with pytest.raises(ipvs.ValidationError):
        config_from_dict(document)
    assert not RUN.is_valid(document)
