"""One ``sessions.db`` for sessionkit and the sd-generator WebUI, in both orders.

The WebUI's part is played by :class:`webui.WebUI`: its migration 1 at start,
its list / stats / refresh / global-stats statements on ``session_stats``,
and its metadata writes, with tags sessionkit would refuse from a user.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, write_old_sessionkit_db, write_session
from sessionkit import SessionKit
from sessionkit.cli import main
from webui import STATS_COLUMNS, WebUI

# The real WebUI's database for the 26 folders of the real corpus, kept in the repository.
CORPUS = Path(__file__).parent / "corpora" / "sdgen-cli"
PORTRAIT = "20251107_120000-Portrait"
LANDSCAPE = "20251108_090000-Landscape"
ODD_TAGS = ["two words", "Keeper", "keeper"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_session(root, PORTRAIT, manifest("Portrait", images=2))
    write_session(root, LANDSCAPE, manifest("Landscape", images=3))
    return root


def webui_state(path: Path) -> dict[str, Any]:
    """The WebUI's own tables: their DDL, their indexes and their rows."""
    con = sqlite3.connect(path)
    try:
        return {
            "objects": con.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name IN ('session_stats', 'schema_version') ORDER BY name"
            ).fetchall(),
            "stats": con.execute("SELECT * FROM session_stats ORDER BY 1").fetchall(),
            "versions": con.execute("SELECT * FROM schema_version").fetchall(),
        }
    finally:
        con.close()


