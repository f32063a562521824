"""A session's images: a full-size viewer, a grid with marks, and a side-by-side compare.

The three are anywidgets: a small JavaScript view each (``static/*.js``, no
build step) that owns the keyboard, which plain ipywidgets cannot do. Their
root element carries ``data-lm-suppress-shortcuts`` and their key handler
stops the keys it uses, so no key pressed in them reaches JupyterLab's
notebook shortcuts (``a`` would insert a cell, ``d d`` delete one). The keys
are listed in docs/widgets.md.

Image bytes travel as binary buffers of custom widget messages, never as
base64 inside HTML. A ``Bytes`` trait would be binary too, but would send the
current image again on every step although the browser already holds it:
the viewer sends each image once, the next and previous ones before they
are asked for, and the view keeps the last few in a cache keyed by file
name, so the next image is on screen without a round trip to the kernel.
Grid thumbnails come the same way, in batches, for the cells scrolled into
view (from the thumbnail cache on disk: one small JPEG each).

Images over :data:`DISPLAY_MAX_PIXELS` are downscaled for display, and work
that may decode a big image runs off the kernel's main thread (see
:class:`KernelRunner`), so a 100-megapixel PNG never freezes the notebook.
A missing, truncated or unreadable file shows what is wrong and what the
manifest says about the image.
"""

from __future__ import annotations

import concurrent.futures
import functools
import io
import math
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anywidget
import ipywidgets as w
import orjson
import traitlets as t
from PIL import Image, UnidentifiedImageError

from sessionkit.errors import SessionKitError
from sessionkit.kit import SessionKit
from sessionkit.names import fs_path
from sessionkit.store import NOTE_MAX_CHARS
from sessionkit.thumbs import ThumbnailCache
from sessionkit.widgets.debounce import kernel_loop

STATIC = Path(__file__).parent / "static"
DISPLAY_MAX_PIXELS = 4_000_000
"""Above this many pixels an image is downscaled (to about this many) before it is sent."""
DISPLAY_JPEG_QUALITY = 90
SENT_CACHE = 8
"""How many images the viewer assumes the browser still holds (its cache keeps 12)."""
PREPARED_CACHE = 16
"""Prepared display images kept in the kernel (a downscaled 100 MP file costs seconds)."""
THUMBS_PER_MESSAGE = 48
BROWSER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
RATING_KEYS = {"l": "like", "d": "dislike", "0": None}
STAR_KEYS: dict[str, int | None] = {str(stars): stars for stars in range(1, 6)}
STAR_KEYS["Backspace"] = None
PREVIOUS_KEYS = ("ArrowLeft", "j")
NEXT_KEYS = ("ArrowRight", "k")
MARK_FILTERS: dict[str, dict[str, Any]] = {
    "": {},
    "like": {"rating": "like"},
    "dislike": {"rating": "dislike"},
    "none": {"rating": "none"},
    **{f"stars{n}": {"stars": n} for n in range(1, 6)},
}
"""The grid's mark filter: its value in the view, and the ``kit.images`` filters it means."""

T = TypeVar("T")


# -- preparing images for the browser ---------------------------------------


@dataclass(frozen=True)
class Display:
    """What the browser gets for one image: bytes and type, or why there are none."""

    data: bytes = b""
    mime: str = ""
    error: str | None = None
    note: str | None = None
    """Set when the image is shown downscaled: the size it has on disk."""


def display_image(path: Path) -> Display:
    """``path`` ready to show: the file itself when small, a JPEG of ~4 MP when larger.

    A small PNG/JPEG/WebP/GIF is sent as it is (no decode in the kernel;
    PNG chunks are checked, so a truncated file is caught here). Larger
    images are reduced while decoding (``draft`` for JPEG, ``reduce`` inside
    ``thumbnail``), never copied at full size. Pillow's decompression-bomb
    guard stays on: past it, the image is refused with a message.
    """
    try:
        with warnings.catch_warnings():
            # between 89 and 179 MP Pillow only warns: we downscale those anyway
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                mime = BROWSER_TYPES.get(image.format or "")
                if mime and width * height <= DISPLAY_MAX_PIXELS:
                    image.verify()
                    return Display(path.read_bytes(), mime)
                image.thumbnail(fit_pixels(width, height, DISPLAY_MAX_PIXELS))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, "JPEG", quality=DISPLAY_JPEG_QUALITY)
                note = f"shown at {image.width}x{image.height}; the file is {width}x{height}"
                return Display(buffer.getvalue(), "image/jpeg", note=note)
    except FileNotFoundError:
        return Display(error="The image file is missing.")
    except Image.DecompressionBombError as error:
        return Display(error=f"The image is too large to show safely: {error}")
    except UnidentifiedImageError:
        return Display(error="The file is not an image that can be read.")
    except (OSError, ValueError, SyntaxError) as error:
        return Display(error=f"The image file could not be read ({error}).")


