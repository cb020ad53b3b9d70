"""A running checker changes its services (state kept for what stays) and repairs drift."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

import ipvs
from ipvs import Destination, Service, Table
from ipvs.health import (
    CheckedDestination,
    CheckedService,
    CheckStatus,
    DestinationDown,
    HealthChecker,
    HealthModel,
    Outcome,
    QuorumGained,
    QuorumLost,
    TCPCheck,
)
from tests.health.test_checker import OTHER, WEB, A, B, Backends, FakeClient, run

C = Destination(address="10.1.0.3", port=80, forward="masq", weight=2)
DOWN = Outcome(ok=False, detail="refused")
UP = Outcome(ok=True)


def web(*dests: Destination, check: TCPCheck | None = None, **kwargs: Any) -> CheckedService:
    checks = [check or TCPCheck(fall=1, rise=2)]
    return CheckedService(service=WEB, destinations=dests, checks=checks, **kwargs)


# -- the model ---------------------------------------------------------------------------


def test_states_of_checks_that_stay_are_kept() -> None:
    old = HealthModel([web(A, B)])
    old.record(WEB.key, A.key, 0, DOWN, at=1.0)
    old.record(WEB.key, B.key, 0, UP, at=1.0)
    new = HealthModel([web(A, B, C)], previous=old)
    assert not new.is_up(WEB.key, A.key)  # still down
    assert new.check_status(WEB.key, B.key, 0) == CheckStatus(up=True, successes=1, last=UP)
    assert new.check_status(WEB.key, C.key, 0) == CheckStatus(up=True)  # new: initial
    # A is down: weight 0 in the table, B and C at theirs
    weights = {d.describe(): d.weight for d in new.entry(WEB.key).destinations}
    assert weights == {"10.1.0.1:80": 0, "10.1.0.2:80": 1, "10.1.0.3:80": 2}


def test_a_changed_check_starts_again_from_its_initial_state() -> None:
    old = HealthModel([web(A)])
    old.record(WEB.key, A.key, 0, DOWN, at=1.0)
    new = HealthModel([web(A, check=TCPCheck(fall=1, rise=2, interval=5.0))], previous=old)
    assert new.is_up(WEB.key, A.key)
    # a destination whose settings changed but whose check did not keeps its state
    heavier = attrs.evolve(A, weight=9)
    assert not HealthModel([web(heavier)], previous=old).is_up(WEB.key, A.key)


def test_a_command_checks_weight_stays_with_it() -> None:
    check = ipvs.health.CommandCheck(command="true", dynamic_weight=True, fall=1, rise=1)
    config = CheckedService(
        service=WEB, destinations=[CheckedDestination(destination=A, checks=[check])]
    )
    old = HealthModel([config])
    old.record(WEB.key, A.key, 0, Outcome(ok=True, weight=7), at=1.0)
    new = HealthModel([config], previous=old)
    assert new.entry(WEB.key).destinations[0].weight == 7


def test_quorum_is_kept_and_decided_again_with_the_new_settings() -> None:
    old = HealthModel([web(A, B)])
    old.record(WEB.key, A.key, 0, DOWN, at=1.0)  # weight up: B's 1
    assert old.has_quorum(WEB.key)
    stricter = HealthModel([web(A, B, quorum=2)], previous=old)
    assert not stricter.has_quorum(WEB.key)
    events = stricter.changes_since(old, at=2.0)
    assert [type(e) for e in events] == [QuorumLost]
    assert events[0].describe() == "TCP 10.0.0.1:80 lost quorum (weight 1 < 2)"
    looser = HealthModel([web(A, B)], previous=stricter)
    assert [type(e) for e in looser.changes_since(stricter, at=3.0)] == [QuorumGained]
    # a new service without quorum reports it, as at the start
    dead = CheckedService(
        service=OTHER, destinations=[attrs.evolve(B, weight=0)], checks=[TCPCheck()]
    )
    events = HealthModel([web(A, B), dead], previous=old).changes_since(old, at=4.0)
    assert [(type(e), e.service) for e in events] == [(QuorumLost, OTHER.key)]


def test_previous_must_be_a_model() -> None:
    with pytest.raises(ipvs.ValidationError, match="previous: expected a HealthModel"):
        HealthModel([], previous=[])  # type: ignore[arg-type]


# -- the running checker -------------------------------------------------------------------


def test_reconfigure_applies_the_difference_in_one_apply_and_keeps_health() -> None:
    backends = Backends()
    client = FakeClient(Table([(OTHER, [B])]))

    check = backends.check()  # the same check (a function check compares by its function)

    async def main() -> None:
        checker = HealthChecker(client, [web(A, B, check=check)])  # type: ignore[arg-type]
        async with checker:
            with checker.events() as stream:
                backends.healthy["10.1.0.1"] = False
                await stream.next(DestinationDown, timeout=5)
            plans = len(client.plans)
            second = Service.tcp("10.0.0.2", 80, scheduler="rr")
            result = await checker.reconfigure(
                [
                    web(A, C, check=check),
                    CheckedService(service=second, destinations=[B]),
                ]
            )
            assert result is not None and len(client.plans) == plans + 1
            assert str(result.plan).splitlines() == [
                "+ TCP 10.0.0.2:80 rr",
                "+ TCP 10.0.0.1:80 -> 10.1.0.3:80 masq weight=2",
                "+ TCP 10.0.0.2:80 -> 10.1.0.2:80 masq weight=1",
                "- TCP 10.0.0.1:80 -> 10.1.0.2:80",
                "Plan: 3 to add, 0 to change, 1 to delete.",
            ]
            # A is still down (its check stayed); C is new and up
            assert client.weights() == {"10.1.0.1:80": 0, "10.1.0.3:80": 2}
            assert not checker.model.is_up(WEB.key, A.key)
            # the old check of B is no longer probed; A and C are
            assert sorted(str(k[1][0]) for k in checker._tasks) == ["10.1.0.1", "10.1.0.3"]
            # taking a service out deletes it; others are not touched
            await checker.reconfigure([web(A, C, check=check)])
            assert second.key not in client.kernel
            assert client.kernel[OTHER.key].destinations == (B,)
            # health goes on with the new configuration
            with checker.events() as stream:
                backends.healthy["10.1.0.1"] = True
                await stream.next(ipvs.health.DestinationUp, timeout=5)
            assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.3:80": 2}

    run(main)


def test_a_refused_reconfiguration_keeps_the_running_one() -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> None:
        config = web(A, B, check=backends.check())
        async with HealthChecker(client, [config]) as checker:  # type: ignore[arg-type]
            kernel = client.kernel
            client.failures = [ipvs.KernelError(2, "add_service")]
            other = CheckedService(service=OTHER, destinations=[C])
            with pytest.raises(ipvs.KernelError):
                await checker.reconfigure([config, other])
            assert checker.model.keys() == [WEB.key] and client.kernel == kernel
            with pytest.raises(ipvs.ValidationError, match="listed twice"):
                await checker.reconfigure([config, config])
            assert checker.model.keys() == [WEB.key]
        with pytest.raises(ipvs.IPVSError, match="cannot be reconfigured: it is stopped"):
            await checker.reconfigure([config])
        with pytest.raises(ipvs.IPVSError, match="cannot resync: it is stopped"):
            await checker.resync()

    run(main)


def test_resync_repairs_what_others_changed_and_only_that() -> None:
    client = FakeClient(Table([(OTHER, [B])]))

    async def main() -> None:
        async with HealthChecker(client, [web(A, B)]) as checker:  # type: ignore[arg-type]
            assert await checker.resync() is None  # nothing differs
            snapshots = client.snapshots
            # another writer deletes a destination of ours and changes its own service
            client.kernel = client.kernel.without_destination(WEB.key, B).with_service(
                attrs.evolve(OTHER, scheduler="wrr"), [A]
            )
            result = await checker.resync()
            assert client.snapshots == snapshots + 1
            assert result is not None
            assert (
                str(result.plan).splitlines()[0] == "+ TCP 10.0.0.1:80 -> 10.1.0.2:80 masq weight=1"
            )
            assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.2:80": 1}
            assert client.kernel[OTHER.key].service.scheduler == "wrr"  # not ours

    run(main)


def test_applies_run_one_at_a_time() -> None:
    client = FakeClient()
    active = 0
    most = 0
    original = client.apply

    async def counting(desired: Table, **kwargs: Any) -> Any:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.sleep(0.01)
            return await original(desired, **kwargs)
        finally:
            active -= 1

    client.apply = counting  # type: ignore[method-assign]

    async def main() -> None:
        async with HealthChecker(client, [web(A, B)]) as checker:  # type: ignore[arg-type]
            client.kernel = Table()
            await asyncio.gather(
                checker.resync(), checker.reconfigure([web(A, B, C)]), checker.resync()
            )
            assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.2:80": 1, "10.1.0.3:80": 2}
        assert most == 1

    run(main)
