"""The mirror's ``images`` and ``variations`` relations (docs/data-model.md).

Each test writes session folders under ``tmp_path``, indexes them with a
:class:`~sessionkit.SessionKit` and reads the relations with SQL, the way a
user does. The rows come from two sources, combined when a session is
indexed (:mod:`sessionkit.details`) and kept in Parquet parts: its
``manifest.json`` (what it says of each image) and the image files the scan
found. The rules:

* one ``images`` row per file name listed in the manifest (the first entry of
  a name wins; empty or null names are skipped) or found on disk;
* a manifest entry gives seed, prompts and applied variations; a file the
  manifest does not list gets the seed written in its name;
* when the session had no usable manifest at the last scan, the first image
  by name gets the prompts and seed its infotext gave the stats;
* ``on_disk``, ``file_mtime`` (local time) and ``file_size`` come from the
  listing;
* one ``variations`` row per (placeholder, value) listed as used or available,
  or applied by an image (counted as used), with how many entries applied it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from builders import png_bytes
from edge_cases import EDGE_CASES, HAIR, MODEL
from sessionkit import SessionKit
from sessionkit.details import IMAGE_COLUMNS, VARIATION_COLUMNS

INFOTEXT = (
    "{prompt}\nNegative prompt: {negative}\n"
    "Steps: 25, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 512x768, "
    "Model hash: 15012c538f, Model: realisticVisionV60B1_v51VAE, Version: v1.10.1"
)

Files = Mapping[str, str | None] | Sequence[str]


def infotext(
    seed: int, prompt: str = "infotext prompt", negative: str = "infotext negative"
) -> str:
    return INFOTEXT.format(seed=seed, prompt=prompt, negative=negative)


def write_folder(
    root: Path, folder: str, document: dict[str, Any] | bytes | None, files: Files = ()
) -> Path:
    """A session folder: its manifest (a document, raw bytes or none) and PNG files.

    ``files`` maps each file name to the infotext it carries (``None``: none),
    or is a plain list of names (PNGs without infotext).
    """
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    if isinstance(document, dict):
        (path / "manifest.json").write_text(json.dumps(document, indent=1))
    elif document is not None:
        (path / "manifest.json").write_bytes(document)
    texts = files if isinstance(files, Mapping) else dict.fromkeys(files)
    for name, text in texts.items():
        (path / name).write_bytes(png_bytes(text))
    return path


def entry(filename: str | None, seed: Any = None, **fields: Any) -> dict[str, Any]:
    """One element of a manifest's ``images`` list."""
    return {"filename": filename, "seed": seed, **fields}


def iso_local(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).isoformat(timespec="seconds")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def open_kit(tmp_path: Path, root: Path) -> Iterator[Callable[..., SessionKit]]:
    """Index ``root`` into a fresh ``sessions.db`` and hand over the kit."""
    kits: list[SessionKit] = []

    def open_(*, dry_runs: bool = False) -> SessionKit:
        kit = SessionKit(root, tmp_path / "sessions.db", progress=False)
        kits.append(kit)
        report = kit.index(dry_runs=dry_runs)
        assert report.computed >= 1
        return kit

    yield open_
    for kit in kits:
        kit.close()


def plain(value: Any) -> Any:
    """A DataFrame cell as a plain Python value (NULL as ``None``)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def records(kit: SessionKit, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a query through ``kit.sql``, as dicts of plain values."""
    frame = kit.sql(sql, list(params))
    return [
        {str(key): plain(value) for key, value in row.items()} for row in frame.to_dict("records")
    ]


def images(kit: SessionKit, session_id: str) -> dict[str, dict[str, Any]]:
    """One session's ``images`` rows by file name; names must be unique."""
    rows = records(
        kit, f"SELECT {', '.join(IMAGE_COLUMNS)} FROM images WHERE session_id = ?", [session_id]
    )
    by_name = {row["filename"]: row for row in rows}
    assert len(by_name) == len(rows), "a file name has two rows"
    return by_name


