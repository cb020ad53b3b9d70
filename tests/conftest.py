"""Test configuration: host tests run anywhere, kernel tests need IPVS.

Kernel tests carry the ``kernel`` marker (every test under tests/kernel/ gets
it automatically). They need the IPVS generic netlink family and
CAP_NET_ADMIN, which the sandbox provides::

    python -m ipvs.testing.sandbox -- python -m pytest -m kernel

Where no usable kernel is found they are skipped, unless the environment
variable IPVS_REQUIRE_KERNEL=1 is set (as the README's test command and CI
do): then they fail.

Each kernel test runs in a fresh network namespace (IPVS state is per
namespace), so the tests are isolated and independent of order.
"""

from __future__ import annotations

import functools
import os
import pathlib
import tempfile
import threading
from collections.abc import Iterator

import pytest
from hypothesis import settings

from ipvs.testing import netns as _netns

# Test machines are shared and their speed varies: a hypothesis deadline would
# make tests fail on timing, which is not what they test (benchmarks/ measures it).
settings.register_profile("ipvs", deadline=None)
settings.load_profile("ipvs")

KERNEL_DIR = pathlib.Path(__file__).parent / "kernel"

if os.environ.get("IPVS_SANDBOX") != "1":
    # host runs: the clients' writer locks go to a private directory, not /run/ipvs
    os.environ.setdefault("IPVS_LOCK_DIR", tempfile.mkdtemp(prefix="ipvs-test-locks-"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if KERNEL_DIR in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kernel)


@functools.lru_cache(maxsize=1)
def kernel_unusable() -> str | None:
    """Return why kernel tests cannot run here, or None when they can."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            caps = next(line for line in fh if line.startswith("CapEff:"))
        if not int(caps.split()[1], 16) & (1 << 12):
            return "no CAP_NET_ADMIN (run the kernel tests in the sandbox, as root)"
    except (OSError, StopIteration, ValueError) as exc:
        return f"cannot read capabilities: {exc}"
    from tests.kernel.rawgenl import resolve_family

    try:
        if resolve_family("IPVS") is None:
            return "the kernel has no IPVS (generic netlink family 'IPVS' is not registered)"
    except OSError as exc:
        return f"generic netlink unavailable: {exc}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel") is None:
        return
    reason = kernel_unusable()
    if reason is None:
        return
    if os.environ.get("IPVS_REQUIRE_KERNEL") == "1":
        pytest.fail(f"IPVS_REQUIRE_KERNEL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _kernel_netns(request: pytest.FixtureRequest) -> Iterator[None]:
    """Put every kernel test in a fresh network namespace of its own."""
    if request.node.get_closest_marker("kernel") is None:
        yield
        return
    with _netns.fresh():
        yield


@pytest.fixture
def netns_path() -> str:
    """The namespace file of the test's own (fresh) network namespace."""
    return f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net"
