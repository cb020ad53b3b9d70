"""Network namespaces and permissions against the real kernel.

Two named namespaces hold different tables; the calling thread's namespace
is the same after every Client construction, successful or not; without
CAP_NET_ADMIN every operation fails with IPVSPermissionError.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

import ipvs
from ipvs import Client, Destination, Service, ServiceKey
from ipvs._client import _socket
from ipvs.errors import NetnsError

REPO = pathlib.Path(__file__).resolve().parents[2]


def here() -> str:
    """The calling thread's network namespace (e.g. ``net:[4026532288]``)."""
    return os.readlink("/proc/thread-self/ns/net")


def saved_in(netns: str) -> str:
    proc = subprocess.run(
        ["nsenter", f"--net=/run/netns/{netns}", "ipvsadm", "-Sn"],
        check=True,
        capture_output=True,
        text=True,
    )
    return proc.stdout


def saved_here() -> str:
    return subprocess.run(["ipvsadm", "-Sn"], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def two_netns() -> Iterator[tuple[str, str]]:
    """Two fresh named namespaces (``ip netns add``), deleted afterwards."""
    names = (f"ta{os.getpid()}", f"tb{os.getpid()}")
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
        # until an address exists the kernel has no local routing table, and
        # then it refuses any IPv4 destination address (EINVAL)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    try:
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=True)


A_SVC = Service.tcp("10.0.0.1", 80, scheduler="rr")
A_DEST = Destination(address="10.1.0.1", port=80, forward="masq")
B_SVC = Service.mark(7, "inet6", scheduler="sh")


def test_two_namespaces_hold_different_tables(two_netns: tuple[str, str]) -> None:
    a, b = two_netns
    home = here()
    with Client(netns=a) as ca, Client(netns=b) as cb:
        assert here() == home
        ca.add_service(A_SVC)
        ca.add_destination(A_SVC, A_DEST)
        cb.add_service(B_SVC)
        ca.set_timeouts(ipvs.Timeouts(tcp=11))
        assert ca.services() == [A_SVC]
        assert cb.services() == [B_SVC]
        assert ca.timeouts().tcp == 11
        assert cb.timeouts().tcp == 900
    assert saved_in(a) == "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n"
    assert saved_in(b) == "-A -f 7 -6 -s sh\n"
    assert saved_here() == ""  # the test's own namespace is untouched
    with Client() as mine:
        assert mine.services() == []
    assert here() == home


def test_namespaces_by_path(two_netns: tuple[str, str], netns_path: str) -> None:
    a, b = two_netns
    with Client(netns=a) as ca, Client(netns=b) as cb:
        ca.add_service(A_SVC)
        cb.add_service(B_SVC)
    with Client(netns=f"/run/netns/{a}") as ca, Client(netns=pathlib.Path("/run/netns", b)) as cb:
        assert ca.services() == [A_SVC]
        assert cb.services() == [B_SVC]
    # the test's own namespace by its /proc path, from a namespace switch away
    with Client(netns=netns_path) as mine:
        mine.add_service(Service.udp("10.0.0.5", 53))
    assert saved_here() == "-A -u 10.0.0.5:53 -s wlc\n"
    assert saved_in(a) == "-A -t 10.0.0.1:80 -s rr\n"


def test_thread_namespace_unchanged_after_success(two_netns: tuple[str, str]) -> None:
    a, _ = two_netns
    home = here()
    client = Client(netns=a)
    assert here() == home
    client.add_service(A_SVC)
    assert client.snapshot()[A_SVC.key].service == A_SVC
    assert here() == home
    client.close()
    assert here() == home


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("nosuch", errno.ENOENT),  # no /run/netns/nosuch
        ("/proc/self/ns/uts", errno.EINVAL),  # a namespace, of the wrong type
        ("/etc/hostname", errno.EINVAL),  # not a namespace at all
    ],
)
def test_thread_namespace_unchanged_after_failure(target: str, code: int) -> None:
    home = here()
    with pytest.raises(NetnsError) as info:
        Client(netns=target)
    assert isinstance(info.value, ipvs.IPVSError) and isinstance(info.value, OSError)
    assert info.value.errno == code
    assert here() == home
    with Client() as client:  # and still the test's namespace
        client.add_service(A_SVC)
    assert saved_here() == "-A -t 10.0.0.1:80 -s rr\n"


