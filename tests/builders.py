"""Build small sessions roots in tests, in the shapes the real generator writes."""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

INFOTEXT = (
    "beautiful woman, smiling\nNegative prompt: low quality\n"
    "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: {seed}, Size: 512x768, "
    "Model hash: 15012c538f, Model: realisticVisionV60B1_v51VAE, Version: v1.10.1"
)


def png_bytes(parameters: str | None = None) -> bytes:
    """A valid 1x1 PNG, with an A1111 ``parameters`` chunk when given."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    text = chunk(b"tEXt", b"parameters\x00" + parameters.encode("latin-1")) if parameters else b""
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80"))
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


def manifest(
    name: str = "Portrait",
    *,
    images: int = 4,
    num_images: int | None = None,
    model: str = "realisticVisionV60B1_v51VAE.safetensors [15012c538f]",
    prompt: str = "beautiful woman, {EXPRESSIONS}",
    seed_list: list[int] | None = None,
    seed_mode: str = "progressive",
    mode: str = "combinatorial",
    status: str | None = "completed",
    base_seed: int = 1000,
    expressions: tuple[str, ...] = ("smiling", "neutral"),
) -> dict[str, Any]:
    """A manifest in the current writer's shape, listing ``images`` images."""
    params: dict[str, Any] = {
        "mode": mode,
        "seed_mode": seed_mode,
        "base_seed": base_seed,
        "num_images": images if num_images is None else num_images,
        "total_combinations": 168,
    }
    if seed_list is not None:
        params["seed_list"] = seed_list
    document: dict[str, Any] = {
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
                "EXPRESSIONS": {
                    "available": [*expressions, "sad"],
                    "used": list(expressions),
                    "count": len(expressions) + 1,
                }
            },
            "fixed_placeholders": {},
            "theme_name": None,
            "style": "default",
        },
        "images": [
            {
                "filename": image_name(name, i, base_seed + i),
                "seed": base_seed + i,
                "prompt": prompt.replace("{EXPRESSIONS}", expressions[i % len(expressions)]),
                "negative_prompt": "low quality",
                "applied_variations": {"EXPRESSIONS": expressions[i % len(expressions)]},
            }
            for i in range(images)
        ],
    }
    if status is not None:
        document["status"] = status
    return document


def image_name(name: str, index: int, seed: int) -> str:
    return f"{name}_{index:04d}_seed-{seed}.png"


def write_session(
    root: Path,
    folder: str,
    document: dict[str, Any] | bytes | None,
    *,
    images: int | None = None,
    infotext: bool = True,
) -> Path:
    """Write a session folder: its manifest (dict, raw bytes or none) and its PNGs.

    Without ``images``, the files are the ones the manifest lists.
    """
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    names: list[str]
    if isinstance(document, dict):
        (path / "manifest.json").write_text(json.dumps(document, indent=1))
        names = [entry["filename"] for entry in document.get("images", [])]
    else:
        if document is not None:
            (path / "manifest.json").write_bytes(document)
        names = []
    if images is not None:
        stem = folder.split("-", 1)[-1]
        names = [image_name(stem, i, 1000 + i) for i in range(images)]
    for i, file_name in enumerate(names):
        text = INFOTEXT.format(seed=1000 + i) if infotext else None
        (path / file_name).write_bytes(png_bytes(text))
    return path


# The sd-generator WebUI's own tables, as its migrations create them.
WEBUI_SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE session_stats (
    session_name TEXT PRIMARY KEY, sd_model TEXT, sampler_name TEXT, scheduler TEXT,
    cfg_scale REAL, steps INTEGER, width INTEGER, height INTEGER,
    images_requested INTEGER DEFAULT 0, images_actual INTEGER DEFAULT 0,
    completion_percent REAL DEFAULT 0.0, placeholders_count INTEGER DEFAULT 0,
    placeholders TEXT, variations_theoretical INTEGER DEFAULT 0, variations_summary TEXT,
    session_type TEXT DEFAULT 'normal', is_seed_sweep INTEGER DEFAULT 0, seed_min INTEGER,
    seed_max INTEGER, seed_mode TEXT, session_created_at TEXT, stats_computed_at TEXT NOT NULL,
    completion_threshold REAL DEFAULT 0.95);