def fit_pixels(width: int, height: int, pixels: int) -> tuple[int, int]:
    """The largest size with ``width``'s aspect and at most ``pixels`` pixels."""
    scale = min(1.0, math.sqrt(pixels / max(1, width * height)))
    return max(1, int(width * scale)), max(1, int(height * scale))


class Runner(Protocol):
    """Run ``work`` (maybe elsewhere), then ``done`` with its result on the widgets' thread."""

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None: ...


class InlineRunner:
    """Run at once, in the caller's thread: plain Python processes and tests."""

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        done(work())


class KernelRunner:
    """Decode in a worker thread; hand the result back to the kernel's loop.

    Pillow releases the GIL while it decodes, so the kernel keeps answering
    keys (and marks keep being saved) while a big image is prepared; one
    worker keeps results in the order they were asked for.
    """

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sessionkit-images")

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        future = self.pool.submit(work)
        future.add_done_callback(
            lambda finished: self.loop.call_soon_threadsafe(done, finished.result())
        )


def default_runner() -> Runner:
    """A worker thread inside a Jupyter kernel, the caller's thread anywhere else."""
    loop = kernel_loop()
    return InlineRunner() if loop is None else KernelRunner(loop)


class _Prepared:
    """Display images of one session's files, the last few kept (keyed by file state)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, int, int], Display] = OrderedDict()

    def get(self, path: Path) -> Display:
        try:
            info = path.stat()
        except OSError:
            return display_image(path)  # says what is wrong with it
        key = (str(path), info.st_mtime_ns, info.st_size)
        found = self._kept.pop(key, None) or display_image(path)
        self._kept[key] = found
        while len(self._kept) > PREPARED_CACHE:
            self._kept.popitem(last=False)
        return found


# -- rows of kit.images as plain values --------------------------------------


def _plain(value: Any) -> Any:
    """A DataFrame cell as JSON-ready Python: ``None`` for NULL/NaN, ints for whole floats."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else (int(value) if value.is_integer() else value)
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return _plain(value.item())  # numpy scalars
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    return value


def _tags(value: Any) -> list[str]:
    if value is None or isinstance(value, (float, str)):
        return [value] if isinstance(value, str) else []
    return [str(tag) for tag in value]


def _applied(value: Any) -> list[list[str]]:
    """Applied values as ``[[placeholder, value], ...]``, whether stored as JSON or a mapping."""
    if isinstance(value, (str, bytes)):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return []
    if not isinstance(value, Mapping):
        return []
    return [[str(name), str(chosen)] for name, chosen in value.items()]


def image_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One row of ``kit.images`` as the widgets use it (JSON-ready, marks included)."""
    return {
        "filename": str(row["filename"]),
        "seed": _plain(row.get("seed")),
        "values": _applied(row.get("applied_variations")),
        "prompt": _plain(row.get("prompt")),
        "negative_prompt": _plain(row.get("negative_prompt")),
        "on_disk": bool(_plain(row.get("on_disk"))),
        "file_size": _plain(row.get("file_size")),
        "file_mtime": _plain(row.get("file_mtime")),
        "rating": _plain(row.get("rating")),
        "stars": _plain(row.get("stars")),
        "tags": _tags(_plain(row.get("image_tags"))),
        "note": _plain(row.get("image_note")),
    }


def with_marks(image: dict[str, Any], saved: Mapping[str, Any]) -> dict[str, Any]:
    """``image`` with the marks of a row the API returned after a write."""
    return {
        **image,
        "rating": saved.get("rating"),
        "stars": saved.get("stars"),
        "tags": _tags(saved.get("tags")),
        "note": saved.get("note"),
    }


def facts(image: Mapping[str, Any]) -> list[list[str]]:
    """What the manifest and the index know about an image, for when it cannot be shown."""
    size = image.get("file_size")
    pairs = [
        ("file", image["filename"]),
        ("seed", image.get("seed")),
        ("on disk", "yes" if image.get("on_disk") else "no"),
        ("size", f"{size:,} bytes" if isinstance(size, int) else None),
        ("modified", image.get("file_mtime")),
        *((f"{{{name}}}", value) for name, value in image.get("values", ())),
    ]
    return [[label, str(value)] for label, value in pairs if value is not None]


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The placeholders (and ``"seed"``) whose value differs between two images."""
    values_a, values_b = dict(a["values"]), dict(b["values"])
    names = list(dict.fromkeys([*values_a, *values_b]))
    differ = [name for name in names if values_a.get(name) != values_b.get(name)]
    return (["seed"] if a.get("seed") != b.get("seed") else []) + differ


