"""Arguments of the clients' flows, checked before any system call (shared by both clients)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ipvs._model import Table
from ipvs._plan import Drain, Plan, check_scope
from ipvs.errors import ValidationError

__all__ = ["apply_args", "plan_arg", "reap_args"]


def _table(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, Table):
        raise ValidationError(f"{name} must be a Table, got {type(value).__name__}")


def _callback(name: str, value: object) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{name} must be callable, got {value!r}")


def apply_args(desired: object, current: object, scope: object, progress: object) -> None:
    """Check the arguments of ``apply``.

    Raises:
        ValidationError: one is of the wrong type.
    """
    _table("apply: desired", desired)
    _table("apply: current", current, optional=True)
    check_scope(scope)
    _callback("apply: progress", progress)


def plan_arg(plan: object, progress: object) -> None:
    """Check the arguments of ``apply_plan``.

    Raises:
        ValidationError: one is of the wrong type.
    """
    if not isinstance(plan, Plan):
        raise ValidationError(f"apply_plan: expected a Plan, got {type(plan).__name__}")
    _callback("apply_plan: progress", progress)


def reap_args(
    drains: Iterable[Drain],
    grace: object,
    since: object,
    current: object,
    clock: Callable[[], float] | None,
) -> list[Drain]:
    """Check the arguments of ``reap``.

    Returns:
        The drains, as a list.

    Raises:
        ValidationError: one is of the wrong type or out of range.
    """
    if isinstance(drains, (str, bytes)) or not isinstance(drains, Iterable):
        raise ValidationError(f"reap: drains must be Drain objects, got {drains!r}")
    listed: list[Any] = list(drains)
    for drain in listed:
        if not isinstance(drain, Drain):
            raise ValidationError(f"reap: drains must be Drain objects, got {drain!r}")
    if grace is not None and (
        isinstance(grace, bool)
        or not isinstance(grace, (int, float))
        or not math.isfinite(grace)
        or grace < 0
    ):
        raise ValidationError(f"reap: grace must be None or seconds >= 0, got {grace!r}")
    if since is not None and not isinstance(since, dict):
        raise ValidationError(f"reap: since must be a dict, got {type(since).__name__}")
    _table("reap: current", current, optional=True)
    _callback("reap: clock", clock)
    return listed
