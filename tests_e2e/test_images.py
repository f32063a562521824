"""The image grid and viewer in a real browser: JupyterLab and ``sessionkit serve``.

A user opens a session, clicks an image, steps with → →, presses ``l`` and
``3``: the marks must be in ``sessions.db`` (read here with sqlite3). In
JupyterLab the notebook's own shortcuts (``a``, ``b``, ``x``, ``d d``) must
not fire while the viewer has the keys. Screenshots of the viewer at phone
and desktop widths go to the artifacts folder, to be looked at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sessionkit.demo import write_demo_root
from tests_e2e.conftest import Server, answers, artifact, free_port, jupyter_env
from tests_e2e.test_lab import KERNEL_READY, RUN_S
from tests_e2e.test_voila import App, app, open_session  # noqa: F401  # app: the fixture

DEMO_ANCHOR = date(2026, 11, 24)
SESSION = "20261023_154106-Lighting_Tests"
NOTEBOOK = "images.ipynb"
SAVED_S = 5.0
APP_LOAD_MS = 120_000
"""The app's first page runs the notebook in a kernel: slow on a loaded machine."""


def open_app(page: Page, app: App) -> None:  # noqa: F811  # app: the fixture
    """Load the app and wait for its cards (not for the page's load event: the kernel is slower)."""
    page.goto(app.url, wait_until="commit")
    expect(page.locator(".sk-card").first).to_be_visible(timeout=APP_LOAD_MS)


def marks(
    db: Path, session_id: str, filename: str, columns: str = "rating, stars"
) -> tuple[Any, ...] | None:
    """An image's marks (``columns``: rating and stars) as sessions.db on disk holds them."""
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            f"SELECT {columns} FROM image_metadata WHERE session_id = ? AND filename = ?",
            (session_id, filename),
        ).fetchone()
    return tuple(row) if row else None


def wait_for_marks(db: Path, session_id: str, filename: str, expected: tuple[Any, ...]) -> None:
    """Poll the database (a write is a round trip through the kernel) until the marks land."""
    deadline = time.monotonic() + SAVED_S
    while marks(db, session_id, filename) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marks(db, session_id, filename) == expected


def open_viewer_from_grid(page: Page) -> list[str]:
    """Click the grid's first image; wait for the viewer to hold the keys. The grid's names."""
    grid = page.locator(".sk-ig").first
    expect(grid.locator(".sk-ig-cell").first).to_be_visible(timeout=60_000)
    names = grid.locator(".sk-ig-cell").evaluate_all("cells => cells.map(c => c.dataset.filename)")
    assert len(names) > 8, "the grid shows every image, not the first 8"
    grid.scroll_into_view_if_needed()  # thumbnails are sent for the cells in view
    expect(grid.locator(".sk-ig-cell img[src^='blob:']").first).to_be_attached()
    grid.locator(".sk-ig-cell").first.click()
    viewer = page.locator(".sk-iv")
    expect(viewer).to_be_visible()
    expect(viewer).to_be_focused()
    expect(viewer).to_have_attribute("data-loaded", names[0])
    expect(viewer.locator(".sk-iv-position")).to_have_text(f"1 / {len(names)}")
    return [str(name) for name in names]


def step_and_mark(page: Page, names: list[str], db: Path) -> None:
    """→ → l 3 in the viewer: the third image is liked with 3 stars, in the database."""
    before = [marks(db, SESSION, name) for name in names[:2]]  # a demo root comes marked
    viewer = page.locator(".sk-iv")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(viewer.locator(".sk-iv-position")).to_have_text(f"3 / {len(names)}")
    expect(viewer).to_have_attribute("data-loaded", names[2])
    page.keyboard.press("l")
    page.keyboard.press("3")
    wait_for_marks(db, SESSION, names[2], ("like", 3))
    expect(viewer.locator(".sk-iv-like")).to_have_attribute("aria-pressed", "true")
    expect(viewer.locator(".sk-iv-star[aria-pressed='true']")).to_have_count(1)
    assert [marks(db, SESSION, name) for name in names[:2]] == before


# -- JupyterLab ------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    url: str
    db: Path