# -- the widgets ---------------------------------------------------------------


def key_marks(key: str) -> dict[str, Any] | None:
    """The marks a key sets: ``l``/``d``/``0`` the rating, ``1``-``5`` stars, Backspace none."""
    if key in RATING_KEYS:
        return {"rating": RATING_KEYS[key]}
    if key in STAR_KEYS:
        return {"stars": STAR_KEYS[key]}
    return None


class _ImageWidget(anywidget.AnyWidget):
    """What the viewer, grid and compare share: one session, its images, marks, messages."""

    _css = STATIC / "images.css"
    focus_request = t.Int(0).tag(sync=True)
    """Bumped to move the keyboard focus into the view (after it replaced another)."""
    status = t.Unicode("").tag(sync=True)
    """The save state the view announces: ``"saved"``, or why the last write failed."""

    def __init__(self, kit: SessionKit, session_id: str, runner: Runner | None) -> None:
        super().__init__()
        self.kit = kit
        self.runner = runner or default_runner()
        self.on_escape: list[Callable[[str], None]] = []
        self._prepared = _Prepared()
        self.use_session(session_id)
        self.on_msg(lambda _widget, content, _buffers: self.receive(content))

    def use_session(self, session_id: str) -> None:
        self.session_id = session_id
        self.folder = Path(fs_path(self.kit.stats(session_id)["session_path"]))

    def read_images(self) -> dict[str, dict[str, Any]]:
        """The session's images by file name, marks as stored now."""
        rows = self.kit.images(self.session_id).to_dict("records")
        return {image["filename"]: image for image in map(image_row, rows)}

    def receive(self, message: Mapping[str, Any]) -> None:
        """Act on a message from the view (what the JavaScript sends; tests send the same)."""

    def request_focus(self) -> None:
        """Put the keyboard focus into the view."""
        self.focus_request += 1

    def escaped(self, filename: str) -> None:
        for callback in self.on_escape:
            callback(filename)

    def save_marks(self, filenames: Sequence[str], fields: dict[str, Any]) -> list[dict[str, Any]]:
        """Save marks now, all images in one transaction; the rows as saved (``[]``: failed).

        ``rating`` and ``stars`` go to any number of images; ``add_tags`` /
        ``remove_tags`` change tag lists as stored; ``tags`` and ``note``
        replace one image's. The error of a refused write shows in ``status``.
        """
        bulk = len(filenames) != 1 or "add_tags" in fields or "remove_tags" in fields
        try:
            if bulk:
                saved = self.kit.update_images_metadata(self.session_id, filenames, **fields)
            else:
                saved = [self.kit.update_image_metadata(self.session_id, filenames[0], **fields)]
        except SessionKitError as error:
            self.status = f"not saved: {error}"
            return []
        self.status = "saved"
        return saved

    def send_image(self, filename: str) -> None:
        """Prepare ``filename`` for display (off the main thread in a kernel) and send it."""
        path = self.folder / fs_path(filename)  # stored text: a name may not be UTF-8
        self.runner.submit(
            functools.partial(self._prepared.get, path),
            functools.partial(self._deliver, filename),
        )

    def _deliver(self, filename: str, shown: Display) -> None:
        message = {
            "type": "image",
            "filename": filename,
            "mime": shown.mime,
            "error": shown.error,
            "note": shown.note,
            "info": self.image_info(filename),
        }
        self.send(message, [shown.data] if shown.data else None)

    def image_info(self, filename: str) -> dict[str, Any]:
        """What the view shows beside an image it is sent (nothing by default)."""
        return {}


