"""Network namespace plumbing: enter a namespace and always come back.

Linux network namespaces are per thread. :func:`entered` switches the
calling thread into a namespace for the duration of a ``with`` block and
returns it to its original namespace afterwards, also when the block raises.
:func:`fresh` makes a brand-new, unnamed namespace for the block, with the
loopback interface up.
"""

from __future__ import annotations

import _socket  # the C module: socket.py costs start-up time
import fcntl
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ipvs.errors import NetnsError, ValidationError

__all__ = [
    "NETNS_RUN_DIR",
    "Pinned",
    "create_named",
    "current_path",
    "entered",
    "fresh",
    "loopback_is_down",
    "remove_named",
    "resolve",
    "set_link_up",
]

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/var/run/netns"
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1

_libc: Any = None


def _c() -> Any:
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        import ctypes

        err = ctypes.get_errno()
        raise NetnsError(err, f"{what}: {os.strerror(err)}")


def resolve(netns: str | os.PathLike[str]) -> str:
    """Turn a namespace name or path into the path of its namespace file.

    Args:
        netns: a name under /var/run/netns (as made by ``ip netns add``) or a
            path such as ``/proc/1234/ns/net``.

    Returns:
        The path to open.

    Raises:
        ValidationError: the name is empty or holds a path separator but is
            not a path to an existing file.
    """
    if not isinstance(netns, (str, os.PathLike)):
        raise ValidationError(
            f"netns: expected a namespace name or path, got {type(netns).__name__} {netns!r}"
        )
    text = os.fspath(netns)
    if not isinstance(text, str):
        raise ValidationError(f"netns: expected a text path, got {text!r}")
    if "\0" in text:
        raise ValidationError(f"netns: a name or path has no NUL character, got {text!r}")
    if not text:
        raise ValidationError("netns: empty name")
    if "/" in text:
        return text
    if text in (".", ".."):
        raise ValidationError(f"netns: invalid name {text!r}")
    return os.path.join(NETNS_RUN_DIR, text)


def _setns(fd: int, what: str) -> None:
    _check(_c().setns(fd, CLONE_NEWNET), what)


@contextmanager
def entered(netns: str | os.PathLike[str]) -> Iterator[None]:
    """Run the ``with`` block with the calling thread in another namespace.

    Args:
        netns: a name under /var/run/netns or a path to a namespace file.

    Raises:
        NetnsError: the namespace cannot be opened or entered.
    """
    path = resolve(netns)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetnsError(
            exc.errno or 0, f"cannot open network namespace {path}: {exc.strerror}"
        ) from exc
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target, f"cannot enter network namespace {path}")
            try:
                yield
            finally:
                _setns(home, "cannot return to the original network namespace")
        finally:
            os.close(home)
    finally:
        os.close(target)


def loopback_is_down(netns: str | os.PathLike[str] | None = None) -> bool:
    """Tell whether ``lo`` is down in a namespace (a fresh one starts with it down).

    Args:
        netns: the namespace, or None for the calling thread's.

    Returns:
        True when ``lo`` exists and is down; False when it is up or cannot be read.
    """
    request = struct.pack("16sH14x", b"lo", 0)
    try:
        with entered(netns) if netns is not None else _nothing():
            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        try:
            reply = fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request)
        finally:
            sock.close()
        flags = struct.unpack_from("16sH", reply)[1]
    except (OSError, NetnsError, ValidationError):
        return False
    return not flags & _IFF_UP


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def set_link_up(name: str = "lo") -> None:
    """Bring a network interface of the current namespace up (by ioctl).

    Args:
        name: the interface name.

    Raises:
        OSError: the interface does not exist or the caller lacks the right.
    """
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH14x", name.encode(), 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(
            sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", name.encode(), flags | _IFF_UP)
        )
    finally:
        sock.close()


