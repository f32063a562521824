"""Parse ``manifest.json`` tolerantly into typed values.

The generator rewrites its manifest after every image, older writers use other
key names, and any key may be missing or ``null`` (see docs/data-model.md). This
module absorbs all of that: :func:`parse_manifest` never raises. It returns a
:class:`Manifest` whose fields are ``None`` (or empty) where the file had no
usable value, or an :class:`Unreadable` that says why the file could not be
used at all. Key variants are merged here; the *meaning* of values (``-1`` is
a random seed, ``"unknown"`` is no model) is decided in :mod:`sessionkit.stats`.

One decoding serves both readers of the file:

* :func:`parse_manifest` first tries a typed msgspec decoder. It builds each
  listed image's five fields (:class:`ImageEntry`) and the few snapshot keys
  the stats read, and skips everything else in C; it is most of what an
  index costs beyond listing the folder. Anything that decoder refuses (a
  wrong type, a byte that is not UTF-8, ``NaN``, a half-written file) goes
  the tolerant way, so both ways give the same :class:`Manifest`.
* :mod:`sessionkit.details` makes the ``images`` and ``variations`` rows from
  the entries the typed decoder built (:attr:`Manifest.typed`), and reads a
  manifest that needed the tolerant way again with its own rules
  (:func:`decode_leniently`): a value of an unexpected type is kept there
  as its JSON text, where the stats drop it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
import orjson

MANIFEST = "manifest.json"
"""The file a session folder's generator writes (and rewrites after every image)."""
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
"""Larger files are refused rather than parsed: no real manifest comes close
(100k listed images is about 60 MB) and parsing one would exhaust memory."""


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
"""Integer text as :func:`as_int` accepts it (every reader of seeds and counts uses it)."""
_MAX_INT_TEXT = 40


@dataclass(frozen=True, slots=True)
class Variation:
    """One placeholder of ``snapshot.variations``."""

    available: tuple[str, ...] = ()
    used: tuple[str, ...] = ()
    count: int | None = None


_Int64 = Annotated[int, msgspec.Meta(ge=_INT64_MIN, le=_INT64_MAX)]


class ImageEntry(msgspec.Struct, frozen=True, gc=False):
    """One element of the manifest's ``images`` list, each field of the type writers use.

    A typed struct, so the fast decoder builds it directly from the JSON
    (a manifest lists up to 100k images). The stats read its seed and
    prompt; :mod:`sessionkit.details` reads all of it.
    """

    seed: _Int64 | None = None
    prompt: str | None = None
    filename: str | None = None
    negative_prompt: str | None = None
    applied_variations: dict[str, str] | None = None


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
    typed: bool = field(default=False, compare=False)
    """Read by the typed decoder: ``images`` and ``variations`` hold every value as
    written, so :mod:`sessionkit.details` can use them without reading the file again."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A manifest that could not be used, and the reason in plain words."""

    reason: str


ParsedManifest = Manifest | Unreadable


def read_manifest(path: str | os.PathLike[str]) -> ParsedManifest:
    """Read and parse the file at ``path``; I/O errors become :class:`Unreadable`."""
    data = read_bytes(path)
    return data if isinstance(data, Unreadable) else parse_manifest(data)


