"""The SQLite store: schema, the WebUI migration, metadata validation, conflicts, locks."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, write_session, write_webui_db
from sessionkit import store as store_module
from sessionkit.scan import index_root
from sessionkit.stats import STATS_VERSION
from sessionkit.store import (
    MIGRATIONS,
    NEVER_EDITED,
    NOTE_MAX_CHARS,
    SCHEMA_VERSION,
    DatabaseLocked,
    InvalidMetadata,
    MetadataConflict,
    Store,
    parse_tags,
)


def dump(path: Path, table: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        con.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "sessions.db")


def test_new_database_is_wal_with_busy_timeout_and_versioned(store: Store) -> None:
    assert store.rows("PRAGMA journal_mode") == [("wal",)]
    assert store.rows("PRAGMA busy_timeout")[0][0] == 5000
    assert store.rows("SELECT max(version) FROM sessionkit_schema") == [(SCHEMA_VERSION,)]
    tables = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"session_stats", "session_metadata", "session_files"} <= tables
    assert "session_details" not in tables
    views = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"session_images"}
    assert SCHEMA_VERSION == 3


def test_session_files_and_its_view_of_one_row_per_image(store: Store) -> None:
    assert [row[1] for row in store.rows("PRAGMA table_info(session_files)")] == [
        "session_id",
        "files",
    ]
    assert [row[1] for row in store.rows("PRAGMA table_info(session_images)")] == [
        "session_id",
        "filename",
        "file_mtime",
        "file_size",
    ]
    with store._transaction() as con:
        con.executemany(
            "INSERT INTO session_files VALUES (?, ?)",
            [
                ("a", '{"n": ["x.png", "y.png"], "t": [0.0, 86399.9], "s": [10, 20]}'),
                ("b", '{"n": [], "t": [], "s": []}'),
            ],
        )
    local = store.rows(
        "SELECT datetime(0, 'unixepoch', 'localtime'), datetime(86399, 'unixepoch', 'localtime')"
    )[0]
    assert store.rows("SELECT * FROM session_images ORDER BY filename") == [
        ("a", "x.png", local[0], 10),
        ("a", "y.png", local[1], 20),
    ]


def test_session_stats_has_the_data_model_indexes(store: Store) -> None:
    indexes = store.rows(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'session_stats' "
        "AND type = 'index' AND sql IS NOT NULL"
    )
    indexed = {store.rows(f"PRAGMA index_info('{name}')")[0][2] for name, _ in indexes}
    assert indexed == {"sd_model", "is_seed_sweep", "completion_percentage", "session_created_at"}
    assert any("session_created_at DESC" in sql for _, sql in indexes)


def test_files_migration_drops_the_packed_rows_and_keeps_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version-2 database: packed image rows go, stats are recomputed, metadata stays."""
    root = tmp_path / "root"
    write_session(root, "20251107_120000-Portrait", manifest("Portrait", images=2))
    path = tmp_path / "sessions.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:2])
    old = Store(path)
    with old._transaction() as con:
        con.execute(
            "INSERT INTO session_stats (session_id, session_path, stats_computed_at, "
            "stats_version, signature) VALUES (?, ?, ?, 2, ?)",
            ("20251107_120000-Portrait", str(root / "20251107_120000-Portrait"), "x", "stale"),
        )
        con.execute(
            "INSERT INTO session_details VALUES (?, ?, ?)",
            ("20251107_120000-Portrait", '[["a.png", 1]]', '[["HAIR", "bob", 1, 1]]'),
        )
    old.update_metadata(
        "20251107_120000-Portrait",
        str(root / "20251107_120000-Portrait"),
        {"tags": ["keeper"], "user_note": "kept"},
    )
    metadata_before = dump(path, "session_metadata")
    old.close()
    monkeypatch.undo()

    store = Store(path)
    assert store.rows("SELECT version FROM sessionkit_schema ORDER BY version") == [
        (1,),
        (2,),
        (3,),
    ]
    tables = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    views = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='view'")}
    assert "session_details" not in tables and "session_files" in tables
    assert views == {"session_images"}
    assert store.rows("SELECT count(*) FROM session_images") == [(0,)]
    assert dump(path, "session_metadata") == metadata_before
    report = index_root(root, store, progress=False)
    assert (report.computed, report.unchanged) == (1, 0)  # stats_version 2 is out of date
    assert store.rows("SELECT stats_version, images_actual FROM session_stats") == [
        (STATS_VERSION, 2)
    ]
    assert store.rows("SELECT count(*) FROM session_images") == [(2,)]
    assert dump(path, "session_metadata") == metadata_before
    store.close()


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    Store(tmp_path / "s.db").close()
    again = Store(tmp_path / "s.db")
    assert again.rows("SELECT count(*) FROM sessionkit_schema") == [(SCHEMA_VERSION,)]


