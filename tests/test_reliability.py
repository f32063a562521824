"""Reliability: no bad input stops a scan, and a scan never changes user metadata.

Each test builds a root with one kind of breakage beside healthy sessions and
checks the promise of docs/reliability.md: the index finishes, the broken session
is reported with its reason, the others are right, and a session that was
broken only for a moment is right after the next scan.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, write_session
from sessionkit import SessionKit

# many roots, each indexed, broken and indexed again: make check leaves these out
pytestmark = pytest.mark.slow

HEALTHY = "20251101_100000-Healthy"
BROKEN = "20251102_100000-Broken"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_session(root, HEALTHY, manifest("Healthy", images=3))
    return root


@pytest.fixture
def kit(root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        yield kit


def assert_healthy_is_right(kit: SessionKit) -> None:
    stats = kit.stats(HEALTHY)
    assert (stats["images_actual"], stats["images_expected"], stats["stats_error"]) == (3, 3, None)


def good_manifest_bytes() -> bytes:
    return json.dumps(manifest("Broken", images=2), indent=1).encode()


@pytest.mark.parametrize("tenth", range(10))
def test_manifest_truncated_at_every_tenth(kit: SessionKit, root: Path, tenth: int) -> None:
    data = good_manifest_bytes()
    write_session(root, BROKEN, data[: len(data) * tenth // 10], images=2)
    report = kit.index()
    assert [session for session, _ in report.failed] == [BROKEN]
    reason = report.failed[0][1]
    assert "cut short" in reason or "empty" in reason
    assert_healthy_is_right(kit)
    assert kit.stats(BROKEN)["images_actual"] == 2  # what the files tell
    (root / BROKEN / "manifest.json").write_bytes(data)
    assert kit.index().failed == []
    assert kit.stats(BROKEN)["stats_source"] == "manifest"


BROKEN_MANIFESTS: dict[str, bytes] = {
    "non_utf8": good_manifest_bytes().replace(b"beautiful", b"beaut\xe9\xff"),
    "nulls": json.dumps(
        {"snapshot": dict.fromkeys(manifest()["snapshot"]), "images": None, "status": None}
    ).encode(),
    "deep_junk": b"[" * 100_000 + b"]" * 100_000,
    "deep_junk_object": b'{"snapshot": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
    "binary": bytes(range(256)) * 10,
    "not_an_object": b'"just a string"',
}


@pytest.mark.parametrize("case", BROKEN_MANIFESTS)
def test_odd_manifests_never_stop_the_scan(kit: SessionKit, root: Path, case: str) -> None:
    write_session(root, BROKEN, BROKEN_MANIFESTS[case], images=1)
    report = kit.index()
    assert report.computed == 2
    assert_healthy_is_right(kit)
    stats = kit.stats(BROKEN)
    assert stats["images_actual"] == 1
    if stats["stats_error"] is not None:
        assert report.failed == [(BROKEN, stats["stats_error"])]


def test_wrong_type_in_each_field(kit: SessionKit, root: Path) -> None:
    base = manifest("Broken", images=2)
    junk: list[Any] = [[], {}, "x", 1.5, True, None, -1]
    names: list[str] = []
    for field in base["snapshot"]:
        for index, value in enumerate(junk):
            document = json.loads(json.dumps(base))
            document["snapshot"][field] = value
            name = f"20251103_{len(names):06d}-{field}-{index}"
            names.append(name)
            write_session(root, name, document)
    for field in ("mode", "seed_mode", "base_seed", "num_images", "seed_list"):
        document = json.loads(json.dumps(base))
        document["snapshot"]["generation_params"][field] = {"nested": [1, "x"]}
        name = f"20251104_{len(names):06d}-{field}"
        names.append(name)
        write_session(root, name, document)
    report = kit.index()
    assert report.computed == len(names) + 1
    assert report.failed == []
    assert_healthy_is_right(kit)
    assert all(kit.stats(name)["images_actual"] == 2 for name in names)


def test_a_manifest_listing_100k_images(kit: SessionKit, root: Path) -> None:
    document = manifest("Broken", images=0, num_images=100_000)
    document["images"] = [
        {"filename": f"Broken_{i:06d}.png", "seed": i, "prompt": "p", "applied_variations": {}}
        for i in range(100_000)
    ]
    write_session(root, BROKEN, json.dumps(document).encode())  # listed, not on disk
    kit.index()
    stats = kit.stats(BROKEN)
    assert (stats["images_expected"], stats["images_actual"]) == (100_000, 0)
    count = kit.sql("SELECT count(*) AS n FROM images WHERE session_id = ?", [BROKEN])
    assert count["n"][0] == 100_000


def test_a_symlink_loop_in_the_root(kit: SessionKit, root: Path) -> None:
    (root / "loop").symlink_to(root)
    (root / "self").symlink_to(root / "self")
    report = kit.index()
    assert report.computed == 1
    assert report.failed == []


def test_symlinked_session_folders_are_sessions(
    kit: SessionKit, root: Path, tmp_path: Path
) -> None:
    elsewhere = write_session(tmp_path / "elsewhere", BROKEN, manifest("Broken", images=1))
    (root / BROKEN).symlink_to(elsewhere)
    assert kit.index().computed == 2


def test_a_manifest_that_is_a_fifo_does_not_block(kit: SessionKit, root: Path) -> None:
    (root / BROKEN).mkdir()
    os.mkfifo(root / BROKEN / "manifest.json")
    report = kit.index()
    assert report.failed == [(BROKEN, "manifest.json is not a regular file")]


def test_an_unreadable_manifest(
    kit: SessionKit, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_session(root, BROKEN, manifest("Broken", images=1))
    target = folder / "manifest.json"
    target.chmod(0)
    if os.access(target, os.R_OK):  # root reads anything: refuse this one file ourselves
        real_open = os.open

        def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if Path(os.fsdecode(path)) == target:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        # the manifest is read through one os.open (then fstat and read on that handle)
        monkeypatch.setattr(os, "open", refuse)
    report = kit.index()
    assert report.failed == [(BROKEN, "manifest.json cannot be read: Permission denied")]
    assert kit.stats(BROKEN)["images_actual"] == 1
    target.chmod(0o644)
    monkeypatch.undo()
    assert kit.index().failed == []


def test_a_manifest_rewritten_while_the_index_runs(kit: SessionKit, root: Path) -> None:
    """The generator rewrites its manifest after every image: a scan may catch it mid-write."""
    folder = write_session(root, BROKEN, manifest("Broken", images=2))
    target = folder / "manifest.json"
    data = good_manifest_bytes()
    stop = threading.Event()

    def rewrite_forever() -> None:
        while not stop.is_set():
            with target.open("wb") as file:  # truncates first, like a plain rewrite
                file.write(data[: len(data) // 2])
                file.flush()
                file.write(data[len(data) // 2 :])

    writer = threading.Thread(target=rewrite_forever)
    writer.start()
    try:
        for _ in range(30):
            report = kit.index(force=True)
            assert report.computed == 2
            assert {session for session, _ in report.failed} <= {BROKEN}
            assert_healthy_is_right(kit)
    finally:
        stop.set()
        writer.join()
    kit.index()
    stats = kit.stats(BROKEN)
    assert (stats["stats_error"], stats["images_expected"]) == (None, 2)
