"""The JSON Schema documents in docs/schema/ describe what the exporters write."""

from __future__ import annotations

import json
import pathlib

import pytest
from hypothesis import given, settings

from ipvs import Table, diff
from ipvs.formats.document import plan_to_dict, table_to_dict
from tests.table_strategies import table_pairs, tables

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "schema"


def _load(name: str) -> dict[str, object]:
    schema: dict[str, object] = json.loads((SCHEMAS / name).read_text())
    return schema


def validator(name: str) -> object:
    """A validator that resolves references between the two schema documents."""
    from referencing import Registry, Resource

    documents = [_load(n) for n in ("table.schema.json", "plan.schema.json")]
    registry = Registry().with_resources(
        (str(d["$id"]), Resource.from_contents(d)) for d in documents
    )
    schema = _load(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=registry)


TABLE = validator("table.schema.json")
PLAN = validator("plan.schema.json")


@settings(max_examples=150)
@given(tables())
def test_table_documents_follow_the_schema(t: Table) -> None:
    TABLE.validate(json.loads(json.dumps(table_to_dict(t))))  # type: ignore[attr-defined]


@settings(max_examples=150)
@given(table_pairs())
def test_plan_documents_follow_the_schema(pair: tuple[Table, Table]) -> None:
    current, desired = pair
    plan = diff(current, desired, drain=True)
    PLAN.validate(json.loads(json.dumps(plan_to_dict(plan))))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "document",
    [
        {"services": [{"protocol": "tcp", "address": "10.0.0.1"}]},  # no port
        {"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": "80"}]},  # a string
        {"services": [{"fwmark": 1, "colour": "red"}]},  # unknown key
        {"services": {}},  # not a list
    ],
)
def test_the_schema_refuses_what_the_reader_refuses(document: dict[str, object]) -> None:
    assert not TABLE.is_valid(document)  # type: ignore[attr-defined]
