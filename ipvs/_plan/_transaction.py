"""Transactions: changes checked and queued locally, applied all or nothing.

The checks and the queue are pure; committing needs a client. The same class
serves both clients: ``with client.transaction()`` for :class:`ipvs.Client`
and ``async with client.transaction()`` for :class:`ipvs.AsyncClient`.
"""

from __future__ import annotations

import errno as E
from collections.abc import Awaitable, Iterable
from types import TracebackType
from typing import Protocol

from ipvs._model import Destination, Service, ServiceEntry, ServiceKey, Table
from ipvs._plan._diff import Plan, diff
from ipvs._plan._outcome import ApplyResult
from ipvs.errors import (
    DestinationExists,
    DestinationNotFound,
    IPVSError,
    ServiceExists,
    ServiceNotFound,
    ValidationError,
)

__all__ = ["Transaction"]


class _Committer(Protocol):
    def snapshot(self) -> Table: ...

    def apply_plan(self, plan: Plan) -> ApplyResult: ...


class _AsyncCommitter(Protocol):
    def snapshot(self) -> Awaitable[Table]: ...

    def apply_plan(self, plan: Plan) -> Awaitable[ApplyResult]: ...


def _key(service: Service | ServiceKey) -> ServiceKey:
    if isinstance(service, Service):
        return service.key
    if isinstance(service, ServiceKey):
        return service
    raise ValidationError(f"expected a Service or ServiceKey, got {service!r}")


class Transaction:
    """Changes queued locally and applied all or nothing on a clean exit.

    Each method checks the change against the state at the start of the
    transaction (plus the changes queued so far) and raises at once if it
    cannot apply, before anything is sent. On a clean exit of the ``with``
    (or ``async with``) block the changes are diffed into a plan and applied
    with rollback; on an exception nothing is sent. A finished transaction
    refuses further use. Get one from :meth:`ipvs.Client.transaction` or
    :meth:`ipvs.AsyncClient.transaction`.

    Args:
        client: the client that commits.
        current: the known state (default: a snapshot taken on entry).

    Attributes:
        result: the :class:`ApplyResult` after a commit.
    """

    def __init__(self, client: _Committer | _AsyncCommitter, current: Table | None = None) -> None:
        if current is not None and not isinstance(current, Table):
            raise ValidationError(
                f"transaction: current must be a Table or None, got {type(current).__name__}"
            )
        self._client = client
        self._start = current
        self._table: Table | None = None
        self._done = False
        self.result: ApplyResult | None = None

    # -- context managers ------------------------------------------------------------

    def _begin(self, start: Table) -> Transaction:
        self._start = start
        self._table = start
        return self

    def __enter__(self) -> Transaction:
        if self._done:
            raise IPVSError("this transaction is finished")
        client: _Committer = self._client  # type: ignore[assignment]
        return self._begin(self._start if self._start is not None else client.snapshot())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done:
            return
        self._done = True
        if exc_type is None:
            client: _Committer = self._client  # type: ignore[assignment]
            self.result = client.apply_plan(self.plan())

    async def __aenter__(self) -> Transaction:
        if self._done:
            raise IPVSError("this transaction is finished")
        client: _AsyncCommitter = self._client  # type: ignore[assignment]
        return self._begin(self._start if self._start is not None else await client.snapshot())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done:
            return
        self._done = True
        if exc_type is None:
            client: _AsyncCommitter = self._client  # type: ignore[assignment]
            self.result = await client.apply_plan(self.plan())

    # -- state -----------------------------------------------------------------------

    def _state(self) -> Table:
        if self._done:
            raise IPVSError("this transaction is finished; start a new one")
        if self._table is None:
            raise IPVSError("use the transaction in a with block")
        return self._table

    @property
    def table(self) -> Table:
        """The state the transaction will leave."""
        return self._state()

    def plan(self) -> Plan:
        """Return the plan the commit would send.

        Returns:
            The plan.
        """
        table = self._state() if not self._done else self._table
        assert self._start is not None and table is not None
        return diff(self._start, table)

    def _entry(self, key: ServiceKey, operation: str) -> ServiceEntry:
        entry = self._state().get(key)
        if entry is None:
            raise ServiceNotFound(E.ESRCH, operation, key, "no such service")
        return entry

    # -- changes (each as the client method of the same name) ------------------------

    def add_service(self, service: Service, destinations: Iterable[Destination] = ()) -> None:
        """Queue a new service (optionally with destinations).

        Args:
            service: the service.
            destinations: its destinations.

        Raises:
            ServiceExists: it exists already.
        """
        table = self._state()
        if service.key in table:
            raise ServiceExists(E.EEXIST, "add_service", service, "service already exists")
        self._table = table.with_service(service, destinations)

    def update_service(self, service: Service) -> None:
        """Queue a change of a service's settings.

        Args:
            service: the service with its new settings.

        Raises:
            ServiceNotFound: no such service.
        """
        self._entry(service.key, "update_service")
        self._table = self._state().with_service(service)

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Queue a service's deletion.

        Args:
            service: the service or its key.

        Raises:
            ServiceNotFound: no such service.
        """
        key = _key(service)
        self._entry(key, "delete_service")
        self._table = self._state().without_service(key)

    def add_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a new destination.

        Args:
            service: the service or its key.
            destination: the destination.

        Raises:
            ServiceNotFound: no such service.
            DestinationExists: it exists already.
        """
        key = _key(service)
        entry = self._entry(key, "add_destination")
        if destination.key in entry.destination_map():
            raise DestinationExists(
                E.EEXIST, "add_destination", (key, destination), "destination already exists"
            )
        self._table = self._state().with_destination(key, destination)

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a change of a destination's settings.

        Args:
            service: the service or its key.
            destination: the destination with its new settings.

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        key = _key(service)
        entry = self._entry(key, "update_destination")
        if destination.key not in entry.destination_map():
            raise DestinationNotFound(
                E.ENOENT, "update_destination", (key, destination), "no such destination"
            )
        self._table = self._state().with_destination(key, destination)

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a destination's removal.

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).

        Raises:
            ServiceNotFound: no such service.
            DestinationNotFound: no such destination.
        """
        key = _key(service)
        entry = self._entry(key, "delete_destination")
        if destination.key not in entry.destination_map():
            raise DestinationNotFound(
                E.ENOENT, "delete_destination", (key, destination), "no such destination"
            )
        self._table = self._state().without_destination(key, destination)
