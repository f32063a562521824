"""Per-image and per-variation facts of one session: the rules of the ``images`` and
``variations`` relations (see docs/data-model.md), applied once, when the session is indexed.

The scanner reads and decodes every manifest anyway (:mod:`sessionkit.manifest`);
:func:`details_of` takes the entries that one decoding built, merges them with
the folder listing and returns the rows as columns (:class:`Details`). The
rows are then kept on disk (:mod:`sessionkit.detailfiles`), so no later
process parses a manifest again.

The rules, once:

* one ``images`` row per file name listed in the manifest (the first entry of
  a name wins; empty or null names are skipped) or found on disk, listed
  entries in the manifest's order, then unlisted files by name;
* a manifest entry gives seed, prompts and applied variations; a file the
  manifest does not list gets the seed written in its name (``_seed-N``);
* when the session has no usable manifest, the first image by name gets the
  prompts and seed its infotext gave the stats;
* ``on_disk``, ``file_mtime`` and ``file_size`` come from the listing;
* text fields of another JSON type are kept as their JSON text (``12`` is
  ``"12"``); seeds are integers the way :func:`~sessionkit.manifest.as_int`
  reads them; ``applied_variations`` is a non-empty object's JSON text, else null;
* one ``variations`` row per (placeholder, value) listed as used or available,
  or applied by an entry of the manifest (counted as used), with how many
  entries applied it.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from itertools import chain
from typing import Any

import orjson

from sessionkit.manifest import (
    ImageEntry,
    Manifest,
    Unreadable,
    Variation,
    as_int,
    decode_leniently,
    map_scalars,
    no_surrogates,
    parse_manifest,
    read_bytes,
    within_64_bits,
)

IMAGE_COLUMNS = (
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
VARIATION_COLUMNS = ("session_id", "placeholder", "value", "used", "images")

_SEED_IN_NAME = re.compile(r"_seed-(-?\d+)")


@dataclass(frozen=True, slots=True)
class _Entry:
    """One element of the ``images`` list of a manifest read the tolerant way, as decoded."""

    filename: Any = None
    seed: Any = None
    prompt: Any = None
    negative_prompt: Any = None
    applied_variations: Any = None


@dataclass(slots=True)
class Details:
    """One session's ``images`` and ``variations`` rows, as parallel columns.

    Columns rather than a tuple per row: lists of plain values are the
    cheapest shape to build and to pickle from a worker, and the writer
    hands each column to DuckDB whole (:mod:`~sessionkit.detailfiles`).
    ``file_mtime`` is whole seconds since the epoch here; the writer turns
    it into local ISO time. ``applied_variations`` is each image's
    non-empty object as JSON text, or ``None``.
    """

    filename: list[str] = field(default_factory=list)
    seed: list[int | None] = field(default_factory=list)
    prompt: list[str | None] = field(default_factory=list)
    negative_prompt: list[str | None] = field(default_factory=list)
    applied_variations: list[str | None] = field(default_factory=list)
    on_disk: list[bool] = field(default_factory=list)
    file_mtime: list[int | None] = field(default_factory=list)
    file_size: list[int | None] = field(default_factory=list)
    placeholder: list[str] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    used: list[bool] = field(default_factory=list)
    images: list[int] = field(default_factory=list)

    def __reduce__(self) -> tuple[type[Details], tuple[list[Any], ...]]:
        # a worker sends ten thousand of these: positional lists pickle faster than slot state
        return (Details, _columns(self))

    def counts(self) -> tuple[int, int]:
        """Distinct seeds and distinct prompts among the images (for seed-sweep summaries)."""
        seeds = set(self.seed)
        prompts = set(self.prompt)
        return len(seeds - {None}), len(prompts - {None})


_columns = operator.attrgetter(*(f.name for f in fields(Details)))


@dataclass(frozen=True, slots=True)
class Fallback:
    """What the first image's infotext gave a session without a usable manifest."""

    prompt: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None


def session_details(
    manifest: bytes | None,
    names: list[str],
    mtimes: list[int],
    sizes: list[int],
    fallback: Fallback | None = None,
) -> Details:
    """Apply the rules above to one session's manifest bytes and image files.

    ``manifest`` is ``None`` when the session has no usable one; ``fallback``
    is given when the stats came from the first image's infotext instead.
    """
    parsed = parse_manifest(manifest) if manifest else None
    usable = parsed if isinstance(parsed, Manifest) else None
    return details_of(usable, manifest, names, mtimes, sizes, fallback)


