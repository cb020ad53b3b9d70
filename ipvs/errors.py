"""Every exception of the library, in one place: one base class, :class:`IPVSError`.

Every error the library raises on purpose derives from :class:`IPVSError`.
Where a standard library exception fits, the class also derives from it, so
``except LookupError`` or ``except PermissionError`` work as expected::

    IPVSError
    ├── ValidationError (ValueError)       bad input, refused before any system call
    ├── DecodeError (ValueError)           malformed bytes from the kernel or a caller
    ├── FamilyUnknown                      a Conversation was asked for IPVS before the family
    ├── NotInTable (KeyError)              a Table has no such service or destination
    ├── KernelError (OSError)              the kernel refused an operation; .errno
    │   ├── ServiceExists, DestinationExists, DaemonExists
    │   ├── ServiceNotFound, DestinationNotFound, DaemonNotFound (LookupError)
    │   ├── SchedulerNotFound (LookupError)
    │   ├── InvalidArgument (ValueError)
    │   ├── IPVSPermissionError (PermissionError)
    │   ├── IPVSUnavailable                no IPVS in this kernel
    │   └── OutcomeUnknown                 replies lost: what applied is unknown
    ├── BatchError                         some operations of a batch failed
    ├── ApplyError                         a plan failed and was rolled back
    │   ├── ConflictError                  another writer changed the kernel
    │   ├── RollbackError                  undoing failed too: state unknown
    │   └── AddressError                   binding a service address failed
    ├── SnapshotUnstable                   the table kept changing while it was read
    ├── LockTimeout (TimeoutError)         another writer held the namespace's lock too long
    ├── NetnsError (OSError)               a network namespace cannot be entered
    ├── MissingDependency (ImportError)    an optional package is not installed
    ├── SandboxError                       the sandbox kernel failed
    │   ├── SandboxUnavailable (FileNotFoundError)
    │   └── SandboxTimeout (TimeoutError)
    └── TopologyError (RuntimeError)       the test topology failed
        └── HTTPError (OSError)            an HTTP exchange with a backend failed

This module imports nothing else of :mod:`ipvs`: every layer may raise these.
"""

from __future__ import annotations

import enum
import errno as E
import os
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = [
    "AddressError",
    "ApplyError",
    "BatchError",
    "ConflictError",
    "DaemonExists",
    "DaemonNotFound",
    "DecodeError",
    "DestinationExists",
    "DestinationNotFound",
    "FamilyUnknown",
    "HTTPError",
    "IPVSError",
    "IPVSPermissionError",
    "IPVSUnavailable",
    "InvalidArgument",
    "KernelError",
    "LockTimeout",
    "MissingDependency",
    "NetnsError",
    "NotInTable",
    "OutcomeUnknown",
    "RollbackError",
    "SandboxError",
    "SandboxTimeout",
    "SandboxUnavailable",
    "SchedulerNotFound",
    "ServiceExists",
    "ServiceNotFound",
    "SnapshotUnstable",
    "TopologyError",
    "ValidationError",
    "error_for",
]


class IPVSError(Exception):
    """Base class of every exception raised by :mod:`ipvs`."""


class ValidationError(IPVSError, ValueError):
    """Input was rejected before anything was sent to the kernel."""


class DecodeError(IPVSError, ValueError):
    """Bytes received from the kernel (or given to a decoder) are malformed."""


class FamilyUnknown(IPVSError):
    """A request needs the IPVS family id, and the :class:`~ipvs.netlink.Conversation` has none.

    Resolve it first: :meth:`ipvs.netlink.Conversation.resolve_family`.
    """


class NotInTable(IPVSError, KeyError):
    """A :class:`~ipvs.Table` has no such service, or the service no such destination.

    Raised by looking a service up (``table[key]``) and by the ``with_*`` and
    ``without_*`` methods given something the table does not hold: removing
    what is absent is a mistake to report, not a no-op to hide.
    """

    def __str__(self) -> str:
        # KeyError quotes its argument; this error's argument is a sentence
        return str(self.args[0]) if self.args else ""


class KernelError(IPVSError, OSError):
    """The kernel rejected an operation.

    Attributes:
        errno: the positive errno the kernel returned.
        operation: the name of the operation, e.g. ``"add_service"``.
        object: the service, destination or other object concerned, or None.
        kernel_message: the kernel's own explanation (its netlink extended
            acknowledgement), or None when it sent none.
        index: the operation's position in a batch or pipeline, or None.
    """

    def __init__(
        self,
        errno: int,
        operation: str = "",
        obj: Any = None,
        message: str | None = None,
        *,
        kernel_message: str | None = None,
    ) -> None:
        self._message = message
        self.operation = operation
        self.object = obj
        self.index: int | None = None
        self.kernel_message = kernel_message
        text = message or os.strerror(errno)
        if kernel_message:
            text = f"{text}: {kernel_message}"
        if operation:
            text = f"{operation}: {text}"
        if obj is not None:
            text = f"{text} ({_describe(obj)})"
        super().__init__(errno, text)
        self.errno = errno
        self.strerror = text

    def __str__(self) -> str:
        return self.strerror or ""

    def __reduce__(self) -> tuple[Any, ...]:  # keep pickling working
        return (
            _rebuild_kernel_error,
            (
                type(self),
                self.errno,
                self.operation,
                self.object,
                self._message,
                self.kernel_message,
            ),
            {"index": self.index},
        )


