"""The model layer: immutable, validated descriptions of IPVS objects and tables.

Every class is a frozen, slotted :mod:`attrs` class with keyword-only
arguments. Values are checked when an object is built; bad input raises
:class:`~ipvs.errors.ValidationError` naming the field. Identity (a
:class:`ServiceKey`; a destination's address and port) is kept apart from
settings and from live data (statistics, connection counters): live data never
takes part in equality, so an object describing the desired state equals the
object decoded from the kernel for the same configuration, and diffs are set
operations.

This layer imports only :mod:`ipvs.errors`.
"""

from ipvs._model._checks import IPAddress
from ipvs._model._connection import Connection
from ipvs._model._enums import (
    DaemonState,
    Family,
    ForwardMethod,
    Protocol,
    Scheduler,
    ServiceFlags,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._objects import Destination, Info, Stats, SyncDaemon, Timeouts
from ipvs._model._service import Service, ServiceKey, flag_names, key_of
from ipvs._model._table import DestinationKey, ServiceEntry, Table

__all__ = [
    "Connection",
    "DaemonState",
    "Destination",
    "DestinationKey",
    "Family",
    "ForwardMethod",
    "IPAddress",
    "Info",
    "Protocol",
    "Scheduler",
    "Service",
    "ServiceEntry",
    "ServiceFlags",
    "ServiceKey",
    "Stats",
    "SyncDaemon",
    "Table",
    "Timeouts",
    "TunnelFlags",
    "TunnelType",
    "flag_names",
    "key_of",
]
