"""Declarative apply against the real kernel: convergence, rollback, conflicts."""

from __future__ import annotations

import os
import random
import subprocess

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from ipvs import (
    AddDestination,
    AddService,
    ApplyError,
    Client,
    ConflictError,
    DeleteDestination,
    DeleteService,
    Destination,
    ForwardMethod,
    Plan,
    Service,
    ServiceEntry,
    ServiceKey,
    Table,
    UpdateDestination,
    UpdateService,
    ValidationError,
    diff,
)
from ipvs._plan import Operation
from tests.table_strategies import table_pairs


@given(pair=table_pairs(kernel=True))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_apply_converges_to_the_desired_table(client: Client, pair: tuple[Table, Table]) -> None:
    a, b = pair
    client.flush()
    first = client.apply(a)
    assert client.snapshot() == a == first.table
    second = client.apply(b)
    assert client.snapshot() == b == second.table
    # applying again changes nothing
    assert not client.apply(b).plan


def _big_tables(n_services: int = 100, per_service: int = 10) -> tuple[Table, Table]:
    """A current table and a desired one that differ by well over 1,000 operations."""
    current = []
    desired = []
    for i in range(n_services):
        svc = Service.tcp(f"10.0.{i // 250}.{i % 250 + 1}", 80, scheduler="wlc")
        dests = [
            Destination(address=f"10.1.{i % 250}.{j + 1}", port=8080, forward=ForwardMethod.MASQ)
            for j in range(per_service)
        ]
        current.append(ServiceEntry(service=svc, destinations=dests))
        if i % 10 == 0:
            continue  # deleted
        new_dests = [attrs.evolve(d, weight=2) if j % 2 else d for j, d in enumerate(dests[1:])]
        new_dests.append(
            Destination(address=f"10.2.{i % 250}.1", port=8080, forward=ForwardMethod.MASQ)
        )
        new_svc = attrs.evolve(svc, scheduler="rr") if i % 3 == 0 else svc
        desired.append(ServiceEntry(service=new_svc, destinations=new_dests))
    for i in range(n_services):  # brand-new services
        svc = Service.udp(f"10.3.{i // 250}.{i % 250 + 1}", 53, scheduler="sh")
        dests = [
            Destination(address=f"10.4.{i % 250}.{j + 1}", port=53) for j in range(per_service)
        ]
        desired.append(ServiceEntry(service=svc, destinations=dests))
    return Table(current), Table(desired)


_NOWHERE = ServiceKey.tcp("10.250.250.250", 1)


def _broken(op: Operation) -> Operation:
    """A variant of ``op`` that the kernel rejects."""
    if isinstance(op, AddService):
        return AddService(service=attrs.evolve(op.service, scheduler="nosuchsched"))
    if isinstance(op, UpdateService):
        return UpdateService(old=op.old, new=attrs.evolve(op.new, scheduler="nosuchsched"))
    if isinstance(op, DeleteService):
        return DeleteService(service=Service(key=_NOWHERE))
    if isinstance(op, AddDestination):
        return AddDestination(service=_NOWHERE, destination=op.destination)
    if isinstance(op, UpdateDestination):
        ghost = attrs.evolve(op.new, port=1)
        return UpdateDestination(service=op.service, old=ghost, new=ghost)
    assert isinstance(op, DeleteDestination)
    return DeleteDestination(service=op.service, destination=attrs.evolve(op.destination, port=1))


