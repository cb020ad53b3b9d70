"""``ipvs run``'s start-up errors: one line, exit 2, before anything is changed (no kernel)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "howto" / "director.yaml"


def ipvs(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ipvs", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_check_describes_a_good_file() -> None:
    result = ipvs("run", "--check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{EXAMPLE}: 1 services, 3 destinations, 3 checks, bound to ipvs0\n")


@pytest.mark.parametrize("check", [["--check"], []], ids=["check", "run"])
def test_a_bad_file_fails_with_one_line_and_exit_2(
    tmp_path: pathlib.Path, check: list[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "services:\n  - {protocol: tcp, address: 10.0.0.1, port: 80, scheduler: rr,\n"
        "     checks: [{kind: http, interval: fast}]}\n"
    )
    result = ipvs("run", *check, str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ipvs: {path}: services[0].checks[0]: HTTPCheck.interval must be a positive number "
        "of seconds, got 'fast'\n"
    )


def test_a_missing_file_fails_with_one_line(tmp_path: pathlib.Path) -> None:
    result = ipvs("run", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert result.stderr == f"ipvs: {tmp_path / 'missing.yaml'}: No such file or directory\n"


def test_notify_reaches_systemds_socket(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from ipvs.daemon import notify

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")  # not under systemd: nothing to do
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        assert notify("READY=1")
        assert sock.recv(100) == b"READY=1"
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert not notify("STOPPING=1")  # a socket that went away is not an error
