"""The ``session_stats`` rules and the seed-sweep rule of docs/data-model.md.

Rules are checked on the named edge cases (no disk needed: the listing is
built by hand) and on real folders written in ``tmp_path`` and listed by
:func:`sessionkit.scan.list_session`, the way a scan sees them.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from edge_cases import EDGE_CASES, EXPECTED, MODEL, PROMPT, UNREADABLE, parsed
from sessionkit.manifest import ImageEntry, Manifest, Unreadable, Variation, parse_manifest
from sessionkit.scan import Candidate, list_session
from sessionkit.stats import (
    IMAGE_SUFFIXES,
    STATS_COLUMNS,
    STATS_VERSION,
    SessionFiles,
    SessionRecord,
    completion_percentage,
    compute_session,
    images_expected,
    is_image_name,
    is_seed_sweep,
    iso_timestamp,
    known_model,
    time_from_folder_name,
)

DATA_MODEL_COLUMNS = (
    "session_id",
    "session_path",
    "sd_model",
    "template_version",
    "generation_mode",
    "seed_mode",
    "seed_base",
    "resolved_prompt",
    "negative_prompt",
    "width",
    "height",
    "steps",
    "cfg_scale",
    "sampler_name",
    "images_expected",
    "images_actual",
    "completion_percentage",
    "is_seed_sweep",
    "placeholders_json",
    "variations_summary_json",
    "session_created_at",
    "manifest_generated_at",
    "first_image_created_at",
    "last_image_created_at",
    "stats_computed_at",
    "stats_version",
)

INFOTEXT = (
    "beautiful woman, 25 years old, smiling, headshot\n"
    "Negative prompt: low quality, blurry\n"
    "Steps: {steps}, Sampler: {sampler}, CFG scale: {cfg}, Seed: {seed}, Size: {size}, "
    "Model hash: 15012c538f, Model: realisticVisionV60B1_v51VAE, Version: v1.10.1"
)
INFOTEXT_MODEL = "realisticVisionV60B1_v51VAE"
SQLITE_INTEGER = range(-(2**63), 2**63)


def infotext(
    seed: int = 1000,
    *,
    steps: int = 20,
    sampler: str = "Euler a",
    cfg: str = "7.0",
    size: str = "512x512",
) -> str:
    """The corpus's infotext shape (the server's answer for an ``api_params: {}`` session)."""
    return INFOTEXT.format(seed=seed, steps=steps, sampler=sampler, cfg=cfg, size=size)


def write_png(path: Path, parameters: str | None = None) -> Path:
    info = PngImagePlugin.PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    Image.new("RGB", (4, 4), (120, 80, 60)).save(path, pnginfo=info)
    return path


def make_session(
    root: Path,
    name: str,
    manifest: bytes | dict[str, Any] | None,
    images: dict[str, str | None] | None = None,
    *,
    is_dryrun: bool = False,
) -> SessionFiles:
    """Write a session folder (manifest and PNGs with the given infotext) and list it."""
    folder = root / name
    folder.mkdir(parents=True)
    if isinstance(manifest, dict):
        manifest = json.dumps(manifest, indent=2).encode()
    if manifest is not None:
        (folder / "manifest.json").write_bytes(manifest)
    for filename, parameters in (images or {}).items():
        write_png(folder / filename, parameters)
    files = list_session(Candidate(name, str(folder), is_dryrun=is_dryrun))
    assert files is not None
    return files


def listing(
    names: tuple[str, ...] = (),
    *,
    session_id: str = "edge-case",
    path: str = "/nonexistent/sessionkit-tests/edge-case",
    mtime: float = 1_763_990_659.0,
) -> SessionFiles:
    """A listing built by hand: files that need no reading from disk."""
    return SessionFiles(
        session_id,
        path,
        list(names),
        [int(mtime) + i for i in range(len(names))],
        [1000 + i for i in range(len(names))],
        has_manifest=True,
        signature="sig",
    )


EMPTY_LISTING: dict[str, list[Any]] = {"n": [], "t": [], "s": []}


def listed_files(record: SessionRecord) -> dict[str, Any]:
    """The image files a record stores in ``session_files``, decoded."""
    files = json.loads(record.files)
    assert isinstance(files, dict)
    return files


def document(**params: Any) -> dict[str, Any]:
    """A current-writer manifest document (its ``generation_params`` overridden)."""
    base = json.loads(EDGE_CASES["current_writer"])
    assert isinstance(base, dict)
    base["snapshot"]["generation_params"].update(params)
    return base


def names(count: int, prefix: str = "Portrait", holes: tuple[int, ...] = ()) -> list[str]:
    return [f"{prefix}_{i:04d}_seed-{1000 + i}.png" for i in range(count) if i not in holes]


def iso_local(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).isoformat(timespec="seconds")


# -- the table -------------------------------------------------------------------


def test_stats_columns_are_the_data_model_columns_then_three() -> None:
    expected = (*DATA_MODEL_COLUMNS, "status", "stats_source", "stats_error")
    assert expected == STATS_COLUMNS
    assert len(DATA_MODEL_COLUMNS) == 26


def test_stats_row_follows_the_columns() -> None:
    record = compute_session(listing(), parsed("current_writer"))
    row = record.stats_row()
    assert len(row) == len(STATS_COLUMNS)
    assert dict(zip(STATS_COLUMNS, row, strict=True))["sd_model"] == MODEL
    assert row[STATS_COLUMNS.index("session_id")] == "edge-case"


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_case_stats(name: str) -> None:
    before = datetime.now().replace(microsecond=0)
    record = compute_session(listing(), parsed(name))
    stats = record.stats
    for column, value in EXPECTED[name].items():
        assert getattr(stats, column) == value, column
    assert (stats.session_id, stats.session_path) == ("edge-case", listing().path)
    assert stats.images_actual == 0
    assert stats.stats_version == STATS_VERSION
    assert before <= datetime.fromisoformat(stats.stats_computed_at) <= datetime.now()
    manifest = parsed(name)
    if name in UNREADABLE:
        assert isinstance(manifest, Unreadable)
        assert stats.stats_error == manifest.reason
        assert stats.stats_source == "none"
    else:
        assert stats.stats_error is None
        assert stats.stats_source == "manifest"
    assert listed_files(record) == EMPTY_LISTING
    assert isinstance(json.loads(stats.placeholders_json), dict)
    assert isinstance(json.loads(stats.variations_summary_json), dict)


# -- sd_model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("unknown", None),
        ("Unknown", None),
        (" unknown ", None),
        ("", None),
        (None, None),
        (MODEL, MODEL),
        ("unknown_merge_v2.safetensors", "unknown_merge_v2.safetensors"),
    ],
)
def test_known_model(raw: str | None, expected: str | None) -> None:
    assert known_model(raw) == expected


def test_model_unknown_is_null() -> None:
    assert compute_session(listing(), parsed("aborted_api_down")).stats.sd_model is None


# -- seed_base -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"base_seed": 42}, 42),
        ({"base_seed": None, "seed_base": 7}, 7),
        ({"base_seed": -1}, None),
        ({"base_seed": None}, None),
        ({"base_seed": 0}, 0),
        ({"base_seed": 4294967295}, 4294967295),
    ],
)
def test_seed_base(params: dict[str, Any], expected: int | None) -> None:
    manifest = parse_manifest(json.dumps(document(**params)).encode())
    assert compute_session(listing(), manifest).stats.seed_base == expected


# -- width, height, steps, cfg_scale, sampler_name ---------------------------------------


def test_sampler_name_wins_over_sampler() -> None:
    doc = document()
    doc["snapshot"]["api_params"]["sampler_name"] = "Euler a"
    manifest = parse_manifest(json.dumps(doc).encode())
    assert compute_session(listing(), manifest).stats.sampler_name == "Euler a"
    assert compute_session(listing(), parsed("current_writer")).stats.sampler_name == "DPM++ 2M"
    assert compute_session(listing(), parsed("old_keys")).stats.sampler_name == "DPM++ 2M"


def test_empty_api_params_take_the_first_images_infotext(tmp_path: Path) -> None:
    """api_params {}: the server's values from the first image by name; the manifest's prompt."""
    images: dict[str, str | None] = {
        "Portrait_0001_seed-1001.png": infotext(seed=1001, steps=99, sampler="LMS", cfg="1.5"),
        "Portrait_0000_seed-1000.png": infotext(seed=1000, steps=20, sampler="Euler a"),
    }
    files = make_session(
        tmp_path, "20261124_132327-Portrait", EDGE_CASES["empty_api_params"], images
    )
    stats = compute_session(files).stats
    assert (stats.width, stats.height, stats.steps) == (512, 512, 20)
    assert (stats.cfg_scale, stats.sampler_name) == (7.0, "Euler a")
    assert stats.resolved_prompt == PROMPT  # not the infotext's prompt
    assert stats.negative_prompt is not None and stats.negative_prompt.startswith("low quality,")
    assert stats.sd_model == MODEL  # the manifest's name, not the infotext's short one
    assert stats.seed_base == 42
    assert stats.stats_source == "manifest"


def test_api_params_values_win_over_the_infotext(tmp_path: Path) -> None:
    doc = json.loads(EDGE_CASES["empty_api_params"])
    doc["snapshot"]["api_params"] = {"width": 640, "steps": 28}
    images: dict[str, str | None] = {"Portrait_0000_seed-1000.png": infotext(size="512x768")}
    files = make_session(tmp_path, "s", doc, images)
    stats = compute_session(files).stats
    assert (stats.width, stats.height, stats.steps) == (640, 768, 28)
    assert (stats.cfg_scale, stats.sampler_name) == (7.0, "Euler a")


def test_nan_cfg_scale_is_null() -> None:
    stats = compute_session(listing(), parsed("nan_cfg")).stats
    assert stats.cfg_scale is None
    assert stats.steps == 30


# -- no manifest / unreadable manifest -------------------------------------------------


def test_session_without_manifest_uses_the_first_image_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "20251014_173320-no_manifest"
    folder.mkdir()
    # written out of order, and the first by name is the newest file
    write_png(folder / "x_0002_seed-102.png", infotext(seed=102, steps=40, size="768x512"))
    write_png(folder / "x_0000_seed-100.png", infotext(seed=100, steps=25, size="512x768"))
    write_png(folder / "x_0001_seed-101.png", infotext(seed=101, steps=30, size="640x640"))
    os.utime(folder / "x_0000_seed-100.png", (1_763_990_700, 1_763_990_700))
    os.utime(folder / "x_0001_seed-101.png", (1_763_990_600, 1_763_990_600))
    os.utime(folder / "x_0002_seed-102.png", (1_763_990_500, 1_763_990_500))
    files = list_session(Candidate(folder.name, str(folder)))
    assert files is not None and not files.has_manifest
    record = compute_session(files)
    stats = record.stats
    assert stats.stats_source == "images"
    assert stats.stats_error is None
    assert stats.sd_model == INFOTEXT_MODEL
    assert (stats.steps, stats.width, stats.height) == (25, 512, 768)
    assert (stats.sampler_name, stats.cfg_scale) == ("Euler a", 7.0)
    assert stats.resolved_prompt == "beautiful woman, 25 years old, smiling, headshot"
    assert stats.negative_prompt == "low quality, blurry"
    assert stats.seed_base == 100
    assert (stats.images_expected, stats.images_actual) == (0, 3)
    assert stats.completion_percentage == 0.0
    assert stats.is_seed_sweep == 0
    assert (stats.placeholders_json, stats.variations_summary_json) == ("{}", "{}")
    assert stats.session_created_at == "2025-10-14T17:33:20"
    assert stats.manifest_generated_at is None
    assert stats.first_image_created_at == iso_local(1_763_990_500)
    assert stats.last_image_created_at == iso_local(1_763_990_700)
    found = listed_files(record)
    assert sorted(found["n"]) == [
        "x_0000_seed-100.png",
        "x_0001_seed-101.png",
        "x_0002_seed-102.png",
    ]
    mtimes = dict(zip(found["n"], found["t"], strict=True))
    assert mtimes["x_0000_seed-100.png"] == 1_763_990_700


def test_session_without_manifest_and_a_random_seed(tmp_path: Path) -> None:
    images: dict[str, str | None] = {"x_0000.png": infotext(seed=-1)}
    stats = compute_session(make_session(tmp_path, "s", None, images)).stats
    assert stats.seed_base is None
    assert stats.stats_source == "images"


def test_images_without_infotext_still_count(tmp_path: Path) -> None:
    stats = compute_session(make_session(tmp_path, "s", None, {"a.png": None, "b.png": None})).stats
    assert stats.stats_source == "images"
    assert stats.images_actual == 2
    assert (stats.sd_model, stats.steps, stats.resolved_prompt) == (None, None, None)


@pytest.mark.parametrize("name", ["half_written", "not_json", "json_array", "empty_file"])
def test_unreadable_manifest_gives_the_reason_and_stats_from_images(
    tmp_path: Path, name: str
) -> None:
    images: dict[str, str | None] = {"Portrait_0000_seed-1000.png": infotext(seed=1000)}
    files = make_session(tmp_path, "20261124_132920-Portrait", EDGE_CASES[name], images)
    assert files.has_manifest
    record = compute_session(files)
    stats = record.stats
    reason = parsed(name)
    assert isinstance(reason, Unreadable)
    assert stats.stats_error == reason.reason
    assert stats.stats_source == "images"
    assert stats.sd_model == INFOTEXT_MODEL
    assert (stats.steps, stats.seed_base, stats.images_actual) == (20, 1000, 1)
    assert (stats.images_expected, stats.completion_percentage) == (0, 0.0)
    assert stats.status is None
    assert stats.session_created_at == "2026-11-24T13:29:20"
    assert listed_files(record)["n"] == ["Portrait_0000_seed-1000.png"]


def test_unreadable_manifest_without_images(tmp_path: Path) -> None:
    files = make_session(tmp_path, "s", EDGE_CASES["not_json"])
    stats = compute_session(files).stats
    assert stats.stats_source == "none"
    assert stats.stats_error is not None and "not valid JSON" in stats.stats_error


def test_manifest_read_from_the_folder_when_not_given(tmp_path: Path) -> None:
    files = make_session(tmp_path, "s", EDGE_CASES["current_writer"])
    read = compute_session(files)
    assert read.stats.sd_model == MODEL
    assert _without_clock(read) == _without_clock(compute_session(files, parsed("current_writer")))


def _without_clock(record: SessionRecord) -> tuple[Any, ...]:
    row = list(record.stats_row())
    del row[STATS_COLUMNS.index("stats_computed_at")]
    return tuple(row)


# -- images_expected -------------------------------------------------------------------


def _listed(count: int) -> tuple[ImageEntry, ...]:
    return tuple(ImageEntry(n, f"p{n}") for n in range(count))


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (Manifest(num_images=100, mode="combinatorial"), 100),
        (Manifest(num_images=0, images=_listed(3)), 0),
        (
            Manifest(
                mode="combinatorial",
                variations={
                    "A": Variation(used=("a", "b", "c")),
                    "B": Variation(used=("x", "y")),
                    "C": Variation(available=("u", "v")),
                },
                images=_listed(4),
            ),
            6,
        ),
        (
            Manifest(
                mode="random", variations={"A": Variation(used=("a", "b"))}, images=_listed(5)
            ),
            5,
        ),
        (Manifest(mode="combinatorial", variations={"A": Variation()}, images=_listed(2)), 2),
        (Manifest(mode="random"), 0),
        (Manifest(), 0),
        (None, 0),
    ],
    ids=[
        "num_images",
        "num_images_zero",
        "combinatorial_product",
        "random_len_images",
        "combinatorial_nothing_used",
        "random_nothing",
        "empty",
        "no_manifest",
    ],
)
def test_images_expected(manifest: Manifest | None, expected: int) -> None:
    assert images_expected(manifest) == expected


def test_max_images_is_the_planned_count() -> None:
    assert compute_session(listing(), parsed("old_keys")).stats.images_expected == 6


def test_total_combinations_is_never_the_planned_count() -> None:
    for name, planned in [("combinatorial_no_num_images", 12), ("random_no_num_images", 6)]:
        stats = compute_session(listing(), parsed(name)).stats
        assert stats.images_expected == planned, name
    doc = document(num_images=None, total_combinations=4064256)
    doc["images"] = []
    manifest = parse_manifest(json.dumps(doc).encode())
    assert compute_session(listing(), manifest).stats.images_expected == 0


# -- images_actual and completion ---------------------------------------------------------


def test_images_actual_counts_only_images_directly_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "20251014_173320-mixed"
    (folder / "thumbs").mkdir(parents=True)
    (folder / "folder.png").mkdir()
    for name in ["a_0000.png", "a_0001.PNG", "b.jpg", "c.JPEG", "d.jpeg", "e.webp", "f.WebP"]:
        write_png(folder / name)
    for name in ["notes.txt", "a_0000.json", "log.log", "g.gif", "h.png.txt", "manifest.json"]:
        (folder / name).write_text("{}")
    write_png(folder / "thumbs" / "a_0000.png")
    files = list_session(Candidate(folder.name, str(folder)))
    assert files is not None
    assert sorted(files.names) == [
        "a_0000.png",
        "a_0001.PNG",
        "b.jpg",
        "c.JPEG",
        "d.jpeg",
        "e.webp",
        "f.WebP",
    ]
    assert compute_session(files).stats.images_actual == 7


def test_holes_in_the_numbering(tmp_path: Path) -> None:
    doc = document(num_images=8)
    doc["images"] = [
        {"filename": name, "seed": 1000 + i, "prompt": f"p{i}", "negative_prompt": ""}
        for i, name in enumerate(names(8))
    ]
    present = names(7, holes=(3,))
    files = make_session(tmp_path, "s", doc, dict.fromkeys(present, infotext()))
    record = compute_session(files)
    assert (record.stats.images_actual, record.stats.images_expected) == (6, 8)
    assert record.stats.completion_percentage == 75.0
    assert sorted(listed_files(record)["n"]) == present  # the missing file is the mirror's


@pytest.mark.parametrize(
    ("actual", "expected", "percentage"),
    [
        (6, 8, 75.0),
        (1, 3, 33.33),
        (2, 3, 66.67),
        (3, 14, 21.43),
        (8, 8, 100.0),
        (7, 6, 116.67),
        (10, 4, 250.0),
        (0, 12, 0.0),
        (5, 0, 0.0),
        (0, 0, 0.0),
    ],
)
def test_completion_percentage(actual: int, expected: int, percentage: float) -> None:
    assert completion_percentage(actual, expected) == percentage


def test_completion_over_100_in_a_session(tmp_path: Path) -> None:
    files = make_session(tmp_path, "s", document(num_images=4), dict.fromkeys(names(6), infotext()))
    assert compute_session(files).stats.completion_percentage == 150.0


# -- names, dry runs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "created"),
    [
        ("20261124_132939-Quick Test - Portrait System", "2026-11-24T13:29:39"),
        ("20261124_132733-Framing_x_Lighting_(inherits_base)", "2026-11-24T13:27:33"),
        ("20261124_132816-Themed_Character-neon-cartoon", "2026-11-24T13:28:16"),
        ("2025-10-14_173320_facial_expressions.prompt", "2025-10-14T17:33:20"),
    ],
)
def test_folder_names_with_punctuation(tmp_path: Path, folder: str, created: str) -> None:
    files_names = [f"{folder}_{i:04d}_seed-{100 + i}.png" for i in range(3)]
    doc = document(num_images=3)
    doc["images"] = [
        {"filename": n, "seed": 100 + i, "prompt": f"p{i}"} for i, n in enumerate(files_names)
    ]
    files = make_session(tmp_path, folder, doc, dict.fromkeys(files_names, infotext()))
    record = compute_session(files)
    assert record.stats.session_id == folder
    assert record.stats.session_path == str(tmp_path / folder)
    assert record.stats.session_created_at == created
    assert (record.stats.images_actual, record.stats.completion_percentage) == (3, 100.0)
    assert sorted(listed_files(record)["n"]) == files_names


def test_dry_run_payloads_are_not_images(tmp_path: Path) -> None:
    listed = names(4, prefix="Quick_Test___Portrait_System")
    doc = document(num_images=4)
    doc["images"] = [{"filename": n, "seed": 100 + i, "prompt": "p"} for i, n in enumerate(listed)]
    folder = tmp_path / "dryrun" / "20261124_132845-Quick_Test___Portrait_System"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2))
    for name in listed:
        payload = {"prompt": "beautiful woman", "seed": 100, "steps": 25, "sampler_name": "Euler"}
        (folder / name.replace(".png", ".json")).write_text(json.dumps(payload))
    files = list_session(Candidate(folder.name, str(folder), is_dryrun=True))
    assert files is not None
    record = compute_session(files)
    assert record.is_dryrun
    assert (record.stats.images_actual, record.stats.images_expected) == (0, 4)
    assert record.stats.completion_percentage == 0.0
    assert record.stats.first_image_created_at is None
    assert listed_files(record) == EMPTY_LISTING  # the .json payloads are not image files


# -- seed sweeps (docs/data-model.md) -----------------------------------------------------


def _images(*pairs: tuple[str, int | None]) -> tuple[ImageEntry, ...]:
    return tuple(ImageEntry(seed, prompt) for prompt, seed in pairs)


ONE_VARYING = {"HAIR": Variation(used=("a", "b", "c")), "EXPR": Variation(used=("x",))}
TWO_VARYING = {"HAIR": Variation(used=("a", "b")), "EXPR": Variation(used=("x", "y"))}
DISTINCT = _images(("p1", 1), ("p2", 2), ("p3", 3))


@pytest.mark.parametrize(
    ("manifest", "planned", "sweep"),
    [
        # 1. explicit evidence wins over everything else
        (Manifest(seed_list=(1, 2, 3), seed_mode="fixed", images=DISTINCT), 3, True),
        (Manifest(generation_mode="seed-sweep", variations=TWO_VARYING, images=DISTINCT), 3, True),
        (Manifest(generation_mode="normal", seed_mode="fixed"), 3, False),
        # 2. per-image evidence when at least two images are listed
        (Manifest(seed_mode="random", images=_images(("p", 1), ("p", 2))), 2, True),
        (
            Manifest(
                seed_mode="random",
                variations=TWO_VARYING,
                images=_images(("p1", 5), ("p1", 9), ("p2", 5), ("p2", 7)),
            ),
            4,
            True,
        ),
        (Manifest(seed_mode="random", images=_images(("p1", 5), ("p1", 9), ("p2", 5))), 3, False),
        (Manifest(seed_mode="fixed", images=_images(("p1", 777), ("p2", 777))), 2, False),
        (Manifest(seed_mode="fixed", images=_images(("p", 777), ("p", 777))), 2, False),
        # 3. the design rule
        (Manifest(seed_mode="progressive", variations=ONE_VARYING), 15, True),
        (Manifest(seed_mode="progressive"), 8, True),
        (Manifest(seed_mode="progressive", variations=TWO_VARYING), 15, False),
        (Manifest(seed_mode="fixed", variations=ONE_VARYING), 15, False),
        (Manifest(seed_mode="random", variations=ONE_VARYING), 15, False),
        (Manifest(seed_mode="progressive", variations=ONE_VARYING), 1, False),
        (Manifest(seed_mode="progressive", images=_images(("p", 1))), 1, False),
        (Manifest(seed_mode="progressive"), 0, False),
    ],
    ids=[
        "seed_list",
        "generation_mode",
        "other_generation_mode",
        "one_prompt_two_seeds",
        "every_prompt_two_seeds",
        "one_prompt_one_seed",
        "fixed_seed_prompt_sweep",
        "same_seed_twice",
        "design_one_varying",
        "design_no_placeholder",
        "design_two_varying",
        "design_fixed_seed",
        "design_random_seed",
        "design_one_planned",
        "one_image_progressive",
        "design_nothing_planned",
    ],
)
def test_is_seed_sweep(manifest: Manifest, planned: int, sweep: bool) -> None:
    assert is_seed_sweep(manifest, planned) is sweep


@pytest.mark.parametrize(
    ("name", "sweep"),
    [
        ("seed_list_sweep", 1),
        ("generation_mode_seed_sweep", 1),
        ("per_image_sweep", 1),
        ("design_rule_sweep", 1),
        ("one_image_progressive", 0),
        ("current_writer", 0),
        ("huge", 0),
    ],
)
def test_is_seed_sweep_column(name: str, sweep: int) -> None:
    assert compute_session(listing(), parsed(name)).stats.is_seed_sweep == sweep


def test_no_manifest_is_never_a_sweep(tmp_path: Path) -> None:
    images: dict[str, str | None] = {f"x_{i:04d}.png": infotext(seed=i) for i in range(3)}
    assert compute_session(make_session(tmp_path, "s", None, images)).stats.is_seed_sweep == 0


# -- placeholders_json, variations_summary_json ------------------------------------------------


def test_placeholders_and_summary_keep_the_first_ten_used() -> None:
    lighting = [f"light {n}" for n in range(14)]
    doc = document()
    doc["snapshot"]["variations"] = {
        "LIGHTING": {"available": lighting, "used": lighting, "count": 14},
        "HAIR": {"available": ["a", "b"], "used": ["b"], "count": 2},
        "EMPTY": {"available": ["z"], "used": [], "count": 1},
    }
    stats = compute_session(listing(), parse_manifest(json.dumps(doc).encode())).stats
    assert json.loads(stats.placeholders_json) == {"LIGHTING": 14, "HAIR": 1, "EMPTY": 0}
    assert list(json.loads(stats.placeholders_json)) == ["LIGHTING", "HAIR", "EMPTY"]
    assert json.loads(stats.variations_summary_json) == {
        "LIGHTING": lighting[:10],
        "HAIR": ["b"],
        "EMPTY": [],
    }


def test_summary_keeps_non_ascii_values() -> None:
    doc = document()
    doc["snapshot"]["variations"] = {"STYLE": {"used": ["caf\u00e9 \u2615", "\u7f8e"]}}
    stats = compute_session(listing(), parse_manifest(json.dumps(doc).encode())).stats
    assert json.loads(stats.variations_summary_json) == {"STYLE": ["caf\u00e9 \u2615", "\u7f8e"]}


# -- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20251014_173320-facial_expressions", "2025-10-14T17:33:20"),
        ("2025-10-14_173320_facial_expressions.prompt", "2025-10-14T17:33:20"),
        ("20261124_132939-Quick Test - Portrait System", "2026-11-24T13:29:39"),
        ("20251014_173320", "2025-10-14T17:33:20"),
        ("20251399_173320-bad_month", None),
        ("20251014_256199-bad_time", None),
        ("portraits", None),
        ("my 20251014_173320 session", None),
        ("", None),
    ],
)
def test_time_from_folder_name(name: str, expected: str | None) -> None:
    assert time_from_folder_name(name) == expected


@pytest.mark.parametrize(
    ("session_id", "timestamp", "created"),
    [
        ("20251014_173320-x", "2026-11-24T13:24:19.244018", "2025-10-14T17:33:20"),
        ("2025-10-14_173320_x.prompt", "2026-11-24T13:24:19.244018", "2025-10-14T17:33:20"),
        ("portraits", "2026-11-24T13:24:19.244018", "2026-11-24T13:24:19.244018"),
        ("portraits", None, None),
        ("portraits", "yesterday", None),
    ],
)
def test_session_created_at(session_id: str, timestamp: str | None, created: str | None) -> None:
    doc = document()
    doc["snapshot"]["timestamp"] = timestamp
    record = compute_session(
        listing(session_id=session_id), parse_manifest(json.dumps(doc).encode())
    )
    assert record.stats.session_created_at == created
    assert record.stats.manifest_generated_at == (None if timestamp == "yesterday" else timestamp)


def test_session_created_at_without_manifest() -> None:
    files = SessionFiles("portraits", "/nonexistent", [], [], [], False, signature="s")
    assert compute_session(files).stats.session_created_at is None
    files = SessionFiles("20251014_173320-x", "/nonexistent", [], [], [], False, signature="s")
    assert compute_session(files).stats.session_created_at == "2025-10-14T17:33:20"


def test_iso_timestamp() -> None:
    assert iso_timestamp("2025-10-13T14:23:45.678901") == "2025-10-13T14:23:45.678901"
    assert iso_timestamp(" 2025-10-13T14:23:45 ") == "2025-10-13T14:23:45"
    aware = iso_timestamp("2025-10-13T14:23:45+00:00")
    assert (
        aware
        == datetime.fromisoformat("2025-10-13T14:23:45+00:00")
        .astimezone()
        .replace(tzinfo=None)
        .isoformat()
    )
    assert iso_timestamp("not a date") is None
    assert iso_timestamp("") is None
    assert iso_timestamp(None) is None


def test_first_and_last_image_times_are_file_mtimes(tmp_path: Path) -> None:
    files_names = names(3)
    folder = make_session(tmp_path, "s", None, dict.fromkeys(files_names, infotext()))
    times = [1_700_000_000.0, 1_700_000_500.7, 1_699_999_000.2]
    for name, moment in zip(files_names, times, strict=True):
        os.utime(Path(folder.path) / name, (moment, moment))
    files = list_session(Candidate("s", folder.path))
    assert files is not None
    stats = compute_session(files).stats
    assert stats.first_image_created_at == iso_local(1_699_999_000.2)
    assert stats.last_image_created_at == iso_local(1_700_000_500.7)
    found = listed_files(compute_session(files))
    assert dict(zip(found["n"], found["t"], strict=True)) == dict(
        zip(files_names, map(int, times), strict=True)
    )


def test_no_images_no_image_times() -> None:
    stats = compute_session(listing(), parsed("current_writer")).stats
    assert (stats.first_image_created_at, stats.last_image_created_at) == (None, None)


# -- the image files a record keeps -------------------------------------------------------
# What the manifest says of each image is unpacked by the mirror from the
# manifest itself (tests/test_mirror_details.py); a record keeps only the files.


def test_record_keeps_the_listing_in_folder_order() -> None:
    files = listing(("b_0001.png", "a_0000.png", "c.webp"), mtime=1_700_000_000.5)
    expected = {
        "n": ["b_0001.png", "a_0000.png", "c.webp"],
        "t": [1_700_000_000, 1_700_000_001, 1_700_000_002],
        "s": [1000, 1001, 1002],
    }
    assert json.loads(files.listing()) == expected
    record = compute_session(files, parsed("current_writer"))
    assert record.files == files.listing()
    assert listed_files(record) == expected
    assert (record.signature, record.is_dryrun) == ("sig", False)


def test_listing_keeps_exact_sizes_times_and_any_text() -> None:
    names_ = ("caf\u00e9 \u2615.png", 'quote " and \\ backslash.png', "\u7f8e.jpg")
    files = SessionFiles(
        "s", "/nonexistent", list(names_), [0, -2, 4_000_000_000], [0, 2**40, 7], True, "sig"
    )
    assert json.loads(files.listing()) == {
        "n": list(names_),
        "t": [0, -2, 4_000_000_000],
        "s": [0, 2**40, 7],
    }


def test_first_image_by_name_gives_the_infotext_not_the_first_listed(tmp_path: Path) -> None:
    """The infotext is read from ``min(names)``, whatever order the folder lists them in."""
    folder = tmp_path / "s"
    folder.mkdir()
    write_png(folder / "b.png", infotext(seed=2, steps=40))
    write_png(folder / "a.png", infotext(seed=1, steps=25))
    for order in (["a.png", "b.png"], ["b.png", "a.png"]):
        files = SessionFiles("s", str(folder), order, [1, 2], [1, 1], False, "sig")
        stats = compute_session(files).stats
        assert (stats.steps, stats.seed_base) == (25, 1), order


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("a.png", True),
        ("A.PNG", True),
        ("b.jpg", True),
        ("c.JPEG", True),
        ("d.jpeg", True),
        ("e.webp", True),
        ("f.WebP", True),
        ("x.png.txt", False),
        ("g.gif", False),
        ("manifest.json", False),
        ("png", False),
        ("._a.png", False),  # macOS resource fork next to a.png
        (".b.png", False),
        (".png", False),
        ("a.png.", False),
    ],
)
def test_is_image_name(name: str, image: bool) -> None:
    assert is_image_name(name) is image


def test_image_suffixes_are_lower_case_with_a_dot() -> None:
    assert isinstance(IMAGE_SUFFIXES, tuple)
    assert set(IMAGE_SUFFIXES) == {".png", ".jpg", ".jpeg", ".webp"}


# -- values no store can hold -------------------------------------------------------------------


def test_integer_columns_fit_sqlite_integer() -> None:
    """A 64-bit unsigned seed (ComfyUI writes up to 2**64 - 1) must not reach the store.

    ``session_stats`` columns are SQLite INTEGER (signed 64-bit): a larger
    Python int makes the store's write raise ``OverflowError`` and aborts the
    whole scan. Such a value is not a usable number: NULL is expected.
    """
    doc = document(base_seed=2**64 - 1, num_images=10**20)
    doc["images"][0]["seed"] = 2**64 - 1
    manifest = parse_manifest(json.dumps(doc).encode())
    assert isinstance(manifest, Manifest)
    assert manifest.images[0].seed is None  # and the mirror's seed is NULL too
    record = compute_session(listing(), manifest)
    integers = [value for value in record.stats_row() if isinstance(value, int)]
    # no usable num_images: the listed images are the plan
    assert (record.stats.seed_base, record.stats.images_expected) == (None, len(doc["images"]))
    assert [value for value in integers if value not in SQLITE_INTEGER] == []


def test_lone_surrogate_in_a_manifest_does_not_break_stats() -> None:
    r"""Python's ``json`` writes a lone surrogate as ``\udXXX``; text columns must stay UTF-8."""
    data = (
        b'{"snapshot": {"resolved_template": {"prompt": "smile \\ud83d"},'
        b' "variations": {"EXPR": {"used": ["smile \\ud83d"]}}},'
        b' "images": [{"filename": "a.png", "seed": 1, "applied_variations": {"EXPR": "\\udfff"}}]}'
    )
    manifest = parse_manifest(data)
    assert isinstance(manifest, Manifest)
    record = compute_session(listing(("a.png",)), manifest)
    texts = [value for value in record.stats_row() if isinstance(value, str)]
    texts.append(record.files)
    for text in texts:
        text.encode("utf-8")
    assert manifest.prompt == "smile \ufffd"


def test_timestamp_at_the_edge_of_the_calendar_does_not_raise() -> None:
    """A tz-aware ``snapshot.timestamp`` whose local time leaves years 1..9999."""
    for timestamp in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        doc = document()
        doc["snapshot"]["timestamp"] = timestamp
        stats = compute_session(listing(), parse_manifest(json.dumps(doc).encode())).stats
        assert stats.session_created_at == stats.manifest_generated_at
