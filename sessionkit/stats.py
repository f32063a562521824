"""Derive one session's stats from its manifest and its files.

This is the rulebook of docs/data-model.md ("The stats rules", "Seed sweeps"), as plain functions of
plain values: :func:`compute_session` takes the folder listing the scanner
made (:class:`SessionFiles`) and the parsed manifest, and returns a
:class:`SessionRecord` holding the ``session_stats`` row and the folder's
image files. Nothing here touches a database, so every rule is tested
directly and the scanner can run it in worker processes.

The session's per-image and per-variation rows are made here too, from the
same decoded manifest, by the rules of :mod:`sessionkit.details`, for the
writer (:mod:`sessionkit.detailfiles`).

Bump :data:`STATS_VERSION` whenever a rule changes: rows computed under an
older version are recomputed by the next scan.
"""

from __future__ import annotations

import math
import operator
import os
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from sessionkit.details import Details, Fallback, details_of
from sessionkit.infotext import Infotext, read_infotext
from sessionkit.manifest import (
    MANIFEST,
    ImageEntry,
    Manifest,
    ParsedManifest,
    Unreadable,
    as_float,
    as_int,
    as_text,
    parse_manifest,
    read_bytes,
)
from sessionkit.names import to_text

STATS_VERSION = 3
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
COMPLETE_PERCENT = 95.0
"""A session is *complete* when ``completion_percentage`` reaches this (the
``complete`` filter, the charts' line, the browser's badge)."""
SUMMARY_VALUES = 10
"""How many used values of each placeholder ``variations_summary_json`` keeps."""

_NEW_STYLE_NAME = re.compile(r"^(\d{8})_(\d{6})")
_OLD_STYLE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})_(\d{6})")
_UNKNOWN_MODELS = frozenset({"", "unknown"})


@dataclass(frozen=True, slots=True)
class SessionFiles:
    """The result of listing one session folder once (see :mod:`sessionkit.scan`).

    The image files are three parallel lists in the order the folder was
    read, not one object per file: the scanner lists a million of them.
    """

    session_id: str
    path: str
    names: list[str]
    """Names of the image files directly in the folder."""
    mtimes: list[int]
    """Modification times in whole seconds (every time sessionkit shows is to the second)."""
    sizes: list[int]
    has_manifest: bool
    signature: str
    """The scanner's change detector, stored with the stats."""
    is_dryrun: bool = False

    def text_names(self) -> list[str]:
        """The image files' names as stored (a name may not be UTF-8: :mod:`sessionkit.names`)."""
        if "".join(self.names).isascii():  # the common case: every name is stored as it is
            return self.names
        return [to_text(name) for name in self.names]

    def listing(self, names: list[str] | None = None) -> str:
        """The image files as the JSON text stored in ``sessionkit_files``: ``{"n", "t", "s"}``.

        ``names`` are :meth:`text_names`, when the caller has them already.
        """
        stored = self.text_names() if names is None else names
        return orjson.dumps({"n": stored, "t": self.mtimes, "s": self.sizes}).decode()


@dataclass(slots=True)
class SessionStats:
    """One ``session_stats`` row; field order is the table's column order."""

    session_id: str
    session_path: str
    sd_model: str | None = None
    template_version: str | None = None
    generation_mode: str | None = None
    seed_mode: str | None = None
    seed_base: int | None = None
    resolved_prompt: str | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    sampler_name: str | None = None
    images_expected: int = 0
    images_actual: int = 0
    completion_percentage: float = 0.0
    is_seed_sweep: int = 0
    placeholders_json: str = "{}"
    variations_summary_json: str = "{}"
    session_created_at: str | None = None
    manifest_generated_at: str | None = None
    first_image_created_at: str | None = None
    last_image_created_at: str | None = None
    stats_computed_at: str = ""
    stats_version: int = STATS_VERSION
    status: str | None = None
    stats_source: str = "none"
    stats_error: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The values in :data:`STATS_COLUMNS` order (the constructor's order too)."""
        return _stats_values(self)

    def __reduce__(self) -> tuple[type[SessionStats], tuple[Any, ...]]:
        return (SessionStats, self.row())


STATS_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SessionStats))
_stats_values = operator.attrgetter(*STATS_COLUMNS)


