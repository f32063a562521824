"""Folder and file names that are not valid UTF-8: sessions like the others, end to end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders import manifest, sessionkit, write_session
from sessionkit import SessionKit
from sessionkit.names import fs_path, to_text
from sessionkit.thumbs import placeholder, session_images

ODD = os.fsdecode(b"20251107_120000-Caf\xe9_100%_\xff")
ODD_ID = "20251107_120000-Caf%E9_100%25_%FF"
PLAIN = "20251108_090000-Landscape"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Café 100%", "Café 100%"),  # valid UTF-8: kept exactly
        ("a%25b", "a%25b"),
        (ODD, ODD_ID),
        (os.fsdecode(b"%\xe9%"), "%25%E9%25"),
        ("/r/" + ODD + "/x.png", "/r/" + ODD_ID + "/x.png"),
    ],
)
def test_names_become_text_and_come_back(name: str, text: str) -> None:
    assert to_text(name) == text
    text.encode("utf-8")  # storable
    assert fs_path(text) == name


def test_a_real_file_named_like_an_escape_wins(tmp_path: Path) -> None:
    literal = tmp_path / "Caf%E9"
    literal.mkdir()
    assert fs_path(str(literal)) == str(literal)


@pytest.mark.slow  # the sessionkit program run four times
def test_a_folder_name_that_is_not_utf8_through_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_session(root, PLAIN, manifest("Landscape", images=2))
    os.mkdir(os.fsencode(root) + b"/" + os.fsencode(ODD))
    write_session(root, ODD, manifest("Cafe", images=3))
    db = str(tmp_path / "sessions.db")

    indexed = sessionkit("index", str(root), "--db", db)
    assert indexed.returncode == 0, indexed.stderr
    assert "computed 2" in indexed.stdout + indexed.stderr
    listed = sessionkit("list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    assert ODD_ID in listed.stdout and PLAIN in listed.stdout
    shown = sessionkit("show", ODD_ID, "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "images_actual: 3" in shown.stdout
    tagged = sessionkit("tag", ODD_ID, "--db", db, "--add", "odd")
    assert (tagged.returncode, tagged.stdout) == (0, "odd\n"), tagged.stderr
    liked = sessionkit("like", ODD_ID, "--db", db)
    assert liked.returncode == 0, liked.stderr
    again = sessionkit("index", str(root), "--db", db)
    assert "unchanged 2" in again.stdout + again.stderr  # the id is stable across scans

    with SessionKit(db=db, progress=False) as kit:
        row = kit.sessions(liked=True).iloc[0]
        assert (row["session_id"], list(row["tags"])) == (ODD_ID, ["odd"])
        assert kit.stats(ODD_ID)["session_path"] == str(Path(to_text(str(root))) / ODD_ID)
        images = session_images(row["session_path"])
        assert len(images) == 3
        assert kit.thumbs.thumbnail(images[0]) != placeholder()
        assert kit.used_values(ODD_ID)  # its manifest was read through the stored path
        assert kit.refresh(ODD_ID)["images_actual"] == 3


def test_an_image_name_that_is_not_utf8_is_listed_and_found(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = write_session(root, PLAIN, manifest("Landscape", images=1))
    odd_image = os.fsencode(folder) + b"/caf\xe9.png"
    with open(odd_image, "wb") as handle:
        handle.write((folder / next(p.name for p in folder.glob("*.png"))).read_bytes())
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        assert kit.index().computed == 1
        names = set(kit.sql("SELECT filename FROM images")["filename"])
        assert "caf%E9.png" in names
        assert kit.stats(PLAIN)["images_actual"] == 2
        saved = kit.update_image_metadata(PLAIN, "caf%E9.png", rating="like")
        assert saved["rating"] == "like"  # an image is marked under its stored name