def metadata_rows(path: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT * FROM session_metadata ORDER BY 1").fetchall()
    finally:
        con.close()


def assert_every_webui_endpoint_answers(webui: WebUI, names: list[str]) -> None:
    """Start (or restart), list, stats, batch stats, refresh and global stats all work."""
    webui.start()
    listed = webui.list_sessions()
    assert {row["session_name"] for row in listed} >= set(names)
    assert all(set(row) == set(STATS_COLUMNS) for row in listed)
    for name in names:
        stats = webui.session_stats(name)
        assert stats is not None and stats["session_name"] == name
    assert set(webui.stats_batch(names)) == set(names)
    webui.refresh(names[0], sd_model="refreshed")
    assert webui.session_stats(names[0])["sd_model"] == "refreshed"  # type: ignore[index]
    totals = webui.global_stats()
    assert totals["total_sessions"] == len(listed)
    webui.start()  # a restart applies nothing and refuses nothing


def test_webui_first_then_sessionkit(root: Path, tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    webui = WebUI(db)
    webui.start()
    for name in (PORTRAIT, LANDSCAPE):
        webui.refresh(name)
    webui.set_tags(PORTRAIT, str(root / PORTRAIT), ODD_TAGS)
    before = webui_state(db)
    metadata_before = metadata_rows(db)

    with SessionKit(root, db, progress=False) as kit:
        assert kit.index().computed == 2
        assert list(kit.metadata(PORTRAIT)["tags"]) == ODD_TAGS
        shown = kit.sessions(tags=["two words"])
        assert list(shown["session_id"]) == [PORTRAIT]
        assert list(shown["tags"].iloc[0]) == ODD_TAGS
        assert kit.sql("SELECT count(*) AS n FROM session_stats")["n"][0] == 2
        assert webui_state(db) == before
        assert metadata_rows(db) == metadata_before
        assert_every_webui_endpoint_answers(webui, [PORTRAIT, LANDSCAPE])
        # sessionkit's edit of another field keeps the WebUI's tags as they are
        saved = kit.update_metadata(PORTRAIT, user_note="seen")
        assert list(saved["tags"]) == ODD_TAGS
    loaded = webui.metadata(PORTRAIT)
    assert loaded is not None and loaded["user_note"] == "seen" and loaded["tags"] == ODD_TAGS


def test_sessionkit_first_then_webui(root: Path, tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
        kit.update_metadata(PORTRAIT, is_favorite=True, tags=["portrait"])
    webui = WebUI(db)
    webui.start()  # its migration 1 runs on a file sessionkit created
    for name in (PORTRAIT, LANDSCAPE):
        webui.refresh(name)
    assert_every_webui_endpoint_answers(webui, [PORTRAIT, LANDSCAPE])
    loaded = webui.metadata(PORTRAIT)
    assert loaded is not None and loaded["is_favorite"] == 1 and loaded["tags"] == ["portrait"]
    loaded["tags"] = [*loaded["tags"], *ODD_TAGS]
    webui.save_metadata(loaded)
    before = webui_state(db)

    with SessionKit(root, db, progress=False) as kit:
        assert kit.index(force=True).computed == 2
        assert list(kit.metadata(PORTRAIT)["tags"]) == ["portrait", *ODD_TAGS]
        assert kit.count(liked=True) == 1
    assert webui_state(db) == before
    assert_every_webui_endpoint_answers(webui, [PORTRAIT, LANDSCAPE])


def test_file_an_earlier_sessionkit_took_from_the_webui(root: Path, tmp_path: Path) -> None:
    """sessionkit had renamed the WebUI's table: the WebUI answered 500 until this version."""
    db = tmp_path / "sessions.db"
    write_old_sessionkit_db(db, 3, over_webui=True)
    webui = WebUI(db)
    with pytest.raises(sqlite3.OperationalError, match="no such column: session_name"):
        webui.session_stats(PORTRAIT)
    metadata_before = metadata_rows(db)
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
        assert kit.count() == 2
    assert metadata_rows(db) == metadata_before
    assert [row["session_name"] for row in webui.list_sessions()] == [PORTRAIT]
    assert_every_webui_endpoint_answers(webui, [PORTRAIT])


def test_file_where_the_webui_failed_to_start(root: Path, tmp_path: Path) -> None:
    """Its migration stopped on sessionkit's old table; after sessionkit's migration it starts."""
    db = tmp_path / "sessions.db"
    write_old_sessionkit_db(db, 3)
    webui = WebUI(db)
    with pytest.raises(sqlite3.OperationalError, match="completion_percent"):
        webui.start()
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
    webui.start()
    for name in (PORTRAIT, LANDSCAPE):
        webui.refresh(name)
    assert_every_webui_endpoint_answers(webui, [PORTRAIT, LANDSCAPE])
    with SessionKit(root, db, progress=False) as kit:
        assert kit.count() == 2


def test_a_copy_of_the_real_webui_database(tmp_path: Path) -> None:
    """The WebUI's own file for the corpus's 26 folders (one a dry-run folder), indexed."""
    db = tmp_path / "sessions.db"
    shutil.copyfile(CORPUS / "webui-sessions.db", db)
    before = webui_state(db)
    metadata_before = metadata_rows(db)
    webui = WebUI(db)
    totals_before = webui.global_stats()

    sessions = shutil.copytree(CORPUS / "sessions", tmp_path / "sessions")
    with SessionKit(sessions, db, progress=False) as kit:
        kit.index()
        assert kit.count() == 25  # and the dry runs under dryrun/
        liked = kit.sessions(liked=True)
        assert list(liked["session_id"]) == ["20261124_132148-Quick_Test___Portrait_System"]
        assert list(liked["tags"].iloc[0]) == ["portrait", "keeper"]

    assert webui_state(db) == before
    assert metadata_rows(db) == metadata_before
    assert webui.global_stats() == totals_before
    names = [row["session_name"] for row in webui.list_sessions()]
    assert len(names) == 26
    assert_every_webui_endpoint_answers(webui, names)


def test_tags_the_webui_wrote_are_removable_from_the_cli(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "sessions.db"
    webui = WebUI(db)
    webui.start()
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
    webui.set_tags(PORTRAIT, str(root / PORTRAIT), ODD_TAGS)
    assert main(["tag", PORTRAIT, "--db", str(db), "--add", "fresh", "--add", "KEEPER"]) == 0
    assert capsys.readouterr().out == "two words, Keeper, keeper, fresh\n"
    assert main(["tag", PORTRAIT, "--db", str(db), "--remove", "two words"]) == 0
    assert main(["tag", PORTRAIT, "--db", str(db), "--remove", "keeper"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Keeper, fresh"
    assert main(["tag", PORTRAIT, "--db", str(db), "--add", "bad tag"]) == 1
    assert "Error: tags: tag 'bad tag' may hold only letters" in capsys.readouterr().err
    loaded = webui.metadata(PORTRAIT)
    assert loaded is not None and loaded["tags"] == ["Keeper", "fresh"]
