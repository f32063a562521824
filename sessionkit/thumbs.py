"""Small JPEG thumbnails of session images, made once and cached on disk.

The browser shows a page of cards and the detail view a strip of images;
decoding full-size PNGs on every redraw would take seconds. Each thumbnail
is encoded once into a cache folder (the widgets put it beside
``sessions.db``), under a key made of the image's path, modification time
and size, so an image rewritten in place gets a new thumbnail and an
unchanged one is never decoded again. A missing or unreadable image gets a
placeholder instead of an error: one bad file must not break a page.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import heapq
import io
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from sessionkit.names import fs_path
from sessionkit.stats import is_image_name

THUMB_SIDE = 160
JPEG_QUALITY = 75
_PLACEHOLDER_GREY = (205, 205, 205)


class ThumbnailCache:
    """Thumbnails of at most ``side`` pixels, cached as JPEG files under ``folder``.

    ``made`` counts the thumbnails encoded by this object (cache misses), so
    callers and tests can see that a thumbnail is made once.
    """

    def __init__(self, folder: str | os.PathLike[str], side: int = THUMB_SIDE) -> None:
        self.folder = Path(folder)
        self.side = side
        self.made = 0

    def key(self, image: str | os.PathLike[str]) -> str | None:
        """The cache key of ``image`` as it is now; ``None`` when it cannot be stat'ed."""
        try:
            info = Path(image).stat()
        except OSError:
            return None
        text = f"{os.fspath(image)}\0{info.st_mtime_ns}\0{info.st_size}\0{self.side}"
        return hashlib.sha1(os.fsencode(text), usedforsecurity=False).hexdigest()

    def path_for(self, key: str) -> Path:
        """Where the thumbnail of ``key`` lives (256 sub-folders keep folders small)."""
        return self.folder / key[:2] / f"{key}.jpg"

    def cached(self, image: str | os.PathLike[str]) -> bytes | None:
        """The JPEG bytes of ``image``'s thumbnail if it is cached; ``None`` if it must be made."""
        key = self.key(image)
        if key is None:
            return placeholder(self.side)
        try:
            return self.path_for(key).read_bytes()
        except OSError:
            return None  # not made yet (or the cache folder is unusable)

    def thumbnail(self, image: str | os.PathLike[str]) -> bytes:
        """The JPEG bytes of ``image``'s thumbnail, made now if not cached yet."""
        found = self.cached(image)
        if found is not None:
            return found
        key = self.key(image)
        if key is None:
            return placeholder(self.side)
        cached = self.path_for(key)
        data = encode(image, self.side)
        self.made += 1
        _write_atomically(cached, data)
        return data

    def data_uri(self, image: str | os.PathLike[str] | None) -> str:
        """The thumbnail as a ``data:`` URI, ready for an ``<img src>``; placeholder for None."""
        data = placeholder(self.side) if image is None else self.thumbnail(image)
        return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def encode(image: str | os.PathLike[str], side: int) -> bytes:
    """Decode ``image`` and encode a JPEG thumbnail; the placeholder when it cannot be read."""
    try:
        with Image.open(image) as source:
            source.draft("RGB", (side, side))  # JPEG sources decode at a reduced scale
            source.thumbnail((side, side))
            return _jpeg(source.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return placeholder(side)


@functools.cache
def placeholder(side: int = THUMB_SIDE) -> bytes:
    """A plain grey square: what a missing or corrupt image shows."""
    return _jpeg(Image.new("RGB", (side, side), _PLACEHOLDER_GREY))


def session_images(folder: str | os.PathLike[str], limit: int | None = None) -> list[Path]:
    """The image files directly in a session folder, sorted by name; ``[]`` if it is gone.

    ``folder`` may be a ``session_path`` as stored (:mod:`sessionkit.names`).
    """
    folder = fs_path(os.fspath(folder))
    try:
        with os.scandir(folder) as entries:
            # plain string work: a Path per file costs milliseconds per page of cards
            names = [entry.name for entry in entries if is_image_name(entry.name)]
    except OSError:
        return []
    chosen = sorted(names) if limit is None else heapq.nsmallest(limit, names)
    return [Path(folder) / name for name in chosen]


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name then rename: a reader never sees half a file.

    A cache that cannot be written (read-only, disk full) only costs speed:
    the thumbnail is still returned, and made again next time.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
