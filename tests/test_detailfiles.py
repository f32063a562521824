"""The ``images`` / ``variations`` rows kept on disk (sessionkit.detailfiles).

The rows a kit answers from its Parquet parts must be the rows the rules give
from the manifests directly, for every named edge case; a part that is
missing, cut short or of another format is rebuilt with a warning; a kill
while writing leaves the previous rows usable; a rescan writes only what
changed; and the mirror reads the parts' folder and nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from builders import png_bytes
from edge_cases import EDGE_CASES
from sessionkit import SessionKit, detailfiles, scan
from sessionkit.detailfiles import FORMAT, DetailFiles
from sessionkit.details import IMAGE_COLUMNS, VARIATION_COLUMNS, Fallback, session_details
from sessionkit.manifest import Manifest, parse_manifest
from sessionkit.mirror import QueryError
from sessionkit.scan import find_candidates, list_session

FILES = ["a_0000_seed-7.png", "b.png"]
"""Image files beside every edge case's manifest: one the manifests list, one they do not."""


def plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def relation(kit: SessionKit, name: str) -> set[tuple[Any, ...]]:
    frame = kit.sql(f"SELECT * FROM {name}")
    return {tuple(plain(v) for v in row) for row in frame.itertuples(index=False)}


def direct(root: Path, kit: SessionKit) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Both relations from the manifests and folders directly, by the rules alone."""
    images: set[tuple[Any, ...]] = set()
    variations: set[tuple[Any, ...]] = set()
    for candidate in find_candidates(root):
        files = list_session(candidate)
        assert files is not None
        path = Path(files.path) / "manifest.json"
        data = path.read_bytes() if path.exists() else None
        usable = data is not None and isinstance(parse_manifest(data), Manifest)
        stats = kit.stats(files.session_id)
        fallback = (
            None
            if usable
            else Fallback(stats["resolved_prompt"], stats["negative_prompt"], stats["seed_base"])
        )
        rows = session_details(
            data if usable else None, files.names, files.mtimes, files.sizes, fallback
        )
        sid = files.session_id
        for i, name in enumerate(rows.filename):
            mtime = rows.file_mtime[i]
            applied = rows.applied_variations[i]
            images.add(  # applied variations compared as sorted items
                (
                    sid,
                    name,
                    rows.seed[i],
                    rows.prompt[i],
                    rows.negative_prompt[i],
                    None if applied is None else tuple(sorted(json.loads(applied).items())),
                    rows.on_disk[i],
                    None if mtime is None else pd.Timestamp.fromtimestamp(mtime).isoformat(),
                    rows.file_size[i],
                )
            )
        for i, placeholder in enumerate(rows.placeholder):
            variations.add((sid, placeholder, rows.value[i], rows.used[i], rows.images[i]))
    return images, variations


def comparable(rows: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Applied variations (JSON text in the relation) as sorted items."""

    def applied(value: Any) -> Any:
        return None if value is None else tuple(sorted(json.loads(value).items()))

    return {(*row[:5], applied(row[5]), *row[6:]) for row in rows}


def write_root(root: Path, cases: dict[str, bytes]) -> Path:
    for name, data in cases.items():
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_bytes(data)
        for file in FILES:
            (folder / file).write_bytes(png_bytes())
    loose = root / "no_manifest"
    loose.mkdir()
    (loose / "x_seed-3.png").write_bytes(png_bytes())
    return root


@pytest.fixture(scope="module")
def edge_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SessionKit, Path]]:
    """Every named edge case (the 100k-image manifest included), indexed once."""
    base = tmp_path_factory.mktemp("edges")
    root = write_root(base / "root", EDGE_CASES)
    with SessionKit(root, base / "sessions.db", progress=False) as opened:
        opened.index()
        yield opened, root


@pytest.fixture
def edge_root(tmp_path: Path) -> Path:
    """A few sessions: a current writer, a lenient read and two unusable manifests."""
    names = ("current_writer", "nan_cfg", "not_json", "random_no_num_images")
    return write_root(tmp_path / "root", {name: EDGE_CASES[name] for name in names})


@pytest.fixture
def kit(tmp_path: Path, edge_root: Path) -> Iterator[SessionKit]:
    with SessionKit(edge_root, tmp_path / "sessions.db", progress=False) as opened:
        opened.index()
        yield opened


