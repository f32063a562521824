"""A kit that stays open answers from what other processes committed since it opened."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import manifest, write_session
from sessionkit import SessionKit
from webui import WebUI

PORTRAIT = "20251107_120000-Portrait"
LANDSCAPE = "20251108_090000-Landscape"
LATER = "20251109_100000-Later"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_session(root, PORTRAIT, manifest("Portrait", images=2))
    write_session(root, LANDSCAPE, manifest("Landscape", images=2))
    return root


@pytest.fixture
def kit(root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        yield kit


def test_an_edit_by_another_program_shows_without_an_index(kit: SessionKit, root: Path) -> None:
    assert kit.count(liked=True) == 0
    webui = WebUI(kit.db_path)
    webui.start()
    webui.set_tags(PORTRAIT, str(root / PORTRAIT), ["two words", "keeper"])
    assert list(kit.sessions(tags=["keeper"])["session_id"]) == [PORTRAIT]
    loaded = webui.metadata(PORTRAIT)
    assert loaded is not None
    loaded["is_favorite"] = 1
    webui.save_metadata(loaded)
    assert kit.count(liked=True) == 1
    assert kit.describe(liked=True) == "1 session where liked"
    assert set(kit.tags()["tag"]) == {"two words", "keeper"}
    assert kit.sql("SELECT is_favorite FROM sessions WHERE session_id = ?", [PORTRAIT])[
        "is_favorite"
    ].tolist() == [1]


def test_a_raw_delete_of_a_metadata_row_shows(kit: SessionKit) -> None:
    kit.update_metadata(PORTRAIT, is_favorite=True)
    assert kit.count(liked=True) == 1
    con = sqlite3.connect(kit.db_path)
    con.execute("DELETE FROM session_metadata")
    con.commit()
    con.close()
    assert kit.count(liked=True) == 0


@pytest.mark.slow  # an index in another process
def test_another_processs_index_shows(kit: SessionKit, root: Path) -> None:
    assert kit.count() == 2
    write_session(root, LATER, manifest("Later", images=3))
    done = subprocess.run(
        [sys.executable, "-m", "sessionkit", "index", str(root), "--db", str(kit.db_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert kit.count() == 3
    assert kit.sessions(limit=1)["session_id"].tolist() == [LATER]
    assert kit.sql("SELECT images_actual FROM session_stats WHERE session_id = ?", [LATER])[
        "images_actual"
    ].tolist() == [3]


def test_another_kits_edit_and_index_show(kit: SessionKit, root: Path) -> None:
    with SessionKit(root, kit.db_path, progress=False) as other:
        other.update_metadata(LANDSCAPE, add_tags=["seen"])
        assert list(kit.sessions(tags=["seen"])["session_id"]) == [LANDSCAPE]
        (root / PORTRAIT / "manifest.json").unlink()
        for image in (root / PORTRAIT).iterdir():
            image.unlink()
        (root / PORTRAIT).rmdir()
        other.index()
    assert kit.count() == 1  # PORTRAIT is missing now
    assert kit.count(missing=True) == 1


def test_its_own_writes_do_not_make_it_reload(
    kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(kit.mirror, "catch_up", lambda: calls.append(1))  # built on first use
    kit.update_metadata(PORTRAIT, add_tags=["mine"])
    kit.index(force=True)
    assert kit.count(tags=["mine"]) == 1
    assert calls == []


def test_a_query_naming_images_only_copies_no_session(kit: SessionKit) -> None:
    assert kit.sql("SELECT count(*) AS n FROM images")["n"].tolist() == [4]
    assert kit.mirror.con.execute("SELECT count(*) FROM session_stats").fetchall() == [(0,)]
    assert kit.count() == 2  # copied when first read


def test_a_list_of_sessions_copies_no_mark_and_marks_made_meanwhile_show(
    kit: SessionKit, root: Path
) -> None:
    first = str(kit.images(PORTRAIT)["filename"].iloc[0])
    kit.update_image_metadata(PORTRAIT, first, rating="like")
    with SessionKit(root, kit.db_path, progress=False) as fresh:
        assert fresh.count() == 2
        assert fresh.mirror.con.execute("SELECT count(*) FROM image_metadata").fetchall() == [
            (0,)
        ]  # no session query needs the images' marks
        kit.update_image_metadata(PORTRAIT, first, stars=4)  # another program, meanwhile
        assert fresh.sql("SELECT rating, stars FROM image_metadata").values.tolist() == [
            ["like", 4]
        ]
        assert fresh.images(PORTRAIT, rating="like")["filename"].tolist() == [first]


def test_what_changes_before_the_sessions_are_copied_shows_after(
    kit: SessionKit, root: Path
) -> None:
    assert kit.sql("SELECT count(*) AS n FROM images")["n"].tolist() == [4]
    kit.update_metadata(PORTRAIT, is_favorite=True)
    first = str(kit.images(PORTRAIT)["filename"].iloc[0])
    kit.update_image_metadata(PORTRAIT, first, rating="like")
    write_session(root, LATER, manifest("Later", images=3))
    with SessionKit(root, kit.db_path, progress=False) as other:  # another program indexes
        other.index()
    assert kit.sql("SELECT count(*) AS n FROM images")["n"].tolist() == [7]
    assert kit.images(PORTRAIT, rating="like")["filename"].tolist() == [first]
    assert list(kit.sessions(liked=True)["session_id"]) == [PORTRAIT]
    assert kit.count() == 3


def test_marks_made_elsewhere_are_read_alone_and_a_delete_copies_all(
    kit: SessionKit, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process commits: only the marks written since are read, unless one was deleted."""
    first, second = (str(name) for name in kit.images(PORTRAIT)["filename"])
    kit.update_image_metadata(PORTRAIT, first, rating="like")  # its own: the copy follows
    copies: list[int] = []
    load = kit.mirror._load_marks

    def counted() -> None:
        copies.append(1)
        load()

    monkeypatch.setattr(kit.mirror, "_load_marks", counted)
    with SessionKit(root, kit.db_path, progress=False) as other:
        other.update_metadata(LANDSCAPE, add_tags=["seen"])  # no mark changed
        assert kit.count(tags=["seen"]) == 1
        other.update_image_metadata(PORTRAIT, second, stars=4, note="elsewhere")
        marks = kit.images(PORTRAIT).set_index("filename")
        assert (marks.loc[first, "rating"], marks.loc[second, "stars"]) == ("like", 4)
        assert marks.loc[second, "image_note"] == "elsewhere"
        other.update_image_metadata(PORTRAIT, first, rating=None)
        assert kit.images(PORTRAIT, rating="like").empty
    assert copies == []  # never copied whole: the rows written since were enough
    con = sqlite3.connect(kit.db_path)
    con.execute("DELETE FROM image_metadata WHERE filename = ?", (second,))
    con.commit()
    con.close()
    assert kit.images(PORTRAIT, stars=1).empty
    assert copies == [1]  # a deleted mark: copied whole
    assert kit.sql("SELECT count(*) AS n FROM image_metadata")["n"].tolist() == [1]
