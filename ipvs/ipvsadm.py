"""ipvsadm's text formats: an alias of :mod:`ipvs.formats.ipvsadm`, kept for old imports."""

from ipvs.formats.ipvsadm import (
    AddDestination,
    AddService,
    Clear,
    DeleteDestination,
    DeleteService,
    EditDestination,
    EditService,
    Rule,
    connections_listing,
    daemons_listing,
    listing,
    parse,
    parse_table,
    save,
    timeouts_listing,
)

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
