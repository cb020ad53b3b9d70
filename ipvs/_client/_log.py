"""The ``ipvs`` logger, with :mod:`logging` imported on its first use.

Importing :mod:`logging` costs about 8 ms on a host (several times that in
the sandbox), and the command line's reading commands never log.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEBUG", "log"]

#: ``logging.DEBUG``, without importing logging.
DEBUG = 10


class _Logger:
    """Stands for ``logging.getLogger("ipvs")`` until an attribute is first asked for."""

    __slots__ = ("_logger",)

    def __init__(self) -> None:
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        logger = self._logger
        if logger is None:
            import logging

            logger = logging.getLogger("ipvs")
            if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
                logger.addHandler(logging.NullHandler())  # a library stays silent unless asked
            self._logger = logger
        return getattr(logger, name)


log: Any = _Logger()
