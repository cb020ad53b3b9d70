"""Scopes: which services a plan may touch."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from ipvs._model import ServiceKey, Table
from ipvs.errors import ValidationError

__all__ = ["Scope", "check_scope"]


class Scope:
    """Which services a plan may touch.

    A scope is a predicate on :class:`~ipvs.ServiceKey`. Services outside it
    are never added, changed or deleted, so the library can share a kernel
    with keepalived or another manager. Scopes combine with ``|`` and ``&``.

    Args:
        predicate: returns True for the keys the plan owns.
        description: text for error messages and ``repr``.

    Example:
        >>> from ipvs import Scope, ServiceKey
        >>> scope = Scope.networks("10.96.0.0/12") | Scope.fwmarks(7)
        >>> scope(ServiceKey.tcp("10.96.0.10", 53)), scope(ServiceKey.tcp("192.0.2.1", 80))
        (True, False)
    """

    __slots__ = ("description", "predicate")

    def __init__(
        self, predicate: Callable[[ServiceKey], bool], description: str = "custom"
    ) -> None:
        if not callable(predicate):
            raise ValidationError(f"Scope: expected a predicate, got {predicate!r}")
        self.predicate = predicate
        self.description = description

    def __call__(self, key: ServiceKey) -> bool:
        return bool(self.predicate(key))

    def __repr__(self) -> str:
        return f"Scope({self.description})"

    def __or__(self, other: Scope) -> Scope:
        if not isinstance(other, Scope):
            raise ValidationError(f"Scope | ...: expected another Scope, got {other!r}")
        return Scope(lambda k: self(k) or other(k), f"{self.description} | {other.description}")

    def __and__(self, other: Scope) -> Scope:
        if not isinstance(other, Scope):
            raise ValidationError(f"Scope & ...: expected another Scope, got {other!r}")
        return Scope(lambda k: self(k) and other(k), f"{self.description} & {other.description}")

    @classmethod
    def everything(cls) -> Scope:
        """Every service (the default: the plan owns the whole table)."""
        return cls(lambda _k: True, "everything")

    @classmethod
    def keys(cls, keys: Iterable[ServiceKey]) -> Scope:
        """Exactly the given service keys.

        Args:
            keys: the keys owned.

        Returns:
            The scope.

        Raises:
            ValidationError: ``keys`` is not an iterable of ServiceKey.
        """
        try:
            owned = frozenset(keys)
        except TypeError:
            raise ValidationError(
                f"Scope.keys: expected service keys, got {type(keys).__name__}"
            ) from None
        for key in owned:
            if not isinstance(key, ServiceKey):
                raise ValidationError(f"Scope.keys: expected ServiceKey, got {key!r}")
        return cls(owned.__contains__, f"{len(owned)} keys")

    @classmethod
    def of(cls, table: Table) -> Scope:
        """The services listed in ``table`` (typically the desired state).

        Args:
            table: a table.

        Returns:
            The scope.

        Raises:
            ValidationError: ``table`` is not a Table.
        """
        if not isinstance(table, Table):
            raise ValidationError(f"Scope.of: expected a Table, got {type(table).__name__}")
        return cls.keys(table.keys())

    @classmethod
    def networks(cls, *networks: str | ipaddress.IPv4Network | ipaddress.IPv6Network) -> Scope:
        """Services whose virtual address lies in one of the networks.

        Args:
            *networks: networks such as ``"10.96.0.0/12"``.

        Returns:
            The scope (fwmark services are outside it).

        Raises:
            ValidationError: a network is malformed.
        """
        try:
            nets = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        except ValueError as exc:
            raise ValidationError(f"Scope.networks: {exc}") from None

        def inside(k: ServiceKey) -> bool:
            return k.address is not None and any(
                k.address.version == n.version and k.address in n for n in nets
            )

        return cls(inside, "networks " + ",".join(map(str, nets)))

    @classmethod
    def fwmarks(cls, *marks: int) -> Scope:
        """Firewall-mark services with the given marks (any family).

        Args:
            *marks: the marks.

        Returns:
            The scope.

        Raises:
            ValidationError: a mark is not an integer 1..2**32-1 (the kernel
                has no fwmark service 0).
        """
        for mark in marks:
            if isinstance(mark, bool) or not isinstance(mark, int) or not 1 <= mark <= 0xFFFFFFFF:
                raise ValidationError(
                    f"Scope.fwmarks: a firewall mark is an integer 1..4294967295, got {mark!r}"
                )
        owned = frozenset(marks)
        return cls(lambda k: k.fwmark is not None and k.fwmark in owned, f"fwmarks {sorted(owned)}")


def check_scope(scope: object) -> Scope | Callable[[ServiceKey], bool] | None:
    """Refuse a scope that is neither a :class:`Scope`, a predicate, nor None.

    Args:
        scope: what a caller passed as ``scope``.

    Returns:
        The scope.

    Raises:
        ValidationError: it is something else (a string, a number...).
    """
    if (
        scope is None
        or isinstance(scope, Scope)
        or (callable(scope) and not isinstance(scope, type))
    ):
        return scope
    raise ValidationError(
        f"scope: expected a Scope, a predicate on ServiceKey or None, got {scope!r} "
        "(for networks use Scope.networks(...))"
    )
