"""Transactions: checks before anything is sent, one plan on commit, nothing on error."""

from __future__ import annotations

import asyncio

import attrs
import pytest

import ipvs
from ipvs import ApplyResult, Destination, Plan, Service, Table, Transaction

WEB = Service.tcp("10.0.0.1", 80, scheduler="rr")
D1 = Destination(address="10.1.0.1", port=80)


class Committer:
    """Records what a transaction asks of its client."""

    def __init__(self, state: Table) -> None:
        self.state = state
        self.snapshots = 0
        self.plans: list[Plan] = []

    def snapshot(self) -> Table:
        self.snapshots += 1
        return self.state

    def apply_plan(self, plan: Plan) -> ApplyResult:
        self.plans.append(plan)
        self.state = plan.expected()
        return ApplyResult(plan=plan, table=self.state)


class AsyncCommitter(Committer):
    async def snapshot(self) -> Table:  # type: ignore[override]
        return super().snapshot()

    async def apply_plan(self, plan: Plan) -> ApplyResult:  # type: ignore[override]
        return super().apply_plan(plan)


def test_commit_sends_one_plan_built_from_every_change() -> None:
    client = Committer(Table([(WEB, [D1])]))
    with Transaction(client) as tx:
        tx.update_service(attrs.evolve(WEB, scheduler="wrr"))
        tx.add_destination(WEB, Destination(address="10.1.0.2", port=80))
        tx.delete_destination(WEB.key, D1)
        assert client.plans == []
    (plan,) = client.plans
    assert [op.describe() for op in plan] == [
        "~ TCP 10.0.0.1:80 scheduler rr -> wrr",
        "+ TCP 10.0.0.1:80 -> 10.1.0.2:80 route weight=1",
        "- TCP 10.0.0.1:80 -> 10.1.0.1:80",
    ]
    assert client.snapshots == 1 and tx.result is not None
    with pytest.raises(ipvs.IPVSError, match="finished"):
        tx.add_service(WEB)
    with pytest.raises(ipvs.IPVSError, match="finished"):
        tx.__enter__()


def test_checks_raise_at_once_and_an_error_sends_nothing() -> None:
    client = Committer(Table([(WEB, [D1])]))
    with pytest.raises(ipvs.ServiceExists), Transaction(client, Table([WEB])) as tx:
        tx.add_service(WEB)
    with Transaction(client, Table([(WEB, [D1])])) as tx:
        with pytest.raises(ipvs.DestinationExists):
            tx.add_destination(WEB, D1)
        with pytest.raises(ipvs.DestinationNotFound):
            tx.update_destination(WEB, Destination(address="10.9.9.9", port=1))
        with pytest.raises(ipvs.ServiceNotFound):
            tx.delete_service(Service.udp("10.0.0.9", 53))
        with pytest.raises(ipvs.ValidationError):
            tx.delete_service("TCP 10.0.0.1:80")  # type: ignore[arg-type]
    assert [len(p) for p in client.plans] == [0]
    assert client.snapshots == 0  # a known state skips the snapshot


def test_async_with_commits_through_an_async_client() -> None:
    client = AsyncCommitter(Table())

    async def main() -> None:
        async with Transaction(client) as tx:
            tx.add_service(WEB, [D1])
        with pytest.raises(KeyError):
            async with Transaction(client) as tx:
                tx.delete_service(WEB)
                raise KeyError("abandon")

    asyncio.run(main())
    assert [len(p) for p in client.plans] == [2]
    assert client.snapshots == 2
