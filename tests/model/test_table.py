"""Tables: validation, derivation, and derived tables acting exactly like full ones."""

from __future__ import annotations

from ipaddress import IPv4Address

import attrs
import pytest
from hypothesis import given, strategies as st

import ipvs
from ipvs import (
    Destination,
    Service,
    ServiceEntry,
    ServiceKey,
    Table,
    ValidationError,
)
from tests.table_strategies import tables


def test_table_rejects_duplicates() -> None:
    svc = Service.tcp("10.0.0.1", 80)
    d = Destination(address="10.1.0.1", port=80)
    with pytest.raises(ValidationError, match="listed twice"):
        Table([svc, svc])
    with pytest.raises(ValidationError, match="listed twice"):
        Table([(svc, [d, attrs.evolve(d, weight=2)])])


def test_table_derivation_helpers() -> None:
    svc = Service.tcp("10.0.0.1", 80)
    d = Destination(address="10.1.0.1", port=80)
    t = Table().with_service(svc).with_destination(svc, d)
    assert t.destinations(svc) == (d,)
    assert t.without_destination(svc.key, d.key).destinations(svc) == ()
    assert svc.key not in t.without_service(svc)
    assert t.with_service(attrs.evolve(svc, scheduler="rr")).destinations(svc) == (d,)
    assert repr(t) == "<Table: 1 services, 1 destinations>"
    assert t.filter(lambda k: False) == Table()
    assert t.services() == [svc]
    assert t[svc.key].service.netmask == IPv4Address("255.255.255.255")


@given(tables(), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 7)), max_size=40))
def test_derived_tables_behave_like_a_dict(base: Table, steps: list[tuple[int, int]]) -> None:
    """Derived tables store only differences; they must act exactly like full ones."""
    model = dict(base.items())
    keys = [ServiceKey.tcp(f"10.250.0.{i}", 80) for i in range(8)] + list(base)
    t = base
    for action, index in steps:
        key = keys[index % len(keys)]
        if action == 0:
            t = t.with_service(Service(key=key))
            model[key] = ServiceEntry(
                service=Service(key=key),
                destinations=model[key].destinations if key in model else (),
            )
        elif action == 1:
            if key in model:
                t = t.without_service(key)
                model.pop(key)
            else:
                with pytest.raises(ipvs.NotInTable):
                    t.without_service(key)
        elif action == 2 and key in model:
            d = Destination(address="10.251.0.1", port=index)
            t = t.with_destination(key, d)
            model[key] = ServiceEntry(
                service=model[key].service,
                destinations=[x for x in model[key].destinations if x.key != d.key] + [d],
            )
        else:
            assert (key in t) == (key in model)
        assert len(t) == len(model)
        assert (key in t) == (key in model)
        if key in model:
            assert t[key] == model[key]
    assert dict(t.items()) == model
    assert t == Table(model.values())
    changed = t.changed_since(base)
    if changed is not None:
        assert {k for k in set(model) | set(base) if model.get(k) != base.get(k)} <= changed
