"""``ipvs run CONFIG``: the director as a process, with signals, logging and systemd readiness."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

from ipvs.daemon._config import Config, load_config
from ipvs.daemon._director import Director, logger

__all__ = ["check", "notify", "run"]

#: The format of the log lines on standard error (journald adds its own time stamps).
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def notify(message: str) -> bool:
    """Tell systemd how the service is doing (``sd_notify``), if it listens.

    Args:
        message: e.g. ``"READY=1"``, ``"STOPPING=1"``, ``"STATUS=..."``.

    Returns:
        True when the message was sent (``NOTIFY_SOCKET`` is set and reachable).
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
    except OSError:
        return False
    return True


def check(path: str) -> Config:
    """Read a configuration and check what it needs, as ``ipvs run --check`` does.

    Args:
        path: the file.

    Returns:
        The configuration.

    Raises:
        ValidationError: the file is invalid.
        MissingDependency: it needs a package that is not installed.
    """
    config = load_config(path)
    if config.bind is not None:
        from ipvs._client._vips import require as require_pyroute2

        require_pyroute2()
    return config


def run(path: str, *, netns: str | None = None) -> int:
    """Run the director of a configuration file until SIGTERM or SIGINT.

    Logs go to standard error. SIGHUP reloads the file. With ``NOTIFY_SOCKET``
    set (systemd's ``Type=notify``) readiness and stopping are reported.

    Args:
        path: the configuration file.
        netns: the network namespace to program (None: this process's).

    Returns:
        0 after a clean stop.

    Raises:
        ValidationError: the file is invalid (nothing was changed).
        MissingDependency: it needs a package that is not installed.
        IPVSError: the kernel refused the table at the start (nothing is
            left applied) or the metrics endpoint cannot listen.
    """
    config = check(path)
    if not logging.getLogger().handlers:
        logging.basicConfig(format=LOG_FORMAT, stream=sys.stderr)
    return asyncio.run(_serve(config, path, netns))


async def _serve(config: Config, path: str, netns: str | None) -> int:
    director = Director(config, netns=netns, path=path)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, director.request_reload)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, director.request_stop)
    try:
        await director.start()
        notify(f"READY=1\nSTATUS={config.describe()}")
        await director.serve()
        notify("STOPPING=1")
        logger.info("stopping")
    finally:
        await director.stop()
        for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0
