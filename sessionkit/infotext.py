"""Read the generation parameters AUTOMATIC1111/Forge embed in images.

A1111 writes its "infotext" into a PNG text chunk named ``parameters`` (and
into the EXIF UserComment of JPEG/WebP files)::

    <prompt, possibly over several lines>
    Negative prompt: <negative prompt>
    Steps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: 42, Size: 512x768, Model: name, ...

It is what the server really used, so :mod:`sessionkit.stats` falls back to
it where a manifest is missing or silent. PNG chunks are walked by hand: it
reads a few hundred bytes instead of decoding the image, which matters when a
scan touches thousands of sessions.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_TEXT_CHUNK = 1 << 20
_PARAM = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
_NEGATIVE = "Negative prompt:"


@dataclass(frozen=True, slots=True)
class Infotext:
    """The parts of an A1111 infotext that sessionkit stores."""

    prompt: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    sampler: str | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    model: str | None = None


def read_infotext(path: Path) -> Infotext | None:
    """The infotext of the image at ``path``, or ``None`` when it has none or is unreadable."""
    try:
        raw = _png_parameters(path) if path.suffix.lower() == ".png" else _exif_parameters(path)
    except (OSError, ValueError, zlib.error, struct.error):
        return None
    return parse_infotext(raw) if raw else None


def parse_infotext(text: str) -> Infotext:
    """Split an infotext into prompt, negative prompt and its ``key: value`` line."""
    lines = text.strip().split("\n")
    params: dict[str, str] = {}
    if lines and len(_PARAM.findall(lines[-1])) >= 3:
        params = {key.strip(): _unquote(value) for key, value in _PARAM.findall(lines.pop())}
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    for line in lines:
        if negative_lines or line.startswith(_NEGATIVE):
            negative_lines.append(
                line.removeprefix(_NEGATIVE).strip() if not negative_lines else line
            )
        else:
            prompt_lines.append(line)
    width, height = _size(params.get("Size"))
    return Infotext(
        prompt="\n".join(prompt_lines).strip() or None,
        negative_prompt="\n".join(negative_lines).strip() or None,
        steps=_to_int(params.get("Steps")),
        sampler=params.get("Sampler") or None,
        cfg_scale=_to_float(params.get("CFG scale")),
        seed=_to_int(params.get("Seed")),
        width=width,
        height=height,
        model=params.get("Model") or None,
    )


def _png_parameters(path: Path) -> str | None:
    """Walk the PNG chunks until a ``parameters`` text chunk or the end."""
    with path.open("rb") as file:
        if file.read(8) != PNG_SIGNATURE:
            return None
        while header := file.read(8):
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I4s", header)
            if kind == b"IEND":
                return None
            if kind in (b"tEXt", b"iTXt", b"zTXt") and length <= _MAX_TEXT_CHUNK:
                value = _text_chunk(kind, file.read(length))
                if value is not None:
                    return value
                file.seek(4, 1)
            else:
                file.seek(length + 4, 1)
    return None


def _text_chunk(kind: bytes, data: bytes) -> str | None:
    """Decode a tEXt/zTXt/iTXt chunk when its keyword is ``parameters``."""
    keyword, _, rest = data.partition(b"\x00")
    if keyword != b"parameters":
        return None
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        return zlib.decompress(rest[1:]).decode("latin-1")
    compressed, _method = rest[0], rest[1]
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated, _, body = rest.partition(b"\x00")
    return (zlib.decompress(body) if compressed else body).decode("utf-8", errors="replace")


def _exif_parameters(path: Path) -> str | None:
    """A1111 stores JPEG/WebP infotext in EXIF UserComment (tag 0x9286)."""
    from PIL import Image  # imported here: Pillow is slow to import and rarely needed

    with Image.open(path) as image:
        comment = image.getexif().get_ifd(0x8769).get(0x9286)
    if isinstance(comment, bytes):
        prefix, body = comment[:8], comment[8:]
        if prefix.startswith(b"UNICODE"):
            return body.decode(_utf16_order(body), "replace")
        return body.decode("utf-8", errors="replace")
    return comment if isinstance(comment, str) else None


def _utf16_order(body: bytes) -> str:
    """Big-endian (what A1111 writes through piexif) unless the bytes say otherwise.

    A byte-order mark decides; else ASCII-heavy text has its zero bytes on
    the even positions when big-endian and on the odd ones when little-endian.
    """
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-16-le" if body[1::2].count(0) > body[0::2].count(0) else "utf-16-be"


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _size(value: str | None) -> tuple[int | None, int | None]:
    match = _SIZE.match(value or "")
    return (int(match[1]), int(match[2])) if match else (None, None)


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _to_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
