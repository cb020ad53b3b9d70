"""Safety under concurrency: no lost writes, stale plans refused, consistent snapshots.

The sizes here are the reduced ones CI runs; ``IPVS_LONG=1`` runs the full
sizes of the reliability audit (100 two-process rounds, 300 snapshots under
churn, a 110,000-operation apply killed with SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import ipvs
import ipvs.testing.netns
from ipvs import ConflictError, Destination, Service, Table

LONG = os.environ.get("IPVS_LONG") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a Python child in the test's namespace that can import this checkout."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_stale_plan_never_undoes_an_acknowledged_write(client: Any) -> None:
    """The audit's scenario: B's stale snapshot must not undo A's acknowledged change."""
    s = Service.tcp("10.0.0.1", 80, scheduler="rr")
    x = Service.tcp("10.0.0.2", 80, scheduler="rr")
    with ipvs.Client() as a:
        a.apply(Table([s]))
        stale = client.snapshot()  # B's snapshot
        a.apply(Table([attrs.evolve(s, scheduler="wrr"), x]))  # acknowledged
    with pytest.raises(ConflictError, match="nothing was sent"):
        client.apply(Table([attrs.evolve(s, scheduler="sh"), x]), current=stale)
    assert client.service(s).scheduler == "wrr"
    assert client.snapshot() == Table([attrs.evolve(s, scheduler="wrr"), x])


def _two_tables(n: int = 40, e: int = 5) -> tuple[Table, Table]:
    def table(scheduler: str, port: int, weight: int) -> Table:
        return Table(
            (
                Service.tcp(f"10.10.{i // 200}.{i % 200 + 1}", 80, scheduler=scheduler),
                [
                    Destination(address=f"10.20.{i % 200}.{j + 1}", port=port, weight=weight)
                    for j in range(e)
                ],
            )
            for i in range(n)
        )

    return table("rr", 8080, 1), table("wlc", 9090, 3)


_APPLIER = """
import sys, ipvs
from tests.kernel.test_safety import _two_tables
tables = _two_tables()
with ipvs.Client() as client:
    client.apply(tables[int(sys.argv[1])])
print("ok")
"""


def test_two_processes_applying_at_once_leave_one_of_their_tables() -> None:
    """Without the writer lock, concurrent applies interleaved into neither table."""
    tables = _two_tables()
    rounds = 100 if LONG else 12
    outcomes: dict[str, int] = {"first": 0, "second": 0}
    for _ in range(rounds):
        procs = [_python(_APPLIER, "0"), _python(_APPLIER, "1")]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and out.strip() == "ok", err
        with ipvs.Client() as client:
            now = client.snapshot()
        assert now in tables
        outcomes["first" if now == tables[0] else "second"] += 1
    print(f"two-process rounds: {outcomes}")


def test_the_lock_serialises_writers_and_times_out() -> None:
    with ipvs.Client() as holder, ipvs.Client(lock_timeout=0.2) as other:
        holder._writers.acquire()  # as if an apply were running
        try:
            started = time.monotonic()
            with pytest.raises(ipvs.LockTimeout, match="another writer"):
                other.add_service(Service.tcp("10.0.0.1", 80))
            assert 0.15 < time.monotonic() - started < 2
            assert other.services() == []  # reads do not wait
        finally:
            holder._writers.release()
        other.add_service(Service.tcp("10.0.0.1", 80))
    with ipvs.Client(lock=False) as free:
        assert free._writers is None
        free.delete_service(Service.tcp("10.0.0.1", 80))


_CHURN = """
import sys, time, ipvs
svc = ipvs.Service.tcp("10.30.0.1", 80)
d = ipvs.Destination(address="10.31.0.1", port=80)
with ipvs.Client(lock=False) as client:
    print("ready", flush=True)
    while True:
        client.add_destination(svc, d)
        time.sleep(0.2)
        client.delete_destination(svc, d)
        time.sleep(0.2)
"""


def test_snapshots_under_churn_are_consistent(client: Any) -> None:
    """A 2,000-destination service read while one other destination comes and goes."""
    svc = Service.tcp("10.30.0.1", 80, scheduler="rr")
    fixed = [Destination(address=f"10.32.{j // 250}.{j % 250 + 1}", port=80) for j in range(2000)]
    client.apply(Table([(svc, fixed)]))
    churn = _python(_CHURN)
    assert churn.stdout is not None and churn.stdout.readline().strip() == "ready"
    rounds = 300 if LONG else 40
    outcomes = {"consistent": 0, "unstable": 0}
    try:
        for _ in range(rounds):
            try:
                table = client.snapshot()
            except ipvs.SnapshotUnstable:
                outcomes["unstable"] += 1
                continue
            dests = table[svc.key].destinations
            keys = {d.key for d in dests}
            assert len(keys) == len(dests), "a destination was listed twice"
            assert {d.key for d in fixed} <= keys, "a destination nobody touched was missed"
            assert len(dests) in (2000, 2001)
            outcomes["consistent"] += 1
    finally:
        churn.send_signal(signal.SIGKILL)
        churn.communicate()
    print(f"snapshots under churn: {outcomes}")
    assert outcomes["consistent"] >= rounds // 4


_KILLED = """
import sys, ipvs
from tests.kernel.test_safety import _big
table = _big(int(sys.argv[1]))
def progress(done, total):
    print(done, total, flush=True)
with ipvs.Client() as client:
    client.apply(table, current=ipvs.Table(), progress=progress)
print("finished", flush=True)
"""


def _big(services: int) -> Table:
    return Table(
        (
            Service.tcp(f"10.40.{i // 250}.{i % 250 + 1}", 80, scheduler="rr"),
            [Destination(address=f"10.41.{i % 250}.{j + 1}", port=80) for j in range(10)],
        )
        for i in range(services)
    )


def test_sigkill_in_the_middle_of_an_apply_then_the_next_apply_converges() -> None:
    services = 10_000 if LONG else 1_500
    desired = _big(services)
    total_ops = services * 11
    proc = _python(_KILLED, str(services))
    assert proc.stdout is not None
    reported = 0
    for line in proc.stdout:
        done, total = map(int, line.split())
        assert total == total_ops
        reported = done
        if done >= total // 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    with ipvs.Client() as client:
        state = client.snapshot()
        applied = len(state) + state.destination_count()
        # every operation reported as sent was applied; at most one more send was
        assert reported <= applied < total_ops
        for key, entry in state.items():  # what is there is what the plan wrote
            assert entry.service == desired[key].service
            assert set(entry.destinations) <= set(desired[key].destinations)
        result = client.apply(desired)  # the writer lock was freed with the process
        assert len(result.plan) == total_ops - applied
        assert client.snapshot() == desired
    print(f"killed after {reported} of {total_ops} reported; {applied} applied")


def test_ipv4_destination_refused_with_lo_down_says_why(make_client: Callable[..., Any]) -> None:
    """In a namespace whose lo never came up, the kernel answers EINVAL: say why."""
    svc = Service.tcp("10.0.0.1", 80)
    with ipvs.testing.netns.fresh(loopback_up=False), make_client() as client:
        assert ipvs.testing.netns.loopback_is_down()
        client.add_service(svc)
        with pytest.raises(ipvs.InvalidArgument, match="lo is down"):
            client.add_destination(svc, Destination(address="10.1.0.1", port=80))
        with pytest.raises(ipvs.ApplyError, match="lo is down"):
            client.apply(Table([(svc, [Destination(address="10.1.0.2", port=80)])]))
        ipvs.testing.netns.set_link_up("lo")
        client.add_destination(svc, Destination(address="10.1.0.1", port=80))
