"""A throw-away IPVS kernel: run a command inside User-Mode Linux.

Most machines (and CI runners) have no IPVS, or no right to change it. The
sandbox boots a fresh User-Mode Linux kernel (Debian package
``user-mode-linux``) whose root file system is the host's own, through
hostfs, loads IPVS with every scheduler, legacy iptables, veth and dummy, and
runs one command in it as root, in the caller's working directory. The
command's output is streamed back and its exit status becomes ours.

The guest has no network device: nothing it does can reach a network.

Command line::

    python -m ipvs.testing.sandbox [--mem SIZE] [--timeout S] [--env K=V]...
        [--kernel PATH] [--modules DIR] [--module NAME]... -- CMD [ARGS...]

Python::

    from ipvs.testing.sandbox import Sandbox
    status = Sandbox(timeout=300).run(["python", "-m", "pytest", "-m", "kernel"])

Inside the guest the environment variable ``IPVS_SANDBOX`` is ``1``. The
command's standard error is merged into its standard output (both go to the
guest's console).

Another kernel: by default the sandbox boots Debian's ``linux`` (found on
``PATH``) with the newest module directory under ``/usr/lib/uml/modules``.
``--kernel PATH`` and ``--modules DIR`` (or the environment variables
``IPVS_SANDBOX_KERNEL`` and ``IPVS_SANDBOX_MODULES``; the options win) boot
another User-Mode Linux build, such as the nf_tables kernel that
``scripts/build-nft-kernel`` builds. ``DIR`` is the directory holding
``modules.dep``; a kernel given without a module directory uses the
``lib/modules/<version>`` directory next to it (the newest, if several).
``--module NAME`` (repeatable) loads more modules than :data:`DEFAULT_MODULES`
(for instance ``nf_tables``, ``nft_chain_nat``, ``nft_nat``), with their
dependencies. The guest cannot load modules on demand: the kernel's own
requests (``modprobe``) find no module directory, so every module a command
needs must be named.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO

from ipvs.errors import SandboxError, SandboxTimeout, SandboxUnavailable

__all__ = [
    "DEFAULT_MODULES",
    "INSTALL_HINT",
    "KERNEL_ENV",
    "MODULES_ENV",
    "Sandbox",
    "find_module_dir",
    "in_sandbox",
    "main",
    "module_dir",
    "resolve_modules",
    "run",
]

#: Debian packages the sandbox needs (gcc builds a small helper on some hosts).
INSTALL_HINT = "apt-get install user-mode-linux busybox-static gcc libc6-dev"

_SCHEDULERS = (
    "rr",
    "wrr",
    "lc",
    "wlc",
    "lblc",
    "lblcr",
    "dh",
    "sh",
    "sed",
    "nq",
    "fo",
    "ovf",
    "mh",
)

#: Kernel modules loaded at boot (their dependencies are added automatically).
DEFAULT_MODULES: tuple[str, ...] = (
    "ip_vs",
    *(f"ip_vs_{name}" for name in _SCHEDULERS),
    "ip_vs_pe_sip",
    "ip_tables",
    "iptable_nat",
    "iptable_filter",
    "xt_statistic",
    "xt_comment",
    "xt_nat",
    "xt_mark",
    "xt_tcpudp",
    "xt_MASQUERADE",
    "xt_conntrack",
    "xt_addrtype",
    "veth",
    "dummy",
)

#: The guest's glibc must not pick its AVX-512 string functions: their
#: registers are not switched between guest threads on hosts that need the
#: XSAVE helper (see ``uml_xstate.c``). Given to init as a boot parameter, so
#: every guest process has it.
GUEST_GLIBC_TUNABLES = "glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL"
#: The same for OpenSSL: clears the AVX-512, VAES and VPCLMULQDQ bits of
#: CPUID leaf 7 in its capability vector.
GUEST_OPENSSL_IA32CAP = "~0x0:~0x5E42D0230000"

#: Environment variable naming the User-Mode Linux binary to boot.
KERNEL_ENV = "IPVS_SANDBOX_KERNEL"
#: Environment variable naming the module directory (the one holding ``modules.dep``).
MODULES_ENV = "IPVS_SANDBOX_MODULES"

_DEFAULT_KERNEL = "linux"
_UML_MODULE_ROOT = "/usr/lib/uml/modules"
_BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
_PASSED_ENV = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "HOME", "LANG", "TERM")


def in_sandbox() -> bool:
    """Tell whether this process runs inside the sandbox guest.

    Returns:
        True inside a guest started by :class:`Sandbox`.
    """
    return os.environ.get("IPVS_SANDBOX") == "1"


def module_dir(version: str | None = None) -> str:
    """Find the directory of the User-Mode Linux kernel modules.

    Args:
        version: a kernel version; by default the newest installed one.

    Returns:
        A path such as ``/usr/lib/uml/modules/6.1.176``.

    Raises:
        SandboxUnavailable: no module directory is installed.
    """
    if version is not None:
        path = os.path.join(_UML_MODULE_ROOT, version)
        if not os.path.isfile(os.path.join(path, "modules.dep")):
            raise SandboxUnavailable(f"no User-Mode Linux modules at {path}; {INSTALL_HINT}")
        return path
    try:
        versions = [
            v
            for v in os.listdir(_UML_MODULE_ROOT)
            if os.path.isfile(os.path.join(_UML_MODULE_ROOT, v, "modules.dep"))
        ]
    except OSError:
        versions = []
    if not versions:
        raise SandboxUnavailable(
            f"no User-Mode Linux modules under {_UML_MODULE_ROOT}; {INSTALL_HINT}"
        )
    return os.path.join(_UML_MODULE_ROOT, max(versions, key=_version_key))


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in v.replace("-", ".").split("."))


def find_module_dir(path: str) -> str:
    """Find the module directory (the one holding ``modules.dep``) at or under ``path``.

    Accepts the directory itself, a directory of versions (``.../lib/modules``)
    or an install root (``INSTALL_MOD_PATH``, holding ``lib/modules/<version>``);
    with several versions the newest is taken.

    Args:
        path: a directory.

    Returns:
        The directory that holds ``modules.dep``.

    Raises:
        SandboxUnavailable: there is no ``modules.dep`` there.
    """
    if os.path.isfile(os.path.join(path, "modules.dep")):
        return path
    for parent in (path, os.path.join(path, "lib", "modules")):
        try:
            versions = [
                v
                for v in os.listdir(parent)
                if os.path.isfile(os.path.join(parent, v, "modules.dep"))
            ]
        except OSError:
            continue
        if versions:
            return os.path.join(parent, max(versions, key=_version_key))
    raise SandboxUnavailable(f"no kernel modules (modules.dep) at or under {path}")


def resolve_modules(directory: str, names: Iterable[str]) -> list[str]:
    """Order the modules to load, dependencies first, from ``modules.dep``.

    This runs on the host so the guest needs no ``modprobe`` and no extra
    process per lookup.

    Args:
        directory: the module directory (see :func:`module_dir`).
        names: module names such as ``"ip_vs_rr"``; ``-`` and ``_`` are equal.

    Returns:
        Absolute paths of ``.ko`` files in a valid load order, each once.
        Modules built into the kernel are left out.

    Raises:
        SandboxUnavailable: a module is neither a file nor built in.
    """
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    with open(os.path.join(directory, "modules.dep"), encoding="utf-8") as fh:
        for line in fh:
            head, _, tail = line.partition(":")
            head = head.strip()
            if not head:
                continue
            deps[head] = tail.split()
            by_name[_module_name(head)] = head
    builtin: set[str] = set()
    try:
        with open(os.path.join(directory, "modules.builtin"), encoding="utf-8") as fh:
            builtin = {_module_name(line.strip()) for line in fh if line.strip()}
    except OSError:
        pass

    order: list[str] = []
    seen: set[str] = set()

    def visit(rel: str) -> None:
        if rel in seen:
            return
        seen.add(rel)
        for dep in deps.get(rel, []):
            visit(dep)
        order.append(rel)

    for name in names:
        norm = name.replace("-", "_")
        if norm in by_name:
            visit(by_name[norm])
        elif norm not in builtin:
            raise SandboxUnavailable(f"kernel module {name!r} not found in {directory}")
    return [os.path.join(directory, rel) for rel in order]


def _module_name(rel: str) -> str:
    base = os.path.basename(rel)
    for suffix in (".ko", ".ko.xz", ".ko.gz", ".ko.zst"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def _find_busybox() -> str:
    for path in _BUSYBOX_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("busybox")
    if found:
        return found
    raise SandboxUnavailable(f"busybox is not installed; {INSTALL_HINT}")


class Sandbox:
    """A recipe for booting the sandbox kernel; each :meth:`run` boots a fresh one.

    Args:
        mem: guest memory, in User-Mode Linux syntax (``"1G"``, ``"512M"``).
        timeout: seconds after which the guest is killed.
        kernel: the User-Mode Linux binary, a path or a name looked up on PATH;
            by default ``$IPVS_SANDBOX_KERNEL``, else ``linux``.
        modules: kernel modules to load.
        env: extra environment variables for the command.
        module_dir: the kernel's module directory (see :func:`find_module_dir`);
            by default ``$IPVS_SANDBOX_MODULES``, else the ``lib/modules``
            directory next to an explicitly chosen kernel, else Debian's
            (:func:`module_dir`).
        extra_modules: more modules to load after ``modules`` (for instance
            ``nf_tables``), with their dependencies.
    """

    def __init__(
        self,
        *,
        mem: str = "1G",
        timeout: float = 600.0,
        kernel: str | None = None,
        modules: Sequence[str] = DEFAULT_MODULES,
        env: Mapping[str, str] | None = None,
        module_dir: str | None = None,
        extra_modules: Sequence[str] = (),
    ) -> None:
        self.mem = mem
        self.timeout = timeout
        self.kernel = kernel or os.environ.get(KERNEL_ENV) or _DEFAULT_KERNEL
        self.module_dir = module_dir or os.environ.get(MODULES_ENV) or None
        self.modules = tuple(modules)
        self.extra_modules = tuple(extra_modules)
        self.env = dict(env or {})
        #: The private directory of the last run (its init script's folder);
        #: every guest process has it on its command line.
        self.last_workdir: str | None = None

    def _kernel_path(self) -> str:
        path = shutil.which(self.kernel)
        if path is None:
            where = "" if os.sep in self.kernel else " on PATH"
            raise SandboxUnavailable(
                f"User-Mode Linux kernel {self.kernel!r} not found{where}; {INSTALL_HINT}"
            )
        return path

    def modules_directory(self) -> str:
        """Return the module directory this sandbox loads modules from.

        Returns:
            The directory holding ``modules.dep``.

        Raises:
            SandboxUnavailable: no module directory is found.
        """
        if self.module_dir is not None:
            return find_module_dir(self.module_dir)
        if os.sep in self.kernel:
            beside = os.path.join(os.path.dirname(os.path.abspath(self.kernel)), "lib", "modules")
            if os.path.isdir(beside):
                return find_module_dir(beside)
        return module_dir()

    def script(self, argv: Sequence[str], *, cwd: str, marker: str) -> str:
        """Build the guest's init script.

        Args:
            argv: the command and its arguments.
            cwd: the directory to run it in.
            marker: a random token that frames the command's output.

        Returns:
            The script text (run by busybox sh as the guest's init).

        Raises:
            SandboxUnavailable: busybox or a module is missing.
        """
        bb = _find_busybox()
        modules = resolve_modules(self.modules_directory(), self.modules + self.extra_modules)
        q = shlex.quote
        lines = [
            f"#!{bb} sh",
            f"{bb} mount -t proc proc /proc",
            f"{bb} mount -t sysfs sysfs /sys",
            "echo 1 > /proc/sys/kernel/printk",
            f"{bb} stty -onlcr 2>/dev/null",
        ]
        lines += [
            f"{bb} insmod {q(path)} || echo 'sandbox: cannot load {q(path)}'" for path in modules
        ]
        if not (cwd == "/run" or cwd.startswith("/run/")):
            lines.append(f"{bb} mount -t tmpfs -o mode=755 tmpfs /run")
        lines += [
            f"{bb} mkdir -p /run/netns /dev/shm /dev/pts",
            f"{bb} mount -t tmpfs tmpfs /dev/shm",
            f"{bb} mount -t devpts devpts /dev/pts 2>/dev/null",
            f"{bb} ip link set lo up",
            # what udev makes on a real system: process substitution needs /dev/fd
            f"{bb} ln -sf /proc/self/fd /dev/fd",
            f"{bb} ln -sf /proc/self/fd/0 /dev/stdin",
            f"{bb} ln -sf /proc/self/fd/1 /dev/stdout",
            f"{bb} ln -sf /proc/self/fd/2 /dev/stderr",
        ]
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(self.env)
        env["IPVS_SANDBOX"] = "1"
        env["GLIBC_TUNABLES"] = GUEST_GLIBC_TUNABLES
        env["OPENSSL_ia32cap"] = GUEST_OPENSSL_IA32CAP
        lines.append("unset mem")  # the kernel hands unknown boot parameters to init
        lines += [f"export {k}={q(v)}" for k, v in sorted(env.items())]
        lines += [
            f"cd {q(cwd)} || {bb} poweroff -f",
            f"echo {marker}-begin",
            # the command by its full path: BusyBox's shell would otherwise run
            # its own applets (sh, ip, date, ...) instead of the host's programs
            " ".join(q(a) for a in [_host_program(argv[0]), *argv[1:]]) + " </dev/null 2>&1",
            "rc=$?",
            f"echo; echo {marker}-end $rc",
            f"{bb} poweroff -f",
        ]
        return "\n".join(lines) + "\n"

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        output: BinaryIO | None = None,
    ) -> int:
        """Boot the guest, run ``argv`` in it, stream its output, halt.

        Args:
            argv: the command and its arguments (looked up on the caller's PATH
                inside the guest).
            cwd: the working directory; by default the current one.
            output: where the command's output goes; by default our stdout.

        Returns:
            The command's exit status.

        Raises:
            SandboxUnavailable: User-Mode Linux, busybox or a module is missing.
            SandboxTimeout: the guest ran longer than ``timeout``; it was killed.
            SandboxError: the guest failed before or while running the command.
        """
        if not argv:
            raise SandboxError("no command given")
        kernel = self._kernel_path()
        out = output if output is not None else sys.stdout.buffer
        cwd = os.path.abspath(cwd or os.getcwd())
        marker = "@@ipvs-sandbox-" + secrets.token_hex(8)
        workdir = tempfile.mkdtemp(prefix="ipvs-sandbox-", dir=_script_dir())
        self.last_workdir = workdir
        try:
            init = os.path.join(workdir, "init")
            with open(init, "w", encoding="utf-8") as fh:
                fh.write(self.script(argv, cwd=cwd, marker=marker))
            os.chmod(init, 0o755)
            cmd = [
                kernel,
                f"mem={self.mem}",
                "root=/dev/root",
                "rootfstype=hostfs",
                "rootflags=/",
                "rw",
                f"init={init}",
                f"GLIBC_TUNABLES={GUEST_GLIBC_TUNABLES}",
                "con0=null,fd:1",
                "con=null",
                "quiet",
            ]
            env = dict(os.environ)
            shim = xstate_helper()
            if shim is not None:
                env["LD_PRELOAD"] = " ".join(filter(None, (shim, env.get("LD_PRELOAD"))))
            if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
                env["TMPDIR"] = "/dev/shm"
            return self._drive(cmd, env, marker.encode(), out)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _drive(self, cmd: list[str], env: dict[str, str], marker: bytes, out: BinaryIO) -> int:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        begin, end = marker + b"-begin\n", b"\n" + marker + b"-end "
        boot_log = bytearray()
        pending = b""
        started = False
        status: int | None = None
        try:
            while status is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxTimeout(
                        f"sandbox: the guest ran longer than {self.timeout:g} s and was killed"
                    )
                ready, _, _ = select.select([fd], [], [], min(left, 1.0))
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                if not started:
                    idx = pending.find(begin)
                    if idx < 0:
                        boot_log += pending[: max(0, len(pending) - len(begin))]
                        pending = pending[max(0, len(pending) - len(begin)) :]
                        continue
                    boot_log += pending[:idx]
                    pending = pending[idx + len(begin) :]
                    started = True
                idx = pending.find(end)
                if idx >= 0:
                    tail = pending[idx + len(end) :]
                    if b"\n" not in tail:
                        continue  # the status number is not complete yet
                    out.write(pending[:idx])
                    out.flush()
                    status = int(tail.split(b"\n", 1)[0].strip() or b"1")
                    break
                # write out all but what could be the start of the end marker
                keep = _partial_suffix(pending, end)
                if len(pending) > keep:
                    out.write(pending[: len(pending) - keep])
                    out.flush()
                    pending = pending[len(pending) - keep :]
        finally:
            self._stop(proc, graceful=status is not None)
        if status is None:
            log = (bytes(boot_log) + pending).decode("utf-8", "replace").strip()
            last = "\n".join(log.splitlines()[-20:])
            raise SandboxError(f"sandbox: the guest stopped before the command finished:\n{last}")
        return status

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
        try:
            if graceful:
                try:
                    proc.wait(timeout=10)
                    return
                except subprocess.TimeoutExpired:
                    pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            # The kernel's helper processes (one per guest process) die on their
            # own time, which on a loaded host is after the main one: wait for the
            # whole group, briefly, so nothing of the guest outlives the call.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(proc.pid, 0)
                except (ProcessLookupError, PermissionError):
                    break
                time.sleep(0.05)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def _host_needs_xstate_helper() -> bool:
    # UML 6.1 writes 832 bytes of XSAVE state; hosts with AVX-512, protection
    # keys or AMX have a larger XSAVE area and refuse that.
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:
        return False
    return any(f in flags for f in ("avx512f", "pku", "amx_tile"))


def xstate_helper() -> str | None:
    """Build (once) and return the preload library UML 6.1 needs on some hosts.

    See ``ipvs/testing/uml_xstate.c``: on a host whose XSAVE area is larger
    than the 832 bytes User-Mode Linux 6.1 knows (AVX-512, protection keys,
    AMX), the guest's first process dies at boot without it. The library is
    compiled with the host's C compiler into ``~/.cache/ipvs`` (or the
    temporary directory), named by a hash of its source.

    Returns:
        The library's path, or None when no compiler is found and the host
        does not need it.

    Raises:
        SandboxUnavailable: the host needs the library and it cannot be built.
    """
    import hashlib
    import platform

    if platform.machine() != "x86_64":
        return None
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "uml_xstate.c")
    with open(source, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    targets = [
        os.path.join(directory, f"uml-xstate-{digest}.so")
        for directory in (os.path.join(cache, "ipvs"), os.path.join(tempfile.gettempdir(), "ipvs"))
    ]
    for target in targets:
        if os.path.isfile(target):
            return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    needed = _host_needs_xstate_helper()
    problem = "no C compiler found"
    for target in targets:
        if compiler is None:
            break
        partial = f"{target}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            proc = subprocess.run(
                [compiler, "-O2", "-shared", "-fPIC", "-o", partial, source, "-ldl"],
                capture_output=True,
                text=True,
            )
        except OSError as exc:
            problem = f"cannot build {target}: {exc}"
            continue
        if proc.returncode == 0:
            os.replace(partial, target)
            return target
        problem = f"{compiler} failed: {proc.stderr.strip()[-300:]}"
    if not needed:
        return None
    raise SandboxUnavailable(
        "this host's XSAVE area (AVX-512, protection keys or AMX) needs a small helper "
        f"for User-Mode Linux 6.1, and it cannot be built ({problem}); {INSTALL_HINT}"
    )


def _host_program(name: str) -> str:
    """The host's program for a command name (as the caller's PATH finds it)."""
    if "/" in name:
        return name
    return shutil.which(name) or name


def _partial_suffix(data: bytes, marker: bytes) -> int:
    """Length of the longest suffix of ``data`` that is a prefix of ``marker``."""
    for size in range(min(len(data), len(marker) - 1), 0, -1):
        if marker.startswith(data[-size:]):
            return size
    return 0


def _script_dir() -> str:
    # The guest mounts its own /dev, /proc, /sys and /run: the init script must
    # live elsewhere on the shared file system.
    base = tempfile.gettempdir()
    hidden = ("/dev", "/proc", "/sys", "/run")
    if any(base == h or base.startswith(h + "/") for h in hidden):
        base = "/tmp"
    return base


def run(
    argv: Sequence[str],
    *,
    mem: str = "1G",
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    kernel: str | None = None,
    module_dir: str | None = None,
    extra_modules: Sequence[str] = (),
) -> int:
    """Boot a fresh sandbox kernel and run one command in it.

    Args:
        argv: the command and its arguments.
        mem: guest memory (``"1G"``).
        timeout: seconds before the guest is killed.
        env: extra environment variables.
        cwd: the working directory (default: the current one).
        kernel: the User-Mode Linux binary (see :class:`Sandbox`).
        module_dir: its module directory (see :class:`Sandbox`).
        extra_modules: modules to load besides :data:`DEFAULT_MODULES`.

    Returns:
        The command's exit status.

    Raises:
        SandboxUnavailable: User-Mode Linux or busybox is not installed.
        SandboxTimeout: the command ran past ``timeout``.
        SandboxError: the guest failed.
    """
    box = Sandbox(
        mem=mem,
        timeout=timeout,
        env=env,
        kernel=kernel,
        module_dir=module_dir,
        extra_modules=extra_modules,
    )
    return box.run(argv, cwd=cwd)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m ipvs.testing.sandbox -- CMD``.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: the command's, 124 on timeout, 127 when the sandbox
        cannot start.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ipvs.testing.sandbox",
        description="Run a command as root inside a throw-away User-Mode Linux kernel with IPVS.",
    )
    parser.add_argument("--mem", default="1G", help="guest memory (default 1G)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="extra environment variable"
    )
    parser.add_argument(
        "--kernel",
        metavar="PATH",
        help=f"User-Mode Linux binary (default: ${KERNEL_ENV}, else 'linux' on PATH)",
    )
    parser.add_argument(
        "--modules",
        metavar="DIR",
        dest="module_dir",
        help=f"its module directory, holding modules.dep (default: ${MODULES_ENV}, else "
        "lib/modules beside --kernel, else the newest under /usr/lib/uml/modules)",
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME",
        dest="extra_modules",
        help="load this kernel module too, with its dependencies (repeatable)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = parser.parse_args(argv)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("no command given (use: -- CMD [ARGS...])")
    extra: dict[str, str] = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--env expects K=V, got {item!r}")
        extra[key] = value
    try:
        return run(
            command,
            mem=args.mem,
            timeout=args.timeout,
            env=extra,
            kernel=args.kernel,
            module_dir=args.module_dir,
            extra_modules=args.extra_modules,
        )
    except SandboxTimeout as exc:
        print(exc, file=sys.stderr)
        return 124
    except SandboxUnavailable as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 127
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main())
