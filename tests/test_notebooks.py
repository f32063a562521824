"""The notebooks, committed clean and executed top to bottom on every kind of root.

Committed notebooks carry no outputs (noise in diffs, and they can leak
paths) and start with a ``parameters`` cell that reads ``SESSIONKIT_ROOT``
and ``SESSIONKIT_DB``.

Each notebook is executed by nbclient on the demo root, on a copy of a real
corpus nobody has marked (``tests/corpora/sdgen-cli``) and on an empty root.
nbclient fails a cell whose execute reply has status ``error``, which also
catches a magic that prints its error instead of raising (jupysql's
``%sql``): ``pytest --nbval-lax`` passes such a cell. The last tests prove
that on a notebook written for the purpose.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from sessionkit import SessionKit
from sessionkit.demo import write_demo_root
from sessionkit.kit import DB_ENV, ROOT_ENV
from sessionkit.notebook import (
    Sentence,
    index_and_mark,
    is_demo_root,
    mark_demo_sessions,
    table,
)
from sessionkit.store import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted((HERE.parent / "notebooks").glob("*.ipynb"))
REAL_CORPUS = HERE / "corpora" / "sdgen-cli" / "sessions"
ROOTS = ("demo", "real", "empty")
CELL_TIMEOUT = 600
"""Seconds a cell may take: generous, the CI machine may be busy; a hang still ends."""


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
    assert ROOT_ENV in "".join(first["source"]) and DB_ENV in "".join(first["source"])


def run_notebook(path: Path, root: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute ``path`` on ``root`` and ``db`` in a fresh kernel; raise on the first error reply.

    The parameters cell reads the root and database from the environment,
    which the kernel inherits from this process.
    """
    monkeypatch.setenv(ROOT_ENV, str(root))
    monkeypatch.setenv(DB_ENV, str(db))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three roots, written once for all notebooks (the notebooks only read them)."""
    base = tmp_path_factory.mktemp("roots")
    empty = base / "empty"
    empty.mkdir()
    return {
        "demo": write_demo_root(base / "demo").root,
        "real": Path(shutil.copytree(REAL_CORPUS, base / "real")),
        "empty": empty,
    }


@pytest.mark.slow
@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_top_to_bottom(
    path: Path,
    root: str,
    roots: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every cell of every notebook runs without an error reply, on every kind of root."""
    before = sorted(p.relative_to(roots[root]) for p in roots[root].rglob("*"))
    run_notebook(path, roots[root], tmp_path / "sessions.db", monkeypatch)
    assert (tmp_path / "sessions.db").is_file()
    assert sorted(p.relative_to(roots[root]) for p in roots[root].rglob("*")) == before


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_the_runner_fails_on_a_failing_sql_magic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jupysql prints the error and sends an error reply but no ``error`` output: still a fail."""
    written = tmp_path / "written"
    notebook = write_notebook(
        tmp_path / "sql.ipynb",
        "import duckdb\n%load_ext sql\ncon = duckdb.connect()\n%sql con --alias scratch",
        f"%sql SELECT * FROM no_such_table\nopen({str(written)!r}, 'w').close()",
        f"open({str(written)!r}, 'w').close()",
    )
    with pytest.raises(CellExecutionError, match="no_such_table"):
        run_notebook(notebook, tmp_path, tmp_path / "sessions.db", monkeypatch)
    assert not written.exists()  # neither the rest of the cell nor the next cell ran


@pytest.mark.slow
def test_the_runner_fails_on_a_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = write_notebook(
        tmp_path / "raise.ipynb", "x = 1", "raise ValueError('the check failed')", "y = 2"
    )
    with pytest.raises(CellExecutionError, match="the check failed"):
        run_notebook(notebook, tmp_path, tmp_path / "sessions.db", monkeypatch)


def test_only_a_demo_root_is_the_demo(tmp_path: Path) -> None:
    """The notebooks' demo-only checks key on this: anyone's own root must answer no."""
    demo = write_demo_root(tmp_path / "demo", sessions=2).root
    own = Path(shutil.copytree(REAL_CORPUS, tmp_path / "own"))
    with SessionKit(demo, tmp_path / "demo.db", progress=False) as kit:
        assert is_demo_root(kit)
    with SessionKit(own, tmp_path / "own.db", progress=False) as kit:
        assert not is_demo_root(kit)
    with SessionKit(db=tmp_path / "own.db", progress=False) as kit:
        assert kit.root == own and not is_demo_root(kit)


def test_an_empty_table_is_a_sentence() -> None:
    rows = pd.DataFrame({"tag": ["a"]})
    assert table(rows, "tags") is rows
    sentence = table(rows.iloc[0:0], "tags")
    assert sentence == "No tags on this root yet."
    assert isinstance(sentence, Sentence) and sentence._repr_markdown_() == f"*{sentence}*"


def test_demo_marks_go_to_unedited_sessions_once(tmp_path: Path) -> None:
    """Marks are written once per database, and a user's own edit is never replaced."""
    demo = write_demo_root(tmp_path / "demo", sessions=12).root
    with SessionKit(demo, tmp_path / "s.db", progress=False) as kit:
        kit.index()
        ids = list(kit.sessions(limit=None)["session_id"])
        mine = ids[0]
        kit.update_metadata(mine, user_note="my own note", is_favorite=False)
        assert mark_demo_sessions(kit) == len(ids) - 1
        assert kit.metadata(mine)["user_note"] == "my own note"
        assert kit.count(liked=True) > 0  # the mirror shows the marks without a reload
        assert mark_demo_sessions(kit) == 0
        assert kit.mark_unedited({mine: {"user_note": "demo"}}) == []
        assert kit.metadata(mine)["user_note"] == "my own note"


def test_a_marked_demo_root_opens_without_looking_at_its_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images get their demo marks with their session, once; later opens skip them entirely."""
    demo = write_demo_root(tmp_path / "demo", sessions=12).root
    with SessionKit(demo, tmp_path / "s.db", progress=False) as kit:
        kit.index()
        assert mark_demo_sessions(kit) > 0
        assert kit.value_ratings()["rated"].sum() > 0  # the images were marked too
        monkeypatch.setattr(SessionKit, "images", lambda *args, **kwargs: pytest.fail("read"))
        assert mark_demo_sessions(kit) == 0


def test_a_read_only_database_is_shown_as_it_is(tmp_path: Path) -> None:
    """The notebooks and the app open a sessions.db they may not write, without indexing it."""
    own = Path(shutil.copytree(REAL_CORPUS, tmp_path / "own"))
    db = tmp_path / "sessions.db"
    with SessionKit(own, db, progress=False) as kit:
        kit.index()
        total = kit.count()
    with sqlite3.connect(db) as con:  # a newer sessionkit wrote it: this one must not write
        con.execute(
            "INSERT INTO sessionkit_schema VALUES (?, 'from the future', '2030-01-01')",
            (SCHEMA_VERSION + 1,),
        )
    con.close()
    (own / "20261124_999999-Added_later").mkdir()
    with SessionKit(own, db, progress=False) as kit:
        summary = index_and_mark(kit)
        assert summary.startswith("not indexed, showing what sessions.db holds: ")
        assert kit.count() == total
