"""The director: a configuration's table kept in the kernel, health checked, reloaded, resynced.

One :class:`~ipvs.health.HealthChecker` on one :class:`~ipvs.AsyncClient`
does every apply, with the table the kernel is known to hold: the first
(with the VIP binding), each change of health, each reload
(:meth:`~ipvs.health.HealthChecker.reconfigure`: one apply, health states
kept for what stays) and each resync (a snapshot compared with what the
director keeps). Every write takes the namespace's writer lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import attrs

from ipvs._client._async import AsyncClient
from ipvs._model import Table
from ipvs._plan import ApplyResult, Scope
from ipvs.daemon._config import Config, OnStop, load_config, split_address
from ipvs.daemon._http import MetricsServer
from ipvs.daemon._metrics import Collector, Counters, KernelReader, exposition
from ipvs.errors import ApplyError, ConflictError, IPVSError, ValidationError
from ipvs.health import HealthChecker, ServiceStatus

__all__ = ["Director", "logger"]

#: The director's logger: starts, reloads, resyncs and stops at INFO, drift repaired
#: and refused reloads at WARNING and ERROR. The checker logs to ``ipvs.health``, each
#: apply to ``ipvs``.
logger = logging.getLogger("ipvs.daemon")


def _nothing_sent(error: ApplyError) -> bool:
    """A conflict found by the check before sending: nothing to roll back."""
    return isinstance(error, ConflictError) and getattr(error.error, "operation", "") == "check"


class _MeteredClient(AsyncClient):
    """An AsyncClient that counts its applies, failures, rollbacks and their latency."""

    counters: Counters

    async def apply(self, desired: Table, **kwargs: Any) -> ApplyResult:
        started = time.perf_counter()
        try:
            result = await super().apply(desired, **kwargs)
        except ApplyError as exc:
            self.counters.failures += 1
            if not _nothing_sent(exc):
                self.counters.rollbacks += 1
            raise
        except IPVSError:
            self.counters.failures += 1
            raise
        if result.applied and result.plan:
            self.counters.applied(time.perf_counter() - started)
        return result


class Director:
    """Keep a configuration's services in the kernel: the engine of ``ipvs run``.

    :meth:`start` applies the table (binding the addresses, if the
    configuration says so) and starts the health checks; :meth:`reload`
    reads the file again and applies the difference, keeping the health of
    the checks that stay; :meth:`resync` repairs what other writers changed
    within the director's scope; :meth:`stop` ends the checks and leaves
    the table, or removes what the director made (``daemon.on_stop``).
    :meth:`serve` does all of it until told to stop, on requests from
    signals or other tasks (:meth:`request_reload`, :meth:`request_stop`).

    The director's scope: the services of its configuration (after a
    reload, of the old and the new one, so that services taken out of the
    file are deleted) and the host addresses on its binding's interface.
    Other services in the namespace are left alone. The configuration's
    ``daemon.log_level`` is set on the ``ipvs`` logger.

    Args:
        config: the configuration.
        netns: the network namespace to program (None: the caller's).
        path: the file to read again on :meth:`reload` (default: the
            configuration's source).

    Example:
        .. code-block:: python

            config = ipvs.daemon.load_config("/etc/ipvs/director.yaml")
            director = ipvs.daemon.Director(config)
            await director.start()
            director.request_reload()        # what SIGHUP does
            await director.serve()           # until request_stop()
    """

    def __init__(
        self,
        config: Config,
        *,
        netns: str | os.PathLike[str] | None = None,
        path: str | None = None,
    ) -> None:
        if not isinstance(config, Config):
            raise ValidationError(f"Director: expected a Config, got {config!r}")
        self.config = config
        self.netns = netns
        self.path = path if path is not None else config.source
        #: What the director counted (applies, failures, reloads, ...).
        self.counters = Counters()
        self.client: AsyncClient | None = None
        self.checker: HealthChecker | None = None
        #: ``(host, port)`` the metrics endpoint listens on, once started.
        self.metrics_address: tuple[str, int] | None = None
        self._server: MetricsServer | None = None
        self._reader: KernelReader | None = None
        self._requests: asyncio.Queue[str] | None = None

    def __repr__(self) -> str:
        state = "running" if self.checker is not None and self.checker.running else "stopped"
        return f"<Director {state}: {self.config.describe()}>"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the table, bind its addresses, start the checks and the metrics endpoint.

        Raises:
            IPVSError: the kernel refused the table (nothing is left
                applied), the namespace cannot be entered, or the metrics
                endpoint cannot listen.
            MissingDependency: the configuration binds addresses without
                pyroute2.
        """
        if self.checker is not None:
            raise IPVSError("the director is started already")
        logging.getLogger("ipvs").setLevel(self.config.log_level.upper())
        started = time.perf_counter()
        client = _MeteredClient(self.netns, lock_timeout=self.config.lock_timeout)
        client.counters = self.counters
        checker = HealthChecker(
            client,
            self.config.services,
            retry_delay=self.config.retry_delay,
            bind=self.config.bind,
        )
        try:
            await checker.start()
            if self.config.metrics is not None:
                self._start_metrics(self.config.metrics)
        except BaseException:
            await checker.stop()
            client.close()
            raise
        self.client, self.checker = client, checker
        logger.info(
            "started in %.2f s: %s%s",
            time.perf_counter() - started,
            self.config.describe(),
            "" if self.metrics_address is None else f", metrics on {self._where()}",
        )

    def _where(self) -> str:
        assert self.metrics_address is not None
        host, port = self.metrics_address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _start_metrics(self, listen: str) -> None:
        host, port = split_address(listen, "daemon.metrics.listen")
        reader = KernelReader(self.netns)
        collector = Collector(reader.read, self._director_figures)
        try:
            self._server = MetricsServer(host, port, lambda: exposition(collector.families()))
        except BaseException:
            reader.close()
            raise
        self._reader = reader
        self.metrics_address = self._server.address

    @property
    def health(self) -> tuple[ServiceStatus, ...]:
        """Where every service and destination stands now (empty when not running).

        Safe to read from another thread (the metrics endpoint's).
        """
        checker = self.checker
        return checker.status() if checker is not None else ()

    def _director_figures(self) -> tuple[Counters, Sequence[ServiceStatus]]:
        return self.counters, self.health

    def _running(self) -> HealthChecker:
        if self.checker is None or not self.checker.running:
            raise IPVSError("the director is not running")
        return self.checker

    async def reload(self, config: Config | None = None) -> bool:
        """Read the file again (or take ``config``) and apply the difference.

        A file that cannot be read, or is invalid, or changes what needs a
        restart (``bind``, ``daemon.metrics``, ``daemon.lock_timeout``), is
        refused with one log line; an apply the kernel refuses is rolled back
        and logged. Either way the running table and configuration are kept.

        Args:
            config: the new configuration (default: read :attr:`path`).

        Returns:
            True when the new configuration is in force.
        """
        checker = self._running()
        if config is None:
            try:
                config = load_config(self.path)
            except IPVSError as exc:  # ValidationError, MissingDependency
                self.counters.reloads["refused"] += 1
                logger.error("reload refused, the running table is kept: %s", exc)
                return False
        restart = config.restart_needed(self.config)
        if restart:
            self.counters.reloads["refused"] += 1
            logger.error(
                "reload refused, the running table is kept: %s: %s changed, which needs a restart",
                config.source,
                " and ".join(restart),
            )
            return False
        started = time.perf_counter()
        try:
            result = await checker.reconfigure(config.services)
        except IPVSError as exc:
            self.counters.reloads["failed"] += 1
            logger.error("reload failed, the running table is kept: %s", exc)
            return False
        self.config = config
        checker.retry_delay = config.retry_delay
        self.counters.reloads["applied"] += 1
        logging.getLogger("ipvs").setLevel(config.log_level.upper())
        summary = result.plan.summary() if result is not None else "No changes."
        logger.info(
            "reloaded %s in %.3f s: %s %s",
            config.source,
            time.perf_counter() - started,
            config.describe(),
            summary,
        )
        return True

    async def resync(self) -> ApplyResult | None:
        """Compare the kernel with what the director keeps; repair what others changed.

        Returns:
            The repair's result, or None when nothing differed.

        Raises:
            IPVSError: reading or applying failed (the next resync tries again).
        """
        checker = self._running()
        started = time.perf_counter()
        self.counters.resyncs += 1
        result = await checker.resync()
        elapsed = time.perf_counter() - started
        if result is None:
            logger.debug("resync in %.3f s: no drift", elapsed)
            return None
        self.counters.repairs += 1
        logger.warning(
            "resync in %.3f s repaired drift made by others: %s",
            elapsed,
            result.plan.summary(),
        )
        for line in str(result.plan).splitlines()[:-1]:
            logger.info("  %s", line)
        return result

    async def stop(self, *, cleanup: bool | None = None) -> ApplyResult | None:
        """Stop the checks and the metrics endpoint; leave the table or remove what it made.

        Args:
            cleanup: remove the director's services, unbind their addresses
                and delete the binding's interface if it is left empty
                (default: as ``daemon.on_stop`` says).

        Returns:
            The result of the removal, if there was one.
        """
        checker, client = self.checker, self.client
        if checker is None or client is None:
            return None
        self.checker = None
        await checker.stop()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        result = None
        remove = cleanup if cleanup is not None else self.config.on_stop is OnStop.REMOVE
        try:
            if remove:
                result = await self._remove(client)
        except IPVSError as exc:
            logger.error("removing the director's services failed: %s", exc)
        finally:
            client.close()
            self.client = None
        logger.info(
            "stopped: %s",
            "services and addresses removed" if remove else "the table is left as it is",
        )
        return result

    async def _remove(self, client: AsyncClient) -> ApplyResult:
        keys = [s.key for s in self.config.services]
        current = await client.snapshot()
        desired = Table(e for k, e in current.items() if k not in set(keys))
        bind = None
        if self.config.bind is not None:
            bind = attrs.evolve(self.config.bind, keep_link=False)
        result = await client.apply(desired, current=current, scope=Scope.keys(keys), bind=bind)
        logger.info("removed: %s", result.plan.summary())
        return result

    # -- the loop ------------------------------------------------------------------------

    def _queue(self) -> asyncio.Queue[str]:
        if self._requests is None:
            self._requests = asyncio.Queue()
        return self._requests

    def request_reload(self) -> None:
        """Ask :meth:`serve` to reload (what SIGHUP does); call it from the event loop."""
        self._queue().put_nowait("reload")

    def request_stop(self) -> None:
        """Ask :meth:`serve` to stop (what SIGTERM and SIGINT do); call it from the event loop."""
        self._queue().put_nowait("stop")

    async def serve(self) -> None:
        """Reload and resync as asked and as scheduled, until :meth:`request_stop`.

        Resyncs run every ``daemon.resync`` seconds (none for 0). Errors of
        a reload or a resync are logged; the loop goes on. It returns once
        a stop is requested (then call :meth:`stop`).
        """
        self._running()
        loop = asyncio.get_running_loop()
        requests = self._queue()
        last_resync = loop.time()
        while True:
            period = self.config.resync
            timeout = None if not period else max(0.0, last_resync + period - loop.time())
            try:
                request = await asyncio.wait_for(requests.get(), timeout)
            except asyncio.TimeoutError:
                request = "resync"
            if request == "stop":
                return
            if request == "reload":
                await self.reload()
                continue
            last_resync = loop.time()
            try:
                await self.resync()
            except IPVSError as exc:
                logger.error("resync failed: %s; again in %g s", exc, self.config.resync)
