"""The SQLite store: schema, the WebUI migration, metadata validation, conflicts, locks."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from builders import (
    WEBUI_SCHEMA,
    manifest,
    write_old_sessionkit_db,
    write_session,
    write_webui_db,
)
from sessionkit.scan import index_root
from sessionkit.stats import STATS_VERSION
from sessionkit.store import (
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
    assert store.rows("SELECT version FROM sessionkit_schema") == [(SCHEMA_VERSION,)]
    tables = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {
        "sessionkit_schema",
        "sessionkit_stats",
        "sessionkit_files",
        "sessionkit_settings",
        "sessionkit_details",
        "sessionkit_detail_parts",
        "session_metadata",
        "image_metadata",
    }
    views = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"sessionkit_images"}
    assert SCHEMA_VERSION == 6


def test_session_metadata_is_created_with_the_webui_ddl(store: Store) -> None:
    ddl = store.rows("SELECT sql FROM sqlite_master WHERE name = 'session_metadata'")[0][0]
    assert " ".join(ddl.split()) == (
        "CREATE TABLE session_metadata ( session_id TEXT PRIMARY KEY, session_path TEXT NOT NULL, "
        "is_test INTEGER DEFAULT 0, is_complete INTEGER DEFAULT 1, is_favorite INTEGER DEFAULT 0, "
        "user_rating TEXT, user_note TEXT, tags TEXT, auto_metadata TEXT, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL )"
    )


def test_sessionkit_files_and_its_view_of_one_row_per_image(store: Store) -> None:
    assert [row[1] for row in store.rows("PRAGMA table_info(sessionkit_files)")] == [
        "session_id",
        "files",
    ]
    assert [row[1] for row in store.rows("PRAGMA table_info(sessionkit_images)")] == [
        "session_id",
        "filename",
        "file_mtime",
        "file_size",
    ]
    with store._transaction() as con:
        con.executemany(
            "INSERT INTO sessionkit_files VALUES (?, ?)",
            [
                ("a", '{"n": ["x.png", "y.png"], "t": [0.0, 86399.9], "s": [10, 20]}'),
                ("b", '{"n": [], "t": [], "s": []}'),
            ],
        )
    local = store.rows(
        "SELECT datetime(0, 'unixepoch', 'localtime'), datetime(86399, 'unixepoch', 'localtime')"
    )[0]
    assert store.rows("SELECT * FROM sessionkit_images ORDER BY filename") == [
        ("a", "x.png", local[0], 10),
        ("a", "y.png", local[1], 20),
    ]


def test_sessionkit_stats_has_the_data_model_indexes(store: Store) -> None:
    indexes = store.rows(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'sessionkit_stats' "
        "AND type = 'index' AND sql IS NOT NULL"
    )
    indexed = {store.rows(f"PRAGMA index_info('{name}')")[0][2] for name, _ in indexes}
    assert indexed == {"sd_model", "is_seed_sweep", "completion_percentage", "session_created_at"}
    assert any("session_created_at DESC" in sql for _, sql in indexes)
    assert all(name.startswith("idx_sessionkit_stats_") for name, _ in indexes)


def test_version_2_database_migrates_to_the_new_names_and_keeps_metadata(tmp_path: Path) -> None:
    """Packed image rows go, stats move to ``sessionkit_stats`` and are recomputed."""
    root = tmp_path / "root"
    write_session(root, "20251107_120000-Portrait", manifest("Portrait", images=2))
    path = tmp_path / "sessions.db"
    write_old_sessionkit_db(path, 2)
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO session_stats (session_id, session_path, stats_computed_at, "
        "stats_version, signature, sd_model) VALUES (?, ?, ?, 2, ?, ?)",
        ("20251107_120000-Portrait", str(root / "20251107_120000-Portrait"), "x", "stale", "m"),
    )
    con.execute(
        "INSERT INTO session_details VALUES (?, ?, ?)",
        ("20251107_120000-Portrait", '[["a.png", 1]]', '[["HAIR", "bob", 1, 1]]'),
    )
    con.execute(
        "INSERT INTO session_metadata VALUES (?, ?, 0, 1, 1, 'like', 'kept', ?, NULL, ?, ?)",
        ("20251107_120000-Portrait", "/p", '["keeper", "two words"]', "t1", "t1"),
    )
    con.commit()
    con.close()
    metadata_before = dump(path, "session_metadata")

    store = Store(path)
    versions = store.rows("SELECT version FROM sessionkit_schema ORDER BY version")
    assert versions == [(1,), (2,), (3,), (4,), (5,), (6,)]
    tables = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='table'")}
    views = {row[0] for row in store.rows("SELECT name FROM sqlite_master WHERE type='view'")}
    assert tables == {
        "sessionkit_schema",
        "sessionkit_stats",
        "sessionkit_files",
        "sessionkit_settings",
        "sessionkit_details",
        "sessionkit_detail_parts",
        "session_metadata",
        "image_metadata",
    }
    assert views == {"sessionkit_images"}
    assert store.rows("SELECT session_id, sd_model FROM sessionkit_stats") == [
        ("20251107_120000-Portrait", "m")
    ]
    assert dump(path, "session_metadata") == metadata_before
    report = index_root(root, store, progress=False)
    assert (report.computed, report.unchanged) == (1, 0)  # stats_version 2 is out of date
    assert store.rows("SELECT stats_version, images_actual FROM sessionkit_stats") == [
        (STATS_VERSION, 2)
    ]
    assert store.rows("SELECT count(*) FROM sessionkit_images") == [(2,)]
    assert dump(path, "session_metadata") == metadata_before
    store.close()


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    Store(tmp_path / "s.db").close()
    again = Store(tmp_path / "s.db")
    assert again.rows("SELECT version FROM sessionkit_schema") == [(SCHEMA_VERSION,)]


def webui_objects(path: Path) -> list[tuple[Any, ...]]:
    """The WebUI's tables and indexes, with their DDL, as ``sqlite_master`` lists them.

    Quotes are dropped: a rename back quotes the table name in its indexes' DDL.
    """
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT type, name, tbl_name, replace(sql, '\"', '') FROM sqlite_master "
            "WHERE tbl_name IN ('session_stats', 'schema_version') ORDER BY name"
        ).fetchall()
    finally:
        con.close()


def test_webui_database_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    write_webui_db(path)
    objects_before = webui_objects(path)
    tables_before = {
        t: dump(path, t) for t in ("session_metadata", "session_stats", "schema_version")
    }

    Store(path).close()

    assert webui_objects(path) == objects_before
    assert {t: dump(path, t) for t in tables_before} == tables_before
    assert len(objects_before) == 7  # two tables, four indexes, a primary key index


def test_migration_gives_the_webui_its_stats_table_back(tmp_path: Path) -> None:
    """A version-3 file where sessionkit had renamed the WebUI's table: both get their names."""
    path = tmp_path / "sessions.db"
    write_webui_db(path)
    webui_before = webui_objects(path)
    webui_rows = dump(path, "session_stats")
    path.unlink()
    write_old_sessionkit_db(path, 3, over_webui=True)
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO session_stats (session_id, session_path, stats_computed_at) "
        "VALUES ('20251107_120000-Portrait', '/p', 'x')"
    )
    con.commit()
    con.close()
    metadata_before = dump(path, "session_metadata")

    store = Store(path)

    assert webui_objects(path) == webui_before
    assert dump(path, "session_stats") == webui_rows
    assert store.rows("SELECT session_id FROM sessionkit_stats") == [("20251107_120000-Portrait",)]
    assert dump(path, "session_metadata") == metadata_before
    names = {row[0] for row in store.rows("SELECT name FROM sqlite_master")}
    assert not {n for n in names if n.startswith("session_stats_webui")}
    assert not {n for n in names if n.startswith("idx_session_stats")}
    store.close()


