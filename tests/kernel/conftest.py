"""Kernel-test fixtures: every client test runs for both clients.

``client`` is a :class:`ipvs.Client`, or an :class:`ipvs.AsyncClient` driven by
a blocking adapter: each coroutine runs to completion on the test's own event
loop, so the same test exercises the asyncio code path (the loop's readiness
callbacks, ``async with`` batches and transactions) against the same kernel.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ipvs


class _Blocking:
    """A blocking face over an async context manager and its async methods."""

    def __init__(self, loop: asyncio.AbstractEventLoop, inner: Any) -> None:
        self._loop = loop
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        return attr

    def __len__(self) -> int:
        return len(self._inner)

    def __enter__(self) -> _Blocking:
        entered = self._loop.run_until_complete(self._inner.__aenter__())
        return _Blocking(self._loop, entered)

    def __exit__(self, *exc: Any) -> None:
        self._loop.run_until_complete(self._inner.__aexit__(*exc))


class AsyncAsBlocking:
    """An :class:`ipvs.AsyncClient` with the blocking :class:`ipvs.Client` interface."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self.inner = ipvs.AsyncClient(*args, **kwargs)
        self.netns = self.inner.netns

    @property
    def family_id(self) -> int:
        return self._loop.run_until_complete(self.inner.family_id())

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        if name in ("batch", "transaction"):
            return lambda *a, **k: _Blocking(self._loop, attr(*a, **k))
        return attr

    def close(self) -> None:
        self.inner.close()
        self._loop.close()

    def __enter__(self) -> AsyncAsBlocking:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Build clients of the kind under test (the test closes them)."""
    if request.param == "sync":
        yield ipvs.Client
    else:
        yield AsyncAsBlocking


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Iterator[Any]:
    """A client of the test's own (fresh) network namespace, of each kind in turn."""
    with make_client() as c:
        yield c
