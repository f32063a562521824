"""Keep the dependency direction of the README's module picture true.

Imports are read with ``ast`` (nothing is executed): a module may import
only sessionkit modules of a lower layer, and the heavy or engine-specific
libraries only where the house style allows them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sessionkit"

# Lower numbers are lower layers; a module imports only from layers below its own.
LAYERS = {
    "errors": 0,
    "names": 0,
    "manifest": 1,
    "infotext": 1,
    "demo": 1,
    "details": 2,
    "stats": 3,
    "detailfiles": 3,
    "store": 4,
    "scan": 5,
    "mirror": 5,
    "query": 6,
    "analysis": 6,
    "thumbs": 6,
    "kit": 7,
    "plots": 8,
    "sheets": 8,
    "notebook": 8,
    "cli": 9,
    "servetoken": 9,
    "widgets": 9,
    "__init__": 10,
    "__main__": 10,
}

# Third-party (or stdlib) modules allowed only in some places.
CONFINED = {
    "sqlite3": {"store"},
    "duckdb": {"mirror", "query", "detailfiles"},
    "ipywidgets": {"widgets"},
    "plotly": {"plots", "widgets"},
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "sessionkit":
                names.update(f"sessionkit.{alias.name}" for alias in node.names)
    return names


def test_every_module_has_a_layer() -> None:
    assert {layer_of(path) for path in modules()} <= set(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = layer_of(path)
    for name in imported(path):
        if not name.startswith("sessionkit."):
            continue
        target = name.split(".")[1]
        if target == own or target not in LAYERS:
            continue
        assert LAYERS[target] < LAYERS[own], f"{own} (layer {LAYERS[own]}) imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_confined_libraries_stay_in_place(path: Path) -> None:
    own = layer_of(path)
    for name in imported(path):
        library = name.split(".")[0]
        if library in CONFINED:
            assert own in CONFINED[library], f"{own} imports {library}"


def test_import_sessionkit_stays_light() -> None:
    code = (
        "import sys, sessionkit; "
        "print(sorted(m for m in ('ipywidgets', 'plotly', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_names_are_exported() -> None:
    import sessionkit

    for name in sessionkit.__all__:
        assert hasattr(sessionkit, name), name


# -- SQL on sessions.db only in store.py -------------------------------------------------------

SQLITE_ONLY = re.compile(
    r"\bsessionkit_(?:stats|files|images|settings|schema|details|detail_parts)\b"
)
"""Tables only ``sessions.db`` has (the mirror's relations have other names)."""
SQL_STATEMENT = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE|REPLACE)\b[\s\S]*?\b(?:FROM|INTO|UPDATE|JOIN)\s+(\w+)",
    re.IGNORECASE,
)


def sql_texts(source: str) -> list[str]:
    """Every string literal of a module, f-strings with their literal parts joined."""
    texts: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            texts.append(
                " ".join(
                    part.value
                    for part in node.values
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                )
            )
    return texts


def sqlite_statements(source: str) -> list[str]:
    """SQL statements reading or writing a table only ``sessions.db`` has."""
    found = []
    for text in sql_texts(source):
        for match in SQL_STATEMENT.finditer(text):
            if SQLITE_ONLY.search(match.group(0)):
                found.append(match.group(0))
    return found


def store_row_calls(source: str) -> list[int]:
    """Lines calling ``<something>.store.rows(...)`` or ``store.rows(...)`` (raw SQL on SQLite)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"rows", "_rows", "_batches"}
            and "store" in ast.unparse(node.func.value).lower()
        ):
            lines.append(node.lineno)
    return lines


def test_the_sql_checker_catches_sqlite_sql() -> None:
    caught = """
def f(store, kit, ids):
    store.rows("SELECT 1")
    kit.store.rows(f"SELECT session_id FROM sessionkit_stats WHERE x IN ({ids})")
    return "DELETE FROM  sessionkit_details", "select a from session_stats"
"""
    assert set(sqlite_statements(caught)) == {
        "SELECT session_id FROM sessionkit_stats",
        "DELETE FROM  sessionkit_details",
    }
    assert store_row_calls(caught) == [3, 4]


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if p.name != "store.py"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_sql_on_sessions_db_is_written_only_in_store(path: Path) -> None:
    source = path.read_text()
    assert sqlite_statements(source) == [], f"{path.name}: use a named Store method"
    assert store_row_calls(source) == [], f"{path.name}: use a named Store method"
