"""ipvs: program the Linux IPVS load balancer from Python.

The names below are the public API; the folders are its layers (see
:doc:`/explanation/layers`): ``ipvs.errors`` (every exception), the model,
``ipvs.netlink`` (the sans-I/O protocol, public), the plans, the clients
(:class:`Client`, :class:`AsyncClient`), ``ipvs.formats`` (documents,
ipvsadm text, HTML), ``ipvs.testing`` (the sandbox kernel). Modules whose
names start with an underscore are private. Names are imported on first use,
so ``import ipvs`` stays light.

Example:
    >>> import ipvs
    >>> svc = ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr")
    >>> svc.describe()
    'TCP 10.0.0.1:80'
"""

from __future__ import annotations

import sys

# Not ``typing.TYPE_CHECKING``: importing typing would double the cost of ``import ipvs``.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.2.0.dev0"

_EXPORTS: dict[str, str] = {
    "DaemonState": "ipvs._model",
    "Destination": "ipvs._model",
    "Family": "ipvs._model",
    "ForwardMethod": "ipvs._model",
    "Info": "ipvs._model",
    "Protocol": "ipvs._model",
    "Scheduler": "ipvs._model",
    "Service": "ipvs._model",
    "ServiceEntry": "ipvs._model",
    "ServiceFlags": "ipvs._model",
    "ServiceKey": "ipvs._model",
    "Stats": "ipvs._model",
    "SyncDaemon": "ipvs._model",
    "Table": "ipvs._model",
    "Timeouts": "ipvs._model",
    "TunnelFlags": "ipvs._model",
    "TunnelType": "ipvs._model",
    "AddressError": "ipvs.errors",
    "ApplyError": "ipvs.errors",
    "BatchError": "ipvs.errors",
    "ConflictError": "ipvs.errors",
    "Connection": "ipvs._model",
    "DaemonExists": "ipvs.errors",
    "DaemonNotFound": "ipvs.errors",
    "DecodeError": "ipvs.errors",
    "DestinationExists": "ipvs.errors",
    "DestinationNotFound": "ipvs.errors",
    "IPVSError": "ipvs.errors",
    "IPVSPermissionError": "ipvs.errors",
    "IPVSUnavailable": "ipvs.errors",
    "InvalidArgument": "ipvs.errors",
    "KernelError": "ipvs.errors",
    "LockTimeout": "ipvs.errors",
    "MissingDependency": "ipvs.errors",
    "NetnsError": "ipvs.errors",
    "NotInTable": "ipvs.errors",
    "OutcomeUnknown": "ipvs.errors",
    "RollbackError": "ipvs.errors",
    "SchedulerNotFound": "ipvs.errors",
    "ServiceExists": "ipvs.errors",
    "ServiceNotFound": "ipvs.errors",
    "SnapshotUnstable": "ipvs.errors",
    "ValidationError": "ipvs.errors",
    "AddAddress": "ipvs._plan",
    "AddDestination": "ipvs._plan",
    "AddService": "ipvs._plan",
    "ApplyResult": "ipvs._plan",
    "Binding": "ipvs._plan",
    "CreateLink": "ipvs._plan",
    "DeleteAddress": "ipvs._plan",
    "DeleteDestination": "ipvs._plan",
    "DeleteLink": "ipvs._plan",
    "DeleteService": "ipvs._plan",
    "Drain": "ipvs._plan",
    "LinkState": "ipvs._plan",
    "Operation": "ipvs._plan",
    "Plan": "ipvs._plan",
    "ReapResult": "ipvs._plan",
    "Scope": "ipvs._plan",
    "SetLinkDown": "ipvs._plan",
    "SetLinkUp": "ipvs._plan",
    "Transaction": "ipvs._plan",
    "UpdateDestination": "ipvs._plan",
    "UpdateService": "ipvs._plan",
    "diff": "ipvs._plan",
    "AsyncBatch": "ipvs._client._batch",
    "AsyncClient": "ipvs._client._async",
    "Batch": "ipvs._client._batch",
    "Client": "ipvs._client._sync",
}

__all__ = [
    "AddAddress",
    "AddDestination",
    "AddService",
    "AddressError",
    "ApplyError",
    "ApplyResult",
    "AsyncBatch",
    "AsyncClient",
    "Batch",
    "BatchError",
    "Binding",
    "Client",
    "ConflictError",
    "Connection",
    "CreateLink",
    "DaemonExists",
    "DaemonNotFound",
    "DaemonState",
    "DecodeError",
    "DeleteAddress",
    "DeleteDestination",
    "DeleteLink",
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
    "LinkState",
    "LockTimeout",
    "MissingDependency",
    "NetnsError",
    "NotInTable",
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
    "SetLinkDown",
    "SetLinkUp",
    "SnapshotUnstable",
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
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if "IPython" in sys.modules:  # a notebook: show tables and plans as HTML
    from ipvs.formats.html import register_ipython

    register_ipython()

if TYPE_CHECKING:
    from ipvs._client._async import AsyncClient as AsyncClient
    from ipvs._client._batch import AsyncBatch as AsyncBatch, Batch as Batch
    from ipvs._client._sync import Client as Client
    from ipvs._model import (
        Connection as Connection,
        DaemonState as DaemonState,
        Destination as Destination,
        Family as Family,
        ForwardMethod as ForwardMethod,
        Info as Info,
        Protocol as Protocol,
        Scheduler as Scheduler,
        Service as Service,
        ServiceEntry as ServiceEntry,
        ServiceFlags as ServiceFlags,
        ServiceKey as ServiceKey,
        Stats as Stats,
        SyncDaemon as SyncDaemon,
        Table as Table,
        Timeouts as Timeouts,
        TunnelFlags as TunnelFlags,
        TunnelType as TunnelType,
    )
    from ipvs._plan import (
        AddAddress as AddAddress,
        AddDestination as AddDestination,
        AddService as AddService,
        ApplyResult as ApplyResult,
        Binding as Binding,
        CreateLink as CreateLink,
        DeleteAddress as DeleteAddress,
        DeleteDestination as DeleteDestination,
        DeleteLink as DeleteLink,
        DeleteService as DeleteService,
        Drain as Drain,
        LinkState as LinkState,
        Operation as Operation,
        Plan as Plan,
        ReapResult as ReapResult,
        Scope as Scope,
        SetLinkDown as SetLinkDown,
        SetLinkUp as SetLinkUp,
        Transaction as Transaction,
        UpdateDestination as UpdateDestination,
        UpdateService as UpdateService,
        diff as diff,
    )
    from ipvs.errors import (
        AddressError as AddressError,
        ApplyError as ApplyError,
        BatchError as BatchError,
        ConflictError as ConflictError,
        DaemonExists as DaemonExists,
        DaemonNotFound as DaemonNotFound,
        DecodeError as DecodeError,
        DestinationExists as DestinationExists,
        DestinationNotFound as DestinationNotFound,
        InvalidArgument as InvalidArgument,
        IPVSError as IPVSError,
        IPVSPermissionError as IPVSPermissionError,
        IPVSUnavailable as IPVSUnavailable,
        KernelError as KernelError,
        LockTimeout as LockTimeout,
        MissingDependency as MissingDependency,
        NetnsError as NetnsError,
        NotInTable as NotInTable,
        OutcomeUnknown as OutcomeUnknown,
        RollbackError as RollbackError,
        SchedulerNotFound as SchedulerNotFound,
        ServiceExists as ServiceExists,
        ServiceNotFound as ServiceNotFound,
        SnapshotUnstable as SnapshotUnstable,
        ValidationError as ValidationError,
    )