def details_of(
    manifest: Manifest | None,
    data: bytes | None,
    names: list[str],
    mtimes: list[int],
    sizes: list[int],
    fallback: Fallback | None = None,
) -> Details:
    """:func:`session_details` of a manifest already parsed from ``data`` (the index's way).

    A manifest the typed decoder read gives its entries as they are; any
    other is read again from ``data`` by the tolerant rules.
    """
    details = Details()
    flags: dict[tuple[str, str], bool] = {}
    counts: Counter[tuple[str, str]] = Counter()
    typed = _typed(manifest) if manifest is not None else None
    if typed is not None:
        _listed_typed(typed.images, details)
        flags = _typed_flags(typed.variations)
        counts = _typed_counts(typed.images)
    elif manifest is not None and data:
        entries, variations = _tolerant(data)
        _listed_images(entries, details)
        flags = _flags(variations)
        counts = _applied_counts(entries)
    listed = {name: row for row, name in enumerate(details.filename)}
    _add_files(details, listed, names, mtimes, sizes, fallback)
    _add_variations(details, flags, counts)
    return details


def _typed(manifest: Manifest) -> Manifest | None:
    """The manifest when the typed decoder read it (its values need no conversion)."""
    return manifest if manifest.typed else None


def _tolerant(data: bytes) -> tuple[list[_Entry], dict[str, Any]]:
    """Any other manifest, read the lenient way of :mod:`sessionkit.manifest`.

    That way accepts a byte-order mark, ``NaN``, bytes that are not UTF-8 and
    lone surrogates, and values of any type where an object or a list belongs.
    """
    document = decode_leniently(data)
    if not isinstance(document, dict):
        return [], {}
    snapshot = document.get("snapshot")
    variations = snapshot.get("variations") if isinstance(snapshot, dict) else None
    return _entries(document.get("images")), variations if isinstance(variations, dict) else {}


def _entries(images: Any) -> list[_Entry]:
    if not isinstance(images, list):
        return []
    return [
        _Entry(
            item.get("filename"),
            item.get("seed"),
            item.get("prompt"),
            item.get("negative_prompt"),
            item.get("applied_variations"),
        )
        for item in images
        if isinstance(item, dict)
    ]


