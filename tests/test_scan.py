"""The scanner: which folders are sessions, change detection, parallel indexing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, png_bytes, write_session
from sessionkit import scan
from sessionkit.scan import Candidate, find_candidates, index_root, list_session, signature
from sessionkit.store import Store


def test_candidates_skip_hidden_folders_files_and_dryrun(tmp_path: Path) -> None:
    write_session(tmp_path, "20251101_000000-a", manifest("a"))
    (tmp_path / ".sessionkit").mkdir()
    (tmp_path / "notes.txt").write_text("not a session")
    write_session(tmp_path / "dryrun", "20251101_000001-d", manifest("d", images=0))
    assert [c.session_id for c in find_candidates(tmp_path)] == ["20251101_000000-a"]
    with_dry = find_candidates(tmp_path, dry_runs=True)
    assert {(c.session_id, c.is_dryrun) for c in with_dry} == {
        ("20251101_000000-a", False),
        ("20251101_000001-d", True),
    }


def test_a_folder_is_a_session_with_a_manifest_or_an_image(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "log.txt").write_text("x")
    (tmp_path / "one_image").mkdir()
    (tmp_path / "one_image" / "X.WEBP").write_bytes(b"RIFF")
    listed = {c.session_id: list_session(c) for c in find_candidates(tmp_path)}
    assert listed["empty"] is None
    assert listed["text_only"] is None
    one = listed["one_image"]
    assert one is not None and [i.name for i in one.images] == ["X.WEBP"]


def test_listing_counts_only_images_directly_inside(tmp_path: Path) -> None:
    folder = write_session(tmp_path, "s", manifest("s", images=2))
    (folder / "thumbs").mkdir()
    (folder / "thumbs" / "t.png").write_bytes(png_bytes())
    (folder / "payload.json").write_text("{}")
    (folder / "a.JPG").write_bytes(b"jpeg")
    files = list_session(Candidate("s", str(folder)))
    assert files is not None and files.has_manifest
    assert [image.name for image in files.images] == [
        "a.JPG",
        "s_0000_seed-1000.png",
        "s_0001_seed-1001.png",
    ]


def test_signature_moves_when_images_or_manifest_change(tmp_path: Path) -> None:
    folder = write_session(tmp_path, "s", manifest("s", images=1))
    first = signature(str(folder))
    os.utime(folder, ns=(1, 1))
    touched = signature(str(folder))
    assert touched != first
    (folder / "manifest.json").write_text('{"images": []}')
    assert signature(str(folder)) != touched
    shutil.rmtree(folder)
    assert signature(str(folder)) is None


def rows(store: Store) -> list[tuple[Any, ...]]:
    return store.rows(
        "SELECT session_id, sd_model, images_actual, images_expected, is_seed_sweep, "
        "placeholders_json FROM session_stats ORDER BY session_id"
    ) + store.rows("SELECT * FROM session_images ORDER BY session_id, filename")


def test_parallel_index_matches_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    for i in range(60):
        write_session(root, f"20251101_{i:06d}-s{i}", manifest(f"s{i}", images=i % 5))
    monkeypatch.setattr(scan, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(scan, "CHUNK", 4)
    one, two = Store(tmp_path / "one.db"), Store(tmp_path / "two.db")
    report_one = index_root(root, one, workers=1, progress=False)
    report_two = index_root(root, two, workers=2, progress=False)
    assert report_one.computed == report_two.computed == 60
    assert rows(one) == rows(two)


def test_small_write_batches_store_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    for i in range(7):
        write_session(root, f"s{i}", manifest(f"s{i}", images=1))
    monkeypatch.setattr(scan, "WRITE_BATCH", 2)
    monkeypatch.setattr(scan, "CHUNK", 1)
    store = Store(tmp_path / "s.db")
    assert index_root(root, store, progress=False).computed == 7
    assert store.rows("SELECT count(*) FROM session_stats") == [(7,)]


def test_folder_deleted_mid_scan_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    write_session(root, "keep", manifest("keep"))
    write_session(root, "doomed", manifest("doomed"))
    real = scan.list_session

    def vanish_first(candidate: Candidate) -> Any:
        if candidate.session_id == "doomed":
            shutil.rmtree(candidate.path)
        return real(candidate)

    monkeypatch.setattr(scan, "list_session", vanish_first)
    store = Store(tmp_path / "s.db")
    report = index_root(root, store, progress=False)
    assert report.failed == [("doomed", "the folder vanished during the scan")]
    assert report.computed == 1
    assert store.rows("SELECT session_id FROM session_stats") == [("keep",)]


def test_progress_bar_counts_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    for i in range(3):
        write_session(root, f"s{i}", manifest(f"s{i}", images=0))
    index_root(root, Store(tmp_path / "s.db"), progress=True)
    assert "3/3" in capsys.readouterr().err
