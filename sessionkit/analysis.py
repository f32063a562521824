"""Questions about one or two sessions that no image browser answers.

* :func:`missing_combinations`: which planned combinations of a
  combinatorial session have no image yet (a killed run, a server that
  failed some images), so the user can re-run exactly those.
* :func:`diff_sessions`: what differs between two sessions: model,
  template, parameters and the placeholder values they used.
* :func:`image_grid`: a session's images laid out by any two axes (seed or
  a placeholder), for contact sheets.

Both read the DuckDB mirror; neither writes anything.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pandas as pd

from sessionkit.errors import SessionKitError
from sessionkit.mirror import Mirror

MAX_COMBINATIONS = 1_000_000
"""A plan larger than this is refused rather than enumerated in memory."""

DIFF_FIELDS: tuple[tuple[str, str], ...] = (
    ("model", "sd_model"),
    ("template", "template_version"),
    ("template", "resolved_prompt"),
    ("template", "negative_prompt"),
    ("parameters", "generation_mode"),
    ("parameters", "seed_mode"),
    ("parameters", "seed_base"),
    ("parameters", "width"),
    ("parameters", "height"),
    ("parameters", "steps"),
    ("parameters", "cfg_scale"),
    ("parameters", "sampler_name"),
    ("parameters", "images_expected"),
)
DIFF_COLUMNS = ["aspect", "field", "a", "b"]
SEED_AXIS = "seed"
GRID_COLUMNS = ["row", "column", "filename", "path"]


class NotCombinatorial(SessionKitError):
    """Missing combinations only make sense for a combinatorial session."""


def missing_combinations(mirror: Mirror, session_id: str) -> pd.DataFrame:
    """The planned combinations with no image on disk, one column per placeholder.

    The plan is the product of each placeholder's *used* values (the
    generator's selection for this run), in the manifest's placeholder
    order; values within a placeholder are sorted. An image counts when its
    file is on disk and its ``applied_variations`` match the combination.
    """
    mode, order = _mode_and_placeholders(mirror, session_id)
    if mode != "combinatorial":
        raise NotCombinatorial(
            f"{session_id} is a {mode or 'unknown-mode'} session; missing combinations "
            "exist only for combinatorial sessions"
        )
    values = _used_values(mirror, session_id, order)
    names = [name for name in order if values.get(name)]
    planned = 1
    for name in names:
        planned *= len(values[name])
    if planned > MAX_COMBINATIONS:
        raise NotCombinatorial(
            f"{session_id} plans {planned:,} combinations, more than the "
            f"{MAX_COMBINATIONS:,} this lists"
        )
    rendered = _rendered(mirror, session_id, names)
    missing = [
        combination
        for combination in itertools.product(*(values[name] for name in names))
        if combination not in rendered
    ]
    return pd.DataFrame(missing, columns=names)


def _mode_and_placeholders(mirror: Mirror, session_id: str) -> tuple[str | None, list[str]]:
    frame = mirror.query(
        "SELECT generation_mode, placeholders_json FROM session_stats WHERE session_id = ?",
        [session_id],
    )
    if frame.empty:
        raise SessionKitError(f"unknown session {session_id!r}")
    placeholders = orjson.loads(frame["placeholders_json"].iloc[0] or "{}")
    mode = frame["generation_mode"].iloc[0]
    return (mode if isinstance(mode, str) else None), list(placeholders)


def _used_values(mirror: Mirror, session_id: str, order: list[str]) -> dict[str, list[str]]:
    frame = mirror.query(
        "SELECT placeholder, value FROM variations WHERE session_id = ? AND used "
        "ORDER BY placeholder, value",
        [session_id],
        details=True,
    )
    values: dict[str, list[str]] = {name: [] for name in order}
    for placeholder, value in frame.itertuples(index=False):
        values.setdefault(placeholder, []).append(value)
    return values


def _rendered(mirror: Mirror, session_id: str, names: list[str]) -> set[tuple[Any, ...]]:
    frame = mirror.query(
        "SELECT applied_variations FROM images WHERE session_id = ? AND on_disk "
        "AND applied_variations IS NOT NULL",
        [session_id],
        details=True,
    )
    rendered: set[tuple[Any, ...]] = set()
    for text in frame["applied_variations"]:
        applied = orjson.loads(text)
        rendered.add(tuple(applied.get(name) for name in names))
    return rendered


def diff_sessions(mirror: Mirror, a: str, b: str) -> pd.DataFrame:
    """Rows ``(aspect, field, a, b)`` for every difference between sessions ``a`` and ``b``.

    Aspects: ``model``, ``template``, ``parameters``, and ``variations``
    (per placeholder: the used values only ``a`` has, and only ``b`` has; a
    placeholder one session lacks shows ``None`` on that side).
    """
    stats = {session: _stats_row(mirror, session) for session in (a, b)}
    rows: list[list[Any]] = [
        [aspect, field, stats[a][field], stats[b][field]]
        for aspect, field in DIFF_FIELDS
        if not _same(stats[a][field], stats[b][field])
    ]
    used = {session: _used_values(mirror, session, []) for session in (a, b)}
    for name in dict.fromkeys([*used[a], *used[b]]):
        mine, theirs = used[a].get(name), used[b].get(name)
        if mine is None or theirs is None:
            rows.append(["variations", name, mine, theirs])
        elif set(mine) != set(theirs):
            only_a = sorted(set(mine) - set(theirs))
            only_b = sorted(set(theirs) - set(mine))
            rows.append(["variations", name, only_a, only_b])
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def _stats_row(mirror: Mirror, session_id: str) -> dict[str, Any]:
    columns = ", ".join(dict.fromkeys(field for _, field in DIFF_FIELDS))
    frame = mirror.query(f"SELECT {columns} FROM session_stats WHERE session_id = ?", [session_id])
    if frame.empty:
        raise SessionKitError(f"unknown session {session_id!r}")
    return {str(key): _plain(value) for key, value in frame.iloc[0].items()}


def _plain(value: Any) -> Any:
    """NaN and pandas' NA become ``None``, so that two missing values compare equal."""
    return None if value is None or pd.isna(value) else value


