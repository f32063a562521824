"""The image viewer, grid and compare, driven as their JavaScript views drive them.

Keys and clicks arrive as the custom messages the views send (``receive``);
what the views get back is recorded from ``send``. Marks are checked in
``sessions.db`` itself, through a separate sqlite3 connection.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from builders import manifest, write_session
from sessionkit import SessionKit
from sessionkit.widgets import images
from sessionkit.widgets.detail import SessionDetail
from sessionkit.widgets.images import (
    DISPLAY_MAX_PIXELS,
    ImageCompare,
    ImageGrid,
    ImageViewer,
    InlineRunner,
    KernelRunner,
    differences,
    display_image,
    fit_pixels,
)

SESSION = "20251107_120000-Portrait"
IMAGES = 12
Sent = list[tuple[Any, dict[str, Any], list[bytes]]]


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[SessionKit]:
    """One session of 12 images, two expressions alternating, plus a second session."""
    root = tmp_path / "root"
    document = manifest(images=IMAGES, expressions=("smiling", "neutral"))
    document["images"][3]["prompt"] = "<script>alert(1)</script> & more"
    write_session(root, SESSION, document)
    write_session(root, "20251107_130000-Other", manifest(name="Other", images=3))
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as opened:
        opened.index()
        yield opened


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Every message a widget sends to its views: (widget, content, buffers)."""
    record: Sent = []

    def send(widget: Any, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        record.append((widget, content, list(buffers or [])))

    monkeypatch.setattr(images._ImageWidget, "send", send)
    return record


def names(kit: SessionKit, session_id: str = SESSION) -> list[str]:
    return [str(name) for name in kit.images(session_id)["filename"]]


def stored(kit: SessionKit, filename: str) -> tuple[Any, ...] | None:
    """rating, stars, tags of one image as sessions.db holds them (None: never marked)."""
    with sqlite3.connect(kit.db_path) as connection:
        row = connection.execute(
            "SELECT rating, stars, tags FROM image_metadata WHERE session_id = ? AND filename = ?",
            (SESSION, filename),
        ).fetchone()
    return tuple(row) if row else None


def images_sent(record: Sent) -> list[str]:
    return [content["filename"] for _, content, _ in record if content["type"] == "image"]


def key(widget: Any, pressed: str) -> None:
    widget.receive({"type": "key", "key": pressed})


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 30, 200)).save(buffer, "PNG")
    return buffer.getvalue()


# -- the viewer ----------------------------------------------------------------


def test_viewer_shows_the_first_image_and_sends_its_neighbours_ahead(
    kit: SessionKit, sent: Sent
) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, runner=InlineRunner())
    assert viewer.filename == every[0]
    assert (viewer.info["index"], viewer.info["total"]) == (0, IMAGES)
    assert viewer.neighbours == ["", every[1]]
    assert viewer.info["values"] == [["EXPRESSIONS", "smiling"]]
    assert viewer.info["seed"] == 1000
    # the current image first, then the next ones, before they are asked for
    assert images_sent(sent)[:3] == [every[0], every[1], every[2]]
    _, first, buffers = sent[0]
    assert first["mime"] == "image/png" and first["error"] is None
    assert buffers == [(kit.root / SESSION / every[0]).read_bytes()]  # type: ignore[operator]
    assert first["info"]["filename"] == every[0]


def test_arrows_and_j_k_step_and_each_image_is_sent_once(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, every[5], runner=InlineRunner())
    assert viewer.info["index"] == 5
    key(viewer, "ArrowRight")
    assert viewer.filename == every[6]
    key(viewer, "k")
    assert viewer.filename == every[7]
    key(viewer, "j")
    key(viewer, "ArrowLeft")
    assert viewer.filename == every[5]
    assert viewer.neighbours == [every[4], every[6]]
    shipped = images_sent(sent)
    assert len(shipped) == len(set(shipped)), "an image the view holds was sent again"
    assert every[8] in shipped  # two ahead while on 6
    # a new view (a reload) starts with an empty cache: everything around is sent again
    sent.clear()
    viewer.receive({"type": "ready"})
    assert images_sent(sent)[:2] == [every[5], every[6]]


def test_the_ends_stop_the_viewer(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, every[-1], runner=InlineRunner())
    key(viewer, "ArrowRight")
    assert viewer.filename == every[-1]
    assert viewer.neighbours == [every[-2], ""]
    viewer.step(-100)
    assert viewer.filename == every[0]


