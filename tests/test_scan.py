"""The scanner: which folders are sessions, change detection, parallel indexing."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from builders import manifest, png_bytes, write_session
from sessionkit import scan
from sessionkit.detailfiles import DetailFiles
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
    assert one is not None and one.names == ["X.WEBP"]
    assert (len(one.mtimes), one.sizes, one.has_manifest) == (1, [4], False)


def test_listing_counts_only_images_directly_inside(tmp_path: Path) -> None:
    folder = write_session(tmp_path, "s", manifest("s", images=2))
    (folder / "thumbs").mkdir()
    (folder / "thumbs" / "t.png").write_bytes(png_bytes())
    (folder / "payload.json").write_text("{}")
    (folder / "a.JPG").write_bytes(b"jpeg")
    files = list_session(Candidate("s", str(folder)))
    assert files is not None and files.has_manifest
    assert sorted(files.names) == [
        "a.JPG",
        "s_0000_seed-1000.png",
        "s_0001_seed-1001.png",
    ]


def test_listing_lists_names_times_and_sizes_in_the_folders_order(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    written = {"b.png": (b"12", 1_700_000_000.5), "a.webp": (b"1234", 1_600_000_000.0)}
    for name, (data, moment) in written.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (moment, moment))
    files = list_session(Candidate("s", str(folder), is_dryrun=True))
    assert files is not None
    with os.scandir(folder) as entries:
        assert files.names == [entry.name for entry in entries]  # not sorted
    found = {
        name: (size, mtime)
        for name, mtime, size in zip(files.names, files.mtimes, files.sizes, strict=True)
    }
    # whole seconds, rounded down like the clock: every time shown is to the second
    assert found == {"b.png": (2, 1_700_000_000), "a.webp": (4, 1_600_000_000)}
    assert (files.session_id, files.path, files.is_dryrun) == ("s", str(folder), True)
    assert not files.has_manifest
    assert files.signature == signature(str(folder))


def test_hidden_files_and_folders_named_like_images_are_not_images(tmp_path: Path) -> None:
    """macOS leaves ``._a.png`` beside ``a.png`` on foreign disks; neither hidden file counts."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes())
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (folder / ".b.png").write_bytes(png_bytes())
    (folder / "x.png").mkdir()
    (folder / "x.png" / "inner.png").write_bytes(png_bytes())
    files = list_session(Candidate("s", str(folder)))
    assert files is not None
    assert files.names == ["a.png"]
    assert len(files.mtimes) == len(files.sizes) == 1


def test_a_folder_of_hidden_images_only_is_no_session(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "._a.png").write_bytes(b"fork")
    (folder / "x.png").mkdir()
    assert list_session(Candidate("s", str(folder))) is None


