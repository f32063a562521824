"""A small-root smoke run of ``make bench``: every measurement and the report, no timings."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is no package dep

from benchmarks import run
from benchmarks.references import io_floor, naive_index, persist_floor
from sessionkit import SessionKit

# a whole benchmark run on a small root, about 20 s: make check leaves these out
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run.ensure_root(tmp_path_factory.mktemp("bench"), 30, 5, tiny=True)


def test_references_see_every_session(root: Path, tmp_path: Path) -> None:
    floor = io_floor(root)
    assert floor.sessions == 30 and floor.files > 30 and floor.manifest_bytes > 0
    assert naive_index(root, tmp_path / "naive.db") > 0


def test_persist_floor_writes_a_row_per_image_entry(root: Path) -> None:
    entries = 0
    for manifest in root.glob("*/manifest.json"):
        try:
            entries += len(json.loads(manifest.read_bytes()).get("images") or [])
        except ValueError:  # the demo's broken manifests: the floor skips them too
            continue
    result = persist_floor(root)
    assert result.seconds > 0
    assert entries > 0 and result.rows == entries


def test_changed_sessions_are_restored_exactly(root: Path) -> None:
    def snapshot() -> dict[str, tuple[int, int]]:
        found = {}
        for folder in sorted(root.iterdir()):
            if folder.is_dir():
                found[folder.name] = (folder.stat().st_mtime_ns, len(os.listdir(folder)))
                manifest = folder / "manifest.json"
                if manifest.exists():
                    found[str(manifest)] = (manifest.stat().st_mtime_ns, manifest.stat().st_size)
        return found

    before = snapshot()
    with run.changed_sessions(root, 0.1) as chosen:
        assert len(chosen) >= 2
        assert snapshot() != before
    assert snapshot() == before


def test_smoke_run_measures_every_figure_and_writes_the_report(root: Path, tmp_path: Path) -> None:
    scale = run.run_scale(
        root, tmp_path / "work", label="30 sessions", runs=2, fraction=0.1, log=lambda line: None
    )
    names = [figure.name for figure in scale.figures]
    for expected in (
        "I/O floor (1 process, reference)",
        "I/O floor + image rows written (1 process, reference)",
        "naive per-session algorithm (reference)",
        "cold index (fresh db, 2 workers, image data written)",
        "indexing peak RSS (main / largest worker)",
        "open db + first kit.sessions() (fresh process)",
        "first query naming images (fresh process, 0 images marked)",
        "persisted image data on disk (Parquet parts)",
        "sessionkit index (whole process, fresh db)",
        "sessionkit like SESSION (whole process, a mark only)",
        "rescan, nothing changed",
        "browser filter redraw",
        "detail open",
        "auto-save: last edit to durable",
        "kit open, images+variations loaded: peak RSS",
        "image mark: API call to durable in SQLite",
        "kit.images(session_id) median",
        "kit.value_ratings() median",
    ):
        assert expected in names
    assert any(name.startswith("rescan after 10% changed") for name in names)
    first_images = [name for name in names if name.startswith("first query naming images")]
    assert len(first_images) == 2  # before and after the benchmark marks images
    assert {latency.name for latency in scale.latencies} >= {
        "kit.count()",
        "kit.by_model()",
        "kit.timeline('W')",
        "kit.tag_counts()",
        "kit.models()",
        "kit.placeholder_values()",
        "kit.seed_sweeps()",
    }
    for figure in scale.figures:
        assert figure.value is not None or figure.note.startswith("not measured"), figure
        if figure.target and figure.value is not None:
            assert figure.ratio is not None and figure.met is not None

    results = tmp_path / "RESULTS.md"
    profile = run.profile_index(root, tmp_path / "profile", top=5)
    run.write_results(
        results, run.Machine.current(), [scale], seconds=1.0, command="test", profile=profile
    )
    text = results.read_text()
    assert "## 30 sessions" in text and "| cold index" in text and "cores" in text
    assert "ncalls" in text


def test_the_corpus_unlike_the_demo_is_indexed_and_measured(tmp_path: Path) -> None:
    plain = run.ensure_plain_root(tmp_path, 3, images=4)
    folders = sorted(p for p in plain.iterdir() if p.is_dir())
    assert len(folders) == 3
    assert all(f.stat().st_size == 0 for f in folders[0].glob("*.png"))
    scale = run.run_plain(plain, tmp_path / "work", label="3 plain", log=lambda line: None)
    names = [figure.name for figure in scale.figures]
    assert names == [
        "I/O floor (1 process, reference)",
        "I/O floor + image rows written (1 process, reference)",
        "cold index (fresh db, 2 workers)",
        "rescan, nothing changed",
    ]
    assert all(figure.value is not None for figure in scale.figures)


def test_widget_hooks_report_a_figure_or_why_not(root: Path, tmp_path: Path) -> None:
    with SessionKit(root=root, db=tmp_path / "s.db", progress=False) as kit:
        kit.index()
        session_id = str(kit.sessions(limit=1)["session_id"].iloc[0])
        for figure in (
            run.measure_filter_redraw(kit, runs=2),
            run.measure_detail_open(kit, session_id, runs=2),
            run.measure_autosave(kit, session_id),
        ):
            assert figure.ms is not None or figure.reason.startswith("not measured")
