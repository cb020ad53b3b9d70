"""The probes' protocol decisions, with no I/O: requests to send, verdicts on replies.

Each probe in ``_probes`` moves bytes; these functions build what it sends
and judge what it receives, so that all of it is tested without a network.
"""

from __future__ import annotations

import hashlib
import re
import struct

from ipvs.health._checks import DNSCheck, HTTPCheck, Outcome, Target, UDPCheck

__all__ = [
    "MAX_REPLY",
    "command_verdict",
    "dns_query",
    "dns_verdict",
    "http_complete",
    "http_request",
    "http_verdict",
    "parse_http_reply",
    "udp_verdict",
]

#: How much of an HTTP reply a probe reads at most (headers and body).
MAX_REPLY = 1 << 20

_DNS_HEADER = struct.Struct("!HHHHHH")
_RCODES = {
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
}


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


def http_host(check: HTTPCheck, target: Target) -> str:
    """The ``Host`` header: the check's, or the target's address and port."""
    if check.host is not None:
        return check.host
    return target.describe()


def http_request(check: HTTPCheck, target: Target) -> bytes:
    """Build the request: ``GET`` over HTTP/1.0, the connection closes after the reply.

    Args:
        check: the check.
        target: where it goes.

    Returns:
        The request bytes.
    """
    return (
        f"GET {check.path} HTTP/1.0\r\n"
        f"Host: {http_host(check, target)}\r\n"
        "User-Agent: ipvs-health\r\n"
        "Accept: */*\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")


def _split_head(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the reply ended inside its headers")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, body


def http_complete(data: bytes) -> bool:
    """Tell whether a reply with a ``Content-Length`` has all its body.

    A reply without one ends when the server closes the connection.

    Args:
        data: the bytes received so far.

    Returns:
        True when the reading can stop.
    """
    try:
        _status, headers, body = _split_head(data)
    except ValueError:
        return False
    length = headers.get("content-length", "")
    return length.isdigit() and len(body) >= int(length)


def parse_http_reply(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split an HTTP/1.x reply into its status code, headers and body.

    Args:
        data: the whole reply (up to :data:`MAX_REPLY` bytes).

    Returns:
        ``(status, headers, body)``; header names are lower case; the body
        is cut at ``Content-Length`` when there is one.

    Raises:
        ValueError: the reply is malformed or ends early.
    """
    status, headers, body = _split_head(data)
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        if len(body) < int(length):
            raise ValueError(f"the body ended after {len(body)} of {length} bytes")
        body = body[: int(length)]
    return status, headers, body


def http_verdict(check: HTTPCheck, data: bytes) -> Outcome:
    """Judge an HTTP reply: status code, then body regex, then digest.

    Args:
        check: the check.
        data: the reply as received.

    Returns:
        The outcome.
    """
    try:
        status, _headers, body = parse_http_reply(data)
    except ValueError as exc:
        return Outcome(ok=False, detail=f"bad reply: {exc}")
    if status not in check.status:
        return Outcome(ok=False, detail=f"HTTP {status}")
    if check.body is not None and not re.search(check.body, body.decode("utf-8", "replace")):
        return Outcome(ok=False, detail=f"HTTP {status}, body does not match {check.body!r}")
    if check.digest is not None:
        algorithm = "md5" if len(check.digest) == 32 else "sha256"
        got = hashlib.new(algorithm, body, usedforsecurity=False).hexdigest()
        if got != check.digest:
            return Outcome(ok=False, detail=f"HTTP {status}, body {algorithm} {got}")
    return Outcome(ok=True, detail=f"HTTP {status}")


# --------------------------------------------------------------------------
# UDP
# --------------------------------------------------------------------------


def udp_verdict(check: UDPCheck, reply: bytes) -> Outcome:
    """Judge a UDP reply against the expected prefix.

    Args:
        check: the check.
        reply: the datagram received.

    Returns:
        The outcome.
    """
    if check.expect is not None and not reply.startswith(check.expect):
        return Outcome(
            ok=False, detail=f"reply {reply[:32]!r} does not start with {check.expect!r}"
        )
    return Outcome(ok=True, detail=f"reply of {len(reply)} bytes")


# --------------------------------------------------------------------------
# DNS
# --------------------------------------------------------------------------


def dns_query(ident: int, check: DNSCheck) -> bytes:
    """Build a query for ``check.name`` and ``check.type``, class IN, recursion desired.

    Args:
        ident: the query id, 0..65535.
        check: the check.

    Returns:
        The query message.
    """
    labels = [label.encode("ascii") for label in check.name.split(".") if label]
    qname = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return _DNS_HEADER.pack(ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", check.type, 1)


def dns_verdict(ident: int, reply: bytes, *, require_answer: bool = False) -> Outcome | None:
    """Judge a datagram received for a query.

    Args:
        ident: the query's id.
        reply: the datagram.
        require_answer: a reply without records fails.

    Returns:
        The outcome, or None when the datagram is not the reply to this
        query (too short, another id, not a response): keep waiting.
    """
    if len(reply) < _DNS_HEADER.size:
        return None
    got, flags, _qd, answers, _ns, _ar = _DNS_HEADER.unpack_from(reply)
    if got != ident or not flags & 0x8000:
        return None
    rcode = flags & 0x000F
    if rcode:
        return Outcome(ok=False, detail=f"DNS {_RCODES.get(rcode, f'rcode {rcode}')}")
    if require_answer and not answers:
        return Outcome(ok=False, detail="DNS NOERROR without records")
    return Outcome(ok=True, detail=f"DNS NOERROR, {answers} records")


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def command_verdict(returncode: int | None, output: bytes, *, dynamic_weight: bool) -> Outcome:
    """Judge a command's exit.

    Args:
        returncode: the exit status; negative for a signal; None when the
            command was killed at its timeout.
        output: its standard output and error (the end is shown in the detail).
        dynamic_weight: status 2..255 sets the weight to status - 2.

    Returns:
        The outcome (with ``weight`` set by a dynamic status).
    """
    text = output.decode("utf-8", "replace").strip().splitlines()
    said = f": {text[-1][:120]}" if text else ""
    if returncode is None:
        return Outcome(ok=False, detail="killed at its timeout")
    if returncode < 0:
        return Outcome(ok=False, detail=f"killed by signal {-returncode}{said}")
    if returncode == 0:
        return Outcome(ok=True, detail=f"exit status 0{said}")
    if dynamic_weight and 2 <= returncode <= 255:
        weight = returncode - 2
        return Outcome(ok=True, detail=f"exit status {returncode}: weight {weight}", weight=weight)
    return Outcome(ok=False, detail=f"exit status {returncode}{said}")
