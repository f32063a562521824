"""The ``sessionkit`` command line: exact output, error messages and exit codes.

Commands run in-process through :func:`sessionkit.cli.main` (fast, with
``capsys``); two tests run real processes: the installed console script, and
a reader that closes the pipe early (``sessionkit list | head``).

The sessions root is built here, small and fully determined (names, models,
file times), so tables and rows can be compared character for character.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tomllib
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import sessionkit
from sessionkit import SessionKit, cli, notebook
from sessionkit.demo import write_demo_root

REPO = Path(__file__).resolve().parent.parent
PORTRAIT = "20251107_120000-Portrait Study"
SWEEP = "20251108_090000-Seed_Sweep"
BROKEN = "20251109_100000-Broken"
LOOSE = "20251110_080000-Loose_Images"
DRY = "20251111_070000-Dry_Run"
MODEL = "realisticVisionV60B1_v51VAE.safetensors [15012c538f]"
ANIME = "animagineXL_v31.safetensors"
IMAGE_TIME = datetime(2025, 11, 7, 12, 5)
MTIME = IMAGE_TIME.timestamp()
INJECTION = "%' OR 1=1; DROP TABLE session_metadata; --"


# -- building a sessions root ------------------------------------------------


def png() -> bytes:
    """A valid 1x1 PNG without infotext (the manifest says everything)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80"))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def manifest(
    name: str,
    *,
    model: str,
    planned: int,
    images: int,
    expressions: tuple[str, ...] = ("smiling", "neutral", "sad", "angry"),
    seed_list: list[int] | None = None,
    prompt: str = "portrait of a woman, {EXPRESSION}",
) -> dict[str, Any]:
    """A manifest in the current generator's shape (see the sdgen-cli corpus)."""
    params: dict[str, Any] = {
        "mode": "combinatorial",
        "seed_mode": "fixed" if seed_list is None else "progressive",
        "base_seed": 100,
        "num_images": planned,
        "total_combinations": 42,
    }
    if seed_list is not None:
        params["seed_list"] = seed_list
    return {
        "snapshot": {
            "version": "2.0",
            "timestamp": "2025-11-07T12:00:00.123456",
            "runtime_info": {"sd_model_checkpoint": model},
            "resolved_template": {"prompt": prompt, "negative": "low quality"},
            "generation_params": params,
            "api_params": {
                "width": 512,
                "height": 768,
                "steps": 25,
                "cfg_scale": 7,
                "sampler": "Euler a",
            },
            "variations": {
                "EXPRESSION": {
                    "available": [*expressions, "bored"],
                    "used": list(expressions),
                    "count": len(expressions) + 1,
                }
            },
        },
        "images": [
            {
                "filename": f"{name}_{i:04d}_seed-{100 + i}.png",
                "seed": 100 + i,
                "prompt": prompt.replace("{EXPRESSION}", expressions[i % len(expressions)]),
                "negative_prompt": "low quality",
                "applied_variations": {"EXPRESSION": expressions[i % len(expressions)]},
            }
            for i in range(images)
        ],
        "status": "completed",
    }


def write_session(folder: Path, document: dict[str, Any] | bytes | None, images: int) -> None:
    """A session folder: its manifest (a document, raw bytes or none) and ``images`` PNGs."""
    folder.mkdir(parents=True)
    if isinstance(document, dict):
        (folder / "manifest.json").write_text(json.dumps(document, indent=1))
    elif document is not None:
        (folder / "manifest.json").write_bytes(document)
    stem = folder.name.split("-", 1)[-1]
    for i in range(images):
        image = folder / f"{stem}_{i:04d}_seed-{100 + i}.png"
        image.write_bytes(png())
        os.utime(image, (MTIME, MTIME))


def build_root(root: Path) -> Path:
    """Four sessions (one with a broken manifest) and a dry run."""
    write_session(root / PORTRAIT, manifest("Portrait Study", model=MODEL, planned=4, images=4), 4)
    write_session(
        root / SWEEP,
        manifest(
            "Seed_Sweep",
            model=ANIME,
            planned=4,
            images=2,
            expressions=("smiling",),
            seed_list=[100, 101, 102, 103],
        ),
        2,
    )
    write_session(root / BROKEN, b'{"snapshot": {"version": "2.0", "timesta', 1)
    write_session(root / LOOSE, None, 3)
    dry = manifest("Dry_Run", model=MODEL, planned=2, images=0)
    write_session(root / "dryrun" / DRY, dry, 0)
    return root


