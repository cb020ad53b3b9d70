"""What to probe and how often: the check kinds, their timing, and what a probe finds.

Every check is a frozen, slotted, keyword-only attrs class, validated when it
is built: bad input raises :class:`~ipvs.errors.ValidationError` naming the
field. The probing itself is elsewhere (``_probes``); these classes only
describe it.
"""

from __future__ import annotations

import enum
import math
import os
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, ClassVar

import attrs

from ipvs._client import _netns
from ipvs._model import Destination, ServiceKey
from ipvs.errors import ValidationError

__all__ = [
    "DNS_TYPES",
    "Check",
    "CommandCheck",
    "DNSCheck",
    "FunctionCheck",
    "HTTPCheck",
    "OnFailure",
    "Outcome",
    "State",
    "TCPCheck",
    "Target",
    "UDPCheck",
]


class State(enum.Enum):
    """The health of a check or a destination."""

    UP = "up"
    DOWN = "down"


class OnFailure(enum.Enum):
    """What happens to a destination in the kernel while it is down.

    ``QUIESCE`` sets its weight to 0: no new connections, but the established
    ones keep being served (keepalived's ``inhibit_on_failure``). ``REMOVE``
    deletes it; the kernel then keeps its connections only until they expire
    (or drops them at once with the ``expire_nodest_conn`` sysctl).
    """

    QUIESCE = "quiesce"
    REMOVE = "remove"


def _where(inst: object, name: str) -> str:
    return f"{type(inst).__name__}.{name}"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "retry_interval":
        return
    if not _number(value) or not math.isfinite(value) or value <= 0:  # type: ignore[arg-type, operator]
        raise ValidationError(
            f"{_where(inst, attribute.name)} must be a positive number of seconds, got {value!r}"
        )