def _rebuild_kernel_error(
    cls: type[KernelError],
    errno: int,
    operation: str,
    obj: Any,
    message: str | None,
    kernel_message: str | None,
) -> KernelError:
    return cls(errno, operation, obj, message, kernel_message=kernel_message)


def _describe(obj: Any) -> str:
    if isinstance(obj, tuple):
        return " -> ".join(_describe(o) for o in obj)
    if isinstance(obj, enum.Enum):
        return f"{obj.name.lower()} daemon" if type(obj).__name__ == "DaemonState" else obj.name
    describe = getattr(obj, "describe", None)
    if callable(describe):
        return str(describe())
    return repr(obj)


class ServiceExists(KernelError):
    """The virtual service already exists (EEXIST on add_service)."""


class ServiceNotFound(KernelError, LookupError):
    """No such virtual service (ESRCH)."""


class DestinationExists(KernelError):
    """The destination already exists in the service (EEXIST on add_destination)."""


class DestinationNotFound(KernelError, LookupError):
    """No such destination in the service (ENOENT on update/delete_destination)."""


class DaemonExists(KernelError):
    """That synchronisation daemon is already running."""


class DaemonNotFound(KernelError, LookupError):
    """That synchronisation daemon is not running."""


class SchedulerNotFound(KernelError, LookupError):
    """The scheduler or persistence engine is unknown to the kernel (ENOENT)."""


class InvalidArgument(KernelError, ValueError):
    """The kernel refused an argument (EINVAL, ERANGE, EAFNOSUPPORT)."""


class IPVSPermissionError(KernelError, PermissionError):
    """The caller lacks CAP_NET_ADMIN (EPERM)."""


class IPVSUnavailable(KernelError):
    """The kernel has no IPVS (the generic netlink family "IPVS" is not registered)."""


class OutcomeUnknown(KernelError):
    """Replies were lost (ENOBUFS): which operations were applied is unknown."""


_EXISTS: dict[str, tuple[type[KernelError], str]] = {
    "add_service": (ServiceExists, "service already exists"),
    "add_destination": (DestinationExists, "destination already exists"),
    "start_daemon": (DaemonExists, "daemon is already running"),
}


def error_for(
    errno: int, operation: str, obj: Any = None, *, kernel_message: str | None = None
) -> KernelError:
    """Map a kernel errno for an operation to the library's typed error.

    Args:
        errno: the positive errno.
        operation: the operation name (``"add_service"``, ...).
        obj: the object concerned.
        kernel_message: the kernel's extended-acknowledgement text, if any.

    Returns:
        The exception to raise (not raised here).

    Example:
        >>> from ipvs.errors import error_for
        >>> err = error_for(3, "delete_service")
        >>> type(err).__name__, str(err)
        ('ServiceNotFound', 'delete_service: no such service')
    """
    cls: type[KernelError] = KernelError
    text: str | None = None
    if errno == E.EPERM:
        cls, text = IPVSPermissionError, "permission denied: CAP_NET_ADMIN is needed"
    elif errno == E.EEXIST and operation in _EXISTS:
        cls, text = _EXISTS[operation]
    elif errno == E.ESRCH:
        if operation == "stop_daemon":
            cls, text = DaemonNotFound, "no such daemon is running"
        else:
            cls, text = ServiceNotFound, "no such service"
    elif errno == E.ENOENT and operation in ("add_service", "update_service"):
        cls, text = SchedulerNotFound, "scheduler or persistence engine not found"
    elif errno == E.ENOENT and operation in ("update_destination", "delete_destination"):
        cls, text = DestinationNotFound, "no such destination"
    elif errno == E.ENODEV and operation == "start_daemon":
        cls, text = InvalidArgument, "no such network interface"
    elif errno in (E.EINVAL, E.ERANGE, E.EAFNOSUPPORT, E.EOPNOTSUPP):
        cls = InvalidArgument
        text = f"invalid argument ({os.strerror(errno)})"
    elif errno == E.ENOBUFS:
        cls, text = OutcomeUnknown, "replies were lost (ENOBUFS): the outcome is unknown"
    return cls(errno, operation, obj, text, kernel_message=kernel_message)