# -- fixtures ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's SESSIONKIT_ROOT / SESSIONKIT_DB must not leak into any test."""
    monkeypatch.delenv("SESSIONKIT_ROOT", raising=False)
    monkeypatch.delenv("SESSIONKIT_DB", raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_root(tmp_path / "sessions")


@pytest.fixture
def db(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``sessions.db`` with ``root`` indexed into it."""
    path = str(tmp_path / "sessions.db")
    assert cli.main(["index", str(root), "--db", path, "--no-progress"]) == 0
    capsys.readouterr()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``sessionkit ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's usage errors and --version
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def dump(path: str) -> list[str]:
    """Every statement needed to rebuild the database: its whole content."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


FIXED_TIMES = ("2025-11-07T12:00:00", "2025-11-07T12:00:00.123456", IMAGE_TIME.isoformat())
"""The times the fixture sets (folder names, manifests, file times); any other is the run's."""


def normalised(text: str, root: Path) -> str:
    """Output with the run's own values replaced: ``ROOT`` for the root, ``NOW`` for its times."""
    text = text.replace(str(root), "ROOT")
    return re.sub(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?",
        lambda found: found[0] if found[0] in FIXED_TIMES else "NOW",
        text,
    )


TABLE = """\
session_id                      model                                                 images  completion  flags  tags
------------------------------  ----------------------------------------------------  ------  ----------  -----  ----
20251110_080000-Loose_Images                                                             3/0        0.0%
20251109_100000-Broken                                                                   1/0        0.0%
20251108_090000-Seed_Sweep      animagineXL_v31.safetensors                              2/4       50.0%  S
20251107_120000-Portrait Study  realisticVisionV60B1_v51VAE.safetensors [15012c538f]     4/4      100.0%
4 sessions
"""  # noqa: E501 - a table is as wide as it is


# -- index -------------------------------------------------------------------


def test_index_prints_counts_then_each_failure(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "new.db")
    code, out, err = run(capsys, "index", str(root), "--db", db, "--no-progress")
    assert (code, out) == (
        0,
        "scanned 4, computed 4, unchanged 0, missing 0, failed 1\n"
        f"failed: {BROKEN}: manifest.json is cut short at line 1 "
        "(half-written; it is read again on the next scan)\n",
    )
    assert re.fullmatch(r"in \d+\.\d\d s\n", err)


def test_index_again_skips_unchanged_and_marks_vanished(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for image in (root / LOOSE).iterdir():
        image.unlink()
    (root / LOOSE).rmdir()
    code, out, _ = run(capsys, "index", str(root), "--db", db, "--no-progress")
    # the broken manifest is read again each time: it may have been caught half-written
    assert (code, out.splitlines()[0]) == (
        0,
        "scanned 3, computed 1, unchanged 2, missing 1, failed 1",
    )


def test_index_shows_a_progress_bar_on_stderr(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "index", str(root), "--db", str(tmp_path / "new.db"))
    assert code == 0
    assert "indexing: 100%" in err
    assert "4/4" in err


def test_index_takes_root_and_db_from_the_environment(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SESSIONKIT_ROOT", str(root))
    monkeypatch.setenv("SESSIONKIT_DB", str(tmp_path / "env.db"))
    code, out, _ = run(capsys, "index", "--no-progress")
    assert (code, out.splitlines()[0]) == (
        0,
        "scanned 4, computed 4, unchanged 0, missing 0, failed 1",
    )


def test_index_without_root_reuses_the_one_the_database_records(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "index", "--db", db, "--no-progress", "--force", "--dry-runs")
    assert (code, out.splitlines()[0]) == (
        0,
        "scanned 5, computed 5, unchanged 0, missing 0, failed 1",
    )


def test_index_without_any_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = str(tmp_path / "empty.db")
    assert run(capsys, "index", "--db", empty) == (
        1,
        "",
        f"Error: no sessions.db at {empty}: create it with 'sessionkit index ROOT --db {empty}'\n",
    )
    assert not Path(empty).exists()
    sessionkit.SessionKit(db=empty).close()  # a database that records no root
    assert run(capsys, "index", "--db", empty) == (
        1,
        "",
        "Error: no sessions root: pass ROOT or set SESSIONKIT_ROOT\n",
    )


def test_index_of_a_root_that_is_not_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "nowhere"
    assert run(capsys, "index", str(nowhere), "--db", str(tmp_path / "x.db")) == (
        1,
        "",
        f"Error: sessions root {nowhere} is not a folder\n",
    )


def test_commands_need_a_database(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["index", "."], ["list"], ["show", PORTRAIT], ["sql", "SELECT 1"]):
        assert run(capsys, *argv) == (
            1,
            "",
            "Error: no sessions.db: pass --db or set SESSIONKIT_DB\n",
        )


def test_reading_commands_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = str(tmp_path / "sesions.db")
    assert run(capsys, "list", "--db", typo) == (
        1,
        "",
        f"Error: no sessions.db at {typo}: create it with 'sessionkit index ROOT --db {typo}'\n",
    )
    assert not Path(typo).exists()


# -- list --------------------------------------------------------------------


def test_list_table(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "list", "--db", db) == (0, TABLE, "")


def test_list_reads_the_database_from_the_environment(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SESSIONKIT_DB", db)
    assert run(capsys, "list") == (0, TABLE, "")


def test_list_page_says_which_rows_it_shows(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "list", "--db", db, "--order-by", "session_id", "--asc", "--limit", "2",
        "--offset", "1",
    )  # fmt: skip
    assert (code, out.splitlines()[2:]) == (
        0,
        [
            "20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     2/4       50.0%  S",
            "20251109_100000-Broken                                      1/0        0.0%",
            "4 sessions (showing 2-3)",
        ],
    )
    assert run(capsys, "list", "--db", db, "--offset", "9") == (
        0,
        "4 sessions (showing none)\n",
        "",
    )


def test_list_empty_result_is_not_an_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "list", "--db", db, "--liked") == (0, "0 sessions where liked\n", "")


def test_list_filters_and_their_description(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", SWEEP, "--db", db, "--add", "keeper")[0] == 0
    code, out, _ = run(
        capsys, "list", "--db", db, "--seed-sweep", "--model", "ANIMAGINE", "--from",
        "2025-11-08", "--to", "2025-11-08", "--tag", "keeper", "--rating", "none",
        "--not-test", "--incomplete", "--not-liked", "--search", "sweep",
    )  # fmt: skip
    assert (code, out.splitlines()[2:]) == (
        0,
        [
            "20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     2/4       50.0%  S      keeper",  # noqa: E501
            "1 session where not liked and not test and seed sweep and incomplete and model "
            "contains ANIMAGINE and from 2025-11-08 and until 2025-11-08 and tag keeper "
            'and not rated and text contains "sweep"',
        ],
    )
    code, out, _ = run(capsys, "list", "--db", db, "--complete", "--not-seed-sweep", "--test")
    assert (code, out) == (0, "0 sessions where test and not seed sweep and complete\n")


def test_list_from_and_to_take_a_time(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A day alone is the whole day; with a time, the bound is that minute, inclusive."""

    def listed(*bounds: str) -> list[str]:
        code, out, err = run(capsys, "list", "--db", db, "--format", "csv", *bounds)
        assert (code, err) == (0, "")
        return [line.split(",")[0] for line in out.splitlines()[1:]]

    # SWEEP started 2025-11-08 09:00:00, BROKEN 2025-11-09 10:00:00
    assert listed("--from", "2025-11-08T09:00", "--to", "2025-11-09 10:00") == [BROKEN, SWEEP]
    assert listed("--from", "2025-11-08T09:01", "--to", "2025-11-09T09:59") == []
    assert listed("--from", "2025-11-08 09:00:01", "--to", "2025-11-09") == [BROKEN]
    assert listed("--to", "2025-11-08T08:59:59") == [PORTRAIT]
    assert run(capsys, "list", "--db", db, "--from", "2025-11-08T09:00", "--to", "2025-11-08") == (
        0,
        """\
session_id                  model                        images  completion  flags  tags
--------------------------  ---------------------------  ------  ----------  -----  ----
20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     2/4       50.0%  S
1 session where from 2025-11-08 09:00 and until 2025-11-08
""",
        "",
    )
    assert run(capsys, "list", "--db", db, "--to", "2025-11-08T25:00") == (
        1,
        "",
        "Error: to_date must be a date like 2025-11-01 or a date and time like "
        "2025-11-01T14:30, not '2025-11-08T25:00'\n",
    )


def test_list_dry_runs_and_missing_sessions_only_when_asked(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for image in (root / LOOSE).iterdir():
        image.unlink()
    (root / LOOSE).rmdir()
    assert run(capsys, "index", "--db", db, "--dry-runs", "--no-progress")[0] == 0
    code, out, _ = run(capsys, "list", "--db", db, "--order-by", "session_id", "--limit", "2")
    assert (code, out.splitlines()[2:]) == (
        0,
        [
            "20251109_100000-Broken                                      1/0        0.0%",
            "20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     2/4       50.0%  S",
            "3 sessions (showing 1-2)",
        ],
    )
    code, out, _ = run(
        capsys, "list", "--db", db, "--dry-runs", "--missing", "--order-by", "session_id",
        "--limit", "2",
    )  # fmt: skip
    assert (code, out) == (
        0,
        """\
session_id                    model                                                 images  completion  flags  tags
----------------------------  ----------------------------------------------------  ------  ----------  -----  ----
20251111_070000-Dry_Run       realisticVisionV60B1_v51VAE.safetensors [15012c538f]     0/2        0.0%  D
20251110_080000-Loose_Images                                                           3/0        0.0%  M
5 sessions (showing 1-2)
""",  # noqa: E501
    )


def test_list_csv_has_full_rows(root: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "keeper", "--add", "a-b")[0] == 0
    code, out, err = run(capsys, "list", "--db", db, "--format", "csv", "--asc")
    assert (code, err) == (0, "")
    header, portrait, *others = out.splitlines()
    assert header == (
        "session_id,session_path,sd_model,template_version,generation_mode,seed_mode,"
        "seed_base,resolved_prompt,negative_prompt,width,height,steps,cfg_scale,sampler_name,"
        "images_expected,images_actual,completion_percentage,is_seed_sweep,placeholders_json,"
        "variations_summary_json,session_created_at,manifest_generated_at,"
        "first_image_created_at,last_image_created_at,stats_computed_at,stats_version,status,"
        "stats_source,stats_error,is_dryrun,missing_since,is_missing,placeholders,"
        "variations_summary,model,is_test,is_complete,is_favorite,user_rating,user_note,tags,"
        "auto_metadata,metadata_created_at,metadata_updated_at"
    )
    assert normalised(portrait, root) == (
        f"{PORTRAIT},ROOT/{PORTRAIT},{MODEL},2.0,combinatorial,fixed,100,"
        '"portrait of a woman, {EXPRESSION}",low quality,512,768,25,7.0,Euler a,4,4,100.0,0,'
        '"{""EXPRESSION"":4}","{""EXPRESSION"":[""smiling"",""neutral"",""sad"",""angry""]}",'
        "2025-11-07T12:00:00,2025-11-07T12:00:00.123456,2025-11-07T12:05:00,2025-11-07T12:05:00,"
        "NOW,3,completed,manifest,,False,,False,"
        '"{""EXPRESSION"": 4}","{""EXPRESSION"": [""smiling"", ""neutral"", ""sad"", ""angry""]}",'
        'realisticVisionV60B1_v51VAE,0,1,0,,,"[""keeper"", ""a-b""]",,NOW,NOW'
    )
    assert len(others) == 3
    assert next(csv.DictReader(io.StringIO(out)))["tags"] == '["keeper", "a-b"]'


def test_list_json_is_an_array_of_full_rows(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "list", "--db", db, "--format", "json", "--asc")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [row["session_id"] for row in rows] == [PORTRAIT, SWEEP, BROKEN, LOOSE]
    portrait = rows[0]
    assert datetime.fromisoformat(portrait.pop("stats_computed_at"))
    assert portrait == {
        "session_id": PORTRAIT,
        "session_path": str(root / PORTRAIT),
        "sd_model": MODEL,
        "template_version": "2.0",
        "generation_mode": "combinatorial",
        "seed_mode": "fixed",
        "seed_base": 100,
        "resolved_prompt": "portrait of a woman, {EXPRESSION}",
        "negative_prompt": "low quality",
        "width": 512,
        "height": 768,
        "steps": 25,
        "cfg_scale": 7.0,
        "sampler_name": "Euler a",
        "images_expected": 4,
        "images_actual": 4,
        "completion_percentage": 100.0,
        "is_seed_sweep": 0,
        "placeholders_json": '{"EXPRESSION":4}',
        "variations_summary_json": '{"EXPRESSION":["smiling","neutral","sad","angry"]}',
        "session_created_at": "2025-11-07T12:00:00",
        "manifest_generated_at": "2025-11-07T12:00:00.123456",
        "first_image_created_at": IMAGE_TIME.isoformat(),
        "last_image_created_at": IMAGE_TIME.isoformat(),
        "stats_version": 3,
        "status": "completed",
        "stats_source": "manifest",
        "stats_error": None,
        "is_dryrun": False,
        "missing_since": None,
        "is_missing": False,
        "placeholders": {"EXPRESSION": 4},
        "variations_summary": {"EXPRESSION": ["smiling", "neutral", "sad", "angry"]},
        "model": "realisticVisionV60B1_v51VAE",
        "is_test": 0,
        "is_complete": 1,
        "is_favorite": 0,
        "user_rating": None,
        "user_note": None,
        "tags": [],
        "auto_metadata": None,
        "metadata_created_at": None,
        "metadata_updated_at": None,
    }
    # NULL and NaN are null, never the invalid JSON token NaN
    assert rows[3]["sd_model"] is None and rows[3]["width"] is None
    assert "NaN" not in out
    assert run(capsys, "list", "--db", db, "--format", "json", "--liked") == (0, "[]\n", "")


def test_list_refusals_say_what_would_work(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--db", db, "--order-by", "size")
    assert (code, out, err) == (
        1,
        "",
        "Error: cannot order by 'size'; choose one of session_created_at, session_id, sd_model, "
        "images_actual, images_expected, completion_percentage, last_image_created_at, "
        "metadata_updated_at, stats_computed_at\n",
    )
    assert run(capsys, "list", "--db", db, "--from", "last week") == (
        1,
        "",
        "Error: from_date must be a date like 2025-11-01 or a date and time like "
        "2025-11-01T14:30, not 'last week'\n",
    )
    assert run(capsys, "list", "--db", db, "--limit", "-1") == (
        1,
        "",
        "Error: limit and offset must not be negative\n",
    )


def test_usage_errors_keep_argparse_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--rating", "maybe")
    assert (code, out, err.splitlines()[-1]) == (
        2,
        "",
        "sessionkit list: error: argument --rating: invalid choice: 'maybe' "
        "(choose from 'like', 'dislike', 'none')",
    )
    code, out, err = run(capsys, "list", "--liked", "--not-liked")
    assert (code, err.splitlines()[-1]) == (
        2,
        "sessionkit list: error: argument --not-liked: not allowed with argument --liked",
    )
    code, out, err = run(capsys, "demo", "x", "--anchor", "2025-13-01")
    assert (code, err.splitlines()[-1]) == (
        2,
        "sessionkit demo: error: argument --anchor: '2025-13-01' is not a date like 2025-11-01",
    )
    code, out, err = run(capsys)
    assert (code, err.splitlines()[-1]) == (
        2,
        "sessionkit: error: the following arguments are required: COMMAND",
    )


# -- injection through filters -------------------------------------------------


def test_filter_values_are_plain_text(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "keeper")[0] == 0
    before = dump(db)
    assert run(capsys, "list", "--db", db, "--search", INJECTION) == (
        0,
        f'0 sessions where text contains "{INJECTION}"\n',
        "",
    )
    assert run(capsys, "list", "--db", db, "--model", "x' OR '1'='1") == (
        0,
        "0 sessions where model contains x' OR '1'='1\n",
        "",
    )
    assert run(capsys, "list", "--db", db, "--tag", "keeper'); DELETE FROM tags; --") == (
        0,
        "0 sessions where tag keeper'); DELETE FROM tags; --\n",
        "",
    )
    # % and _ are characters, not LIKE wildcards: "t_S" would match "Portrait Study" in LIKE
    assert (
        run(capsys, "list", "--db", db, "--search", "%")[1]
        == '0 sessions where text contains "%"\n'
    )
    assert run(capsys, "list", "--db", db, "--search", "t_S")[1] == (
        '0 sessions where text contains "t_S"\n'
    )
    assert run(capsys, "list", "--db", db, "--search", "d_S")[1].endswith(
        '1 session where text contains "d_S"\n'
    )
    assert dump(db) == before
    assert run(capsys, "sql", "SELECT session_id FROM session_metadata", "--db", db) == (
        0,
        f"session_id\n------------------------------\n{PORTRAIT}\n",
        "",
    )


# -- show --------------------------------------------------------------------


def test_show_text(root: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "keeper", "--add", "portrait")[0] == 0
    code, out, err = run(capsys, "show", PORTRAIT, "--db", db)
    assert (code, err) == (0, "")
    assert (
        normalised(out, root)
        == f"""\
Stats
  session_id: {PORTRAIT}
  session_path: ROOT/{PORTRAIT}
  sd_model: {MODEL}
  template_version: 2.0
  generation_mode: combinatorial
  seed_mode: fixed
  seed_base: 100
  resolved_prompt: portrait of a woman, {{EXPRESSION}}
  negative_prompt: low quality
  width: 512
  height: 768
  steps: 25
  cfg_scale: 7.0
  sampler_name: Euler a
  images_expected: 4
  images_actual: 4
  completion_percentage: 100.0
  is_seed_sweep: 0
  placeholders_json: {{"EXPRESSION":4}}
  variations_summary_json: {{"EXPRESSION":["smiling","neutral","sad","angry"]}}
  session_created_at: 2025-11-07T12:00:00
  manifest_generated_at: 2025-11-07T12:00:00.123456
  first_image_created_at: 2025-11-07T12:05:00
  last_image_created_at: 2025-11-07T12:05:00
  stats_computed_at: NOW
  stats_version: 3
  status: completed
  stats_source: manifest
  stats_error:
  is_dryrun: 0
  missing_since:
Metadata
  is_test: 0
  is_complete: 1
  is_favorite: 0
  user_rating:
  user_note:
  tags: keeper, portrait
  auto_metadata:
  created_at: NOW
  updated_at: NOW
"""
    )


def test_show_text_of_a_session_with_a_broken_manifest(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", BROKEN, "--db", db)
    assert code == 0
    assert "  stats_error: manifest.json is cut short at line 1" in out
    assert "  sd_model:\n" in out  # NULL is an empty value


def test_show_json(root: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", SWEEP, "--db", db, "--format", "json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert list(shown) == ["stats", "metadata"]
    assert shown["metadata"] == {
        "session_id": SWEEP,
        "session_path": str(root / SWEEP),
        "is_test": 0,
        "is_complete": 1,
        "is_favorite": 0,
        "user_rating": None,
        "user_note": None,
        "tags": [],
        "auto_metadata": None,
        "created_at": None,
        "updated_at": None,
    }
    stats = shown["stats"]
    assert (stats["session_id"], stats["sd_model"], stats["is_seed_sweep"]) == (SWEEP, ANIME, 1)
    assert (stats["images_actual"], stats["images_expected"], stats["completion_percentage"]) == (
        2,
        4,
        50.0,
    )


def test_unknown_session_suggests_the_closest(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    typo = "20251107_120000-Portrait_Study"
    expected = (1, "", f"Error: unknown session '{typo}'; did you mean '{PORTRAIT}'?\n")
    for command in ("show", "tag", "like"):
        assert run(capsys, command, typo, "--db", db) == expected
    assert run(capsys, "show", "nothing-like-it", "--db", db) == (
        1,
        "",
        "Error: unknown session 'nothing-like-it'\n",
    )


def test_a_path_is_not_a_session_id(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "show", "../sessions.db", "--db", db) == (
        1,
        "",
        "Error: '../sessions.db' is not a session id: give the session's folder name, not a path\n",
    )


# -- tag and like --------------------------------------------------------------


# -- refresh -----------------------------------------------------------------


def test_refresh_recomputes_one_session_and_prints_it(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_session(root / SWEEP / "more", None, 0)  # a sub-folder is not an image
    for i in (2, 3):  # two more images arrive after the index
        (root / SWEEP / f"Seed_Sweep_{i:04d}_seed-{100 + i}.png").write_bytes(png())
    code, out, err = run(capsys, "refresh", SWEEP, "--db", db)
    assert (code, err) == (0, "")
    assert normalised(out, root) == (
        "session_id                  model                        images  completion  flags  tags\n"
        "--------------------------  ---------------------------  ------  ----------  -----  ----\n"
        "20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     4/4      100.0%  S\n"
        "stats computed at NOW from the manifest\n"
    )
    assert (
        run(capsys, "list", "--db", db, "--complete")[1].splitlines()[-1]
        == "2 sessions where complete"
    )


def test_refresh_says_why_the_manifest_was_not_used(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "refresh", BROKEN, "--db", db)
    assert (code, err) == (0, "")
    assert normalised(out, root).splitlines()[2:] == [
        "20251109_100000-Broken            1/0        0.0%",
        "stats computed at NOW from the image files",
        "manifest not used: manifest.json is cut short at line 1 (half-written; it is read "
        "again on the next scan)",
    ]


def test_refresh_of_a_vanished_folder_marks_it_missing(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(root / PORTRAIT)
    code, out, err = run(capsys, "refresh", PORTRAIT, "--db", db)
    assert (code, err) == (0, "")
    assert normalised(out, root).splitlines()[2:] == [
        "20251107_120000-Portrait Study  realisticVisionV60B1_v51VAE.safetensors [15012c538f]"
        "     4/4      100.0%  M",
        "folder missing since NOW",
    ]


def test_refresh_refusals(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "refresh", "20251108_090000-Seed_Swep", "--db", db) == (
        1,
        "",
        "Error: unknown session '20251108_090000-Seed_Swep'; "
        "did you mean '20251108_090000-Seed_Sweep'?\n",
    )
    assert run(capsys, "refresh", "../etc", "--db", db) == (
        1,
        "",
        "Error: '../etc' is not a session id: give the session's folder name, not a path\n",
    )


# -- mark --------------------------------------------------------------------


MARKED = """\
20251107_120000-Portrait Study
  liked: no
  test: yes
  complete: yes
  rating: like
  tags: (none)
  note: best of the batch
"""


def test_mark_changes_only_what_it_is_given(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(
        capsys, "mark", PORTRAIT, "--db", db, "--rating", "like", "--test", "--complete",
        "--note", "best of the batch",
    ) == (0, MARKED, "")  # fmt: skip
    assert run(capsys, "like", PORTRAIT, "--db", db)[0] == 0
    assert run(capsys, "mark", PORTRAIT, "--db", db, "--not-complete", "--rating", "dislike") == (
        0,
        MARKED.replace("liked: no", "liked: yes")
        .replace("complete: yes", "complete: no")
        .replace("rating: like", "rating: dislike"),
        "",
    )
    assert run(
        capsys, "mark", PORTRAIT, "--db", db, "--not-test", "--rating", "none", "--clear-note"
    ) == (
        0,
        f"{PORTRAIT}\n  liked: yes\n  test: no\n  complete: no\n  rating: none\n"
        "  tags: (none)\n  note: (none)\n",
        "",
    )
    code, out, _ = run(capsys, "list", "--db", db, "--liked", "--not-test", "--rating", "none")
    assert (code, out.splitlines()[-1]) == (0, "1 session where liked and not test and not rated")


def test_mark_shows_a_note_on_one_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mark", SWEEP, "--db", db, "--note", "two\nlines \x1b[31m")
    assert (code, out.splitlines()[-1]) == (0, "  note: two\\nlines \\x1b[31m")


def test_mark_refusals_write_nothing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)
    assert run(capsys, "mark", PORTRAIT, "--db", db) == (
        1,
        "",
        "Error: nothing to mark: give --rating, --test/--not-test, --complete/--not-complete, "
        "--note or --clear-note\n",
    )
    assert run(capsys, "mark", PORTRAIT, "--db", db, "--test", "--note", "x" * 501) == (
        1,
        "",
        "Error: user_note: is 501 characters; the limit is 500\n",
    )
    assert run(capsys, "mark", "nope", "--db", db, "--test") == (
        1,
        "",
        "Error: unknown session 'nope'\n",
    )
    code, out, err = run(capsys, "mark", PORTRAIT, "--db", db, "--note", "a", "--clear-note")
    assert (code, out) == (2, "")
    assert err.endswith("error: argument --clear-note: not allowed with argument --note\n")
    code, _, err = run(capsys, "mark", PORTRAIT, "--db", db, "--rating", "great")
    assert code == 2 and "invalid choice: 'great'" in err
    assert dump(db) == before


def test_tag_add_and_remove(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    def tag(*argv: str) -> tuple[int, str, str]:
        return run(capsys, "tag", PORTRAIT, "--db", db, *argv)

    assert tag() == (0, "(no tags)\n", "")
    assert tag("--add", "keeper", "--add", "portrait", "--add", "lora_v2") == (
        0,
        "keeper, portrait, lora_v2\n",
        "",
    )
    # tags compare ignoring case (as the store does); removing an absent tag does nothing
    assert tag("--add", "Keeper", "--add", "new", "--remove", "PORTRAIT", "--remove", "absent") == (
        0,
        "keeper, lora_v2, new\n",
        "",
    )
    assert tag("--remove", "keeper", "--remove", "lora_v2", "--remove", "new") == (
        0,
        "(no tags)\n",
        "",
    )


def test_tag_refusal_writes_nothing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "keeper")[0] == 0
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "ok", "--add", "a b") == (
        1,
        "",
        "Error: tags: tag 'a b' may hold only letters, digits, '-' and '_' (no spaces)\n",
    )
    assert run(capsys, "tag", PORTRAIT, "--db", db) == (0, "keeper\n", "")


def test_like_and_unlike(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "like", SWEEP, "--db", db) == (0, f"liked {SWEEP}\n", "")
    code, out, _ = run(capsys, "list", "--db", db, "--liked")
    assert (code, out.splitlines()[2:]) == (
        0,
        [
            "20251108_090000-Seed_Sweep  animagineXL_v31.safetensors     2/4       50.0%  LS",
            "1 session where liked",
        ],
    )
    assert run(capsys, "like", SWEEP, "--db", db, "--undo") == (0, f"unliked {SWEEP}\n", "")
    assert run(capsys, "list", "--db", db, "--liked") == (0, "0 sessions where liked\n", "")


# -- sql ---------------------------------------------------------------------


QUERY = (
    "SELECT session_id, images_actual, completion_percentage AS pct, tags "
    "FROM sessions ORDER BY session_id LIMIT 2"
)


def test_sql_table(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tag", PORTRAIT, "--db", db, "--add", "keeper")[0] == 0
    assert run(capsys, "sql", QUERY, "--db", db) == (
        0,
        "session_id                      images_actual    pct  tags\n"
        "------------------------------  -------------  -----  ----------\n"
        f'{PORTRAIT}              4  100.0  ["keeper"]\n'
        f"{SWEEP}                  2   50.0  []\n",
        "",
    )


def test_sql_csv_and_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "sql", QUERY, "--db", db, "--format", "csv") == (
        0,
        f"session_id,images_actual,pct,tags\n{PORTRAIT},4,100.0,[]\n{SWEEP},2,50.0,[]\n",
        "",
    )
    code, out, _ = run(capsys, "sql", QUERY, "--db", db, "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        [
            {"session_id": PORTRAIT, "images_actual": 4, "pct": 100.0, "tags": []},
            {"session_id": SWEEP, "images_actual": 2, "pct": 50.0, "tags": []},
        ],
    )


def test_sql_reads_images_and_variations(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    query = (
        "SELECT (SELECT count(*) FROM images) AS images, "
        "(SELECT count(*) FROM variations WHERE used) AS used_values"
    )
    assert run(capsys, "sql", query, "--db", db) == (
        0,
        "images  used_values\n------  -----------\n    10            5\n",
        "",
    )


def test_sql_values_of_every_kind(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Times as ISO text, NULL and NaN empty (null in JSON), long cells cut, controls escaped."""
    query = (
        "SELECT TIMESTAMP '2025-11-07 12:00:00' AS t, [1, 2] AS l, NULL AS n, "
        "'nan'::DOUBLE AS f, repeat('x', 70) AS long, 'a' || chr(10) || chr(27) || 'b' AS text"
    )
    assert run(capsys, "sql", query, "--db", db) == (
        0,
        "t                    l       n  f  long" + " " * 56 + "  text\n"
        "-------------------  ------  -  -  " + "-" * 60 + "  --------\n"
        "2025-11-07T12:00:00  [1, 2]        " + "x" * 59 + "…  a\\n\\x1bb\n",
        "",
    )
    assert run(capsys, "sql", query, "--db", db, "--format", "csv") == (
        0,
        "t,l,n,f,long,text\n" + '2025-11-07T12:00:00,"[1, 2]",,,' + "x" * 70 + ',"a\n\x1bb"\n',
        "",
    )
    code, out, _ = run(capsys, "sql", query, "--db", db, "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        [
            {
                "t": "2025-11-07T12:00:00",
                "l": [1, 2],
                "n": None,
                "f": None,
                "long": "x" * 70,
                "text": "a\n\x1bb",
            }
        ],
    )


def test_sql_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "sql", "SELEC 1", "--db", db) == (
        1,
        "",
        'Error: Parser Error: syntax error at or near "SELEC"\n\nLINE 1: SELEC 1\n        ^^^^^\n',
    )


def test_sql_cannot_write_any_file(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "like", PORTRAIT, "--db", db)[0] == 0
    before = dump(db)
    for statement, kind, target in (
        ("ATTACH '{}' AS other", "ATTACH", tmp_path / "other.db"),
        ("ATTACH '{}' AS same", "ATTACH", Path(db)),
        ("COPY session_metadata TO '{}'", "COPY", tmp_path / "out.csv"),
        ("DELETE FROM session_metadata{}", "DELETE", ""),
    ):
        assert run(capsys, "sql", statement.format(target), "--db", db) == (
            1,
            "",
            f"Error: {kind} refused: ad hoc SQL only reads "
            "(SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)\n",
        )
    assert not (tmp_path / "other.db").exists()
    assert not (tmp_path / "out.csv").exists()
    code, out, err = run(capsys, "sql", f"SELECT * FROM read_text('{db}')", "--db", db)
    assert (code, out) == (1, "")
    assert err.startswith(
        f'Error: Permission Error: Cannot access file "{db}" - file system operations '
        "are disabled by configuration\n"
    )
    assert dump(db) == before
    assert run(capsys, "list", "--db", db, "--liked")[1].endswith("1 session where liked\n")


def test_library_sql_cannot_change_what_the_kit_answers(db: str) -> None:
    with sessionkit.SessionKit(db=db, progress=False) as kit:
        with contextlib.suppress(sessionkit.SessionKitError):
            kit.sql("DELETE FROM session_stats")
        assert kit.count() == 4


# -- demo and lab --------------------------------------------------------------


def test_demo_writes_a_root_that_indexes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "demo"
    code, out, err = run(capsys, "demo", str(demo), "--sessions", "12", "--anchor", "2025-11-20")
    images = len(list(demo.glob("*/*.png")))  # thumbnails in sub-folders are not images
    assert (code, out, err) == (0, f"wrote 12 sessions and {images} images to {demo}\n", "")
    db = str(tmp_path / "demo.db")
    code, out, _ = run(capsys, "index", str(demo), "--db", db, "--no-progress")
    assert (code, out.splitlines()[0].split(", failed")[0]) == (
        0,
        "scanned 12, computed 12, unchanged 0, missing 0",
    )
    rows = list(csv.DictReader(io.StringIO(run(capsys, "list", "--db", db, "--format", "csv")[1])))
    assert len(rows) == 12


def test_demo_refusals_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "demo", str(tmp_path / "d"), "--sessions", "0") == (
        1,
        "",
        "Error: sessions must be between 1 and 10,000, got 0\n",
    )
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert run(capsys, "demo", str(tmp_path / "taken"), "--tiny") == (
        1,
        "",
        f"Error: refusing to write the demo root into {tmp_path / 'taken'}: the folder is not "
        "empty and holds no .sessionkit-demo marker; pick a new or empty folder\n",
    )
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def lab_args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["lab", *argv])


@pytest.fixture
def not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as an ordinary user: Jupyter's ``--allow-root`` is then left out."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)


@pytest.mark.usefixtures("not_root")
def test_lab_command_on_the_configured_root(root: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    command, env = cli.lab_command(
        lab_args("--port", "8899", "--no-browser"),
        {"SESSIONKIT_ROOT": str(root), "HOME": "/h"},
        repo,
    )
    assert command == [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={repo / 'notebooks'}",
        "--ServerApp.port=8899",
        "--no-browser",
    ]
    assert env == {"SESSIONKIT_ROOT": str(root), "HOME": "/h"}
    assert (repo / "notebooks").is_dir()
    assert not (repo / "demo-root").exists()


@pytest.mark.usefixtures("not_root")
def test_lab_command_arguments_win_over_the_environment(root: Path, tmp_path: Path) -> None:
    _, env = cli.lab_command(
        lab_args("--root", str(root), "--db", str(tmp_path / "lab.db")),
        {"SESSIONKIT_ROOT": "/elsewhere", "SESSIONKIT_DB": "/elsewhere.db"},
        tmp_path / "repo",
    )
    assert env == {"SESSIONKIT_ROOT": str(root), "SESSIONKIT_DB": str(tmp_path / "lab.db")}


@pytest.mark.usefixtures("not_root")
def test_lab_command_keeps_a_configured_database_on_its_own_root(
    root: Path, db: str, tmp_path: Path
) -> None:
    """A database that records a root is never pointed at the demo."""
    _, env = cli.lab_command(lab_args(), {"SESSIONKIT_DB": db}, tmp_path / "repo")
    assert env == {"SESSIONKIT_ROOT": str(root), "SESSIONKIT_DB": db}
    assert not (tmp_path / "repo" / "demo-root").exists()


def test_lab_command_without_a_root_uses_the_demo_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    repo = tmp_path / "repo"
    command, env = cli.lab_command(lab_args(), {}, repo)
    assert command == [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={repo / 'notebooks'}",
        "--allow-root",
    ]
    assert env == {"SESSIONKIT_ROOT": str(repo / "demo-root")}
    first = sorted(path.name for path in (repo / "demo-root").iterdir())
    assert len(first) > 24  # 24 sessions, a dry-run folder and the demo marker
    # the next start finds it there and leaves it as it is
    assert cli.lab_command(lab_args(), {}, repo)[1] == env
    assert sorted(path.name for path in (repo / "demo-root").iterdir()) == first


class FakeServer:
    """Stands in for the Jupyter process: Ctrl-C once, then exits with code 3."""

    started: ClassVar[list[list[str]]] = []

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.started.append(command)
        self.interrupted = False

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def wait(self) -> int:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return 3


@pytest.mark.usefixtures("not_root")
def test_lab_runs_jupyter_and_returns_its_exit_code(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "repository", lambda: tmp_path / "repo")
    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    assert run(capsys, "lab", "--root", str(root), "--no-browser") == (
        3,
        "",
        f"sessions root: {root}\n",
    )
    assert FakeServer.started[-1][-1] == "--no-browser"


def test_lab_without_jupyterlab_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert run(capsys, "lab") == (
        1,
        "",
        "Error: JupyterLab is not installed: pip install 'sessionkit[notebook]'\n",
    )


def test_repository_holds_the_package() -> None:
    assert notebook.repository() == REPO
    assert (notebook.repository() / "sessionkit" / "cli.py").is_file()


# -- the installed program -----------------------------------------------------


def test_version_from_the_console_script() -> None:
    script = Path(sys.executable).parent / "sessionkit"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"sessionkit {sessionkit.__version__}\n",
        "",
    )


def test_python_m_sessionkit_runs_the_command_line(db: str) -> None:
    """``python -m sessionkit``: the same program when the script is not on PATH."""
    done = subprocess.run(
        [sys.executable, "-m", "sessionkit", "show", "nope", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("Error: unknown session 'nope'")


def test_the_version_is_defined_once() -> None:
    """pyproject.toml reads ``sessionkit.__version__`` instead of writing a second one."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "sessionkit.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", sessionkit.__version__)


def test_a_reader_that_stops_early_gets_no_traceback(db: str) -> None:
    """``sessionkit list | head``: the closed pipe ends the command quietly."""
    with subprocess.Popen(
        [sys.executable, "-m", "sessionkit", "list", "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before the program can have written anything
        err = process.stderr.read()
        code = process.wait()
    assert (code, err) == (1, b"")


# -- serve ---------------------------------------------------------------------


def serve_args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["serve", *argv])


def test_serve_command_runs_voila_on_the_app_notebook(root: Path, tmp_path: Path) -> None:
    """Local only by default, on Voila's port, and never quietly on another port."""
    repo = tmp_path / "repo"
    environ = {"SESSIONKIT_ROOT": str(root), "SESSIONKIT_TOKEN": "t0ken"}
    command, env = cli.serve_command(serve_args(), environ, repo)
    assert command == [
        sys.executable,
        "-m",
        "voila",
        str(repo / "notebooks" / "app.ipynb"),
        "--no-browser",
        "--port=8866",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--preheat_kernel=True",
        "--Voila.identity_provider_class=sessionkit.servetoken.TokenOnly",
        "--MappingKernelManager.cull_idle_timeout=120",
        "--MappingKernelManager.cull_interval=30",
        "--MappingKernelManager.cull_connected=False",
    ]
    assert env == {"SESSIONKIT_ROOT": str(root), "SESSIONKIT_TOKEN": "t0ken"}


@pytest.mark.parametrize(
    ("argv", "environ", "token"),
    [
        (("--token", "mine"), {"SESSIONKIT_TOKEN": "env"}, "mine"),
        ((), {"SESSIONKIT_TOKEN": "env"}, "env"),
        (("--no-token",), {"SESSIONKIT_TOKEN": "env"}, None),
        (("--no-token", "--host", "localhost"), {}, None),
        (("--no-token", "--host", "::1"), {}, None),
    ],
)
def test_serve_token_comes_from_the_option_the_environment_or_nowhere(
    argv: tuple[str, ...], environ: dict[str, str], token: str | None
) -> None:
    assert cli.serve_token(serve_args(*argv), environ) == token


def test_serve_makes_a_new_token_each_start() -> None:
    first, second = (cli.serve_token(serve_args(), {}) for _ in range(2))
    assert first and second and first != second and len(first) >= 32


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_no_token_is_refused_beyond_this_machine(
    host: str, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "serve", "--root", str(root), "--host", host, "--no-token")
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: --no-token serves {host} with no token")


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (("--cull-after", "8"), ["cull_idle_timeout=8", "cull_interval=2", "cull_connected=False"]),
        (("--cull-after", "2"), ["cull_idle_timeout=2", "cull_interval=1", "cull_connected=False"]),
        (("--cull-after", "0"), []),
    ],
)
def test_serve_culls_kernels_without_a_page(
    argv: tuple[str, ...], flags: list[str], root: Path, tmp_path: Path
) -> None:
    """Voila keeps a kernel per page until it stops unless Jupyter's culler is set up."""
    command, _ = cli.serve_command(serve_args(*argv), {"SESSIONKIT_ROOT": str(root)}, tmp_path)
    assert [a.removeprefix("--MappingKernelManager.") for a in command if "Kernel" in a] == flags


def test_serve_command_takes_root_db_port_and_host(root: Path, tmp_path: Path) -> None:
    command, env = cli.serve_command(
        serve_args(
            *("--root", str(root), "--db", str(tmp_path / "app.db")),
            *("--port", "9001", "--host", "0.0.0.0"),
        ),
        {"SESSIONKIT_ROOT": "/elsewhere", "SESSIONKIT_DB": "/elsewhere.db", "HOME": "/h"},
        tmp_path / "repo",
    )
    assert command[-8:-5] == ["--port=9001", "--Voila.ip=0.0.0.0", "--Voila.port_retries=0"]
    assert env.pop("SESSIONKIT_TOKEN")
    assert env == {
        "SESSIONKIT_ROOT": str(root),
        "SESSIONKIT_DB": str(tmp_path / "app.db"),
        "HOME": "/h",
    }


def test_serve_command_finds_the_root_as_lab_does(root: Path, db: str, tmp_path: Path) -> None:
    """A database that records a root serves that root; with nothing configured, the demo."""
    repo = tmp_path / "repo"
    no_token = serve_args("--no-token")
    assert cli.serve_command(no_token, {"SESSIONKIT_DB": db}, repo)[1] == {
        "SESSIONKIT_ROOT": str(root),
        "SESSIONKIT_DB": db,
    }
    assert not (repo / "demo-root").exists()
    assert cli.serve_command(no_token, {}, repo)[1] == {"SESSIONKIT_ROOT": str(repo / "demo-root")}
    assert (repo / "demo-root" / ".sessionkit-demo").exists()


def test_serve_url() -> None:
    assert cli.serve_url("127.0.0.1", 8866) == "http://127.0.0.1:8866/"
    assert cli.serve_url("::1", 80) == "http://[::1]:80/"
    assert cli.serve_url("0.0.0.0", 80, "a b") == "http://0.0.0.0:80/?token=a%20b"


def test_serve_prints_the_url_and_returns_voila_exit_code(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    argv = ("serve", "--root", str(root), "--port", "8870", "--token", "t0ken")
    code, out, err = run(capsys, *argv)
    assert (code, out) == (3, "serving the session browser on http://127.0.0.1:8870/?token=t0ken\n")
    assert err.startswith(f"sessions root: {root}\n")
    assert FakeServer.started[-1][2:4] == ["voila", str(REPO / "notebooks" / "app.ipynb")]


def test_serve_indexes_with_progress_before_voila_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first index runs in the terminal with a bar and counts, not in a page that waits."""
    demo = write_demo_root(tmp_path / "demo", sessions=12).root
    db = tmp_path / "app.db"
    counted: list[tuple[int, int]] = []

    class CountingServer(FakeServer):
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            super().__init__(command, env)
            with SessionKit(db=db, progress=False) as kit:
                counted.append((kit.count(), kit.count(liked=True)))

    monkeypatch.setattr(subprocess, "Popen", CountingServer)
    code, _, err = run(capsys, "serve", "--root", str(demo), "--db", str(db))
    assert code == 3
    [(sessions, liked)] = counted
    assert sessions > 0 and liked > 0  # indexed, and the demo marked, before Voila started
    assert re.search(r"indexing: +100%.*\b(\d+)/\1\b", err)  # the bar with its counts
    assert f"scanned {len(list(demo.glob('2*')))}" in err


def test_serve_on_a_missing_root_fails_before_voila(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(subprocess, "Popen", FakeServer)
    started = len(FakeServer.started)
    code, out, err = run(capsys, "serve", "--root", str(tmp_path / "nowhere"))
    assert (code, out) == (1, "")
    assert err.endswith(f"Error: sessions root {tmp_path / 'nowhere'} is not a folder\n")
    assert len(FakeServer.started) == started


def test_serve_without_voila_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert run(capsys, "serve") == (
        1,
        "",
        "Error: Voila is not installed: pip install 'sessionkit[app]'\n",
    )


def test_serve_without_the_app_notebook_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed wheel carries no notebooks: say where serve works instead of a Voila error."""
    monkeypatch.setattr(cli, "repository", lambda: tmp_path / "site-packages")
    code, out, err = run(capsys, "serve")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: the app notebook is missing: {tmp_path / 'site-packages' / 'notebooks'}"
        "/app.ipynb; serve runs from a clone\n"
    )


# -- images and rate -----------------------------------------------------------

IMAGE = "Portrait Study_0001_seed-101.png"
IMAGES_TABLE = """\
filename                          seed  rating   stars  tags    values
--------------------------------  ----  -------  -----  ------  ------------------
Portrait Study_0000_seed-100.png   100                          EXPRESSION=smiling
Portrait Study_0001_seed-101.png   101  like         4  keeper  EXPRESSION=neutral
Portrait Study_0002_seed-102.png   102  dislike                 EXPRESSION=sad
Portrait Study_0003_seed-103.png   103                          EXPRESSION=angry
4 images
"""


def test_rate_changes_only_what_it_is_given(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    def rate(*argv: str) -> tuple[int, str, str]:
        return run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, *argv)

    header = f"{PORTRAIT}/{IMAGE}\n"
    assert rate("--like", "--stars", "4", "--add-tag", "keeper", "--add-tag", "hands") == (
        0,
        header + "  rating: like\n  stars: 4\n  tags: keeper, hands\n  note: (none)\n",
        "",
    )
    assert rate("--note", "clear", "--remove-tag", "HANDS", "--remove-tag", "absent") == (
        0,
        header + "  rating: like\n  stars: 4\n  tags: keeper\n  note: clear\n",
        "",
    )
    assert rate("--dislike", "--clear-stars", "--clear-note") == (
        0,
        header + "  rating: dislike\n  stars: none\n  tags: keeper\n  note: (none)\n",
        "",
    )
    assert rate("--clear")[1].splitlines()[1] == "  rating: none"
    con = sqlite3.connect(db)
    row = con.execute("SELECT rating, stars, tags, note FROM image_metadata").fetchall()
    con.close()
    assert row == [(None, None, '["keeper"]', None)]


def test_rate_shows_a_note_on_one_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, "--note", "a\nb \x1b[31m")
    assert (code, out.splitlines()[-1]) == (0, "  note: a\\nb \\x1b[31m")


def test_rate_refusals_write_nothing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(db)

    def refused(*argv: str) -> str:
        code, out, err = run(capsys, "rate", *argv, "--db", db)
        assert (code, out) == (1, "")
        return err

    assert refused(PORTRAIT, IMAGE) == (
        "Error: nothing to mark: give --like, --dislike, --clear, --stars N, --clear-stars, "
        "--add-tag, --remove-tag, --note or --clear-note\n"
    )
    assert refused(PORTRAIT, "Portrait Study_0001_seed-111.png", "--like") == (
        f"Error: session '{PORTRAIT}' has no image 'Portrait Study_0001_seed-111.png'; "
        "did you mean 'Portrait Study_0001_seed-101.png'?\n"
    )
    assert refused(PORTRAIT, f"../{SWEEP}/Seed_Sweep_0000_seed-100.png", "--like").startswith(
        f"Error: session '{PORTRAIT}' has no image '../"
    )
    assert refused("nope", IMAGE, "--like") == "Error: unknown session 'nope'\n"
    assert refused(PORTRAIT, IMAGE, "--stars", "6") == (
        "Error: stars: must be a whole number from 1 to 5, or None (to clear), not 6\n"
    )
    assert refused(PORTRAIT, IMAGE, "--like", "--add-tag", "two words") == (
        "Error: tags: tag 'two words' may hold only letters, digits, '-' and '_' (no spaces)\n"
    )
    assert refused(PORTRAIT, IMAGE, "--note", "x" * 501) == (
        "Error: note: is 501 characters; the limit is 500\n"
    )
    for argv, message in (
        (("--like", "--dislike"), "argument --dislike: not allowed with argument --like"),
        (("--stars", "3", "--clear-stars"), "argument --clear-stars: not allowed with argument"),
        (("--stars", "three"), "argument --stars: invalid int value: 'three'"),
    ):
        code, out, err = run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, *argv)
        assert (code, out) == (2, "") and message in err
    assert dump(db) == before


