"""The decisions, with no I/O: counters, states, quorum, and the table the kernel should hold.

:class:`HealthModel` takes probe outcomes one at a time and answers with the
events they cause; :meth:`HealthModel.desired` turns the configuration and
the current states into the table to apply. Everything here is pure and
synchronous; :class:`~ipvs.health.HealthChecker` runs the probes and applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from ipvs._model import Destination, DestinationKey, ServiceEntry, ServiceKey, Table
from ipvs._plan import Scope
from ipvs.errors import ValidationError
from ipvs.health._checks import Check, CommandCheck, OnFailure, Outcome, State
from ipvs.health._config import CheckedDestination, CheckedService
from ipvs.health._events import (
    DestinationDown,
    DestinationUp,
    HealthEvent,
    QuorumGained,
    QuorumLost,
    WeightChanged,
)

__all__ = [
    "CheckStatus",
    "DestinationStatus",
    "HealthModel",
    "ServiceStatus",
    "desired_entry",
    "observe",
    "quorum_after",
]


@attrs.frozen(kw_only=True, slots=True)
class CheckStatus:
    """Where one check of one destination stands.

    Attributes:
        up: the check's state.
        successes: consecutive successful probes (0 after a failure).
        failures: consecutive failed probes (0 after a success).
        last: the last probe's outcome, None before the first.
    """

    up: bool
    successes: int = 0
    failures: int = 0
    last: Outcome | None = None

    @property
    def pending(self) -> bool:
        """True while the last result disagrees with the state (a change is on its way)."""
        return (self.up and self.failures > 0) or (not self.up and self.successes > 0)


def observe(status: CheckStatus, outcome: Outcome, *, rise: int, fall: int) -> CheckStatus:
    """Count one probe result: ``rise`` successes in a row bring a check up, ``fall`` failures down.

    Args:
        status: the check's status before.
        outcome: the probe's outcome.
        rise: consecutive successes needed to come up.
        fall: consecutive failures needed to go down.

    Returns:
        The new status.

    Example:
        >>> from ipvs.health import CheckStatus, Outcome, observe
        >>> s, states = CheckStatus(up=True), []
        >>> for ok in (False, False, True, False, False, False, True, True):
        ...     s = observe(s, Outcome(ok=ok), rise=2, fall=3)
        ...     states.append("up" if s.up else "down")
        >>> " ".join(states)
        'up up up up up down down up'
    """
    if outcome.ok:
        successes = status.successes + 1
        up = status.up or successes >= rise
        return CheckStatus(up=up, successes=successes, failures=0, last=outcome)
    failures = status.failures + 1
    up = status.up and failures < fall
    return CheckStatus(up=up, successes=0, failures=failures, last=outcome)


def quorum_after(was_up: bool, weight: int, *, quorum: int, hysteresis: int) -> bool:
    """Decide a service's quorum from the weight of its healthy destinations.

    With quorum, a service keeps it until the weight falls below ``quorum -
    hysteresis`` or to 0; without, it gains it at ``quorum + hysteresis``.

    Args:
        was_up: whether the service had quorum.
        weight: the sum of the weights of its destinations that are up.
        quorum: the configured quorum.
        hysteresis: the configured hysteresis.

    Returns:
        Whether it has quorum now.

    Example:
        >>> from ipvs.health import quorum_after
        >>> [quorum_after(up, w, quorum=3, hysteresis=1) for up, w in
        ...  [(True, 2), (True, 1), (False, 3), (False, 4)]]
        [True, False, False, True]
    """
    if was_up:
        return weight > 0 and weight >= quorum - hysteresis
    return weight >= quorum + hysteresis


@attrs.frozen(kw_only=True, slots=True)
class DestinationStatus:
    """Where one destination of a service stands.

    Attributes:
        service: the service's key.
        destination: the destination as configured.
        up: True while every check is up.
        weight: its weight while up (configured, or set by a command check).
        checks: each check's status, in the order of the configuration.
    """

    service: ServiceKey
    destination: Destination
    up: bool
    weight: int
    checks: tuple[CheckStatus, ...]


@attrs.frozen(kw_only=True, slots=True)
class ServiceStatus:
    """Where one service stands.

    Attributes:
        service: the service's key.
        quorum: True while it has quorum.
        weight: the sum of the weights of its destinations that are up.
        sorry_server: True while its sorry server is in use.
        destinations: each destination's status.
    """

    service: ServiceKey
    quorum: bool
    weight: int
    sorry_server: bool
    destinations: tuple[DestinationStatus, ...]


def desired_entry(
    config: CheckedService,
    states: Mapping[DestinationKey, tuple[bool, int]],
    quorum: bool,
) -> ServiceEntry:
    """The entry a service should have in the kernel now.

    A destination that is up gets its weight; one that is down gets weight
    0 (:attr:`OnFailure.QUIESCE`) or is left out (:attr:`OnFailure.REMOVE`).
    Without quorum, a configured sorry server is added and every
    destination is taken out the same way.

    Args:
        config: the service's configuration.
        states: each destination's ``(up, weight)``, by ``(address, port)``.
        quorum: whether the service has quorum.

    Returns:
        The entry.
    """
    sorry = config.sorry_server is not None and not quorum
    destinations: list[Destination] = []
    for member in config.destinations:
        up, weight = states[member.key]
        dest = member.destination
        if up and not sorry:
            destinations.append(_weighted(dest, weight))
        elif member.on_failure is OnFailure.QUIESCE:
            destinations.append(_weighted(dest, 0))
    if sorry:
        assert config.sorry_server is not None
        destinations.append(config.sorry_server)
    return ServiceEntry(service=config.service, destinations=destinations)


def _weighted(destination: Destination, weight: int) -> Destination:
    if destination.weight == weight:
        return destination
    return attrs.evolve(destination, weight=weight)


class _Member:
    """The mutable state of one checked destination."""

    __slots__ = ("config", "dynamic", "statuses")

    def __init__(self, config: CheckedDestination) -> None:
        self.config = config
        self.statuses = [CheckStatus(up=c.initial is State.UP) for c in config.checks]
        self.dynamic: int | None = None

    def carry(self, old: _Member) -> None:
        """Take the states of the checks that stay from the member's previous configuration."""
        before = old.config.checks
        for index, check in enumerate(self.config.checks):
            if index < len(before) and before[index] == check:
                self.statuses[index] = old.statuses[index]
                if isinstance(check, CommandCheck) and check.dynamic_weight:
                    self.dynamic = old.dynamic

    @property
    def up(self) -> bool:
        return all(s.up for s in self.statuses)

    @property
    def weight(self) -> int:
        return self.dynamic if self.dynamic is not None else self.config.destination.weight