def test_stored_rows_are_the_rows_of_the_manifests_for_every_edge_case(
    edge_kit: tuple[SessionKit, Path],
) -> None:
    kit, edge_root = edge_kit
    images, variations = direct(edge_root, kit)
    assert tuple(kit.sql("SELECT * FROM image_rows").columns) == IMAGE_COLUMNS
    assert tuple(kit.sql("SELECT * FROM variations").columns) == VARIATION_COLUMNS
    stored = relation(kit, "image_rows")
    assert {row[0] for row in stored} == {*EDGE_CASES, "no_manifest"}
    assert comparable(stored) == images
    assert relation(kit, "variations") == variations


def test_a_new_kit_reads_the_stored_rows_without_a_manifest(
    edge_kit: tuple[SessionKit, Path],
) -> None:
    kit, edge_root = edge_kit
    before = relation(kit, "image_rows"), relation(kit, "variations")
    for folder in edge_root.iterdir():
        (folder / "manifest.json").unlink(missing_ok=True)  # no manifest to read any more
    with SessionKit(db=kit.db_path, progress=False) as fresh:
        assert (relation(fresh, "image_rows"), relation(fresh, "variations")) == before


def _parts(kit: SessionKit) -> list[Path]:
    return sorted(kit.details.folder.glob("*.parquet"))


