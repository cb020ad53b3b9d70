"""The ``ipvs`` command line, through real subprocesses, against the kernel and ipvsadm."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

RICH = """\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 3
-A -u 10.0.0.2:53 -s wrr -o
-a -u 10.0.0.2:53 -r 10.1.0.3:53 -g -w 1
-A -f 7 -s sh -b sh-fallback,sh-port
-A -t [2001:db8::1]:443 -s wlc -p 360 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -g -w 1
"""


def ipvs(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipvs", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ipvsadm(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["ipvsadm", *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout


def restore_with_ipvsadm(text: str) -> None:
    ipvsadm("-C")
    ipvsadm("-R", stdin=text)


def test_show_save_and_info_match_ipvsadm() -> None:
    restore_with_ipvsadm(RICH)
    save = ipvs("save")
    assert (save.returncode, save.stderr) == (0, "")
    assert save.stdout == ipvsadm("-Sn")
    for flags in ([], ["--stats"], ["--rate"], ["--exact"]):
        shown = ipvs("show", *flags)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == ipvsadm("-Ln", *flags), flags
    info = ipvs("info")
    assert info.stdout.startswith("IP Virtual Server version 1.2.1 (size=4096)")
    data = json.loads(ipvs("show", "--json").stdout)
    assert len(data["services"]) == 4


def test_restore_is_atomic_and_noflush_merges(tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "rules"
    rules.write_text(RICH)
    out = ipvs("restore", str(rules))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "Plan: 8 to add, 0 to change, 0 to delete."
    assert ipvsadm("-Sn") == ipvs("save").stdout
    restore_with_ipvsadm(RICH)
    ours = ipvsadm("-Sn")
    # restoring the same text again changes nothing
    again = ipvs("restore", str(rules))
    assert again.stdout.strip() == "No changes."
    extra = "-A -t 10.0.0.9:80 -s rr\n"
    merged = ipvs("restore", "--noflush", stdin=extra)
    assert merged.returncode == 0, merged.stderr
    assert ipvsadm("-Sn") == ours + extra or "-A -t 10.0.0.9:80 -s rr" in ipvsadm("-Sn")
    assert ipvs("restore", stdin=extra).returncode == 0
    assert ipvsadm("-Sn") == extra


def test_apply_diff_and_dry_run(tmp_path: pathlib.Path) -> None:
    ipvsadm("-C")
    doc = tmp_path / "desired.yaml"
    doc.write_text(
        "services:\n"
        "  - {protocol: tcp, address: 10.0.0.1, port: 80, scheduler: rr,\n"
        "     destinations: [{address: 10.1.0.1, port: 8080, forward: masq}]}\n"
    )
    diff = ipvs("diff", str(doc))
    assert diff.returncode == 1 and "+ TCP 10.0.0.1:80 rr" in diff.stdout
    dry = ipvs("apply", "--dry-run", str(doc))
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert ipvsadm("-Sn") == ""
    applied = ipvs("apply", str(doc))
    assert applied.returncode == 0, applied.stderr
    assert ipvsadm("-Sn") == (
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"
    )
    assert ipvs("diff", str(doc)).returncode == 0
    # scope: another manager's service is left alone
    ipvsadm("-A", "-t", "192.0.2.1:80", "-s", "wlc")
    scoped = ipvs("apply", "--scope", "10.0.0.0/8", str(doc))
    assert scoped.returncode == 0 and scoped.stdout.strip() == "No changes."
    unscoped = ipvs("diff", "--json", str(doc))
    assert unscoped.returncode == 1
    assert json.loads(unscoped.stdout)["summary"] == {"add": 0, "change": 0, "delete": 1}
    # drain
    doc.write_text("services:\n  - {protocol: tcp, address: 10.0.0.1, port: 80, scheduler: rr}\n")
    drained = ipvs("apply", "--drain", "--scope", "listed", str(doc))
    assert drained.returncode == 0, drained.stderr
    assert "-r 10.1.0.1:8080 -m -w 0" in ipvsadm("-Sn")


def test_flush_zero_timeouts_daemon_stats() -> None:
    restore_with_ipvsadm(RICH)
    assert ipvs("zero").returncode == 0
    assert ipvs("zero", "tcp:10.0.0.1:80").returncode == 0
    assert ipvs("zero", "fwmark:7").returncode == 0
    stats = ipvs("stats", "--watch", "0.1", "--count", "2")
    assert stats.returncode == 0 and stats.stdout.count("IP Virtual Server") == 2
    assert ipvs("timeouts", "100", "20", "30").returncode == 0
    assert ipvs("timeouts").stdout == ipvsadm("-Ln", "--timeout")
    assert json.loads(ipvs("timeouts", "--json").stdout) == {"tcp": 100, "tcp_fin": 20, "udp": 30}
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    started = ipvs("daemon", "start", "master", "--mcast-interface", "lo", "--syncid", "5")
    assert started.returncode == 0, started.stderr
    assert ipvs("daemon", "show").stdout == ipvsadm("-Ln", "--daemon")
    assert ipvs("daemon", "stop", "master").returncode == 0
    assert ipvsadm("-Ln", "--daemon") == ""
    assert ipvs("flush").returncode == 0
    assert ipvsadm("-Sn") == ""


def test_netns_option(tmp_path: pathlib.Path) -> None:
    subprocess.run(["ip", "netns", "add", "clitest"], check=True)
    try:
        out = ipvs("--netns", "clitest", "restore", stdin="-A -t 10.9.9.9:80 -s rr\n")
        assert out.returncode == 0, out.stderr
        assert ipvs("save", "--netns", "clitest").stdout == "-A -t 10.9.9.9:80 -s rr\n"
        assert "10.9.9.9" not in ipvsadm("-Sn")
        missing = ipvs("--netns", "no-such-ns", "show")
        assert missing.returncode == 2 and missing.stderr.startswith("ipvs: ")
    finally:
        subprocess.run(["ip", "netns", "delete", "clitest"], check=True)


BAD_FILES = [
    ("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r web1:80 -m\n", "line 2"),
    ("-A -t 10.0.0.1:http -s rr\n", "line 1"),
    ("-A -t example.com:80\n", "line 1"),
    ("-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n", "line 2"),
    ("-a -t 10.0.0.1:80 -r 10.1.0.1:80\n", "line 1"),
    ("-A -t 10.0.0.1:80 -s rr --bogus\n", "line 1"),
    ("-A -t 10.0.0.1:80 -s\n", "line 1"),
    ("-A -t 10.0.0.1:80 -o\n", "line 1"),
    ("-A -t 10.0.0.1:0 -s rr\n", "line 1"),
    ("-A -t 10.0.0.1:80 -s rr -b sh-port\n", "line 1"),
    ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -w heavy\n", "line 2"),
    ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m --tun-type gue\n", "line 2"),
    ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -i --tun-type gue\n", "line 2"),
    (
        "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -i --tun-type gre --tun-port 5\n",
        "line 2",
    ),
    ("-A -t [2001:db8::1]:80 -p 60 -M 200\n", "line 1"),
    ("-A -6 -t 10.0.0.1:80\n", "line 1"),
    ("-A -t 10.0.0.1:80 -p 0\n", "line 1"),
    ("-A -t 10.0.0.1:80\n-d -t 10.0.0.1:80 -r 10.1.0.9:80\n", "line 2"),
    ("-A -t 10.0.0.1:80\n-e -t 10.0.0.1:80 -r 10.1.0.9:80\n", "line 2"),
    ("-E -t 10.0.0.1:80 -s rr\n", "line 1"),
    ("-A -t 300.0.0.1:80\n", "line 1"),
    ("-A -f 0\n", "line 1"),
    ("-X -t 10.0.0.1:80\n", "line 1"),
    ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -x 5 -y 10\n", "line 2"),
]


@pytest.mark.parametrize(("text", "where"), BAD_FILES)
def test_bad_files_are_refused_with_the_line_and_nothing_applied(
    tmp_path: pathlib.Path, text: str, where: str
) -> None:
    ipvsadm("-C")
    ipvsadm("-A", "-t", "192.0.2.1:80", "-s", "wlc")
    before = ipvsadm("-Sn")
    rules = tmp_path / "bad.rules"
    rules.write_text(text)
    for command in (["restore", str(rules)], ["apply", str(rules)]):
        out = ipvs(*command)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ipvs: "), out.stderr
        assert f"{rules}: {where}:" in lines[0], lines[0]
        assert "Traceback" not in out.stderr
        assert ipvsadm("-Sn") == before


def test_kernel_rejection_is_one_line_naming_the_object() -> None:
    ipvsadm("-C")
    out = ipvs("restore", stdin="-A -t 10.0.0.1:80 -s nosuchsched\n")
    assert out.returncode == 2
    assert out.stderr == (
        "ipvs: operation 1 of 1 failed: + TCP 10.0.0.1:80 nosuchsched: add_service: "
        "scheduler or persistence engine not found (TCP 10.0.0.1:80); "
        "all applied operations were rolled back\n"
    )
    assert ipvsadm("-Sn") == ""


def test_without_cap_net_admin_the_error_says_so() -> None:
    # root, but with CAP_NET_ADMIN removed from the bounding set before exec
    out = subprocess.run(
        ["setpriv", "--bounding-set", "-net_admin", sys.executable, "-m", "ipvs", "show"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("ipvs: ") and "CAP_NET_ADMIN" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
