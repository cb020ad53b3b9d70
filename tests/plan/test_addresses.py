"""Address binding decisions: which addresses, which steps, in which order, and their inverses."""

from __future__ import annotations

import ipaddress

import pytest

import ipvs
from ipvs import (
    AddAddress,
    Binding,
    CreateLink,
    DeleteAddress,
    DeleteLink,
    LinkState,
    Scope,
    SetLinkDown,
    SetLinkUp,
    Table,
)
from ipvs._plan import address_changes, after_services, before_services, undo_changes

A, B, C = "10.0.0.1", "10.0.0.2", "10.0.0.3"
V6 = "2001:db8::1"
IF = "ipvs0"


def table(*services: ipvs.Service) -> Table:
    return Table(services)


def tcp(address: str, port: int = 80) -> ipvs.Service:
    return ipvs.Service.tcp(address, port)


def link(*addresses: str, exists: bool = True, up: bool = True, kind: str = "dummy") -> LinkState:
    if not exists:
        return LinkState(interface=IF)
    return LinkState(interface=IF, exists=True, kind=kind, up=up, addresses=addresses)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def changes(
    current: Table,
    desired: Table,
    state: LinkState,
    scope: Scope | None = None,
    binding: Binding | None = None,
) -> list[str]:
    steps = address_changes(current, desired, scope, binding or Binding(interface=IF), state)
    return [s.describe() for s in steps]


