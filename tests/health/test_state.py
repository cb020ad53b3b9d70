"""The pure decisions: counters, quorum, the entry a service should have, the model."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, strategies as st

import ipvs
from ipvs import Destination, Service, Table
from ipvs.health import (
    Check,
    CheckedDestination,
    CheckedService,
    CheckStatus,
    CommandCheck,
    DestinationDown,
    DestinationUp,
    HealthModel,
    OnFailure,
    Outcome,
    QuorumGained,
    QuorumLost,
    State,
    TCPCheck,
    WeightChanged,
    desired_entry,
    observe,
    quorum_after,
)

OK, FAIL = Outcome(ok=True, detail="ok"), Outcome(ok=False, detail="refused")
WEB = Service.tcp("10.0.0.1", 80, scheduler="wrr")
A = Destination(address="10.1.0.1", port=80, forward="masq", weight=3)
B = Destination(address="10.1.0.2", port=80, forward="masq", weight=1)
SORRY = Destination(address="10.9.0.1", port=80, forward="masq", weight=1)


# -- rise and fall --------------------------------------------------------------------


@given(
    st.booleans(),
    st.integers(1, 4),
    st.integers(1, 4),
    st.lists(st.booleans(), max_size=40),
)
def test_state_changes_exactly_when_a_run_reaches_rise_or_fall(
    start_up: bool, rise: int, fall: int, results: list[bool]
) -> None:
    status = CheckStatus(up=start_up)
    history: list[bool] = []
    for ok in results:
        before = status.up
        status = observe(status, OK if ok else FAIL, rise=rise, fall=fall)
        history.append(ok)
        run = len(history) - next(
            (i + 1 for i in range(len(history) - 1, -1, -1) if history[i] != ok), 0
        )
        if status.up != before:  # a change needs a full run of the other result
            assert status.up == ok
            assert run >= (rise if ok else fall)
        if ok and run >= rise:
            assert status.up
        if not ok and run >= fall:
            assert not status.up
        assert (status.successes, status.failures) == ((run, 0) if ok else (0, run))
        assert status.last == (OK if ok else FAIL)


@pytest.mark.parametrize(
    ("up", "successes", "failures", "pending"),
    [(True, 0, 0, False), (True, 0, 1, True), (False, 0, 3, False), (False, 1, 0, True)],
)
def test_pending_means_the_last_result_disagrees(
    up: bool, successes: int, failures: int, pending: bool
) -> None:
    assert CheckStatus(up=up, successes=successes, failures=failures).pending is pending


# -- quorum -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("was_up", "weight", "quorum", "hysteresis", "now"),
    [
        (True, 1, 1, 0, True),
        (True, 0, 1, 0, False),  # nothing healthy
        (False, 0, 1, 0, False),
        (False, 1, 1, 0, True),
        # quorum 4, hysteresis 1: lost below 3, gained at 5
        (True, 3, 4, 1, True),
        (True, 2, 4, 1, False),
        (False, 4, 4, 1, False),
        (False, 5, 4, 1, True),
        (True, 0, 2, 1, False),  # weight 0 always loses, whatever the hysteresis
    ],
)
def test_quorum_with_hysteresis(
    was_up: bool, weight: int, quorum: int, hysteresis: int, now: bool
) -> None:
    assert quorum_after(was_up, weight, quorum=quorum, hysteresis=hysteresis) is now


# -- the entry a service should have ----------------------------------------------------


def _service(**kwargs: object) -> CheckedService:
    members = kwargs.pop("members", None) or [
        CheckedDestination(destination=A, checks=[TCPCheck()]),
        CheckedDestination(destination=B, checks=[TCPCheck()], on_failure=OnFailure.REMOVE),
    ]
    return CheckedService(service=WEB, destinations=members, **kwargs)  # type: ignore[arg-type]


def _weights(entry: ipvs.ServiceEntry) -> dict[str, int]:
    return {d.describe(): d.weight for d in entry.destinations}


@pytest.mark.parametrize(
    ("a", "b", "quorum", "sorry", "expected"),
    [
        ((True, 3), (True, 1), True, None, {"10.1.0.1:80": 3, "10.1.0.2:80": 1}),
        # A quiesces, B (REMOVE) disappears
        ((False, 3), (True, 1), True, None, {"10.1.0.1:80": 0, "10.1.0.2:80": 1}),
        ((True, 3), (False, 1), True, None, {"10.1.0.1:80": 3}),
        # a weight set by a command check
        ((True, 7), (True, 1), True, None, {"10.1.0.1:80": 7, "10.1.0.2:80": 1}),
        # no quorum and no sorry server: the destinations as their states say
        ((False, 3), (False, 1), False, None, {"10.1.0.1:80": 0}),
        # no quorum with a sorry server: it takes over, every destination goes out
        ((False, 3), (True, 1), False, SORRY, {"10.1.0.1:80": 0, "10.9.0.1:80": 1}),
        # with quorum the sorry server is not there
        ((True, 3), (False, 1), True, SORRY, {"10.1.0.1:80": 3}),
    ],
)
def test_desired_entry(
    a: tuple[bool, int],
    b: tuple[bool, int],
    quorum: bool,
    sorry: Destination | None,
    expected: dict[str, int],
) -> None:
    config = _service(sorry_server=sorry)
    entry = desired_entry(config, {A.key: a, B.key: b}, quorum)
    assert entry.service == WEB
    assert _weights(entry) == expected
    # everything but the weight stays as configured
    assert all(d.forward == ipvs.ForwardMethod.MASQ for d in entry.destinations)


# -- the model ---------------------------------------------------------------------------


def _fail(model: HealthModel, dest: Destination, times: int = 1, index: int = 0) -> list[object]:
    events: list[object] = []
    for _ in range(times):
        events += model.record(WEB.key, dest.key, index, FAIL, at=1.0)
    return events


def _succeed(model: HealthModel, dest: Destination, times: int = 1, index: int = 0) -> list[object]:
    events: list[object] = []
    for _ in range(times):
        events += model.record(WEB.key, dest.key, index, OK, at=2.0)
    return events


def test_a_destination_goes_down_after_fall_and_comes_back_with_its_exact_weight() -> None:
    check = TCPCheck(fall=2, rise=3)
    model = HealthModel([CheckedService(service=WEB, destinations=[A, B], checks=[check])])
    assert model.desired(Table())[WEB.key] == ipvs.ServiceEntry(service=WEB, destinations=[A, B])
    assert _fail(model, A) == []
    (down,) = _fail(model, A)
    assert isinstance(down, DestinationDown)
    assert (down.destination, down.check, down.reason, down.at) == (A, check, "refused", 1.0)
    assert down.applied_at is None and not down.applied
    assert _weights(model.entry(WEB.key)) == {"10.1.0.1:80": 0, "10.1.0.2:80": 1}
    assert _succeed(model, A, 2) == []
    (up,) = _succeed(model, A)
    assert isinstance(up, DestinationUp) and up.weight == 3
    assert model.entry(WEB.key).destination_map()[A.key] == A  # weight 3, exactly


def test_every_check_must_be_up() -> None:
    member = CheckedDestination(destination=A, checks=[TCPCheck(fall=1), TCPCheck(fall=1)])
    model = HealthModel([CheckedService(service=WEB, destinations=[member])])
    assert len([e for e in _fail(model, A, index=1) if isinstance(e, DestinationDown)]) == 1
    assert _fail(model, A, index=0) == []  # already down
    assert _succeed(model, A, 2, index=1) == []  # check 0 is still down
    assert isinstance(_succeed(model, A, 2, index=0)[0], DestinationUp)


def test_alpha_mode_starts_down_and_without_quorum() -> None:
    check = TCPCheck(initial=State.DOWN, rise=1)
    sorry = _service(
        members=[CheckedDestination(destination=A, checks=[check])], sorry_server=SORRY
    )
    model = HealthModel([sorry])
    assert not model.is_up(WEB.key, A.key) and not model.has_quorum(WEB.key)
    (lost,) = model.initial_events(at=0.5)
    assert isinstance(lost, QuorumLost) and lost.sorry_server == SORRY and lost.at == 0.5
    assert _weights(model.entry(WEB.key)) == {"10.1.0.1:80": 0, "10.9.0.1:80": 1}
    up, gained = _succeed(model, A)
    assert isinstance(up, DestinationUp) and isinstance(gained, QuorumGained)
    assert _weights(model.entry(WEB.key)) == {"10.1.0.1:80": 3}


def test_initial_state_strings() -> None:
    assert TCPCheck(initial="down").initial is State.DOWN
    with pytest.raises(ipvs.ValidationError, match="initial"):
        TCPCheck(initial="sideways")


def test_quorum_events_and_the_sorry_server() -> None:
    model = HealthModel(
        [
            CheckedService(
                service=WEB,
                destinations=[A, B],
                checks=[TCPCheck(fall=1, rise=1)],
                sorry_server=SORRY,
            )
        ]
    )
    assert model.initial_events(at=0.0) == []
    assert [type(e) for e in _fail(model, B)] == [DestinationDown]
    _down, lost = _fail(model, A)
    assert isinstance(lost, QuorumLost) and (lost.weight, lost.threshold) == (0, 1)
    assert model.status()[0].sorry_server
    assert _weights(model.entry(WEB.key)) == {"10.1.0.1:80": 0, "10.1.0.2:80": 0, "10.9.0.1:80": 1}
    _up, gained = _succeed(model, B)
    assert isinstance(gained, QuorumGained) and gained.weight == 1
    assert _weights(model.entry(WEB.key)) == {"10.1.0.1:80": 0, "10.1.0.2:80": 1}


def test_quorum_hysteresis_in_the_model() -> None:
    model = HealthModel(
        [
            CheckedService(
                service=WEB,
                destinations=[A, B],
                checks=[TCPCheck(fall=1, rise=1)],
                quorum=3,
                hysteresis=1,
            )
        ]
    )
    assert model.has_quorum(WEB.key)  # 3 + 1 = 4 >= 3 + 1
    assert [type(e) for e in _fail(model, B)] == [DestinationDown]  # 3 >= 2: kept
    assert [type(e) for e in _fail(model, A)] == [DestinationDown, QuorumLost]
    assert [type(e) for e in _succeed(model, A)] == [DestinationUp]  # 3 < 4: not yet
    assert [type(e) for e in _succeed(model, B)] == [DestinationUp, QuorumGained]


def test_a_command_check_sets_the_weight_and_status_0_restores_it() -> None:
    weigh = CommandCheck(command="true", dynamic_weight=True, fall=1, rise=1)
    model = HealthModel([CheckedService(service=WEB, destinations=[A], checks=[weigh])])
    (changed,) = model.record(WEB.key, A.key, 0, Outcome(ok=True, weight=5), at=1.0)
    assert isinstance(changed, WeightChanged) and (changed.old, changed.new) == (3, 5)
    assert model.record(WEB.key, A.key, 0, Outcome(ok=True, weight=5), at=1.0) == []
    assert [type(e) for e in _fail(model, A)] == [DestinationDown, QuorumLost]
    # a new weight while down takes effect when it comes up
    (up, _gained) = model.record(WEB.key, A.key, 0, Outcome(ok=True, weight=2), at=2.0)
    assert isinstance(up, DestinationUp) and up.weight == 2
    (changed,) = model.record(WEB.key, A.key, 0, Outcome(ok=True), at=3.0)
    assert (changed.old, changed.new) == (2, 3)  # type: ignore[attr-defined]
    # weight 0 from the command: up, but no quorum
    events = model.record(WEB.key, A.key, 0, Outcome(ok=True, weight=0), at=4.0)
    assert [type(e) for e in events] == [WeightChanged, QuorumLost]


def test_desired_leaves_other_services_and_returns_current_when_nothing_changes() -> None:
    other = Service.tcp("10.0.0.9", 443, scheduler="rr")
    current = Table([(other, [B])])
    model = HealthModel([CheckedService(service=WEB, destinations=[A], checks=[TCPCheck()])])
    desired = model.desired(current)
    assert desired[other.key] == current[other.key]
    assert desired.changed_since(current) == {WEB.key}
    assert model.desired(desired) is desired
    assert model.scope()(WEB.key) and not model.scope()(other.key)


def test_status_reports_every_check() -> None:
    model = HealthModel([CheckedService(service=WEB, destinations=[A, B], checks=[TCPCheck()])])
    _fail(model, A)
    (service,) = model.status()
    assert (service.service, service.quorum, service.weight, service.sorry_server) == (
        WEB.key,
        True,
        4,
        False,
    )
    first = service.destinations[0]
    assert first.destination == A and first.up and first.checks[0].failures == 1


def test_configuration_errors() -> None:
    with pytest.raises(ipvs.ValidationError, match="listed twice"):
        HealthModel([_service(), _service()])
    with pytest.raises(ipvs.ValidationError, match="listed twice"):
        CheckedService(service=WEB, destinations=[A, attrs.evolve(A, weight=1)])
    with pytest.raises(ipvs.ValidationError, match="sorry server"):
        CheckedService(service=WEB, destinations=[A], sorry_server=attrs.evolve(A, weight=9))
    with pytest.raises(ipvs.ValidationError, match="quorum"):
        CheckedService(service=WEB, destinations=[A], quorum=0)
    with pytest.raises(ipvs.ValidationError, match="hysteresis"):
        CheckedService(service=WEB, destinations=[A], quorum=2, hysteresis=2)
    with pytest.raises(ipvs.ValidationError, match="at most one"):
        CheckedDestination(
            destination=A,
            checks=[CommandCheck(command="a", dynamic_weight=True)] * 2,
        )
    with pytest.raises(ipvs.ValidationError, match="quiesce"):
        CheckedDestination(destination=A, on_failure="drop")
    with pytest.raises(ipvs.ValidationError, match="expected Destination"):
        CheckedService(service=WEB, destinations=["10.1.0.1"])  # type: ignore[list-item]
    with pytest.raises(ipvs.ValidationError, match="callable"):
        CheckedService(service=WEB, destinations=[A], on_quorum_up=3)  # type: ignore[arg-type]
    with pytest.raises(ipvs.ValidationError, match="only holds the timing"):
        CheckedDestination(destination=A, checks=[Check()])
    with pytest.raises(ipvs.ValidationError, match="Check objects"):
        CheckedDestination(destination=A, checks=["tcp"])  # type: ignore[list-item]


def test_a_destination_without_checks_is_always_up() -> None:
    model = HealthModel([CheckedService(service=WEB, destinations=[A])])
    assert model.is_up(WEB.key, A.key)
    assert model.entry(WEB.key).destinations == (A,)