def test_empty_netns_name_is_a_validation_error() -> None:
    home = here()
    with pytest.raises(ipvs.ValidationError):
        Client(netns="")
    assert here() == home


def test_thread_namespace_unchanged_when_socket_setup_fails(
    two_netns: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = two_netns
    home = here()
    target = f"net:[{os.stat(f'/run/netns/{a}').st_ino}]"
    seen: list[str] = []

    def failing_open() -> object:
        seen.append(here())
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(_socket.NetlinkSocket, "_open", staticmethod(failing_open))
    with pytest.raises(OSError) as info:
        Client(netns=a)
    assert info.value.errno == errno.EMFILE
    assert seen == [target] != [home]  # it did switch, and came back
    assert here() == home


def test_thread_namespace_unchanged_after_a_kernel_error(two_netns: tuple[str, str]) -> None:
    a, _ = two_netns
    home = here()
    with Client(netns=a) as client, pytest.raises(ipvs.ServiceNotFound):
        client.delete_service(ServiceKey.tcp("10.9.9.9", 80))
    assert here() == home


# ---------------------------------------------------------------------------
# Without CAP_NET_ADMIN
# ---------------------------------------------------------------------------

# Run in a process without CAP_NET_ADMIN; prints one JSON line per operation.
PROBE = r"""
import json, ipvs
from ipvs import Client, Service, ServiceKey, Timeouts
svc = Service.tcp("10.0.0.1", 80)
ops = {
    "services": lambda c: c.services(),
    "info": lambda c: c.info(),
    "add_service": lambda c: c.add_service(svc),
    "delete_service": lambda c: c.delete_service(ServiceKey.tcp("10.0.0.1", 80)),
    "set_timeouts": lambda c: c.set_timeouts(Timeouts(tcp=5)),
    "flush": lambda c: c.flush(),
}
with Client() as client:
    for name, op in ops.items():
        try:
            op(client)
            out = {"op": name, "ok": True}
        except Exception as exc:
            out = {"op": name, "type": type(exc).__name__, "errno": exc.errno, "text": str(exc),
                   "permission": isinstance(exc, PermissionError),
                   "ipvs": isinstance(exc, ipvs.IPVSPermissionError)}
        print(json.dumps(out), flush=True)
"""


def _check_eperm(lines: list[str]) -> None:
    results = {r["op"]: r for r in map(json.loads, lines)}
    assert set(results) == {"services", "info", "add_service", "delete_service", "set_timeouts",
                            "flush"}  # fmt: skip
    for name, r in results.items():
        assert r.get("type") == "IPVSPermissionError", r
        assert r["permission"] and r["ipvs"], r
        assert r["errno"] == errno.EPERM, r
        assert r["text"].startswith(f"{name}: "), r
        assert "CAP_NET_ADMIN" in r["text"], r
    assert results["add_service"]["text"] == (
        "add_service: permission denied: CAP_NET_ADMIN is needed (TCP 10.0.0.1:80)"
    )
    assert saved_here() == ""  # nothing was changed


def test_eperm_after_setuid_nobody() -> None:
    """fork, setuid(65534), run the probe in the child (same interpreter, same namespace)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sys.stdout = open(write, "w", closefd=False)  # noqa: SIM115 - pytest captures fd 1
            exec(compile(PROBE, "<probe>", "exec"), {})
            code = 0
        except BaseException as exc:  # pragma: no cover - reported through the pipe
            os.write(write, json.dumps({"op": "child", "error": repr(exc)}).encode() + b"\n")
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as fh:
        lines = fh.read().splitlines()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, lines
    _check_eperm(lines)


def test_eperm_in_an_unprivileged_user_namespace() -> None:
    """unshare --user: root of a new user namespace, without rights over our network namespace."""
    proc = subprocess.run(
        ["unshare", "--user", "--", sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _check_eperm(proc.stdout.splitlines())


def test_eperm_without_cap_net_admin_as_root() -> None:
    """capsh --drop: still uid 0, but CAP_NET_ADMIN is gone from every set."""
    proc = subprocess.run(
        ["capsh", "--drop=cap_net_admin", "--", "-c", f'exec {sys.executable} -c "$0"', PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _check_eperm(proc.stdout.splitlines())
