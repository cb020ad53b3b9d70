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
            tunnel_port: 0       # GUE's UDP port
            tunnel_flags: []     # csum, remcsum (empty: nocsum)

Reading is strict, because a desired state that is read wrongly deletes
services: ``services`` must be present and a list (an empty table is only
``services: []``), ``destinations`` a list, every value of its type (an
integer is never a string, a boolean never an integer), and unknown keys,
repeated keys and services or destinations listed twice are refused. Text is
bounded too: nesting deeper than 32 levels and integers longer than 64
digits are refused, and YAML aliases may not blow a small text up into a
huge table. Every error is a :class:`~ipvs.errors.ValidationError` of one
line whose message starts with the path of the value
(``services[3].destinations[0].port: expected an integer, got '80'``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from ipvs._model import (
    Destination,
    DestinationKey,
    Family,
    ForwardMethod,
    Service,
    ServiceFlags,
    ServiceKey,
    Stats,
    SyncDaemon,
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
from ipvs.formats import decode_text

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "daemon_to_dict",
    "plan_to_dict",
    "table_from_dict",
    "table_from_json",
    "table_from_yaml",
    "table_to_dict",
    "table_to_json",
]

T = TypeVar("T")

#: The deepest nesting of a JSON or YAML document (a table document needs 6 levels).
MAX_DEPTH = 32
#: The longest integer literal in a JSON or YAML document (a u64 has 20 digits).
MAX_DIGITS = 64

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
_FAMILY_NAMES = {
    "inet": Family.INET,
    "ipv4": Family.INET,
    "4": Family.INET,
    "inet6": Family.INET6,
    "ipv6": Family.INET6,
    "6": Family.INET6,
}
_SERVICE_KEYS = frozenset({
    "protocol", "address", "port", "fwmark", "family", "scheduler", "flags", "timeout",
    "netmask", "pe", "destinations",
})  # fmt: skip
_DEST_KEYS = frozenset({
    "address", "port", "forward", "weight", "upper_threshold", "lower_threshold",
    "tunnel_type", "tunnel_port", "tunnel_flags",
})  # fmt: skip
# What table_to_dict(stats=True) adds: live data, never part of a desired state.
_LIVE_KEYS = frozenset(
    {"stats", "active_connections", "inactive_connections", "persistent_connections"}
)

# -- reading: values as parsed ---------------------------------------------------------


class _Mapping(dict[Any, Any]):
    """A JSON object or YAML mapping as parsed; remembers its first repeated key.

    The parsers build mappings bottom-up, before the path of a mapping is
    known, so a repeated key is recorded here and reported by the reader,
    which knows the path.
    """

    #: ``(key, line or None)`` of the first key given twice, or None.
    duplicate: tuple[Any, int | None] | None = None


class _LongInt:
    """An integer literal longer than :data:`MAX_DIGITS`: never converted, refused where used.

    Converting it could be slow (quadratic) or fail (Python's limit on the
    digits of ``int(str)``), and no field takes such a number.
    """

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


def _json_object(pairs: list[tuple[str, Any]]) -> _Mapping:
    mapping = _Mapping(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                mapping.duplicate = (key, None)
                break
            seen.add(key)
    return mapping


def _json_int(text: str) -> int | _LongInt:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _LongInt(len(text.lstrip("-")))
    return int(text)


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _json_too_deep(text: str) -> str:
    """Describe where JSON text that failed to parse first nests too deeply."""
    frames: list[list[Any]] = []  # per open container: [bracket, current key or index]
    last_string: Any = None
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("{", "["):
            if len(frames) >= MAX_DEPTH:
                return (
                    f"{_path_of(f[1] for f in frames)}: nested deeper than {MAX_DEPTH} levels "
                    f"(at character {match.start()})"
                )
            frames.append([token, 0 if token == "[" else "?"])
        elif token in ("}", "]"):
            if frames:
                frames.pop()
        elif token == ",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
        elif token == ":":
            if frames and frames[-1][0] == "{":
                frames[-1][1] = last_string
        else:
            try:
                last_string = json.loads(token)
            except ValueError:
                last_string = token
    return f"document: nested too deeply (more than {MAX_DEPTH} levels)"


def _path_of(segments: Iterable[Any]) -> str:
    path = "".join(f"[{s}]" if isinstance(s, int) else f".{_key_text(s)}" for s in segments)
    return path.lstrip(".") or "document"


def _key_text(key: object) -> str:
    text = key if isinstance(key, str) else repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _load_json(text: str) -> Any:
    try:
        try:
            return json.loads(text, object_pairs_hook=_json_object)
        except json.JSONDecodeError:
            raise
        except ValueError:
            # An integer too long for int(); read again, keeping such integers
            # as _LongInt, for an error that names the path (rare: slower).
            return json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ValidationError(_json_too_deep(text)) from None


@functools.lru_cache(maxsize=1)
def _yaml_loader() -> Any:
    """The YAML loader class: safe, with bounded depth, repeated keys and long integers kept."""
    import yaml
    from yaml.constructor import ConstructorError
    from yaml.nodes import MappingNode, ScalarNode

    merge_tag = "tag:yaml.org,2002:merge"

    class Loader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.segments: list[Any] = []  # the path of the node being composed
            self.nodes = 0  # nodes composed (aliases count once, where anchored)

        def compose_node(self, parent: Any, index: Any) -> Any:
            if parent is None:
                segment: Any = None
            elif isinstance(index, int):
                segment = index
            elif isinstance(index, ScalarNode):
                segment = index.value
            else:
                segment = None if index is None else "?"  # None: a key, not in the path
            self.segments.append(segment)
            try:
                if len(self.segments) > MAX_DEPTH:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    path = _path_of(s for s in self.segments[1:] if s is not None)
                    raise ValidationError(
                        f"{path}: nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})"
                    )
                self.nodes += 1
                return super().compose_node(parent, index)
            finally:
                self.segments.pop()

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            # PyYAML's constructors raise ValueError, KeyError, ... on some
            # explicitly tagged scalars (``!!int abc``, ``!!bool maybe``).
            try:
                return super().construct_object(node, deep)
            except (ValueError, LookupError, TypeError, AttributeError, OverflowError) as exc:
                if isinstance(exc, ValidationError):
                    raise
                raise ConstructorError(
                    None, None, f"cannot read {node.tag} value: {exc}", node.start_mark
                ) from None

        def construct_yaml_int(self, node: Any) -> Any:
            text = str(self.construct_scalar(node)).replace("_", "").lstrip("+-")
            if len(text) > MAX_DIGITS:
                return _LongInt(len(text))
            return super().construct_yaml_int(node)

        def construct_yaml_map(self, node: Any) -> Any:
            data = _Mapping()
            yield data
            data.duplicate = self._repeated_key(node)  # before merge keys are expanded
            data.update(self.construct_mapping(node))

        def _repeated_key(self, node: Any) -> tuple[Any, int] | None:
            if not isinstance(node, MappingNode):
                return None
            seen: set[Any] = set()
            for key_node, _value in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == merge_tag:
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    return key, key_node.start_mark.line + 1
                seen.add(key)
            return None

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_yaml_map)
    return Loader


def _yaml_problem(exc: Exception) -> str:
    """A YAML error as one line: where, then what."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = "; ".join(str(p) for p in parts if p) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return " ".join(f"{where}{text}".split())


def _load_yaml(text: str) -> tuple[Any, int]:
    import yaml

    try:
        loader = _yaml_loader()(text)  # the reader checks the characters at once
        try:
            return loader.get_single_data(), loader.nodes
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {_yaml_problem(exc)}") from None


# -- reading: the schema --------------------------------------------------------------


def _show(value: object) -> str:
    """A value for an error message: short, one line, in the documents' terms."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, _LongInt):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(path: str, fn: Callable[[], T]) -> T:
    """Run a model constructor; its ValidationError gets the path in front."""
    try:
        return fn()
    except ValueError as exc:  # ValidationError, and the model's stray ValueErrors
        raise ValidationError(f"{path}: {exc}") from None


_HUGE = 10**MAX_DIGITS


def _int(path: str, value: object) -> int:
    if type(value) is int and -_HUGE < value < _HUGE:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if -_HUGE < value < _HUGE:
            return int(value)
        value = _LongInt(int(abs(value).bit_length() * 0.30103) + 1)
    if isinstance(value, _LongInt):
        raise ValidationError(
            f"{path}: integer too long ({value.digits} digits; at most {MAX_DIGITS})"
        )
    raise ValidationError(f"{path}: expected an integer, got {_show(value)}")


def _str(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{path}: expected a string, got {_show(value)}")
    return value


def _list(path: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{path}: expected a list, got {_show(value)}")
    return value


def _choice(path: str, value: object, names: Mapping[str, T], what: str) -> T:
    name = _str(path, value).strip().lower()
    if name not in names:
        raise ValidationError(f"{path}: unknown {what} {_show(value)}; known: {', '.join(names)}")
    return names[name]


def _names(path: str, value: object, table: Mapping[str, Any]) -> int:
    """A list of flag names (or one string of them, separated by commas or spaces)."""
    if isinstance(value, str):
        items: list[Any] = [v for v in value.replace(",", " ").split() if v]
    else:
        items = _list(path, value)
    result = 0
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        name = _str(where, item).strip().lower()
        if name not in table:
            raise ValidationError(
                f"{where}: unknown flag {_show(item)}; known: {', '.join(sorted(table))}"
            )
        if name in seen:
            raise ValidationError(f"{where}: flag {_show(item)} is listed twice")
        seen.add(name)
        result |= int(table[name])
    return result


def _fields(path: str, value: object, allowed: frozenset[str]) -> Mapping[Any, Any]:
    """Check a mapping: its type, repeated keys and unknown keys."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{path}: expected a mapping, got {_show(value)}")
    duplicate = value.duplicate if isinstance(value, _Mapping) else None
    if duplicate is not None:
        key, line = duplicate
        where = f" (line {line})" if line is not None else ""
        raise ValidationError(f"{path}: key {_key_text(key)!r} is given twice{where}")
    unknown = [k for k in value if k not in allowed]
    if unknown:
        live = [k for k in unknown if k in _LIVE_KEYS]
        note = (
            f" ({', '.join(live)}: live data, written by table_to_dict(stats=True), never read)"
            if live
            else ""
        )
        raise ValidationError(
            f"{path}: unknown key(s) {', '.join(sorted(_key_text(k) for k in unknown))}{note}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return value


class _Reader:
    """Reads a document into a table.

    Args:
        budget: the most services and destinations the document may hold,
            counted before anything is built: YAML aliases may repeat a
            service or a destination list many times over.
    """

    def __init__(self, budget: int | None) -> None:
        self.budget = budget

    def _check_size(self, services: list[Any], budget: int) -> None:
        total = len(services)
        for raw in services:
            if isinstance(raw, Mapping) and isinstance(raw.get("destinations"), list):
                total += len(raw["destinations"])
        if total > budget:
            raise ValidationError(
                f"services: the document's aliases expand to {total} services and "
                f"destinations, more than {budget} for a text of this size"
            )

    def table(self, document: object) -> Table:
        doc = _fields("document", document, frozenset({"services"}))
        if "services" not in doc:
            raise ValidationError(
                "document: missing 'services' (an empty table is written 'services: []')"
            )
        services = doc["services"]
        if not isinstance(services, list):
            raise ValidationError(
                f"services: expected a list, got {_show(services)} "
                "(an empty table is written 'services: []')"
            )
        if self.budget is not None:
            self._check_size(services, self.budget)
        pairs: list[tuple[Service, list[Destination]]] = []
        index: dict[ServiceKey, int] = {}
        for i, raw in enumerate(services):
            path = f"services[{i}]"
            service, dests = self.service(path, raw)
            first = index.setdefault(service.key, i)
            if first != i:
                raise ValidationError(
                    f"{path}: service {service.describe()} is listed twice (also services[{first}])"
                )
            pairs.append((service, dests))
        return _at("services", lambda: Table(pairs))

    def service(self, path: str, raw: object) -> tuple[Service, list[Destination]]:
        doc = _fields(path, raw, _SERVICE_KEYS)
        if "fwmark" in doc:
            for k in ("protocol", "address", "port"):
                if k in doc:
                    raise ValidationError(f"{path}: a fwmark service takes no {k}")
            fwmark = _int(f"{path}.fwmark", doc["fwmark"])
            family = _choice(f"{path}.family", doc.get("family", "inet"), _FAMILY_NAMES, "family")
            key = _at(path, lambda: ServiceKey.mark(fwmark, family))
        else:
            for k in ("protocol", "address", "port"):
                if k not in doc:
                    raise ValidationError(f"{path}: missing {k!r} (or give 'fwmark')")
            if "family" in doc:
                raise ValidationError(f"{path}: 'family' is only for fwmark services")
            protocol = _str(f"{path}.protocol", doc["protocol"])
            address = _str(f"{path}.address", doc["address"])
            port = _int(f"{path}.port", doc["port"])
            key = _at(path, lambda: ServiceKey(protocol=protocol, address=address, port=port))
        settings: dict[str, Any] = {}
        if "scheduler" in doc:
            settings["scheduler"] = _str(f"{path}.scheduler", doc["scheduler"])
        if "flags" in doc:
            settings["flags"] = _names(f"{path}.flags", doc["flags"], _SERVICE_FLAG_NAMES)
        if "timeout" in doc:
            settings["timeout"] = _int(f"{path}.timeout", doc["timeout"])
        if "netmask" in doc:
            mask = doc["netmask"]
            if not isinstance(mask, str):
                _int(f"{path}.netmask", mask)  # or a string: refuses anything else
            settings["netmask"] = mask
        if "pe" in doc:
            pe = doc["pe"]
            settings["pe_name"] = None if pe is None else _str(f"{path}.pe", pe)
        service = _at(path, lambda: Service(key=key, **settings))
        dests: list[Destination] = []
        if "destinations" in doc:
            raw_dests = _list(f"{path}.destinations", doc["destinations"])
            seen: dict[DestinationKey, int] = {}
            for i, d in enumerate(raw_dests):
                where = f"{path}.destinations[{i}]"
                dest = self.destination(where, d)
                first = seen.setdefault(dest.key, i)
                if first != i:
                    raise ValidationError(
                        f"{where}: destination {dest.describe()} is listed twice "
                        f"(also destinations[{first}])"
                    )
                dests.append(dest)
        return service, dests

    def destination(self, path: str, raw: object) -> Destination:
        doc = _fields(path, raw, _DEST_KEYS)
        for k in ("address", "port"):
            if k not in doc:
                raise ValidationError(f"{path}: missing {k!r}")
        args: dict[str, Any] = {
            "address": _str(f"{path}.address", doc["address"]),
            "port": _int(f"{path}.port", doc["port"]),
        }
        if "forward" in doc:
            args["forward"] = _choice(f"{path}.forward", doc["forward"], _FORWARD_NAMES, "method")
        for k in ("weight", "upper_threshold", "lower_threshold", "tunnel_port"):
            if k in doc:
                args[k] = _int(f"{path}.{k}", doc[k])
        if "tunnel_type" in doc:
            types = {t.name.lower(): t for t in TunnelType}
            args["tunnel_type"] = _choice(
                f"{path}.tunnel_type", doc["tunnel_type"], types, "tunnel type"
            )
        if "tunnel_flags" in doc:
            args["tunnel_flags"] = _names(
                f"{path}.tunnel_flags", doc["tunnel_flags"], _TUNNEL_FLAG_NAMES
            )
        return _at(path, lambda: Destination(**args))


def table_from_dict(document: Mapping[str, Any]) -> Table:
    """Build a :class:`~ipvs.Table` from a plain document.

    The document is read strictly (see the module documentation): an empty
    table must be written ``{"services": []}``.

    Args:
        document: a mapping with a ``services`` list (see the module docs).

    Returns:
        The table.

    Raises:
        ValidationError: the document does not follow the schema; the message
            starts with the path of the offending value.

    Example:
        >>> from ipvs.formats.document import table_from_dict
        >>> table_from_dict({"services": []})
        <Table: 0 services, 0 destinations>
        >>> try:
        ...     table_from_dict({"services": {}})
        ... except ValueError as exc:
        ...     print(exc)
        services: expected a list, got a mapping (an empty table is written 'services: []')
    """
    return _Reader(None).table(document)


def daemon_to_dict(daemon: SyncDaemon) -> dict[str, Any]:
    """Export a connection-synchronisation daemon as a plain document.

    Args:
        daemon: the daemon, as :meth:`ipvs.Client.daemons` lists it.

    Returns:
        A JSON-ready dict: the state by name, the group as text (or None).

    Raises:
        ValidationError: ``daemon`` is not a :class:`~ipvs.SyncDaemon`.

    Example:
        >>> from ipvs import SyncDaemon
        >>> from ipvs.formats.document import daemon_to_dict
        >>> daemon_to_dict(SyncDaemon(state="backup", interface="eth0", sync_id=3))
        {'state': 'backup', 'interface': 'eth0', 'sync_id': 3, 'max_length': 0, 'group': None, \
'port': 0, 'ttl': 0}
    """
    if not isinstance(daemon, SyncDaemon):
        raise ValidationError(f"expected a SyncDaemon, got {type(daemon).__name__}")
    return {
        "state": daemon.state.name.lower(),
        "interface": daemon.interface,
        "sync_id": daemon.sync_id,
        "max_length": daemon.max_length,
        "group": None if daemon.group is None else str(daemon.group),
        "port": daemon.port,
        "ttl": daemon.ttl,
    }


def table_to_dict(table: Table, *, stats: bool = False) -> dict[str, Any]:
    """Export a table as a plain document; :func:`table_from_dict` reads it back.

    Args:
        table: the table.
        stats: also export live data (statistics and connection counts), as
            read from the kernel; :func:`table_from_dict` refuses those keys.

    Returns:
        A JSON-ready dict. Settings equal to their defaults are left out.

    Raises:
        ValidationError: ``table`` is not a :class:`~ipvs.Table`.

    Example:
        >>> from ipvs import Destination, Service, Table
        >>> from ipvs.formats.document import table_to_dict
        >>> web = Service.tcp("10.0.0.1", 80, scheduler="rr")
        >>> table_to_dict(Table([(web, [Destination(address="10.1.0.1", port=80)])]))
        {'services': [{'protocol': 'tcp', 'address': '10.0.0.1', 'port': 80, 'scheduler': 'rr', \
'destinations': [{'address': '10.1.0.1', 'port': 80, 'forward': 'route', 'weight': 1}]}]}
    """
    if not isinstance(table, Table):
        raise ValidationError(f"table_to_dict: expected a Table, got {type(table).__name__}")
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

    Raises:
        ValidationError: ``table`` is not a :class:`~ipvs.Table`.
    """
    return json.dumps(table_to_dict(table, stats=stats), indent=indent)


def table_from_json(text: str | bytes) -> Table:
    """Build a table from JSON text (the schema of :func:`table_from_dict`).

    Repeated keys, nesting deeper than :data:`MAX_DEPTH` and integers longer
    than :data:`MAX_DIGITS` digits are refused.

    Args:
        text: the JSON document (bytes are decoded as UTF-8).

    Returns:
        The table.

    Raises:
        ValidationError: invalid UTF-8, JSON or schema; one line naming the path.
    """
    return _Reader(None).table(_load_json(decode_text(text)))


def table_from_yaml(text: str | bytes) -> Table:
    """Build a table from YAML text (needs PyYAML: ``pip install 'ipvs[yaml]'``).

    The YAML is read safely (no Python objects), with repeated keys refused,
    nesting bounded by :data:`MAX_DEPTH`, integers by :data:`MAX_DIGITS`, and
    what aliases expand to bounded by the size of the text.

    Args:
        text: the YAML document (bytes are decoded as UTF-8).

    Returns:
        The table.

    Raises:
        ValidationError: invalid UTF-8, YAML or schema; one line naming the
            path (and the line for YAML syntax errors).
        ImportError: PyYAML is not installed.
    """
    document, nodes = _load_yaml(decode_text(text))
    # Aliases may repeat a service or a destination list: never read more
    # entries than ten per node of the text (and 100,000 in any case).
    return _Reader(10 * nodes + 100_000).table(document)


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

    Raises:
        ValidationError: ``plan`` is not a :class:`~ipvs.Plan`.
    """
    if not isinstance(plan, Plan):
        raise ValidationError(f"plan_to_dict: expected a Plan, got {type(plan).__name__}")
    add, change, delete = plan.counts()
    return {
        "operations": [_operation_doc(op) for op in plan.operations],
        "drains": [
            {"service": _key_doc(d.service), "destination": _dest_doc(d.destination)}
            for d in plan.drains
        ],
        "summary": {"add": add, "change": change, "delete": delete},
    }
