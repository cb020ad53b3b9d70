"""The pure half of apply: rollback operations, failure classification, drain decisions."""

from __future__ import annotations

import errno as E

import attrs

import ipvs
from ipvs import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Destination,
    Drain,
    Service,
    Table,
    UpdateDestination,
    diff,
)
from ipvs._plan import failure_error, reap_decisions, rollback_operations
from ipvs.errors import error_for

WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
OLD = Service.tcp("10.0.0.2", 80, scheduler="wlc")
D1 = Destination(address="10.1.0.1", port=80)
D2 = Destination(address="10.1.0.2", port=80, weight=4)


def plan() -> ipvs.Plan:
    current = Table([(WEB, [D1]), (OLD, [D2])])
    desired = Table([(WEB, [attrs.evolve(D1, weight=9), D2])])
    return diff(current, desired)


def test_rollback_undoes_what_applied_last_first_and_skips_failures() -> None:
    p = plan()
    ops = list(p)
    assert [type(op) for op in ops] == [AddDestination, UpdateDestination, DeleteService]
    assert rollback_operations(ops, {}) == [
        AddService(service=OLD),
        AddDestination(service=OLD.key, destination=D2),
        UpdateDestination(service=WEB.key, old=attrs.evolve(D1, weight=9), new=D1),
        DeleteDestination(service=WEB.key, destination=D2),
    ]
    # the update failed: only the add and the delete are undone
    assert rollback_operations(ops, {1: None}) == [
        AddService(service=OLD),
        AddDestination(service=OLD.key, destination=D2),
        DeleteDestination(service=WEB.key, destination=D2),
    ]


def test_failure_error_tells_conflicts_from_plain_failures() -> None:
    p = plan()
    exists = error_for(E.EEXIST, "add_destination", (WEB.key, D2))
    conflict = failure_error(p, {0: exists})
    assert isinstance(conflict, ipvs.ConflictError)
    assert "changed behind the plan" in str(conflict)
    invalid = error_for(E.EINVAL, "add_destination", (WEB.key, D2))
    plain = failure_error(p, {0: invalid})
    assert type(plain) is ipvs.ApplyError
    assert plain.operation == p[0] and plain.error is invalid
    assert str(plain).startswith("operation 1 of 3 failed: + TCP 10.0.0.1:80 -> 10.1.0.2:80")
    inverse = rollback_operations(list(p), {0: invalid})
    broken = failure_error(p, {0: invalid}, inverse, {1: exists})
    assert isinstance(broken, ipvs.RollbackError)
    assert broken.rollback_failures == [(inverse[1], exists)]
    assert "state is unknown" in str(broken)


def test_reap_decisions() -> None:
    key = WEB.key
    idle = attrs.evolve(D1, weight=0)
    busy = attrs.evolve(D2, weight=0, active_connections=2)
    inactive = Destination(address="10.1.0.3", port=80, weight=0, inactive_connections=1)
    revived = Destination(address="10.1.0.4", port=80, weight=3)
    gone = Destination(address="10.1.0.5", port=80, weight=0)
    drains = [Drain(service=key, destination=d) for d in (idle, busy, inactive, revived, gone)]
    live = {key: {d.key: d for d in (idle, busy, inactive, revived)}}
    since: dict[object, float] = {}
    removed, delete, pending = reap_decisions(
        drains, live, now=10.0, since=since, grace=None, count_inactive=True
    )
    assert [d.destination for d in removed] == [gone]
    assert [d.destination for d in delete] == [idle]
    assert [d.destination for d in pending] == [busy, inactive]
    assert (key, revived.key) not in since and since[(key, busy.key)] == 10.0
    # later, with a grace period: the busy one is deleted anyway
    removed, delete, pending = reap_decisions(
        drains[1:3], live, now=40.0, since=since, grace=20.0, count_inactive=True
    )
    assert [d.destination for d in delete] == [busy, inactive]
    # not waiting for inactive connections
    _, delete, _ = reap_decisions(
        drains[2:3], live, now=40.0, since={}, grace=None, count_inactive=False
    )
    assert [d.destination for d in delete] == [inactive]
    # a service that vanished: its drains are finished
    removed, _, _ = reap_decisions(
        drains[:1], {key: None}, now=1.0, since={}, grace=None, count_inactive=True
    )
    assert removed == drains[:1]
