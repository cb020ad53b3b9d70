"""The apply flow with address steps: the order of the steps and every rollback path (no kernel).

The flow is driven by hand: a fake interface answers the link steps (and
fails where told), the kernel's writes succeed or fail where told, and the
test checks what was sent, in which order, and what was undone.
"""

from __future__ import annotations

import errno as E
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

import ipvs
from ipvs import Binding, LinkState, Table
from ipvs._client import _flows
from ipvs._client._vips import Changed, ChangeLinks, ReadLink
from ipvs.errors import KernelError, error_for
from ipvs.netlink import Conversation

VIP1, VIP2 = "10.0.0.1", "10.0.0.2"
DEST = ipvs.Destination(address="10.1.1.2", port=80, forward="masq")


class FakeLink:
    """A dummy interface: its addresses, and the steps that fail."""

    def __init__(self, *addresses: str, exists: bool = True) -> None:
        self.exists = exists
        self.addresses = {ipaddress.ip_address(a) for a in addresses}
        self.fail: Callable[[Any], bool] = lambda _change: False
        self.log: list[str] = []

    def state(self) -> LinkState:
        return LinkState(
            interface="ipvs0",
            exists=self.exists,
            kind="dummy" if self.exists else None,
            up=self.exists,
            addresses=self.addresses,
        )

    def change(self, changes: list[Any]) -> Changed:
        done = []
        for change in changes:
            if self.fail(change):
                self.log.append(f"FAIL {change.describe()}")
                return Changed(done, change, error_for(E.EACCES, change.operation, change))
            self.log.append(change.describe())
            if change.operation == "create_link":
                self.exists = True
            elif change.operation == "delete_link":
                self.exists = False
            elif change.operation == "add_address":
                self.addresses.add(change.address)
            elif change.operation == "delete_address":
                self.addresses.discard(change.address)
            done.append(change)
        return Changed(done)


class FakePipeline:
    def __init__(self, failures: dict[int, KernelError]) -> None:
        self._failures = failures

    def errors(self) -> list[KernelError]:
        return list(self._failures.values())


def drive(flow: Any, link: FakeLink, kernel_failures: list[dict[int, int]], sent: list[str]) -> Any:
    """Run a flow: link steps on the fake link, pipelines failing as scripted."""
    value: Any = None
    while True:
        try:
            step = flow.send(value)
        except StopIteration as stop:
            return stop.value
        if isinstance(step, ReadLink):
            value = link.state()
        elif isinstance(step, ChangeLinks):
            value = link.change(step.changes)
            sent.extend(f"link: {line}" for line in link.log)
            link.log.clear()
        elif isinstance(step, _flows.PipelineStep):
            writes = list(step.pipeline.writes)
            script = kernel_failures.pop(0) if kernel_failures else {}
            failures = {}
            for index, write in enumerate(writes):
                sent.append(f"{'FAIL ' if index in script else ''}kernel: {write.operation}")
                if index in script:
                    error = error_for(script[index], write.operation)
                    error.index = index
                    failures[index] = error
            value = FakePipeline(failures)
        else:  # pragma: no cover - the flows here send nothing else
            raise AssertionError(f"unexpected step {step!r}")


def apply(
    current: Table,
    desired: Table,
    link: FakeLink,
    kernel_failures: list[dict[int, int]] | None = None,
    binding: Binding | None = None,
) -> tuple[Any, list[str]]:
    sent: list[str] = []
    conv = Conversation(family_id=42)
    planned = _flows.apply(conv, desired, current=current, dry_run=True, bind=binding or Binding())
    plan = drive(planned, link, [], sent).plan
    # checked: as if the current state had been read under the lock (no observe step)
    flow = _flows.apply_plan(conv, plan, checked=True)
    try:
        result = drive(flow, link, kernel_failures or [], sent)
    except ipvs.IPVSError as exc:
        return exc, sent
    return result, sent


def web(address: str) -> tuple[ipvs.Service, list[ipvs.Destination]]:
    return ipvs.Service.tcp(address, 80), [DEST]


def test_addresses_come_before_the_services_and_go_after() -> None:
    link = FakeLink(VIP1)
    result, sent = apply(Table([web(VIP1)]), Table([web(VIP2)]), link)
    assert sent == [
        "link: + address 10.0.0.2/32 on ipvs0",
        "kernel: add_service",
        "kernel: add_destination",
        "kernel: delete_service",
        "link: - address 10.0.0.1/32 on ipvs0",
    ]
    assert isinstance(result, ipvs.ApplyResult)
    assert result.table == Table([web(VIP2)])
    assert link.addresses == {ipaddress.ip_address(VIP2)}


def test_a_failed_address_before_the_services_undoes_the_link_and_sends_nothing() -> None:
    link = FakeLink(exists=False)
    link.fail = lambda c: c.operation == "add_address" and str(c.address) == VIP2
    error, sent = apply(Table(), Table([web(VIP1), web(VIP2)]), link)
    assert isinstance(error, ipvs.AddressError)
    assert isinstance(error, ipvs.ApplyError)
    assert error.rollback_failures == []
    assert "+ address 10.0.0.2/32 on ipvs0" in str(error)
    assert "all applied operations were rolled back" in str(error)
    assert sent == [
        "link: + link ipvs0 (dummy, up)",
        "link: + address 10.0.0.1/32 on ipvs0",
        "link: FAIL + address 10.0.0.2/32 on ipvs0",
        "link: - address 10.0.0.1/32 on ipvs0",
        "link: - link ipvs0",
    ]
    assert not link.exists and not link.addresses


