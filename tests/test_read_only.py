"""A sessions.db this process may not write, or one a newer sessionkit wrote: read, never written.

Root ignores file modes, so as root the file or its folder is made immutable
(``chattr +i``), which stops root too; otherwise plain modes do it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from builders import manifest, sessionkit, write_session
from sessionkit import SessionKit
from sessionkit.store import SCHEMA_VERSION, Store, StoreUnavailable

# the sessionkit program run against each kind of unwritable file: make check leaves these out
pytestmark = pytest.mark.slow

PORTRAIT = "20251107_120000-Portrait"


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` (a file or a folder) unwritable for this process, then writable again."""
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"root, and chattr +i does not work here: {made.stderr.decode()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    """A root and its database (in a folder of its own), indexed and marked, then closed."""
    root = tmp_path / "root"
    write_session(root, PORTRAIT, manifest("Portrait", images=2))
    db = tmp_path / "data" / "sessions.db"
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
        kit.update_metadata(PORTRAIT, add_tags=["keeper"])
    return root, db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unwritable_database_reads_and_refuses_writes(
    indexed: tuple[Path, Path], what: str
) -> None:
    root, db = indexed
    before = digest(db)
    with unwritable(db if what == "file" else db.parent):
        listed = sessionkit("list", "--db", str(db))
        assert listed.returncode == 0, listed.stderr
        assert PORTRAIT in listed.stdout
        shown = sessionkit("show", PORTRAIT, "--db", str(db))
        assert shown.returncode == 0 and "tags: keeper" in shown.stdout, shown.stderr
        assert_refused(sessionkit("tag", PORTRAIT, "--db", str(db), "--add", "x"), str(db))
        assert_refused(sessionkit("like", PORTRAIT, "--db", str(db)), "nothing was written")
        assert_refused(sessionkit("index", str(root), "--db", str(db)), "read-only")
        with SessionKit(root, db, progress=False) as kit:
            assert kit.count() == 1
            with pytest.raises(StoreUnavailable, match="nothing was written"):
                kit.update_metadata(PORTRAIT, is_favorite=True)
    assert digest(db) == before


def test_sqlites_own_read_only_refusal_is_a_store_unavailable(
    indexed: tuple[Path, Path],
) -> None:
    """A connection SQLite opened read-only (``mode=ro``): the write fails in SQLite itself."""
    _, db = indexed
    store = Store(db)
    store._con.close()
    store._con = sqlite3.connect(
        f"{db.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    with pytest.raises(StoreUnavailable, match="nothing was written") as caught:
        store.update_metadata(PORTRAIT, "/p", {"is_favorite": True})
    assert str(db) in str(caught.value)
    assert store.read_only is not None
    assert store.metadata(PORTRAIT) is not None  # reads still work
    store.close()


def test_a_newer_schema_is_read_and_never_written(indexed: tuple[Path, Path]) -> None:
    root, db = indexed
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO sessionkit_schema VALUES (?, 'from the future', '2030-01-01')",
        (SCHEMA_VERSION + 1,),
    )
    con.commit()
    con.close()
    Store(db).close()  # checkpoints the WAL, so the digest below sees the whole file
    before = digest(db)

    listed = sessionkit("list", "--db", str(db))
    assert listed.returncode == 0 and PORTRAIT in listed.stdout, listed.stderr
    for argv in (
        ("tag", PORTRAIT, "--db", str(db), "--add", "x"),
        ("index", str(root), "--db", str(db)),
        ("like", PORTRAIT, "--db", str(db)),
    ):
        assert_refused(sessionkit(*argv), "newer sessionkit", "upgrade sessionkit")
    assert digest(db) == before


def test_an_unwritable_database_of_an_older_schema_says_why_it_cannot_open(
    tmp_path: Path,
) -> None:
    db = tmp_path / "data" / "sessions.db"
    db.parent.mkdir()
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE unrelated (x)")
    con.commit()
    con.close()
    with unwritable(db):
        result = sessionkit("list", "--db", str(db))
    assert_refused(result, str(db), "need an update")


def test_an_unwritable_image_data_folder_is_refused_in_plain_words(
    indexed: tuple[Path, Path],
) -> None:
    """The database may be written, its folder of Parquet parts not: a plain error."""
    root, db = indexed
    folder = db.with_name("sessions.db-details")
    before = sorted(path.name for path in folder.iterdir())
    with unwritable(folder):
        result = sessionkit("index", str(root), "--db", str(db), "--force", "--no-progress")
    assert_refused(result, "cannot write the image data in", str(folder))
    assert sorted(path.name for path in folder.iterdir()) == before  # nothing left half-written
    with SessionKit(root, db, progress=False) as kit:  # the rows written before still read
        assert len(kit.images(PORTRAIT)) == 2
