"""ipvs: program the Linux IPVS load balancer from Python.

The public API lives here; the modules starting with an underscore are
private. Names are imported on first use, so ``import ipvs`` stays light.

Example:
    >>> import ipvs
    >>> svc = ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr")
    >>> svc.describe()
    'TCP 10.0.0.1:80'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # model
    "DaemonState": "ipvs._model",
    "Destination": "ipvs._model",
    "Family": "ipvs._model",
    "ForwardMethod": "ipvs._model",
    "Info": "ipvs._model",
    "Protocol": "ipvs._model",
    "Scheduler": "ipvs._model",
    "Service": "ipvs._model",
    "ServiceFlags": "ipvs._model",
    "ServiceKey": "ipvs._model",
    "Stats": "ipvs._model",
    "SyncDaemon": "ipvs._model",
    "Timeouts": "ipvs._model",
    "TunnelFlags": "ipvs._model",
    "TunnelType": "ipvs._model",
    # table
    "ServiceEntry": "ipvs._table",
    "Table": "ipvs._table",
    # errors
    "DaemonExists": "ipvs._errors",
    "DaemonNotFound": "ipvs._errors",
    "DecodeError": "ipvs._errors",
    "DestinationExists": "ipvs._errors",
    "DestinationNotFound": "ipvs._errors",
    "IPVSError": "ipvs._errors",
    "IPVSPermissionError": "ipvs._errors",
    "IPVSUnavailable": "ipvs._errors",
    "InvalidArgument": "ipvs._errors",
    "KernelError": "ipvs._errors",
    "OutcomeUnknown": "ipvs._errors",
    "SchedulerNotFound": "ipvs._errors",
    "ServiceExists": "ipvs._errors",
    "ServiceNotFound": "ipvs._errors",
    "ValidationError": "ipvs._errors",
    # client
    "Batch": "ipvs._client",
    "BatchError": "ipvs._client",
    "Client": "ipvs._client",
    # plans
    "AddDestination": "ipvs._plan",
    "AddService": "ipvs._plan",
    "DeleteDestination": "ipvs._plan",
    "DeleteService": "ipvs._plan",
    "Drain": "ipvs._plan",
    "Operation": "ipvs._plan",
    "Plan": "ipvs._plan",
    "Scope": "ipvs._plan",
    "UpdateDestination": "ipvs._plan",
    "UpdateService": "ipvs._plan",
    "diff": "ipvs._plan",
    "ApplyError": "ipvs._apply",
    "ApplyResult": "ipvs._apply",
    "ConflictError": "ipvs._apply",
    "ReapResult": "ipvs._apply",
    "RollbackError": "ipvs._apply",
    "Transaction": "ipvs._apply",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ipvs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from ipvs._apply import (
        ApplyError,
        ApplyResult,
        ConflictError,
        ReapResult,
        RollbackError,
        Transaction,
    )
    from ipvs._client import Batch, BatchError, Client
    from ipvs._errors import (
        DaemonExists,
        DaemonNotFound,
        DecodeError,
        DestinationExists,
        DestinationNotFound,
        InvalidArgument,
        IPVSError,
        IPVSPermissionError,
        IPVSUnavailable,
        KernelError,
        OutcomeUnknown,
        SchedulerNotFound,
        ServiceExists,
        ServiceNotFound,
        ValidationError,
    )
    from ipvs._model import (
        DaemonState,
        Destination,
        Family,
        ForwardMethod,
        Info,
        Protocol,
        Scheduler,
        Service,
        ServiceFlags,
        ServiceKey,
        Stats,
        SyncDaemon,
        Timeouts,
        TunnelFlags,
        TunnelType,
    )
    from ipvs._plan import (
        AddDestination,
        AddService,
        DeleteDestination,
        DeleteService,
        Drain,
        Operation,
        Plan,
        Scope,
        UpdateDestination,
        UpdateService,
        diff,
    )
    from ipvs._table import ServiceEntry, Table
