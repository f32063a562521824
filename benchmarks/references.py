"""The references every sessionkit figure is compared with, as plain code.

* :func:`io_floor`: the least any indexer must do, in one process: one
  ``os.scandir`` per session folder, a ``stat`` of every file, and reading
  each manifest's bytes (never parsed).
* :func:`persist_floor`: the least an indexer that keeps every image's row
  must do, in one process: the I/O floor, plus decoding each manifest's image
  entries (five fields, nothing else) and writing the rows with the listing's
  times and sizes as one Parquet file. No rule is applied and no stats are
  made; half of it is what two cores could do at best.
* :func:`naive_index`: the seed design's per-session algorithm: 4 globs to
  count images, 4 more globs and a sort for the first and last image times,
  ``json.load`` of the manifest, and a new sqlite3 connection and a commit
  for every session.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

IMAGE_PATTERNS = ("*.png", "*.jpg", "*.jpeg", "*.webp")


@dataclass(frozen=True, slots=True)
class FloorResult:
    seconds: float
    sessions: int
    files: int
    manifest_bytes: int


def session_folders(root: Path) -> list[str]:
    """The session folders under ``root`` (hidden ones and ``dryrun`` excluded)."""
    with os.scandir(root) as entries:
        return sorted(
            entry.path
            for entry in entries
            if entry.is_dir() and not entry.name.startswith(".") and entry.name != "dryrun"
        )


def io_floor(root: Path) -> FloorResult:
    """One process: scandir each session, stat every file, read each manifest's bytes."""
    started = time.perf_counter()
    folders = session_folders(root)
    files = 0
    manifest_bytes = 0
    for folder in folders:
        with os.scandir(folder) as entries:
            for entry in entries:
                entry.stat()
                files += 1
                if entry.name == "manifest.json":
                    with open(entry.path, "rb") as handle:
                        manifest_bytes += len(handle.read())
    return FloorResult(time.perf_counter() - started, len(folders), files, manifest_bytes)


class _Entry(msgspec.Struct):
    filename: str | None = None
    seed: int | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    applied_variations: msgspec.Raw = msgspec.Raw(b"null")


class _Images(msgspec.Struct):
    images: list[_Entry] = []


_DECODE = msgspec.json.Decoder(_Images).decode
_ROWS = """
SELECT e.session_id, e.filename, e.seed, e.prompt, e.negative_prompt, e.applied_variations,
       f.mtime, f.size
FROM entries e LEFT JOIN files f ON f.session_id = e.session_id AND f.name = e.filename
"""


@dataclass(frozen=True, slots=True)
class PersistResult:
    seconds: float
    rows: int


def persist_floor(root: Path) -> PersistResult:
    """The I/O floor plus decoding every image entry and writing the rows once.

    The cheapest form of each step: msgspec decodes only the five fields of
    each entry (``applied_variations`` kept as the raw JSON it is), every
    column goes to DuckDB as one NumPy array, and DuckDB joins the listing
    and writes one Parquet file, in C. A manifest msgspec refuses is skipped.
    """
    import duckdb
    import numpy as np

    started = time.perf_counter()
    listing: dict[str, list[object]] = {"session_id": [], "name": [], "mtime": [], "size": []}
    entries: dict[str, list[object]] = {k: [] for k in ("session_id", *_Entry.__struct_fields__)}
    for folder in session_folders(root):
        session = os.path.basename(folder)  # noqa: PTH119 - per session, str is cheaper
        with os.scandir(folder) as found:
            for entry in found:
                info = entry.stat()
                if entry.name == "manifest.json":
                    with open(entry.path, "rb") as handle:
                        _add_entries(entries, session, handle.read())
                else:
                    listing["session_id"].append(session)
                    listing["name"].append(entry.name)
                    listing["mtime"].append(info.st_mtime_ns // 1_000_000_000)
                    listing["size"].append(info.st_size)
    con = duckdb.connect(config={"threads": 1})
    con.register("files", {k: np.array(v, dtype=object) for k, v in listing.items()})
    con.register("entries", {k: np.array(v, dtype=object) for k, v in entries.items()})
    with tempfile.TemporaryDirectory() as folder:
        written = con.execute(f"COPY ({_ROWS}) TO '{folder}/rows.parquet' (FORMAT parquet)")
        rows = written.fetchall()[0][0]
    con.close()
    return PersistResult(time.perf_counter() - started, rows)


def _add_entries(columns: dict[str, list[object]], session: str, data: bytes) -> None:
    try:
        images = _DECODE(data).images
    except (msgspec.MsgspecError, ValueError):
        return
    columns["session_id"].extend([session] * len(images))
    columns["filename"].extend([e.filename for e in images])
    columns["seed"].extend([e.seed for e in images])
    columns["prompt"].extend([e.prompt for e in images])
    columns["negative_prompt"].extend([e.negative_prompt for e in images])
    columns["applied_variations"].extend([bytes(e.applied_variations).decode() for e in images])


_NAIVE_DDL = """
CREATE TABLE IF NOT EXISTS session_stats (
    session_id TEXT PRIMARY KEY, session_path TEXT, sd_model TEXT, resolved_prompt TEXT,
    images_expected INTEGER, images_actual INTEGER, completion_percentage REAL,
    first_image_created_at TEXT, last_image_created_at TEXT
)
"""


def naive_index(root: Path, db: Path) -> float:
    """The original design's algorithm over every session; returns the seconds it took."""
    started = time.perf_counter()
    with sqlite3.connect(db) as con:
        con.execute(_NAIVE_DDL)
    con.close()
    for folder in session_folders(root):
        path = Path(folder)
        count = sum(len(list(path.glob(pattern))) for pattern in IMAGE_PATTERNS)
        images = [image for pattern in IMAGE_PATTERNS for image in path.glob(pattern)]
        times = sorted(image.stat().st_mtime for image in images)
        manifest: dict[str, object] = {}
        try:
            with open(path / "manifest.json", encoding="utf-8") as handle:
                loaded = json.load(handle)
            manifest = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            manifest = {}
        snapshot = manifest.get("snapshot")
        snapshot = snapshot if isinstance(snapshot, dict) else {}
        params = snapshot.get("generation_params")
        params = params if isinstance(params, dict) else {}
        runtime = snapshot.get("runtime_info")
        runtime = runtime if isinstance(runtime, dict) else {}
        template = snapshot.get("resolved_template")
        template = template if isinstance(template, dict) else {}
        expected = params.get("num_images")
        expected = expected if isinstance(expected, int) else 0
        con = sqlite3.connect(db)
        con.execute(
            "INSERT OR REPLACE INTO session_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                path.name,
                folder,
                str(runtime.get("sd_model_checkpoint")),
                str(template.get("prompt")),
                expected,
                count,
                round(count / expected * 100, 2) if expected else 0.0,
                str(times[0]) if times else None,
                str(times[-1]) if times else None,
            ),
        )
        con.commit()
        con.close()
    return time.perf_counter() - started
