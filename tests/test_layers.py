"""The layers contract: each folder imports only from the layers below it.

CI runs import-linter on the package (scripts/test). Here the contract is shown
to hold, and to catch what it must: an upward import at module level, inside a
function, or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def lint(tree: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
            "--config",
            str(tree / "pyproject.toml"),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    pytest.importorskip("importlinter")
    dest = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "ipvs", dest / "ipvs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_package_keeps_its_layers(tree: pathlib.Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("_model/_table.py", "from ipvs.formats import html\n"),
        ("_model/_table.py", "def _later() -> None:\n    from ipvs._plan import diff\n"),
        (
            "_plan/_diff.py",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ipvs._client import Client\n",
        ),
        ("netlink/_protocol.py", "from ipvs._plan import Plan\n"),
        ("errors.py", "def _later() -> None:\n    import ipvs._model\n"),
    ],
    ids=["module-level", "inside-a-function", "type-checking", "sibling", "errors-imports-up"],
)
def test_an_upward_import_breaks_the_build(tree: pathlib.Path, module: str, line: str) -> None:
    path = tree / "ipvs" / module
    original = path.read_text()
    try:
        path.write_text(original + "\n\n" + line)
        result = lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