def read_bytes(path: str | os.PathLike[str]) -> bytes | Unreadable:
    """The file's bytes: one ``open``, one ``fstat`` and one read (it runs once per session).

    Opened non-blocking: opening a FIFO named ``manifest.json`` for reading
    would otherwise wait forever for a writer.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return Unreadable("manifest.json vanished while it was being read")
    except OSError as exc:
        return Unreadable(f"manifest.json cannot be read: {exc.strerror or exc}")
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return Unreadable("manifest.json is not a regular file")
        if info.st_size > MAX_MANIFEST_BYTES:
            return Unreadable(
                f"manifest.json is {info.st_size / 2**20:.0f} MB, over the "
                f"{MAX_MANIFEST_BYTES // 2**20} MB limit"
            )
        with open(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    except OSError as exc:
        return Unreadable(f"manifest.json cannot be read: {exc.strerror or exc}")
    finally:
        os.close(descriptor)


def parse_manifest(data: bytes) -> ParsedManifest:
    """Parse manifest bytes; never raises."""
    if len(data) > MAX_MANIFEST_BYTES:
        return Unreadable(f"manifest.json is over the {MAX_MANIFEST_BYTES // 2**20} MB limit")
    try:
        fast = _FAST_DECODER.decode(data)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        pass  # a type or a byte the typed decoder refuses: the tolerant way decides
    else:
        return _manifest_from(
            _snapshot_dict(fast.snapshot),
            tuple(fast.images or ()),
            fast.status,
            fast.generation_mode,
            typed=True,
        )
    document = decode_leniently(data)
    if isinstance(document, Unreadable):
        return document
    if not isinstance(document, dict):
        return Unreadable(f"manifest.json holds a JSON {_json_type(document)}, not an object")
    images = tuple(_image(item) for item in _list(document.get("images")) if isinstance(item, dict))
    return _manifest_from(
        document.get("snapshot"), images, document.get("status"), document.get("generation_mode")
    )


class _Variation(msgspec.Struct, gc=False):
    """One placeholder of ``snapshot.variations``: value lists of text only."""

    used: list[str] | None = None
    available: list[str] | None = None
    count: Any = None


class _Snapshot(msgspec.Struct, gc=False):
    """The snapshot keys the stats read; other keys are skipped."""

    version: Any = None
    timestamp: Any = None
    runtime_info: Any = None
    resolved_template: Any = None
    generation_params: Any = None
    api_params: Any = None
    variations: dict[str, _Variation] | None = None


class _Document(msgspec.Struct, gc=False):
    """The top level of a manifest as the fast decoder reads it; other keys are skipped."""

    snapshot: _Snapshot | None = None
    images: list[ImageEntry] | None = None
    status: Any = None
    generation_mode: Any = None


_FAST_DECODER = msgspec.json.Decoder(_Document)


def _snapshot_dict(snapshot: _Snapshot | None) -> dict[str, Any]:
    """The typed snapshot in the shape the tolerant way decodes it (one reading of both)."""
    if snapshot is None:
        return {}
    variations = snapshot.variations
    return {
        "version": snapshot.version,
        "timestamp": snapshot.timestamp,
        "runtime_info": snapshot.runtime_info,
        "resolved_template": snapshot.resolved_template,
        "generation_params": snapshot.generation_params,
        "api_params": snapshot.api_params,
        "variations": None
        if variations is None
        else {
            name: {"used": spec.used, "available": spec.available, "count": spec.count}
            for name, spec in variations.items()
        },
    }


def decode_leniently(data: bytes) -> Any:
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
    """
    return map_scalars(document, no_surrogates)


def _without_wide_integers(document: Any) -> Any:
    """Integers past 64 bits become ``None``, which is how every reader here takes them."""
    return map_scalars(document, within_64_bits)


def no_surrogates(value: Any) -> Any:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def within_64_bits(value: Any) -> Any:
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        return None
    return value


def map_scalars(document: Any, change: Callable[[Any], Any]) -> Any:
    """Apply ``change`` to every scalar and every key of a decoded document, in place.

    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    root: list[Any] = [document]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            for key in list(container):
                value = container.pop(key)
                container[change(key)] = _mapped(value, change, stack)
        else:
            for index, value in enumerate(container):
                container[index] = _mapped(value, change, stack)
    return root[0]


def _mapped(value: Any, change: Callable[[Any], Any], stack: list[Any]) -> Any:
    """A changed scalar; containers are queued for the caller's walk."""
    if isinstance(value, list | dict):
        stack.append(value)
        return value
    return change(value)


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _manifest_from(
    snapshot_value: Any,
    images: tuple[ImageEntry, ...],
    status: Any,
    generation_mode: Any,
    *,
    typed: bool = False,
) -> Manifest:
    snapshot = _dict(snapshot_value)
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
        images=images,
        status=as_text(status),
        generation_mode=as_text(generation_mode),
        typed=typed,
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
    """One image entry of a manifest the fast decoder refused, read value by value.

    Each field is what the typed decoder would give where it accepts the
    value (both ways must give equal manifests), ``None`` elsewhere.
    """
    applied = item.get("applied_variations")
    if not (isinstance(applied, dict) and all(type(v) is str for v in applied.values())):
        applied = None
    return ImageEntry(
        as_int(item.get("seed")),
        as_text(item.get("prompt")),
        as_text(item.get("filename")),
        as_text(item.get("negative_prompt")),
        applied,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _texts(value: Any) -> tuple[str, ...]:
    items = _list(value)
    if all(type(item) is str for item in items):  # the common case, without a call per item
        return tuple(items)
    texts = (as_text(item, allow_number=True) for item in items)
    return tuple(text for text in texts if text is not None)


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
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2.0**63:
        # strictly inside: a decoder may round -2**63 - 1 to the float -2**63
        number = int(value)
    elif isinstance(value, str) and len(value) <= _MAX_INT_TEXT:
        text = value.strip()
        if not _INTEGER_TEXT.fullmatch(text):  # no "1.5", "1e3", "0x10", "1_000"
            return None
        number = int(text)
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