def _json_text(value: Any) -> str:
    """A JSON value's compact text; a lone surrogate or an integer past 64 bits made printable."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # read as U+FFFD and as null everywhere
        return orjson.dumps(map_scalars(map_scalars(value, within_64_bits), no_surrogates)).decode()


def _text(value: Any) -> str | None:
    """A string as it is, another JSON value as its JSON text, null as ``None``."""
    if value is None or isinstance(value, str):
        return value
    return _json_text(value)


def _listed_typed(entries: Sequence[ImageEntry], details: Details) -> None:
    """The common case: unique, non-empty names, typed values: whole columns at once."""
    names = [entry.filename for entry in entries]
    if "" in names or None in names or len(set(names)) != len(names):
        _listed_images(entries, details)
        return
    details.filename = names  # type: ignore[assignment]  # no None: checked above
    details.seed = [entry.seed for entry in entries]
    details.prompt = [entry.prompt for entry in entries]
    details.negative_prompt = [entry.negative_prompt for entry in entries]
    dumps = orjson.dumps
    details.applied_variations = [
        dumps(entry.applied_variations).decode() if entry.applied_variations else None
        for entry in entries
    ]
    details.on_disk = [False] * len(names)
    details.file_mtime = [None] * len(names)
    details.file_size = [None] * len(names)


def _listed_images(entries: Sequence[_Entry | ImageEntry], details: Details) -> None:
    """One row per listed file name, the first entry of a name winning, values converted."""
    seen: set[str] = set()
    for entry in entries:
        name = _text(entry.filename)
        if not name or name in seen:
            continue
        seen.add(name)
        details.filename.append(name)
        details.seed.append(as_int(entry.seed))
        details.prompt.append(_text(entry.prompt))
        details.negative_prompt.append(_text(entry.negative_prompt))
        applied = entry.applied_variations
        details.applied_variations.append(
            _json_text(applied) if isinstance(applied, dict) and applied else None
        )
        details.on_disk.append(False)
        details.file_mtime.append(None)
        details.file_size.append(None)


def _add_files(
    details: Details,
    listed: dict[str, int],
    names: list[str],
    mtimes: list[int],
    sizes: list[int],
    fallback: Fallback | None,
) -> None:
    """Mark listed files found on disk; add the unlisted ones, sorted by name."""
    if len(listed) == len(names) and _listed_exactly(details, names, mtimes, sizes):
        return
    first = min(names) if names else None
    unlisted: list[tuple[str, int, int]] = []
    for name, mtime, size in zip(names, mtimes, sizes, strict=True):
        row = listed.get(name)
        if row is None:
            unlisted.append((name, mtime, size))
            continue
        details.on_disk[row] = True
        details.file_mtime[row] = mtime
        details.file_size[row] = size
    for name, mtime, size in sorted(unlisted):
        infotext = fallback if fallback is not None and name == first else None
        details.filename.append(name)
        details.seed.append(
            _seed_in_name(name) if infotext is None else _fallback_seed(infotext, name)
        )
        details.prompt.append(infotext.prompt if infotext else None)
        details.negative_prompt.append(infotext.negative_prompt if infotext else None)
        details.applied_variations.append(None)
        details.on_disk.append(True)
        details.file_mtime.append(mtime)
        details.file_size.append(size)


def _listed_exactly(
    details: Details, names: list[str], mtimes: list[int], sizes: list[int]
) -> bool:
    """The common case, done column by column: the folder holds exactly the listed files."""
    position = {name: index for index, name in enumerate(names)}
    if len(position) != len(names):  # a name twice: not a listing the fast way can trust
        return False
    found = list(map(position.get, details.filename))
    if None in found:
        return False
    details.on_disk = [True] * len(found)
    details.file_mtime = list(map(mtimes.__getitem__, found))  # type: ignore[arg-type]
    details.file_size = list(map(sizes.__getitem__, found))  # type: ignore[arg-type]
    return True


def _fallback_seed(infotext: Fallback, name: str) -> int | None:
    return infotext.seed if infotext.seed is not None else _seed_in_name(name)


def _seed_in_name(name: str) -> int | None:
    """The seed written in a file name (``x_0003_seed-42.png``), within 64 bits."""
    match = _SEED_IN_NAME.search(name)
    return as_int(match[1]) if match else None


def _add_variations(
    details: Details, flags: dict[tuple[str, str], bool], counts: Counter[tuple[str, str]]
) -> None:
    """One row per (placeholder, value) listed or applied, sorted, with its image count."""
    keys = sorted(flags.keys() | counts.keys())
    details.placeholder = [key[0] for key in keys]
    details.value = [key[1] for key in keys]
    details.used = [flags.get(key, True) for key in keys]
    details.images = [counts.get(key, 0) for key in keys]


def _typed_flags(variations: dict[str, Variation]) -> dict[tuple[str, str], bool]:
    """Whether each listed (placeholder, value) is used; a used value stays used."""
    used: dict[tuple[str, str], bool] = {}
    for name, spec in variations.items():
        used.update(dict.fromkeys(((name, v) for v in spec.available), False))
        used.update(dict.fromkeys(((name, v) for v in spec.used), True))
    return used


def _flags(variations: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """:func:`_typed_flags` of ``snapshot.variations`` as the tolerant way decoded it."""
    used: dict[tuple[str, str], bool] = {}
    for name, spec in variations.items():
        if isinstance(spec, dict):
            used.update(dict.fromkeys(((name, v) for v in _values(spec.get("available"))), False))
            used.update(dict.fromkeys(((name, v) for v in _values(spec.get("used"))), True))
    return used


def _typed_counts(entries: Sequence[ImageEntry]) -> Counter[tuple[str, str]]:
    """How many entries applied each (placeholder, value), counted in C.

    Every entry counts, a repeated or nameless one included: it is what the
    generator applied.
    """
    return Counter(
        chain.from_iterable(
            entry.applied_variations.items() for entry in entries if entry.applied_variations
        )
    )


def _applied_counts(entries: Sequence[_Entry]) -> Counter[tuple[str, str]]:
    """:func:`_typed_counts` of entries read the tolerant way (values of any type)."""
    counts: Counter[tuple[str, str]] = Counter()
    for entry in entries:
        applied = entry.applied_variations
        if isinstance(applied, dict):
            counts.update(
                (name, text)
                for name, value in applied.items()
                if (text := _text(value)) is not None
            )
    return counts


def _values(value: Any) -> list[str]:
    """The text values of a ``used`` / ``available`` list (nulls dropped)."""
    if not isinstance(value, list):
        return []
    if all(type(item) is str for item in value):  # what the typed decoder always gives
        return value
    texts = (_text(item) for item in value)
    return [text for text in texts if text is not None]


def read_session_details(
    manifest_path: str,
    names: list[str],
    mtimes: list[int],
    sizes: list[int],
    fallback: Fallback | None,
) -> Details:
    """:func:`session_details` of the manifest at ``manifest_path`` (none if unreadable)."""
    data = read_bytes(manifest_path)
    if isinstance(data, Unreadable):
        return details_of(None, None, names, mtimes, sizes, fallback)
    parsed = parse_manifest(data)
    usable = parsed if isinstance(parsed, Manifest) else None
    return details_of(usable, data, names, mtimes, sizes, fallback)