@contextmanager
def fresh(*, loopback_up: bool = True) -> Iterator[str]:
    """Run the ``with`` block in a new, empty network namespace.

    The namespace disappears when the block ends (unless something else, such
    as a process started inside it, still holds it).

    Args:
        loopback_up: bring ``lo`` up in the new namespace.

    Yields:
        A path (``/proc/<pid>/task/<tid>/ns/net``) naming the new namespace
        while the block runs, usable as ``Client(netns=...)`` from other threads.

    Raises:
        NetnsError: the namespace cannot be created (for example without
            CAP_SYS_ADMIN).
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_c().unshare(CLONE_NEWNET), "cannot create a network namespace")
        try:
            if loopback_up:
                set_link_up("lo")
            yield current_path()
        finally:
            _setns(home, "cannot return to the original network namespace")
    finally:
        os.close(home)


def current_path() -> str:
    """Return a path naming the calling thread's network namespace.

    Returns:
        ``/proc/<pid>/task/<tid>/ns/net``, usable as ``Client(netns=...)``
        from other threads while this thread stays in the namespace.
    """
    import threading

    return f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net"


_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_SHARED = 0x100000
_MNT_DETACH = 2


def _mount(source: str, target: str, flags: int) -> int:
    result: int = _c().mount(source.encode(), target.encode(), b"none", flags, None)
    return result


def _errno_text() -> tuple[int, str]:
    import ctypes

    err = ctypes.get_errno()
    return err, os.strerror(err)


def create_named(name: str) -> str:
    """Create a named namespace as ``ip netns add`` does, without forking.

    A fresh namespace is made in the calling thread only (which then returns
    to its own) and bind-mounted on /run/netns/NAME, which keeps it alive.
    Its loopback interface is up.

    Args:
        name: the name.

    Returns:
        The path of the namespace file.

    Raises:
        NetnsError: it exists already, or it cannot be made (no CAP_SYS_ADMIN).
    """
    run_dir = NETNS_RUN_DIR
    os.makedirs(run_dir, exist_ok=True)
    # As iproute2 does: make the directory a shared mount, so that the
    # namespace mounts show up in every mount namespace.
    if _mount("", run_dir, _MS_SHARED | _MS_REC) != 0:
        if _mount(run_dir, run_dir, _MS_BIND | _MS_REC) != 0:
            err, text = _errno_text()
            raise NetnsError(err, f"cannot bind-mount {run_dir}: {text}")
        if _mount("", run_dir, _MS_SHARED | _MS_REC) != 0:
            err, text = _errno_text()
            raise NetnsError(err, f"cannot make {run_dir} a shared mount: {text}")
    path = resolve(name)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    except FileExistsError:
        raise NetnsError(17, f"network namespace {name!r} exists already") from None
    try:
        with fresh(loopback_up=True) as fresh_path:
            if _mount(fresh_path, path, _MS_BIND) != 0:
                err, text = _errno_text()
                raise NetnsError(err, f"cannot bind-mount the namespace: {text}")
    except BaseException:
        os.unlink(path)
        raise
    return path


def remove_named(name: str) -> None:
    """Remove a named namespace as ``ip netns delete`` does.

    The namespace itself lives on while a process or socket still uses it.

    Args:
        name: the name (or path under /run/netns).

    Raises:
        NetnsError: it cannot be unmounted or removed.
    """
    path = resolve(name)
    if _c().umount2(path.encode(), _MNT_DETACH) != 0:
        err, text = _errno_text()
        if err != 22:  # EINVAL: not a mount point (already detached)
            raise NetnsError(err, f"cannot unmount {path}: {text}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise NetnsError(exc.errno or 0, f"cannot remove {path}: {exc.strerror}") from exc


class Pinned:
    """A network namespace that any thread can enter later.

    Args:
        netns: a name or path; None pins the calling thread's namespace (a
            file descriptor of it is held open until :meth:`close`).
    """

    def __init__(self, netns: str | os.PathLike[str] | None) -> None:
        self._fd = -1
        if netns is None:
            self._fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            self.path = f"/proc/self/fd/{self._fd}"
        else:
            self.path = os.fspath(netns)
        self._own = netns is None

    @property
    def closed(self) -> bool:
        """True once a pinned namespace of the caller was let go."""
        return self._own and self._fd < 0

    def entered(self) -> Any:
        """A context manager that runs its block inside the namespace.

        Raises:
            NetnsError: it was closed, or cannot be entered.
        """
        if self.closed:
            raise NetnsError(0, "the network namespace was let go")
        return entered(self.path)

    def close(self) -> None:
        """Let the namespace go (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
