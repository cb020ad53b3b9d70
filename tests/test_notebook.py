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
    from ipvs.formats.html import plan_html, table_html

    text = table_html(values[0])  # type: ignore[arg-type]
    assert "TCP 100.100.100.100:80" in text and "10.1.1.2:8080" in text
    plan = values[2]
    html = plan_html(plan)  # type: ignore[arg-type]
    assert 'class="chg"' in html and 'class="del"' in html
    assert str(plan).splitlines()[-1] == "Plan: 0 to add, 2 to change, 1 to delete."
