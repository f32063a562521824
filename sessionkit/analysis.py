"""Questions about one or two sessions that no image browser answers.

* :func:`missing_combinations`: which planned combinations of a
  combinatorial session have no image (a killed run, a server that failed
  some images), so the user can re-run exactly those.
* :func:`diff_sessions`: what differs between two sessions: model,
  template, parameters and the placeholder values they used.
* :func:`image_grid`: a session's images laid out by any two axes (seed or
  a placeholder), with their marks, for contact sheets.
* :func:`liked_values`: from the per-value like rates, the values to
  generate from next.

Both read the DuckDB mirror; neither writes anything.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from sessionkit.errors import SessionKitError
from sessionkit.manifest import MANIFEST, Manifest, as_int, read_manifest
from sessionkit.mirror import Mirror
from sessionkit.names import fs_path

LIKED_MIN_RATED = 2
"""Rated images a value needs before :func:`liked_values` trusts its like rate."""
LIKED_RATE = 0.5
"""A liked value is liked more often than disliked."""
DEFAULT_WEIGHT = 1
"""A placeholder's loop weight when its template gives none (``$W``)."""
MAX_LOOP_ORDERS = 5040
"""Loop orders tried at most when weights tie (every order of 7 placeholders)."""
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\[([^\]]*)\])?\}")
_POSITION = re.compile(r"_(\d{4,})(?:_seed--?\d+)?\.[A-Za-z]+$")

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
GRID_COLUMNS = ["row", "column", "filename", "path", "rating", "stars"]


class NotCombinatorial(SessionKitError):
    """Missing combinations only make sense for a combinatorial session."""


def missing_combinations(mirror: Mirror, session_id: str) -> pd.DataFrame:
    """What a combinatorial session planned and has no image for, in plan order.

    One row per hole in the file numbering (``<name>_<i:04d>[_seed-<n>].png``)
    below the planned count: ``position``, then the value of each looping
    placeholder (outer loop first), then ``seed`` when the session swept a
    ``seed_list``. The plan is the generator's walk (:func:`plan_of`); the
    images on disk say which positions exist. Combinations the used values
    allow but the walk never reached (``num_images`` stopped it) are not
    listed: they were never planned.
    """
    found = mirror.query(
        "SELECT generation_mode, session_path FROM session_stats WHERE session_id = ?",
        [session_id],
    )
    if found.empty:
        raise SessionKitError(f"unknown session {session_id!r}")
    mode = found["generation_mode"].iloc[0]
    if mode != "combinatorial":
        raise NotCombinatorial(
            f"{session_id} is a {mode if isinstance(mode, str) else 'unknown-mode'} session; "
            "missing combinations exist only for combinatorial sessions"
        )
    manifest = read_manifest(Path(str(found["session_path"].iloc[0])) / MANIFEST)
    if not isinstance(manifest, Manifest):
        raise NotCombinatorial(f"{session_id}: its manifest cannot be read ({manifest.reason})")
    images = mirror.query(
        "SELECT filename, applied_variations FROM images WHERE session_id = ? AND on_disk",
        [session_id],
        details=True,
        session_id=session_id,
    )
    rendered = {
        position: _applied(text)
        for position, text in zip(
            map(plan_position, images["filename"]), images["applied_variations"], strict=True
        )
        if position is not None
    }
    plan = plan_of(manifest, rendered)
    if plan is None:
        raise NotCombinatorial(
            f"{session_id}: its images follow no loop order of its placeholders, so the "
            "plan cannot be told"
        )
    holes = [position for position in range(plan.planned) if position not in rendered]
    names = [name for name, _ in plan.loops]
    columns = ["position", *names, *(["seed"] if plan.seeds else [])]
    rows = [
        [
            position,
            *plan.combination(position),
            *([plan.seed(position)] if plan.seeds else []),
        ]
        for position in holes
    ]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class Plan:
    """The generator's walk through a combinatorial session (docs/data-model.md).

    ``loops`` are the looping placeholders, outer first, each with its used
    values; the last varies fastest. Each combination is rendered ``repeats``
    times in a row: once per seed of a ``seed_list`` (``seeds``), else
    ``batch_count`` times. ``planned`` positions are walked: ``num_images``,
    or the whole walk when that is shorter or not given.
    """

    loops: tuple[tuple[str, tuple[str, ...]], ...]
    seeds: tuple[int, ...]
    repeats: int
    planned: int

    def combination(self, position: int) -> tuple[str, ...]:
        """The values (outer loop first) rendered at plan ``position``."""
        step = position // self.repeats
        values: list[str] = []
        for _, used in reversed(self.loops):
            step, index = divmod(step, len(used))
            values.append(used[index])
        return tuple(reversed(values))

    def seed(self, position: int) -> int | None:
        return self.seeds[position % len(self.seeds)] if self.seeds else None

    def agrees(self, rendered: dict[int, dict[str, Any]]) -> bool:
        """Whether every rendered image applied the values this plan puts at its position."""
        names = [name for name, _ in self.loops]
        return all(
            all(
                applied.get(name) == value
                for name, value in zip(names, self.combination(p), strict=True)
            )
            for p, applied in rendered.items()
            if applied and p < self.planned
        )


