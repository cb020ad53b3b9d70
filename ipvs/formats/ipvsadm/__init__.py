"""ipvsadm compatibility: its save/restore rules and its listings, as text.

This module converts between :mod:`ipvs` objects and the text formats of
``ipvsadm`` 1.31. It opens no socket and talks to no kernel.

* :func:`parse` reads ``ipvsadm -S`` / ``ipvsadm -R`` rules into
  :data:`Rule` objects, applying ipvsadm's defaults and checks;
  :func:`parse_table` applies them to an empty :class:`~ipvs.Table`.
* :func:`save` writes a table exactly as ``ipvsadm -Sn`` prints the same
  kernel state, byte for byte.
* :func:`listing`, :func:`timeouts_listing` and :func:`daemons_listing` write
  what ``ipvsadm -Ln`` (with ``--stats``, ``--rate``, ``--thresholds``,
  ``--persistent-conn``, ``--exact``), ``-Ln --timeout`` and
  ``-Ln --daemon`` print.

Host names and service names are never resolved: addresses and ports must be
numeric. Every problem in the input raises :class:`~ipvs.ValidationError`
whose message starts with ``line N:``.

Behaviour of ipvsadm 1.31 reproduced here, as observed against the real
program (some of it differs from ipvsadm's manual page):

* Services and destinations are ordered by ipvsadm's comparators, which
  subtract 32-bit unsigned values into a signed ``int``: two addresses (or
  marks) that differ by 2**31 or more compare the "wrong" way round
  (``200.0.0.1`` sorts before ``10.0.0.1``). On a set where this makes the
  comparison cyclic, the result depends on the input order; ipvsadm feeds
  the kernel's dump order to glibc's merge sort. :func:`save` and
  :func:`listing` run the same merge sort over the table's iteration order
  (for services) and the entry's stored order (for destinations). For a
  table read from the kernel with :meth:`ipvs.Client.snapshot`, the service
  order is the kernel's, so the output matches ipvsadm even then.
* Fwmarks are printed as signed 32-bit numbers (``-f -1`` for 2**32-1),
  which ipvsadm (and :func:`parse`) cannot read back.
* Weights may be 0..2**31-1 (not 0..65535).
* The real-server port defaults to the service port *as known when ``-r``
  is read* (``-a -r 10.0.0.2 -m -t 10.0.0.1:80`` gets port 0), and ``-g``
  and ``-i`` destinations of address services always get the service port
  on ``-a`` and ``-e`` (not on ``-d``).
* ``-M`` is read as an IPv4 mask unless the service is already IPv6 at that
  point; an IPv6 address or ``-6`` given later resets the mask to 128. A
  bare number such as ``-M 24`` is the IPv4 address ``0.0.0.24``
  (``inet_aton``), not a prefix length.
* IPv4 addresses are read like ``inet_aton``: ``10.1`` is ``10.0.0.1``,
  ``0x0a000001`` and ``012.0.0.1`` (octal) are accepted. A bare number
  without a port is refused. IPv6 needs ``[addr]:port`` or a bare ``addr``.
* GUE tunnels take at most one checksum option (none means
  ``--tun-nocsum``); GRE allows ``--tun-nocsum`` or ``--tun-csum``.
* Scheduler names are cut to 15 characters.
* ``-Ln`` shows ``pe`` and ``mask`` only for persistent services, while
  ``-S`` saves ``--pe`` for any service.
* Destination counters other than the byte counts are shown modulo 2**32
  (ipvsadm reads the 64-bit destination counters with a 32-bit reader).
"""

from ipvs.formats.ipvsadm._connections import connections_listing
from ipvs.formats.ipvsadm._read import parse, parse_table
from ipvs.formats.ipvsadm._rules import (
    AddDestination,
    AddService,
    Clear,
    DeleteDestination,
    DeleteService,
    EditDestination,
    EditService,
    Rule,
)
from ipvs.formats.ipvsadm._write import daemons_listing, listing, save, timeouts_listing

__all__ = [
    "AddDestination",
    "AddService",
    "Clear",
    "DeleteDestination",
    "DeleteService",
    "EditDestination",
    "EditService",
    "Rule",
    "connections_listing",
    "daemons_listing",
    "listing",
    "parse",
    "parse_table",
    "save",
    "timeouts_listing",
]
