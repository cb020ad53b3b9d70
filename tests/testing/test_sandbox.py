"""The sandbox runner: status, output, environment, timeout, missing pieces."""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from ipvs.errors import SandboxTimeout, SandboxUnavailable
from ipvs.testing import sandbox
from ipvs.testing.sandbox import Sandbox, resolve_modules


def _need_uml() -> None:
    if shutil.which("linux") is None:
        if os.environ.get("IPVS_REQUIRE_KERNEL") == "1":
            pytest.fail("IPVS_REQUIRE_KERNEL=1 but User-Mode Linux is not installed")
        pytest.skip("User-Mode Linux (linux) is not installed")


def test_missing_kernel_says_what_to_install() -> None:
    with pytest.raises(SandboxUnavailable, match="apt-get install user-mode-linux"):
        Sandbox(kernel="no-such-uml-kernel").run(["true"])


def test_cli_missing_kernel_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    env_path = os.environ["PATH"]
    try:
        os.environ["PATH"] = "/nonexistent"
        assert sandbox.main(["--", "true"]) == 127
    finally:
        os.environ["PATH"] = env_path
    assert "user-mode-linux" in capsys.readouterr().err


def test_resolve_modules_orders_dependencies_first(tmp_path: os.PathLike[str]) -> None:
    d = str(tmp_path)
    with open(os.path.join(d, "modules.dep"), "w") as fh:
        fh.write("kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko:\n")
    with open(os.path.join(d, "modules.builtin"), "w") as fh:
        fh.write("kernel/builtin-thing.ko\n")
    paths = resolve_modules(d, ["a", "c", "builtin_thing"])
    assert [os.path.basename(p) for p in paths] == ["c.ko", "b.ko", "a.ko"]
    with pytest.raises(SandboxUnavailable, match="nope"):
        resolve_modules(d, ["nope"])


def test_status_output_env_and_cwd(tmp_path: os.PathLike[str]) -> None:
    _need_uml()
    out = io.BytesIO()
    box = Sandbox(timeout=120, env={"SANDBOX_TEST_VALUE": "a b'c"})
    script = 'echo first; echo "$SANDBOX_TEST_VALUE"; pwd; id -u; echo last; exit 7'
    status = box.run(["sh", "-c", script], cwd=str(tmp_path), output=out)
    assert status == 7
    assert out.getvalue().decode().splitlines() == ["first", "a b'c", str(tmp_path), "0", "last"]


def test_success_status_is_zero_through_the_cli() -> None:
    _need_uml()
    proc = subprocess.run(
        [sys.executable, "-m", "ipvs.testing.sandbox", "--", "sh", "-c", "echo ok"],
        capture_output=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (0, b"ok\n")


def test_timeout_kills_the_guest() -> None:
    _need_uml()
    started = time.monotonic()
    box = Sandbox(timeout=8)
    with pytest.raises(SandboxTimeout, match="longer than 8 s"):
        box.run(["sleep", "600"], output=io.BytesIO())
    assert time.monotonic() - started < 60
    assert box.last_workdir is not None
    leftover = subprocess.run(["pgrep", "-f", box.last_workdir], capture_output=True)
    assert leftover.stdout == b"", "guest processes survived the timeout"
    assert not os.path.exists(box.last_workdir)


def test_xstate_helper_builds_and_is_cached(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preload helper UML 6.1 needs on AVX-512/AMX hosts is built once, then reused."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = sandbox.xstate_helper()
    assert path is not None and path.startswith(str(tmp_path))
    built = os.stat(path).st_mtime_ns
    assert sandbox.xstate_helper() == path
    assert os.stat(path).st_mtime_ns == built
    symbols = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
    assert " T ptrace" in symbols.stdout


def test_guest_glibc_avoids_avx512() -> None:
    """Inside the guest, glibc is told not to use AVX-512 (its state is not switched)."""
    _need_uml()
    out = io.BytesIO()
    status = Sandbox(timeout=120).run(["sh", "-c", 'echo "$GLIBC_TUNABLES"'], output=out)
    assert status == 0
    assert "-AVX512F" in out.getvalue().decode()


def test_the_command_runs_with_the_hosts_tools_and_dev_fd() -> None:
    """`sh -c` is the host's shell, `ip` and `date` the host's; /dev/fd exists."""
    _need_uml()
    out = io.BytesIO()
    script = (
        'ip netns add probe && ip netns list; date +%N | grep -c "^[0-9]*$"; '
        'readlink /proc/$$/exe; bash -c "diff <(echo a) <(echo a) && echo substituted"'
    )
    status = Sandbox(timeout=120).run(["sh", "-c", script], output=out)
    lines = out.getvalue().decode().split()
    assert status == 0, lines
    assert lines[0] == "probe"  # iproute2's ip, not BusyBox's usage text
    assert lines[1] == "1"  # GNU date understands %N
    assert not lines[2].endswith("busybox")
    assert lines[3] == "substituted"