def test_a_kernel_failure_undoes_the_operations_then_the_addresses() -> None:
    link = FakeLink()
    # the second write (add_destination) fails; the rollback removes the service
    error, sent = apply(Table(), Table([web(VIP1)]), link, [{1: E.EINVAL}])
    assert type(error) is ipvs.ApplyError
    assert sent == [
        "link: + address 10.0.0.1/32 on ipvs0",
        "kernel: add_service",
        "FAIL kernel: add_destination",
        "kernel: delete_service",
        "link: - address 10.0.0.1/32 on ipvs0",
    ]
    assert not link.addresses


def test_a_failed_unbinding_after_the_services_undoes_everything() -> None:
    link = FakeLink(VIP1)
    link.fail = lambda c: c.operation == "delete_address" and str(c.address) == VIP1
    error, sent = apply(Table([web(VIP1)]), Table([web(VIP2)]), link)
    assert isinstance(error, ipvs.AddressError)
    assert error.rollback_failures == []
    assert sent == [
        "link: + address 10.0.0.2/32 on ipvs0",
        "kernel: add_service",
        "kernel: add_destination",
        "kernel: delete_service",
        "link: FAIL - address 10.0.0.1/32 on ipvs0",
        # the operations undone (the deleted service comes back), then the binding
        "kernel: add_service",
        "kernel: add_destination",
        "kernel: delete_destination",
        "kernel: delete_service",
        "link: - address 10.0.0.2/32 on ipvs0",
    ]
    assert link.addresses == {ipaddress.ip_address(VIP1)}


def test_an_undo_that_fails_too_is_reported_and_the_rest_still_undone() -> None:
    link = FakeLink(exists=False)
    made = []

    def fail(change: Any) -> bool:
        made.append(change.operation)
        # the third address fails; then undoing the second one fails too
        return (change.operation == "add_address" and str(change.address) == "10.0.0.3") or (
            change.operation == "delete_address" and str(change.address) == VIP2
        )

    link.fail = fail
    error, sent = apply(Table(), Table([web(VIP1), web(VIP2), web("10.0.0.3")]), link)
    assert isinstance(error, ipvs.AddressError)
    assert [c.describe() for c, _e in error.rollback_failures] == ["- address 10.0.0.2/32 on ipvs0"]
    assert "rolling back failed too, the state is unknown" in str(error)
    assert sent[-3:] == [
        "link: FAIL - address 10.0.0.2/32 on ipvs0",
        "link: - address 10.0.0.1/32 on ipvs0",
        "link: - link ipvs0",
    ]


def test_a_kernel_failure_whose_unbinding_fails_is_a_rollback_error() -> None:
    link = FakeLink()
    link.fail = lambda c: c.operation == "delete_address"
    error, _sent = apply(Table(), Table([web(VIP1)]), link, [{0: E.EINVAL}])
    assert isinstance(error, ipvs.RollbackError)
    assert [c.describe() for c, _e in error.rollback_failures] == ["- address 10.0.0.1/32 on ipvs0"]


def test_a_dry_run_plans_the_addresses_and_sends_nothing() -> None:
    sent: list[str] = []
    link = FakeLink()
    flow = _flows.apply(
        Conversation(family_id=42),
        Table([web(VIP1)]),
        current=Table(),
        dry_run=True,
        bind=Binding(),
    )
    result = drive(flow, link, [], sent)
    assert sent == []
    assert not result.applied
    assert [c.describe() for c in result.plan.addresses] == ["+ address 10.0.0.1/32 on ipvs0"]


def test_nothing_to_do_sends_nothing() -> None:
    result, sent = apply(Table([web(VIP1)]), Table([web(VIP1)]), FakeLink(VIP1))
    assert sent == []
    assert not result.plan


@pytest.mark.parametrize("bind", [7, ["ipvs0"]], ids=repr)
def test_bind_takes_a_binding_or_a_name(bind: object) -> None:
    client = ipvs.Client.__new__(ipvs.Client)  # no socket: nothing can be sent
    with pytest.raises(ipvs.ValidationError, match="bind: expected"):
        client.apply(Table(), bind=bind)  # type: ignore[arg-type]


def test_without_pyroute2_binding_is_refused_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyroute2(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "pyroute2":
            raise ImportError("no pyroute2 here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyroute2)
    client = ipvs.Client.__new__(ipvs.Client)  # no socket: nothing can be sent

    with pytest.raises(ipvs.MissingDependency, match=r"pip install 'ipvs\[run\]'"):
        client.apply(Table(), bind="ipvs0")
    plan = ipvs.diff(Table(), Table()).with_addresses(
        [ipvs.AddAddress(interface="ipvs0", address=ipaddress.ip_address(VIP1))]
    )
    with pytest.raises(ipvs.MissingDependency):
        client.apply_plan(plan)
