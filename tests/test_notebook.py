"""The example notebook runs top to bottom, and its rich outputs render."""

from __future__ import annotations

import pathlib

import pytest

NOTEBOOK = pathlib.Path(__file__).parent.parent / "examples" / "explore.ipynb"


def test_notebook_runs_in_a_real_jupyter_kernel() -> None:
    """nbclient runs every cell in an IPython kernel; tables and plans display as HTML."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(o.output_type != "error" for c in cells for o in c.outputs)
    html = [o["data"].get("text/html", "") for c in cells for o in c.outputs if "data" in o]
    tables = [h for h in html if "TCP 100.100.100.100:80" in h and "10.1.1.2:8080" in h]
    plans = [h for h in html if 'class="chg"' in h and 'class="del"' in h]
    assert tables and plans, "the table and the plan did not display as HTML"
    printed = "".join(o.get("text", "") for c in cells for o in c.outputs)
    assert "Plan: 0 to add, 2 to change, 1 to delete." in printed
    assert '"op": "update_service"' in printed and "-A -t 100.100.100.100:80 -s wrr" in printed