def test_images_table_and_filters(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, "--like", "--stars", "4",
               "--add-tag", "keeper")[0] == 0  # fmt: skip
    second = "Portrait Study_0002_seed-102.png"
    assert run(capsys, "rate", PORTRAIT, second, "--db", db, "--dislike")[0] == 0
    assert run(capsys, "images", PORTRAIT, "--db", db) == (0, IMAGES_TABLE, "")
    code, out, _ = run(capsys, "images", PORTRAIT, "--db", db, "--rating", "like")
    assert (code, out) == (
        0,
        "filename                          seed  rating  stars  tags    values\n"
        "--------------------------------  ----  ------  -----  ------  ------------------\n"
        "Portrait Study_0001_seed-101.png   101  like        4  keeper  EXPRESSION=neutral\n"
        "1 image where rated like\n",
    )
    code, out, _ = run(capsys, "images", PORTRAIT, "--db", db, "--rating", "none", "--stars", "1")
    assert (code, out) == (0, "0 images where not rated and 1+ stars\n")
    code, out, _ = run(capsys, "images", PORTRAIT, "--db", db, "--stars", "3", "--tag", "KEEPER")
    assert out.splitlines()[2:] == [
        "Portrait Study_0001_seed-101.png   101  like        4  keeper  EXPRESSION=neutral",
        "1 image where 3+ stars and tag KEEPER",
    ]