class HealthModel:
    """The health checker's decisions, with no I/O (see the module).

    Feed it every probe's outcome with :meth:`record`; it answers with the
    events the outcome causes (a destination going down or up, a weight
    changing, a quorum lost or gained), and :meth:`desired` gives the table
    the kernel should hold. Each check starts in its ``initial`` state.

    Args:
        services: the checked services (each key at most once).
        previous: a model whose states to keep (a configuration reloaded):
            each check that stays (same service, destination, position and
            settings) keeps its state and counters, a command check's
            weight stays with it, and a service that stays keeps its quorum
            (then decided again with its new settings). Everything new
            starts in its initial state.

    Raises:
        ValidationError: a service is listed twice.

    Example:
        >>> import ipvs
        >>> from ipvs import health
        >>> svc = ipvs.Service.tcp("10.0.0.1", 80, scheduler="rr")
        >>> d = ipvs.Destination(address="10.1.1.2", port=80, weight=3)
        >>> model = health.HealthModel([health.CheckedService(
        ...     service=svc, destinations=[d], checks=[health.TCPCheck(fall=1)])])
        >>> failed = health.Outcome(ok=False, detail="connection refused")
        >>> for event in model.record(svc.key, d.key, 0, failed, at=1.0):
        ...     print(event.describe())
        TCP 10.0.0.1:80 -> 10.1.1.2:80 down: TCP connect: connection refused
        TCP 10.0.0.1:80 lost quorum (weight 0 < 1)
        >>> model.desired(ipvs.Table())[svc.key].destinations[0].weight
        0
    """

    def __init__(
        self, services: Iterable[CheckedService], *, previous: HealthModel | None = None
    ) -> None:
        self.services: tuple[CheckedService, ...] = tuple(services)
        self._configs: dict[ServiceKey, CheckedService] = {}
        self._members: dict[ServiceKey, dict[DestinationKey, _Member]] = {}
        self._quorum: dict[ServiceKey, bool] = {}
        self._entries: dict[ServiceKey, ServiceEntry] = {}  # entry(), until a state changes
        if previous is not None and not isinstance(previous, HealthModel):
            raise ValidationError(f"previous: expected a HealthModel, got {previous!r}")
        for config in self.services:
            if not isinstance(config, CheckedService):
                raise ValidationError(f"expected CheckedService objects, got {config!r}")
            if config.key in self._configs:
                raise ValidationError(f"service {config.describe()} is listed twice")
            self._configs[config.key] = config
            members = {m.key: _Member(m) for m in config.destinations}
            self._members[config.key] = members
            old = previous._members.get(config.key) if previous is not None else None
            if old is not None:
                for key, member in members.items():
                    if key in old:
                        member.carry(old[key])
            weight = self._weight(config.key)
            if previous is not None and config.key in previous._quorum:
                self._quorum[config.key] = quorum_after(
                    previous._quorum[config.key],
                    weight,
                    quorum=config.quorum,
                    hysteresis=config.hysteresis,
                )
            else:
                self._quorum[config.key] = weight >= config.quorum + config.hysteresis

    # -- queries -----------------------------------------------------------------------

    def _weight(self, key: ServiceKey) -> int:
        return sum(m.weight for m in self._members[key].values() if m.up)

    def keys(self) -> list[ServiceKey]:
        """The keys of the services checked."""
        return list(self._configs)

    def scope(self) -> Scope:
        """The services the checker owns, as a :class:`~ipvs.Scope` for applying."""
        return Scope.keys(self._configs)

    def check_status(
        self, service: ServiceKey, destination: DestinationKey, index: int
    ) -> CheckStatus:
        """The status of one check of one destination.

        Raises:
            KeyError: no such service, destination or check.
        """
        return self._members[service][destination].statuses[index]

    def is_up(self, service: ServiceKey, destination: DestinationKey) -> bool:
        """Whether a destination is up.

        Raises:
            KeyError: no such service or destination.
        """
        return self._members[service][destination].up

    def has_quorum(self, service: ServiceKey) -> bool:
        """Whether a service has quorum.

        Raises:
            KeyError: no such service.
        """
        return self._quorum[service]

    def status(self) -> tuple[ServiceStatus, ...]:
        """Where every service and destination stands.

        Returns:
            One :class:`ServiceStatus` per service, in configuration order.
        """
        result = []
        for key, config in self._configs.items():
            members = self._members[key]
            quorum = self._quorum[key]
            result.append(
                ServiceStatus(
                    service=key,
                    quorum=quorum,
                    weight=self._weight(key),
                    sorry_server=config.sorry_server is not None and not quorum,
                    destinations=tuple(
                        DestinationStatus(
                            service=key,
                            destination=m.config.destination,
                            up=m.up,
                            weight=m.weight,
                            checks=tuple(m.statuses),
                        )
                        for m in members.values()
                    ),
                )
            )
        return tuple(result)

    def entry(self, key: ServiceKey) -> ServiceEntry:
        """The entry one service should have in the kernel now (see :func:`desired_entry`).

        Raises:
            KeyError: no such service.
        """
        entry = self._entries.get(key)
        if entry is None:
            states = {k: (m.up, m.weight) for k, m in self._members[key].items()}
            entry = desired_entry(self._configs[key], states, self._quorum[key])
            self._entries[key] = entry
        return entry

    def desired(self, current: Table) -> Table:
        """The table the kernel should hold: ``current`` with the checked services as wanted.

        Services the checker does not own are left as they are. The result
        is derived from ``current`` (so the diff looks only at what changed),
        and is ``current`` itself when nothing has to change.

        Args:
            current: the state the kernel is known to hold.

        Returns:
            The desired table.
        """
        table = current
        for key in self._configs:
            entry = self.entry(key)
            if current.get(key) != entry:
                table = table.with_entry(entry)
        return table

    # -- changes -------------------------------------------------------------------------

    def initial_events(self, at: float) -> list[HealthEvent]:
        """The events of the initial states: a :class:`QuorumLost` for each service without quorum.

        Args:
            at: the time to put on them.

        Returns:
            The events.
        """
        events: list[HealthEvent] = []
        for key, config in self._configs.items():
            if not self._quorum[key]:
                events.append(
                    QuorumLost(
                        at=at,
                        service=key,
                        weight=self._weight(key),
                        threshold=config.quorum + config.hysteresis,
                        sorry_server=config.sorry_server,
                    )
                )
        return events

    def changes_since(self, previous: HealthModel, at: float) -> list[HealthEvent]:
        """The quorum events of a new configuration, compared with the one it replaces.

        A new service without quorum reports :class:`QuorumLost` (as at the
        start); a service that stays and whose quorum changed (its settings
        or destinations did) reports :class:`QuorumLost` or :class:`QuorumGained`.

        Args:
            previous: the model this one replaces (made with ``previous=``).
            at: the time to put on the events.

        Returns:
            The events.
        """
        events: list[HealthEvent] = []
        for key, config in self._configs.items():
            now = self._quorum[key]
            was = previous._quorum.get(key, True)
            if now == was:
                continue
            weight = self._weight(key)
            if now:
                events.append(
                    QuorumGained(
                        at=at,
                        service=key,
                        weight=weight,
                        threshold=config.quorum + config.hysteresis,
                    )
                )
            else:
                threshold = config.quorum + config.hysteresis
                if key in previous._quorum:
                    threshold = config.quorum - config.hysteresis
                events.append(
                    QuorumLost(
                        at=at,
                        service=key,
                        weight=weight,
                        threshold=threshold,
                        sorry_server=config.sorry_server,
                    )
                )
        return events

    def record(
        self,
        service: ServiceKey,
        destination: DestinationKey,
        index: int,
        outcome: Outcome,
        at: float,
    ) -> list[HealthEvent]:
        """Count one probe's outcome and say what changed.

        Args:
            service: the service's key.
            destination: the destination's ``(address, port)``.
            index: which of its checks (position in its ``checks``).
            outcome: what the probe found.
            at: the time to put on the events.

        Returns:
            The events (empty when the table need not change).

        Raises:
            KeyError: no such service, destination or check.
        """
        member = self._members[service][destination]
        check: Check = member.config.checks[index]
        was_up, old_weight = member.up, member.weight
        member.statuses[index] = observe(
            member.statuses[index], outcome, rise=check.rise, fall=check.fall
        )
        if isinstance(check, CommandCheck) and check.dynamic_weight and outcome.ok:
            member.dynamic = outcome.weight
        up, weight = member.up, member.weight
        dest = member.config.destination
        events: list[HealthEvent] = []
        if was_up and not up:
            events.append(
                DestinationDown(
                    at=at, service=service, destination=dest, check=check, reason=outcome.detail
                )
            )
        elif up and not was_up:
            events.append(DestinationUp(at=at, service=service, destination=dest, weight=weight))
        elif up and weight != old_weight:
            events.append(
                WeightChanged(at=at, service=service, destination=dest, old=old_weight, new=weight)
            )
        else:
            return events
        events += self._update_quorum(service, at)
        self._entries.pop(service, None)  # the service's entry changes
        return events

    def _update_quorum(self, key: ServiceKey, at: float) -> list[HealthEvent]:
        config = self._configs[key]
        was = self._quorum[key]
        weight = self._weight(key)
        now = quorum_after(was, weight, quorum=config.quorum, hysteresis=config.hysteresis)
        if now == was:
            return []
        self._quorum[key] = now
        if now:
            return [
                QuorumGained(
                    at=at, service=key, weight=weight, threshold=config.quorum + config.hysteresis
                )
            ]
        return [
            QuorumLost(
                at=at,
                service=key,
                weight=weight,
                threshold=config.quorum - config.hysteresis,
                sorry_server=config.sorry_server,
            )
        ]
