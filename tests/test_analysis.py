"""Aggregations and per-session analyses, against values worked out by hand."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, png_bytes, write_session
from sessionkit import NotCombinatorial, SessionKit, UnknownSession

GRID = "20251101_100000-Grid"
SWEEP = "20251102_100000-Sweep"
OTHER = "20251103_100000-Other"
RANDOM = "20251104_100000-Random"


def grid_manifest(rendered: list[tuple[str, str, bool]]) -> dict[str, Any]:
    """Combinatorial: HAIR x LIGHT = 2 x 3 planned; ``rendered`` lists (hair, light, on_disk)."""
    document = manifest("Grid", images=0, num_images=6, model="modelA.safetensors")
    document["snapshot"]["variations"] = {
        "HAIR": {"available": ["red", "black", "blue"], "used": ["red", "black"], "count": 3},
        "LIGHT": {"available": ["dawn", "noon", "dusk"], "used": ["dawn", "noon", "dusk"]},
    }
    document["images"] = [
        {
            "filename": f"Grid_{i:04d}_seed-{i}.png",
            "seed": i,
            "prompt": f"{hair}, {light}",
            "applied_variations": {"HAIR": hair, "LIGHT": light},
            "on_disk": on_disk,
        }
        for i, (hair, light, on_disk) in enumerate(rendered)
    ]
    return document


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    document = grid_manifest(
        [
            ("red", "dawn", True),
            ("red", "noon", True),
            ("black", "dusk", True),
            ("black", "dawn", False),
        ]
    )
    folder = root / GRID
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(document))
    for entry in document["images"]:
        if entry["on_disk"]:
            (folder / entry["filename"]).write_bytes(png_bytes())
    write_session(
        root, SWEEP, manifest("Sweep", images=4, seed_list=[1, 2], expressions=("smiling",))
    )
    write_session(
        root,
        OTHER,
        manifest("Other", images=2, model="modelB.safetensors", expressions=("smiling", "sad")),
    )
    write_session(root, RANDOM, manifest("Random", images=1, mode="random"))
    return root


@pytest.fixture
def kit(root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        kit.update_metadata(SWEEP, is_favorite=True)
        kit.update_metadata(OTHER, is_favorite=True)
        yield kit


def records(frame: Any) -> list[dict[str, Any]]:
    return [
        {key: (list(value) if hasattr(value, "tolist") else value) for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


def test_missing_combinations_of_images_that_follow_no_walk(kit: SessionKit) -> None:
    # position 2 should be red/dusk in either loop order, but is black/dusk
    with pytest.raises(NotCombinatorial, match="no loop order"):
        kit.missing_combinations(GRID)


def test_missing_combinations_of_a_complete_session_is_empty(kit: SessionKit) -> None:
    assert kit.missing_combinations(SWEEP).empty


def test_missing_combinations_needs_a_combinatorial_session(kit: SessionKit) -> None:
    with pytest.raises(NotCombinatorial, match="random session"):
        kit.missing_combinations(RANDOM)
    with pytest.raises(UnknownSession):
        kit.missing_combinations("20251105_000000-nope")


def test_diff_sessions_names_each_difference(kit: SessionKit) -> None:
    diff = kit.diff_sessions(SWEEP, OTHER)
    assert records(diff) == [
        {
            "aspect": "model",
            "field": "sd_model",
            "a": "realisticVisionV60B1_v51VAE.safetensors [15012c538f]",
            "b": "modelB.safetensors",
        },
        {"aspect": "parameters", "field": "images_expected", "a": 4, "b": 2},
        {"aspect": "variations", "field": "EXPRESSIONS", "a": [], "b": ["sad"]},
    ]


def test_diff_of_a_session_with_itself_is_empty(kit: SessionKit) -> None:
    assert kit.diff_sessions(GRID, GRID).empty


def test_diff_shows_a_placeholder_only_one_session_has(kit: SessionKit) -> None:
    rows = {row["field"]: row for row in records(kit.diff_sessions(GRID, OTHER))}
    assert rows["HAIR"]["b"] is None
    assert sorted(rows["HAIR"]["a"]) == ["black", "red"]
    assert rows["EXPRESSIONS"]["a"] is None


def test_placeholder_values_like_rate(kit: SessionKit) -> None:
    values = {(r["placeholder"], r["value"]): r for r in records(kit.placeholder_values())}
    # "smiling" is used by SWEEP (liked, 4 images), OTHER (liked, 1 image) and RANDOM (not liked)
    smiling = values[("EXPRESSIONS", "smiling")]
    assert (smiling["sessions"], smiling["liked_sessions"], smiling["like_rate"]) == (3, 2, 0.6667)
    assert (smiling["images"], smiling["liked_images"]) == (6, 5)
    assert values[("HAIR", "red")]["like_rate"] == 0.0


def test_placeholder_values_follow_likes_and_indexes(kit: SessionKit, root: Path) -> None:
    def smiling() -> tuple[int, int]:
        values = kit.placeholder_values()
        row = values[(values["placeholder"] == "EXPRESSIONS") & (values["value"] == "smiling")]
        return int(row["sessions"].item()), int(row["liked_sessions"].item())

    assert smiling() == (3, 2)
    kit.update_metadata(RANDOM, is_favorite=True)
    assert smiling() == (3, 3)
    with SessionKit(root, kit.db_path, progress=False) as other:  # another program unlikes
        other.update_metadata(SWEEP, is_favorite=False)
    assert smiling() == (3, 2)
    shutil.rmtree(root / OTHER)  # a vanished session is left out
    kit.index()
    assert smiling() == (2, 1)
    write_session(
        root, "20251105_100000-More", manifest("More", images=1, expressions=("smiling",))
    )
    kit.index()
    assert smiling() == (3, 1)


def test_placeholder_values_by_model(kit: SessionKit) -> None:
    values = kit.placeholder_values(by_model=True)
    smiling = values[(values["placeholder"] == "EXPRESSIONS") & (values["value"] == "smiling")]
    assert sorted(zip(smiling["model"], smiling["sessions"], strict=True)) == [
        ("modelB", 1),
        ("realisticVisionV60B1_v51VAE", 2),
    ]


def test_sweep_seeds_lists_seeds_per_prompt(kit: SessionKit) -> None:
    seeds = kit.sweep_seeds()
    assert records(seeds) == [
        {
            "session_id": SWEEP,
            "prompt": "beautiful woman, smiling",
            "seeds": 4,
            "seed_values": [1000, 1001, 1002, 1003],
            "images": 4,
        }
    ]
    assert kit.sweep_seeds(GRID).empty


def test_sweep_like_share(kit: SessionKit) -> None:
    assert records(kit.sweep_like_share()) == [
        {"kind": "seed sweep", "sessions": 1, "liked_sessions": 1, "liked_share": 1.0},
        {"kind": "other", "sessions": 3, "liked_sessions": 1, "liked_share": 0.3333},
    ]


def test_timeline_by_model(kit: SessionKit) -> None:
    timeline = kit.timeline("M", by_model=True)
    assert records(timeline[["model", "sessions", "images", "liked_sessions"]]) == [
        {"model": "modelA", "sessions": 1, "images": 3, "liked_sessions": 0},
        {"model": "modelB", "sessions": 1, "images": 2, "liked_sessions": 1},
        {"model": "realisticVisionV60B1_v51VAE", "sessions": 2, "images": 5, "liked_sessions": 1},
    ]
    assert str(timeline["period"].iloc[0].date()) == "2025-11-01"


@pytest.mark.parametrize(
    ("checkpoint", "name"),
    [
        ("dreamshaper_8.safetensors [879db523c3]", "dreamshaper_8"),
        ("dreamshaper_8", "dreamshaper_8"),
        ("sd15.ckpt", "sd15"),
        ("v1 [ABCDEF0123]", "v1"),
        ("a.b.safetensors", "a.b"),
        ("", None),
    ],
)
def test_model_name_groups_the_spellings_of_a_checkpoint(
    kit: SessionKit, checkpoint: str, name: str | None
) -> None:
    assert kit.sql("SELECT model_name(?) AS m", [checkpoint])["m"][0] == name


def test_seed_sweep_counts_follow_a_rescan(kit: SessionKit, root: Path) -> None:
    assert kit.seed_sweeps()[["seeds", "prompts"]].values.tolist() == [[4, 1]]
    write_session(
        root, SWEEP, manifest("Sweep", images=6, seed_list=[1, 2], expressions=("smiling",))
    )
    kit.index()
    assert kit.seed_sweeps()[["seeds", "prompts"]].values.tolist() == [[6, 1]]


def test_used_values_of_one_session_in_manifest_order(kit: SessionKit) -> None:
    assert kit.used_values(GRID) == {"HAIR": ["red", "black"], "LIGHT": ["dawn", "noon", "dusk"]}
    assert kit.mirror.con.execute("SELECT count(*) FROM variations").fetchone() == (0,)
    with pytest.raises(UnknownSession):
        kit.used_values("20251105_000000-nope")
