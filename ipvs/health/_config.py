"""What the checker is asked to keep: services, their destinations, and how each is checked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs

from ipvs._model import Destination, DestinationKey, Service, ServiceKey
from ipvs.errors import ValidationError
from ipvs.health._checks import Check, CommandCheck, OnFailure

__all__ = ["CheckedDestination", "CheckedService", "Hook"]

#: A hook or callback: called with an event; may return an awaitable (it is then run as a task).
Hook = Callable[[Any], "Awaitable[Any] | None"]


def _to_on_failure(value: OnFailure | str) -> OnFailure:
    if isinstance(value, OnFailure):
        return value
    try:
        return OnFailure(str(value).lower())
    except ValueError:
        raise ValidationError(
            f"on_failure: expected 'quiesce' or 'remove', got {value!r}"
        ) from None


def _checks(value: Check | Iterable[Check]) -> tuple[Check, ...]:
    checks = (value,) if isinstance(value, Check) else tuple(value)
    for check in checks:
        if not isinstance(check, Check):
            raise ValidationError(f"checks: expected Check objects, got {check!r}")
        if type(check) is Check:
            raise ValidationError(
                "checks: Check only holds the timing; use TCPCheck, HTTPCheck, UDPCheck, "
                "DNSCheck, CommandCheck or FunctionCheck"
            )
    if sum(1 for c in checks if isinstance(c, CommandCheck) and c.dynamic_weight) > 1:
        raise ValidationError("checks: at most one CommandCheck per destination may set the weight")
    return checks


def _hook(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{type(inst).__name__}.{attribute.name} must be callable")


@attrs.frozen(kw_only=True, slots=True)
class CheckedDestination:
    """A destination with its health checks.

    It is up while every check is up (with no checks, always). While up it
    has its configured weight (or the one a :class:`CommandCheck` with
    ``dynamic_weight`` set); while down, weight 0 or no place in the table,
    as ``on_failure`` says.

    Args:
        destination: the destination, with its configured weight.
        checks: a check or several.
        on_failure: :attr:`OnFailure.QUIESCE` (default) or
            :attr:`OnFailure.REMOVE` (``"quiesce"``/``"remove"`` accepted).
        on_up: called with the :class:`DestinationUp` event (keepalived's
            ``notify_up``); a coroutine function runs as a task.
        on_down: called with the :class:`DestinationDown` event (``notify_down``).

    Raises:
        ValidationError: a value is invalid, or two checks set the weight.
    """

    destination: Destination = attrs.field()
    checks: tuple[Check, ...] = attrs.field(default=(), converter=_checks)
    on_failure: OnFailure = attrs.field(default=OnFailure.QUIESCE, converter=_to_on_failure)
    on_up: Hook | None = attrs.field(default=None, validator=_hook, eq=False)
    on_down: Hook | None = attrs.field(default=None, validator=_hook, eq=False)

    @destination.validator
    def _check_destination(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Destination):
            raise ValidationError(
                f"CheckedDestination.destination: expected a Destination, got {value!r}"
            )

    @property
    def key(self) -> DestinationKey:
        """The destination's ``(address, port)``."""
        return self.destination.key

    def describe(self) -> str:
        """Describe the destination, e.g. ``"10.1.1.2:8080"``."""
        return self.destination.describe()


