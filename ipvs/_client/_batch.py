"""Batches: writes queued locally and sent pipelined in one go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from ipvs._model import Destination, Service, ServiceKey, key_of
from ipvs.errors import BatchError, IPVSError, KernelError, ValidationError
from ipvs.netlink import Write

__all__ = ["AsyncBatch", "Batch"]

Progress = Callable[[int, int], None] | None


def _service(obj: object) -> Service:
    if not isinstance(obj, Service):
        raise ValidationError(f"expected a Service, got {obj!r}")
    return obj


def _dest(obj: object) -> Destination:
    if not isinstance(obj, Destination):
        raise ValidationError(f"expected a Destination, got {obj!r}")
    return obj


class _Queue:
    """The six writes, each validated at once and queued as one message."""

    def __init__(self) -> None:
        self._writes: list[Write] = []
        self._sent = False
        #: After sending: the failed operations (also raised as BatchError on exit).
        self.failures: list[KernelError] = []

    def __len__(self) -> int:
        return len(self._writes)

    def _queue(self, write: Write) -> None:
        if self._sent:
            raise IPVSError("this batch was already sent")
        self._writes.append(write)

    def _take(self) -> list[Write]:
        if self._sent:
            raise IPVSError("this batch was already sent")
        self._sent = True
        return self._writes

    def add_service(self, service: Service) -> None:
        """Queue the creation of a service (as :meth:`ipvs.Client.add_service`).

        Args:
            service: the service.
        """
        self._queue(Write("add_service", _service(service)))

    def update_service(self, service: Service) -> None:
        """Queue a change of a service's settings (as :meth:`ipvs.Client.update_service`).

        Args:
            service: the service with its new settings.
        """
        self._queue(Write("update_service", _service(service)))

    def delete_service(self, service: Service | ServiceKey) -> None:
        """Queue the deletion of a service (as :meth:`ipvs.Client.delete_service`).

        Args:
            service: the service or its key.
        """
        self._queue(Write("delete_service", key_of(service)))

    def add_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue the addition of a destination (as :meth:`ipvs.Client.add_destination`).

        Args:
            service: the service or its key.
            destination: the destination.
        """
        self._queue(Write("add_destination", key_of(service), _dest(destination)))

    def update_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue a change of a destination (as :meth:`ipvs.Client.update_destination`).

        Args:
            service: the service or its key.
            destination: the destination with its new settings.
        """
        self._queue(Write("update_destination", key_of(service), _dest(destination)))

    def delete_destination(self, service: Service | ServiceKey, destination: Destination) -> None:
        """Queue the removal of a destination (as :meth:`ipvs.Client.delete_destination`).

        Args:
            service: the service or its key.
            destination: the destination (only its address and port matter).
        """
        self._queue(Write("delete_destination", key_of(service), _dest(destination)))


class Batch(_Queue):
    """Queued writes sent pipelined on exit (see :meth:`ipvs.Client.batch`).

    Each method validates its arguments at once (before any syscall) and
    queues one kernel message. Leaving the ``with`` block normally sends them
    all; leaving it with an exception sends nothing.

    Attributes:
        failures: after sending, the failed operations (also raised as
            :class:`~ipvs.errors.BatchError` by the context manager).
    """

    def __init__(self, send: Callable[[list[Write], Progress], list[KernelError]]) -> None:
        super().__init__()
        self._send = send

    def send(self, progress: Progress = None) -> list[KernelError]:
        """Send the queued operations now, pipelined.

        Args:
            progress: called with (operations sent, total) as sending proceeds.

        Returns:
            The failures (empty when everything was applied); each error has
            an ``index`` attribute.

        Raises:
            OutcomeUnknown: replies were lost; which operations applied is unknown.
        """
        writes = self._take()
        self.failures = self._send(writes, progress) if writes else []
        return self.failures

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._sent = True  # discard
            return
        failures = self.send()
        if failures:
            raise BatchError(failures, len(self))


class AsyncBatch(_Queue):
    """Queued writes sent pipelined on exit of ``async with`` (see :meth:`ipvs.AsyncClient.batch`).

    Attributes:
        failures: after sending, the failed operations (also raised as
            :class:`~ipvs.errors.BatchError` by the context manager).
    """

    def __init__(
        self, send: Callable[[list[Write], Progress], Awaitable[list[KernelError]]]
    ) -> None:
        super().__init__()
        self._send = send

    async def send(self, progress: Progress = None) -> list[KernelError]:
        """Send the queued operations now, pipelined (as :meth:`Batch.send`).

        Args:
            progress: called with (operations sent, total) as sending proceeds.

        Returns:
            The failures, each with an ``index`` attribute.

        Raises:
            OutcomeUnknown: replies were lost; which operations applied is unknown.
        """
        writes = self._take()
        self.failures = await self._send(writes, progress) if writes else []
        return self.failures

    async def __aenter__(self) -> AsyncBatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._sent = True  # discard
            return
        failures = await self.send()
        if failures:
            raise BatchError(failures, len(self))
