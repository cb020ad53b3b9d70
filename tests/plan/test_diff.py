"""Pure tests of diff and plans (no kernel), against an independent model of the kernel."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from ipvs import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Destination,
    ForwardMethod,
    Plan,
    Scope,
    Service,
    ServiceEntry,
    ServiceFlags,
    ServiceKey,
    Table,
    UpdateDestination,
    UpdateService,
    ValidationError,
    diff,
)
from tests.table_strategies import table_pairs, tables

# -- an independent, strict model of the kernel ---------------------------------


class KernelModel:
    """Applies operations like the kernel: strictly, one at a time."""

    def __init__(self, table: Table) -> None:
        self.services = {k: e.service for k, e in table.items()}
        self.dests = {k: e.destination_map() for k, e in table.items()}

    def run(self, ops: list) -> None:  # type: ignore[type-arg]
        for op in ops:
            key = op.key
            if isinstance(op, AddService):
                assert key not in self.services, f"EEXIST {op.describe()}"
                self.services[key] = op.service
                self.dests[key] = {}
                continue
            assert key in self.services, f"ESRCH {op.describe()}"
            if isinstance(op, UpdateService):
                self.services[key] = op.new
            elif isinstance(op, DeleteService):
                del self.services[key], self.dests[key]
            elif isinstance(op, AddDestination):
                assert op.destination.key not in self.dests[key], f"EEXIST {op.describe()}"
                self.dests[key][op.destination.key] = op.destination
            elif isinstance(op, UpdateDestination):
                assert op.new.key in self.dests[key], f"ENOENT {op.describe()}"
                self.dests[key][op.new.key] = op.new
            else:
                assert op.destination.key in self.dests[key], f"ENOENT {op.describe()}"
                del self.dests[key][op.destination.key]

    def table(self) -> Table:
        return Table(
            ServiceEntry(service=s, destinations=self.dests[k].values())
            for k, s in self.services.items()
        )


def _run(table: Table, ops: list) -> Table:  # type: ignore[type-arg]
    model = KernelModel(table)
    model.run(ops)
    return model.table()


# -- properties ---------------------------------------------------------------------


@given(tables())
def test_diff_of_a_table_with_itself_is_empty(a: Table) -> None:
    plan = diff(a, a)
    assert list(plan) == [] and not plan
    assert str(plan) == "No changes."
    assert diff(a, Table(a.values())).operations == ()


@given(table_pairs())
@settings(max_examples=300)
def test_applying_the_plan_gives_the_desired_table(pair: tuple[Table, Table]) -> None:
    a, b = pair
    plan = diff(a, b)
    assert _run(a, list(plan)) == b
    assert plan.expected() == b
    # and the inverse brings back the original, settings and destinations included
    assert _run(b, plan.inverse()) == a


@given(table_pairs())
def test_plan_is_minimal(pair: tuple[Table, Table]) -> None:
    a, b = pair
    plan = diff(a, b)
    for op in plan:
        if isinstance(op, UpdateService):
            assert op.changes(), "an update must change something"
        if isinstance(op, UpdateDestination):
            assert op.changes()
        if isinstance(op, AddService):
            assert op.key not in a
        if isinstance(op, DeleteService):
            assert op.key not in b
    touched = {op.key for op in plan}
    assert touched == {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


@given(table_pairs())
def test_operation_order_respects_dependencies(pair: tuple[Table, Table]) -> None:
    a, b = pair
    ops = list(diff(a, b))
    added_at = {op.key: i for i, op in enumerate(ops) if isinstance(op, AddService)}
    for i, op in enumerate(ops):
        if isinstance(op, AddDestination) and op.key in added_at:
            assert added_at[op.key] < i
    kinds = [type(op) for op in ops]
    order = [AddService, UpdateService, AddDestination, UpdateDestination, DeleteDestination,
             DeleteService]  # fmt: skip
    assert kinds == sorted(kinds, key=order.index), "make before break"


@given(table_pairs(), st.sets(st.integers(0, 0xFFFF), max_size=8))
def test_scope_is_never_violated(pair: tuple[Table, Table], owned: set[int]) -> None:
    a, b = pair
    scope = Scope(lambda k: hash(k) % 3 != 0, "two thirds")
    desired = Table(
        [e for k, e in b.items() if scope(k)] + [e for k, e in a.items() if not scope(k)]
    )
    plan = diff(a, desired, scope=scope)
    assert all(scope(op.key) for op in plan)
    result = _run(a, list(plan))
    assert {k: e for k, e in result.items() if not scope(k)} == {
        k: e for k, e in a.items() if not scope(k)
    }
    assert {k: e for k, e in result.items() if scope(k)} == {k: e for k, e in b.items() if scope(k)}


def test_desired_outside_scope_is_refused() -> None:
    svc = Service.tcp("192.0.2.1", 80)
    with pytest.raises(ValidationError, match="outside the scope"):
        diff(Table(), Table([svc]), scope=Scope.networks("10.0.0.0/8"))


def test_scope_leaves_unowned_services_alone() -> None:
    mine = Service.tcp("10.96.0.1", 80)
    theirs = Service.tcp("192.0.2.1", 80)  # keepalived's, say
    plan = diff(Table([mine, theirs]), Table(), scope=Scope.networks("10.96.0.0/12"))
    assert [op.key for op in plan] == [mine.key]
    assert Scope.of(Table([mine]))(mine.key) and not Scope.of(Table([mine]))(theirs.key)
    both = Scope.networks("10.96.0.0/12") | Scope.fwmarks(5)
    assert both(ServiceKey.mark(5)) and not both(theirs.key)
    assert not (Scope.networks("10.0.0.0/8") & Scope.fwmarks(5))(mine.key)
    assert Scope.fwmarks(1, 2**32 - 1)(ServiceKey.mark(2**32 - 1))


@pytest.mark.parametrize("mark", [0, 2**32, -1, True, "5", 5.0])
def test_scope_fwmarks_refuses_marks_no_service_can_have(mark: object) -> None:
    with pytest.raises(ValidationError, match="firewall mark"):
        Scope.fwmarks(5, mark)  # type: ignore[arg-type]


@given(tables(), st.data())
def test_derived_tables_diff_fast_and_the_same(a: Table, data: st.DataObject) -> None:
    b = a
    for key in list(a)[:3]:
        entry = a[key]
        if entry.destinations and data.draw(st.booleans()):
            d = entry.destinations[0]
            b = b.with_destination(key, attrs.evolve(d, weight=(d.weight + 1) % 100))
        elif data.draw(st.booleans()):
            b = b.without_service(key)
    b = b.with_service(Service.tcp("10.255.255.1", 9))
    assert b.changed_since(a) is not None
    fast = diff(a, b)
    slow = diff(Table(a.values()), Table(b.values()))
    assert fast.operations == slow.operations


def test_stats_never_cause_operations() -> None:
    from ipvs import Stats

    svc = Service.tcp("10.0.0.1", 80)
    d = Destination(address="10.1.0.1", port=80)
    live_svc = attrs.evolve(svc, stats=Stats(connections=5))
    live_d = attrs.evolve(d, active_connections=3, stats=Stats(bytes_in=10))
    assert not diff(Table([(live_svc, [live_d])]), Table([(svc, [d])]))


def test_identity_change_is_delete_and_add() -> None:
    old = Service.tcp("10.0.0.1", 80, scheduler="rr")
    new = Service.tcp("10.0.0.1", 8080, scheduler="rr")
    plan = diff(Table([old]), Table([new]))
    assert [type(op) for op in plan] == [AddService, DeleteService]


def test_drain_sets_weight_zero_and_lists_the_drain() -> None:
    tcp = Service.tcp("10.0.0.1", 80)
    udp = Service.udp("10.0.0.1", 53)
    a1 = Destination(address="10.1.0.1", port=80, weight=3)
    a2 = Destination(address="10.1.0.2", port=80)
    u1 = Destination(address="10.1.0.1", port=53)
    current = Table([(tcp, [a1, a2]), (udp, [u1])])
    desired = Table([(tcp, [a2]), (udp, [])])
    plan = diff(current, desired, drain=True)
    assert [op.describe() for op in plan] == [
        "~ TCP 10.0.0.1:80 -> 10.1.0.1:80 weight 3 -> 0",
        "- UDP 10.0.0.1:53 -> 10.1.0.1:53",
    ]
    assert [d.describe() for d in plan.drains] == ["TCP 10.0.0.1:80 -> 10.1.0.1:80"]
    assert plan.drains[0].destination.weight == 0
    # once at weight 0 a draining destination causes no further operation
    after = plan.expected()
    again = diff(after, desired, drain=True)
    assert not again and len(again.drains) == 1


def test_rendering_is_stable_and_readable() -> None:
    web = Service.tcp("10.0.0.1", 80, scheduler="wlc")
    old = Service.tcp("10.0.0.2", 443, scheduler="wlc")
    d1 = Destination(address="10.1.0.1", port=80, forward=ForwardMethod.MASQ)
    d2 = Destination(address="10.1.0.2", port=80, forward=ForwardMethod.MASQ, weight=2)
    current = Table([(web, [d1]), (old, [])])
    desired = Table([(attrs.evolve(web, scheduler="rr"), [attrs.evolve(d1, weight=5), d2])])
    plan = diff(current, desired)
    assert str(plan) == "\n".join(
        [
            "~ TCP 10.0.0.1:80 scheduler wlc -> rr",
            "+ TCP 10.0.0.1:80 -> 10.1.0.2:80 masq weight=2",
            "~ TCP 10.0.0.1:80 -> 10.1.0.1:80 weight 1 -> 5",
            "- TCP 10.0.0.2:443",
            "Plan: 1 to add, 2 to change, 1 to delete.",
        ]
    )
    assert isinstance(plan, Plan) and len(plan) == 4 and plan[0].key == web.key


def test_delete_service_keeps_destinations_for_undo() -> None:
    svc = Service.tcp("10.0.0.1", 80, scheduler="sh", timeout=30)
    d = Destination(address="10.1.0.1", port=80, weight=7)
    (op,) = diff(Table([(svc, [d])]), Table())
    assert isinstance(op, DeleteService)
    assert op.inverse() == [AddService(service=svc), AddDestination(service=svc.key, destination=d)]
    assert op.describe() == "- TCP 10.0.0.1:80 (and its 1 destination)"
    assert DeleteDestination(service=svc.key, destination=d).inverse()[0].destination == d


def test_flags_have_one_name_everywhere() -> None:
    """sh/mh scheduler flags are named as ipvsadm names them, in plans too."""
    old = Service.tcp("10.0.0.1", 80, scheduler="sh")
    new = attrs.evolve(old, flags=ServiceFlags.SH_FALLBACK | ServiceFlags.SH_PORT)
    (op,) = diff(Table([old]), Table([new]))
    assert op.describe() == "~ TCP 10.0.0.1:80 flags none -> sh-fallback,sh-port"
    (add,) = diff(Table(), Table([attrs.evolve(new, scheduler="rr")]))
    assert add.describe() == "+ TCP 10.0.0.1:80 rr flags=flag-1,flag-2"
