"""Tables and plans as plain documents: dicts ready for JSON and YAML, and back.

Functions, not methods: the model knows nothing of its serialisations (as
the attrs documentation advises). :func:`table_from_dict` reads what
:func:`table_to_dict` writes; :func:`table_from_json` and
:func:`table_from_yaml` read text; :func:`plan_to_dict` exports a plan.

Schema (every key but the identity ones is optional; defaults follow ipvsadm)::

    services:
      - protocol: tcp            # tcp | udp | sctp   (or fwmark: N instead)
        address: 10.0.0.1        # IPv4 or IPv6
        port: 80
        # fwmark: 7              # a firewall-mark service
        # family: inet6          # only with fwmark; inet (default) | inet6
        scheduler: rr            # default wlc
        flags: [persistent]      # persistent, onepacket; sh-fallback, sh-port (sh),
                                 # mh-fallback, mh-port (mh), flag-1..3 (others)
        timeout: 300             # persistence timeout, seconds
        netmask: 255.255.255.0   # IPv4 mask, or IPv6 prefix length
        pe: sip                  # persistence engine
        destinations:
          - address: 10.1.0.1
            port: 80
            forward: masq        # masq | local | tunnel | route (alias direct) | bypass
            weight: 1
            upper_threshold: 0
            lower_threshold: 0
            tunnel_type: ipip    # ipip | gue | gre
            tunnel_port: 0
            tunnel_flags: []     # csum, remcsum (empty: nocsum)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from ipvs._model import (
    Destination,
    Family,
    ForwardMethod,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    Table,
    TunnelFlags,
    TunnelType,
    flag_names,
)
from ipvs._plan import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Operation,
    Plan,
    UpdateDestination,
    UpdateService,
)
from ipvs.errors import ValidationError

__all__ = [
    "plan_to_dict",
    "table_from_dict",
    "table_from_json",
    "table_from_yaml",
    "table_to_dict",
    "table_to_json",
]

T = TypeVar("T")

_SERVICE_FLAG_NAMES: dict[str, ServiceFlags] = {
    "persistent": ServiceFlags.PERSISTENT,
    "onepacket": ServiceFlags.ONEPACKET,
    "one-packet": ServiceFlags.ONEPACKET,
    "sched1": ServiceFlags.SCHED1,
    "sched2": ServiceFlags.SCHED2,
    "sched3": ServiceFlags.SCHED3,
    "flag-1": ServiceFlags.SCHED1,
    "flag-2": ServiceFlags.SCHED2,
    "flag-3": ServiceFlags.SCHED3,
    "sh-fallback": ServiceFlags.SCHED1,
    "sh-port": ServiceFlags.SCHED2,
    "mh-fallback": ServiceFlags.SCHED1,
    "mh-port": ServiceFlags.SCHED2,
}
_TUNNEL_FLAG_NAMES = {
    "nocsum": TunnelFlags.NOCSUM,
    "csum": TunnelFlags.CSUM,
    "remcsum": TunnelFlags.REMCSUM,
}
_FORWARD_NAMES = {
    "masq": ForwardMethod.MASQ,
    "nat": ForwardMethod.MASQ,
    "local": ForwardMethod.LOCAL,
    "tunnel": ForwardMethod.TUNNEL,
    "tun": ForwardMethod.TUNNEL,
    "route": ForwardMethod.ROUTE,
    "direct": ForwardMethod.ROUTE,
    "dr": ForwardMethod.ROUTE,
    "bypass": ForwardMethod.BYPASS,
}
_SERVICE_KEYS = {
    "protocol", "address", "port", "fwmark", "family", "scheduler", "flags", "timeout",
    "netmask", "pe", "destinations",
}  # fmt: skip
_DEST_KEYS = {
    "address", "port", "forward", "weight", "upper_threshold", "lower_threshold",
    "tunnel_type", "tunnel_port", "tunnel_flags",
}  # fmt: skip


def _at(path: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ValidationError(f"{path}: {exc}") from None


def _names(path: str, value: object, table: Mapping[str, Any]) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list):
        raise ValidationError(f"{path}: expected a list of names, got {value!r}")
    result = 0
    for item in value:
        if not isinstance(item, str) or item.lower() not in table:
            raise ValidationError(
                f"{path}: unknown flag {item!r}; known: {', '.join(sorted(table))}"
            )
        result |= int(table[item.lower()])
    return result


def _int(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{path}: expected an integer, got {value!r}")
    return value


def _str(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{path}: expected a string, got {value!r}")
    return value


def _check_keys(path: str, doc: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(doc) - allowed
    if unknown:
        raise ValidationError(
            f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _service(path: str, doc: object) -> tuple[Service, list[Destination]]:
    if not isinstance(doc, Mapping):
        raise ValidationError(f"{path}: expected a mapping, got {doc!r}")
    _check_keys(path, doc, _SERVICE_KEYS)
    if "fwmark" in doc:
        for k in ("protocol", "address", "port"):
            if k in doc:
                raise ValidationError(f"{path}: a fwmark service takes no {k}")
        family = doc.get("family", "inet")
        key = _at(
            path,
            lambda: ServiceKey.mark(_int(f"{path}.fwmark", doc["fwmark"]), _family(family)),
        )
    else:
        for k in ("protocol", "address", "port"):
            if k not in doc:
                raise ValidationError(f"{path}: missing {k!r} (or give 'fwmark')")
        if "family" in doc:
            raise ValidationError(f"{path}: 'family' is only for fwmark services")
        key = _at(
            path,
            lambda: ServiceKey(
                protocol=_str(f"{path}.protocol", doc["protocol"]),
                address=_str(f"{path}.address", doc["address"]),
                port=_int(f"{path}.port", doc["port"]),
            ),
        )
    settings: dict[str, Any] = {}
    if "scheduler" in doc:
        settings["scheduler"] = _str(f"{path}.scheduler", doc["scheduler"])
    if "flags" in doc:
        settings["flags"] = _names(f"{path}.flags", doc["flags"], _SERVICE_FLAG_NAMES)
    if "timeout" in doc:
        settings["timeout"] = _int(f"{path}.timeout", doc["timeout"])
    if "netmask" in doc:
        settings["netmask"] = doc["netmask"]
    if "pe" in doc:
        settings["pe_name"] = None if doc["pe"] is None else _str(f"{path}.pe", doc["pe"])
    service = _at(path, lambda: Service(key=key, **settings))
    raw = doc.get("destinations") or []
    if not isinstance(raw, list):
        raise ValidationError(f"{path}.destinations: expected a list")
    dests = [_destination(f"{path}.destinations[{i}]", d) for i, d in enumerate(raw)]
    return service, dests


def _family(value: object) -> Family:
    if isinstance(value, str) and value.lower() in ("inet", "ipv4", "4"):
        return Family.INET
    if isinstance(value, str) and value.lower() in ("inet6", "ipv6", "6"):
        return Family.INET6
    raise ValidationError(f"family must be inet or inet6, got {value!r}")


def _destination(path: str, doc: object) -> Destination:
    if not isinstance(doc, Mapping):
        raise ValidationError(f"{path}: expected a mapping, got {doc!r}")
    _check_keys(path, doc, _DEST_KEYS)
    for k in ("address", "port"):
        if k not in doc:
            raise ValidationError(f"{path}: missing {k!r}")
    args: dict[str, Any] = {
        "address": _str(f"{path}.address", doc["address"]),
        "port": _int(f"{path}.port", doc["port"]),
    }
    if "forward" in doc:
        name = _str(f"{path}.forward", doc["forward"]).lower()
        if name not in _FORWARD_NAMES:
            raise ValidationError(
                f"{path}.forward: unknown method {name!r}; known: {', '.join(_FORWARD_NAMES)}"
            )
        args["forward"] = _FORWARD_NAMES[name]
    for k in ("weight", "upper_threshold", "lower_threshold", "tunnel_port"):
        if k in doc:
            args[k] = _int(f"{path}.{k}", doc[k])
    if "tunnel_type" in doc:
        name = _str(f"{path}.tunnel_type", doc["tunnel_type"]).upper()
        if name not in TunnelType.__members__:
            raise ValidationError(f"{path}.tunnel_type: unknown tunnel type {name.lower()!r}")
        args["tunnel_type"] = TunnelType[name]
    if "tunnel_flags" in doc:
        args["tunnel_flags"] = _names(
            f"{path}.tunnel_flags", doc["tunnel_flags"], _TUNNEL_FLAG_NAMES
        )
    return _at(path, lambda: Destination(**args))


def table_from_dict(document: Mapping[str, Any]) -> Table:
    """Build a :class:`~ipvs.Table` from a plain document.

    Args:
        document: a mapping with a ``services`` list (see the module docs).

    Returns:
        The table.

    Raises:
        ValidationError: the document does not follow the schema.
    """
    if not isinstance(document, Mapping):
        raise ValidationError("the document must be a mapping with a 'services' list")
    _check_keys("document", document, {"services"})
    services = document.get("services") or []
    if not isinstance(services, list):
        raise ValidationError("services: expected a list")
    pairs = [_service(f"services[{i}]", s) for i, s in enumerate(services)]
    return _at("services", lambda: Table(pairs))


def table_to_dict(table: Table, *, stats: bool = False) -> dict[str, Any]:
    """Export a table as a plain document; :func:`table_from_dict` reads it back.

    Args:
        table: the table.
        stats: also export live data (statistics and connection counts), as
            read from the kernel; :func:`table_from_dict` refuses those keys.

    Returns:
        A JSON-ready dict. Settings equal to their defaults are left out.

    Example:
        >>> from ipvs import Destination, Service, Table
        >>> from ipvs.formats.document import table_to_dict
        >>> web = Service.tcp("10.0.0.1", 80, scheduler="rr")
        >>> table_to_dict(Table([(web, [Destination(address="10.1.0.1", port=80)])]))
        {'services': [{'protocol': 'tcp', 'address': '10.0.0.1', 'port': 80, 'scheduler': 'rr', \
'destinations': [{'address': '10.1.0.1', 'port': 80, 'forward': 'route', 'weight': 1}]}]}
    """
    out = []
    for entry in table.entries():
        out.append(_service_doc(entry.service, entry.sorted_destinations(), stats=stats))
    return {"services": out}


def _key_doc(key: ServiceKey) -> dict[str, Any]:
    if key.fwmark is not None:
        doc: dict[str, Any] = {"fwmark": key.fwmark}
        if key.family == Family.INET6:
            doc["family"] = "inet6"
        return doc
    assert key.protocol is not None
    return {"protocol": key.protocol.name.lower(), "address": str(key.address), "port": key.port}


def _stats_doc(stats: Stats | None) -> dict[str, int]:
    return attrs.asdict(stats if stats is not None else Stats())


def _service_doc(svc: Service, destinations: Any = None, *, stats: bool = False) -> dict[str, Any]:
    doc = _key_doc(svc.key)
    doc.update(_service_settings(svc))
    if destinations is not None:
        doc["destinations"] = [_dest_doc(d, stats=stats) for d in destinations]
    if stats:
        doc["stats"] = _stats_doc(svc.stats)
    return doc


def _service_settings(svc: Service) -> dict[str, Any]:
    doc: dict[str, Any] = {"scheduler": svc.scheduler}
    if svc.flags:
        doc["flags"] = flag_names(svc.flags, svc.scheduler)
    if svc.timeout:
        doc["timeout"] = svc.timeout
    default_mask = Service(key=svc.key).netmask
    if svc.netmask != default_mask:
        doc["netmask"] = str(svc.netmask) if svc.family == Family.INET else svc.netmask
    if svc.pe_name:
        doc["pe"] = svc.pe_name
    return doc


def _dest_doc(d: Destination, *, stats: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "address": str(d.address),
        "port": d.port,
        "forward": d.forward.name.lower(),
        "weight": d.weight,
    }
    if d.upper_threshold:
        doc["upper_threshold"] = d.upper_threshold
    if d.lower_threshold:
        doc["lower_threshold"] = d.lower_threshold
    if d.tunnel_type != TunnelType.IPIP or d.tunnel_port or d.tunnel_flags:
        doc["tunnel_type"] = d.tunnel_type.name.lower()
        if d.tunnel_port:
            doc["tunnel_port"] = d.tunnel_port
        flags = [n for n, f in _TUNNEL_FLAG_NAMES.items() if f and d.tunnel_flags & f]
        if flags:
            doc["tunnel_flags"] = flags
    if stats:
        doc["active_connections"] = d.active_connections
        doc["inactive_connections"] = d.inactive_connections
        doc["persistent_connections"] = d.persistent_connections
        doc["stats"] = _stats_doc(d.stats)
    return doc


def table_to_json(table: Table, *, indent: int | None = 2, stats: bool = False) -> str:
    """Export a table as JSON text (the schema of :func:`table_from_dict`).

    Args:
        table: the table.
        indent: JSON indentation.
        stats: also export live data (see :func:`table_to_dict`).

    Returns:
        The text.
    """
    return json.dumps(table_to_dict(table, stats=stats), indent=indent)


def table_from_json(text: str) -> Table:
    """Build a table from JSON text (the schema of :func:`table_from_dict`).

    Args:
        text: the JSON document.

    Returns:
        The table.

    Raises:
        ValidationError: invalid JSON or schema.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationError("the document must be a JSON object with a 'services' list")
    return table_from_dict(document)


