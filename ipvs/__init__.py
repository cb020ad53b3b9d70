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

__all__ = [
    "AddDestination",
    "AddService",
    "ApplyError",
    "ApplyResult",
    "Batch",
    "BatchError",
    "Client",
    "ConflictError",
    "DaemonExists",
    "DaemonNotFound",
    "DaemonState",
    "DecodeError",
    "DeleteDestination",
    "DeleteService",
    "Destination",
    "DestinationExists",
    "DestinationNotFound",
    "Drain",
    "Family",
    "ForwardMethod",
    "IPVSError",
    "IPVSPermissionError",
    "IPVSUnavailable",
    "Info",
    "InvalidArgument",
    "KernelError",
    "Operation",
    "OutcomeUnknown",
    "Plan",
    "Protocol",
    "ReapResult",
    "RollbackError",
    "Scheduler",
    "SchedulerNotFound",
    "Scope",
    "Service",
    "ServiceEntry",
    "ServiceExists",
    "ServiceFlags",
    "ServiceKey",
    "ServiceNotFound",
    "Stats",
    "SyncDaemon",
    "Table",
    "Timeouts",
    "Transaction",
    "TunnelFlags",
    "TunnelType",
    "UpdateDestination",
    "UpdateService",
    "ValidationError",
    "diff",
]


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
        ApplyError as ApplyError,
    )
    from ipvs._apply import (
        ApplyResult as ApplyResult,
    )
    from ipvs._apply import (
        ConflictError as ConflictError,
    )
    from ipvs._apply import (
        ReapResult as ReapResult,
    )
    from ipvs._apply import (
        RollbackError as RollbackError,
    )
    from ipvs._apply import (
        Transaction as Transaction,
    )
    from ipvs._client import (
        Batch as Batch,
    )
    from ipvs._client import (
        BatchError as BatchError,
    )
    from ipvs._client import (
        Client as Client,
    )
    from ipvs._errors import (
        DaemonExists as DaemonExists,
    )
    from ipvs._errors import (
        DaemonNotFound as DaemonNotFound,
    )
    from ipvs._errors import (
        DecodeError as DecodeError,
    )
    from ipvs._errors import (
        DestinationExists as DestinationExists,
    )
    from ipvs._errors import (
        DestinationNotFound as DestinationNotFound,
    )
    from ipvs._errors import (
        InvalidArgument as InvalidArgument,
    )
    from ipvs._errors import (
        IPVSError as IPVSError,
    )
    from ipvs._errors import (
        IPVSPermissionError as IPVSPermissionError,
    )
    from ipvs._errors import (
        IPVSUnavailable as IPVSUnavailable,
    )
    from ipvs._errors import (
        KernelError as KernelError,
    )
    from ipvs._errors import (
        OutcomeUnknown as OutcomeUnknown,
    )
    from ipvs._errors import (
        SchedulerNotFound as SchedulerNotFound,
    )
    from ipvs._errors import (
        ServiceExists as ServiceExists,
    )
    from ipvs._errors import (
        ServiceNotFound as ServiceNotFound,
    )
    from ipvs._errors import (
        ValidationError as ValidationError,
    )
    from ipvs._model import (
        DaemonState as DaemonState,
    )
    from ipvs._model import (
        Destination as Destination,
    )
    from ipvs._model import (
        Family as Family,
    )
    from ipvs._model import (
        ForwardMethod as ForwardMethod,
    )
    from ipvs._model import (
        Info as Info,
    )
    from ipvs._model import (
        Protocol as Protocol,
    )
    from ipvs._model import (
        Scheduler as Scheduler,
    )
    from ipvs._model import (
        Service as Service,
    )
    from ipvs._model import (
        ServiceFlags as ServiceFlags,
    )
    from ipvs._model import (
        ServiceKey as ServiceKey,
    )
    from ipvs._model import (
        Stats as Stats,
    )
    from ipvs._model import (
        SyncDaemon as SyncDaemon,
    )
    from ipvs._model import (
        Timeouts as Timeouts,
    )
    from ipvs._model import (
        TunnelFlags as TunnelFlags,
    )
    from ipvs._model import (
        TunnelType as TunnelType,
    )
    from ipvs._plan import (
        AddDestination as AddDestination,
    )
    from ipvs._plan import (
        AddService as AddService,
    )
    from ipvs._plan import (
        DeleteDestination as DeleteDestination,
    )
    from ipvs._plan import (
        DeleteService as DeleteService,
    )
    from ipvs._plan import (
        Drain as Drain,
    )
    from ipvs._plan import (
        Operation as Operation,
    )
    from ipvs._plan import (
        Plan as Plan,
    )
    from ipvs._plan import (
        Scope as Scope,
    )
    from ipvs._plan import (
        UpdateDestination as UpdateDestination,
    )
    from ipvs._plan import (
        UpdateService as UpdateService,
    )
    from ipvs._plan import (
        diff as diff,
    )
    from ipvs._table import (
        ServiceEntry as ServiceEntry,
    )
    from ipvs._table import (
        Table as Table,
    )