def test_mark_keys_are_saved_at_once(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, runner=InlineRunner())
    key(viewer, "ArrowRight")
    key(viewer, "ArrowRight")
    key(viewer, "l")
    key(viewer, "3")
    assert stored(kit, every[2])[:2] == ("like", 3)  # type: ignore[index]
    assert (viewer.info["rating"], viewer.info["stars"]) == ("like", 3)
    assert viewer.status == "saved"
    key(viewer, "d")
    assert stored(kit, every[2])[:2] == ("dislike", 3)  # type: ignore[index]
    key(viewer, "3")  # pressed again: still 3
    assert stored(kit, every[2])[:2] == ("dislike", 3)  # type: ignore[index]
    key(viewer, "Backspace")
    key(viewer, "0")
    assert stored(kit, every[2])[:2] == (None, None)  # type: ignore[index]
    assert stored(kit, every[0]) is None and stored(kit, every[1]) is None
    key(viewer, "x")  # not a key of the viewer: nothing happens
    assert viewer.filename == every[2]


def test_tags_are_added_and_removed_and_a_bad_one_is_refused(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, runner=InlineRunner())
    viewer.receive({"type": "tag", "tag": " keeper "})
    assert viewer.info["tags"] == ["keeper"]
    assert kit.image_metadata(SESSION, every[0])["tags"] == ["keeper"]
    viewer.receive({"type": "tag", "tag": "x" * 500})
    assert viewer.status.startswith("not saved: ")
    assert "tag" in viewer.status
    assert kit.image_metadata(SESSION, every[0])["tags"] == ["keeper"]
    viewer.receive({"type": "untag", "tag": "keeper"})
    assert viewer.info["tags"] == []
    assert viewer.status == "saved"


def test_a_note_typed_in_the_viewer_is_saved_and_a_conflict_is_reported(
    kit: SessionKit, sent: Sent
) -> None:
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, runner=InlineRunner())
    assert viewer.note_limit == 500
    viewer.receive({"type": "note", "filename": every[1], "note": "hands <b>", "was": ""})
    assert kit.image_metadata(SESSION, every[1])["note"] == "hands <b>"  # any image, by name
    assert viewer.status == "saved" and viewer.images[every[1]]["note"] == "hands <b>"

    kit.update_image_metadata(SESSION, every[1], note="from another page")
    viewer.receive({"type": "note", "filename": every[1], "note": "mine", "was": "hands <b>"})
    assert kit.image_metadata(SESSION, every[1])["note"] == "from another page"  # not lost
    assert viewer.status.startswith("not saved: the note of ")
    assert "“from another page”" in viewer.status
    assert viewer.images[every[1]]["note"] == "from another page"  # the view's new baseline
    again = {"type": "note", "filename": every[1], "note": "mine", "was": "from another page"}
    viewer.receive(again)
    assert kit.image_metadata(SESSION, every[1])["note"] == "mine"

    viewer.receive({"type": "note", "filename": every[1], "note": "x" * 501, "was": "mine"})
    assert viewer.status.startswith("not saved: ") and "500" in viewer.status
    viewer.receive({"type": "note", "filename": every[1], "note": "", "was": "mine"})
    assert kit.image_metadata(SESSION, every[1])["note"] is None  # an emptied note is cleared
    viewer.receive({"type": "note", "filename": "no-such.png", "note": "x", "was": ""})
    viewer.receive({"type": "note", "filename": every[1], "note": None, "was": ""})
    assert kit.image_metadata(SESSION, every[1])["note"] is None


def test_escape_is_an_event_python_sees(kit: SessionKit, sent: Sent) -> None:
    viewer = ImageViewer(kit, SESSION, runner=InlineRunner())
    seen: list[str] = []
    viewer.on_escape.append(seen.append)
    key(viewer, "Escape")
    assert seen == [viewer.filename]


def test_the_viewer_steps_through_the_list_it_is_given(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    chosen = every[::3]
    viewer = ImageViewer(kit, SESSION, chosen[1], filenames=chosen, runner=InlineRunner())
    assert (viewer.info["index"], viewer.info["total"]) == (1, len(chosen))
    key(viewer, "ArrowRight")
    assert viewer.filename == chosen[2]
    with pytest.raises(KeyError):
        viewer.show("no-such.png")


def test_text_from_files_reaches_the_view_as_data_only(kit: SessionKit, sent: Sent) -> None:
    """The prompt travels as a plain string; the views put it in with textContent only."""
    every = names(kit)
    viewer = ImageViewer(kit, SESSION, every[3], runner=InlineRunner())
    assert viewer.info["prompt"] == "<script>alert(1)</script> & more"
    views = {"viewer.js", "grid.js", "compare.js"}  # the image widgets' own views
    for script in Path(images.STATIC).glob("*.js"):  # the page address's script too
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text), (
            script.name
        )
        if script.name in views:  # views the keyboard reaches keep its keys from JupyterLab
            assert 'setAttribute("data-lm-suppress-shortcuts"' in text, script.name
            assert "stopPropagation()" in text, script.name
    assert views <= {script.name for script in Path(images.STATIC).glob("*.js")}