def table_from_yaml(text: str) -> Table:
    """Build a table from YAML text (needs PyYAML: ``pip install 'ipvs[yaml]'``).

    Args:
        text: the YAML document.

    Returns:
        The table.

    Raises:
        ValidationError: invalid YAML or schema.
        ImportError: PyYAML is not installed.
    """
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationError("the document must be a mapping with a 'services' list")
    return table_from_dict(document)


_SERVICE_SETTINGS = ("scheduler", "flags", "timeout", "netmask", "pe_name")
_DEST_SETTINGS = (
    "forward",
    "weight",
    "upper_threshold",
    "lower_threshold",
    "tunnel_type",
    "tunnel_port",
    "tunnel_flags",
)


def _value(field: str, obj: Service | Destination) -> Any:
    """One setting as the documents write it (enums by name, numbers as numbers)."""
    if isinstance(obj, Service):
        if field == "flags":
            return flag_names(obj.flags, obj.scheduler)
        if field == "netmask":
            return str(obj.netmask) if obj.family == Family.INET else obj.netmask
        return getattr(obj, field)
    value = getattr(obj, field)
    if field == "tunnel_flags":
        return [n for n, f in _TUNNEL_FLAG_NAMES.items() if f and value & f]
    if isinstance(value, (ForwardMethod, TunnelType)):
        return value.name.lower()
    return value