@pytest.mark.parametrize("damage", ["missing", "truncated", "other_format"])
def test_a_damaged_part_is_rebuilt_from_the_manifests_with_a_warning(
    kit: SessionKit, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = relation(kit, "image_rows"), relation(kit, "variations")
    images_file = next(p for p in _parts(kit) if p.name.endswith(".images.parquet"))
    if damage == "missing":
        images_file.unlink()
    elif damage == "truncated":
        data = images_file.read_bytes()
        images_file.write_bytes(data[: len(data) // 2])
    else:
        con = sqlite3.connect(kit.db_path)
        con.execute("UPDATE sessionkit_detail_parts SET format = ?", (FORMAT + 1,))
        con.commit()
        con.close()
    with (
        caplog.at_level(logging.WARNING, logger="sessionkit"),
        SessionKit(db=kit.db_path, progress=False) as fresh,
    ):
        after = relation(fresh, "image_rows"), relation(fresh, "variations")
    assert after == before
    assert "rebuilding the image data" in caplog.text
    assert "cannot be used" in caplog.text


def test_a_kill_while_writing_leaves_the_previous_rows(
    kit: SessionKit, edge_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = relation(kit, "image_rows")
    parts = _parts(kit)
    (edge_root / "current_writer" / "new_0001.png").write_bytes(png_bytes())

    def killed(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt  # the part is written; sessions.db never hears of it

    monkeypatch.setattr(kit.store, "write_records", killed)
    with pytest.raises(KeyboardInterrupt):
        kit.index()
    monkeypatch.undo()
    assert len(_parts(kit)) == len(parts) + 2  # an unrecorded part was left behind
    with SessionKit(db=kit.db_path, progress=False) as fresh:
        assert relation(fresh, "image_rows") == before
        fresh.index()  # the next index picks the change up and tidies
        names = {row[1] for row in relation(fresh, "image_rows") if row[0] == "current_writer"}
        assert "new_0001.png" in names


def test_a_rescan_writes_only_the_changed_sessions(kit: SessionKit, edge_root: Path) -> None:
    (edge_root / "not_json" / "manifest.json").unlink()  # read again by every scan otherwise
    kit.index()
    parts = _parts(kit)
    assert kit.index().computed == 0
    assert _parts(kit) == parts  # nothing changed: nothing written
    (edge_root / "current_writer" / "new_0001.png").write_bytes(png_bytes())
    report = kit.index()
    assert report.computed == 1
    written = set(_parts(kit)) - set(parts)
    assert len(written) == 2  # one new part (images + variations) for the one session
    rows = relation(kit, "image_rows")
    assert sum(1 for row in rows if row[1] == "new_0001.png") == 1
    assert len({row[:2] for row in rows}) == len(rows)  # the old part's rows are not shown


def test_a_kit_whose_part_another_index_deleted_reads_the_new_one(
    kit: SessionKit, edge_root: Path
) -> None:
    for folder in edge_root.iterdir():
        if folder.name != "current_writer":
            (folder / "manifest.json").unlink(missing_ok=True)
    kit.index(force=True)  # every session in one part
    relation(kit, "image_rows")  # this kit's views now name that part
    with SessionKit(edge_root, kit.db_path, progress=False) as other:
        other.index(force=True)  # a new part; the one this kit names is deleted
    names = {row[1] for row in relation(kit, "image_rows") if row[0] == "current_writer"}
    assert "a_0000_seed-7.png" in names


def test_sql_reads_no_file_but_the_parts(kit: SessionKit, tmp_path: Path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    for sql in (
        f"SELECT * FROM read_csv('{outside}')",
        f"SELECT * FROM read_text('{kit.db_path}')",
    ):
        with pytest.raises(QueryError, match=r"disabled|Permission"):
            kit.sql(sql)
    cursor = kit.duckdb.cursor()
    with pytest.raises(Exception, match=r"disabled|Permission"):
        cursor.sql(f"SELECT * FROM read_csv('{outside}')").fetchall()
    cursor.close()


def test_the_parts_are_small_and_named_beside_the_database(kit: SessionKit) -> None:
    assert kit.details.folder == kit.db_path.with_name("sessions.db-details")
    assert all(os.path.getsize(p) > 0 for p in _parts(kit))
    assert not list(kit.details.folder.glob("*.tmp"))


def test_workers_write_the_rows_even_when_the_parent_has_duckdb_open(
    tmp_path: Path, edge_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Index workers are forked from the kit, whose DuckDB (and its threads) may be open.

    Each worker makes a DuckDB of its own after the fork to write its parts;
    the rows must be those of the rules, on a first index and a forced one.
    """
    monkeypatch.setattr(scan, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(scan, "CHUNK_MIN", 1)
    monkeypatch.setattr(scan, "CHUNK_MAX", 2)
    with SessionKit(edge_root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        images, variations = direct(edge_root, kit)
        assert comparable(relation(kit, "image_rows")) == images  # the mirror is open now
        assert kit.index(force=True).computed == 5
        assert comparable(relation(kit, "image_rows")) == images
        assert relation(kit, "variations") == variations
        # five sessions for two workers: one session per chunk, each chunk its own part
        assert len(kit.store.detail_parts()) == 5


def test_rescans_leave_few_parts_by_merging_the_small_ones(tmp_path: Path, edge_root: Path) -> None:
    """Each rescan writes a part for the sessions it found new or changed; small parts
    get merged.

    The rows stay those of the rules, in the same order, and a kit opened before
    the merge (whose views name the old files) reads the merged part.
    """
    (edge_root / "not_json" / "manifest.json").unlink()  # read again by every scan otherwise
    with SessionKit(edge_root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        stored_order = "SELECT filename FROM image_rows WHERE session_id = 'current_writer'"
        listed = kit.sql(stored_order)["filename"].tolist()
        with SessionKit(db=kit.db_path, progress=False) as reader:
            before = relation(reader, "image_rows")
            counts = []
            for day in range(scan.MERGE_AFTER - 1):  # a new session, then an index
                write_root(edge_root / f"day{day}", {"session": EDGE_CASES["current_writer"]})
                (edge_root / f"day{day}" / "no_manifest").rename(edge_root / f"loose{day}")
                shutil.move(edge_root / f"day{day}" / "session", edge_root / f"new{day}")
                (edge_root / f"day{day}").rmdir()
                assert kit.index().computed == 2
                counts.append(len(kit.store.detail_parts()))
            # one part more each time, until MERGE_AFTER small parts are merged into one
            assert counts == [*range(2, scan.MERGE_AFTER), 1]
            assert len(_parts(kit)) == 2  # its two files; the others are deleted
            images, variations = direct(edge_root, kit)
            assert comparable(relation(kit, "image_rows")) == images
            assert relation(kit, "variations") == variations
            added = relation(reader, "image_rows") - before
            assert {row[0] for row in added} == {
                name for day in range(scan.MERGE_AFTER - 1) for name in (f"new{day}", f"loose{day}")
            }
        assert kit.sql(stored_order)["filename"].tolist() == listed


def test_a_part_keeps_each_session_in_its_own_few_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are written in session order, in small row groups: a query for one session
    skips the other groups by their ``session_id`` range, whatever order they came in."""
    rows = 2048  # DuckDB's smallest row group: one vector
    monkeypatch.setattr(detailfiles, "ROW_GROUP_ROWS", rows)
    sessions = [
        (f"s{i}", session_details(None, [f"{n}.png" for n in range(rows)], [0] * rows, [1] * rows))
        for i in (3, 1, 4, 0, 2)
    ]
    files = DetailFiles(tmp_path / "sessions.db")
    part = files.write(sessions)
    ranges = (
        duckdb.connect()
        .execute(
            "SELECT stats_min_value, stats_max_value FROM parquet_metadata(?) "
            "WHERE path_in_schema = 'session_id' ORDER BY row_group_id",
            [str(files.path(part.name, "images"))],
        )
        .fetchall()
    )
    files.close()
    assert ranges == [(f"s{i}", f"s{i}") for i in range(5)]
