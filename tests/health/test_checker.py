"""The checker's asyncio half with a fake client: schedule, batching, conflicts, events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import ipvs
from ipvs import ApplyResult, Destination, Plan, Service, Table
from ipvs._plan import simulate
from ipvs.errors import ConflictError, DestinationNotFound, IPVSError, ValidationError
from ipvs.health import (
    ApplyFailed,
    CheckedDestination,
    CheckedService,
    DestinationDown,
    DestinationUp,
    FunctionCheck,
    HealthChecker,
    HealthEvent,
    ProbeResult,
    QuorumGained,
    QuorumLost,
    Target,
)

WEB = Service.tcp("10.0.0.1", 80, scheduler="wrr")
A = Destination(address="10.1.0.1", port=80, forward="masq", weight=3)
B = Destination(address="10.1.0.2", port=80, forward="masq", weight=1)
SORRY = Destination(address="10.9.0.1", port=80, forward="masq")
OTHER = Service.tcp("10.0.0.9", 443, scheduler="rr")


class FakeClient:
    """An AsyncClient stand-in: a table as the kernel, strict like the kernel."""

    netns = None

    def __init__(self, kernel: Table | None = None) -> None:
        self.kernel = kernel if kernel is not None else Table()
        self.plans: list[Plan] = []
        self.snapshots = 0
        self.failures: list[Exception] = []

    async def snapshot(self) -> Table:
        self.snapshots += 1
        return self.kernel

    async def apply(self, desired: Table, *, current: Table, scope: Any) -> ApplyResult:
        await asyncio.sleep(0)
        plan = ipvs.diff(current, desired, scope=scope)
        if self.failures:
            raise self.failures.pop(0)
        try:
            self.kernel = simulate(self.kernel, plan.operations)
        except ValidationError:
            error = DestinationNotFound(2, "update_destination")
            raise ConflictError(plan, {0: error}) from None
        self.plans.append(plan)
        return ApplyResult(plan=plan, table=plan.expected())

    def weights(self) -> dict[str, int]:
        return {d.describe(): d.weight for d in self.kernel[WEB.key].destinations}


class Backends:
    """What the function checks answer: healthy or not, per address."""

    def __init__(self) -> None:
        self.healthy: dict[str, bool] = {}
        self.gate: asyncio.Event | None = None  # failures wait here when set

    def check(self, **timing: Any) -> FunctionCheck:
        async def backend(target: Target) -> bool:
            if self.healthy.get(str(target.address), True):
                return True
            if self.gate is not None:
                await self.gate.wait()
            return False

        timing.setdefault("interval", 0.02)
        timing.setdefault("timeout", 0.5)
        timing.setdefault("rise", 1)
        timing.setdefault("fall", 1)
        return FunctionCheck(function=backend, **timing)


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(main(), 20))


def service(backends: Backends, **kwargs: Any) -> CheckedService:
    kwargs.setdefault("destinations", [A, B])
    return CheckedService(service=WEB, checks=[backends.check()], **kwargs)


def test_start_applies_once_and_a_failure_and_recovery_follow() -> None:
    backends = Backends()
    client = FakeClient(Table([(OTHER, [B])]))

    async def main() -> list[HealthEvent]:
        checker = HealthChecker(client, [service(backends)])  # type: ignore[arg-type]
        async with checker:
            assert client.snapshots == 1 and checker.applies == 1 and checker.running
            assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.2:80": 1}
            assert checker.table == client.kernel
            with checker.events() as stream:
                backends.healthy["10.1.0.1"] = False
                down = await stream.next(DestinationDown, timeout=5)
                assert client.weights() == {"10.1.0.1:80": 0, "10.1.0.2:80": 1}
                backends.healthy["10.1.0.1"] = True
                up = await stream.next(DestinationUp, timeout=5)
                assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.2:80": 1}
        assert not checker.running
        assert client.snapshots == 1  # no snapshot per change
        return [down, up]

    down, up = run(main)
    assert isinstance(down, DestinationDown) and down.destination == A and down.reason == "failed"
    assert down.applied_at is not None and down.applied_at >= down.at
    assert isinstance(up, DestinationUp) and up.weight == 3 and up.applied
    assert client.kernel[OTHER.key].destinations == (B,)  # not owned: untouched


def test_flips_in_the_same_turn_of_the_loop_go_in_one_apply() -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> None:
        backends.gate = asyncio.Event()
        async with HealthChecker(client, [service(backends)]) as checker:  # type: ignore[arg-type]
            with checker.events() as stream:
                backends.healthy.update({"10.1.0.1": False, "10.1.0.2": False})
                await asyncio.sleep(0.1)  # both probes are waiting at the gate now
                applies = checker.applies
                backends.gate.set()
                kinds = [type(await stream.next(timeout=5)) for _ in range(3)]
                assert sorted(k.__name__ for k in kinds) == [
                    "DestinationDown",
                    "DestinationDown",
                    "QuorumLost",
                ]
                assert checker.applies == applies + 1
                assert len(client.plans[-1]) == 2
                assert client.weights() == {"10.1.0.1:80": 0, "10.1.0.2:80": 0}

    run(main)


def test_a_conflict_takes_a_snapshot_and_applies_again(caplog: pytest.LogCaptureFixture) -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> None:
        async with HealthChecker(client, [service(backends)]) as checker:  # type: ignore[arg-type]
            # another writer removes B behind the checker's back
            client.kernel = client.kernel.without_destination(WEB.key, B)
            with checker.events() as stream:
                backends.healthy["10.1.0.2"] = False
                event = await stream.next(DestinationDown, timeout=5)
                assert event.applied
            # B is down and REMOVE is not its policy: it is back, at weight 0
            assert client.weights() == {"10.1.0.1:80": 3, "10.1.0.2:80": 0}
            assert client.snapshots == 2

    with caplog.at_level(logging.WARNING, logger="ipvs.health"):
        run(main)
    assert "taking a snapshot and applying again" in caplog.text
    assert "10.1.0.2:80 down" in caplog.text


def test_a_failed_apply_is_reported_and_retried_with_a_snapshot() -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> list[HealthEvent]:
        checker = HealthChecker(client, [service(backends)], retry_delay=0.05)  # type: ignore[arg-type]
        async with checker:
            with checker.events() as stream:
                client.failures = [ipvs.KernelError(12, "update_destination")]
                backends.healthy["10.1.0.1"] = False
                down = await stream.next(DestinationDown, timeout=5)
                failed = await stream.next(ApplyFailed, timeout=5)
                for _ in range(100):
                    if client.kernel and client.weights()["10.1.0.1:80"] == 0:
                        break
                    await asyncio.sleep(0.02)
                assert client.weights()["10.1.0.1:80"] == 0
                assert client.snapshots == 2
        return [down, failed]

    down, failed = run(main)
    assert not down.applied
    assert isinstance(failed, ApplyFailed) and failed.retry_in == 0.05
    assert "update_destination" in failed.describe()


def test_a_refused_start_raises_and_runs_nothing() -> None:
    client = FakeClient()
    client.failures = [ipvs.SchedulerNotFound(2, "add_service")]
    checker = HealthChecker(client, [service(Backends())])  # type: ignore[arg-type]

    async def main() -> None:
        with pytest.raises(ipvs.SchedulerNotFound):
            await checker.start()
        assert not checker.running
        await checker.stop()  # nothing to stop

    run(main)


def test_sorry_server_hooks_and_callbacks() -> None:
    backends = Backends()
    client = FakeClient()
    calls: list[str] = []

    async def quorum_down(event: QuorumLost) -> None:
        await asyncio.sleep(0)
        calls.append(f"quorum down, sorry {event.sorry_server.describe()}")  # type: ignore[union-attr]

    def broken(event: HealthEvent) -> None:
        raise RuntimeError("a callback that fails is logged, not fatal")

    config = CheckedService(
        service=WEB,
        destinations=[
            CheckedDestination(
                destination=A,
                checks=[backends.check()],
                on_down=lambda e: calls.append(f"down {e.destination.describe()}"),
                on_up=lambda e: calls.append(f"up {e.destination.describe()}"),
            )
        ],
        sorry_server=SORRY,
        on_quorum_down=quorum_down,
        on_quorum_up=lambda e: calls.append("quorum up"),
    )

    async def main() -> None:
        checker = HealthChecker(client, [config])  # type: ignore[arg-type]
        seen: list[str] = []
        checker.subscribe(lambda e: seen.append(type(e).__name__))
        checker.subscribe(broken)
        unsubscribe = checker.subscribe(lambda e: seen.append("never"))
        unsubscribe()
        async with checker:
            with checker.events() as stream:
                backends.healthy["10.1.0.1"] = False
                await stream.next(QuorumLost, timeout=5)
                assert client.weights() == {"10.1.0.1:80": 0, "10.9.0.1:80": 1}
                backends.healthy["10.1.0.1"] = True
                await stream.next(QuorumGained, timeout=5)
                assert client.weights() == {"10.1.0.1:80": 3}
        assert seen == ["DestinationDown", "QuorumLost", "DestinationUp", "QuorumGained"]

    run(main)
    assert calls == [
        "down 10.1.0.1:80",
        "quorum down, sorry 10.9.0.1:80",
        "up 10.1.0.1:80",
        "quorum up",
    ]


def test_alpha_start_reports_the_missing_quorum() -> None:
    backends = Backends()
    client = FakeClient()
    config = CheckedService(
        service=WEB,
        destinations=[A],
        checks=[backends.check(initial="down", rise=2)],
        sorry_server=SORRY,
    )

    async def main() -> None:
        checker = HealthChecker(client, [config])  # type: ignore[arg-type]
        stream = checker.events()
        async with checker:
            lost = await stream.next(timeout=5)
            assert isinstance(lost, QuorumLost) and lost.applied
            assert client.kernel[WEB.key].destination_map()[SORRY.key] == SORRY
            up = await stream.next(DestinationUp, timeout=5)
            assert up.applied and client.weights() == {"10.1.0.1:80": 3}

    run(main)


def test_event_streams_probe_results_timeouts_and_the_end() -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> None:
        checker = HealthChecker(client, [service(backends)])  # type: ignore[arg-type]
        probes: list[ProbeResult] = []
        checker.subscribe(probes.append, probes=True)  # type: ignore[arg-type]
        async with checker:
            stream = checker.events(probes=True)
            result = await stream.next(ProbeResult, timeout=5)
            assert isinstance(result, ProbeResult) and result.outcome.ok
            assert result.duration >= 0 and "ok (ok)" in result.describe()
            quiet = checker.events()
            with pytest.raises(TimeoutError):
                await quiet.next(timeout=0.05)  # nothing changes: no state events
            assert probes and all(isinstance(p, ProbeResult) for p in probes)
        assert [event async for event in quiet] == []  # the stream ended
        assert all([isinstance(e, ProbeResult) async for e in stream])
        with pytest.raises(IPVSError, match="stopped"):
            await stream.next(timeout=5)
        late = checker.events()
        assert [event async for event in late] == []

    run(main)


def test_lifecycle_errors() -> None:
    client = FakeClient()
    checker = HealthChecker(client, [service(Backends())])  # type: ignore[arg-type]
    assert "new" in repr(checker)

    async def main() -> None:
        async with checker:
            with pytest.raises(IPVSError, match="cannot start"):
                await checker.start()
        await checker.stop()  # twice is fine
        with pytest.raises(IPVSError, match="cannot start"):
            await checker.start()

    run(main)
    with pytest.raises(ValidationError, match="retry_delay"):
        HealthChecker(client, [], retry_delay=0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="callable"):
        checker.subscribe(3)  # type: ignore[arg-type]


def test_retry_interval_shortens_the_wait_while_a_change_is_pending() -> None:
    backends = Backends()
    client = FakeClient()
    check = backends.check(interval=10.0, retry_interval=0.02, fall=3, rise=1)
    config = CheckedService(service=WEB, destinations=[A, B], checks=[check])

    async def main() -> float:
        loop = asyncio.get_running_loop()
        backends.healthy["10.1.0.1"] = False  # the first probe fails at once
        async with HealthChecker(client, [config]) as checker:  # type: ignore[arg-type]
            with checker.events() as stream:
                started = loop.time()
                await stream.next(DestinationDown, timeout=5)
                return loop.time() - started

    assert run(main) < 1.0  # two retries 0.02 s apart, not 10 s


def test_status_of_a_running_checker() -> None:
    backends = Backends()
    client = FakeClient()

    async def main() -> None:
        async with HealthChecker(client, [service(backends)]) as checker:  # type: ignore[arg-type]
            (svc,) = checker.status()
            assert svc.quorum and svc.weight == 4
            assert [d.up for d in svc.destinations] == [True, True]

    run(main)
