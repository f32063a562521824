"""Committed notebooks carry no outputs and start with a ``parameters`` cell.

Outputs in git are noise in diffs and can leak paths; nbval runs the
notebooks for real (``make test``), so the committed form only has to be clean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_there_are_notebooks() -> None:
    assert any(path.name == "01_browse_sessions.ipynb" for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_committed_without_outputs(path: Path) -> None:
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has outputs"
            assert cell["execution_count"] is None, f"{path.name}: a cell was run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_first_cell_is_the_parameters_cell(path: Path) -> None:
    first = load(path)["cells"][0]
    assert first["cell_type"] == "code"
    assert "parameters" in first.get("metadata", {}).get("tags", [])