def test_hidden_files_do_not_count_in_the_index(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = write_session(root, "s", manifest("s", images=2))
    (folder / "._s_0000_seed-1000.png").write_bytes(b"fork")
    (folder / ".thumb.png").write_bytes(png_bytes())
    (folder / "x.png").mkdir()
    store = Store(tmp_path / "s.db")
    index_root(root, store, progress=False)
    assert store.rows("SELECT images_actual, completion_percentage FROM sessionkit_stats") == [
        (2, 100.0)
    ]
    assert store.rows("SELECT filename FROM sessionkit_images ORDER BY filename") == [
        ("s_0000_seed-1000.png",),
        ("s_0001_seed-1001.png",),
    ]


def test_a_manifest_that_is_a_folder_still_makes_a_session(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    (folder / "manifest.json").mkdir(parents=True)
    files = list_session(Candidate("s", str(folder)))
    assert files is not None and files.has_manifest and files.names == []


def test_listing_a_folder_that_is_gone_or_a_file(tmp_path: Path) -> None:
    assert list_session(Candidate("gone", str(tmp_path / "gone"))) is None
    (tmp_path / "file.png").write_bytes(png_bytes())
    assert list_session(Candidate("file.png", str(tmp_path / "file.png"))) is None


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
        "placeholders_json FROM sessionkit_stats ORDER BY session_id"
    ) + store.rows("SELECT * FROM sessionkit_images ORDER BY session_id, filename")


def test_parallel_index_matches_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    for i in range(60):
        write_session(root, f"20251101_{i:06d}-s{i}", manifest(f"s{i}", images=i % 5))
    monkeypatch.setattr(scan, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(scan, "CHUNK_MIN", 4)
    monkeypatch.setattr(scan, "CHUNK_MAX", 4)
    one, two = Store(tmp_path / "one.db"), Store(tmp_path / "two.db")
    files_one, files_two = DetailFiles(one.path), DetailFiles(two.path)
    report_one = index_root(root, one, workers=1, progress=False, details=files_one)
    report_two = index_root(root, two, workers=2, progress=False, details=files_two)
    assert report_one.computed == report_two.computed == 60
    assert rows(one) == rows(two)
    # the workers wrote one part per chunk of 4, and the same rows as one process did
    assert len(two.detail_parts()) == 15
    assert image_rows(files_one) == image_rows(files_two)
    assert len(image_rows(files_two)) == sum(i % 5 for i in range(60))


def image_rows(files: DetailFiles) -> list[tuple[Any, ...]]:
    """Every ``images`` row in the parts, without the part's name."""
    return (
        duckdb.connect()
        .execute(
            f"SELECT * EXCLUDE (part) FROM read_parquet('{files.folder}/*.images.parquet') "
            "ORDER BY ALL"
        )
        .fetchall()
    )


def test_small_write_batches_store_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    for i in range(7):
        write_session(root, f"s{i}", manifest(f"s{i}", images=1))
    monkeypatch.setattr(scan, "CHUNK_MIN", 1)
    monkeypatch.setattr(scan, "CHUNK_MAX", 2)
    store = Store(tmp_path / "s.db")
    assert index_root(root, store, progress=False).computed == 7
    assert store.rows("SELECT count(*) FROM sessionkit_stats") == [(7,)]


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
    assert store.rows("SELECT session_id FROM sessionkit_stats") == [("keep",)]


def test_progress_bar_counts_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    for i in range(3):
        write_session(root, f"s{i}", manifest(f"s{i}", images=0))
    index_root(root, Store(tmp_path / "s.db"), progress=True)
    assert "3/3" in capsys.readouterr().err


def test_a_file_name_that_is_not_utf8_does_not_stop_the_index(tmp_path: Path) -> None:
    """A Latin-1 name written by another tool (``caf\\xe9.png``) is a file like any other."""
    root = tmp_path / "root"
    folder = write_session(root, "s", manifest("s", images=1))
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.png"), "wb") as handle:
        handle.write(png_bytes())
    write_session(root, "t", manifest("t", images=1))
    store = Store(tmp_path / "s.db")
    report = index_root(root, store, progress=False)
    assert report.computed == 2
    assert store.rows("SELECT session_id, images_actual FROM sessionkit_stats ORDER BY 1") == [
        ("s", 2),
        ("t", 1),
    ]


def test_parts_are_merged_when_half_stale_not_when_a_few_sessions_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rescan of one session in each of many parts leaves them; once half of each is
    stale, the next index merges them (and the rows stay the sessions' current ones)."""
    monkeypatch.setattr(scan, "CHUNK_MAX", 4)  # one process: parts of 4 sessions,
    monkeypatch.setattr(scan, "CHUNK_MIN", 1)  # none of them "small"
    root = tmp_path / "root"
    ids = [f"s{i:02d}" for i in range(36)]
    for sid in ids:
        write_session(root, sid, manifest(sid, images=1))
    store = Store(tmp_path / "s.db")
    files = DetailFiles(store.path)
    index_root(root, store, progress=False, details=files)
    assert len(store.detail_parts()) == 9

    def change(every: slice) -> None:
        for sid in ids[every]:
            write_session(root, sid, manifest(sid, images=2))

    change(slice(0, None, 4))  # one session of each part: a quarter stale
    index_root(root, store, progress=False, details=files)
    assert len(store.detail_parts()) == 9 + 3  # the 9 sessions' new rows in 3 new parts
    change(slice(1, None, 4))  # a second one of each first part: half stale
    index_root(root, store, progress=False, details=files)
    assert len(store.detail_parts()) == 3 + 3 + 1  # the 9 first parts merged into one
    # the files now hold each session's current rows only: two images where it changed
    written = Counter(row[0] for row in image_rows(files))
    assert written == {sid: 2 if i % 4 < 2 else 1 for i, sid in enumerate(ids)}
