"""The configuration file of ``ipvs run``: a table document with checks, binding and options.

The services part is the table document of :mod:`ipvs.formats.document`
(read with its functions); each service and destination may add the health
checks of :mod:`ipvs.health`, and the document may add ``bind`` (the VIP
binding) and ``daemon`` (how the director runs). Every error names the path
of the value, as the table documents do.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ipvs._model import Destination, Service, ServiceEntry, Table
from ipvs._plan import DEFAULT_INTERFACE, Binding
from ipvs.errors import ValidationError
from ipvs.formats.document import table_from_dict
from ipvs.health import (
    Check,
    CheckedDestination,
    CheckedService,
    CommandCheck,
    DestinationDown,
    DestinationUp,
    DNSCheck,
    HealthEvent,
    Hook,
    HTTPCheck,
    QuorumGained,
    QuorumLost,
    TCPCheck,
    UDPCheck,
)

__all__ = [
    "DEFAULT_METRICS",
    "Config",
    "OnStop",
    "command_hook",
    "config_from_dict",
    "config_from_text",
    "load_config",
]

#: Where the metrics endpoint listens unless the file says otherwise (loopback only).
DEFAULT_METRICS = "127.0.0.1:9475"

log = logging.getLogger("ipvs.daemon")
T = TypeVar("T")


class OnStop(enum.Enum):
    """What the director leaves behind when it stops (SIGTERM, SIGINT)."""

    #: The table and the addresses stay as they are (the default; a restart takes them over).
    KEEP = "keep"
    #: Its services are deleted, their addresses unbound, its interface deleted if empty.
    REMOVE = "remove"


_LEVELS = ("debug", "info", "warning", "error")


@attrs.frozen(kw_only=True, slots=True)
class Config:
    """A configuration of ``ipvs run``, read from its file.

    Attributes:
        services: the services, with their checks.
        bind: the VIP binding, or None (addresses are not bound).
        resync: seconds between two resyncs (0: none).
        on_stop: what stopping leaves behind.
        retry_delay: seconds before applying again after a failed apply.
        lock_timeout: seconds to wait for another writer's lock (None: forever).
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
        metrics: ``HOST:PORT`` of the Prometheus endpoint, or None.
        hook_timeout: seconds a hook command may run before it is killed.
        source: where it was read from (for messages).
    """

    services: tuple[CheckedService, ...]
    bind: Binding | None = None
    resync: float = 30.0
    on_stop: OnStop = OnStop.KEEP
    retry_delay: float = 1.0
    lock_timeout: float | None = 30.0
    log_level: str = "info"
    metrics: str | None = None
    hook_timeout: float = 30.0
    source: str = attrs.field(default="<config>", eq=False)

    @property
    def table(self) -> Table:
        """The services as configured: every destination up, at its weight."""
        return Table(
            ServiceEntry(service=s.service, destinations=[m.destination for m in s.destinations])
            for s in self.services
        )

    def restart_needed(self, other: Config) -> list[str]:
        """What differs from ``other`` that only a restart can change.

        Returns:
            The names of the settings (``bind``, ``metrics``, ``lock_timeout``).
        """
        names = ("bind", "metrics", "lock_timeout")
        return [name for name in names if getattr(self, name) != getattr(other, name)]

    def describe(self) -> str:
        """One line: how many services, destinations and checks."""
        dests = sum(len(s.destinations) for s in self.services)
        checks = sum(len(m.checks) for s in self.services for m in s.destinations)
        bind = f", bound to {self.bind.interface}" if self.bind is not None else ""
        return f"{len(self.services)} services, {dests} destinations, {checks} checks{bind}"


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------


def load_config(path: str) -> Config:
    """Read a configuration file (YAML, or JSON for a ``.json`` name or a leading ``{``).

    Args:
        path: the file.

    Returns:
        The configuration.

    Raises:
        ValidationError: the file cannot be read or is invalid; the message
            names the file and the path of the value, on one line.
        MissingDependency: it is YAML and PyYAML is not installed.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ValidationError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text: {exc.reason}") from None
    return config_from_text(text, path)


def config_from_text(text: str, name: str = "<config>") -> Config:
    """Read a configuration from text (see :func:`load_config`).

    Args:
        text: the document.
        name: the file name (for messages and the format).

    Returns:
        The configuration.

    Raises:
        ValidationError: the text is invalid.
        MissingDependency: it is YAML and PyYAML is not installed.
    """
    if name.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{name}: invalid JSON: {exc}") from None
    else:
        document = _yaml(text, name)
    try:
        return config_from_dict(document, source=name)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def _yaml(text: str, name: str) -> Any:
    try:
        import yaml
    except ImportError:
        from ipvs.errors import MissingDependency

        raise MissingDependency(
            f"{name}: YAML needs PyYAML (pip install 'ipvs[run]'), or write the file as JSON"
        ) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader (libyaml's when there)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(f"{name}: invalid YAML: {problem}{at}") from None


_TOP_KEYS = {"services", "bind", "daemon"}
_SERVICE_EXTRA = {
    "checks",
    "on_failure",
    "sorry_server",
    "quorum",
    "hysteresis",
    "on_quorum_up",
    "on_quorum_down",
}
_DEST_EXTRA = {"checks", "on_failure", "on_up", "on_down"}
_DAEMON_KEYS = {
    "resync",
    "on_stop",
    "retry_delay",
    "lock_timeout",
    "log_level",
    "metrics",
    "hook_timeout",
}
_BIND_KEYS = {"interface", "keep_link"}
_METRICS_KEYS = {"listen"}


def _keys(path: str, doc: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = [str(k) for k in doc if k not in allowed]
    if unknown:
        raise ValidationError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _mapping(path: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{path}: expected a mapping, got {value!r}")
    return value


def _seconds(path: str, value: object, *, zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "a number of seconds >= 0" if zero else "a positive number of seconds"
        raise ValidationError(f"{path}: expected {kind}, got {value!r}")
    return float(value)


def config_from_dict(document: object, *, source: str = "<config>") -> Config:
    """Build a configuration from a plain document (the parsed YAML or JSON).

    Args:
        document: the document (see :doc:`/reference/daemon` for the schema).
        source: where it came from (kept for messages).

    Returns:
        The configuration.

    Raises:
        ValidationError: the document is invalid; the message names the
            path of the value.
    """
    if document is None:
        document = {}
    doc = _mapping("document", document)
    _keys("document", doc, _TOP_KEYS)
    options = _daemon(_mapping("daemon", doc.get("daemon") or {}))
    raw = doc.get("services")
    raw = [] if raw is None else raw
    if not isinstance(raw, list):
        raise ValidationError("services: expected a list")
    timeout = options.get("hook_timeout", 30.0)
    services = [_checked_service(f"services[{i}]", s, timeout) for i, s in enumerate(raw)]
    seen: dict[Any, int] = {}
    for i, config in enumerate(services):
        if config.key in seen:
            raise ValidationError(
                f"services[{i}]: service {config.describe()} is listed twice "
                f"(also services[{seen[config.key]}])"
            )
        seen[config.key] = i
    return Config(
        services=tuple(services),
        bind=_bind(doc.get("bind")),
        source=source,
        **options,
    )


def _bind(value: object) -> Binding | None:
    if value is None or value is False:
        return None
    if value is True:
        return Binding()
    if isinstance(value, str):
        return _at("bind", lambda: Binding(interface=value))
    doc = _mapping("bind", value)
    _keys("bind", doc, _BIND_KEYS)
    return _at(
        "bind",
        lambda: Binding(
            interface=doc.get("interface", DEFAULT_INTERFACE),
            keep_link=doc.get("keep_link", True),
        ),
    )


def _daemon(doc: Mapping[str, Any]) -> dict[str, Any]:
    _keys("daemon", doc, _DAEMON_KEYS)
    options: dict[str, Any] = {}
    if "resync" in doc:
        options["resync"] = _seconds("daemon.resync", doc["resync"], zero=True)
    if "retry_delay" in doc:
        options["retry_delay"] = _seconds("daemon.retry_delay", doc["retry_delay"])
    if "hook_timeout" in doc:
        options["hook_timeout"] = _seconds("daemon.hook_timeout", doc["hook_timeout"])
    if "lock_timeout" in doc:
        value = doc["lock_timeout"]
        options["lock_timeout"] = (
            None if value is None else _seconds("daemon.lock_timeout", value, zero=True)
        )
    if "on_stop" in doc:
        value = doc["on_stop"]
        try:
            options["on_stop"] = OnStop(str(value).lower())
        except ValueError:
            raise ValidationError(
                f"daemon.on_stop: expected 'keep' or 'remove', got {value!r}"
            ) from None
    if "log_level" in doc:
        value = doc["log_level"]
        if not isinstance(value, str) or value.lower() not in _LEVELS:
            raise ValidationError(
                f"daemon.log_level: expected one of {', '.join(_LEVELS)}, got {value!r}"
            )
        options["log_level"] = value.lower()
    if "metrics" in doc:
        options["metrics"] = _metrics(doc["metrics"])
    return options


def _metrics(value: object) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_METRICS
    if isinstance(value, str):
        listen = value
    else:
        doc = _mapping("daemon.metrics", value)
        _keys("daemon.metrics", doc, _METRICS_KEYS)
        listen = doc.get("listen", DEFAULT_METRICS)
    split_address(listen, "daemon.metrics.listen")
    return str(listen)


def split_address(value: object, path: str = "listen") -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[V6]:PORT`` for IPv6) into its parts.

    Args:
        value: the text.
        path: the name for messages.

    Returns:
        ``(host, port)``.

    Raises:
        ValidationError: it is not of that form.
    """
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([^\s:\[\]]+):(\d+)", str(value))
    if not isinstance(value, str) or match is None:
        raise ValidationError(f"{path}: expected HOST:PORT (or [IPV6]:PORT), got {value!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 1 <= port <= 65535:
        raise ValidationError(f"{path}: port must be in 1..65535, got {port}")
    return host, port


def _at(path: str, make: Callable[[], T]) -> T:
    try:
        return make()
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{path}: {exc}") from None


def _split(doc: Mapping[str, Any], extra: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    table_part = {k: v for k, v in doc.items() if k not in extra}
    health_part = {k: v for k, v in doc.items() if k in extra}
    return table_part, health_part


def _entry(path: str, doc: Mapping[str, Any]) -> tuple[Service, tuple[Destination, ...]]:
    """One service document, read by the table document reader (its messages re-pathed)."""
    try:
        table = table_from_dict({"services": [doc]})
    except ValidationError as exc:
        text = str(exc)
        for prefix in ("services[0]", "services"):
            if text.startswith(prefix):
                text = path + text[len(prefix) :]
                break
        raise ValidationError(text) from None
    (entry,) = table.values()
    return entry.service, entry.destinations


_KEY_FIELDS = ("protocol", "address", "port", "fwmark", "family")


def _checked_service(path: str, value: object, hook_timeout: float) -> CheckedService:
    doc = _mapping(path, value)
    table_part, extra = _split(doc, _SERVICE_EXTRA)
    raw_dests = table_part.get("destinations")
    raw_dests = [] if raw_dests is None else raw_dests
    if not isinstance(raw_dests, list):
        raise ValidationError(f"{path}.destinations: expected a list")
    plain_dests: list[Any] = []
    dest_extras: list[dict[str, Any]] = []
    for i, d in enumerate(raw_dests):
        dpath = f"{path}.destinations[{i}]"
        ddoc = _mapping(dpath, d)
        plain, dextra = _split(ddoc, _DEST_EXTRA)
        plain_dests.append(plain)
        dest_extras.append(dextra)
    service, dests = _entry(path, {**table_part, "destinations": plain_dests})
    shared = _checks(f"{path}.checks", extra.get("checks"))
    policy = extra.get("on_failure", "quiesce")
    members = []
    # a service entry keeps its destinations in the order given: the file's
    for i, (dest, dextra) in enumerate(zip(dests, dest_extras, strict=True)):
        dpath = f"{path}.destinations[{i}]"
        checks = _checks(f"{dpath}.checks", dextra["checks"]) if "checks" in dextra else shared
        members.append(
            _member(dpath, dest, checks, dextra.get("on_failure", policy), dextra, hook_timeout)
        )
    sorry = None
    if extra.get("sorry_server") is not None:
        key_part = {k: v for k, v in table_part.items() if k in _KEY_FIELDS}
        sorry_doc = _mapping(f"{path}.sorry_server", extra["sorry_server"])
        try:
            _, (sorry,) = _entry(path, {**key_part, "destinations": [sorry_doc]})
        except ValidationError as exc:
            text = str(exc).replace(f"{path}.destinations[0]", f"{path}.sorry_server", 1)
            raise ValidationError(text) from None
    for name in ("quorum", "hysteresis"):
        if name in extra and (isinstance(extra[name], bool) or not isinstance(extra[name], int)):
            raise ValidationError(f"{path}.{name}: expected an integer, got {extra[name]!r}")
    config: CheckedService = _at(
        path,
        lambda: CheckedService(
            service=service,
            destinations=members,
            sorry_server=sorry,
            quorum=extra.get("quorum", 1),
            hysteresis=extra.get("hysteresis", 0),
            on_quorum_up=_hook(f"{path}.on_quorum_up", extra.get("on_quorum_up"), hook_timeout),
            on_quorum_down=_hook(
                f"{path}.on_quorum_down", extra.get("on_quorum_down"), hook_timeout
            ),
        ),
    )
    return config


def _member(
    path: str,
    dest: Destination,
    checks: tuple[Check, ...],
    on_failure: object,
    extra: Mapping[str, Any],
    hook_timeout: float,
) -> CheckedDestination:
    try:
        return CheckedDestination(
            destination=dest,
            checks=checks,
            on_failure=on_failure,  # type: ignore[arg-type]  # the converter checks it
            on_up=_hook(f"{path}.on_up", extra.get("on_up"), hook_timeout),
            on_down=_hook(f"{path}.on_down", extra.get("on_down"), hook_timeout),
        )
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------

_TIMING = {
    "interval",
    "timeout",
    "rise",
    "fall",
    "retry_interval",
    "initial",
    "address",
    "port",
}
_KINDS: dict[str, tuple[type[Check], set[str]]] = {
    "tcp": (TCPCheck, set()),
    "http": (
        HTTPCheck,
        {"path", "status", "host", "body", "digest", "tls", "verify", "ca_file", "server_name"},
    ),
    "https": (
        HTTPCheck,
        {"path", "status", "host", "body", "digest", "verify", "ca_file", "server_name"},
    ),
    "udp": (UDPCheck, {"payload", "require_reply", "expect"}),
    "dns": (DNSCheck, {"name", "type", "require_answer"}),
    "command": (CommandCheck, {"command", "dynamic_weight", "env"}),
}


def _checks(path: str, value: object) -> tuple[Check, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ValidationError(f"{path}: expected a list of checks, got {value!r}")
    return tuple(_check(f"{path}[{i}]", c) for i, c in enumerate(value))


def _check(path: str, value: object) -> Check:
    doc = _mapping(path, value)
    kind = doc.get("kind")
    if not isinstance(kind, str) or kind.lower() not in _KINDS:
        raise ValidationError(f"{path}.kind: expected one of {', '.join(_KINDS)}, got {kind!r}")
    cls, own = _KINDS[kind.lower()]
    _keys(path, doc, {"kind"} | _TIMING | own)
    args = {k: v for k, v in doc.items() if k != "kind"}
    if kind.lower() == "https":
        args["tls"] = True
    if "status" in args and isinstance(args["status"], list):
        args["status"] = tuple(args["status"])
    for name in ("payload", "expect"):
        if name in args and not isinstance(args[name], str):
            raise ValidationError(f"{path}.{name}: expected a string, got {args[name]!r}")
    if "command" in args and not isinstance(args["command"], (str, list)):
        raise ValidationError(
            f"{path}.command: expected a string or a list of strings, got {args['command']!r}"
        )
    if "env" in args and not isinstance(args["env"], Mapping):
        raise ValidationError(f"{path}.env: expected a mapping, got {args['env']!r}")
    for name in ("interval", "timeout", "retry_interval"):
        if isinstance(args.get(name), int) and not isinstance(args[name], bool):
            args[name] = float(args[name])
    check: Check = _at(path, lambda: cls(**args))
    return check


# ---------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------


def _argv(path: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError(f"{path}: the command is empty")
        return ("/bin/sh", "-c", value)
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise ValidationError(
        f"{path}: expected a command (a string for /bin/sh -c, or a list of strings), got {value!r}"
    )


def _hook(path: str, value: object, timeout: float) -> Hook | None:
    if value is None:
        return None
    return command_hook(_argv(path, value), timeout=timeout)


def _event_env(event: HealthEvent) -> dict[str, str]:
    env = {"IPVS_EVENT": type(event).__name__}
    service = getattr(event, "service", None)
    if service is not None:
        env["IPVS_SERVICE"] = service.describe()
    destination = getattr(event, "destination", None)
    if isinstance(destination, Destination):
        env["IPVS_DESTINATION"] = destination.describe()
    if isinstance(event, DestinationUp):
        env["IPVS_WEIGHT"] = str(event.weight)
    if isinstance(event, DestinationDown):
        env["IPVS_REASON"] = event.reason
    if isinstance(event, (QuorumLost, QuorumGained)):
        env["IPVS_WEIGHT"] = str(event.weight)
    return env


def command_hook(argv: Sequence[str], *, timeout: float = 30.0) -> Hook:
    """A hook that runs a command for each event (keepalived's ``notify_up`` and friends).

    The command gets the event in its environment: ``IPVS_EVENT`` (the
    event's class name, ``DestinationUp``, ``DestinationDown``,
    ``QuorumLost``, ``QuorumGained``), ``IPVS_SERVICE`` (as ipvsadm shows
    it), and where they apply ``IPVS_DESTINATION``, ``IPVS_WEIGHT`` and
    ``IPVS_REASON``. It runs in the director's own namespace, its output
    goes where the director's does, and it is killed after ``timeout``
    seconds (the configuration's ``daemon.hook_timeout``).

    Args:
        argv: the command.
        timeout: seconds it may run.

    Returns:
        The hook (a function returning a coroutine).
    """
    command = tuple(argv)

    async def run(event: HealthEvent) -> None:
        limit = timeout
        env = {**os.environ, **_event_env(event)}
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, env=env, stdin=asyncio.subprocess.DEVNULL
            )
        except OSError as exc:
            log.error("hook %s: %s", " ".join(command), exc.strerror or exc)
            return
        try:
            status = await asyncio.wait_for(proc.wait(), limit)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            log.error("hook %s: killed after %g s", " ".join(command), limit)
            return
        if status != 0:
            log.warning("hook %s exited with status %d", " ".join(command), status)

    run.__qualname__ = run.__name__ = "command_hook"
    return run