CASES = {
    "first service: the link is made": (
        table(),
        table(tcp(A)),
        link(exists=False),
        ["+ link ipvs0 (dummy, up)", "+ address 10.0.0.1/32 on ipvs0"],
    ),
    "a down link is brought up": (
        table(),
        table(tcp(A)),
        link(up=False),
        ["~ link ipvs0 down -> up", "+ address 10.0.0.1/32 on ipvs0"],
    ),
    "bound already: nothing": (table(tcp(A)), table(tcp(A)), link(A), []),
    "one address for two ports and protocols": (
        table(),
        table(tcp(A), tcp(A, 443), ipvs.Service.udp(A, 53)),
        link(),
        ["+ address 10.0.0.1/32 on ipvs0"],
    ),
    "IPv6 is a /128, after IPv4": (
        table(),
        table(tcp(V6), tcp(B)),
        link(),
        ["+ address 10.0.0.2/32 on ipvs0", "+ address 2001:db8::1/128 on ipvs0"],
    ),
    "firewall marks have no address": (table(), table(ipvs.Service.mark(7)), link(), []),
    "an address whose services went is removed": (
        table(tcp(A), tcp(B)),
        table(tcp(A)),
        link(A, B),
        ["- address 10.0.0.2/32 on ipvs0"],
    ),
    "an orphan address on the interface is removed": (
        table(tcp(A)),
        table(tcp(A)),
        link(A, C),
        ["- address 10.0.0.3/32 on ipvs0"],
    ),
    "an address still used by another port stays": (
        table(tcp(A), tcp(A, 443)),
        table(tcp(A, 443)),
        link(A),
        [],
    ),
    "replacing: add before, remove after": (
        table(tcp(A)),
        table(tcp(B)),
        link(A),
        ["+ address 10.0.0.2/32 on ipvs0", "- address 10.0.0.1/32 on ipvs0"],
    ),
    "the last service goes: the link stays": (
        table(tcp(A)),
        table(),
        link(A),
        ["- address 10.0.0.1/32 on ipvs0"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_address_changes(case: str) -> None:
    current, desired, state, expected = CASES[case]
    assert changes(current, desired, state) == expected


def test_out_of_scope_services_keep_their_addresses_and_get_none() -> None:
    scope = Scope.networks("10.0.0.0/30")  # A and B, not C... nor 10.9.x
    current = table(tcp(A), tcp("10.9.0.1"))
    desired = table(tcp(B), tcp("10.9.0.1"))
    # 10.9.0.1 is outside the scope: not bound by this apply, and not removed either
    state = link(A, "10.9.0.1")
    assert changes(current, desired, state, scope) == [
        "+ address 10.0.0.2/32 on ipvs0",
        "- address 10.0.0.1/32 on ipvs0",
    ]
    assert changes(table(tcp("10.9.0.1")), table(), link(), scope) == []


def test_keep_link_false_deletes_the_emptied_link_only() -> None:
    binding = Binding(interface=IF, keep_link=False)
    assert changes(table(tcp(A)), table(), link(A), binding=binding) == [
        "- address 10.0.0.1/32 on ipvs0",
        "- link ipvs0",
    ]
    # an address of a service outside the scope keeps the link
    scope = Scope.networks("10.0.0.0/31")
    current = table(tcp(A), tcp("10.9.0.1"))
    assert changes(current, table(tcp("10.9.0.1")), link(A, "10.9.0.1"), scope, binding) == [
        "- address 10.0.0.1/32 on ipvs0"
    ]
    assert changes(table(), table(), link(exists=False), binding=binding) == []


def test_an_interface_of_another_kind_is_refused() -> None:
    with pytest.raises(ipvs.ValidationError, match="veth, not a dummy interface"):
        changes(table(), table(tcp(A)), link(kind="veth"))
    with pytest.raises(ipvs.ValidationError, match="not a dummy"):
        changes(table(), table(), LinkState(interface=IF, exists=True))


def test_the_link_state_must_be_the_bindings() -> None:
    with pytest.raises(ipvs.ValidationError, match="link state is of 'eth0'"):
        address_changes(table(), table(), None, Binding(), LinkState(interface="eth0"))


@pytest.mark.parametrize("name", ["", "a" * 16, "a b", "a/b", "a:1", ".", "..", 7, None], ids=repr)
def test_bad_interface_names_are_refused(name: object) -> None:
    with pytest.raises(ipvs.ValidationError, match="interface name"):
        Binding(interface=name)  # type: ignore[arg-type]


def test_binding_flags_are_checked() -> None:
    with pytest.raises(ipvs.ValidationError, match="keep_link must be True or False"):
        Binding(keep_link="no")  # type: ignore[arg-type]
    assert Binding() == Binding(interface="ipvs0", keep_link=True)


def test_link_state_addresses_are_parsed() -> None:
    state = LinkState(interface=IF, addresses=["10.0.0.1", V6])
    assert state.addresses == frozenset({ip(A), ip(V6)})
    with pytest.raises(ipvs.ValidationError, match=r"LinkState\.addresses"):
        LinkState(interface=IF, addresses=["nope"])


STEPS = [
    (CreateLink(interface=IF), DeleteLink(interface=IF), True),
    (DeleteLink(interface=IF), CreateLink(interface=IF), False),
    (SetLinkUp(interface=IF), SetLinkDown(interface=IF), True),
    (SetLinkDown(interface=IF), SetLinkUp(interface=IF), False),
    (AddAddress(interface=IF, address=ip(A)), DeleteAddress(interface=IF, address=ip(A)), True),
    (DeleteAddress(interface=IF, address=ip(V6)), AddAddress(interface=IF, address=ip(V6)), False),
]


@pytest.mark.parametrize(("step", "inverse", "before"), STEPS, ids=lambda s: type(s).__name__)
def test_each_step_has_its_inverse_and_its_phase(
    step: object, inverse: object, before: bool
) -> None:
    assert step.inverse() == [inverse]  # type: ignore[attr-defined]
    assert inverse.inverse() == [step]  # type: ignore[attr-defined]
    assert step.before is before  # type: ignore[attr-defined]


def test_undo_reverses_the_steps_made() -> None:
    made = [
        CreateLink(interface=IF),
        AddAddress(interface=IF, address=ip(A)),
        DeleteAddress(interface=IF, address=ip(B)),
    ]
    assert undo_changes(made) == [
        AddAddress(interface=IF, address=ip(B)),
        DeleteAddress(interface=IF, address=ip(A)),
        DeleteLink(interface=IF),
    ]
    assert before_services(made) == made[:2]
    assert after_services(made) == made[2:]


def test_a_plan_shows_its_address_steps_around_the_operations() -> None:
    current = table(tcp(A))
    desired = table(tcp(B))
    plan = ipvs.diff(current, desired)
    steps = address_changes(current, desired, None, Binding(), link(A))
    bound = plan.with_addresses(steps)
    assert str(bound).splitlines() == [
        "+ address 10.0.0.2/32 on ipvs0",
        "+ TCP 10.0.0.2:80 wlc",
        "- TCP 10.0.0.1:80",
        "- address 10.0.0.1/32 on ipvs0",
        "Plan: 1 to add, 0 to change, 1 to delete; 1 address to bind, 1 to unbind.",
    ]
    assert len(bound) == 2 and bound.operations == plan.operations
    assert bound.expected() == desired


def test_a_plan_of_address_steps_alone_is_not_empty() -> None:
    plan = ipvs.diff(table(tcp(A)), table(tcp(A)))
    assert not plan and plan.summary() == "No changes."
    bound = plan.with_addresses(
        address_changes(plan.current, plan.desired, None, Binding(), link())
    )
    assert bound
    assert (
        bound.summary()
        == "Plan: 0 to add, 0 to change, 0 to delete; 1 address to bind, 0 to unbind."
    )
    assert len(bound) == 0
