"""Health checks: a dead backend stops getting new connections, a recovered one gets them back.

IPVS does not know whether a destination is alive: it sends connections to
whatever the table says. :class:`HealthChecker` watches the destinations
and changes the table, as keepalived's checker does, on an
:class:`ipvs.AsyncClient`:

* checks (:class:`TCPCheck`, :class:`HTTPCheck` for HTTP and HTTPS,
  :class:`UDPCheck`, :class:`DNSCheck`, :class:`CommandCheck`, or your own
  :class:`FunctionCheck`), each with its interval, timeout, ``rise`` and
  ``fall`` (consecutive results) and initial state, probing from the
  network namespace the client programs;
* per destination (:class:`CheckedDestination`): on failure weight 0 (the
  default; established connections keep being served) or removal; on
  recovery exactly the configured weight again;
* per service (:class:`CheckedService`): a sorry server for when nothing is
  healthy, and a quorum with hooks;
* every change through the transactional apply with the known state, several
  at once in one apply; events as an async stream
  (:meth:`HealthChecker.events`), through callbacks, and on the
  ``ipvs.health`` logger.

The decisions (counters, states, quorum, the table to hold) are pure:
:class:`HealthModel`, usable without any I/O.

Example:
    .. code-block:: python

        import ipvs
        from ipvs import health

        web = health.CheckedService(
            service=ipvs.Service.tcp("100.100.100.100", 80, scheduler="rr"),
            destinations=[
                ipvs.Destination(address="10.1.1.2", port=8080, forward="masq"),
                ipvs.Destination(address="10.1.2.2", port=8080, forward="masq", weight=3),
            ],
            checks=[health.HTTPCheck(path="/healthz", interval=1.0, timeout=0.5, fall=2)],
        )
        async with ipvs.AsyncClient() as client, health.HealthChecker(client, [web]) as checker:
            async for event in checker.events():
                print(event.describe())

This layer sits above the clients and the formats; nothing below imports it,
and ``import ipvs`` does not load it.
"""

from ipvs.health._checker import EventStream, HealthChecker, logger
from ipvs.health._checks import (
    DNS_TYPES,
    Check,
    CommandCheck,
    DNSCheck,
    FunctionCheck,
    HTTPCheck,
    OnFailure,
    Outcome,
    State,
    Target,
    TCPCheck,
    UDPCheck,
)
from ipvs.health._config import CheckedDestination, CheckedService, Hook
from ipvs.health._events import (
    ApplyFailed,
    DestinationDown,
    DestinationUp,
    HealthEvent,
    ProbeResult,
    QuorumGained,
    QuorumLost,
    WeightChanged,
)
from ipvs.health._probes import probe
from ipvs.health._state import (
    CheckStatus,
    DestinationStatus,
    HealthModel,
    ServiceStatus,
    desired_entry,
    observe,
    quorum_after,
)

__all__ = [
    "DNS_TYPES",
    "ApplyFailed",
    "Check",
    "CheckStatus",
    "CheckedDestination",
    "CheckedService",
    "CommandCheck",
    "DNSCheck",
    "DestinationDown",
    "DestinationStatus",
    "DestinationUp",
    "EventStream",
    "FunctionCheck",
    "HTTPCheck",
    "HealthChecker",
    "HealthEvent",
    "HealthModel",
    "Hook",
    "OnFailure",
    "Outcome",
    "ProbeResult",
    "QuorumGained",
    "QuorumLost",
    "ServiceStatus",
    "State",
    "TCPCheck",
    "Target",
    "UDPCheck",
    "WeightChanged",
    "desired_entry",
    "logger",
    "observe",
    "probe",
    "quorum_after",
]