def test_migration_renames_back_only_a_copy_of_the_webui_layout(tmp_path: Path) -> None:
    """An unrelated ``session_stats_webui`` stays; the WebUI's copy under ``_2`` goes back."""
    path = tmp_path / "sessions.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE session_stats_webui (x)")
    con.executescript(WEBUI_SCHEMA)
    con.execute("ALTER TABLE session_stats RENAME TO session_stats_webui_2")
    con.close()
    write_old_sessionkit_db(path, 3)
    Store(path).close()
    assert dump(path, "session_stats_webui") == []
    assert [row[0] for row in dump(path, "session_stats")] == ["20251107_120000-Portrait"]


def test_migration_drops_the_indexes_a_failed_webui_start_left(tmp_path: Path) -> None:
    """The WebUI's migration, run on sessionkit's old table, indexed three columns then failed."""
    path = tmp_path / "sessions.db"
    write_old_sessionkit_db(path, 3)
    con = sqlite3.connect(path)
    for column in ("sd_model", "is_seed_sweep", "session_created_at"):
        con.execute(f"CREATE INDEX IF NOT EXISTS idx_stats_{column} ON session_stats({column})")
    with pytest.raises(sqlite3.OperationalError, match="completion_percent"):
        con.execute("CREATE INDEX idx_stats_completion ON session_stats(completion_percent)")
    con.close()

    Store(path).close()

    con = sqlite3.connect(path)
    names = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='index'")]
    con.close()
    assert not [name for name in names if name.startswith("idx_stats_")]
    assert "idx_sessionkit_stats_sd_model" in names


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