def plan_of(manifest: Manifest, rendered: dict[int, dict[str, Any]]) -> Plan | None:
    """The plan whose loop order the rendered images follow; ``None`` when none does.

    Loops are ordered by their ``$W`` weight in the template (lower is
    outer; default 1; weight 0 is a random value per image, not a loop).
    Ties are tried in the manifest's order first, then in every other order,
    and a ``batch_count`` with and without its repeats: the images that
    exist tell (which placeholder changes between consecutive positions).
    """
    weights = template_weights(manifest.prompt or "")
    looping = [
        (weights.get(name, DEFAULT_WEIGHT), name, tuple(dict.fromkeys(variation.used)))
        for name, variation in manifest.variations.items()
        if variation.used and weights.get(name, DEFAULT_WEIGHT) != 0
    ]
    looping.sort(key=lambda loop: loop[0])  # stable: ties keep the manifest's order
    seeds = manifest.seed_list
    groups = [list(group) for _, group in itertools.groupby(looping, key=lambda loop: loop[0])]
    orders = itertools.product(*(itertools.permutations(group) for group in groups))
    for order in itertools.islice(orders, MAX_LOOP_ORDERS):
        loops = tuple((name, used) for group in order for _, name, used in group)
        for repeats in dict.fromkeys([len(seeds) or _batch_count(manifest), 1]):
            total = math.prod(len(used) for _, used in loops) * repeats
            planned = total if manifest.num_images is None else min(manifest.num_images, total)
            plan = Plan(loops, seeds, repeats, max(planned, 0))
            if plan.agrees(rendered):
                return plan
    return None


def _batch_count(manifest: Manifest) -> int:
    """How many images each request made (``batch_count`` or A1111's ``n_iter``), at least 1."""
    params = manifest.api_params
    count = as_int(params.get("batch_count", params.get("n_iter")))
    return count if count is not None and count > 1 else 1


def template_weights(prompt: str) -> dict[str, int]:
    """``{placeholder: weight}`` from the ``$W`` options of a template's placeholders.

    ``{HAIR[#0-2;$1]}`` has weight 1, ``{LIGHTING[$0]}`` weight 0; a
    placeholder without one is absent (the default weight applies).
    """
    weights: dict[str, int] = {}
    for name, options in _PLACEHOLDER.findall(prompt):
        for option in options.split(";"):
            option = option.strip()
            if option.startswith("$") and option[1:].isdigit():
                weights.setdefault(name, int(option[1:]))
    return weights


def plan_position(filename: str) -> int | None:
    """The plan position written in an image's file name, or ``None``."""
    found = _POSITION.search(filename)
    return int(found.group(1)) if found else None


def _applied(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


def _used_values(mirror: Mirror, session_id: str, order: list[str]) -> dict[str, list[str]]:
    frame = mirror.query(
        "SELECT placeholder, value FROM variations WHERE session_id = ? AND used "
        "ORDER BY placeholder, value",
        [session_id],
        details=True,
        session_id=session_id,
    )
    values: dict[str, list[str]] = {name: [] for name in order}
    for placeholder, value in frame.itertuples(index=False):
        values.setdefault(placeholder, []).append(value)
    return values


def liked_values(
    ratings: pd.DataFrame, *, min_rated: int = LIKED_MIN_RATED
) -> dict[str, list[str]]:
    """Per placeholder, the values to generate from next: the ones liked more often than
    disliked over at least ``min_rated`` rated images, surest first.

    ``ratings`` is ``kit.value_ratings()`` (or a subset of it). "Surest" is
    the lower end of the like rate's interval, so a value liked 9 times out
    of 10 comes before one liked once out of once.
    """
    if ratings.empty:
        return {}
    keep = ratings[(ratings["rated"] >= min_rated) & (ratings["like_rate"] > LIKED_RATE)]
    keep = keep.sort_values(["placeholder", "like_rate_low"], ascending=[True, False])
    liked: dict[str, list[str]] = {}
    for placeholder, value in zip(keep["placeholder"], keep["value"], strict=True):
        values = liked.setdefault(str(placeholder), [])
        if value not in values:  # by_model frames hold a value once per model
            values.append(str(value))
    return liked


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
    """One row per cell ``(row, column, filename, path, rating, stars)`` of the session's
    images on disk (``rating`` and ``stars``: the image's marks, ``None`` when unmarked).

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
        "SELECT filename, seed, applied_variations, rating, stars FROM images "
        "WHERE session_id = ? AND on_disk ORDER BY filename",
        [session_id],
        details=True,
        session_id=session_id,
    )
    base = str(folder["session_path"].iloc[0])
    cells: dict[tuple[Any, Any], list[Any]] = {}
    for filename, seed, applied_text, rating, stars in images.itertuples(index=False):
        applied = orjson.loads(applied_text) if isinstance(applied_text, str) else {}
        key = (_axis_value(rows, seed, applied), _axis_value(columns, seed, applied))
        if None not in key and key not in cells:
            marks = [_plain(rating), None if pd.isna(stars) else int(stars)]
            cells[key] = [*key, filename, fs_path(f"{base}/{filename}"), *marks]
    return pd.DataFrame(list(cells.values()), columns=GRID_COLUMNS)


def _axis_value(axis: str, seed: Any, applied: dict[str, Any]) -> Any:
    if axis == SEED_AXIS:
        return None if pd.isna(seed) else int(seed)
    return applied.get(axis)