def variations(kit: SessionKit, session_id: str) -> dict[tuple[str, str], tuple[bool, int]]:
    """One session's ``variations`` rows: ``(placeholder, value) -> (used, images)``."""
    rows = records(kit, "SELECT * FROM variations WHERE session_id = ?", [session_id])
    found = {(row["placeholder"], row["value"]): (row["used"], row["images"]) for row in rows}
    assert len(found) == len(rows), "a (placeholder, value) has two rows"
    return found


def seeds(kit: SessionKit, session_id: str) -> dict[str, int | None]:
    return {name: row["seed"] for name, row in images(kit, session_id).items()}


def file_stat(folder: Path, name: str) -> tuple[str, int]:
    info = (folder / name).stat()
    return iso_local(info.st_mtime), info.st_size


# -- the relations' shape ---------------------------------------------------------------------


def test_relations_have_the_data_model_columns(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    write_folder(root, "s", {"images": [entry("a.png", 1)]}, ["a.png"])
    kit = open_kit()
    assert IMAGE_COLUMNS == (
        "session_id",
        "filename",
        "seed",
        "prompt",
        "negative_prompt",
        "applied_variations",
        "on_disk",
        "file_mtime",
        "file_size",
    )
    assert VARIATION_COLUMNS == ("session_id", "placeholder", "value", "used", "images")
    marks = ("rating", "stars", "image_tags", "image_note")
    assert tuple(kit.sql("SELECT * FROM images").columns) == (*IMAGE_COLUMNS, *marks)
    assert tuple(kit.sql("SELECT * FROM variations").columns) == VARIATION_COLUMNS
    types = dict(
        kit.duckdb.execute(
            "SELECT column_name, data_type FROM "
            "information_schema.columns WHERE table_name = 'images'"
        ).fetchall()
    )
    assert (types["seed"], types["on_disk"], types["file_size"]) == ("BIGINT", "BOOLEAN", "BIGINT")


# -- images: manifest and disk ----------------------------------------------------------------


def test_manifest_entries_and_disk_files_merge(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    listed = [f"Portrait_{i:04d}_seed-{1000 + i}.png" for i in range(4)]
    document = {
        "snapshot": {"resolved_template": {"prompt": "template prompt"}},
        "images": [
            entry(
                name,
                1000 + i,
                prompt=f"prompt {i}",
                negative_prompt="low quality",
                applied_variations={"HAIR": "bob"} if i else {},
            )
            for i, name in enumerate(listed)
        ],
    }
    on_disk = [listed[0], listed[1], listed[3], "Portrait_0009_seed-777.png", "upscaled (1).png"]
    folder = write_folder(root, "s", document, dict.fromkeys(on_disk, infotext(5)))
    os.utime(folder / listed[0], (1_700_000_000.7, 1_700_000_000.7))
    kit = open_kit()

    rows = images(kit, "s")
    assert set(rows) == {*listed, "Portrait_0009_seed-777.png", "upscaled (1).png"}
    assert all(row["session_id"] == "s" for row in rows.values())
    first = rows[listed[0]]
    assert first == {
        "session_id": "s",
        "filename": listed[0],
        "seed": 1000,
        "prompt": "prompt 0",
        "negative_prompt": "low quality",
        "applied_variations": None,  # {} is no variation
        "on_disk": True,
        "file_mtime": iso_local(1_700_000_000.7),
        "file_size": (folder / listed[0]).stat().st_size,
    }
    assert first["file_mtime"] == datetime.fromtimestamp(1_700_000_000).isoformat()
    assert json.loads(rows[listed[1]]["applied_variations"]) == {"HAIR": "bob"}
    assert (rows[listed[1]]["file_mtime"], rows[listed[1]]["file_size"]) == file_stat(
        folder, listed[1]
    )
    missing = rows[listed[2]]  # listed, but its file is gone
    assert (missing["seed"], missing["prompt"]) == (1002, "prompt 2")
    assert (missing["on_disk"], missing["file_mtime"], missing["file_size"]) == (False, None, None)
    # files the manifest does not list: the seed from the name, no prompt (the
    # session has a usable manifest, so no infotext is read into image rows)
    unlisted = rows["Portrait_0009_seed-777.png"]
    assert (unlisted["seed"], unlisted["prompt"], unlisted["negative_prompt"]) == (777, None, None)
    assert (unlisted["applied_variations"], unlisted["on_disk"]) == (None, True)
    assert rows["upscaled (1).png"]["seed"] is None
    assert records(kit, "SELECT on_disk, count(*) AS n FROM images GROUP BY ALL ORDER BY 1") == [
        {"on_disk": False, "n": 1},
        {"on_disk": True, "n": 5},
    ]


def test_holes_in_the_numbering(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    listed = [f"Portrait_{i:04d}_seed-{1000 + i}.png" for i in range(8)]
    present = [name for i, name in enumerate(listed) if i not in (3, 7)]
    document = {"images": [entry(name, 1000 + i) for i, name in enumerate(listed)]}
    write_folder(root, "s", document, present)
    kit = open_kit()
    rows = images(kit, "s")
    assert {name: row["on_disk"] for name, row in rows.items()} == {
        name: name in present for name in listed
    }
    stats = kit.stats("s")
    assert (stats["images_actual"], stats["images_expected"]) == (6, 8)


def test_the_first_entry_of_a_file_name_wins(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    document = {
        "images": [
            entry("a.png", 1, prompt="first", applied_variations={"HAIR": "bob"}),
            entry("b.png", 2, prompt="b"),
            entry("a.png", 9, prompt="second", negative_prompt="n", applied_variations={}),
            entry("", 3, prompt="no name"),
            entry(None, 4, prompt="null name"),
            {"seed": 5, "prompt": "no filename key"},
        ]
    }
    write_folder(root, "s", document, ["a.png"])
    kit = open_kit()
    rows = images(kit, "s")
    assert set(rows) == {"a.png", "b.png"}
    a = rows["a.png"]
    assert (a["seed"], a["prompt"], a["negative_prompt"]) == (1, "first", None)
    assert json.loads(a["applied_variations"]) == {"HAIR": "bob"}
    assert (rows["a.png"]["on_disk"], rows["b.png"]["on_disk"]) == (True, False)


def test_applied_variations_are_json_text_or_null(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    applied = {"EXPRESSIONS": "smiling", "HAIR": 'caf\u00e9 \u2615 "quoted"'}
    document = {
        "images": [
            entry("object.png", 1, applied_variations=applied),
            entry("empty.png", 2, applied_variations={}),
            entry("null.png", 3, applied_variations=None),
            entry("absent.png", 4),
            entry("list.png", 5, applied_variations=["smiling"]),
            entry("text.png", 6, applied_variations="smiling"),
        ]
    }
    write_folder(root, "s", document)
    kit = open_kit()
    rows = images(kit, "s")
    text = rows["object.png"]["applied_variations"]
    assert isinstance(text, str) and json.loads(text) == applied
    for name in ("empty.png", "null.png", "absent.png", "list.png", "text.png"):
        assert rows[name]["applied_variations"] is None, name


def test_prompts_are_kept_verbatim(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    prompt = 'a\nb\r\n\tc <b>x</b> & "y" \\ caf\u00e9 \u7f8e'
    write_folder(root, "s", {"images": [entry("a.png", 1, prompt=prompt, negative_prompt="")]})
    rows = images(open_kit(), "s")
    assert (rows["a.png"]["prompt"], rows["a.png"]["negative_prompt"]) == (prompt, "")


def test_text_of_another_json_type_is_read_as_its_text(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    """A documented difference from the old tolerant reader: DuckDB reads ``12`` as ``"12"``."""
    write_folder(root, "s", {"images": [entry("a.png", 1, prompt=12, negative_prompt=True)]})
    rows = images(open_kit(), "s")
    assert (rows["a.png"]["prompt"], rows["a.png"]["negative_prompt"]) == ("12", "true")


# -- seeds ------------------------------------------------------------------------------------


SEED_VALUES: list[tuple[str, Any, int | None]] = [
    ("int", 12, 12),
    ("zero", 0, 0),
    ("random", -1, -1),
    ("null", None, None),
    ("text", "12", 12),
    ("padded_text", " 12 ", 12),
    ("negative_text", "-7", -7),
    ("words", "twelve", None),
    ("empty_text", "", None),
    ("integral_float", 12.0, 12),
    ("fraction", 1.5, None),
    ("true", True, None),
    ("false", False, None),
    ("list", [12], None),
    ("object", {"seed": 12}, None),
    ("uint32_max", 2**32 - 1, 2**32 - 1),
    ("int64_max", 2**63 - 1, 2**63 - 1),
    ("int64_min", -(2**63), -(2**63)),
    ("past_int64", 2**63, None),
    ("uint64_max", 2**64 - 1, None),
    ("past_64_bits", 2**64, None),
    ("far_past_64_bits", 10**30, None),
    ("text_past_64_bits", str(2**64), None),
]


def test_seeds_are_integers_the_way_the_manifest_reader_reads_them(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    document = {"images": [entry(f"{name}.png", value) for name, value, _ in SEED_VALUES]}
    write_folder(root, "s", document)
    found = seeds(open_kit(), "s")
    assert found == {f"{name}.png": expected for name, _, expected in SEED_VALUES}


def test_seed_text_that_is_no_integer_is_null(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    document = {
        "images": [entry(f"{n}.png", text) for n, text in enumerate(["1.5", "1e3", "0x10", "0b11"])]
    }
    write_folder(root, "s", document)
    assert set(seeds(open_kit(), "s").values()) == {None}


def test_seed_just_below_64_bits_is_null(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    write_folder(root, "s", {"images": [entry("a.png", -(2**63) - 1)]})
    assert seeds(open_kit(), "s") == {"a.png": None}


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("x_0000_seed-5.png", 5),
        ("x_0001_seed--3.png", -3),
        ("Portrait_0012_seed-4294967295.jpg", 4294967295),
        ("x_seed-12_seed-34.png", 12),
        ("x_seed-99999999999999999999.png", None),  # past 64 bits
        ("x_0000.png", None),
        ("seed-5.png", None),  # no underscore before it
        ("upscaled (1).webp", None),
    ],
)
def test_a_file_the_manifest_does_not_list_gets_the_seed_in_its_name(
    root: Path, open_kit: Callable[..., SessionKit], name: str, seed: int | None
) -> None:
    write_folder(root, "s", {"images": []}, [name])
    assert seeds(open_kit(), "s") == {name: seed}


# -- sessions without a usable manifest -------------------------------------------------------


def test_without_manifest_the_first_image_by_name_gets_the_infotext(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    folder = root / "20251014_173320-no_manifest"
    # written out of order: the first by name is not the first written
    write_folder(root, folder.name, None, {"x_0002_seed-102.png": infotext(2, "second")})
    write_folder(root, folder.name, None, {"x_0000_seed-100.png": infotext(555, "first", "neg")})
    write_folder(root, folder.name, None, {"x_0001_seed-101.png": infotext(1, "middle")})
    kit = open_kit()
    assert kit.stats(folder.name)["stats_source"] == "images"
    rows = images(kit, folder.name)
    first = rows["x_0000_seed-100.png"]
    # the stats' seed_base, from the infotext, wins over the seed in the name
    assert (first["seed"], first["prompt"], first["negative_prompt"]) == (555, "first", "neg")
    assert (first["applied_variations"], first["on_disk"]) == (None, True)
    for name, seed in [("x_0001_seed-101.png", 101), ("x_0002_seed-102.png", 102)]:
        assert (rows[name]["seed"], rows[name]["prompt"], rows[name]["negative_prompt"]) == (
            seed,
            None,
            None,
        )
        assert (rows[name]["file_mtime"], rows[name]["file_size"]) == file_stat(folder, name)
    assert variations(kit, folder.name) == {}


@pytest.mark.parametrize(
    ("text", "seed", "prompt"),
    [
        (infotext(-1, "random seed"), 100, "random seed"),  # seed_base NULL: the name's seed
        (None, 100, None),  # no infotext at all
    ],
    ids=["random_seed", "no_infotext"],
)
def test_without_a_seed_in_the_infotext_the_name_gives_it(
    root: Path,
    open_kit: Callable[..., SessionKit],
    text: str | None,
    seed: int,
    prompt: str | None,
) -> None:
    write_folder(root, "s", None, {"x_0000_seed-100.png": text, "x_0001_seed-101.png": text})
    kit = open_kit()
    assert kit.stats("s")["seed_base"] is None
    rows = images(kit, "s")
    assert (rows["x_0000_seed-100.png"]["seed"], rows["x_0000_seed-100.png"]["prompt"]) == (
        seed,
        prompt,
    )
    assert (rows["x_0001_seed-101.png"]["seed"], rows["x_0001_seed-101.png"]["prompt"]) == (
        101,
        None,
    )


@pytest.mark.parametrize("name", ["not_json", "half_written", "json_array", "empty_file"])
def test_an_unreadable_manifest_gives_the_disk_rows_only(
    root: Path, open_kit: Callable[..., SessionKit], name: str
) -> None:
    files = {
        "Portrait_0001_seed-1001.png": infotext(1001),
        "Portrait_0000_seed-1000.png": infotext(7),
    }
    write_folder(root, "s", EDGE_CASES[name], files)
    kit = open_kit()
    stats = kit.stats("s")
    assert (stats["stats_source"], stats["seed_base"]) == ("images", 7)
    assert stats["stats_error"] is not None
    rows = images(kit, "s")
    assert set(rows) == set(files)
    first, second = rows["Portrait_0000_seed-1000.png"], rows["Portrait_0001_seed-1001.png"]
    assert (first["seed"], first["prompt"]) == (7, "infotext prompt")
    assert (second["seed"], second["prompt"]) == (1001, None)
    assert all(row["on_disk"] for row in rows.values())
    assert variations(kit, "s") == {}


def test_a_manifest_without_images_or_variations(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    write_folder(root, "s", {"snapshot": {"version": "2.0"}, "images": None}, ["a.png"])
    write_folder(root, "t", {"images": {"filename": "a.png"}, "snapshot": {"variations": []}})
    kit = open_kit()
    assert set(images(kit, "s")) == {"a.png"}
    assert images(kit, "s")["a.png"]["prompt"] is None  # a usable manifest: no infotext
    assert images(kit, "t") == {}
    assert variations(kit, "s") == variations(kit, "t") == {}


def test_dry_run_payloads_are_listed_images_not_on_disk(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    listed = [f"Quick_Test_{i:04d}_seed-{100 + i}.png" for i in range(3)]
    folder = write_folder(
        root / "dryrun",
        "20261124_132845-Quick_Test",
        {"images": [entry(name, 100 + i, prompt="p") for i, name in enumerate(listed)]},
    )
    for name in listed:
        (folder / name.replace(".png", ".json")).write_text('{"prompt": "p", "seed": 100}')
    write_folder(root, "real", {"images": []}, ["a.png"])
    kit = open_kit(dry_runs=True)
    rows = images(kit, folder.name)
    assert {
        name: (row["seed"], row["on_disk"], row["file_mtime"], row["file_size"])
        for name, row in rows.items()
    } == {name: (100 + i, False, None, None) for i, name in enumerate(listed)}


@pytest.mark.parametrize(
    "folder",
    [
        "20261124_132939-Quick Test - Portrait System",
        "20261124_132733-Framing_x_Lighting_(inherits_base)",
        "2025-10-14_173320_facial_expressions.prompt",
        'it\'s "quoted" [x] %_ caf\u00e9',
    ],
)
def test_folder_names_with_punctuation(
    root: Path, open_kit: Callable[..., SessionKit], folder: str
) -> None:
    names = [f"{folder}_{i:04d}_seed-{100 + i}.png" for i in range(3)]
    document = {"images": [entry(name, 100 + i, prompt=f"p{i}") for i, name in enumerate(names)]}
    write_folder(root, folder, document, names)
    rows = images(open_kit(), folder)
    assert {name: (row["seed"], row["on_disk"]) for name, row in rows.items()} == {
        name: (100 + i, True) for i, name in enumerate(names)
    }


# -- manifests the typed decoder refuses ------------------------------------------------------


def test_a_lone_surrogate_escape_still_gives_the_rows(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    r"""Python's ``json`` writes a lone surrogate as ``\ud800``; DuckDB refuses that escape."""
    data = (
        b'{"snapshot": {"variations": {"EXPR": {"used": ["smile \\ud83d"], "available": ["x"]}}},'
        b' "images": [{"filename": "a.png", "seed": 1, "prompt": "smile \\ud800",'
        b' "applied_variations": {"EXPR": "smile \\ud83d"}},'
        b' {"filename": "b.png", "seed": 2, "prompt": "fine"}]}'
    )
    write_folder(root, "bad", data, ["a.png"])
    write_folder(root, "good", {"images": [entry("c.png", 3, prompt="c")]}, ["c.png"])
    kit = open_kit()
    rows = images(kit, "bad")
    assert set(rows) == {"a.png", "b.png"}
    assert (rows["a.png"]["seed"], rows["a.png"]["prompt"]) == (1, "smile \ufffd")
    assert rows["a.png"]["on_disk"] and not rows["b.png"]["on_disk"]
    assert json.loads(rows["a.png"]["applied_variations"]) == {"EXPR": "smile \ufffd"}
    assert variations(kit, "bad") == {
        ("EXPR", "smile \ufffd"): (True, 1),
        ("EXPR", "x"): (False, 0),
    }
    assert images(kit, "good")["c.png"]["prompt"] == "c"


def test_nan_and_a_byte_order_mark_still_give_the_rows(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    for name in ("nan_cfg", "utf8_bom", "non_utf8"):
        write_folder(root, name, EDGE_CASES[name])
    write_folder(root, "current_writer", EDGE_CASES["current_writer"])
    kit = open_kit()
    expected = images(kit, "current_writer")
    assert len(expected) == 6
    for name in ("nan_cfg", "utf8_bom", "non_utf8"):
        rows = images(kit, name)
        assert {n: {**row, "session_id": None} for n, row in rows.items()} == {
            n: {**row, "session_id": None} for n, row in expected.items()
        }, name


def test_an_integer_past_64_bits_in_a_tolerant_read_keeps_the_rows(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    data = (
        b'{"snapshot": {"api_params": {"cfg_scale": NaN}},'
        b' "images": [{"filename": "a.png", "seed": 1},'
        b' {"filename": "b.png", "seed": 99999999999999999999999}]}'
    )
    write_folder(root, "s", data)
    assert seeds(open_kit(), "s") == {"a.png": 1, "b.png": None}


# -- variations -------------------------------------------------------------------------------


def test_variation_rows(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    document = {
        "snapshot": {
            "variations": {
                "HAIR": {"available": ["a", "b", "c", "d"], "used": ["a", "b", "a"], "count": 4},
                "EXPR": {"used": ["x"]},
                "EMPTY": {"available": [], "used": []},
                "NULLS": {"available": None, "used": None},
            }
        },
        "images": [
            entry("0.png", 1, applied_variations={"HAIR": "a", "EXPR": "x"}),
            entry("1.png", 2, applied_variations={"HAIR": "a"}),
            entry("2.png", 3, applied_variations={"HAIR": "b", "POSE": "sitting"}),
            entry("3.png", 4, applied_variations={"HAIR": "c"}),  # available, not used
            entry("0.png", 5, applied_variations={"HAIR": "a"}),  # a second entry of 0.png
            entry("", 6, applied_variations={"POSE": "sitting"}),  # no file name
        ],
    }
    write_folder(root, "s", document)
    assert variations(open_kit(), "s") == {
        ("HAIR", "a"): (True, 3),
        ("HAIR", "b"): (True, 1),
        ("HAIR", "c"): (False, 1),
        ("HAIR", "d"): (False, 0),
        ("EXPR", "x"): (True, 1),
        ("POSE", "sitting"): (True, 2),  # applied only: counted as used
    }


def test_variations_of_the_current_writer(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    write_folder(root, "s", EDGE_CASES["current_writer"])
    kit = open_kit()
    found = variations(kit, "s")
    hair = {value: row for (name, value), row in found.items() if name == "HAIR"}
    assert set(hair) == set(HAIR)  # every available value, used or not
    assert sum(used for used, _ in hair.values()) == 5
    assert sum(count for _, count in hair.values()) == 6  # one applied value per image
    assert len([key for key in found if key[0] == "EXPRESSIONS"]) == 12
    assert kit.stats("s")["sd_model"] == MODEL


def test_variation_values_of_other_types(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    document = {
        "snapshot": {
            "variations": {
                "A": {"used": ["x", None], "available": "x"},
                "B": ["not", "an", "object"],
                "C": None,
            }
        },
        "images": [entry("a.png", 1, applied_variations={"A": None, "D": "y"})],
    }
    write_folder(root, "s", document)
    assert variations(open_kit(), "s") == {("A", "x"): (True, 0), ("D", "y"): (True, 1)}


def test_used_values_read_one_manifest(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    write_folder(root, "s", EDGE_CASES["current_writer"])
    write_folder(root, "broken", EDGE_CASES["not_json"], ["a.png"])
    write_folder(root, "loose", None, ["a.png"])
    kit = open_kit()
    document = json.loads(EDGE_CASES["current_writer"])
    assert kit.used_values("s") == {
        name: spec["used"] for name, spec in document["snapshot"]["variations"].items()
    }
    assert kit.mirror.con.execute("SELECT count(*) FROM variations").fetchone() == (0,)
    assert kit.used_values("broken") == kit.used_values("loose") == {}


# -- following changes ------------------------------------------------------------------------


def test_rows_follow_a_rescan(root: Path, open_kit: Callable[..., SessionKit]) -> None:
    folder = write_folder(root, "s", {"images": [entry("a.png", 1, prompt="old")]}, ["a.png"])
    write_folder(root, "other", {"images": [entry("o.png", 1, prompt="o")]}, ["o.png"])
    kit = open_kit()
    assert images(kit, "s")["a.png"]["prompt"] == "old"
    document = {
        "snapshot": {"variations": {"HAIR": {"used": ["bob"]}}},
        "images": [entry("a.png", 1, prompt="new"), entry("b.png", 2)],
    }
    (folder / "manifest.json").write_text(json.dumps(document))
    (folder / "b.png").write_bytes(png_bytes())
    kit.index()
    rows = images(kit, "s")
    assert {name: (row["prompt"], row["on_disk"]) for name, row in rows.items()} == {
        "a.png": ("new", True),
        "b.png": (None, True),
    }
    assert variations(kit, "s") == {("HAIR", "bob"): (True, 0)}
    assert images(kit, "other")["o.png"]["prompt"] == "o"


def test_one_sessions_reads_come_from_its_current_part(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    folder = write_folder(root, "s", {"images": [entry("a.png", 1, prompt="old")]}, ["a.png"])
    write_folder(root, "other", {"images": [entry("o.png", 1, prompt="o")]}, ["o.png"])
    kit = open_kit()
    assert kit.images("s")["prompt"].tolist() == ["old"]
    (folder / "manifest.json").write_text(json.dumps({"images": [entry("a.png", 1, prompt="new")]}))
    kit.index()  # s's rows go to a new part; the first part keeps its old ones, and other's
    assert kit.images("s")[["filename", "prompt"]].to_numpy().tolist() == [["a.png", "new"]]
    assert kit.images("other")["prompt"].tolist() == ["o"]
    assert kit.seed_ratings("s")["images"].tolist() == [1]


def test_one_sessions_reads_survive_its_part_vanishing(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    write_folder(root, "s", {"images": [entry("a.png", 1, prompt="p")]}, ["a.png"])
    kit = open_kit()
    assert kit.images("s")["prompt"].tolist() == ["p"]
    for path in kit.details.folder.glob("*.parquet"):  # as another process's index may
        path.unlink()
    assert kit.images("s")["prompt"].tolist() == ["p"]  # rebuilt from the manifest, read there


# -- the SQLite view --------------------------------------------------------------------------


def test_sqlite_view_has_one_row_per_image_file(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    folder = write_folder(
        root,
        "s",
        {"images": [entry("a.png", 1), entry("missing.png", 2)]},
        ["a.png", "b_seed-3.png"],
    )
    for name, moment in (("a.png", 1_700_000_000.7), ("b_seed-3.png", 1_600_000_000.0)):
        os.utime(folder / name, (moment, moment))
    write_folder(root, "no_images", {"images": [entry("x.png", 1)]})
    kit = open_kit()
    con = sqlite3.connect(kit.db_path)
    try:
        rows = con.execute(
            "SELECT session_id, filename, file_mtime, file_size FROM sessionkit_images "
            "ORDER BY session_id, filename"
        ).fetchall()
        views = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='view'")}
    finally:
        con.close()
    assert rows == [
        ("s", name, datetime.fromtimestamp(int(moment)).strftime("%Y-%m-%d %H:%M:%S"), size)
        for name, moment, size in [
            ("a.png", 1_700_000_000.7, (folder / "a.png").stat().st_size),
            ("b_seed-3.png", 1_600_000_000.0, (folder / "b_seed-3.png").stat().st_size),
        ]
    ]
    assert "session_variations" not in views


_LOCAL_TIMES = textwrap.dedent(
    """
    import json, os, sqlite3, sys
    from datetime import datetime
    from pathlib import Path
    from sessionkit import SessionKit

    root = Path(sys.argv[1])
    os.utime(root / "s" / "a.png", (1_700_000_000.7, 1_700_000_000.7))
    with SessionKit(root, root.parent / "tz.db", progress=False) as kit:
        kit.index()
        mirror = kit.sql("SELECT file_mtime FROM images")["file_mtime"][0]
        stats = kit.stats("s")["first_image_created_at"]
        con = sqlite3.connect(kit.db_path)
        view = con.execute("SELECT file_mtime FROM sessionkit_images").fetchone()[0]
        con.close()
    python = datetime.fromtimestamp(1_700_000_000.7).isoformat(timespec="seconds")
    print(json.dumps([mirror, stats, view, python]))
    """
)


@pytest.mark.slow  # a Python process in another time zone
@pytest.mark.skipif(
    not Path("/usr/share/zoneinfo/Asia/Kolkata").exists(), reason="no time zone data"
)
def test_file_times_are_local_time_everywhere(root: Path) -> None:
    """In a zone far from UTC, the mirror, the stats and the SQLite view agree with Python."""
    write_folder(root, "s", {"images": [entry("a.png", 1)]}, ["a.png"])
    env = {**os.environ, "TZ": "Asia/Kolkata"}  # UTC+05:30, no daylight saving
    done = subprocess.run(
        [sys.executable, "-c", _LOCAL_TIMES, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    mirror, stats, view, python = json.loads(done.stdout)
    assert python == "2023-11-15T03:43:20"  # 22:13:20 UTC
    assert mirror == stats == python
    assert view == python.replace("T", " ")


def test_counts_and_sizes_past_32_bits_reach_the_mirror(
    root: Path, open_kit: Callable[..., SessionKit]
) -> None:
    """``as_int`` keeps any signed 64-bit value; a 32-bit mirror column refused the whole copy."""
    document = {
        "snapshot": {
            "generation_params": {"num_images": 2**31},
            "api_params": {"width": 2**40, "height": 768, "steps": 2**33},
        }
    }
    write_folder(root, "s", document, ["a.png"])
    row = open_kit().sql(
        "SELECT images_expected, images_actual, width, height, steps FROM session_stats"
    )
    assert row.iloc[0].tolist() == [2**31, 1, 2**40, 768, 2**33]


# -- reachable from a cursor ------------------------------------------------------------------


@pytest.mark.parametrize(
    "relation", ["sessions", "session_stats", "session_metadata", "images", "variations"]
)
def test_a_new_cursor_reaches_every_relation_without_use(
    root: Path, open_kit: Callable[..., SessionKit], relation: str
) -> None:
    """jupysql's ``%sql`` runs on a cursor of ``kit.duckdb``, which starts in the default schema."""
    document = {"images": [entry("a.png", 1, prompt="p", applied_variations={"HAIR": "bob"})]}
    write_folder(root, "s", document, ["a.png"])
    kit = open_kit()
    kit.update_metadata("s", tags=["keeper"])
    cursor = kit.duckdb.cursor()
    try:
        direct = kit.duckdb.execute(f"SELECT count(*) FROM {relation}").fetchall()
        assert cursor.sql(f"SELECT count(*) FROM {relation}").fetchall() == direct
        assert direct[0][0] >= 1
        assert cursor.sql("SELECT model_name('a.safetensors [abc123]')").fetchall() == [("a",)]
    finally:
        cursor.close()
