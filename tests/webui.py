"""The sd-generator WebUI's side of a shared ``sessions.db``, as its back end behaves.

Written from its back end (oinant/local-sd-generator at 8f5f26a, migration 1
and repositories): a fresh ``sqlite3`` connection per request, Python's
default transaction handling (each DDL statement of the migration commits on
its own, so a failed start leaves what ran before it), ``SELECT *`` and
``INSERT OR REPLACE`` on ``session_stats`` by its column names, and metadata
saved as the whole row it loaded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

STATS_COLUMNS = (
    "session_name",
    "sd_model",
    "sampler_name",
    "scheduler",
    "cfg_scale",
    "steps",
    "width",
    "height",
    "images_requested",
    "images_actual",
    "completion_percent",
    "placeholders_count",
    "placeholders",
    "variations_theoretical",
    "variations_summary",
    "session_type",
    "is_seed_sweep",
    "seed_min",
    "seed_max",
    "seed_mode",
    "session_created_at",
    "stats_computed_at",
    "completion_threshold",
)

MIGRATION_1 = (
    """CREATE TABLE IF NOT EXISTS session_stats (
        session_name TEXT PRIMARY KEY,
        sd_model TEXT,
        sampler_name TEXT,
        scheduler TEXT,
        cfg_scale REAL,
        steps INTEGER,
        width INTEGER,
        height INTEGER,
        images_requested INTEGER DEFAULT 0,
        images_actual INTEGER DEFAULT 0,
        completion_percent REAL DEFAULT 0.0,
        placeholders_count INTEGER DEFAULT 0,
        placeholders TEXT,
        variations_theoretical INTEGER DEFAULT 0,
        variations_summary TEXT,
        session_type TEXT DEFAULT 'normal',
        is_seed_sweep INTEGER DEFAULT 0,
        seed_min INTEGER,
        seed_max INTEGER,
        seed_mode TEXT,
        session_created_at TEXT,
        stats_computed_at TEXT NOT NULL,
        completion_threshold REAL DEFAULT 0.95
    )""",
    "CREATE INDEX IF NOT EXISTS idx_stats_model ON session_stats(sd_model)",
    "CREATE INDEX IF NOT EXISTS idx_stats_seed_sweep ON session_stats(is_seed_sweep)",
    "CREATE INDEX IF NOT EXISTS idx_stats_created_at ON session_stats(session_created_at DESC)",
    "CREATE INDEX IF NOT EXISTS idx_stats_completion ON session_stats(completion_percent)",
    """CREATE TABLE IF NOT EXISTS session_metadata (
        session_id TEXT PRIMARY KEY,
        session_path TEXT NOT NULL,
        is_test INTEGER DEFAULT 0,
        is_complete INTEGER DEFAULT 1,
        is_favorite INTEGER DEFAULT 0,
        user_rating TEXT,
        user_note TEXT,
        tags TEXT,
        auto_metadata TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
)


