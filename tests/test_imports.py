"""Commands that do not query load neither pandas nor DuckDB's mirror.

``sessionkit index`` writes the image data through DuckDB (the Parquet
parts, from NumPy columns), so it may load DuckDB and NumPy but never
pandas; a command that only writes a mark (``like``, ``tag``) loads
neither. Each command runs in a fresh process, which then reports the
heavy modules it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from builders import manifest, write_session

HEAVY = ("pandas", "numpy", "duckdb", "sessionkit.mirror", "sessionkit.analysis")
RUN = (
    "import json, sys\n"
    "from sessionkit.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "print(json.dumps([m for m in sys.argv[1].split(',') if m in sys.modules]))\n"
    "raise SystemExit(code)\n"
)


def loaded(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, ",".join(HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    write_session(root, "20251107_120000-Portrait", manifest(images=2))
    db = tmp_path / "sessions.db"
    assert set(loaded("index", str(root), "--db", str(db), "--no-progress")) <= {"duckdb", "numpy"}
    return root, db


def test_index_loads_no_pandas(indexed: tuple[Path, Path]) -> None:
    root, db = indexed
    assert loaded("index", str(root), "--db", str(db), "--no-progress") == []  # nothing changed


@pytest.mark.parametrize(
    "command",
    [["like", "20251107_120000-Portrait"], ["tag", "20251107_120000-Portrait", "--add", "x"]],
)
def test_a_mark_loads_neither_pandas_nor_duckdb(
    indexed: tuple[Path, Path], command: list[str]
) -> None:
    _, db = indexed
    assert loaded(*command, "--db", str(db)) == []


def test_a_query_still_works(indexed: tuple[Path, Path]) -> None:
    _, db = indexed
    assert "pandas" in loaded("list", "--db", str(db))