def test_any_failing_operation_rolls_everything_back(client: Client) -> None:
    current, desired = _big_tables()
    client.apply(current)
    original = client.snapshot()
    assert original == current
    plan = diff(original, desired)
    n = len(plan)
    assert n >= 1000
    rng = random.Random(1234)
    if os.environ.get("IPVS_LONG") == "1":
        positions = list(range(n))  # every position
    else:
        positions = sorted({0, 1, n // 2, n - 2, n - 1, *rng.sample(range(n), 45)})
    kinds = set()
    for k in positions:
        ops = list(plan.operations)
        ops[k] = _broken(ops[k])
        kinds.add(type(ops[k]).__name__)
        faulty = Plan(operations=tuple(ops), current=original, desired=desired)
        with pytest.raises(ApplyError) as info:
            client.apply_plan(faulty)
        assert info.value.operation == ops[k], f"position {k}"
        assert f"operation {k + 1} of {n} failed" in str(info.value)
        after = client.snapshot()
        assert after == original, f"state differs after a failure at position {k}"
        for key, entry in original.items():  # the kernel's order comes back too
            assert after[key].destinations == entry.destinations, f"order, position {k}"
    assert len(kinds) >= 3, kinds
    print(f"fault injection: {len(positions)} positions of {n}, set and order restored each time")
    # and the unbroken plan applies cleanly
    client.apply_plan(plan)
    assert client.snapshot() == desired


def test_rollback_restores_deleted_services_with_all_settings(client: Client) -> None:
    svc = Service.tcp(
        "10.0.0.1", 80, scheduler="sh", flags=1 | 8, timeout=600, netmask="255.255.0.0"
    )
    d = Destination(
        address="10.1.0.1", port=80, forward="tunnel", weight=9, upper_threshold=50,
        lower_threshold=10, tunnel_type="gue", tunnel_port=6080, tunnel_flags=1,
    )  # fmt: skip
    current = Table([(svc, [d])])
    client.apply(current)
    bad = Service.tcp("10.0.0.2", 80, scheduler="nosuchsched")
    plan = diff(client.snapshot(), Table([bad]))
    assert [type(op) for op in plan] == [AddService, DeleteService]
    # the plan deletes last; send the deletion first so that it is applied
    # before the add fails, and must be undone
    reordered = Plan(operations=(plan[1], plan[0]), current=plan.current, desired=plan.desired)
    with pytest.raises(ApplyError, match="scheduler or persistence engine not found"):
        client.apply_plan(reordered)
    assert client.snapshot() == current
    assert client.destinations(svc) == [d]


def test_concurrent_writer_is_detected_and_nothing_is_lost(client: Client) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    d1 = Destination(address="10.1.0.1", port=80)
    client.apply(Table([(svc, [d1])]))
    known = client.snapshot()
    other = Service.tcp("10.0.0.9", 80)
    desired = Table([(svc, [attrs.evolve(d1, weight=5)]), (other, [])])
    # another manager adds the same new service and removes d1 behind our back
    subprocess.run(["ipvsadm", "-A", "-t", "10.0.0.9:80", "-s", "rr"], check=True)
    subprocess.run(["ipvsadm", "-d", "-t", "10.0.0.1:80", "-r", "10.1.0.1:80"], check=True)
    theirs = client.snapshot()
    with pytest.raises(ConflictError, match="nothing was sent"):
        client.apply(desired, current=known)
    assert client.snapshot() == theirs
    assert client.service(other.key).scheduler == "rr"
    # with a fresh snapshot the same desired state applies
    client.apply(desired)
    assert client.snapshot() == desired


def test_known_state_skips_the_snapshot_and_chains(client: Client) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    d = Destination(address="10.1.0.1", port=80)
    result = client.apply(Table([(svc, [d])]))
    for weight in (2, 3, 4):
        desired = result.table.with_destination(svc, attrs.evolve(d, weight=weight))
        result = client.apply(desired, current=result.table)
        assert [op.describe() for op in result.plan] == [
            f"~ TCP 10.0.0.1:80 -> 10.1.0.1:80 weight {weight - 1} -> {weight}"
        ]
    assert client.destinations(svc)[0].weight == 4


def test_dry_run_sends_nothing(client: Client) -> None:
    result = client.apply(Table([Service.tcp("10.0.0.1", 80)]), dry_run=True)
    assert not result.applied and len(result.plan) == 1
    assert client.services() == []


def test_transaction_commits_on_clean_exit_and_discards_on_error(client: Client) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    d = Destination(address="10.1.0.1", port=80)
    with client.transaction() as tx:
        tx.add_service(svc)
        tx.add_destination(svc, d)
        assert len(tx.plan()) == 2
    assert client.snapshot() == Table([(svc, [d])])
    assert tx.result is not None and len(tx.result.plan) == 2
    with pytest.raises(RuntimeError), client.transaction() as tx2:
        tx2.delete_service(svc)
        raise RuntimeError("changed my mind")
    assert client.snapshot() == Table([(svc, [d])])
    with pytest.raises(Exception, match="finished"):
        tx2.add_service(Service.tcp("10.0.0.2", 80))
    with client.transaction() as tx3:
        with pytest.raises(LookupError):
            tx3.delete_destination(svc, Destination(address="10.9.9.9", port=1))
        with pytest.raises(Exception, match="already exists"):
            tx3.add_service(svc)


def test_verify_reads_back(client: Client) -> None:
    svc = Service.tcp("10.0.0.1", 80)
    result = client.apply(Table([svc]), verify=True)
    assert result.table == Table([svc])


def test_desired_outside_scope_is_refused_before_any_syscall(client: Client) -> None:
    from ipvs import Scope

    with pytest.raises(ValidationError):
        client.apply(Table([Service.tcp("192.0.2.1", 80)]), scope=Scope.networks("10.0.0.0/8"))
    assert client.services() == []