class WebUI:
    """One WebUI back end on ``path``; each method is one of its requests."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=5.0)
        con.row_factory = sqlite3.Row
        try:
            with con:
                yield con
        finally:
            con.close()

    def start(self) -> None:
        """Apply migration 1 unless ``schema_version`` records it; raise where the WebUI would."""
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        with self._connect() as con:
            if con.execute("SELECT 1 FROM schema_version WHERE version = 1").fetchone():
                return
            for statement in MIGRATION_1:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (1, "Initial schema (session_stats, session_metadata, indexes)", _now()),
            )

    # -- session_stats: list, stats, refresh, global stats --------------------

    def list_sessions(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute("SELECT * FROM session_stats ORDER BY session_created_at DESC")
            return [_stats(row) for row in rows]

    def session_stats(self, name: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT * FROM session_stats WHERE session_name = ?", (name,)
            ).fetchone()
            return _stats(row) if row else None

    def stats_batch(self, names: list[str]) -> dict[str, dict[str, Any]]:
        marks = ", ".join("?" * len(names))
        with self._connect() as con:
            rows = con.execute(
                f"SELECT * FROM session_stats WHERE session_name IN ({marks})",
                names,
            )
            return {row["session_name"]: _stats(row) for row in rows}

    def refresh(self, name: str, *, sd_model: str = "model_a", images: int = 4) -> None:
        values: dict[str, Any] = dict.fromkeys(STATS_COLUMNS)
        values.update(
            session_name=name,
            sd_model=sd_model,
            images_requested=images,
            images_actual=images,
            completion_percent=1.0,
            placeholders_count=1,
            placeholders=json.dumps(["Hair"]),
            variations_theoretical=images,
            variations_summary=json.dumps({"Hair": images}),
            session_type="normal",
            is_seed_sweep=0,
            session_created_at="2025-11-07T12:00:00",
            stats_computed_at=_now(),
            completion_threshold=0.95,
        )
        with self._connect() as con:
            con.execute(
                f"INSERT OR REPLACE INTO session_stats ({', '.join(STATS_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(STATS_COLUMNS))})",
                [values[column] for column in STATS_COLUMNS],
            )

    def global_stats(self) -> dict[str, Any]:
        with self._connect() as con:
            row = con.execute(
                """SELECT
                    COUNT(*) as total_sessions,
                    SUM(CASE WHEN images_actual = 0 THEN 1 ELSE 0 END) as sessions_aborted,
                    SUM(CASE WHEN completion_percent >= completion_threshold
                        THEN 1 ELSE 0 END) as sessions_completed,
                    SUM(CASE WHEN completion_percent < completion_threshold
                        AND images_actual > 0 THEN 1 ELSE 0 END) as sessions_ongoing,
                    SUM(images_actual) as total_images,
                    MAX(images_actual) as max_images,
                    MIN(CASE WHEN images_actual > 0 THEN images_actual END) as min_images,
                    AVG(images_actual) as avg_images
                FROM session_stats"""
            ).fetchone()
            return dict(row)

    # -- session_metadata -----------------------------------------------------

    def metadata(self, session_id: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT * FROM session_metadata WHERE session_id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return None
            loaded = dict(row)
            loaded["tags"] = json.loads(loaded["tags"]) if loaded["tags"] else []
            return loaded

    def save_metadata(self, loaded: dict[str, Any]) -> None:
        """The session page's save: the whole row it loaded, no conflict check."""
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO session_metadata (session_id, session_path, is_test, "
                "is_complete, is_favorite, user_rating, user_note, tags, auto_metadata, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    loaded["session_id"],
                    loaded["session_path"],
                    int(loaded["is_test"]),
                    int(loaded["is_complete"]),
                    int(loaded["is_favorite"]),
                    loaded["user_rating"],
                    loaded["user_note"],
                    json.dumps(loaded["tags"]) if loaded["tags"] else "[]",
                    loaded["auto_metadata"],
                    loaded["created_at"],
                    _now(),
                ),
            )

    def set_tags(self, session_id: str, session_path: str, tags: list[str]) -> None:
        """A partial update (its PATCH): insert the row, or update only ``tags``."""
        now = _now()
        with self._connect() as con:
            if con.execute(
                "SELECT 1 FROM session_metadata WHERE session_id = ?", (session_id,)
            ).fetchone():
                con.execute(
                    "UPDATE session_metadata SET tags = ?, updated_at = ? WHERE session_id = ?",
                    (json.dumps(tags), now, session_id),
                )
            else:
                con.execute(
                    "INSERT INTO session_metadata (session_id, session_path, is_test, "
                    "is_complete, is_favorite, user_rating, user_note, tags, created_at, "
                    "updated_at) VALUES (?, ?, 0, 1, 0, NULL, NULL, ?, ?, ?)",
                    (session_id, session_path, json.dumps(tags), now, now),
                )


def add_tag(path: Path, session_id: str, tag: str) -> None:
    """Another writer's tag edit: read the list and write it back in one write transaction.

    (The WebUI's own page saves the list its browser holds, so a tag added
    elsewhere while that page is open is lost by the WebUI, whatever
    sessionkit does; this writer loses nothing by itself, so a tag missing
    afterwards was lost by sessionkit.)
    """
    con = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute(
            "SELECT tags FROM session_metadata WHERE session_id = ?", (session_id,)
        ).fetchone()
        tags = [*(json.loads(row[0]) if row and row[0] else []), tag]
        if row:
            con.execute(
                "UPDATE session_metadata SET tags = ?, updated_at = ? WHERE session_id = ?",
                (json.dumps(tags), _now(), session_id),
            )
        else:
            con.execute(
                "INSERT INTO session_metadata (session_id, session_path, tags, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, session_id, json.dumps(tags), _now(), _now()),
            )
        con.execute("COMMIT")
    finally:
        con.close()


def _stats(row: sqlite3.Row) -> dict[str, Any]:
    """The WebUI's row-to-model step: every one of its columns, by name."""
    return {column: row[column] for column in STATS_COLUMNS}


def _now() -> str:
    return datetime.now().isoformat()
