"""Integration: index a root, filter, edit metadata, rescan, and check edits survive."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from builders import manifest, write_session, write_webui_db
from sessionkit import (
    InvalidFilter,
    InvalidMetadata,
    InvalidSessionId,
    MetadataConflict,
    NotConfigured,
    QueryError,
    SessionKit,
    UnknownSession,
)
from sessionkit.stats import STATS_COLUMNS

PORTRAIT = "20251107_120000-Portrait"
SWEEP = "20251108_090000-Seed Sweep (v2)"
ILLUSTRIOUS = "20251110_180000-Anime_Girls"
OLD_STYLE = "2025-10-14_173320_old_style.prompt"
NO_MANIFEST = "20251111_100000-loose_images"
BROKEN = "20251112_100000-half_written"
FOUR = ("smiling", "neutral", "angry", "calm")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "sessions"
    write_session(root, PORTRAIT, manifest("Portrait", images=4, expressions=FOUR))
    write_session(
        root, SWEEP, manifest("Sweep", images=6, seed_list=[1, 2, 3], expressions=("smiling",))
    )
    write_session(
        root,
        ILLUSTRIOUS,
        manifest(
            "Anime",
            images=2,
            num_images=10,
            model="illustriousXL_v01.safetensors [aa11bb22cc]",
            prompt="1girl, 100% {EXPRESSIONS}, under_score",
            status="ongoing",
        ),
    )
    write_session(root, OLD_STYLE, manifest("old", images=1, seed_mode="fixed"))
    write_session(root, NO_MANIFEST, None, images=3)
    write_session(root, BROKEN, b'{"snapshot": {"version": "2.0", "timest')
    (root / ".hidden").mkdir()
    (root / "empty_folder").mkdir()
    write_session(root / "dryrun", "20251112_110000-dry", manifest("dry", images=0))
    return root


@pytest.fixture
def kit(root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    with SessionKit(root, tmp_path / "db" / "sessions.db", progress=False) as kit:
        kit.index()
        yield kit


def ids(frame: Any) -> set[str]:
    return set(frame["session_id"])


def metadata_rows(kit: SessionKit) -> list[tuple[Any, ...]]:
    return kit.store.rows("SELECT * FROM session_metadata ORDER BY session_id")


def test_index_reports_counts_and_each_failure(root: Path, tmp_path: Path) -> None:
    with SessionKit(root, tmp_path / "x.db", progress=False) as kit:
        report = kit.index()
    assert (report.scanned, report.computed, report.unchanged) == (6, 6, 0)
    assert report.failed == [
        (
            BROKEN,
            "manifest.json is cut short at line 1 "
            "(half-written; it is read again on the next scan)",
        )
    ]


def test_sessions_hold_stats_and_default_metadata(kit: SessionKit) -> None:
    frame = kit.sessions()
    assert ids(frame) == {PORTRAIT, SWEEP, ILLUSTRIOUS, OLD_STYLE, NO_MANIFEST, BROKEN}
    assert set(STATS_COLUMNS) <= set(frame.columns)
    row = frame.set_index("session_id").loc[PORTRAIT]
    assert (row["is_favorite"], row["is_complete"], list(row["tags"])) == (0, 1, [])
    assert row["placeholders"] == {"EXPRESSIONS": 4}
    assert frame["session_id"].iloc[0] == BROKEN  # newest first by folder-name time


def test_many_sessions_rows_share_their_strings(
    kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.update_metadata(SWEEP, tags=["lora"])
    in_one_query = kit.sessions(limit=None)
    kit.mirror.reload()  # forget the converted rows
    monkeypatch.setattr("sessionkit.mirror._ROWS_BATCH", 2)  # 6 sessions are "many"
    rows = kit.sessions(limit=None)
    pd.testing.assert_frame_equal(rows, in_one_query)
    rows = rows.set_index("session_id")
    sweep, portrait = rows.loc[SWEEP], rows.loc[PORTRAIT]
    assert sweep["variations_summary"] == {"EXPRESSIONS": ["smiling"]}
    smiling = portrait["variations_summary"]["EXPRESSIONS"].index("smiling")
    assert (
        sweep["variations_summary"]["EXPRESSIONS"][0]
        is (portrait["variations_summary"]["EXPRESSIONS"][smiling])
    )  # one string object for both, not one per session
    sources = [source for source in rows["stats_source"] if source == "manifest"]
    assert len(sources) > 1
    assert all(source is sources[0] for source in sources)  # text columns' too


def test_each_filter(kit: SessionKit) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True, tags=["keeper", "lora"], user_rating="like")
    kit.update_metadata(SWEEP, is_test=True, tags=["lora"], user_note="Compare PONYTAIL seeds")
    assert ids(kit.sessions(liked=True)) == {PORTRAIT}
    assert PORTRAIT not in ids(kit.sessions(liked=False))
    assert ids(kit.sessions(test=True)) == {SWEEP}
    assert ids(kit.sessions(seed_sweep=True)) == {SWEEP}
    assert ids(kit.sessions(complete=False)) == {ILLUSTRIOUS, NO_MANIFEST, BROKEN}
    assert ids(kit.sessions(model="ILLUSTRIOUS")) == {ILLUSTRIOUS}
    assert ids(kit.sessions(tags=["lora"])) == {PORTRAIT, SWEEP}
    assert ids(kit.sessions(tags=["lora", "keeper"])) == {PORTRAIT}
    assert ids(kit.sessions(tags=["LORA"])) == {PORTRAIT, SWEEP}
    assert ids(kit.sessions(rating="like")) == {PORTRAIT}
    assert ids(kit.sessions(search="ponytail")) == {SWEEP}
    assert ids(kit.sessions(search="anime_girls")) == {ILLUSTRIOUS}
    assert ids(kit.sessions(from_date="2025-11-10", to_date="2025-11-11")) == {
        ILLUSTRIOUS,
        NO_MANIFEST,
    }
    assert ids(kit.sessions(to_date="2025-10-14")) == {OLD_STYLE}
    assert ids(kit.sessions(dry_run=True)) == set()
    assert kit.count(liked=True, tags=["lora"]) == 1
    assert kit.describe(liked=True, model="illustrious") == (
        "0 sessions where liked and model contains illustrious"
    )
    assert kit.describe(tags=["lora"]) == "2 sessions where tag lora"


def test_order_limit_and_offset(kit: SessionKit) -> None:
    frame = kit.sessions(order_by="session_id", descending=False, limit=2, offset=1)
    assert list(frame["session_id"]) == sorted(ids(kit.sessions()))[1:3]


HOSTILE = [
    "'",
    '"; DROP TABLE session_metadata; --',
    "%",
    "_",
    "100%",
    "under_score",
    "' OR 1=1 --",
    "SELECT * FROM sessions",
    "../etc/passwd",
    "a\x00b",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_filter_values_are_plain_text(kit: SessionKit, value: str) -> None:
    expected = {sid for sid in ids(kit.sessions()) if value.lower() in sid.lower()}
    expected |= {ILLUSTRIOUS} if value.lower() in "1girl, 100% smiling, under_score" else set()
    assert ids(kit.sessions(search=value)) == expected
    models = set(kit.sessions()["sd_model"].dropna())
    assert kit.count(model=value) == len(
        kit.sessions()[
            kit.sessions()["sd_model"].isin({m for m in models if value.lower() in m.lower()})
        ]
    )
    assert kit.count(tags=[value]) == 0
    assert kit.sql("SELECT count(*) AS n FROM session_metadata")["n"][0] == 0


@pytest.mark.parametrize("value", ["../x", "a/b", "a\\b", "..", "", "a\x00b", "dryrun"])
def test_session_ids_that_are_paths_are_refused(kit: SessionKit, value: str) -> None:
    with pytest.raises(InvalidSessionId):
        kit.stats(value)
    with pytest.raises(InvalidSessionId):
        kit.update_metadata(value, is_favorite=True)


def test_unknown_session_suggests_a_close_name(kit: SessionKit) -> None:
    with pytest.raises(UnknownSession, match="did you mean '20251107_120000-Portrait'"):
        kit.metadata("20251107_120000-Portriat")


def test_date_bounds_take_a_time_too(kit: SessionKit) -> None:
    """A day alone is the whole day; a time bounds at that minute (second, ...), inclusive."""
    # ILLUSTRIOUS started 2025-11-10 18:00:00, NO_MANIFEST 2025-11-11 10:00:00
    assert ids(kit.sessions(from_date="2025-11-10T18:00", to_date="2025-11-11 10:00")) == {
        ILLUSTRIOUS,
        NO_MANIFEST,
    }
    assert ids(kit.sessions(from_date="2025-11-10T18:01", to_date="2025-11-11T09:59")) == set()
    assert ids(kit.sessions(from_date="2025-11-10 18:00:01", to_date="2025-11-11T10")) == {
        NO_MANIFEST
    }
    assert ids(kit.sessions(to_date="2025-11-10T17:59:59")) == ids(
        kit.sessions(to_date="2025-11-09")
    )
    assert ids(kit.sessions(from_date=datetime(2025, 11, 11, 10), to_date=date(2025, 11, 11))) == {
        NO_MANIFEST
    }
    assert ids(kit.sessions(to_date=datetime(2025, 11, 10, 18))) == ids(
        kit.sessions(to_date="2025-11-10T18:00:00")
    )
    assert kit.describe(from_date="2025-11-10T18:00", to_date="2025-11-11") == (
        "2 sessions where from 2025-11-10 18:00 and until 2025-11-11"
    )


def test_bad_arguments_are_plain_errors(kit: SessionKit) -> None:
    with pytest.raises(InvalidFilter, match="did you mean 'liked'"):
        kit.sessions(likes=True)  # type: ignore[call-arg]
    with pytest.raises(InvalidFilter, match="cannot order by"):
        kit.sessions(order_by="session_id; DROP TABLE x")
    with pytest.raises(InvalidFilter, match="from_date must be a date"):
        kit.sessions(from_date="last week")
    with pytest.raises(InvalidFilter, match="freq must be"):
        kit.timeline("Y")
    with pytest.raises(QueryError, match="no_such_table"):
        kit.sql("SELECT * FROM no_such_table")


def test_metadata_edit_round_trip_and_mirror_refresh(kit: SessionKit) -> None:
    assert kit.metadata(PORTRAIT)["updated_at"] is None
    saved = kit.update_metadata(PORTRAIT, tags=["keeper"], user_note="<b>nice</b>")
    assert saved["tags"] == ["keeper"]
    assert kit.sessions(tags=["keeper"])["user_note"].tolist() == ["<b>nice</b>"]
    again = kit.update_metadata(PORTRAIT, expected_updated_at=saved["updated_at"], is_test=True)
    assert again["tags"] == ["keeper"] and again["is_test"] == 1
    with pytest.raises(MetadataConflict):
        kit.update_metadata(PORTRAIT, expected_updated_at=saved["updated_at"], is_test=False)
    with pytest.raises(InvalidMetadata, match="user_note: is 501 characters"):
        kit.update_metadata(PORTRAIT, user_note="x" * 501)
    assert kit.tags().to_dict("records") == [{"tag": "keeper", "sessions": 1}]


def test_recent_liked_is_most_recently_edited_first(kit: SessionKit) -> None:
    kit.update_metadata(SWEEP, is_favorite=True)
    kit.update_metadata(PORTRAIT, is_favorite=True)
    assert list(kit.recent_liked()["session_id"]) == [PORTRAIT, SWEEP]
    assert list(kit.recent_liked(limit=1)["session_id"]) == [PORTRAIT]


def test_rescan_skips_unchanged_and_recomputes_changed(kit: SessionKit, root: Path) -> None:
    kit.update_metadata(PORTRAIT, tags=["keeper"], is_favorite=True)
    before = metadata_rows(kit)
    report = kit.index()
    assert (report.computed, report.unchanged) == (1, 5)  # only the broken manifest is retried
    write_session(root, PORTRAIT, manifest("Portrait", images=6, num_images=4, expressions=FOUR))
    report = kit.index()
    assert PORTRAIT in report.changed_ids
    assert kit.stats(PORTRAIT)["images_actual"] == 6
    assert kit.stats(PORTRAIT)["completion_percentage"] == 150.0
    assert kit.index(force=True).computed == 6
    assert metadata_rows(kit) == before


def test_rows_of_older_rules_are_recomputed(kit: SessionKit) -> None:
    con = sqlite3.connect(kit.db_path)
    con.execute(
        "UPDATE sessionkit_stats SET stats_version = 0, sd_model = 'stale' WHERE session_id = ?",
        (PORTRAIT,),
    )
    con.commit()
    con.close()
    report = kit.index()
    assert PORTRAIT in report.changed_ids
    assert kit.stats(PORTRAIT)["sd_model"] != "stale"


def test_half_written_manifest_is_read_again_next_scan(kit: SessionKit, root: Path) -> None:
    assert kit.stats(BROKEN)["stats_error"] is not None
    write_session(root, BROKEN, manifest("half", images=0, num_images=3))
    kit.index()
    stats = kit.stats(BROKEN)
    assert (stats["stats_error"], stats["stats_source"], stats["images_expected"]) == (
        None,
        "manifest",
        3,
    )


def test_vanished_session_is_marked_missing_and_keeps_metadata(
    kit: SessionKit, root: Path, tmp_path: Path
) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True, tags=["keeper"])
    before = metadata_rows(kit)
    shutil.move(root / PORTRAIT, tmp_path / "away")
    report = kit.index()
    assert report.missing == 1
    assert PORTRAIT not in ids(kit.sessions())
    assert ids(kit.sessions(missing=True)) == {PORTRAIT}
    assert kit.stats(PORTRAIT)["missing_since"] is not None
    assert metadata_rows(kit) == before
    shutil.move(tmp_path / "away", root / PORTRAIT)
    kit.index()
    assert PORTRAIT in ids(kit.sessions(liked=True))
    assert kit.stats(PORTRAIT)["missing_since"] is None


def test_dry_runs_only_on_request(kit: SessionKit) -> None:
    assert kit.count(dry_run=None) == 6
    kit.index(dry_runs=True)
    assert ids(kit.sessions(dry_run=True)) == {"20251112_110000-dry"}
    kit.index()  # a scan without dry runs leaves them alone
    assert kit.count(dry_run=True) == 1


def test_session_without_manifest_tells_what_its_images_say(kit: SessionKit) -> None:
    stats = kit.stats(NO_MANIFEST)
    assert stats["stats_source"] == "images"
    assert (stats["sd_model"], stats["steps"], stats["width"], stats["height"]) == (
        "realisticVisionV60B1_v51VAE",
        25,
        512,
        768,
    )
    assert stats["resolved_prompt"] == "beautiful woman, smiling"


def test_stats_computes_a_session_indexed_after_the_scan(kit: SessionKit, root: Path) -> None:
    write_session(root, "20251120_100000-new", manifest("new", images=2))
    assert kit.stats("20251120_100000-new")["images_actual"] == 2
    assert kit.count() == 7


def test_refresh_recomputes_one_session(kit: SessionKit, root: Path) -> None:
    (root / PORTRAIT / "Portrait_0000_seed-1000.png").unlink()
    assert kit.refresh(PORTRAIT)["images_actual"] == 3
    assert kit.sessions(search="Portrait")["images_actual"].tolist() == [3]


def test_refresh_of_an_unknown_session_suggests_a_known_one(kit: SessionKit) -> None:
    with pytest.raises(UnknownSession, match="did you mean '20251107_120000-Portrait'"):
        kit.refresh("20251107_120000-Portrai")


def test_aggregations(kit: SessionKit) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True, tags=["keeper"])
    models = kit.by_model().set_index("model")
    assert models.loc["illustriousXL_v01", "sessions"] == 1
    assert models["sessions"].sum() == 6
    sweeps = kit.seed_sweeps()
    assert sweeps[["session_id", "seeds", "prompts"]].to_dict("records") == [
        {"session_id": SWEEP, "seeds": 6, "prompts": 1}
    ]
    assert kit.timeline("M")["sessions"].sum() == 6
    assert kit.tag_counts().to_dict("records") == [
        {"tag": "keeper", "sessions": 1, "liked_sessions": 1, "images": 4}
    ]
    values = kit.placeholder_values(PORTRAIT)
    assert values[["value", "images", "liked_sessions"]].to_dict("records") == [
        {"value": value, "images": 1, "liked_sessions": 1} for value in sorted(FOUR)
    ]
    assert kit.models()["sessions"].sum() == 5  # the broken one has no model


def test_sql_reads_every_relation(kit: SessionKit) -> None:
    counts = kit.sql(
        "SELECT (SELECT count(*) FROM images) AS images, "
        "(SELECT count(*) FROM variations) AS variations, "
        "(SELECT count(*) FROM sessions) AS sessions"
    ).iloc[0]
    assert (counts["images"], counts["sessions"]) == (16, 6)
    assert kit.sql("SELECT count(*) AS n FROM images WHERE NOT on_disk")["n"][0] == 0
    assert kit.duckdb.execute("SELECT count(*) FROM variations").fetchone() == (
        counts["variations"],
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "statement",
    [
        "ATTACH '{db}' AS s",
        "COPY session_metadata TO '{db}'",
        "SELECT * FROM read_text('{db}')",
        "INSTALL sqlite",
    ],
)
def test_sql_cannot_touch_sessions_db(kit: SessionKit, statement: str) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True)
    before = digest(kit.db_path)
    with pytest.raises(QueryError):
        kit.sql(statement.format(db=kit.db_path))
    assert digest(kit.db_path) == before


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM session_metadata",
        "DROP VIEW sessions",
        "SELECT 1; UPDATE session_stats SET sd_model = 'x'",
        "CREATE TABLE scratch AS SELECT 1",
        "SET threads = 1",
    ],
)
def test_sql_only_reads(kit: SessionKit, statement: str) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True)
    with pytest.raises(QueryError, match="only reads"):
        kit.sql(statement)
    assert kit.count(liked=True) == 1
    assert kit.count() == 6


def test_sql_accepts_every_kind_of_query(kit: SessionKit) -> None:
    assert len(kit.sql("WITH x AS (SELECT 1 AS a) SELECT * FROM x")) == 1
    assert "column_name" in kit.sql("DESCRIBE sessions").columns
    assert len(kit.sql("SHOW TABLES")) >= 5
    assert len(kit.sql("SELECT * FROM sessions WHERE session_id = ?", [PORTRAIT])) == 1


def test_root_is_remembered_by_the_database(kit: SessionKit) -> None:
    with SessionKit(db=kit.db_path, progress=False) as again:
        assert again.root == kit.root
        assert again.count() == 6


def test_configuration_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONKIT_ROOT", raising=False)
    monkeypatch.delenv("SESSIONKIT_DB", raising=False)
    with pytest.raises(NotConfigured, match="pass db= or root="):
        SessionKit()
    with (
        SessionKit(db=tmp_path / "a.db") as kit,
        pytest.raises(NotConfigured, match="no sessions root"),
    ):
        kit.index()


def test_environment_configures_the_kit(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONKIT_ROOT", str(root))
    monkeypatch.setenv("SESSIONKIT_DB", str(tmp_path / "env.db"))
    with SessionKit(progress=False) as kit:
        kit.index()
        assert kit.db_path == tmp_path / "env.db"
        assert kit.count() == 6


def test_default_database_sits_in_the_data_folder_one_per_root(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SESSIONKIT_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with SessionKit(root, progress=False) as kit:
        assert kit.db_path.parent.parent == tmp_path / "data" / "sessionkit"
        assert kit.db_path.parent.name.startswith(f"{root.name}-")
        kit.index()
        kit.thumbs.thumbnail(next(root.glob("*/*.png")))
        assert kit.db_path.is_file() and next((kit.db_path.parent / "thumbs").iterdir())
    assert not (root / ".sessionkit").exists()  # nothing of sessionkit inside the root
    other = tmp_path / "elsewhere" / root.name
    other.mkdir(parents=True)
    with SessionKit(other, progress=False) as kit:  # the same name, another root
        assert kit.db_path.parent.parent == tmp_path / "data" / "sessionkit"
        assert kit.db_path.parent.name.startswith(f"{root.name}-")
        assert kit.count() == 0


def test_a_database_an_earlier_version_left_in_the_root_keeps_being_used(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SESSIONKIT_DB", raising=False)
    earlier = root / ".sessionkit" / "sessions.db"
    with SessionKit(root, earlier, progress=False) as kit:
        kit.index()
        kit.update_metadata(PORTRAIT, is_favorite=True)
    with SessionKit(root, progress=False) as kit:
        assert kit.db_path == earlier
        assert kit.count(liked=True) == 1
        assert ".sessionkit" not in ids(kit.sessions())


def test_detail_tables_load_on_first_use_then_follow_changes(kit: SessionKit, root: Path) -> None:
    kit.sessions(liked=True, model="x", tags=["a"])
    kit.count(search="y")
    assert kit.mirror.con.execute("SELECT count(*) FROM images").fetchone() == (0,)
    assert kit.sql("SELECT count(*) AS n FROM images")["n"][0] == 16
    write_session(root, PORTRAIT, manifest("Portrait", images=6, num_images=4, expressions=FOUR))
    kit.index()
    count = "SELECT count(*) AS n FROM images WHERE session_id = ?"
    assert kit.sql(count, [PORTRAIT])["n"][0] == 6
    assert kit.sql("SELECT count(*) AS n FROM images")["n"][0] == 18


def test_a_webui_database_opens_with_its_metadata(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "webui.db"
    write_webui_db(path)
    write_session(root, "20251107_130000-Other", manifest("Other", images=1))
    with SessionKit(root, path, progress=False) as kit:
        report = kit.index()
        assert report.computed == 7
        liked = kit.sessions(liked=True)
        assert liked[["session_id", "user_rating", "user_note"]].to_dict("records") == [
            {"session_id": PORTRAIT, "user_rating": "like", "user_note": "keep this one"}
        ]
        assert list(liked["tags"].iloc[0]) == ["portrait", "keeper"]
        assert ids(kit.sessions(test=True)) == {"20251107_130000-Other"}
        assert kit.count(complete=True) >= 1
        assert kit.sql("SELECT count(*) AS n FROM session_metadata")["n"][0] == 2
        webui = kit.store.rows("SELECT session_name, images_requested FROM session_stats")
        assert webui == [(PORTRAIT, 16)]
        assert kit.sql("SELECT count(*) AS n FROM session_stats")["n"][0] == 7


def test_a_save_reads_its_row_once_and_never_reads_it_back(kit: SessionKit) -> None:
    """Inside the write: one read of the row (and of the stats' path on a first edit)."""
    statements: list[str] = []
    kit.store._con.set_trace_callback(statements.append)
    try:
        first = kit.update_metadata(PORTRAIT, user_note="first", add_tags=["keeper"])
        reads_first = [s for s in statements if s.lstrip().startswith("SELECT")]
        statements.clear()
        second = kit.update_metadata(PORTRAIT, is_favorite=True)
        reads_second = [s for s in statements if s.lstrip().startswith("SELECT")]
    finally:
        kit.store._con.set_trace_callback(None)
    assert ["session_metadata" in s for s in reads_first] == [True, False]  # then the path
    assert ["session_metadata" in s for s in reads_second] == [True]
    # what the save returned is the row as stored
    assert second == kit.metadata(PORTRAIT)
    assert (first["user_note"], first["tags"], second["tags"]) == ("first", ["keeper"], ["keeper"])
    assert second["updated_at"] > first["updated_at"] == first["created_at"]
