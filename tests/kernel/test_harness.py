"""The harness itself: IPVS answers in the sandbox, each test has its own namespace."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess

from tests.kernel import rawgenl

IPVS_CMD_GET_INFO = 15
IPVS_CMD_SET_INFO = 14


def test_get_info_reports_version_and_table_size() -> None:
    family = rawgenl.resolve_family("IPVS")
    assert family is not None and family >= 0x10
    (reply,) = rawgenl.request(family, IPVS_CMD_GET_INFO)
    attrs = rawgenl.attrs(reply)
    (version,) = struct.unpack("=I", attrs[1])
    (size,) = struct.unpack("=I", attrs[2])
    assert f"{version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF}" == "1.2.1"
    assert size == 4096


def _ipvsadm_list() -> str:
    return subprocess.run(["ipvsadm", "-Sn"], check=True, capture_output=True, text=True).stdout


def test_namespace_is_fresh_a() -> None:
    # Both tests add the same service: they pass in any order only if each
    # starts with an empty table.
    assert _ipvsadm_list() == ""
    subprocess.run(["ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr"], check=True)
    assert _ipvsadm_list() == "-A -t 10.0.0.1:80 -s rr\n"


def test_namespace_is_fresh_b() -> None:
    assert _ipvsadm_list() == ""
    subprocess.run(["ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr"], check=True)
    assert _ipvsadm_list() == "-A -t 10.0.0.1:80 -s rr\n"


def test_runs_as_root_with_loopback_up() -> None:
    assert os.geteuid() == 0
    # sysfs shows the namespace it was mounted in, so ask the kernel directly
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(sock.fileno(), 0x8913, req))[1]
    assert flags & 1, "lo is down in the test's namespace"
    assert os.environ.get("IPVS_SANDBOX") == "1"
