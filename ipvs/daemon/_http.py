"""The metrics endpoint: ``GET /metrics`` over HTTP, served by a thread of the standard library."""

from __future__ import annotations

import gzip
import http.server
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from ipvs.daemon._metrics import CONTENT_TYPE
from ipvs.errors import IPVSError

__all__ = ["MetricsServer"]

log = logging.getLogger("ipvs.daemon")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class MetricsServer:
    """Serve Prometheus's text at ``/metrics`` on an address, from a thread.

    Each request reads the figures anew (``produce``); a client that accepts
    gzip gets them compressed. ``/`` answers with a pointer to ``/metrics``;
    anything else is 404. A failure to read answers 500 with one line.

    Args:
        host: the address to listen on (IPv4 or IPv6, or a name).
        port: the port (0: any free one; see :attr:`address`).
        produce: returns the text.

    Raises:
        IPVSError: the address cannot be listened on.
    """

    def __init__(self, host: str, port: int, produce: Callable[[], str]) -> None:
        self._produce = produce
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "ipvs-run"

            def do_GET(self) -> None:
                outer._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics: %s %s", self.address_string(), format % args)

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = type("Server", (_Server,), {"address_family": family})
        try:
            self._server = server((host, port), Handler)
        except OSError as exc:
            raise IPVSError(
                f"metrics: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ipvs-metrics", daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        """The address and port listened on."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def _answer(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path == "/":
            self._send(request, 200, "text/plain; charset=utf-8", b"ipvs run: see /metrics\n")
            return
        if path != "/metrics":
            self._send(request, 404, "text/plain; charset=utf-8", b"not found\n")
            return
        try:
            body = self._produce().encode()
        except Exception as exc:  # the kernel could not be read: say so, keep serving
            log.error("metrics: reading the figures failed: %s", exc)
            self._send(request, 500, "text/plain; charset=utf-8", f"{exc}\n".encode())
            return
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        if gzipped:
            body = gzip.compress(body, compresslevel=1)
        self._send(request, 200, CONTENT_TYPE, body, gzipped=gzipped)

    @staticmethod
    def _send(
        request: http.server.BaseHTTPRequestHandler,
        status: int,
        kind: str,
        body: bytes,
        *,
        gzipped: bool = False,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(body)))
        if gzipped:
            request.send_header("Content-Encoding", "gzip")
        request.end_headers()
        request.wfile.write(body)

    def close(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
