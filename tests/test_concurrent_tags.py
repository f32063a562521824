"""Tag edits from several processes at once lose no tag (one write transaction each)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from builders import manifest, write_session
from sessionkit import SessionKit
from webui import add_tag

# CLI processes writing side by side: make check leaves these out
pytestmark = pytest.mark.slow

SESSION = "20251107_120000-Portrait"
TAGS_EACH = 12

# One process of `sessionkit tag` calls, one tag per call, each opening the database anew.
_CLI_WRITER = """
import sys
from sessionkit.cli import main

db, session, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for n in range(count):
    if main(["tag", session, "--db", db, "--add", f"{prefix}{n}"]) != 0:
        sys.exit(1)
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_session(root, SESSION, manifest("Portrait", images=1))
    path = tmp_path / "sessions.db"
    with SessionKit(root, path, progress=False) as kit:
        kit.index()
        kit.update_metadata(SESSION, tags=["first"])
    return path


def cli_writer(db: Path, prefix: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", _CLI_WRITER, str(db), SESSION, prefix, str(TAGS_EACH)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stored_tags(db: Path) -> list[str]:
    with SessionKit(db=db, progress=False) as kit:
        return list(kit.metadata(SESSION)["tags"])


def expected(prefix: str) -> set[str]:
    return {f"{prefix}{n}" for n in range(TAGS_EACH)}


def test_two_cli_processes_adding_tags_at_once_lose_none(db: Path) -> None:
    writers = [cli_writer(db, "a"), cli_writer(db, "b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors.decode()
    tags = stored_tags(db)
    assert set(tags) == {"first"} | expected("a") | expected("b")
    assert len(tags) == 1 + 2 * TAGS_EACH


def test_the_cli_and_another_writer_at_once_lose_no_tag(db: Path) -> None:
    """The WebUI-like writer commits between sessionkit's reads and writes: both keep theirs."""
    writer = cli_writer(db, "kit")

    def other_writer() -> None:
        while len(stored_tags(db)) == 1 and writer.poll() is None:
            time.sleep(0.05)  # start once sessionkit's writes have begun
        for n in range(TAGS_EACH):
            add_tag(db, SESSION, f"web{n}")
            time.sleep(0.2)

    other = threading.Thread(target=other_writer)
    other.start()
    _, errors = writer.communicate(timeout=300)
    other.join()
    assert writer.returncode == 0, errors.decode()
    assert set(stored_tags(db)) == {"first"} | expected("kit") | expected("web")
