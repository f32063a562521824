"""Thumbnails: made once, keyed by path + mtime + size, placeholder for bad files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from sessionkit.thumbs import ThumbnailCache, placeholder, session_images


def write_png(path: Path, size: tuple[int, int] = (640, 480), colour: str = "red") -> Path:
    Image.new("RGB", size, colour).save(path, "PNG")
    return path


@pytest.fixture
def cache(tmp_path: Path) -> ThumbnailCache:
    return ThumbnailCache(tmp_path / "thumbs")


def test_a_thumbnail_is_a_small_jpeg_made_once(cache: ThumbnailCache, tmp_path: Path) -> None:
    image = write_png(tmp_path / "a.png")
    first = cache.thumbnail(image)
    with Image.open(io.BytesIO(first)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == cache.side
        assert thumb.size == (160, 120)
    key = cache.key(image)
    assert key is not None
    stored = cache.path_for(key)
    made_at = stored.stat().st_mtime_ns
    assert cache.thumbnail(image) == first
    assert cache.made == 1 and stored.stat().st_mtime_ns == made_at
    assert ThumbnailCache(cache.folder).thumbnail(image) == first  # another process: disk cache


def test_the_key_changes_when_the_file_changes(cache: ThumbnailCache, tmp_path: Path) -> None:
    image = write_png(tmp_path / "a.png")
    before = cache.key(image)
    cache.thumbnail(image)
    write_png(image, (300, 300), "blue")
    os.utime(image, ns=(1, 1))
    after = cache.key(image)
    assert after != before
    cache.thumbnail(image)
    assert cache.made == 2
    with Image.open(io.BytesIO(cache.thumbnail(image))) as thumb:
        assert thumb.size == (160, 160)


def test_missing_and_corrupt_images_get_the_placeholder(
    cache: ThumbnailCache, tmp_path: Path
) -> None:
    assert cache.thumbnail(tmp_path / "gone.png") == placeholder()
    assert cache.key(tmp_path / "gone.png") is None
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert cache.thumbnail(corrupt) == placeholder()
    truncated = write_png(tmp_path / "truncated.png")
    truncated.write_bytes(truncated.read_bytes()[:200])
    assert cache.thumbnail(truncated) == placeholder()
    with Image.open(io.BytesIO(placeholder())) as image:
        assert image.format == "JPEG"


def test_data_uri(cache: ThumbnailCache, tmp_path: Path) -> None:
    assert cache.data_uri(None).startswith("data:image/jpeg;base64,/9j/")
    assert cache.data_uri(write_png(tmp_path / "a.png")).startswith("data:image/jpeg;base64,")


def test_an_unwritable_cache_still_returns_thumbnails(tmp_path: Path) -> None:
    blocker = tmp_path / "thumbs"
    blocker.write_text("a file where the folder should be")
    cache = ThumbnailCache(blocker)
    image = write_png(tmp_path / "a.png")
    assert cache.thumbnail(image) == cache.thumbnail(image)
    assert cache.made == 2
    assert not any(tmp_path.glob(".*.tmp"))


def test_session_images_lists_images_by_name(tmp_path: Path) -> None:
    for name in ("b.PNG", "a.jpg", "c.webp", "manifest.json", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in session_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp"]
    assert [p.name for p in session_images(tmp_path, 1)] == ["a.jpg"]
    assert session_images(tmp_path / "gone") == []