class BatchError(IPVSError):
    """Some operations of a batch failed; the others were applied.

    Attributes:
        failures: one :class:`KernelError` per failed operation, in order;
            each has an ``index`` attribute (its position in the batch).
        total: the number of operations in the batch.
    """

    def __init__(self, failures: list[KernelError], total: int) -> None:
        self.failures = failures
        self.total = total
        shown = "; ".join(str(f) for f in failures[:3])
        more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
        super().__init__(f"{len(failures)} of {total} operations failed: {shown}{more}")


class _Operation(Protocol):
    def describe(self) -> str: ...


class _Plan(Protocol):
    @property
    def operations(self) -> Sequence[Any]: ...

    def __len__(self) -> int: ...


class ApplyError(IPVSError):
    """An operation of a plan failed; every applied operation was undone.

    Attributes:
        operation: the first operation that failed.
        error: the kernel's error for it.
        failures: every failed operation with its error, by plan index.
        plan: the plan (an :class:`ipvs.Plan`).
    """

    def __init__(
        self,
        plan: _Plan,
        failures: dict[int, KernelError],
        *,
        note: str = "all applied operations were rolled back",
    ) -> None:
        self.plan = plan
        self.failures = failures
        first = min(failures)
        self.operation: Any = plan.operations[first]
        self.error: KernelError = failures[first]
        more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
        super().__init__(
            f"operation {first + 1} of {len(plan)} failed: {self.operation.describe()}: "
            f"{self.error}{more}; {note}"
        )


class ConflictError(ApplyError):
    """The kernel was not in the state the plan assumed (another writer changed it).

    Nothing was left changed: either nothing was sent (the plan was checked
    against the kernel first) or everything applied was rolled back. Take a
    new snapshot and plan again.
    """


class RollbackError(ApplyError):
    """An operation failed and undoing the applied ones failed too.

    The kernel is in an unknown state; take a snapshot.

    Attributes:
        rollback_failures: the inverse operations that failed, with their errors.
    """

    def __init__(
        self,
        plan: _Plan,
        failures: dict[int, KernelError],
        rollback_failures: list[tuple[Any, KernelError]],
    ) -> None:
        self.rollback_failures = rollback_failures
        shown = "; ".join(f"{op.describe()}: {err}" for op, err in rollback_failures[:3])
        super().__init__(
            plan, failures, note=f"rolling back failed too, the state is unknown: {shown}"
        )


class AddressError(ApplyError):
    """Binding or unbinding a service address (or making its interface) failed.

    Every step of the apply that had been made was undone, the kernel's
    operations and the address steps alike, unless :attr:`rollback_failures`
    says otherwise (then the state is unknown: take a snapshot).

    Attributes:
        operation: the address step that failed (see :class:`ipvs.Binding`).
        error: the kernel's error for it.
        failures: empty (no operation of the plan failed).
        rollback_failures: the undoing steps that failed, with their errors.
    """

    def __init__(
        self,
        plan: _Plan,
        change: _Operation,
        error: KernelError,
        rollback_failures: Sequence[tuple[Any, KernelError]] = (),
    ) -> None:
        self.plan = plan
        self.failures = {}
        self.operation = change
        self.error = error
        self.rollback_failures = list(rollback_failures)
        if self.rollback_failures:
            shown = "; ".join(f"{op.describe()}: {err}" for op, err in self.rollback_failures[:3])
            note = f"rolling back failed too, the state is unknown: {shown}"
        else:
            note = "all applied operations were rolled back"
        IPVSError.__init__(self, f"{change.describe()}: {error}; {note}")


class SnapshotUnstable(IPVSError):
    """The table kept changing while it was read; no consistent snapshot was possible.

    The kernel answers long dumps in several parts and resumes each by
    position, so a dump that others write to meanwhile can repeat or skip
    entries. A snapshot re-reads such parts until two reads agree; this error
    means they never did within the allowed attempts.
    """


class LockTimeout(IPVSError, TimeoutError):
    """Another writer held the IPVS lock of the network namespace for too long.

    Writers that use this library take an advisory lock per network namespace
    (as ``iptables -w`` takes ``xtables.lock``); see ``Client(lock_timeout=...)``.
    """


class NetnsError(IPVSError, OSError):
    """Entering, creating or leaving a network namespace failed."""


class MissingDependency(IPVSError, ImportError):
    """A feature needs an optional package that is not installed.

    The message names the package and the extra that installs it, e.g.
    ``pip install 'ipvs[run]'``.
    """


class SandboxError(IPVSError):
    """The sandbox kernel could not be started or failed."""


class SandboxUnavailable(SandboxError, FileNotFoundError):
    """User-Mode Linux (or another piece the sandbox needs) is not installed."""


class SandboxTimeout(SandboxError, TimeoutError):
    """The sandbox guest ran past its time limit and was killed."""


class TopologyError(IPVSError, RuntimeError):
    """Building or using a test topology (:mod:`ipvs.testing.topology`) failed."""


class HTTPError(TopologyError, OSError):
    """An HTTP exchange with a test backend failed (bad reply, closed connection)."""
