"""The I/O of address binding: read and change a dummy interface with pyroute2.

The flows (``_flows``) decide; they yield a :class:`ReadLink` or a
:class:`ChangeLinks` step, and the client runs it here: inside the client's
network namespace, with pyroute2's ``IPRoute`` (an optional dependency,
imported on first use). The asyncio client runs these few blocking calls in
a worker thread.
"""

from __future__ import annotations

import _socket  # the C module: socket.py costs start-up time
import errno as E
import ipaddress
import os
import threading
from collections.abc import Sequence
from typing import Any

from ipvs._client import _netns
from ipvs._plan import (
    AddAddress,
    AddressChange,
    Binding,
    CreateLink,
    DeleteAddress,
    DeleteLink,
    LinkState,
    SetLinkDown,
    SetLinkUp,
)
from ipvs.errors import IPVSError, KernelError, MissingDependency, ValidationError, error_for

__all__ = ["ChangeLinks", "Changed", "Links", "ReadLink", "binding", "require"]

_IFF_UP = 0x1
_SCOPE_UNIVERSE = 0
_INSTALL = "pip install 'ipvs[run]'"


def require() -> None:
    """Check that pyroute2 can be imported, before anything is sent.

    Raises:
        MissingDependency: it cannot.
    """
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        raise MissingDependency(
            f"binding service addresses needs pyroute2, which is not installed ({_INSTALL})"
        ) from None


def binding(value: Binding | str | None) -> Binding | None:
    """Normalise ``apply(bind=...)``: a :class:`~ipvs.Binding`, an interface name, or None.

    Raises:
        ValidationError: anything else, or a bad interface name.
    """
    if value is None or isinstance(value, Binding):
        return value
    if isinstance(value, str):
        return Binding(interface=value)
    raise ValidationError(f"bind: expected a Binding or an interface name, got {value!r}")


class ReadLink:
    """A flow step that reads an interface; its result is a :class:`~ipvs.LinkState`."""

    __slots__ = ("interface",)

    def __init__(self, interface: str) -> None:
        self.interface = interface


class ChangeLinks:
    """A flow step that makes address steps in order, up to the first failure.

    Its result is a :class:`Changed`; failures are reported there, not raised.
    """

    __slots__ = ("changes",)

    def __init__(self, changes: Sequence[AddressChange]) -> None:
        self.changes = list(changes)


class Changed:
    """What a :class:`ChangeLinks` step did.

    Attributes:
        done: the steps that changed something, in order (a step that found
            its work done already, such as an address someone else added, is
            not listed: undoing must not remove what it did not make).
        failed: the step that failed, or None.
        error: its error, or None.
    """

    __slots__ = ("done", "error", "failed")

    def __init__(
        self,
        done: list[AddressChange],
        failed: AddressChange | None = None,
        error: KernelError | None = None,
    ) -> None:
        self.done = done
        self.failed = failed
        self.error = error


class Links:
    """Runs link steps inside one network namespace.

    Args:
        netns: the client's namespace (as for :class:`ipvs.Client`); None is
            the namespace of the thread that makes this object, which is
            held open so that worker threads can enter it too.
    """

    def __init__(self, netns: str | os.PathLike[str] | None) -> None:
        self._netns = _netns.Pinned(netns)

    def close(self) -> None:
        """Let the namespace go (idempotent)."""
        self._netns.close()

    def run(self, step: ReadLink | ChangeLinks) -> LinkState | Changed:
        """Run a step, blocking; in a thread of its own if an event loop runs in this one.

        pyroute2's blocking ``IPRoute`` drives an event loop of its own, which
        cannot run inside a running one.

        Raises:
            IPVSError: the namespace cannot be entered, pyroute2 is missing,
                or reading the interface failed.
        """
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.run_blocking(step)
        box: list[Any] = []

        def work() -> None:
            try:
                box.append(self.run_blocking(step))
            except BaseException as exc:
                box.append(exc)

        thread = threading.Thread(target=work, name="ipvs-links")
        thread.start()
        thread.join()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]  # type: ignore[no-any-return]

    def run_blocking(self, step: ReadLink | ChangeLinks) -> LinkState | Changed:
        """Run a step in the calling thread (which enters the namespace for it)."""
        if self._netns.closed:
            raise IPVSError("this client is closed")
        require()
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        with self._netns.entered(), IPRoute() as ipr:
            if isinstance(step, ReadLink):
                try:
                    return _read(ipr, step.interface)
                except NetlinkError as exc:
                    raise error_for(exc.code, "read_link", step.interface) from None
            return _change(ipr, step.changes, NetlinkError)


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _read(ipr: Any, name: str) -> LinkState:
    index = _index(ipr, name)
    if index is None:
        return LinkState(interface=name)
    (link,) = ipr.get_links(index)
    info = link.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    addresses = []
    for msg in ipr.get_addr(index=index):
        if msg["index"] != index or msg["scope"] != _SCOPE_UNIVERSE:
            continue
        full = 32 if msg["family"] == _socket.AF_INET else 128
        if msg["prefixlen"] == full:
            addresses.append(ipaddress.ip_address(msg.get_attr("IFA_ADDRESS")))
    return LinkState(
        interface=name,
        exists=True,
        kind=kind,
        up=bool(link["flags"] & _IFF_UP),
        addresses=frozenset(addresses),
    )


def _change(ipr: Any, changes: Sequence[AddressChange], netlink_error: type[Exception]) -> Changed:
    done: list[AddressChange] = []
    for change in changes:
        try:
            if _one(ipr, change, netlink_error):
                done.append(change)
        except netlink_error as exc:
            return Changed(done, change, _error(int(getattr(exc, "code", 0) or E.EIO), change))
        except OSError as exc:
            return Changed(done, change, _error(exc.errno or E.EIO, change))
    return Changed(done)


def _error(code: int, change: AddressChange) -> KernelError:
    error = error_for(code, change.operation)
    error.object = change  # not in the text: the step's description comes first already
    return error


def _existing(ipr: Any, name: str) -> int:
    index = _index(ipr, name)
    if index is None:
        raise OSError(E.ENODEV, f"no interface {name}")
    return index


def _one(ipr: Any, change: AddressChange, netlink_error: type[Exception]) -> bool:
    """Make one step; False when there was nothing to do."""
    name = change.interface
    if isinstance(change, CreateLink):
        made = _index(ipr, name) is None
        if made:
            ipr.link("add", ifname=name, kind="dummy")
        ipr.link("set", index=_existing(ipr, name), state="up")
        return made
    if isinstance(change, DeleteLink):
        index = _index(ipr, name)
        if index is None:
            return False
        ipr.link("del", index=index)
        return True
    if isinstance(change, (SetLinkUp, SetLinkDown)):
        ipr.link("set", index=_existing(ipr, name), state="up" if change.before else "down")
        return True
    index = _existing(ipr, name)
    address = str(change.address)
    prefixlen = change.address.max_prefixlen
    if isinstance(change, AddAddress):
        try:
            ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
        except netlink_error as exc:
            if getattr(exc, "code", None) == E.EEXIST:
                return False
            raise
        return True
    assert isinstance(change, DeleteAddress)
    try:
        ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
    except netlink_error as exc:
        if getattr(exc, "code", None) in (E.EADDRNOTAVAIL, E.ENOENT):
            return False
        raise
    return True