def webui_tagged(store: Store) -> str:
    """A session whose tags the WebUI wrote: a space, and two that differ by case only."""
    with store._transaction() as con:
        con.execute(
            "INSERT INTO session_metadata (session_id, session_path, tags, created_at, "
            "updated_at) VALUES ('s1', '/r/s1', ?, 't', 't')",
            ('["two words", "Keeper", "keeper"]',),
        )
    return "s1"


def tags_of(store: Store, session_id: str) -> list[str]:
    row = store.metadata(session_id)
    return parse_tags(row["tags"]) if row else []


def test_adding_tags_keeps_stored_tags_of_any_form(store: Store) -> None:
    sid = webui_tagged(store)
    store.update_metadata(sid, "/r/s1", {}, add_tags=["fresh", "KEEPER", "fresh"])
    assert tags_of(store, sid) == ["two words", "Keeper", "keeper", "fresh"]


def test_removing_matches_exactly_then_ignoring_case(store: Store) -> None:
    sid = webui_tagged(store)
    store.update_metadata(sid, "/r/s1", {}, remove_tags=["keeper"])
    assert tags_of(store, sid) == ["two words", "Keeper"]
    store.update_metadata(sid, "/r/s1", {}, remove_tags=["KEEPER", "two words", "absent"])
    assert tags_of(store, sid) == []


def test_remove_then_add_can_change_a_tags_case(store: Store) -> None:
    sid = webui_tagged(store)
    store.update_metadata(sid, "/r/s1", {}, remove_tags=["Keeper", "keeper"], add_tags=["KEEPER"])
    assert tags_of(store, sid) == ["two words", "KEEPER"]


@pytest.mark.parametrize(
    ("add", "message"),
    [
        (["ok", "no spaces"], "may hold only letters"),
        (["x" * 51], "the limit is 50"),
        ([""], "cannot be empty"),
        ([7], "must be text"),
        ("word", "must be a list"),
    ],
)
def test_a_bad_tag_to_add_is_refused_and_nothing_is_written(
    store: Store, add: Any, message: str
) -> None:
    sid = webui_tagged(store)
    before = store.metadata(sid)
    with pytest.raises(InvalidMetadata, match=message):
        store.update_metadata(sid, "/r/s1", {"user_note": "n"}, add_tags=add)
    assert store.metadata(sid) == before


def test_a_whole_new_list_checks_only_the_tags_it_adds(store: Store) -> None:
    sid = webui_tagged(store)
    store.update_metadata(sid, "/r/s1", {"tags": ["two words", "new"]})
    assert tags_of(store, sid) == ["two words", "new"]
    with pytest.raises(InvalidMetadata, match="may hold only letters"):
        store.update_metadata(sid, "/r/s1", {"tags": ["two words", "more words"]})
    with pytest.raises(InvalidMetadata, match="given twice"):
        store.update_metadata(sid, "/r/s1", {"tags": ["new", "NEW"]})
    assert tags_of(store, sid) == ["two words", "new"]


def test_a_whole_list_and_tags_to_add_are_not_given_together(store: Store) -> None:
    with pytest.raises(InvalidMetadata, match="either"):
        store.update_metadata("s1", "/r/s1", {"tags": ["a"]}, add_tags=["b"])
    assert store.metadata("s1") is None


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
