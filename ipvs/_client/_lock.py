"""The advisory lock that serialises writers of one network namespace's IPVS table.

IPVS has no transactions or compare-and-swap: two programs applying plans at
once can interleave their writes, and a rollback computed from a stale view
can undo the other's acknowledged change. Writers that use this library
therefore hold an exclusive ``flock`` on a file named after the network
namespace while they check and write, as iptables' ``-w`` holds
``/run/xtables.lock``. The file lives in ``/run/ipvs`` (``IPVS_LOCK_DIR``
overrides it); like ``xtables.lock`` it only serialises processes that see the
same ``/run``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from ipvs._client import _netns
from ipvs._client._log import log
from ipvs.errors import IPVSError, LockTimeout, NetnsError

__all__ = [
    "DEFAULT_LOCK_DIR",
    "NetnsLock",
    "take",
    "take_async",
    "with_loopback_hint",
    "writers_lock",
]

DEFAULT_LOCK_DIR = "/run/ipvs"
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


def _namespace_id(netns: str | os.PathLike[str] | None) -> str:
    path = "/proc/thread-self/ns/net" if netns is None else _netns.resolve(netns)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise NetnsError(exc.errno or 0, f"cannot identify network namespace {path}") from exc
    return f"{st.st_dev:x}-{st.st_ino}"


class NetnsLock:
    """An exclusive, re-entrant advisory lock on one network namespace's IPVS table.

    Args:
        netns: the namespace (as for :class:`ipvs.Client`); None for the
            calling thread's.
        timeout: seconds to wait for another writer; None waits forever, 0
            does not wait.
        directory: where the lock files live (default ``IPVS_LOCK_DIR`` or
            ``/run/ipvs``).
    """

    def __init__(
        self,
        netns: str | os.PathLike[str] | None,
        *,
        timeout: float | None = 30.0,
        directory: str | None = None,
    ) -> None:
        self.directory = directory or os.environ.get("IPVS_LOCK_DIR") or DEFAULT_LOCK_DIR
        # the calling thread's namespace is read now, while the thread is in it;
        # a named one when the lock is first taken
        self._netns = netns
        self._path = None if netns is not None else self._path_of(netns)
        self.timeout = timeout
        self._fd = -1
        self._depth = 0
        self._unlocked = False

    def _path_of(self, netns: str | os.PathLike[str] | None) -> str:
        return os.path.join(self.directory, f"netns-{_namespace_id(netns)}.lock")

    @property
    def path(self) -> str:
        """The lock file."""
        if self._path is None:
            self._path = self._path_of(self._netns)
        return self._path

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._depth > 0

    def _try(self) -> bool:
        if self._depth:
            self._depth += 1
            return True
        if self._fd < 0:
            try:
                os.makedirs(self.directory, mode=0o755, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise
                # Without the right to the lock file this process is almost
                # always without the right to write IPVS too: let the kernel say
                # so (EPERM) rather than the lock.
                log.warning(
                    "cannot open the IPVS writer lock %s (%s): writing unlocked",
                    self.path,
                    exc.strerror,
                )
                self._depth = 1
                self._unlocked = True
                return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._depth = 1
        return True

    def _timed_out(self, started: float) -> LockTimeout | None:
        if self.timeout is None or time.monotonic() - started < self.timeout:
            return None
        return LockTimeout(
            f"another writer held the IPVS lock {self.path} for more than "
            f"{self.timeout:g} s (see Client(lock_timeout=...))"
        )

    def acquire(self) -> None:
        """Take the lock, waiting up to the timeout.

        Raises:
            LockTimeout: another writer held it for longer.
            OSError: the lock file cannot be created.
        """
        started = time.monotonic()
        pause = _FIRST_PAUSE
        while not self._try():
            error = self._timed_out(started)
            if error is not None:
                raise error
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    async def acquire_async(self) -> None:
        """Take the lock without blocking the event loop (see :meth:`acquire`).

        Raises:
            LockTimeout: another writer held it for longer.
            OSError: the lock file cannot be created.
        """
        import asyncio

        started = time.monotonic()
        pause = _FIRST_PAUSE
        while not self._try():
            error = self._timed_out(started)
            if error is not None:
                raise error
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def release(self) -> None:
        """Give the lock back (the outermost release unlocks)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0 and not self._unlocked:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if self._depth == 0:
            self._unlocked = False

    def close(self) -> None:
        """Release everything and close the file."""
        self._depth = 0
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the flock too
            self._fd = -1


def writers_lock(
    netns: str | os.PathLike[str] | None, enabled: bool, timeout: float | None
) -> NetnsLock | None:
    """The lock a client holds while it writes, or None when locking is off.

    Args:
        netns: the client's namespace.
        enabled: whether the client locks.
        timeout: the wait for another writer.

    Returns:
        The lock.

    Raises:
        ValidationError: ``timeout`` is not None or a non-negative number.
    """
    import math

    from ipvs.errors import ValidationError

    if not isinstance(enabled, bool):
        raise ValidationError(f"lock: expected True or False, got {enabled!r}")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout < 0
    ):
        raise ValidationError(f"lock_timeout: expected None or seconds >= 0, got {timeout!r}")
    return NetnsLock(netns, timeout=timeout) if enabled else None


def _cannot(lock: NetnsLock, exc: OSError) -> IPVSError:
    return IPVSError(
        f"cannot take the IPVS writer lock {lock.path}: {exc.strerror or exc} "
        "(set IPVS_LOCK_DIR to a writable directory, or use Client(lock=False))"
    )


def take(lock: NetnsLock) -> None:
    """Acquire a writer lock, with the library's errors.

    Args:
        lock: the lock.

    Raises:
        LockTimeout: another writer held it too long.
        IPVSError: the lock file cannot be created.
    """
    try:
        lock.acquire()
    except LockTimeout:
        raise
    except OSError as exc:
        raise _cannot(lock, exc) from exc


async def take_async(lock: NetnsLock) -> None:
    """As :func:`take`, without blocking the event loop.

    Args:
        lock: the lock.

    Raises:
        LockTimeout: another writer held it too long.
        IPVSError: the lock file cannot be created.
    """
    try:
        await lock.acquire_async()
    except LockTimeout:
        raise
    except OSError as exc:
        raise _cannot(lock, exc) from exc


_LO_HINT = (
    "lo is down in this network namespace, and the kernel refuses IPv4 destinations "
    "until it is up (ip link set lo up)"
)


def with_loopback_hint(exc: IPVSError, netns: str | os.PathLike[str] | None) -> None:
    """Say so in the message when an EINVAL for a destination comes from ``lo`` being down.

    Args:
        exc: the error about to be raised (changed in place).
        netns: the client's namespace.
    """
    from ipvs._model import Destination
    from ipvs.errors import ApplyError, InvalidArgument

    error = exc.error if isinstance(exc, ApplyError) else exc
    if not isinstance(error, InvalidArgument) or error.errno != 22:
        return
    obj = error.object
    if not (isinstance(obj, tuple) and obj and isinstance(obj[-1], Destination)):
        return
    if obj[-1].address.version != 4 or not _netns.loopback_is_down(netns):
        return
    if isinstance(exc, ApplyError):
        exc.args = (f"{exc.args[0]}; {_LO_HINT}",)
    else:
        error.strerror = f"{error.strerror}; {_LO_HINT}"
        error.args = (error.errno, error.strerror)