class ImageViewer(_ImageWidget):
    """One image of a session at full size, its values, prompt and marks; keys to cull.

    Keys (in the view): ←/→ or ``j``/``k`` previous/next, ``l`` like, ``d``
    dislike, ``0`` clear the rating, ``1``-``5`` stars, Backspace no stars,
    ``t`` the tag field (Enter adds the tag, Escape cancels), ``n`` the note
    (saved 1 s after the last keystroke and when the field is left; Escape
    leaves it), Escape back (``on_escape`` callbacks get the file name).
    Every other mark is saved at once through the API.

    ``filenames`` limits and orders the images stepped through (the grid
    passes its filtered list); by default every image of the session.
    """

    _esm = STATIC / "viewer.js"
    filename = t.Unicode("").tag(sync=True)
    info = t.Dict().tag(sync=True)
    """The current image: values, prompt, marks, ``index``, ``total`` and ``facts``."""
    neighbours = t.List(t.Unicode(), ["", ""]).tag(sync=True)
    """``[previous, next]`` file names (``""`` at an end), for the view's instant step."""
    closable = t.Bool(False).tag(sync=True)
    """Show a "back" button (inside the grid, where Escape returns to it)."""
    note_limit = t.Int(NOTE_MAX_CHARS).tag(sync=True)
    """The note field's counter and limit (the API refuses a longer note)."""

    def __init__(
        self,
        kit: SessionKit,
        session_id: str,
        filename: str | None = None,
        *,
        filenames: Sequence[str] | None = None,
        runner: Runner | None = None,
    ) -> None:
        super().__init__(kit, session_id, runner)
        self._sent: OrderedDict[str, None] = OrderedDict()
        self.images: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.add_class("sk-image-viewer")
        self.load(filename, filenames)

    @property
    def index(self) -> int:
        """The current image's place in ``order`` (-1 when there is none)."""
        return self.order.index(self.filename) if self.filename in self.order else -1

    def load(self, filename: str | None = None, filenames: Sequence[str] | None = None) -> None:
        """Read the session's images (marks as stored now) and show ``filename`` (or the first)."""
        self.images = self.read_images()
        wanted = list(filenames) if filenames is not None else list(self.images)
        self.order = [name for name in wanted if name in self.images]
        self.show(filename or (self.order[0] if self.order else ""))

    def show(self, filename: str) -> None:
        """Make ``filename`` current; send it and its neighbours if the view lacks them."""
        if filename and filename not in self.images:
            raise KeyError(f"{filename!r} is not an image of {self.session_id!r}")
        position = self.order.index(filename) if filename in self.order else -1
        around = [self._at(position - 1), self._at(position + 1)]
        self._prefetch(filename)
        with self.hold_sync():
            self.filename = filename
            self.info = self.image_info(filename) if filename else {"total": 0}
            self.neighbours = around
        for neighbour in (around[1], around[0], self._at(position + 2)):
            self._prefetch(neighbour)

    def step(self, offset: int) -> None:
        """Move ``offset`` images along the order, stopping at either end."""
        if self.index >= 0:
            self.show(self.order[max(0, min(len(self.order) - 1, self.index + offset))])

    def mark(self, **fields: Any) -> None:
        """Save marks of the current image now (``rating``, ``stars``, ``tags``, ``note``)."""
        self._save([self.filename], fields)

    def add_tag(self, tag: str) -> None:
        """Add one tag to the current image (the API validates it; an error shows in ``status``)."""
        if tag.strip():
            self._save([self.filename], {"add_tags": [tag.strip()]})

    def remove_tag(self, tag: str) -> None:
        self._save([self.filename], {"remove_tags": [tag]})

    def edit_note(self, filename: str, note: str, was: str) -> None:
        """Save ``note`` as ``filename``'s note, the view having started from ``was``.

        The view types into a note it was sent; when the stored note is no
        longer ``was`` (another page or program changed it meanwhile), nothing
        is written: the status says so and quotes it, the view keeps the
        user's text, and the next keystroke saves it over the other edit.
        """
        if filename not in self.images:
            return
        stored = self.kit.image_metadata(self.session_id, filename)
        if (stored["note"] or "") != was:
            self.images[filename] = with_marks(self.images[filename], stored)
            self.info = self.image_info(self.filename)
            self.status = (
                f"not saved: the note of {filename} was changed elsewhere; it reads "
                f"“{stored['note'] or ''}”. Your text is still in the field: type to save it."
            )
            return
        fields = {"note": note or None, "expected_updated_at": stored["updated_at"]}
        self._save([filename], fields)

    def receive(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            self._sent.clear()  # a new view starts with an empty cache
            self.show(self.filename)
        elif kind == "key":
            self.press(str(message.get("key")))
        elif kind == "tag":
            self.add_tag(str(message.get("tag", "")))
        elif kind == "untag":
            self.remove_tag(str(message.get("tag", "")))
        elif kind == "note":
            note, was = message.get("note"), message.get("was")
            if isinstance(note, str) and isinstance(was, str):
                self.edit_note(str(message.get("filename", "")), note, was)

    def press(self, key: str) -> None:
        """Do what ``key`` does in the view (the keys of the class docstring)."""
        if not self.filename:
            return
        if key in PREVIOUS_KEYS:
            self.step(-1)
        elif key in NEXT_KEYS:
            self.step(1)
        elif key == "Escape":
            self.escaped(self.filename)
        else:
            fields = key_marks(key)
            if fields is not None:
                self.mark(**fields)

    def image_info(self, filename: str) -> dict[str, Any]:
        image = self.images.get(filename)
        if image is None:
            return {}
        position = self.order.index(filename) if filename in self.order else -1
        return {**image, "index": position, "total": len(self.order), "facts": facts(image)}

    def _save(self, filenames: list[str], fields: dict[str, Any]) -> None:
        for saved in self.save_marks(filenames, fields):
            name = str(saved.get("filename") or filenames[0])
            self.images[name] = with_marks(self.images[name], saved)
        self.info = self.image_info(self.filename)

    def _at(self, position: int) -> str:
        return self.order[position] if 0 <= position < len(self.order) else ""

    def _prefetch(self, filename: str) -> None:
        """Send ``filename`` unless the view holds it already (as far as we know)."""
        if not filename or filename in self._sent:
            return
        self._sent[filename] = None
        while len(self._sent) > SENT_CACHE:
            self._sent.popitem(last=False)
        self.send_image(filename)


class ImageCompare(_ImageWidget):
    """Two images of a session side by side; the values and seed that differ are highlighted.

    Escape (or the "back" button) calls the ``on_escape`` callbacks.
    """

    _esm = STATIC / "compare.js"
    sides = t.List(t.Dict()).tag(sync=True)
    differs = t.List(t.Unicode()).tag(sync=True)
    """Placeholder names (and ``"seed"``) whose values differ between the two."""
    closable = t.Bool(False).tag(sync=True)

    def __init__(
        self, kit: SessionKit, session_id: str, a: str, b: str, *, runner: Runner | None = None
    ) -> None:
        super().__init__(kit, session_id, runner)
        self.add_class("sk-image-compare")
        self.compare(a, b)

    def compare(self, a: str, b: str) -> None:
        """Show images ``a`` and ``b`` (file names of this session)."""
        images = self.read_images()
        for name in (a, b):
            if name not in images:
                raise KeyError(f"{name!r} is not an image of {self.session_id!r}")
        with self.hold_sync():
            self.sides = [{**images[name], "facts": facts(images[name])} for name in (a, b)]
            self.differs = differences(images[a], images[b])
        self._send_both()

    def receive(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            self._send_both()
        elif kind == "key" and message.get("key") == "Escape":
            self.escaped(str(self.sides[0]["filename"]) if self.sides else "")

    def _send_both(self) -> None:
        for side in self.sides:
            self.send_image(str(side["filename"]))


class GridView(_ImageWidget):
    """The grid's own view: cells with thumbnails and marks, filters, selection, keys.

    Its messages go to ``handler`` (the :class:`ImageGrid` that owns it).
    """

    _esm = STATIC / "grid.js"
    items = t.List(t.Dict()).tag(sync=True)
    """The images the filters keep, in order: file name, seed, values and marks."""
    total = t.Int(0).tag(sync=True)
    placeholders = t.Dict().tag(sync=True)
    """``{placeholder: [values used]}`` for the value filters."""
    value_filter = t.Dict().tag(sync=True)
    mark_filter = t.Unicode("").tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    focused = t.Unicode("").tag(sync=True)
    """The file name with the focus ring (arrow keys move it)."""

    def __init__(
        self,
        kit: SessionKit,
        session_id: str,
        runner: Runner | None,
        handler: Callable[[Mapping[str, Any]], None],
    ) -> None:
        self.handler = handler
        super().__init__(kit, session_id, runner)

    def receive(self, message: Mapping[str, Any]) -> None:
        self.handler(message)


class ImageGrid(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Every image of a session with its marks; the viewer and compare open in its place.

    ``view`` is the grid itself (:class:`GridView`: filters, cells, selection);
    ``viewer`` and ``compare_view`` are made when first opened and replace the
    grid until Escape brings it back, the focus on the image just seen.

    Keys in the grid: arrows move the focus ring, Enter (or a click) opens
    the viewer, Space (or Ctrl/Shift+click, or a cell's check box) selects,
    Ctrl+A selects every image shown, ``l``/``d``/``0``/``1``-``5``/Backspace mark the
    selection (or the focused image) at once, ``t`` the tag field, ``c``
    compares the two selected images, Escape clears the selection.
    """

    def __init__(
        self,
        kit: SessionKit,
        session_id: str,
        *,
        thumbs: ThumbnailCache | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.kit = kit
        self.thumbs = thumbs or kit.thumbs
        self.runner = runner or default_runner()
        self.view = GridView(kit, session_id, self.runner, self.receive)
        self.view.observe(lambda _: self.refresh(), ["value_filter", "mark_filter"])
        self.viewer: ImageViewer | None = None
        self.compare_view: ImageCompare | None = None
        self._quiet = False
        self.showing: _ImageWidget = self.view
        super().__init__([self.view])
        self.add_class("sk-image-grid")
        self.show(session_id)

    @property
    def session_id(self) -> str:
        return self.view.session_id

    @property
    def filenames(self) -> list[str]:
        """The file names shown (the filters kept them), in order."""
        return [item["filename"] for item in self.view.items]

    def show(self, session_id: str) -> None:
        """Show a session's images (filters and selection start afresh)."""
        self.view.use_session(session_id)
        self.back_to_grid()
        images = self.view.read_images()
        values: dict[str, list[str]] = {}
        for image in images.values():
            for name, value in image["values"]:
                values.setdefault(name, [])
                if value not in values[name]:
                    values[name].append(value)
        with self.view.hold_sync(), self._quietly():
            self.view.total = len(images)
            self.view.placeholders = values
            self.view.value_filter = {}
            self.view.mark_filter = ""
            self.view.selected = []
            self.view.focused = next(iter(images), "")
            self.view.status = ""
        self.refresh()

    def refresh(self) -> None:
        """Query the images the filters keep (marks as stored now) and redraw the cells."""
        if self._quiet:
            return
        filters = dict(MARK_FILTERS.get(self.view.mark_filter, {}))
        values = {str(k): str(v) for k, v in self.view.value_filter.items() if v}
        frame = self.kit.images(self.session_id, values=values or None, **filters)
        items = [_cell(image_row(row)) for row in frame.to_dict("records")]
        shown = {item["filename"] for item in items}
        with self.view.hold_sync():
            self.view.items = items
            self.view.selected = [name for name in self.view.selected if name in shown]
            if self.view.focused not in shown:
                self.view.focused = items[0]["filename"] if items else ""

    # -- actions: the view's messages call these, and so can tests ---------------

    def receive(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        names = [str(name) for name in message.get("filenames", [])]
        if kind == "thumbs":
            self.send_thumbnails(names)
        elif kind == "open":
            self.open_viewer(str(message.get("filename")))
        elif kind == "mark":
            self.mark(names, str(message.get("key", "")))
        elif kind == "tag":
            self.add_tag(names, str(message.get("tag", "")))
        elif kind == "compare" and len(names) == 2:
            self.open_compare(names[0], names[1])

    def send_thumbnails(self, filenames: Iterable[str]) -> None:
        """Send the thumbnails of ``filenames`` in batches; made once, then cached on disk.

        Cached ones (a small file read each) go at once; the ones still to be
        made are decoded by the runner (off the main thread in a kernel).
        """
        shown = set(self.filenames)
        ready: dict[str, bytes] = {}
        missing: list[str] = []
        for name in filenames:
            if name in shown:
                found = self.thumbs.cached(self.view.folder / name)
                if found is None:
                    missing.append(name)
                else:
                    ready[name] = found
        names = list(ready)
        for start in range(0, len(names), THUMBS_PER_MESSAGE):
            batch = names[start : start + THUMBS_PER_MESSAGE]
            self._send_thumbnails(batch, [ready[name] for name in batch])
        for start in range(0, len(missing), THUMBS_PER_MESSAGE):
            batch = missing[start : start + THUMBS_PER_MESSAGE]
            paths = [self.view.folder / name for name in batch]
            self.runner.submit(
                functools.partial(self._thumbnails, paths),
                functools.partial(self._send_thumbnails, batch),
            )

    def mark(self, filenames: Sequence[str], key: str) -> None:
        """What a mark key does, to several images at once (the keys of the viewer)."""
        chosen = self._shown(filenames)
        fields = key_marks(key)
        if chosen and fields is not None and self.view.save_marks(chosen, fields):
            self.refresh()

    def add_tag(self, filenames: Sequence[str], tag: str) -> None:
        """Add ``tag`` to several images at once."""
        chosen = self._shown(filenames)
        if chosen and tag.strip() and self.view.save_marks(chosen, {"add_tags": [tag.strip()]}):
            self.refresh()

    def open_viewer(self, filename: str) -> None:
        """Open the viewer on ``filename`` in the grid's place, stepping through the grid's list."""
        if filename not in set(self.filenames):
            return
        if self.viewer is None:
            self.viewer = ImageViewer(
                self.kit, self.session_id, filename, filenames=self.filenames, runner=self.runner
            )
            self.viewer.closable = True
            self.viewer.on_escape.append(self.back_to_grid)
        else:
            if self.viewer.session_id != self.session_id:
                self.viewer.use_session(self.session_id)
            self.viewer.load(filename, self.filenames)
        self.view.focused = filename
        self._only(self.viewer)

    def open_compare(self, a: str, b: str) -> None:
        """Show images ``a`` and ``b`` side by side in the grid's place."""
        if self.compare_view is None:
            self.compare_view = ImageCompare(self.kit, self.session_id, a, b, runner=self.runner)
            self.compare_view.closable = True
            self.compare_view.on_escape.append(lambda _: self.back_to_grid())
        else:
            self.compare_view.use_session(self.session_id)
            self.compare_view.compare(a, b)
        self._only(self.compare_view)

    def back_to_grid(self, filename: str | None = None) -> None:
        """Back to the grid from the viewer or compare; the focus on ``filename`` if given."""
        if self.showing is self.view:
            return
        self.refresh()  # marks made in the viewer
        if filename in set(self.filenames):
            self.view.focused = filename
        self._only(self.view)

    def _only(self, shown: _ImageWidget) -> None:
        """Show ``shown`` in the grid's place and give it the keys; the others stay, hidden.

        Hidden, not removed: the grid keeps its thumbnails and scroll, the
        viewer its cache of images.
        """
        children: tuple[Any, ...] = tuple(getattr(self, "children", ()))
        if shown not in children:
            children = (*children, shown)
            self.children = children
        for child in children:
            child.layout.display = None if child is shown else "none"
        self.showing = shown
        shown.request_focus()

    def _shown(self, filenames: Sequence[str]) -> list[str]:
        shown = set(self.filenames)
        return [name for name in filenames if name in shown]

    def _thumbnails(self, paths: list[Path]) -> list[bytes]:
        return [self.thumbs.thumbnail(path) for path in paths]

    def _send_thumbnails(self, batch: list[str], data: list[bytes]) -> None:
        self.view.send({"type": "thumbs", "filenames": batch}, data)

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Set several filter traits without a query for each."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False


def _cell(image: Mapping[str, Any]) -> dict[str, Any]:
    """What a grid cell shows and filters on (the prompt is left to the viewer)."""
    keys = ("filename", "seed", "values", "rating", "stars", "tags", "on_disk")
    return {key: image[key] for key in keys}
