"""Namespaces, links, addresses, sysctls and packet filters for the topology.

Everything here works on one network namespace at a time, entered by the
calling thread for a moment (:func:`ipvs.testing.netns.entered`); pyroute2 is
imported only when a link is made.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import subprocess

from ipvs._client import _netns
from ipvs.errors import NetnsError, TopologyError

__all__ = [
    "IFNAME_MAX",
    "add_dummy_address",
    "add_veth",
    "create_netns",
    "delete_link",
    "iptables",
    "remove_netns",
    "sysctl",
]

#: The longest interface name the kernel takes.
IFNAME_MAX = 15


def sysctl(key: str, value: str | int | None = None, *, netns: str | None = None) -> str:
    """Read, and optionally write, a sysctl in a network namespace.

    Entries under ``net.`` belong to the network namespace of the thread that
    opens them, so they are opened inside ``netns``; other keys are global and
    refused when ``netns`` is given.

    Args:
        key: a dotted (``net.ipv4.ip_forward``) or slashed key.
        value: the value to write, or None to only read.
        netns: a namespace name or path (None: the calling thread's namespace).

    Returns:
        The value read back after writing (stripped).

    Raises:
        TopologyError: ``key`` is malformed, or not per namespace while a
            namespace is given.
        OSError: the entry cannot be read or written.
    """
    rel = key.replace(".", "/") if "/" not in key else key.strip("/")
    if not rel or ".." in rel.split("/"):
        raise TopologyError(f"sysctl: bad key {key!r}")
    if netns is not None and not rel.startswith("net/"):
        raise TopologyError(f"sysctl: {key!r} is not per network namespace")
    path = "/proc/sys/" + rel
    ctx = _netns.entered(netns) if netns is not None else contextlib.nullcontext()
    with ctx:
        if value is not None:
            with open(path, "w", encoding="ascii") as fh:
                fh.write(f"{value}\n")
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()


def create_netns(name: str) -> None:
    """Create a named namespace (with ``lo`` up).

    Raises:
        TopologyError: it cannot be made (it exists, or no permission).
    """
    try:
        _netns.create_named(name)
    except NetnsError as exc:
        raise TopologyError(str(exc.strerror or exc)) from None


def remove_netns(name: str) -> None:
    """Remove a named namespace."""
    _netns.remove_named(name)


def add_veth(
    director: str,
    link: str,
    nsname: str,
    iface: ipaddress.IPv4Interface,
    gateway: ipaddress.IPv4Address,
) -> None:
    """Join a backend namespace to the director with a veth pair.

    The director's end is ``link`` with ``gateway``; the backend's end is
    ``eth0`` with ``iface``, and the backend's default route is the gateway.

    Args:
        director: the director namespace's path.
        link: the name of the director's end.
        nsname: the backend namespace's name.
        iface: the backend's address and network.
        gateway: the director's address on the link.
    """
    from pyroute2 import IPRoute

    peer = f"{link}p"[-IFNAME_MAX:]
    with _netns.entered(director), IPRoute() as ipr:
        ipr.link("add", ifname=link, kind="veth", peer=peer)
        (index,) = ipr.link_lookup(ifname=link)
        (peer_index,) = ipr.link_lookup(ifname=peer)
        fd = os.open(_netns.resolve(nsname), os.O_RDONLY | os.O_CLOEXEC)
        try:
            ipr.link("set", index=peer_index, net_ns_fd=fd)
        finally:
            os.close(fd)
        ipr.addr("add", index=index, address=str(gateway), prefixlen=iface.network.prefixlen)
        ipr.link("set", index=index, state="up")
    with _netns.entered(nsname), IPRoute() as ipr:
        (eth,) = ipr.link_lookup(ifname=peer)
        ipr.link("set", index=eth, ifname="eth0")
        ipr.addr("add", index=eth, address=str(iface.ip), prefixlen=iface.network.prefixlen)
        ipr.link("set", index=eth, state="up")
        ipr.route("add", dst="0.0.0.0/0", gateway=str(gateway))


def delete_link(director: str, ifname: str) -> None:
    """Delete a link of the director namespace, if it is there."""
    from pyroute2 import IPRoute

    with _netns.entered(director), IPRoute() as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if found:
            ipr.link("del", index=found[0])


def add_dummy_address(director: str, dummy: str, address: str, prefixlen: int) -> bool:
    """Put an address on a dummy link of the director, making the link if needed.

    Returns:
        True when the dummy link was made by this call.
    """
    from pyroute2 import IPRoute

    made = False
    with _netns.entered(director), IPRoute() as ipr:
        found = ipr.link_lookup(ifname=dummy)
        if not found:
            ipr.link("add", ifname=dummy, kind="dummy")
            made = True
            found = ipr.link_lookup(ifname=dummy)
            ipr.link("set", index=found[0], state="up")
        ipr.addr("add", index=found[0], address=address, prefixlen=prefixlen)
    return made


def iptables(netns: str, *args: str) -> None:
    """Run ``iptables`` (the legacy one where both exist) inside a namespace.

    Args:
        netns: the namespace's name or path.
        *args: the arguments, e.g. ``"-I", "INPUT", "-i", "eth0", "-j", "DROP"``.

    Raises:
        TopologyError: no iptables command, or it failed.
    """
    command = shutil.which("iptables-legacy") or shutil.which("iptables")
    if command is None:
        raise TopologyError("dropping packets needs iptables (Debian: iptables)")
    with _netns.entered(netns):  # the child inherits the thread's namespace
        proc = subprocess.run([command, "-w", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise TopologyError(f"iptables {' '.join(args)}: {proc.stderr.strip()[-500:]}")
