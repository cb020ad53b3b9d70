"""The example notebook runs top to bottom, and its rich outputs render."""

from __future__ import annotations

import ast
import json
import pathlib

NOTEBOOK = pathlib.Path(__file__).parent.parent / "examples" / "explore.ipynb"


def run_notebook(path: pathlib.Path) -> list[object]:
    """Execute the code cells in order, like a Jupyter kernel; return each cell's value."""
    cells = json.loads(path.read_text())["cells"]
    namespace: dict[str, object] = {"__name__": "__main__"}
    values: list[object] = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(path), "exec"), namespace)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(path), "eval"), namespace)
        values.append(value)
    return values


def test_notebook_executes_and_renders() -> None:
    values = run_notebook(NOTEBOOK)
    table_html = values[0]._repr_html_()  # type: ignore[attr-defined]
    assert "TCP 100.100.100.100:80" in table_html and "10.1.1.2:8080" in table_html
    plan = values[2]
    html = plan._repr_html_()  # type: ignore[attr-defined]
    assert 'class="chg"' in html and 'class="del"' in html
    assert str(plan).splitlines()[-1] == "Plan: 0 to add, 2 to change, 1 to delete."


def test_stats_frame_has_a_row_per_service_and_destination() -> None:
    import pandas as pd

    from ipvs import Stats, Table

    table = Table.from_ipvsadm(
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2\n"
    )
    key = next(iter(table))
    entry = table[key]
    import attrs

    live = Table(
        [
            (
                attrs.evolve(entry.service, stats=Stats(connections=7)),
                [attrs.evolve(entry.destinations[0], active_connections=3)],
            )
        ]
    )
    frame = live.stats_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["destination"].fillna("-")) == ["-", "10.1.0.1:80"]
    assert list(frame["connections"]) == [7, 0]
    assert frame["active_connections"].iloc[1] == 3


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
