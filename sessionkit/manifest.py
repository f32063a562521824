"""Parse ``manifest.json`` tolerantly into typed values.

The generator rewrites its manifest after every image, older writers use other
key names, and any key may be missing or ``null`` (see data-model.md §1). This
module absorbs all of that: :func:`parse_manifest` never raises. It returns a
:class:`Manifest` whose fields are ``None`` (or empty) where the file had no
usable value, or an :class:`Unreadable` that says why the file could not be
used at all. Key variants are merged here; the *meaning* of values (``-1`` is
a random seed, ``"unknown"`` is no model) is decided in :mod:`sessionkit.stats`.
"""

from __future__ import annotations

import json
import math
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

MAX_MANIFEST_BYTES = 512 * 1024 * 1024
"""Larger files are refused rather than parsed: no real manifest comes close
(100k listed images is about 60 MB) and parsing one would exhaust memory."""


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_TEXT = 40


@dataclass(frozen=True, slots=True)
class Variation:
    """One placeholder of ``snapshot.variations``."""

    available: tuple[str, ...] = ()
    used: tuple[str, ...] = ()
    count: int | None = None


class ImageEntry(NamedTuple):
    """One element of the manifest's ``images`` list.

    A named tuple rather than a dataclass: a manifest lists up to 100k of
    them, and a tuple is several times cheaper to build.
    """

    filename: str | None
    seed: int | None
    prompt: str | None
    negative_prompt: str | None
    applied_variations: dict[str, str] = {}  # noqa: RUF012 - never mutated


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a readable manifest says, with key variants already merged."""

    version: str | None = None
    timestamp: str | None = None
    sd_model: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    mode: str | None = None
    seed_mode: str | None = None
    base_seed: int | None = None
    num_images: int | None = None
    seed_list: tuple[int, ...] = ()
    api_params: dict[str, Any] = field(default_factory=dict)
    variations: dict[str, Variation] = field(default_factory=dict)
    images: tuple[ImageEntry, ...] = ()
    status: str | None = None
    generation_mode: str | None = None
    """Top-level ``generation_mode`` (``"seed-sweep"`` marks an explicit sweep)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A manifest that could not be used, and the reason in plain words."""

    reason: str


ParsedManifest = Manifest | Unreadable


def read_manifest(path: Path) -> ParsedManifest:
    """Read and parse the file at ``path``; I/O errors become :class:`Unreadable`."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the scan forever
            return Unreadable("manifest.json is not a regular file")
        size = info.st_size
        if size > MAX_MANIFEST_BYTES:
            return Unreadable(
                f"manifest.json is {size / 2**20:.0f} MB, over the "
                f"{MAX_MANIFEST_BYTES // 2**20} MB limit"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return Unreadable("manifest.json vanished while it was being read")
    except OSError as exc:
        return Unreadable(f"manifest.json cannot be read: {exc.strerror or exc}")
    return parse_manifest(data)


def parse_manifest(data: bytes) -> ParsedManifest:
    """Parse manifest bytes; never raises."""
    if len(data) > MAX_MANIFEST_BYTES:
        return Unreadable(f"manifest.json is over the {MAX_MANIFEST_BYTES // 2**20} MB limit")
    document = _decode(data)
    if isinstance(document, Unreadable):
        return document
    if not isinstance(document, dict):
        return Unreadable(f"manifest.json holds a JSON {_json_type(document)}, not an object")
    return _manifest_from(document)


def _decode(data: bytes) -> Any:
    """JSON-decode with orjson, falling back to lenient decoding.

    The fallback accepts what orjson refuses but a Python writer may produce:
    bytes that are not UTF-8 (replaced by U+FFFD), a byte-order mark, the
    ``NaN``/``Infinity`` literals and lone surrogate escapes (``"\\ud800"``)
    of :mod:`json`.
    """
    if not data.strip():
        return Unreadable("manifest.json is empty (the generator may be writing it)")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return _without_surrogates(json.loads(text))
    except json.JSONDecodeError as exc:
        if _cut_short(text, exc):
            return Unreadable(
                f"manifest.json is cut short at line {exc.lineno} "
                "(half-written; it is read again on the next scan)"
            )
        return Unreadable(f"manifest.json is not valid JSON ({exc.msg}, line {exc.lineno})")
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        return Unreadable(f"manifest.json is not valid JSON ({exc})")
    except RecursionError:
        return Unreadable("manifest.json is nested too deeply to parse")


_PARTIAL_TOKEN = re.compile(r"[\w.+\-]*")


def _cut_short(text: str, error: json.JSONDecodeError) -> bool:
    """Whether the text ends inside the value where parsing stopped (a half-written file).

    :mod:`json` reports the error at the start of the unfinished token: an
    open string, or a bare prefix such as ``7.``, ``-``, ``nu`` or ``Na``.
    """
    rest = text[error.pos :].strip()
    return error.msg.startswith("Unterminated string") or bool(_PARTIAL_TOKEN.fullmatch(rest))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(document: Any) -> Any:
    """Replace lone surrogates (unencodable as UTF-8) with U+FFFD, keys included.

    Only the rare fallback path needs this: orjson refuses such escapes.
    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    root: list[Any] = [document]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            for key in list(container):
                value = container.pop(key)
                container[_SURROGATE.sub("\ufffd", key)] = _clean(value, stack)
        else:
            for index, value in enumerate(container):
                container[index] = _clean(value, stack)
    return root[0]


def _clean(value: Any, stack: list[Any]) -> Any:
    """A string without surrogates; containers are queued for the caller's walk."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list | dict):
        stack.append(value)
    return value


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _manifest_from(document: dict[str, Any]) -> Manifest:
    snapshot = _dict(document.get("snapshot"))
    params = _dict(snapshot.get("generation_params"))
    template = _dict(snapshot.get("resolved_template"))
    return Manifest(
        version=as_text(snapshot.get("version"), allow_number=True),
        timestamp=as_text(snapshot.get("timestamp")),
        sd_model=as_text(_dict(snapshot.get("runtime_info")).get("sd_model_checkpoint")),
        prompt=as_text(template.get("prompt")),
        negative_prompt=as_text(template.get("negative")),
        mode=as_text(params.get("mode")),
        seed_mode=as_text(params.get("seed_mode")),
        base_seed=_first_int(params, "base_seed", "seed_base"),
        num_images=_first_int(params, "num_images", "max_images"),
        seed_list=tuple(s for s in map(as_int, _list(params.get("seed_list"))) if s is not None),
        api_params=_dict(snapshot.get("api_params")),
        variations=_variations(snapshot.get("variations")),
        images=tuple(
            _image(item) for item in _list(document.get("images")) if isinstance(item, dict)
        ),
        status=as_text(document.get("status")),
        generation_mode=as_text(document.get("generation_mode")),
    )


def _variations(value: Any) -> dict[str, Variation]:
    result: dict[str, Variation] = {}
    for name, body in _dict(value).items():
        spec = _dict(body)
        result[str(name)] = Variation(
            available=_texts(spec.get("available")),
            used=_texts(spec.get("used")),
            count=as_int(spec.get("count")),
        )
    return result


def _image(item: dict[str, Any]) -> ImageEntry:
    """One image entry; the common case (every value of the right type) takes a fast path."""
    filename = item.get("filename")
    seed = item.get("seed")
    prompt = item.get("prompt")
    negative = item.get("negative_prompt")
    applied = item.get("applied_variations")
    if type(filename) is not str:
        filename = as_text(filename)
    if type(seed) is not int or not _INT64_MIN <= seed <= _INT64_MAX:
        seed = as_int(seed)
    if type(prompt) is not str:
        prompt = as_text(prompt)
    if type(negative) is not str:
        negative = as_text(negative)
    if type(applied) is not dict:
        applied = {}
    elif not all(type(value) is str for value in applied.values()):
        applied = {
            str(key): text
            for key, value in applied.items()
            if (text := as_text(value, allow_number=True)) is not None
        }
    return ImageEntry(filename, seed, prompt, negative, applied)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _texts(value: Any) -> tuple[str, ...]:
    items = (as_text(item, allow_number=True) for item in _list(value))
    return tuple(item for item in items if item is not None)


def as_text(value: Any, *, allow_number: bool = False) -> str | None:
    """A string value, or ``None``; numbers become text only where asked."""
    if isinstance(value, str):
        return value
    if allow_number and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string; else ``None``.

    Values outside SQLite's signed 64-bit range are ``None`` too: storing them
    would fail, and no real count or A1111 seed comes near.
    """
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) <= _MAX_INT_TEXT:
        try:
            number = int(value.strip())
        except ValueError:
            return None
    return number if number is not None and _INT64_MIN <= number <= _INT64_MAX else None


def _first_int(params: dict[str, Any], *keys: str) -> int | None:
    """The first key among ``keys`` that holds an integer (for renamed keys)."""
    for key in keys:
        value = as_int(params.get(key))
        if value is not None:
            return value
    return None


def as_float(value: Any) -> float | None:
    """A finite float from a number or numeric string; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None