@attrs.frozen(kw_only=True, slots=True, init=False)
class CheckedService:
    """A virtual service whose destinations are health checked.

    The checker owns the whole service: its settings and its destinations
    are what this says, and destinations others add to it are removed.

    Quorum (as keepalived's): the sum of the weights of the destinations
    that are up. The service has quorum while that sum is at least
    ``quorum``; it loses it when the sum falls below ``quorum -
    hysteresis`` (or to 0), and gains it back when the sum reaches ``quorum
    + hysteresis``. Without quorum, the ``sorry_server`` (if any) takes
    every new connection and the destinations are taken out (weight 0 or
    removed, as their ``on_failure`` says); with quorum again it leaves.
    The default ``quorum=1`` means: the sorry server serves when nothing is
    healthy.

    Args:
        service: the virtual service and its settings.
        destinations: :class:`CheckedDestination` objects, or plain
            :class:`~ipvs.Destination` objects that get ``checks`` and
            ``on_failure``.
        checks: the checks of plain destinations.
        on_failure: the failure policy of plain destinations.
        sorry_server: the destination used while the service lacks quorum.
        quorum: the weight needed, at least 1.
        hysteresis: 0 .. quorum - 1.
        on_quorum_up: called with the :class:`QuorumGained` event.
        on_quorum_down: called with the :class:`QuorumLost` event.

    Raises:
        ValidationError: a value is invalid, a destination is listed twice,
            or the sorry server is one of the destinations.

    Example:
        >>> import ipvs
        >>> from ipvs import health
        >>> web = health.CheckedService(
        ...     service=ipvs.Service.tcp("100.100.100.100", 80, scheduler="rr"),
        ...     destinations=[
        ...         ipvs.Destination(address="10.1.1.2", port=8080, forward="masq"),
        ...         ipvs.Destination(address="10.1.2.2", port=8080, forward="masq"),
        ...     ],
        ...     checks=[health.HTTPCheck(path="/healthz", interval=0.5, fall=2, rise=2)],
        ... )
        >>> [d.describe() for d in web.destinations]
        ['10.1.1.2:8080', '10.1.2.2:8080']
    """

    service: Service
    destinations: tuple[CheckedDestination, ...]
    sorry_server: Destination | None
    quorum: int
    hysteresis: int
    on_quorum_up: Hook | None = attrs.field(eq=False)
    on_quorum_down: Hook | None = attrs.field(eq=False)

    def __init__(
        self,
        *,
        service: Service,
        destinations: Iterable[CheckedDestination | Destination],
        checks: Check | Iterable[Check] = (),
        on_failure: OnFailure | str = OnFailure.QUIESCE,
        sorry_server: Destination | None = None,
        quorum: int = 1,
        hysteresis: int = 0,
        on_quorum_up: Hook | None = None,
        on_quorum_down: Hook | None = None,
    ) -> None:
        if not isinstance(service, Service):
            raise ValidationError(f"CheckedService.service must be a Service, got {service!r}")
        shared = _checks(checks)
        policy = _to_on_failure(on_failure)
        members: list[CheckedDestination] = []
        for item in destinations:
            if isinstance(item, Destination):
                item = CheckedDestination(destination=item, checks=shared, on_failure=policy)
            elif not isinstance(item, CheckedDestination):
                raise ValidationError(
                    f"CheckedService.destinations: expected Destination or CheckedDestination, "
                    f"got {item!r}"
                )
            members.append(item)
        keys = [m.key for m in members]
        if len(set(keys)) != len(keys):
            raise ValidationError(f"{service.describe()}: a destination is listed twice")
        if sorry_server is not None:
            if not isinstance(sorry_server, Destination):
                raise ValidationError("CheckedService.sorry_server: expected a Destination")
            if sorry_server.key in keys:
                raise ValidationError(
                    f"{service.describe()}: the sorry server {sorry_server.describe()} "
                    "is also a destination"
                )
        if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 1:
            raise ValidationError(f"CheckedService.quorum must be an integer >= 1, got {quorum!r}")
        if not isinstance(hysteresis, int) or isinstance(hysteresis, bool):
            raise ValidationError(
                f"CheckedService.hysteresis must be an integer, got {hysteresis!r}"
            )
        if not 0 <= hysteresis < quorum:
            raise ValidationError(
                f"CheckedService.hysteresis must be in 0..quorum-1 ({quorum - 1}), got {hysteresis}"
            )
        for name, hook in (("on_quorum_up", on_quorum_up), ("on_quorum_down", on_quorum_down)):
            if hook is not None and not callable(hook):
                raise ValidationError(f"CheckedService.{name} must be callable")
        self.__attrs_init__(
            service=service,
            destinations=tuple(members),
            sorry_server=sorry_server,
            quorum=quorum,
            hysteresis=hysteresis,
            on_quorum_up=on_quorum_up,
            on_quorum_down=on_quorum_down,
        )

    @property
    def key(self) -> ServiceKey:
        """The service's key."""
        return self.service.key

    def describe(self) -> str:
        """Describe the service, e.g. ``"TCP 100.100.100.100:80"``."""
        return self.service.describe()
