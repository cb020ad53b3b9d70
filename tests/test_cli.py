"""The command line's pieces that need no kernel (the rest runs in tests/kernel/test_cli.py)."""

from __future__ import annotations

import argparse
import io
import pathlib
import sys

import pytest

from ipvs import _cli
from tests.kernel.test_cli import BAD_ARGS, BAD_INPUT_FILES, DESIRED


def test_progress_bar_only_on_a_terminal(monkeypatch: object) -> None:
    args = argparse.Namespace(quiet=False)
    assert _cli._progress(args) is None or sys.stderr.isatty()
    fake = io.StringIO()
    fake.isatty = lambda: True  # type: ignore[method-assign]
    old = sys.stderr
    sys.stderr = fake
    try:
        show = _cli._progress(args)
        assert show is not None
        show(5, 10)
        show(10, 10)
        assert _cli._progress(argparse.Namespace(quiet=True)) is None
    finally:
        sys.stderr = old
    text = fake.getvalue()
    assert "5/10 ops" in text and "10/10 ops" in text and text.endswith("\n")


# --------------------------------------------------------------------------- bad input, no kernel
# The sandbox runs the whole matrix against the kernel (tests/kernel/test_cli.py);
# here, in-process, the cases that must be refused before any socket is opened.

# refused by the kernel or the namespace, not by the command line
NEEDS_THE_KERNEL = {
    "daemon-no-interface",
    "daemon-stop-none-running",
    "zero-missing-service",
    "netns-missing",
    "netns-empty",
    "netns-dotdot",
    "netns-not-a-net-ns",
    "scope-excludes-file",
}


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: bytes,
) -> str:
    """Run the command line in-process with no kernel; return its one line of error."""

    def no_client(_args: object) -> None:
        raise AssertionError("a client was opened for bad input")

    monkeypatch.setattr(_cli, "_client", no_client)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    with pytest.raises(SystemExit) as info:
        _cli.main(args)
    out, err = capsys.readouterr()
    assert info.value.code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n") and lines[0].startswith("ipvs: "), err[:500]
    assert "internal error" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "stdin", "pattern"),
    [pytest.param(*c[1:], id=c[0]) for c in BAD_ARGS if c[0] not in NEEDS_THE_KERNEL],
)
def test_bad_arguments_are_refused_before_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
    args: list[str],
    stdin: bytes | None,
    pattern: str,
) -> None:
    desired = tmp_path / "desired.yaml"
    desired.write_text(DESIRED)
    argv = [str(desired) if a == "FILE" else a for a in args]
    line = run_main(monkeypatch, capsys, argv, stdin or b"")
    assert pattern in line


@pytest.mark.parametrize(
    ("name", "content", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in BAD_INPUT_FILES]
)
def test_bad_files_are_refused_before_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
    name: str,
    content: bytes,
    pattern: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    for command in (["apply", str(path)], ["diff", str(path)]):
        line = run_main(monkeypatch, capsys, command, b"")
        assert line.startswith(f"ipvs: {path}: ") and pattern in line, line[:300]
    # from standard input the format is told by the content alone
    line = run_main(monkeypatch, capsys, ["apply", "-"], content)
    assert line.startswith("ipvs: <stdin>: "), line[:300]


def test_unexpected_errors_are_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(_args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(_cli, "cmd_info", boom)
    monkeypatch.delenv("IPVS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        _cli.main(["info"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "ipvs: internal error (a bug; IPVS_DEBUG=1 shows the traceback): "
        "RuntimeError: boom\\nsecond line\n"
    )
    monkeypatch.setenv("IPVS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        _cli.main(["info"])


def test_system_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def denied(_args: object) -> None:
        raise PermissionError(13, "Permission denied", "/run/netns/x")

    monkeypatch.setattr(_cli, "_client", denied)
    with pytest.raises(SystemExit) as info:
        _cli.main(["info"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "ipvs: Permission denied: /run/netns/x\n"


def test_messages_are_one_line_and_bounded() -> None:
    assert _cli._one_line("a\nb\r\x1b[2Jc\x7f") == "a\\nb\\r\\x1b[2Jc\\x7f"
    long = _cli._one_line("x" * 5000)
    assert len(long) == _cli.MAX_MESSAGE and long.endswith("...")
    assert _cli._one_line("é ü 日本") == "é ü 日本"


@pytest.mark.parametrize("text", ["0.1", "1", "86400", "1e-3", " 2 "])
def test_watch_takes_positive_finite_seconds(text: str) -> None:
    assert _cli._seconds(text) == float(text)


@pytest.mark.parametrize("text", ["0", "-0", "-1", "nan", "inf", "-inf", "1e999", "86401", "x", ""])
def test_watch_refuses_the_rest(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _cli._seconds(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("7", 7), (" 12 ", 12)])
def test_count_takes_zero_or_more(text: str, value: int) -> None:
    assert _cli._count(text) == value


def test_a_text_stream_as_stdin_and_no_stderr_are_fine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("services: {}"))  # no .buffer
    with pytest.raises(SystemExit) as info:
        _cli.main(["apply", "-"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("ipvs: <stdin>: services: expected a list")
    monkeypatch.setattr(sys, "stderr", None)  # started with file descriptor 2 closed
    with pytest.raises(SystemExit) as info:
        _cli.main(["stats", "--watch", "nan"])
    assert info.value.code == 2
