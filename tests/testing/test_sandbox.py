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


def test_cli_missing_kernel_exit_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(sandbox.KERNEL_ENV, raising=False)
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


# -- choosing the kernel, its module directory and extra modules -----------------------


def _fake_modules(directory: pathlib.Path, extra: str = "") -> pathlib.Path:
    """Write a modules.dep that has every default module (no dependencies) plus ``extra``."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"kernel/{name}.ko:" for name in sandbox.DEFAULT_MODULES]
    (directory / "modules.dep").write_text("\n".join(lines) + "\n" + extra)
    return directory


NFT_DEPS = (
    "kernel/net/netfilter/nf_tables.ko: kernel/lib/libcrc32c.ko\n"
    "kernel/lib/libcrc32c.ko:\n"
    "kernel/net/netfilter/nft_nat.ko: kernel/net/netfilter/nf_tables.ko kernel/lib/libcrc32c.ko\n"
    "kernel/net/netfilter/nft_chain_nat.ko: kernel/net/netfilter/nf_tables.ko "
    "kernel/lib/libcrc32c.ko\n"
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(sandbox.KERNEL_ENV, raising=False)
    monkeypatch.delenv(sandbox.MODULES_ENV, raising=False)
    return monkeypatch


def test_defaults_are_unchanged_without_options(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(sandbox, "module_dir", lambda version=None: "/debian/modules")
    box = Sandbox()
    assert (box.kernel, box.module_dir, box.extra_modules) == ("linux", None, ())
    assert box.modules == sandbox.DEFAULT_MODULES
    assert box.modules_directory() == "/debian/modules"


def test_environment_chooses_kernel_and_modules(
    clean_env: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    mods = _fake_modules(tmp_path / "env" / "lib" / "modules" / "6.1.192-nft")
    clean_env.setenv(sandbox.KERNEL_ENV, "/env/linux")
    clean_env.setenv(sandbox.MODULES_ENV, str(mods))
    box = Sandbox()
    assert (box.kernel, box.modules_directory()) == ("/env/linux", str(mods))
    # explicit arguments win over the environment
    other = _fake_modules(tmp_path / "arg")
    box = Sandbox(kernel="/arg/linux", module_dir=str(other))
    assert (box.kernel, box.modules_directory()) == ("/arg/linux", str(other))


def test_find_module_dir_accepts_the_directory_a_version_list_or_an_install_root(
    tmp_path: pathlib.Path,
) -> None:
    old = _fake_modules(tmp_path / "lib" / "modules" / "6.1.99-nft")
    new = _fake_modules(tmp_path / "lib" / "modules" / "6.1.192-nft")
    (tmp_path / "lib" / "modules" / "6.1.200-broken").mkdir()  # no modules.dep
    assert sandbox.find_module_dir(str(old)) == str(old)
    assert sandbox.find_module_dir(str(tmp_path / "lib" / "modules")) == str(new)
    assert sandbox.find_module_dir(str(tmp_path)) == str(new)
    with pytest.raises(SandboxUnavailable, match=r"modules\.dep"):
        sandbox.find_module_dir(str(tmp_path / "lib"))


def test_a_kernel_path_finds_the_modules_beside_it(
    clean_env: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    mods = _fake_modules(tmp_path / "lib" / "modules" / "6.1.192-nft")
    kernel = tmp_path / "linux"
    kernel.write_text("")
    assert Sandbox(kernel=str(kernel)).modules_directory() == str(mods)


def test_script_loads_extra_modules_after_the_defaults_dependencies_first(
    clean_env: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    mods = _fake_modules(tmp_path / "mods", NFT_DEPS)
    clean_env.setattr(sandbox, "_find_busybox", lambda: "/bin/busybox")
    box = Sandbox(module_dir=str(mods), extra_modules=["nft-chain-nat", "nft_nat", "nf_tables"])
    script = box.script(["true"], cwd="/tmp", marker="m")
    loaded = [
        os.path.relpath(line.split()[2], mods)
        for line in script.splitlines()
        if line.startswith("/bin/busybox insmod ")
    ]
    defaults = [f"kernel/{name}.ko" for name in sandbox.DEFAULT_MODULES]
    assert loaded == [
        *defaults,
        "kernel/lib/libcrc32c.ko",
        "kernel/net/netfilter/nf_tables.ko",
        "kernel/net/netfilter/nft_chain_nat.ko",
        "kernel/net/netfilter/nft_nat.ko",
    ]
    with pytest.raises(SandboxUnavailable, match="nft_numgen"):
        Sandbox(module_dir=str(mods), extra_modules=["nft_numgen"]).script(
            ["true"], cwd="/tmp", marker="m"
        )


def test_cli_passes_kernel_modules_and_extra_modules(
    clean_env: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    seen: list[Sandbox] = []

    def fake_run(self: Sandbox, argv: list[str], **kwargs: object) -> int:
        seen.append(self)
        assert argv == ["echo", "hi"]
        return 3

    clean_env.setattr(Sandbox, "run", fake_run)
    argv = ["--kernel", "/k/linux", "--modules", "/k/mods"]
    argv += ["--module", "nf_tables", "--module", "nft_nat", "--", "echo", "hi"]
    assert sandbox.main(argv) == 3
    box = seen.pop()
    assert (box.kernel, box.module_dir) == ("/k/linux", "/k/mods")
    assert box.extra_modules == ("nf_tables", "nft_nat")
    assert box.modules == sandbox.DEFAULT_MODULES
    # without options the CLI takes the environment, and options beat it
    clean_env.setenv(sandbox.KERNEL_ENV, "/env/linux")
    clean_env.setenv(sandbox.MODULES_ENV, "/env/mods")
    assert sandbox.main(["--", "echo", "hi"]) == 3
    box = seen.pop()
    assert (box.kernel, box.module_dir, box.extra_modules) == ("/env/linux", "/env/mods", ())
    assert sandbox.main(["--kernel", "/k/linux", "--", "echo", "hi"]) == 3
    assert (seen[-1].kernel, seen[-1].module_dir) == ("/k/linux", "/env/mods")


def test_missing_extra_module_exit_status(
    clean_env: pytest.MonkeyPatch, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _need_uml()
    mods = _fake_modules(tmp_path / "mods")
    status = sandbox.main(["--modules", str(mods), "--module", "no_such_mod", "--", "true"])
    assert status == 127
    assert "no_such_mod" in capsys.readouterr().err


# -- the nf_tables kernel of scripts/build-nft-kernel (skipped unless it is built) ------

#: The modules an nftables ruleset like kube-proxy's needs (dependencies follow).
NFT_MODULES = (
    "nf_tables",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_numgen",
    "nft_ct",
    "nft_reject_ipv4",
    "nft_fib_ipv4",
)


def _nft_kernel() -> tuple[str, str] | None:
    """Return (kernel, module directory) of a cached nf_tables build, or None."""
    kernel = os.environ.get(sandbox.KERNEL_ENV)
    if kernel:
        return kernel, os.environ.get(sandbox.MODULES_ENV) or ""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    builds = sorted(pathlib.Path(cache, "ipvs", "uml-nft").glob("*/linux"))
    if not builds:
        return None
    return str(builds[-1]), ""


def test_nft_kernel_boots_with_nftables_ipvs_and_iptables(tmp_path: pathlib.Path) -> None:
    """Boots the kernel of scripts/build-nft-kernel (SKIPPED when it is not built).

    Build it with ``bash scripts/build-nft-kernel`` (about 40 minutes on two
    cores); the test then finds it in ``~/.cache/ipvs/uml-nft`` or through
    ``IPVS_SANDBOX_KERNEL``.
    """
    found = _nft_kernel()
    if found is None:
        pytest.skip("no nf_tables UML kernel built (bash scripts/build-nft-kernel)")
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed (apt-get install nftables)")
    kernel, modules = found
    ruleset = tmp_path / "rules.nft"
    ruleset.write_text(
        "table ip t {\n"
        "  map svc { type ipv4_addr . inet_proto . inet_service : verdict ; }\n"
        "  chain ep { meta l4proto tcp dnat to 10.1.1.2:8080 ; }\n"
        "  chain s { numgen random mod 1 vmap { 0 : goto ep } ; }\n"
        "  chain pre { type nat hook prerouting priority dstnat ; "
        "ip daddr . meta l4proto . th dport vmap @svc ; }\n"
        "}\n"
        "add element ip t svc { 10.96.0.1 . tcp . 80 : goto s }\n"
    )
    script = (
        f"nft -f {ruleset} && nft list ruleset && ipvsadm -A -t 10.96.0.1:80 && ipvsadm -Ln"
        " && iptables-legacy -t nat -L -n && uname -r"
    )
    out = io.BytesIO()
    box = Sandbox(timeout=180, kernel=kernel, module_dir=modules or None, extra_modules=NFT_MODULES)
    status = box.run(["sh", "-c", script], output=out)
    text = out.getvalue().decode()
    assert status == 0, text
    assert "10.96.0.1 . tcp . 80 : goto s" in text
    assert "TCP  10.96.0.1:80 wlc" in text
    assert "Chain PREROUTING" in text
    assert "cannot load" not in text