def _count(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise ValidationError(f"{_where(inst, attribute.name)} must be in 1..1000, got {value!r}")


def _to_state(value: State | str) -> State:
    if isinstance(value, State):
        return value
    try:
        return State(str(value).lower())
    except ValueError:
        raise ValidationError(f"initial: expected 'up' or 'down', got {value!r}") from None


def _to_address(value: IPv4Address | IPv6Address | str | None) -> IPv4Address | IPv6Address | None:
    if value is None or isinstance(value, (IPv4Address, IPv6Address)):
        return value
    try:
        return ip_address(str(value))
    except ValueError:
        raise ValidationError(f"address: invalid IP address {value!r}") from None


def _flag(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(
            f"{_where(inst, attribute.name)} must be True or False, got {value!r}"
        )


def _port(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 0xFFFF:
        raise ValidationError(f"{_where(inst, attribute.name)} must be in 1..65535, got {value!r}")


@attrs.frozen(kw_only=True, slots=True)
class Outcome:
    """What one probe found.

    Args:
        ok: the probe succeeded.
        detail: why, in a few words (``"HTTP 503"``, ``"connection refused"``).
        weight: a weight the probe asks for (a :class:`CommandCheck` with
            ``dynamic_weight``), or None for the configured one.
    """

    ok: bool = attrs.field(validator=_flag)
    detail: str = ""
    weight: int | None = None


@attrs.frozen(kw_only=True, slots=True)
class Target:
    """Where a probe goes: what a :class:`FunctionCheck`'s function receives.

    Attributes:
        service: the virtual service.
        destination: the destination as configured.
        address: the address to probe (the destination's, unless the check
            names another).
        port: the port to probe.
        netns: the network namespace the probe runs in (the client's), or
            None for the calling thread's.
    """

    service: ServiceKey
    destination: Destination
    address: IPv4Address | IPv6Address
    port: int
    netns: str | None = None

    def socket(self, kind: socket.SocketKind = socket.SOCK_STREAM) -> socket.socket:
        """Make a non-blocking socket in the probe's network namespace.

        The calling thread enters the namespace only while the socket is
        made; the socket stays in it. Use it with the event loop's
        ``sock_*`` methods or ``asyncio.open_connection(sock=...)``.

        Args:
            kind: ``socket.SOCK_STREAM`` or ``socket.SOCK_DGRAM``.

        Returns:
            The socket (the caller closes it).

        Raises:
            NetnsError: the namespace cannot be entered.
        """
        family = socket.AF_INET if self.address.version == 4 else socket.AF_INET6
        if self.netns is None:
            sock = socket.socket(family, kind)
        else:
            with _netns.entered(self.netns):
                sock = socket.socket(family, kind)
        sock.setblocking(False)
        return sock

    @property
    def sockaddr(self) -> tuple[str, int]:
        """The ``(address, port)`` pair to connect to."""
        return (str(self.address), self.port)

    def describe(self) -> str:
        """Describe the target, e.g. ``"10.1.1.2:8080"``."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port}"


@attrs.frozen(kw_only=True, slots=True)
class Check:
    """What every check has: timing, thresholds, initial state, and its target.

    A destination is up while every one of its checks is up. A check that
    is up goes down after ``fall`` consecutive failed probes; a check that
    is down comes up after ``rise`` consecutive successful ones.

    Probes start every ``interval`` seconds (start to start). While a change
    is pending (a failure of a check that is up, a success of one that is
    down) the next probe starts ``retry_interval`` after the previous one
    instead (keepalived's ``delay_before_retry``). A probe that takes longer
    than ``timeout`` fails.

    Args:
        interval: seconds between the starts of two probes.
        timeout: seconds a probe may take.
        rise: consecutive successes that bring a check up.
        fall: consecutive failures that take it down.
        retry_interval: seconds between probes while a change is pending;
            None: ``interval``.
        initial: the state before the first probe: :attr:`State.UP` (the
            destination takes traffic at once) or :attr:`State.DOWN` (it
            waits for ``rise`` successes; keepalived's alpha mode).
        address: the address to probe (default: the destination's).
        port: the port to probe (default: the destination's).

    Raises:
        ValidationError: a value is invalid.
    """

    kind: ClassVar[str] = "check"

    interval: float = attrs.field(default=2.0, validator=_seconds)
    timeout: float = attrs.field(default=1.0, validator=_seconds)
    rise: int = attrs.field(default=2, validator=_count)
    fall: int = attrs.field(default=3, validator=_count)
    retry_interval: float | None = attrs.field(default=None, validator=_seconds)
    initial: State = attrs.field(default=State.UP, converter=_to_state)
    address: IPv4Address | IPv6Address | None = attrs.field(default=None, converter=_to_address)
    port: int | None = attrs.field(default=None, validator=_port)

    @property
    def step(self) -> float:
        """Seconds between probes while a change is pending."""
        return self.retry_interval if self.retry_interval is not None else self.interval

    def detection_time(self) -> float:
        """The longest time from a failure to the check going down.

        The first probe to see the failure starts at most ``interval`` (or
        ``timeout``, if longer) after it; ``fall - 1`` more follow, each at
        most ``retry_interval`` (or ``timeout``) after the previous; the last
        one takes at most ``timeout``. Applying the change takes milliseconds
        more. A refused connection fails at once, so the time is then about
        ``interval + (fall - 1) * retry_interval``.

        Returns:
            Seconds.
        """
        return self._bound(self.fall)

    def recovery_time(self) -> float:
        """The longest time from a recovery to the check coming up (see :meth:`detection_time`).

        Returns:
            Seconds.
        """
        return self._bound(self.rise)

    def _bound(self, count: int) -> float:
        return (
            max(self.interval, self.timeout)
            + (count - 1) * max(self.step, self.timeout)
            + self.timeout
        )

    def target(
        self, service: ServiceKey, destination: Destination, netns: str | None = None
    ) -> Target:
        """Where this check probes a destination.

        Args:
            service: the virtual service.
            destination: the destination.
            netns: the namespace the probe runs in.

        Returns:
            The target.
        """
        return Target(
            service=service,
            destination=destination,
            address=self.address if self.address is not None else destination.address,
            port=self.port if self.port is not None else destination.port,
            netns=netns,
        )

    def describe(self) -> str:
        """Describe the check in a few words, e.g. ``"HTTP GET /healthz"``."""
        return self.kind.upper()


@attrs.frozen(kw_only=True, slots=True)
class TCPCheck(Check):
    """A TCP connection can be opened (keepalived's ``TCP_CHECK``).

    The probe connects and closes again; a refused connection or a timeout
    fails. See :class:`Check` for the timing arguments.
    """

    kind: ClassVar[str] = "tcp"

    def describe(self) -> str:
        """Describe the check, e.g. ``"TCP connect"``."""
        return "TCP connect"


def _status_codes(value: int | Iterable[int]) -> frozenset[int]:
    codes = [value] if isinstance(value, int) else list(value)
    for code in codes:
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ValidationError(f"HTTPCheck.status: codes must be in 100..599, got {code!r}")
    if not codes:
        raise ValidationError("HTTPCheck.status: give at least one status code")
    return frozenset(codes)


def _compile(inst: HTTPCheck, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(f"HTTPCheck.body must be a regular expression string, got {value!r}")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"HTTPCheck.body: bad regular expression {value!r}: {exc}") from None


def _hex_digest(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if len(text) not in (32, 64) or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(
            "HTTPCheck.digest: expected 32 hex digits (MD5, as keepalived's genhash "
            f"prints) or 64 (SHA-256), got {value!r}"
        )
    return text


def _path(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.startswith("/") or any(c.isspace() for c in value):
        raise ValidationError(
            f"{_where(inst, attribute.name)} must start with '/' and hold no spaces, got {value!r}"
        )


def _header_value(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        not isinstance(value, str) or not value or any(c in value for c in "\r\n")
    ):
        raise ValidationError(f"{_where(inst, attribute.name)}: bad value {value!r}")


@attrs.frozen(kw_only=True, slots=True)
class HTTPCheck(Check):
    """An HTTP or HTTPS ``GET`` gets an expected answer (``HTTP_GET``, ``SSL_GET``).

    The probe sends ``GET path HTTP/1.0`` and reads the reply (the first
    MiB of the body at most). It succeeds when the status code is one of
    ``status`` and, if given, the body matches ``body`` and has ``digest``.

    Args:
        path: the request path (with the query, if any).
        status: the status codes that mean healthy (default 200..299).
        host: the ``Host`` header (default: the target's address and port).
        body: a regular expression the body (decoded as UTF-8) must contain.
        digest: the body's hex digest: 32 hex digits for MD5 (what
            keepalived's ``genhash`` prints), 64 for SHA-256.
        tls: speak HTTPS.
        verify: verify the server's certificate and name (HTTPS only).
        ca_file: a PEM file of the authorities to trust (default: the
            system's).
        server_name: the name for SNI and for checking the certificate
            (default: ``host`` without its port, else the target address).
        **timing: see :class:`Check`.
    """

    kind: ClassVar[str] = "http"

    path: str = attrs.field(default="/", validator=_path)
    status: frozenset[int] = attrs.field(default=range(200, 300), converter=_status_codes)
    host: str | None = attrs.field(default=None, validator=_header_value)
    body: str | None = attrs.field(default=None, validator=_compile)
    digest: str | None = attrs.field(default=None, converter=_hex_digest)
    tls: bool = attrs.field(default=False, validator=_flag)
    verify: bool = attrs.field(default=True, validator=_flag)
    ca_file: str | None = attrs.field(default=None)
    server_name: str | None = attrs.field(default=None, validator=_header_value)

    @ca_file.validator
    def _check_ca_file(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not (isinstance(value, str) and os.path.isfile(value)):
            raise ValidationError(f"HTTPCheck.ca_file: no such file {value!r}")

    def describe(self) -> str:
        """Describe the check, e.g. ``"HTTPS GET /healthz"``."""
        return f"{'HTTPS' if self.tls else 'HTTP'} GET {self.path}"


def _payload(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ValidationError(f"payload: expected bytes, got {value!r}")


def _opt_payload(value: bytes | str | None) -> bytes | None:
    return None if value is None else _payload(value)


@attrs.frozen(kw_only=True, slots=True)
class UDPCheck(Check):
    """A UDP datagram is answered, or at least not refused (``UDP_CHECK``).

    The probe sends ``payload`` from a connected socket. With
    ``require_reply`` (or ``expect``) it succeeds on a reply, which must
    start with ``expect`` if that is given. Without, it succeeds unless an
    ICMP error (port unreachable) arrives within ``timeout``: then a host
    that drops packets counts as healthy, as in keepalived.

    Args:
        payload: the datagram to send (may be empty).
        require_reply: a reply is needed.
        expect: the bytes a reply must start with (implies ``require_reply``).
        **timing: see :class:`Check`.
    """

    kind: ClassVar[str] = "udp"

    payload: bytes = attrs.field(default=b"", converter=_payload)
    require_reply: bool = attrs.field(default=False, validator=_flag)
    expect: bytes | None = attrs.field(default=None, converter=_opt_payload)

    @property
    def needs_reply(self) -> bool:
        """True when only a reply counts as success."""
        return self.require_reply or self.expect is not None

    def describe(self) -> str:
        """Describe the check, e.g. ``"UDP with a reply"``."""
        return "UDP with a reply" if self.needs_reply else "UDP without an error"


#: DNS record types by name; :class:`DNSCheck` also takes their numbers.
DNS_TYPES: Mapping[str, int] = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "SRV": 33,
    "ANY": 255,
}


def _dns_type(value: int | str) -> int:
    if isinstance(value, str) and value.upper() in DNS_TYPES:
        return DNS_TYPES[value.upper()]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 0xFFFF:
        return value
    names = ", ".join(DNS_TYPES)
    raise ValidationError(f"DNSCheck.type: expected one of {names} or 1..65535, got {value!r}")


def _dns_name(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"DNSCheck.name must be a string, got {value!r}")
    labels = [label for label in value.split(".") if label]
    if value.strip(".") != ".".join(labels):
        raise ValidationError(f"DNSCheck.name: empty label in {value!r}")
    try:
        encoded = [label.encode("ascii") for label in labels]
    except UnicodeEncodeError:
        raise ValidationError(
            f"DNSCheck.name must be ASCII (IDNA-encode it), got {value!r}"
        ) from None
    if any(len(label) > 63 for label in encoded) or sum(len(x) + 1 for x in encoded) + 1 > 255:
        raise ValidationError(f"DNSCheck.name is too long: {value!r}")


@attrs.frozen(kw_only=True, slots=True)
class DNSCheck(Check):
    """A DNS query over UDP is answered without error (``DNS_CHECK``).

    The probe sends one query (recursion desired) and succeeds on a reply
    with the same id and response code ``NOERROR`` (0); with
    ``require_answer``, the reply must also hold at least one record.

    Args:
        name: the name to ask for (default ``"."``, the root).
        type: the record type, a name of :data:`DNS_TYPES` or a number
            (default ``"SOA"``, as keepalived).
        require_answer: a reply without records fails.
        **timing: see :class:`Check`.
    """

    kind: ClassVar[str] = "dns"

    name: str = attrs.field(default=".", validator=_dns_name)
    type: int = attrs.field(default=DNS_TYPES["SOA"], converter=_dns_type)
    require_answer: bool = attrs.field(default=False, validator=_flag)

    def describe(self) -> str:
        """Describe the check, e.g. ``"DNS A health.example"``."""
        names = {number: name for name, number in DNS_TYPES.items()}
        return f"DNS {names.get(self.type, str(self.type))} {self.name}"


def _argv(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError("CommandCheck.command is empty")
        return ("/bin/sh", "-c", value)
    argv = tuple(value)
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValidationError(f"CommandCheck.command: expected a non-empty argv, got {value!r}")
    return argv


def _env(value: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    items = tuple(sorted(dict(value).items()))
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items):
        raise ValidationError("CommandCheck.env must map strings to strings")
    return items


@attrs.frozen(kw_only=True, slots=True)
class CommandCheck(Check):
    """A command exits with status 0 (``MISC_CHECK``), optionally setting the weight.

    The command runs inside the network namespace the client programs
    (through ``nsenter``, which needs root) with the environment variables
    ``IPVS_HEALTH_ADDRESS``, ``IPVS_HEALTH_PORT`` (the target) and
    ``IPVS_HEALTH_SERVICE`` (the service, as ipvsadm shows it) added. A
    command still running at ``timeout`` is killed (its whole process
    group) and fails.

    Exit status 0 is success. With ``dynamic_weight`` (keepalived's
    ``misc_dynamic``), status 2..255 is success too and sets the
    destination's weight to the status minus 2 (0..253); status 0 restores
    the configured weight. Any other status fails.

    Args:
        command: an argv list (run directly) or a string (run by ``/bin/sh -c``).
        dynamic_weight: the exit status may set the weight.
        env: more environment variables.
        **timing: see :class:`Check`.
    """

    kind: ClassVar[str] = "command"

    command: tuple[str, ...] = attrs.field(converter=_argv)
    dynamic_weight: bool = attrs.field(default=False, validator=_flag)
    env: tuple[tuple[str, str], ...] = attrs.field(default=None, converter=_env)

    def describe(self) -> str:
        """Describe the check, e.g. ``"command /usr/local/bin/check-db"``."""
        shown = self.command[2] if self.command[:2] == ("/bin/sh", "-c") else " ".join(self.command)
        return f"command {shown}"


ProbeFunction = Callable[[Target], Awaitable["bool | Outcome"]]


def _callable(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise ValidationError(f"FunctionCheck.function must be callable, got {value!r}")


@attrs.frozen(kw_only=True, slots=True)
class FunctionCheck(Check):
    """Your own probe: a coroutine function of the :class:`Target`.

    It returns True (healthy), False, or an :class:`Outcome`; raising an
    exception fails the probe. It runs on the event loop, in the calling
    thread's namespace: make sockets with :meth:`Target.socket` to probe
    from the client's.

    Args:
        function: ``async def probe(target) -> bool | Outcome``.
        name: a name for logs and events (default: the function's name).
        **timing: see :class:`Check`.
    """

    kind: ClassVar[str] = "function"

    function: ProbeFunction = attrs.field(validator=_callable)
    name: str | None = None

    def describe(self) -> str:
        """Describe the check by its name."""
        return self.name or str(getattr(self.function, "__name__", "function"))