def test_webui_database_keeps_metadata_and_its_old_stats_table(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    write_webui_db(path)
    metadata_before = dump(path, "session_metadata")
    stats_before = dump(path, "session_stats")
    versions_before = dump(path, "schema_version")

    Store(path).close()

    assert dump(path, "session_metadata") == metadata_before
    assert dump(path, "session_stats_webui") == stats_before
    assert dump(path, "schema_version") == versions_before
    assert dump(path, "session_stats") == []
    con = sqlite3.connect(path)
    columns = [row[1] for row in con.execute("PRAGMA table_info(session_stats)")]
    assert columns[:2] == ["session_id", "session_path"]


def test_webui_copy_kept_under_a_free_name_when_one_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    write_webui_db(path)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE session_stats_webui (x)")
    con.commit()
    con.close()
    Store(path).close()
    assert len(dump(path, "session_stats_webui_2")) == 1


def test_webui_database_metadata_is_readable_and_editable(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    write_webui_db(path)
    store = Store(path)
    row = store.metadata("20251107_120000-Portrait")
    assert row is not None
    assert parse_tags(row["tags"]) == ["portrait", "keeper"]
    assert row["user_note"] == "keep this one"
    updated = store.update_metadata(
        "20251107_120000-Portrait",
        row["session_path"],
        {"user_note": "still"},
        expected_updated_at=row["updated_at"],
    )
    assert updated["user_note"] == "still"
    assert updated["tags"] == row["tags"]
    assert updated["updated_at"] > row["updated_at"]


def test_first_edit_creates_the_row_with_defaults(store: Store) -> None:
    row = store.update_metadata("s1", "/r/s1", {"is_favorite": True})
    assert row["is_favorite"] == 1
    assert (row["is_test"], row["is_complete"], row["tags"], row["user_rating"]) == (
        0,
        1,
        "[]",
        None,
    )
    assert row["created_at"] == row["updated_at"]


def test_partial_update_changes_only_given_fields(store: Store) -> None:
    store.update_metadata("s1", "/r/s1", {"tags": ["a"], "user_note": "n", "user_rating": "like"})
    row = store.update_metadata("s1", "/r/s1", {"is_test": True})
    assert (row["tags"], row["user_note"], row["user_rating"], row["is_test"]) == (
        '["a"]',
        "n",
        "like",
        1,
    )
    row = store.update_metadata("s1", "/r/s1", {"tags": ["b", "c"], "user_rating": None})
    assert parse_tags(row["tags"]) == ["b", "c"]
    assert row["user_rating"] is None


def test_updated_at_changes_on_every_write(store: Store) -> None:
    stamps = [
        store.update_metadata("s1", "/r/s1", {"is_test": i % 2})["updated_at"] for i in range(20)
    ]
    assert stamps == sorted(set(stamps))


BAD_VALUES: dict[str, tuple[dict[str, Any], str, str]] = {
    "tag_with_space": ({"tags": ["a b"]}, "tags", "letters, digits"),
    "tag_empty": ({"tags": [""]}, "tags", "cannot be empty"),
    "tag_too_long": ({"tags": ["x" * 51]}, "tags", "limit is 50"),
    "tag_duplicate": ({"tags": ["a", "A"]}, "tags", "given twice"),
    "tag_not_text": ({"tags": [3]}, "tags", "must be text"),
    "tags_as_string": ({"tags": "a,b"}, "tags", "list of tags"),
    "tag_sql": ({"tags": ["x'; DROP TABLE session_metadata; --"]}, "tags", "letters, digits"),
    "note_too_long": ({"user_note": "n" * (NOTE_MAX_CHARS + 1)}, "user_note", "501 characters"),
    "note_not_text": ({"user_note": 5}, "user_note", "must be text"),
    "rating_unknown": ({"user_rating": "love"}, "user_rating", "'like', 'dislike'"),
    "flag_not_bool": ({"is_favorite": "yes"}, "is_favorite", "true or false"),
    "unknown_field": ({"favourite": True}, "favourite", "unknown field"),
    "auto_metadata_list": ({"auto_metadata": [1]}, "auto_metadata", "JSON object"),
}


@pytest.mark.parametrize("case", BAD_VALUES, ids=list(BAD_VALUES))
def test_bad_values_are_refused_with_field_and_reason(store: Store, case: str) -> None:
    changes, field, reason = BAD_VALUES[case]
    store.update_metadata("s1", "/r/s1", {"user_note": "before", "tags": ["ok"]})
    before = store.metadata("s1")
    with pytest.raises(InvalidMetadata) as raised:
        store.update_metadata("s1", "/r/s1", {"is_test": True, **changes})
    assert raised.value.field == field
    assert reason in raised.value.reason
    assert store.metadata("s1") == before


def test_valid_edge_values_are_accepted(store: Store) -> None:
    row = store.update_metadata(
        "s1",
        "/r/s1",
        {
            "tags": ["x" * 50, "a-b_c", "café", "42"],
            "user_note": "n" * NOTE_MAX_CHARS,
            "auto_metadata": {"k": [1, 2]},
        },
    )
    assert parse_tags(row["tags"]) == ["x" * 50, "a-b_c", "café", "42"]
    assert len(row["user_note"]) == NOTE_MAX_CHARS


def test_stale_write_is_a_conflict_and_writes_nothing(store: Store) -> None:
    first = store.update_metadata("s1", "/r/s1", {"user_note": "mine"})
    store.update_metadata("s1", "/r/s1", {"user_note": "theirs"})
    with pytest.raises(MetadataConflict) as raised:
        store.update_metadata(
            "s1", "/r/s1", {"user_note": "late"}, expected_updated_at=first["updated_at"]
        )
    assert "edited elsewhere" in str(raised.value)
    row = store.metadata("s1")
    assert row is not None and row["user_note"] == "theirs"


def test_expected_version_of_a_deleted_row_is_a_conflict(store: Store) -> None:
    with pytest.raises(MetadataConflict):
        store.update_metadata("s1", "/r/s1", {"is_test": 1}, expected_updated_at="2026-01-01")


def test_locked_database_is_retried_then_refused_plainly(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = Store(path, busy_timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseLocked) as raised:
        store.update_metadata("s1", "/r/s1", {"is_test": 1})
    assert "locked by another program" in str(raised.value)
    other.execute("ROLLBACK")
    assert store.update_metadata("s1", "/r/s1", {"is_test": 1})["is_test"] == 1


def test_lock_released_during_retries_lets_the_write_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sessions.db"
    store = Store(path, busy_timeout=0.01)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    real_sleep = __import__("time").sleep

    def release_then_sleep(seconds: float) -> None:
        if other.in_transaction:
            other.execute("ROLLBACK")
        real_sleep(seconds)

    monkeypatch.setattr("sessionkit.store.time.sleep", release_then_sleep)
    assert store.update_metadata("s1", "/r/s1", {"is_favorite": 1})["is_favorite"] == 1


@pytest.mark.parametrize(
    ("raw", "tags"),
    [(None, []), ("", []), ('["a", "b"]', ["a", "b"]), ("a, b", ["a", "b"]), ('"solo"', ["solo"])],
)
def test_parse_tags_tolerates_what_other_writers_stored(raw: str | None, tags: list[str]) -> None:
    assert parse_tags(raw) == tags


def test_never_edited_detects_a_row_created_meanwhile(store: Store) -> None:
    assert store.update_metadata("s1", "/r/s1", {"is_test": 1}, expected_updated_at=NEVER_EDITED)
    with pytest.raises(MetadataConflict, match="edited elsewhere since you read it"):
        store.update_metadata("s1", "/r/s1", {"is_test": 0}, expected_updated_at=NEVER_EDITED)
    row = store.metadata("s1")
    assert row is not None and row["is_test"] == 1
