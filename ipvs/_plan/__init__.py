"""The plan layer: diffs, plans, scopes, transactions, and the decisions of apply.

Pure code: it compares tables and decides what to send and how to undo it,
but sends nothing (the clients do). It imports the model and the errors only.
"""

from ipvs._plan._addresses import (
    DEFAULT_INTERFACE,
    AddAddress,
    AddressChange,
    Binding,
    CreateLink,
    DeleteAddress,
    DeleteLink,
    LinkState,
    SetLinkDown,
    SetLinkUp,
    address_changes,
    after_services,
    before_services,
    bound_addresses,
    undo_changes,
)
from ipvs._plan._diff import Plan, diff, gc_paused, simulate
from ipvs._plan._operations import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Drain,
    Operation,
    UpdateDestination,
    UpdateService,
)
from ipvs._plan._outcome import (
    ApplyResult,
    ReapResult,
    failure_error,
    reap_decisions,
    rollback_operations,
)
from ipvs._plan._scope import Scope, check_scope
from ipvs._plan._transaction import Transaction

__all__ = [
    "DEFAULT_INTERFACE",
    "AddAddress",
    "AddDestination",
    "AddService",
    "AddressChange",
    "ApplyResult",
    "Binding",
    "CreateLink",
    "DeleteAddress",
    "DeleteDestination",
    "DeleteLink",
    "DeleteService",
    "Drain",
    "LinkState",
    "Operation",
    "Plan",
    "ReapResult",
    "Scope",
    "SetLinkDown",
    "SetLinkUp",
    "Transaction",
    "UpdateDestination",
    "UpdateService",
    "address_changes",
    "after_services",
    "before_services",
    "bound_addresses",
    "check_scope",
    "diff",
    "failure_error",
    "gc_paused",
    "reap_decisions",
    "rollback_operations",
    "simulate",
    "undo_changes",
]