def test_a_missing_file_is_said_and_its_facts_shown(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    (kit.root / SESSION / every[1]).unlink()  # type: ignore[operator]
    viewer = ImageViewer(kit, SESSION, every[1], runner=InlineRunner())
    message = next(content for _, content, _ in sent if content["filename"] == every[1])
    assert message["error"] == "The image file is missing."
    facts = dict(message["info"]["facts"])
    assert facts["seed"] == "1001"
    assert facts["{EXPRESSIONS}"] == "neutral"
    assert viewer.info["facts"] == message["info"]["facts"]


# -- preparing images ------------------------------------------------------------


def test_a_small_image_is_sent_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    path.write_bytes(png(832, 1216))
    shown = display_image(path)
    assert (shown.data, shown.mime, shown.error, shown.note) == (
        path.read_bytes(),
        "image/png",
        None,
        None,
    )


def test_a_large_image_is_downscaled_to_about_four_megapixels(tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    path.write_bytes(png(4000, 2000))
    shown = display_image(path)
    assert shown.mime == "image/jpeg" and shown.error is None
    with Image.open(io.BytesIO(shown.data)) as image:
        assert image.width * image.height <= DISPLAY_MAX_PIXELS
        assert abs(image.width / image.height - 2.0) < 0.01
    assert shown.note == f"shown at {image.width}x{image.height}; the file is 4000x2000"
    assert fit_pixels(100, 100, 40_000) == (100, 100)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", "The file is not an image that can be read."),
        (None, "The image file could not be read"),  # truncated
    ],
    ids=["not-an-image", "truncated"],
)
def test_a_damaged_file_is_said(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content if content is not None else png(64, 64)[:-30])
    shown = display_image(path)
    assert shown.data == b""
    assert shown.error is not None and shown.error.startswith(message)


def test_a_decompression_bomb_is_refused_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png(400, 300))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # 120,000 px is then a "bomb"
    shown = display_image(path)
    assert shown.data == b""
    assert shown.error is not None and shown.error.startswith("The image is too large to show")


