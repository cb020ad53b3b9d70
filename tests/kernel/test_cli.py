"""The ``ipvs`` command line, through real subprocesses, against the kernel and ipvsadm."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import ipvs as ipvs_lib

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
    (shown,) = json.loads(ipvs("daemon", "show", "--json").stdout)
    assert shown["state"] == "master"  # by name, not the kernel's number
    assert (shown["interface"], shown["sync_id"], shown["group"]) == ("lo", 5, "224.0.0.81")
    assert all(isinstance(shown[k], int) for k in ("max_length", "port", "ttl"))
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


NAMED = """\
-A -t localhost:http -s rr
-a -t localhost:http -r 127.0.0.2:https -m -w 2
-a -t localhost:http -r localhost -g -w 1
-A -u 127.0.0.1:domain -s wlc
"""


def test_names_resolve_as_ipvsadm_resolves_them() -> None:
    """``ipvs restore`` of rules with names makes what ``ipvsadm -R`` makes of them."""
    subprocess.run(["ip", "netns", "add", "names-oracle"], check=True)
    try:
        # lo up, or the kernel refuses IPv4 destinations (EINVAL)
        subprocess.run(["ip", "-n", "names-oracle", "link", "set", "lo", "up"], check=True)
        subprocess.run(
            ["ip", "netns", "exec", "names-oracle", "ipvsadm", "-R"],
            input=NAMED,
            text=True,
            check=True,
        )
        oracle = subprocess.run(
            ["ip", "netns", "exec", "names-oracle", "ipvsadm", "-Sn"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "delete", "names-oracle"], check=True)
    assert "-a -t 127.0.0.1:80 -r 127.0.0.1:80 -g -w 1" in oracle  # ipvsadm resolved them
    out = ipvs("restore", stdin=NAMED)
    assert out.returncode == 0, out.stderr
    assert ipvsadm("-Sn") == oracle
    # with --no-resolve the same rules are refused: one line, exit 2, nothing changed
    before = ipvsadm("-Sn")
    refused = ipvs("restore", "--no-resolve", stdin=NAMED.replace("rr", "wrr"))
    assert refused.returncode == 2, refused
    assert refused.stderr.count("\n") == 1 and "host names are not resolved here" in refused.stderr
    assert ipvsadm("-Sn") == before


BAD_FILES = [
    # names are resolved as ipvsadm resolves them; these do not resolve
    # (.invalid is reserved for that, RFC 2606), so the files are refused
    ("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r web1.invalid:80 -m\n", "line 2"),
    ("-A -t 10.0.0.1:no-such-service -s rr\n", "line 1"),
    ("-A -t no-such-host.invalid:80\n", "line 1"),
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


# --------------------------------------------------------------------------- the bad-input matrix
# Every bad argument and file: exit status 2, exactly one line on standard
# error ("ipvs: " and the message), nothing on standard output, no traceback,
# and nothing changed in the kernel (services, daemons, timeouts). The host
# part of the matrix is tests/test_bad_input.py.

DESIRED = "services:\n  - {protocol: tcp, address: 10.0.0.1, port: 80, scheduler: rr}\n"

# (id, arguments (FILE: a valid desired-state file), standard input, pattern in the message)
BAD_ARGS: list[tuple[str, list[str], bytes | None, str]] = [
    ("no-command", [], None, "the following arguments are required: COMMAND"),
    ("unknown-command", ["bogus"], None, "invalid choice: 'bogus'"),
    ("apply-no-file", ["apply"], None, "apply: the following arguments are required: file"),
    ("diff-no-file", ["diff"], None, "diff: the following arguments are required: file"),
    ("unknown-option", ["show", "--bogus"], None, "unrecognized arguments: --bogus"),
    ("exclusive-options", ["show", "--stats", "--rate"], None, "not allowed with argument"),
    ("netns-no-value", ["--netns"], None, "expected one argument"),
    ("netns-no-value-after", ["save", "--netns"], None, "save: argument --netns: expected one"),
    ("watch-negative", ["stats", "--watch", "-1"], None, "argument --watch: expected a number"),
    ("watch-zero", ["stats", "--watch", "0"], None, "above 0 and at most 86400, got '0'"),
    ("watch-nan", ["stats", "--watch", "nan"], None, "got 'nan'"),
    ("watch-inf", ["stats", "--watch", "inf"], None, "got 'inf'"),
    ("watch-minus-inf", ["stats", "--watch=-inf"], None, "got '-inf'"),
    ("watch-overflow", ["stats", "--watch", "1e999"], None, "got '1e999'"),
    ("watch-too-long", ["stats", "--watch", "86401"], None, "got '86401'"),
    ("watch-word", ["stats", "--watch", "soon"], None, "expected a number of seconds, got 'soon'"),
    ("watch-empty", ["stats", "--watch", ""], None, "expected a number of seconds, got ''"),
    ("count-negative", ["stats", "--count", "-1"], None, "argument --count: expected 0 or more"),
    ("count-word", ["stats", "--count", "x"], None, "expected a whole number, got 'x'"),
    ("count-5000-digits", ["stats", "--count", "9" * 5000], None, "expected a whole number"),
    ("timeouts-two", ["timeouts", "1", "2"], None, "timeouts takes three values"),
    ("timeouts-four", ["timeouts", "1", "2", "3", "4"], None, "timeouts takes three values"),
    ("timeouts-word", ["timeouts", "x", "1", "2"], None, "invalid int value: 'x'"),
    ("timeouts-negative", ["timeouts", "-1", "0", "0"], None, "Timeouts.tcp must be in"),
    ("timeouts-2-31", ["timeouts", "0", "2147483648", "0"], None, "Timeouts.tcp_fin must be in"),
    ("timeouts-5000-digits", ["timeouts", "9" * 5000, "0", "0"], None, "invalid int value"),
    ("daemon-no-action", ["daemon"], None, "the following arguments are required: action"),
    ("daemon-bad-action", ["daemon", "frob"], None, "invalid choice: 'frob'"),
    ("daemon-bad-state", ["daemon", "start", "primary"], None, "invalid choice: 'primary'"),
    ("daemon-syncid-256", ["daemon", "start", "--syncid", "256"], None, "SyncDaemon.sync_id"),
    ("daemon-syncid-word", ["daemon", "start", "--syncid", "x"], None, "invalid int value"),
    ("daemon-interface-long", ["daemon", "start", "--mcast-interface", "x" * 16], None, "1..15"),
    ("daemon-interface-empty", ["daemon", "start", "--mcast-interface", ""], None, "1..15"),
    ("daemon-group-unicast", ["daemon", "start", "--mcast-group", "10.0.0.1"], None, "multicast"),
    ("daemon-group-bad", ["daemon", "start", "--mcast-group", "x"], None, "invalid IP address"),
    ("daemon-port-70000", ["daemon", "start", "--mcast-port", "70000"], None, "SyncDaemon.port"),
    ("daemon-ttl-256", ["daemon", "start", "--mcast-ttl", "256"], None, "SyncDaemon.ttl"),
    ("daemon-maxlen-negative", ["daemon", "start", "--sync-maxlen", "-1"], None, "max_length"),
    ("daemon-no-interface", ["daemon", "start", "--mcast-interface", "nosuch0"], None, "interface"),
    ("daemon-stop-none-running", ["daemon", "stop", "backup"], None, "no such daemon is running"),
    ("zero-no-port", ["zero", "tcp:10.0.0.1"], None, "bad service 'tcp:10.0.0.1'"),
    ("zero-word", ["zero", "xyz"], None, "bad service 'xyz'"),
    ("zero-fwmark-0", ["zero", "fwmark:0"], None, "ServiceKey.fwmark must be in"),
    ("zero-fwmark-family", ["zero", "fwmark:5:7"], None, "the family after the mark"),
    ("zero-fwmark-word", ["zero", "fwmark:x"], None, "bad service 'fwmark:x'"),
    ("zero-port-99999", ["zero", "tcp:[::1]:99999"], None, "ServiceKey.port must be in"),
    ("zero-protocol", ["zero", "icmp:10.0.0.1:1"], None, "unknown name 'icmp'"),
    ("zero-missing-service", ["zero", "tcp:10.0.0.9:80"], None, "no such service"),
    ("netns-missing", ["--netns", "no-such-ns", "show"], None, "cannot open network namespace"),
    ("netns-empty", ["--netns", "", "show"], None, "netns: empty name"),
    ("netns-dotdot", ["show", "--netns", ".."], None, "netns: invalid name '..'"),
    ("netns-not-a-net-ns", ["--netns", "/proc/self/ns/mnt", "show"], None, "cannot enter"),
    ("scope-fwmark-word", ["apply", "--scope", "fwmark:x", "FILE"], None, "--scope 'fwmark:x'"),
    ("scope-bad-network", ["apply", "--scope", "300.0.0.0/8", "FILE"], None, "--scope"),
    ("scope-empty", ["diff", "--scope", "", "FILE"], None, "--scope ''"),
    ("scope-excludes-file", ["apply", "--scope", "172.16.0.0/12", "FILE"], None, "outside"),
    ("apply-missing-file", ["apply", "/nonexistent.yaml"], None, "No such file or directory"),
    ("apply-directory", ["apply", "/"], None, "/: Is a directory"),
    ("restore-missing-file", ["restore", "/nonexistent"], None, "No such file or directory"),
    ("apply-empty-stdin", ["apply", "-"], b"", "<stdin>: no services and no rules"),
    ("restore-empty-stdin", ["restore"], b"", "<stdin>: no rules"),
    ("restore-comment-stdin", ["restore", "-"], b"# nothing\n", "<stdin>: no rules"),
    ("restore-noflush-bad", ["restore", "--noflush"], b"-A -t 10.0.0.1:80 -s\n", "line 1"),
    ("apply-stdin-not-utf8", ["apply", "-"], b"services: [\xff]", "<stdin>: not UTF-8"),
    ("diff-stdin-deep", ["diff", "-"], b"services: " + b"[" * 50_000, "nested deeper"),
]

# (id, file name, content, pattern after "NAME: "); each is given to apply and diff
BAD_INPUT_FILES: list[tuple[str, str, bytes, str]] = [
    ("services-mapping", "d.json", b'{"services": {}}', "services: expected a list"),
    ("zero", "d.json", b"0", "document: expected a mapping, got 0"),
    ("false", "d.json", b"false", "expected a mapping, got false"),
    ("empty-string", "d.json", b'""', "expected a mapping, got ''"),
    ("no-extension-json", "desired", b'{"services": {}}', "services: expected a list"),
    ("yaml-services-mapping", "d.yaml", b"services: {}", "services: expected a list"),
    ("yaml-services-null", "d.yaml", b"services:\n", "services: expected a list, got null"),
    ("empty-file", "desired", b"", "no services and no rules"),
    ("comments-only", "desired", b"# nothing yet\n", "no services and no rules"),
    ("yaml-not-utf8", "d.yaml", b"services: []\n\xff\xfe", "not UTF-8: byte 0xff at offset 13"),
    ("json-not-utf8", "d.json", b'{"services": ["\xe9"]}', "not UTF-8: byte 0xe9"),
    ("json-utf16", "d.json", '{"services": []}'.encode("utf-16"), "not UTF-8: byte 0xff"),
    ("json-deep", "d.json", b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    ("yaml-deep", "d.yaml", b"services: " + b"[" * 50_000 + b"]" * 50_000, "nested deeper"),
    ("json-long-int", "d.json", b'{"services": [{"fwmark": ' + b"9" * 5000 + b"}]}", "too long"),
    ("yaml-long-int", "d.yaml", b"services: [{fwmark: " + b"9" * 5000 + b"}]", "too long"),
    ("yaml-syntax", "d.yaml", b"services: [\n  - {fwmark: 1\n", "invalid YAML: line"),
    ("json-syntax", "d.json", b'{"services": [', "invalid JSON: "),
    ("json-duplicate", "d.json", b'{"services": [], "services": []}', "given twice"),
    ("yaml-duplicate", "d.yaml", b"services:\n- fwmark: 1\n  fwmark: 2\n", "given twice (line 3)"),
    ("wrong-type", "d.json", b'{"services": [{"fwmark": "1"}]}', "services[0].fwmark: expected"),
    ("unknown-key", "d.yaml", b"services: [{fwmark: 1, weight: 1}]", "unknown key(s) weight"),
    ("rules-long-persistence", "rules", b"-A -t 10.0.0.1:80 -p " + b"1" * 5000, "line 1: a number"),
    ("rules-long-weight", "rules", b"-A -f 1\n-a -f 1 -r 10.1.0.1 -w " + b"1" * 5000, "line 2: a"),
    ("rules-long-port", "rules", b"-A -t 10.0.0.1:" + b"1" * 5000, "line 1: a number of 5000"),
    ("rules-long-address", "rules", b"-A -t 10." + b"1" * 5000 + b":80", "line 1: a number"),
    ("rules-nul", "rules", b"-A -t 10.0.0.1:80 -s r\x00r\n", "line 1: "),
    (
        "rules-not-utf8",
        "rules",
        b"-A -t 10.0.0.1:80 -s \xff\n",
        "not UTF-8: byte 0xff at offset 21",
    ),
]


def run_ipvs(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "ipvs", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=120,
    )
    return (
        out.returncode,
        out.stdout.decode("utf-8", "backslashreplace"),
        out.stderr.decode("utf-8", "backslashreplace"),
    )


def kernel_state() -> str:
    """Everything the commands could change: services, daemons, timeouts."""
    return ipvsadm("-Sn") + ipvsadm("-Ln", "--daemon") + ipvsadm("-Ln", "--timeout")


def assert_refused(args: list[str], stdin: bytes | None, *patterns: str) -> None:
    before = kernel_state()
    code, stdout, stderr = run_ipvs(args, stdin)
    lines = stderr.splitlines()
    assert code == 2, (args[:4], code, stderr[:300])
    assert len(lines) == 1 and stderr.endswith("\n"), stderr[:2000]
    assert lines[0].startswith("ipvs: "), lines[0][:300]
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr[:300]
    for pattern in patterns:
        assert pattern in lines[0], (pattern, lines[0][:300])
    assert len(lines[0]) <= 1006  # "ipvs: " and at most 1,000 characters
    assert stdout == ""
    assert kernel_state() == before


@pytest.fixture
def populated() -> None:
    """A kernel with a service and a destination, which no bad input may remove."""
    restore_with_ipvsadm("-A -t 192.0.2.1:80 -s wlc\n-a -t 192.0.2.1:80 -r 192.0.2.10:80 -m\n")


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("args", "stdin", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in BAD_ARGS]
)
def test_bad_arguments_are_one_line_and_change_nothing(
    tmp_path: pathlib.Path, args: list[str], stdin: bytes | None, pattern: str
) -> None:
    desired = tmp_path / "desired.yaml"
    desired.write_text(DESIRED)
    assert_refused([str(desired) if a == "FILE" else a for a in args], stdin, pattern)


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("name", "content", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in BAD_INPUT_FILES]
)
def test_bad_files_are_one_line_naming_the_file_and_change_nothing(
    tmp_path: pathlib.Path, name: str, content: bytes, pattern: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    commands = [["apply", str(path)], ["diff", str(path)]]
    if name == "rules":
        commands.append(["restore", str(path)])
    for command in commands:
        assert_refused(command, None, f"ipvs: {path}: ", pattern)


def test_show_one_service_thresholds_and_persistent_connections_match_ipvsadm() -> None:
    restore_with_ipvsadm(RICH)
    for selector in (["-t", "10.0.0.1:80"], ["-u", "10.0.0.2:53"], ["-t", "[2001:db8::1]:443"]):
        for flags in ([], ["--stats"], ["--thresholds"], ["--persistent-conn"]):
            shown = ipvs("show", *selector, *flags)
            assert shown.returncode == 0, shown.stderr
            assert shown.stdout == ipvsadm("-Ln", *selector, *flags), (selector, flags)
    for flags in (["--thresholds"], ["--persistent-conn"]):
        assert ipvs("show", *flags).stdout == ipvsadm("-Ln", *flags)
    missing = ipvs("show", "-t", "10.9.9.9:80")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no such service" in missing.stderr


def test_zero_takes_ipvsadm_style_services() -> None:
    restore_with_ipvsadm(RICH)
    for args in (["-t", "10.0.0.1:80"], ["tcp:10.0.0.1:80"], []):
        done = ipvs("zero", *args)
        assert (done.returncode, done.stderr) == (0, ""), args
    both = ipvs("zero", "tcp:10.0.0.1:80", "-t", "10.0.0.1:80")
    assert both.returncode == 2 and "once" in both.stderr
    absent = ipvs("zero", "-t", "10.9.9.9:80")
    assert absent.returncode == 2 and "no such service" in absent.stderr


def _strip_expiry(text: str) -> list[list[str]]:
    """The rows of a connection listing without the expiry column (it ticks every second)."""
    return [line.split()[:1] + line.split()[2:] for line in text.splitlines()[2:]]


def test_connection_table_matches_ipvsadm(make_client: Callable[..., Any]) -> None:
    from ipvs.testing.topology import Topology

    with Topology() as topo:
        web = topo.add_backend("web1")
        vip = topo.add_vip("100.100.100.100")
        svc = ipvs_lib.Service.tcp(vip, 80, scheduler="rr")
        dest = ipvs_lib.Destination(address=web.address, port=web.port, forward="masq")
        with make_client() as client:
            client.apply(ipvs_lib.Table([(svc, [dest])]))
            held = topo.hold(vip, 80)
            assert held.request() == "web1"
            assert topo.get(vip, 80) == "web1"  # one more, closing
            connections = client.connections()
            states = sorted(c.state for c in connections)
            assert len(states) == 2 and "ESTABLISHED" in states, states
            for c in connections:
                assert (str(c.virtual_address), c.virtual_port) == (vip, 80)
                assert (str(c.destination_address), c.destination_port) == (web.address, web.port)
                assert c.protocol == "TCP" and 0 < c.expires <= 900
            shown = ipvs("show", "--connection")
            assert shown.returncode == 0, shown.stderr
            expected = ipvsadm("-Lnc")
            assert shown.stdout.splitlines()[:2] == expected.splitlines()[:2]
            assert sorted(_strip_expiry(shown.stdout)) == sorted(_strip_expiry(expected))
            held.close()