def test_images_marks_a_file_that_is_gone(
    root: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, "--like")[0] == 0
    (root / PORTRAIT / IMAGE).unlink()
    assert run(capsys, "index", str(root), "--db", db, "--no-progress")[0] == 0
    assert run(capsys, "images", PORTRAIT, "--db", db, "--rating", "like")[1].splitlines()[2] == (
        f"{IMAGE} (no file)   101  like                 EXPRESSION=neutral"
    )


def test_images_csv_and_json_have_full_rows(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "rate", PORTRAIT, IMAGE, "--db", db, "--like", "--add-tag", "a")[0] == 0
    code, out, _ = run(capsys, "images", PORTRAIT, "--db", db, "--format", "json", "--rating",
                       "like")  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and len(rows) == 1
    assert {key: rows[0][key] for key in ("filename", "seed", "rating", "stars", "image_tags")} == {
        "filename": IMAGE,
        "seed": 101,
        "rating": "like",
        "stars": None,
        "image_tags": ["a"],
    }
    assert json.loads(rows[0]["applied_variations"]) == {"EXPRESSION": "neutral"}
    code, out, _ = run(capsys, "images", PORTRAIT, "--db", db, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [row["rating"] for row in table] == ["", "like", "", ""]
    assert table[1]["image_tags"] == '["a"]'
    assert list(table[0])[-4:] == ["rating", "stars", "image_tags", "image_note"]


def test_images_refusals(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "images", "nope", "--db", db) == (1, "", "Error: unknown session 'nope'\n")
    assert run(capsys, "images", PORTRAIT, "--db", db, "--stars", "0") == (
        1,
        "",
        "Error: stars must be a whole number from 1 to 5, not 0\n",
    )
    code, _, err = run(capsys, "images", PORTRAIT, "--db", db, "--rating", "great")
    assert code == 2 and "invalid choice: 'great'" in err
