"""Network namespaces for tests and tools: fresh, named, entered, and always left.

Linux network namespaces are per thread. :func:`fresh` runs a ``with`` block
in a brand-new namespace (loopback up: a fresh namespace needs ``lo`` up, or
the kernel refuses IPv4 destinations with EINVAL); :func:`entered` runs it in
an existing one; the calling thread always returns to its own namespace, also
on error. :func:`create_named` and :func:`remove_named` do what ``ip netns
add`` and ``ip netns delete`` do. Errors are :class:`~ipvs.errors.NetnsError`.
"""

from ipvs._client._netns import (
    NETNS_RUN_DIR,
    create_named,
    current_path,
    entered,
    fresh,
    loopback_is_down,
    remove_named,
    resolve,
    set_link_up,
)

__all__ = [
    "NETNS_RUN_DIR",
    "create_named",
    "current_path",
    "entered",
    "fresh",
    "loopback_is_down",
    "remove_named",
    "resolve",
    "set_link_up",
]