def notebook(root: Path, db: Path) -> dict[str, Any]:
    """A notebook showing one session's detail, and a cell after it to count."""
    source = (
        "from sessionkit import SessionKit\n"
        "from sessionkit.widgets import SessionDetail\n"
        f"kit = SessionKit({str(root)!r}, {str(db)!r}, progress=False)\n"
        "kit.index()\n"
        f"SessionDetail(kit, {SESSION!r})"
    )
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "source": text, "metadata": {}, "outputs": [], "id": name}
        for name, text in (("detail", source), ("after", "1 + 1"))
    ]
    for cell in cells:
        cell["execution_count"] = None
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("lab-images")
    folder = home / "notebooks"
    folder.mkdir()
    root = write_demo_root(home / "root", anchor=DEMO_ANCHOR).root
    db = home / "sessions.db"
    (folder / NOTEBOOK).write_text(json.dumps(notebook(root, db)), encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    command = [
        *(sys.executable, "-m", "jupyter", "lab", "--no-browser"),
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={folder}",
        "--LabApp.news_url=None",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = Server(command, jupyter_env(home / "jupyter"), home / "lab.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(answers(f"{base}/api/status?token={token}"), "jupyter lab")
        yield Lab(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}", db)
    finally:
        server.stop()


def test_lab_viewer_marks_from_the_keyboard_and_no_key_reaches_the_notebook(
    page: Page, lab: Lab
) -> None:
    page.goto(lab.url)
    expect(page.locator(KERNEL_READY)).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible()
    page.locator(".jp-NotebookPanel").click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    last = page.locator(".jp-NotebookPanel .jp-CodeCell").last
    expect(last.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=RUN_S)
    body = page.locator("body")
    expect(body).not_to_contain_text("Error displaying widget")

    names = open_viewer_from_grid(page)
    step_and_mark(page, names, lab.db)
    page.locator(".sk-iv").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=artifact("lab-viewer-1280x900.png"))

    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    before = cells.count()
    assert before == 2
    for pressed in ("a", "b", "x", "m", "d", "d"):
        page.keyboard.press(pressed)
    page.wait_for_timeout(500)  # a shortcut that fired would have changed the notebook by now
    assert cells.count() == before, "a key pressed in the viewer reached JupyterLab"
    expect(page.locator(".jp-NotebookPanel .jp-MarkdownCell")).to_have_count(0)
    expect(page.locator(".sk-iv")).to_be_visible()  # 'x' did not cut the widget's cell
    # d d in the viewer is "dislike" twice: the image is disliked, still 3 stars
    wait_for_marks(lab.db, SESSION, names[2], ("dislike", 3))

    page.keyboard.press("Escape")
    grid = page.locator(".sk-ig")
    expect(grid).to_be_visible()
    expect(grid).to_be_focused()
    expect(grid.locator(".sk-ig-focused")).to_have_attribute("data-filename", names[2])
    page.keyboard.press("a")
    assert cells.count() == before, "a key pressed in the grid reached JupyterLab"


# -- sessionkit serve ------------------------------------------------------------------


def test_serve_viewer_marks_from_the_keyboard(page: Page, app: App) -> None:  # noqa: F811
    open_app(page, app)
    open_session(page, SESSION)
    names = open_viewer_from_grid(page)
    step_and_mark(page, names, app.db)
    page.keyboard.press("Escape")
    expect(page.locator(".sk-ig .sk-ig-focused")).to_have_attribute("data-filename", names[2])


def stored_note(db: Path, session_id: str, filename: str) -> str | None:
    row = marks(db, session_id, filename, "note")
    return row[0] if row else None


def test_serve_viewer_note_from_the_keyboard(page: Page, app: App) -> None:  # noqa: F811
    """n to the note, typed keys stay text (no mark, no step), saved; the next image has its own."""
    open_app(page, app)
    open_session(page, SESSION)
    names = open_viewer_from_grid(page)
    viewer = page.locator(".sk-iv")
    page.keyboard.press("ArrowRight")
    expect(viewer).to_have_attribute("data-loaded", names[1])
    before = marks(app.db, SESSION, names[1])
    page.keyboard.press("n")
    note = viewer.locator(".sk-iv-note")
    expect(note).to_be_focused()
    note.press_sequentially("l 3 jk <b>")  # keys that mark and step outside the field
    expect(viewer.locator(".sk-iv-counter")).to_have_text("10/500")
    deadline = time.monotonic() + SAVED_S + 1.0  # 1 s after the last keystroke, then the write
    while stored_note(app.db, SESSION, names[1]) != "l 3 jk <b>" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored_note(app.db, SESSION, names[1]) == "l 3 jk <b>"
    assert marks(app.db, SESSION, names[1]) == before
    expect(viewer.locator(".sk-iv-position")).to_have_text(f"2 / {len(names)}")
    page.keyboard.press("Escape")  # leaves the field, not the viewer
    expect(viewer).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(viewer).to_have_attribute("data-loaded", names[2])
    expect(note).to_have_value(stored_note(app.db, SESSION, names[2]) or "")
    page.keyboard.press("ArrowLeft")
    expect(note).to_have_value("l 3 jk <b>")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1920, 1080)], ids=["phone", "wide"])
def test_serve_viewer_screenshots(page: Page, app: App, width: int, height: int) -> None:  # noqa: F811
    """The viewer at a phone's and a desktop's width: whole image, nothing sideways."""
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, app)
    open_session(page, SESSION)
    names = open_viewer_from_grid(page)
    viewer = page.locator(".sk-iv")
    viewer.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=artifact(f"viewer-{width}x{height}.png"))
    image = viewer.locator(".sk-iv-image").bounding_box()
    stage = viewer.locator(".sk-iv-stage").bounding_box()
    assert image and stage
    assert image["width"] <= width and stage["x"] + stage["width"] <= width + 1
    for target in (".sk-iv-next", ".sk-iv-prev", ".sk-iv-like", ".sk-iv-star"):
        box = viewer.locator(target).first.bounding_box()
        assert box and box["width"] >= 40 and box["height"] >= 40, target
    page.keyboard.press("Escape")
    expect(page.locator(".sk-ig")).to_be_focused()  # the keys are the grid's again
    page.keyboard.press("l")  # the focused image, liked from the grid
    expect(page.locator(".sk-ig-focused .sk-ig-marks")).to_have_text(re.compile("^liked"))
    page.locator(".sk-ig").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=artifact(f"grid-{width}x{height}.png"))
    assert len(names) > 8
