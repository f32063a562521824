"""The demo root generator: deterministic, reusable, and holding every case docs/cli.md lists.

The checks read the files the way an independent reader would (json, PNG
chunks), not through sessionkit's own parsers, so they also vouch for the
fixtures other tests build on.
"""

from __future__ import annotations

import datetime
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from sessionkit.demo import (
    DEMO_MODELS,
    MARKER_NAME,
    DemoSummary,
    demo_metadata,
    write_demo_root,
)
from sessionkit.store import validate_metadata

ANCHOR = datetime.date(2026, 11, 24)
NEW_STYLE = re.compile(r"^(\d{8}_\d{6})-.+$")
OLD_STYLE = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{6})_.+\.prompt$")
INFOTEXT = re.compile(
    r"^(?P<prompt>[^\n]+)\n"
    r"(?:Negative prompt: (?P<negative>[^\n]+)\n)?"
    r"Steps: \d+, Sampler: [^,\n]+, (?:Schedule type: \w+, )?CFG scale: [\d.]+, "
    r"Seed: (?P<seed>\d+), Size: \d+x\d+, Model hash: [0-9a-f]{10}, "
    r"Model: (?P<model>[^,\n]+), Version: v1\.10\.1$"
)
MARKER = re.compile(r"\{(\w+)(?:\[[^\]]*\])?\}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The default demo root (24 sessions), written once for the read-only tests."""
    return write_demo_root(tmp_path_factory.mktemp("demo") / "root", anchor=ANCHOR)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its bytes and mtime, and every folder with its mtime."""
    found: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        found[path.relative_to(root).as_posix()] = (data, path.stat().st_mtime_ns)
    return found


def sessions(root: Path) -> list[Path]:
    """Session folders: not hidden, not the dry-run folder."""
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != "dryrun"
    )


def images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".png")


def manifests(root: Path) -> dict[str, dict[str, Any]]:
    """Readable manifests by session folder name."""
    found: dict[str, dict[str, Any]] = {}
    for folder in sessions(root):
        try:
            found[folder.name] = json.loads((folder / "manifest.json").read_bytes())
        except (OSError, ValueError):
            continue
    return found


def snapshots(root: Path) -> dict[str, dict[str, Any]]:
    """Non-empty snapshots by session folder name."""
    return {name: m["snapshot"] for name, m in manifests(root).items() if m["snapshot"]}


def one(root: Path, suffix: str) -> Path:
    """The single session folder whose name ends with ``suffix``."""
    [found] = [p for p in sessions(root) if p.name.endswith(suffix)]
    return found


def chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data), checking the signature and every CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), path
        found.append((kind, body))
        offset += 12 + length
    return found


def infotext(path: Path) -> str:
    """The PNG's ``parameters`` text."""
    [text] = [body for kind, body in chunks(path) if kind == b"tEXt"]
    keyword, _, value = text.partition(b"\x00")
    assert keyword == b"parameters"
    return value.decode("latin-1")


def fill(template: str, applied: dict[str, str]) -> str:
    """The prompt a template gives once each placeholder marker gets its applied value."""
    return MARKER.sub(lambda m: applied[m.group(1)], template).strip()


def start_of(name: str) -> datetime.datetime:
    """The start time a session folder name carries."""
    new, old = NEW_STYLE.match(name), OLD_STYLE.match(name)
    if new:
        return datetime.datetime.strptime(new.group(1), "%Y%m%d_%H%M%S")
    assert old, name
    return datetime.datetime.strptime(old.group(1), "%Y-%m-%d_%H%M%S")


def test_same_arguments_write_identical_trees(tmp_path: Path) -> None:
    first = write_demo_root(tmp_path / "a", anchor=ANCHOR)
    second = write_demo_root(tmp_path / "b", anchor=ANCHOR)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert (first.sessions, first.images, first.broken_manifests, first.dry_runs) == (
        second.sessions,
        second.images,
        second.broken_manifests,
        second.dry_runs,
    )


def test_another_seed_writes_another_tree(tmp_path: Path) -> None:
    write_demo_root(tmp_path / "a", anchor=ANCHOR)
    write_demo_root(tmp_path / "b", anchor=ANCHOR, seed=7)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert set(a) != set(b)
    assert len(sessions(tmp_path / "b")) == 24


def test_same_arguments_reuse_the_root_without_rewriting(tmp_path: Path) -> None:
    first = write_demo_root(tmp_path / "root", 12, 5, anchor=ANCHOR)
    changed = {p: p.stat().st_ctime_ns for p in (tmp_path / "root").rglob("*")}
    again = write_demo_root(tmp_path / "root", 12, 5, anchor=ANCHOR)
    assert again == first
    assert {p: p.stat().st_ctime_ns for p in (tmp_path / "root").rglob("*")} == changed


def test_an_interrupted_root_is_written_again(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = write_demo_root(root, 12, 5, anchor=ANCHOR)
    marker = json.loads((root / MARKER_NAME).read_text())
    (root / MARKER_NAME).write_text(json.dumps({**marker, "summary": None}))
    victim = next(folder for folder in sessions(root) if images(folder))
    for path in images(victim):
        path.unlink()
    assert write_demo_root(root, 12, 5, anchor=ANCHOR) == first
    assert images(victim)


def test_other_arguments_are_refused(tmp_path: Path) -> None:
    write_demo_root(tmp_path / "root", 12, anchor=ANCHOR)
    with pytest.raises(FileExistsError, match="other arguments"):
        write_demo_root(tmp_path / "root", 13, anchor=ANCHOR)


def test_a_folder_with_other_content_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("not a demo")
    with pytest.raises(FileExistsError, match="not empty"):
        write_demo_root(tmp_path, anchor=ANCHOR)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_a_missing_root_is_created_and_an_empty_one_used(tmp_path: Path) -> None:
    assert write_demo_root(tmp_path / "new" / "root", 12, 2, anchor=ANCHOR).sessions == 12
    (tmp_path / "empty").mkdir()
    assert write_demo_root(tmp_path / "empty", 12, 2, anchor=ANCHOR).sessions == 12


@pytest.mark.parametrize("count", [0, -1, 10_001])
def test_session_counts_out_of_range_are_refused(tmp_path: Path, count: int) -> None:
    with pytest.raises(ValueError, match="sessions must be between 1 and 10,000"):
        write_demo_root(tmp_path / "root", count)
    assert not (tmp_path / "root").exists()


def test_zero_images_per_session_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="images_per_session"):
        write_demo_root(tmp_path / "root", 12, 0)


def test_a_few_sessions_skip_the_special_cases(tmp_path: Path) -> None:
    summary = write_demo_root(tmp_path, 3, anchor=ANCHOR)
    assert (summary.sessions, summary.broken_manifests, summary.dry_runs) == (3, (), ())
    assert len(manifests(tmp_path)) == 3


def test_summary_counts_what_is_on_disk(demo: DemoSummary) -> None:
    folders = sessions(demo.root)
    assert demo.sessions == len(folders) == 24
    assert demo.images == sum(len(images(folder)) for folder in folders)
    assert list(demo.root.glob("*/thumbs/*.png")), "a thumbs/ sub-folder holds a png"
    assert list(demo.root.glob("*/*.txt")), "a session holds a .txt"


def test_folder_names_come_in_every_style(demo: DemoSummary) -> None:
    names = [folder.name for folder in sessions(demo.root)]
    assert all(NEW_STYLE.match(n) or OLD_STYLE.match(n) for n in names)
    assert sum(bool(OLD_STYLE.match(n)) for n in names) == 1
    assert any("(" in n and ")" in n for n in names)
    assert any(n.endswith("-neon-cartoon") for n in names)
    [spaced] = [folder for folder in sessions(demo.root) if " " in folder.name]
    assert all(p.name.startswith(f"{spaced.name}_") for p in images(spaced))


def test_models_modes_and_seed_modes_all_appear(demo: DemoSummary) -> None:
    shots = snapshots(demo.root).values()
    models = {s["runtime_info"]["sd_model_checkpoint"] for s in shots} - {"unknown"}
    assert len(models) >= 4 and models <= set(DEMO_MODELS)
    assert all(re.fullmatch(r".+\.safetensors \[[0-9a-f]{10}\]", m) for m in models)
    assert any("illustrious" in m for m in models)
    params = [s["generation_params"] for s in shots]
    assert {p["mode"] for p in params} == {"combinatorial", "random"}
    assert {p["seed_mode"] for p in params} == {"fixed", "progressive", "random"}
    random_bases = [p["base_seed"] for p in params if p["seed_mode"] == "random"]
    assert -1 in random_bases and None in random_bases


def test_placeholders_match_templates_and_images(demo: DemoSummary) -> None:
    checked = 0
    for name, manifest in manifests(demo.root).items():
        snapshot = manifest["snapshot"]
        if not snapshot:
            continue
        variations = snapshot["variations"]
        assert 1 <= len(variations) <= 4, name
        for variation in variations.values():
            assert set(variation["used"]) <= set(variation["available"])
            assert variation.get("count", len(variation["available"])) == len(
                variation["available"]
            )
        template = snapshot["resolved_template"]
        assert {m.group(1) for m in MARKER.finditer(template["prompt"])} == set(variations)
        for image in manifest["images"]:
            applied = image["applied_variations"]
            assert all(applied[k] in variations[k]["used"] for k in variations)
            assert image["prompt"] == fill(template["prompt"], applied)
            assert image["negative_prompt"] == template["negative"].strip()
            checked += 1
    assert checked > 100
    prompts = [i["prompt"] for m in manifests(demo.root).values() for i in m["images"]]
    assert any("\n" in p for p in prompts)


def test_seed_sweeps_of_every_kind_are_present(demo: DemoSummary) -> None:
    listed = manifests(demo.root)
    explicit = [
        m for m in listed.values() if m["snapshot"].get("generation_params", {}).get("seed_list")
    ]
    assert explicit
    for manifest in explicit:
        seeds = manifest["snapshot"]["generation_params"]["seed_list"]
        assert {image["seed"] for image in manifest["images"]} == set(seeds)

    def every_prompt_has_two_seeds(manifest: dict[str, Any]) -> bool:
        seeds: dict[str, set[int]] = {}
        for image in manifest["images"]:
            seeds.setdefault(image["prompt"], set()).add(image["seed"])
        return len(manifest["images"]) >= 2 and all(len(s) >= 2 for s in seeds.values())

    implicit = [
        m
        for m in listed.values()
        if m["snapshot"] and "seed_list" not in m["snapshot"]["generation_params"]
    ]
    assert any(
        every_prompt_has_two_seeds(m) and len(m["snapshot"]["variations"]) > 1 for m in implicit
    )
    design_rule = [
        m
        for m in implicit
        if m["snapshot"]["generation_params"]["seed_mode"] == "progressive"
        and len(m["images"]) < 2 <= m["snapshot"]["generation_params"]["num_images"]
        and sum(len(v["used"]) > 1 for v in m["snapshot"]["variations"].values()) <= 1
    ]
    assert design_rule


def test_complete_killed_aborted_and_holed_sessions(demo: DemoSummary) -> None:
    listed = manifests(demo.root)
    statuses = {m.get("status") for m in listed.values()}
    assert {"completed", "ongoing", "aborted", None} <= statuses
    killed = [
        name
        for name, m in listed.items()
        if m.get("status") == "ongoing"
        and len(images(demo.root / name)) < m["snapshot"]["generation_params"]["num_images"]
    ]
    assert killed
    [aborted] = [m for m in listed.values() if m.get("status") == "aborted" and not m["images"]]
    assert aborted["snapshot"]["runtime_info"]["sd_model_checkpoint"] == "unknown"
    holed = one(demo.root, "-Sophia___Expression_Study")
    manifest = listed[holed.name]
    planned = manifest["snapshot"]["generation_params"]["num_images"]
    indexes = [int(p.name.partition("_seed-")[0][-4:]) for p in images(holed)]
    assert manifest["status"] == "completed"
    assert indexes == [i for i in range(planned) if i % 4 != 3]
    assert [e["filename"] for e in manifest["images"]] == [p.name for p in images(holed)]


def test_older_key_variants_are_present(demo: DemoSummary) -> None:
    listed = manifests(demo.root)
    [old] = [
        m for m in listed.values() if "seed_base" in m["snapshot"].get("generation_params", {})
    ]
    assert "max_images" in old["snapshot"]["generation_params"]
    assert "base_seed" not in old["snapshot"]["generation_params"]
    assert "status" not in old
    api = [m["snapshot"]["api_params"] for m in listed.values() if m["snapshot"]]
    assert any("sampler_name" in a for a in api)
    assert any(a == {} for a in api)
    assert any("sampler" in a for a in api)
    assert any(m["snapshot"] == {} and m["images"] for m in listed.values())


def test_a_session_without_manifest_has_infotext_images(demo: DemoSummary) -> None:
    [name] = demo.without_manifest
    folder = demo.root / name
    assert not (folder / "manifest.json").exists()
    assert images(folder)
    for path in images(folder):
        match = INFOTEXT.match(infotext(path))
        assert match and match.group("model") in {m.partition(".")[0] for m in DEMO_MODELS}
        assert path.name.endswith(f"_seed-{match.group('seed')}.png")


def test_broken_manifests_fail_to_parse(demo: DemoSummary) -> None:
    assert len(demo.broken_manifests) == 3
    contents = [(demo.root / name / "manifest.json").read_bytes() for name in demo.broken_manifests]
    for data in contents:
        with pytest.raises(ValueError):
            json.loads(data)
    assert any(data and not data.strip(b"\x00") for data in contents), "one is not JSON at all"
    legacy = [data for data in contents if data.startswith(b"{")]
    decoded = [json.loads(data.decode("cp1252")) for data in legacy if data.rstrip().endswith(b"}")]
    assert any("caf\u00e9" in image["prompt"] for m in decoded for image in m["images"])
    assert any(not data.rstrip().endswith(b"}") for data in legacy), "one is cut mid-file"


def test_hostile_text_is_in_prompts_and_infotext(demo: DemoSummary) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    [name] = [
        n for n, s in snapshots(demo.root).items() if hostile in s["resolved_template"]["prompt"]
    ]
    manifest = manifests(demo.root)[name]
    prompt = manifest["images"][0]["prompt"]
    assert all(c in prompt for c in "\"'%_<>")
    folder = one(demo.root, "-Escaping_Test_100%_off")
    assert hostile in infotext(images(folder)[0])


def test_the_dry_run_holds_payloads_and_no_images(demo: DemoSummary) -> None:
    [name] = demo.dry_runs
    folder = demo.root / "dryrun" / name
    manifest = json.loads((folder / "manifest.json").read_bytes())
    payloads = sorted(folder.glob("*.json"))[:-1]
    assert not list(folder.glob("*.png"))
    assert [p.with_suffix(".png").name for p in payloads] == [
        e["filename"] for e in manifest["images"]
    ]
    for path, entry in zip(payloads, manifest["images"], strict=True):
        payload = json.loads(path.read_bytes())
        assert re.fullmatch(r".+_\d{4}_seed-\d+\.json", path.name)
        assert payload["seed"] == entry["seed"] and "\n" not in payload["prompt"]
        assert {"steps", "cfg_scale", "width", "height", "sampler_name"} <= set(payload)


def test_images_are_valid_pngs_with_matching_infotext(demo: DemoSummary) -> None:
    listed = manifests(demo.root)
    for folder in sessions(demo.root):
        entries = {e["filename"]: e for e in listed.get(folder.name, {}).get("images", [])}
        for path in images(folder):
            kinds = chunks(path)
            assert [kind for kind, _ in kinds] == [b"IHDR", b"tEXt", b"IDAT", b"IEND"]
            width, height = struct.unpack(">II", kinds[0][1][:8])
            assert max(width, height) == 72
            assert len(zlib.decompress(kinds[2][1])) == (width * 3 + 1) * height
            match = INFOTEXT.match(infotext(path))
            assert match, path
            if path.name in entries:
                entry = entries[path.name]
                assert int(match.group("seed")) == entry["seed"]
                assert match.group("prompt") == ", ".join(
                    line.strip().rstrip(",") for line in entry["prompt"].splitlines()
                )


def test_file_times_follow_the_session_start(demo: DemoSummary) -> None:
    starts = []
    for folder in sessions(demo.root):
        start = start_of(folder.name).timestamp()
        starts.append(start)
        times = [p.stat().st_mtime for p in images(folder)]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert all(start < t < start + 3600 for t in times)
        manifest = folder / "manifest.json"
        if times and manifest.exists():
            assert manifest.stat().st_mtime == max(times)
    newest, oldest = max(starts), min(starts)
    assert datetime.datetime.fromtimestamp(newest).date() == ANCHOR
    assert datetime.datetime.fromtimestamp(oldest).date() >= ANCHOR - datetime.timedelta(days=119)


def test_scale_counts_match_the_summary(tmp_path: Path) -> None:
    summary = write_demo_root(tmp_path, 200, 10, anchor=ANCHOR)
    folders = sessions(tmp_path)
    assert summary.sessions == len(folders) == 200
    assert summary.images == sum(len(images(f)) for f in folders)
    listed = manifests(tmp_path)
    ordinary = [
        n for n, s in snapshots(tmp_path).items() if s["generation_params"].get("num_images") == 10
    ]
    complete = [n for n in ordinary if listed[n]["status"] == "completed"]
    assert len(ordinary) > 170 and len(complete) > 150
    assert all(len(images(tmp_path / n)) == len(listed[n]["images"]) == 10 for n in complete)


def test_tiny_images_change_only_the_pixels(tmp_path: Path) -> None:
    write_demo_root(tmp_path / "full", 12, 3, anchor=ANCHOR)
    write_demo_root(tmp_path / "tiny", 12, 3, anchor=ANCHOR, tiny_images=True)
    full, tiny = tree(tmp_path / "full"), tree(tmp_path / "tiny")
    assert set(full) == set(tiny)
    for relative, (data, mtime) in full.items():
        if relative.endswith(".png") and "/thumbs/" not in relative:
            assert infotext(tmp_path / "tiny" / relative) == infotext(tmp_path / "full" / relative)
            assert chunks(tmp_path / "tiny" / relative)[0][1][:8] == struct.pack(">II", 1, 1)
            assert tiny[relative][1] == mtime
        elif relative != MARKER_NAME:
            assert tiny[relative] == (data, mtime), relative


def test_demo_metadata_is_deterministic_and_valid() -> None:
    ids = [f"20261124_1200{n:02d}-Session" for n in range(40)]
    marks = demo_metadata(ids)
    assert marks == demo_metadata(list(reversed(ids)))
    assert marks != demo_metadata(ids, seed=7)
    assert set(marks) == set(ids)
    for fields in marks.values():
        validate_metadata(fields)
    assert 0 < sum(bool(fields["is_favorite"]) for fields in marks.values()) < len(ids)
    assert any(fields.get("tags") for fields in marks.values())
