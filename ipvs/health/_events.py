"""What the checker reports: typed, immutable events.

State events (:class:`DestinationDown`, :class:`DestinationUp`,
:class:`WeightChanged`, :class:`QuorumLost`, :class:`QuorumGained`) are
delivered once the change they cause has been applied to the kernel (or the
apply failed): ``at`` is when the checker decided, ``applied_at`` when the
kernel had it (None if applying failed; the checker keeps trying).
Times are :func:`time.monotonic` seconds.
"""

from __future__ import annotations

import attrs

from ipvs._model import Destination, ServiceKey
from ipvs.health._checks import Check, Outcome

__all__ = [
    "ApplyFailed",
    "DestinationDown",
    "DestinationUp",
    "HealthEvent",
    "ProbeResult",
    "QuorumGained",
    "QuorumLost",
    "WeightChanged",
]


@attrs.frozen(kw_only=True, slots=True)
class HealthEvent:
    """The base of every event.

    Attributes:
        at: when it happened (``time.monotonic()``).
        applied_at: when the kernel had the resulting table; None when
            applying failed, or for events that change nothing.
    """

    at: float
    applied_at: float | None = None

    @property
    def applied(self) -> bool:
        """True when the kernel holds the change."""
        return self.applied_at is not None

    def describe(self) -> str:
        """One line for people (also what the checker logs)."""
        return type(self).__name__


@attrs.frozen(kw_only=True, slots=True)
class DestinationDown(HealthEvent):
    """A destination went down: weight 0, or removed (its ``on_failure``).

    Attributes:
        service: the service.
        destination: the destination as configured.
        check: the check whose failure took it down.
        reason: what the last probe found.
    """

    service: ServiceKey
    destination: Destination
    check: Check
    reason: str

    def describe(self) -> str:
        """One line, e.g. ``"TCP 100.100.100.100:80 -> 10.1.2.2:8080 down: HTTP 503"``."""
        return (
            f"{self.service.describe()} -> {self.destination.describe()} down: "
            f"{self.check.describe()}: {self.reason}"
        )


@attrs.frozen(kw_only=True, slots=True)
class DestinationUp(HealthEvent):
    """A destination came up: it has its weight again.

    Attributes:
        service: the service.
        destination: the destination as configured.
        weight: the weight it has now.
    """

    service: ServiceKey
    destination: Destination
    weight: int

    def describe(self) -> str:
        """One line, e.g. ``"TCP 100.100.100.100:80 -> 10.1.2.2:8080 up, weight 3"``."""
        return (
            f"{self.service.describe()} -> {self.destination.describe()} up, weight {self.weight}"
        )


@attrs.frozen(kw_only=True, slots=True)
class WeightChanged(HealthEvent):
    """A command check set another weight for a destination that is up.

    Attributes:
        service: the service.
        destination: the destination as configured.
        old: the weight before.
        new: the weight now.
    """

    service: ServiceKey
    destination: Destination
    old: int
    new: int

    def describe(self) -> str:
        """One line, e.g. ``"... -> 10.1.2.2:8080 weight 3 -> 1"``."""
        return (
            f"{self.service.describe()} -> {self.destination.describe()} "
            f"weight {self.old} -> {self.new}"
        )


@attrs.frozen(kw_only=True, slots=True)
class QuorumLost(HealthEvent):
    """A service lost its quorum (the sorry server, if any, takes over).

    Attributes:
        service: the service.
        weight: the sum of the weights of the destinations up.
        threshold: the sum it fell below (``quorum - hysteresis``).
        sorry_server: the sorry server now in use, or None.
    """

    service: ServiceKey
    weight: int
    threshold: int
    sorry_server: Destination | None = None

    def describe(self) -> str:
        """One line, e.g. ``"TCP 100.100.100.100:80 lost quorum (weight 0 < 1)"``."""
        sorry = f", sorry server {self.sorry_server.describe()}" if self.sorry_server else ""
        return (
            f"{self.service.describe()} lost quorum "
            f"(weight {self.weight} < {self.threshold}){sorry}"
        )


@attrs.frozen(kw_only=True, slots=True)
class QuorumGained(HealthEvent):
    """A service has its quorum again (the sorry server, if any, leaves).

    Attributes:
        service: the service.
        weight: the sum of the weights of the destinations up.
        threshold: the sum it reached (``quorum + hysteresis``).
    """

    service: ServiceKey
    weight: int
    threshold: int

    def describe(self) -> str:
        """One line, e.g. ``"TCP 100.100.100.100:80 gained quorum (weight 1 >= 1)"``."""
        return f"{self.service.describe()} gained quorum (weight {self.weight} >= {self.threshold})"


@attrs.frozen(kw_only=True, slots=True)
class ProbeResult(HealthEvent):
    """One probe's result (delivered only to subscribers that ask for probes).

    Attributes:
        service: the service.
        destination: the destination as configured.
        check: the check.
        outcome: what the probe found.
        duration: how long it took, in seconds.
    """

    service: ServiceKey
    destination: Destination
    check: Check
    outcome: Outcome
    duration: float

    def describe(self) -> str:
        """One line, e.g. ``"... -> 10.1.2.2:8080 HTTP GET /: ok (HTTP 200) in 0.003 s"``."""
        verdict = "ok" if self.outcome.ok else "failed"
        return (
            f"{self.service.describe()} -> {self.destination.describe()} "
            f"{self.check.describe()}: {verdict} ({self.outcome.detail}) in {self.duration:.3f} s"
        )


@attrs.frozen(kw_only=True, slots=True)
class ApplyFailed(HealthEvent):
    """Applying the table failed (after one retry on a conflict); the checker tries again.

    Attributes:
        error: the exception.
        retry_in: seconds until the next attempt (with a new snapshot).
    """

    error: Exception
    retry_in: float

    def describe(self) -> str:
        """One line, e.g. ``"applying failed (...); again in 1 s"``."""
        return f"applying failed ({self.error}); again in {self.retry_in:g} s"