def test_the_kernel_runner_decodes_off_the_main_thread_and_answers_on_the_loop() -> None:
    loop = asyncio.new_event_loop()
    runner = KernelRunner(loop)
    threads: dict[str, int] = {}
    finished = asyncio.Event()

    def work() -> int:
        threads["work"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        threads["done"] = threading.get_ident()
        threads["value"] = value
        finished.set()

    async def wait() -> None:
        runner.submit(work, done)
        await asyncio.wait_for(finished.wait(), 10)

    try:
        loop.run_until_complete(wait())
    finally:
        loop.close()
        runner.pool.shutdown()
    assert threads["value"] == 42
    assert threads["done"] == threading.get_ident() != threads["work"]


# -- the grid ------------------------------------------------------------------------


def test_the_grid_holds_every_image_with_its_marks(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    kit.update_image_metadata(SESSION, every[10], rating="like", stars=4)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    assert grid.filenames == every
    assert grid.view.total == IMAGES > 8
    assert grid.view.placeholders == {"EXPRESSIONS": ["smiling", "neutral"]}
    cell = grid.view.items[10]
    assert (cell["rating"], cell["stars"], cell["seed"]) == ("like", 4, 1010)
    assert "prompt" not in cell
    assert grid.view.focused == every[0]


def test_the_grid_filters_by_value_and_by_mark(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    grid.view.value_filter = {"EXPRESSIONS": "neutral"}
    assert grid.filenames == every[1::2]
    kit.update_images_metadata(SESSION, [every[1], every[2]], rating="like")
    grid.view.mark_filter = "like"
    assert grid.filenames == [every[1]]
    grid.view.value_filter = {}
    assert grid.filenames == [every[1], every[2]]
    grid.view.mark_filter = "none"
    assert len(grid.filenames) == IMAGES - 2
    grid.view.mark_filter = "stars3"
    assert grid.filenames == []
    assert grid.view.focused == ""


def test_bulk_marks_go_to_the_selection_in_one_write(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    chosen = [every[0], every[4], every[5]]
    grid.receive({"type": "mark", "filenames": chosen, "key": "l"})
    grid.receive({"type": "mark", "filenames": chosen, "key": "5"})
    grid.receive({"type": "tag", "filenames": chosen, "tag": "batch"})
    for name in chosen:
        assert stored(kit, name)[:2] == ("like", 5)  # type: ignore[index]
        assert kit.image_metadata(SESSION, name)["tags"] == ["batch"]
    assert stored(kit, every[1]) is None
    assert [item["rating"] for item in grid.view.items[:2]] == ["like", None]
    grid.receive({"type": "mark", "filenames": chosen, "key": "Backspace"})
    assert all(stored(kit, name)[1] is None for name in chosen)  # type: ignore[index]
    grid.receive({"type": "mark", "filenames": ["not-shown.png"], "key": "l"})
    assert grid.view.status == "saved"


def test_thumbnails_are_sent_as_jpeg_buffers_for_the_cells_asked(
    kit: SessionKit, sent: Sent
) -> None:
    every = names(kit)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    sent.clear()
    grid.receive({"type": "thumbs", "filenames": [*every[:3], "../../etc/passwd"]})
    [(widget, content, buffers)] = sent
    assert widget is grid.view
    assert content == {"type": "thumbs", "filenames": every[:3]}
    assert len(buffers) == 3 and all(data[:2] == b"\xff\xd8" for data in buffers)
    made = grid.thumbs.made
    grid.receive({"type": "thumbs", "filenames": every[:3]})
    assert grid.thumbs.made == made  # cached on disk: not made again
    assert sent[-1][1] == content and sent[-1][2] == buffers


def test_enter_opens_the_viewer_in_place_and_escape_returns_focus(
    kit: SessionKit, sent: Sent
) -> None:
    every = names(kit)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    grid.view.value_filter = {"EXPRESSIONS": "smiling"}
    grid.receive({"type": "open", "filename": every[4]})
    viewer = grid.viewer
    assert viewer is not None and grid.showing is viewer
    assert grid.view.layout.display == "none" and viewer.layout.display is None
    assert viewer.order == every[::2]  # it steps through what the grid shows
    assert viewer.closable and viewer.focus_request == 1
    key(viewer, "ArrowRight")
    key(viewer, "l")
    key(viewer, "Escape")
    assert grid.showing is grid.view and viewer.layout.display == "none"
    assert grid.view.focused == every[6]
    assert grid.view.focus_request >= 1
    assert grid.view.items[3]["rating"] == "like"  # the mark made in the viewer shows
    grid.receive({"type": "open", "filename": every[8]})
    assert grid.viewer is viewer and viewer.filename == every[8]
    assert len(grid.children) == 2  # reused, not stacked


def test_compare_two_selected_images(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    grid.receive({"type": "compare", "filenames": [every[0], every[1]]})
    compare = grid.compare_view
    assert compare is not None and grid.showing is compare
    assert compare.differs == ["seed", "EXPRESSIONS"]
    assert [side["filename"] for side in compare.sides] == every[:2]
    assert {every[0], every[1]} <= set(images_sent(sent))
    key(compare, "Escape")
    assert grid.showing is grid.view


def test_compare_highlights_only_what_differs(kit: SessionKit, sent: Sent) -> None:
    every = names(kit)
    compare = ImageCompare(kit, SESSION, every[0], every[2], runner=InlineRunner())
    assert compare.differs == ["seed"]
    assert differences({"seed": 1, "values": [["A", "x"]]}, {"seed": 1, "values": []}) == ["A"]
    with pytest.raises(KeyError):
        compare.compare(every[0], "nope.png")


def test_the_grid_follows_another_session(kit: SessionKit, sent: Sent) -> None:
    grid = ImageGrid(kit, SESSION, runner=InlineRunner())
    grid.view.mark_filter = "like"
    grid.show("20251107_130000-Other")
    assert grid.view.mark_filter == ""
    assert grid.filenames == names(kit, "20251107_130000-Other")


def test_the_session_detail_holds_the_whole_grid(kit: SessionKit, sent: Sent) -> None:
    detail = SessionDetail(kit, SESSION)
    assert isinstance(detail.images, ImageGrid)
    assert detail.images in detail.children
    assert len(detail.images.filenames) == IMAGES
    detail.show("20251107_130000-Other")
    assert detail.images.session_id == "20251107_130000-Other"
    assert len(detail.images.filenames) == 3