@dataclass(slots=True)
class SessionRecord:
    """Everything a scan stores for one session: its stats and its image files."""

    stats: SessionStats
    signature: str
    is_dryrun: bool
    files: str = '{"n":[],"t":[],"s":[]}'
    """The folder's image files, as :meth:`SessionFiles.listing` packs them."""
    details: Details = field(default_factory=Details)
    """The session's ``images`` and ``variations`` rows."""
    counts: tuple[int, int] = (0, 0)
    """Distinct seeds and prompts among its images."""

    def stats_row(self) -> tuple[Any, ...]:
        """The stats as a tuple in :data:`STATS_COLUMNS` order."""
        return self.stats.row()

    def __reduce__(self) -> tuple[type[SessionRecord], tuple[Any, ...]]:
        # records cross from worker processes by pickle, ten thousand at a time:
        # positional arguments pickle in half the time of slotted dataclass state
        return (
            SessionRecord,
            (self.stats, self.signature, self.is_dryrun, self.files, self.details, self.counts),
        )


def is_image_name(name: str) -> bool:
    """Whether a file is an image by its name; hidden files (macOS ``._x.png``) never are."""
    return name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")


def compute_session(files: SessionFiles, manifest: ParsedManifest | None = None) -> SessionRecord:
    """Apply every stats rule of docs/data-model.md to one session.

    ``manifest`` is the parsed ``manifest.json``; when omitted it is read from
    the folder (``None`` and no manifest file means the session has none).
    """
    data: bytes | None = None
    if manifest is None and files.has_manifest:
        read = read_bytes(os.path.join(files.path, MANIFEST))  # noqa: PTH118 - per session, str is cheaper
        manifest = read if isinstance(read, Unreadable) else parse_manifest(read)
        data = read if isinstance(read, bytes) else None
    usable = manifest if isinstance(manifest, Manifest) else None
    stats = SessionStats(
        session_id=files.session_id,
        session_path=to_text(files.path),
        images_actual=len(files.names),
        stats_computed_at=datetime.now().isoformat(timespec="seconds"),
    )
    if isinstance(manifest, Unreadable):
        stats.stats_error = manifest.reason
    if usable is not None:
        _apply_manifest(stats, usable)
    infotext = _first_infotext(files) if _needs_infotext(stats, usable) else None
    if infotext is not None:
        _apply_infotext(stats, infotext, manifest_usable=usable is not None)
    stats.stats_source = "manifest" if usable else ("images" if files.names else "none")
    _apply_counts(stats, usable)
    _apply_times(stats, files, usable)
    if usable is not None:
        stats.is_seed_sweep = int(is_seed_sweep(usable, stats.images_expected))
    fallback = (
        None if usable else Fallback(stats.resolved_prompt, stats.negative_prompt, stats.seed_base)
    )
    names = files.text_names()
    details = details_of(usable, data, names, files.mtimes, files.sizes, fallback)
    return SessionRecord(
        stats=stats,
        signature=files.signature,
        is_dryrun=files.is_dryrun,
        files=files.listing(names),
        details=details,
        counts=details.counts(),
    )


def _apply_manifest(stats: SessionStats, manifest: Manifest) -> None:
    params = manifest.api_params
    stats.sd_model = known_model(manifest.sd_model)
    stats.template_version = manifest.version
    stats.generation_mode = manifest.mode
    stats.seed_mode = manifest.seed_mode
    stats.seed_base = None if manifest.base_seed == -1 else manifest.base_seed
    stats.resolved_prompt = manifest.prompt
    stats.negative_prompt = manifest.negative_prompt
    stats.width = as_int(params.get("width"))
    stats.height = as_int(params.get("height"))
    stats.steps = as_int(params.get("steps"))
    stats.cfg_scale = as_float(params.get("cfg_scale"))
    stats.sampler_name = as_text(params.get("sampler_name")) or as_text(params.get("sampler"))
    stats.status = manifest.status
    stats.placeholders_json = _json({name: len(v.used) for name, v in manifest.variations.items()})
    stats.variations_summary_json = _json(
        {name: list(v.used[:SUMMARY_VALUES]) for name, v in manifest.variations.items()}
    )


def known_model(name: str | None) -> str | None:
    """The model name, or ``None`` for the writer's ``"unknown"`` (API was down)."""
    if name is None or name.strip().lower() in _UNKNOWN_MODELS:
        return None
    return name


def _needs_infotext(stats: SessionStats, manifest: Manifest | None) -> bool:
    """Read an image only when the manifest leaves a gap the infotext can fill."""
    wanted = (stats.sd_model, stats.width, stats.height, stats.steps, stats.cfg_scale)
    return manifest is None or stats.sampler_name is None or any(v is None for v in wanted)


def _first_infotext(files: SessionFiles) -> Infotext | None:
    """The infotext of the first image by file name, which holds what the server used."""
    if not files.names:
        return None
    return read_infotext(Path(files.path) / min(files.names))


