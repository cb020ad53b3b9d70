"""Unchecked constructors for the decoders and parsers (trusted, pre-checked data).

Building a validated object costs microseconds; a snapshot of 100,000
destinations decoded from the kernel's own replies does not need the checks.
These functions fill the slots directly. Callers guarantee the types and
ranges; the objects may break the rules the validated constructors add for
desired state (a TCP service with ``ONEPACKET``, say), because the kernel may
hold such state and a snapshot must show it as it is.
"""

from __future__ import annotations

from ipvs._model._objects import unchecked_destination, unchecked_stats, unchecked_timeouts
from ipvs._model._service import unchecked_service
from ipvs._model._table import trusted_entry

__all__ = [
    "trusted_entry",
    "unchecked_destination",
    "unchecked_service",
    "unchecked_stats",
    "unchecked_timeouts",
]
