"""The library's exceptions: one base class, :class:`IPVSError`.

Every error the library raises on purpose derives from :class:`IPVSError`.
Where a standard library exception fits, the class also derives from it, so
``except LookupError`` or ``except PermissionError`` work as expected.
"""

from __future__ import annotations

import enum
import errno as _errno
import os
from typing import Any

__all__ = [
    "DaemonExists",
    "DaemonNotFound",
    "DecodeError",
    "DestinationExists",
    "DestinationNotFound",
    "IPVSError",
    "IPVSPermissionError",
    "IPVSUnavailable",
    "InvalidArgument",
    "KernelError",
    "OutcomeUnknown",
    "SandboxError",
    "SandboxTimeout",
    "SandboxUnavailable",
    "SchedulerNotFound",
    "ServiceExists",
    "ServiceNotFound",
    "ValidationError",
]


class IPVSError(Exception):
    """Base class of every exception raised by :mod:`ipvs`."""


class ValidationError(IPVSError, ValueError):
    """Input was rejected before anything was sent to the kernel."""


class DecodeError(IPVSError, ValueError):
    """Bytes received from the kernel (or given to a decoder) are malformed."""


class KernelError(IPVSError, OSError):
    """The kernel rejected an operation.

    Attributes:
        errno: the positive errno the kernel returned.
        operation: the name of the operation, e.g. ``"add_service"``.
        object: the service, destination or other object concerned, or None.
    """

    def __init__(
        self, errno: int, operation: str = "", obj: Any = None, message: str | None = None
    ) -> None:
        self._message = message
        self.operation = operation
        self.object = obj
        self.index: int | None = None
        text = message or os.strerror(errno)
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
            type(self),
            (self.errno, self.operation, self.object, self._message),
            {"index": self.index},
        )


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


class SandboxError(IPVSError):
    """The sandbox kernel could not be started or failed."""


class SandboxUnavailable(SandboxError, FileNotFoundError):
    """User-Mode Linux (or another piece the sandbox needs) is not installed."""


class SandboxTimeout(SandboxError, TimeoutError):
    """The sandbox guest ran past its time limit and was killed."""


_ = _errno  # errno names are used by the client's mapping