def _apply_infotext(stats: SessionStats, info: Infotext, *, manifest_usable: bool) -> None:
    """Fill the gaps the manifest left; prompts only when there is no manifest.

    The model comes from the infotext wherever the manifest does not name one
    (no manifest, or a manifest that lost its ``runtime_info``): users would
    rather see the model the server reported than nothing.
    """
    stats.sd_model = stats.sd_model or known_model(info.model)
    stats.width = stats.width if stats.width is not None else info.width
    stats.height = stats.height if stats.height is not None else info.height
    stats.steps = stats.steps if stats.steps is not None else info.steps
    stats.cfg_scale = stats.cfg_scale if stats.cfg_scale is not None else info.cfg_scale
    stats.sampler_name = stats.sampler_name or info.sampler
    if not manifest_usable:
        stats.resolved_prompt = info.prompt
        stats.negative_prompt = info.negative_prompt
        stats.seed_base = info.seed if info.seed != -1 else None


def _apply_counts(stats: SessionStats, manifest: Manifest | None) -> None:
    stats.images_expected = images_expected(manifest)
    stats.completion_percentage = completion_percentage(stats.images_actual, stats.images_expected)


def images_expected(manifest: Manifest | None) -> int:
    """The planned image count, by the priority order of docs/data-model.md (``images_expected``).

    ``num_images`` (merged with the older ``max_images`` by the parser), else
    for combinatorial sessions the product of the non-zero ``len(used)``,
    else the number of listed images, else 0. ``total_combinations`` is never
    used: it ignores selectors and can be far larger than what was planned.
    """
    if manifest is None:
        return 0
    if manifest.num_images is not None and manifest.num_images >= 0:
        return manifest.num_images
    used_sizes = [len(v.used) for v in manifest.variations.values() if v.used]
    if manifest.mode == "combinatorial" and used_sizes:
        return math.prod(used_sizes)
    return len(manifest.images)


def completion_percentage(actual: int, expected: int) -> float:
    """``actual / expected`` in percent, rounded to 2 places; may exceed 100."""
    return round(actual / expected * 100, 2) if expected > 0 else 0.0


def is_seed_sweep(manifest: Manifest, planned: int) -> bool:
    """Whether the session compares seeds, by the order of evidence in docs/data-model.md."""
    if manifest.seed_list or manifest.generation_mode == "seed-sweep":
        return True
    seeded = [image for image in manifest.images if image.seed is not None]
    if len(seeded) >= 2:
        return _every_prompt_has_two_seeds(seeded)
    varying = sum(1 for v in manifest.variations.values() if len(v.used) > 1)
    return manifest.seed_mode == "progressive" and varying <= 1 and planned >= 2


def _every_prompt_has_two_seeds(images: list[ImageEntry]) -> bool:
    # Most sessions render each prompt once: more than half the images having
    # distinct prompts settles it without grouping (a set of strings is C-fast).
    if 2 * len({image.prompt for image in images}) > len(images):
        return False
    seeds: dict[str | None, set[int | None]] = {}
    for image in images:
        seeds.setdefault(image.prompt, set()).add(image.seed)
    return all(len(found) >= 2 for found in seeds.values())


def _apply_times(stats: SessionStats, files: SessionFiles, manifest: Manifest | None) -> None:
    generated = iso_timestamp(manifest.timestamp) if manifest else None
    stats.manifest_generated_at = generated
    stats.session_created_at = time_from_folder_name(files.session_id) or generated
    if files.mtimes:
        stats.first_image_created_at = _iso_from_epoch(min(files.mtimes))
        stats.last_image_created_at = _iso_from_epoch(max(files.mtimes))


def time_from_folder_name(name: str) -> str | None:
    """The start time encoded in a folder name (both styles), as ISO 8601."""
    match = _NEW_STYLE_NAME.match(name)
    if match:
        stamp = f"{match[1]}{match[2]}"
    elif match := _OLD_STYLE_NAME.match(name):
        stamp = f"{match[1]}{match[2]}{match[3]}{match[4]}"
    else:
        return None
    try:  # strptime would cost more than the rest of the session's stats
        return datetime(
            int(stamp[:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[8:10]),
            int(stamp[10:12]),
            int(stamp[12:14]),
        ).isoformat()
    except ValueError:
        return None


def iso_timestamp(value: str | None) -> str | None:
    """Normalise an ISO 8601 string to local naive time; ``None`` when it is not one.

    Stored times are compared as strings (date filters), so they must all
    share one shape: naive local time, like the generator's own timestamps.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is not None:
            moment = moment.astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError):  # not ISO, or shifted past year 1 / 9999
        return None
    return moment.isoformat()


def _iso_from_epoch(seconds: float) -> str:
    """Local ISO 8601 time to the second, like the generator's own timestamps."""
    return datetime.fromtimestamp(seconds).isoformat(timespec="seconds")


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