def _changes_doc(
    old: Service | Destination, new: Service | Destination, fields: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    return {
        ("pe" if f == "pe_name" else f): {"old": _value(f, old), "new": _value(f, new)}
        for f in fields
        if getattr(old, f) != getattr(new, f)
    }


def _operation_doc(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {"op": op.operation}
    if isinstance(op, AddService):
        doc["service"] = _service_doc(op.service)
    elif isinstance(op, UpdateService):
        doc["service"] = _service_doc(op.new)
        doc["changes"] = _changes_doc(op.old, op.new, _SERVICE_SETTINGS)
    elif isinstance(op, DeleteService):
        doc["service"] = _service_doc(op.service)
        doc["destinations"] = [_dest_doc(d) for d in op.destinations]
    elif isinstance(op, (AddDestination, DeleteDestination)):
        doc["service"] = _key_doc(op.service)
        doc["destination"] = _dest_doc(op.destination)
    else:
        assert isinstance(op, UpdateDestination)
        doc["service"] = _key_doc(op.service)
        doc["destination"] = _dest_doc(op.new)
        doc["changes"] = _changes_doc(op.old, op.new, _DEST_SETTINGS)
    return doc


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Export a plan as a JSON-ready dict: every operation complete.

    Each operation has ``op`` (``add_service``, ``update_destination``, ...),
    the ``service`` (the whole service for service operations, its key for
    destination operations), the ``destination`` where one is concerned, and
    for updates the ``changes`` as ``{"field": {"old": ..., "new": ...}}``.
    Values are written as in table documents: numbers as numbers, enums and
    flags by name. The schema is in :doc:`/schema`.

    Args:
        plan: the plan.

    Returns:
        A dict with the keys ``operations`` (a list), ``drains`` (a list) and
        ``summary`` (the counts ``add``, ``change`` and ``delete``).
    """
    add, change, delete = plan.counts()
    return {
        "operations": [_operation_doc(op) for op in plan.operations],
        "drains": [
            {"service": _key_doc(d.service), "destination": _dest_doc(d.destination)}
            for d in plan.drains
        ],
        "summary": {"add": add, "change": change, "delete": delete},
    }
