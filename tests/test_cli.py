"""The command line's pieces that need no kernel (the rest runs in tests/kernel/test_cli.py)."""

from __future__ import annotations


def test_progress_bar_only_on_a_terminal(monkeypatch: object) -> None:
    import argparse
    import io
    import sys

    from ipvs import _cli

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