def _same(left: Any, right: Any) -> bool:
    return bool(left == right) if left is not None and right is not None else left is right


def image_grid(mirror: Mirror, session_id: str, rows: str, columns: str) -> pd.DataFrame:
    """One row per cell ``(row, column, filename, path)`` of the session's images on disk.

    ``rows`` and ``columns`` are each ``"seed"`` or a placeholder name: an
    image sits at (its seed or its value of that placeholder, ...). When
    several images share a cell (a third factor varied), the first by file
    name is kept, so the sheet shows one image per cell.
    """
    folder = mirror.query(
        "SELECT session_path FROM session_stats WHERE session_id = ?", [session_id]
    )
    if folder.empty:
        raise SessionKitError(f"unknown session {session_id!r}")
    images = mirror.query(
        "SELECT filename, seed, applied_variations FROM images "
        "WHERE session_id = ? AND on_disk ORDER BY filename",
        [session_id],
        details=True,
    )
    base = str(folder["session_path"].iloc[0])
    cells: dict[tuple[Any, Any], list[Any]] = {}
    for filename, seed, applied_text in images.itertuples(index=False):
        applied = orjson.loads(applied_text) if isinstance(applied_text, str) else {}
        key = (_axis_value(rows, seed, applied), _axis_value(columns, seed, applied))
        if None not in key and key not in cells:
            cells[key] = [*key, filename, f"{base}/{filename}"]
    return pd.DataFrame(list(cells.values()), columns=GRID_COLUMNS)


def _axis_value(axis: str, seed: Any, applied: dict[str, Any]) -> Any:
    if axis == SEED_AXIS:
        return None if pd.isna(seed) else int(seed)
    return applied.get(axis)