CREATE TABLE session_metadata (
    session_id TEXT PRIMARY KEY, session_path TEXT NOT NULL, is_test INTEGER DEFAULT 0,
    is_complete INTEGER DEFAULT 1, is_favorite INTEGER DEFAULT 0, user_rating TEXT,
    user_note TEXT, tags TEXT, auto_metadata TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE INDEX idx_stats_model ON session_stats(sd_model);
CREATE INDEX idx_stats_seed_sweep ON session_stats(is_seed_sweep);
CREATE INDEX idx_stats_created_at ON session_stats(session_created_at DESC);
CREATE INDEX idx_stats_completion ON session_stats(completion_percent);
INSERT INTO schema_version VALUES (1, 'Initial schema', '2026-11-24T13:30:36.573324');
INSERT INTO session_stats (session_name, sd_model, images_requested, images_actual,
    completion_percent, stats_computed_at)
    VALUES ('20251107_120000-Portrait', 'model_a', 16, 16, 1.0, '2026-11-24T13:30:57');
INSERT INTO session_metadata VALUES ('20251107_120000-Portrait',
    '/home/user/sd/sessions/20251107_120000-Portrait', 0, 1, 1, 'like',
    'keep this one', '["portrait", "keeper"]', NULL,
    '2026-11-24T13:31:38.196018', '2026-11-24T13:31:38.196018');
INSERT INTO session_metadata VALUES ('20251107_130000-Other',
    '/home/user/sd/sessions/20251107_130000-Other', 1, 0, 0, NULL, NULL, '[]', NULL,
    '2026-11-24T13:31:38.214302', '2026-11-24T13:31:38.214302');
"""


def write_webui_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(WEBUI_SCHEMA)
    con.close()


# sessionkit's own layout before version 4 (its stats under the WebUI's name).
_SESSIONKIT_V2_SCHEMA = """
CREATE TABLE sessionkit_schema (
    version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO sessionkit_schema VALUES (1, 'initial', '2026-11-01T00:00:00'),
    (2, 'session_details', '2026-11-02T00:00:00');
CREATE TABLE session_stats (
    session_id TEXT PRIMARY KEY, session_path TEXT NOT NULL, sd_model TEXT,
    template_version TEXT, generation_mode TEXT, seed_mode TEXT, seed_base INTEGER,
    resolved_prompt TEXT, negative_prompt TEXT, width INTEGER, height INTEGER, steps INTEGER,
    cfg_scale REAL, sampler_name TEXT, images_expected INTEGER, images_actual INTEGER,
    completion_percentage REAL, is_seed_sweep INTEGER, placeholders_json TEXT,
    variations_summary_json TEXT, session_created_at TEXT, manifest_generated_at TEXT,
    first_image_created_at TEXT, last_image_created_at TEXT, stats_computed_at TEXT NOT NULL,
    stats_version INTEGER, status TEXT, stats_source TEXT, stats_error TEXT, signature TEXT,
    is_dryrun INTEGER NOT NULL DEFAULT 0, missing_since TEXT);
CREATE INDEX idx_session_stats_sd_model ON session_stats(sd_model);
CREATE INDEX idx_session_stats_is_seed_sweep ON session_stats(is_seed_sweep);
CREATE INDEX idx_session_stats_completion ON session_stats(completion_percentage);
CREATE INDEX idx_session_stats_created_at ON session_stats(session_created_at DESC);
CREATE TABLE sessionkit_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session_metadata (
    session_id TEXT PRIMARY KEY, session_path TEXT NOT NULL, is_test INTEGER DEFAULT 0,
    is_complete INTEGER DEFAULT 1, is_favorite INTEGER DEFAULT 0, user_rating TEXT,
    user_note TEXT, tags TEXT, auto_metadata TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE session_details (
    session_id TEXT PRIMARY KEY, images TEXT NOT NULL, variations TEXT NOT NULL);
CREATE VIEW session_images AS
SELECT d.session_id, j.value ->> 0 AS filename FROM session_details d, json_each(d.images) j;
"""

_SESSIONKIT_V3_CHANGES = """
DROP VIEW session_images;
DROP TABLE session_details;
CREATE TABLE session_files (session_id TEXT PRIMARY KEY, files TEXT NOT NULL);
CREATE VIEW session_images AS
SELECT f.session_id, n.value AS filename FROM session_files f, json_each(f.files, '$.n') n;
INSERT INTO sessionkit_schema VALUES (3, 'session_files', '2026-11-03T00:00:00');
"""


def write_old_sessionkit_db(path: Path, version: int, *, over_webui: bool = False) -> None:
    """A ``sessions.db`` as sessionkit ``version`` (2 or 3) left it.

    With ``over_webui``, it was a WebUI database first: that sessionkit
    renamed the WebUI's ``session_stats`` to ``session_stats_webui``.
    """
    con = sqlite3.connect(path)
    if over_webui:
        con.executescript(WEBUI_SCHEMA)
        con.execute("ALTER TABLE session_stats RENAME TO session_stats_webui")
    con.executescript(_SESSIONKIT_V2_SCHEMA)
    if version == 3:
        con.executescript(_SESSIONKIT_V3_CHANGES)
    con.commit()
    con.close()


def sessionkit(*argv: str) -> subprocess.CompletedProcess[str]:
    """The ``sessionkit`` command in a process of its own, as a user runs it (output kept)."""
    return subprocess.run(
        [sys.executable, "-m", "sessionkit", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
