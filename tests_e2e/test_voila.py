"""The session browser as a web app: ``sessionkit serve`` (Voila) in Chromium.

One server for the module (starting Voila and a kernel is the slow part);
each test opens its own page, and Voila gives each page its own kernel, so
what one test clicks does not leak into another's page. Only the database
is shared, and each test touches its own sessions.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from sessionkit.demo import write_demo_root
from tests_e2e.conftest import Server, artifact, free_port, jupyter_env, listening

DEMO_ANCHOR = date(2026, 11, 24)
EDITED = "20261001_165903-Studio_Headshots"
HOSTILE = "20260915_145649-Escaping_Test_100%_off"
DEBOUNCE_S = 1.0


@dataclass(frozen=True)
class App:
    url: str
    db: Path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """``sessionkit serve`` on a fresh demo root and database, on a free port."""
    home = tmp_path_factory.mktemp("voila")
    root = write_demo_root(home / "root", anchor=DEMO_ANCHOR).root
    db = home / "sessions.db"
    port = free_port()
    command = [
        *(sys.executable, "-m", "sessionkit", "serve"),
        *("--root", str(root), "--db", str(db), "--port", str(port)),
    ]
    server = Server(command, jupyter_env(home / "jupyter"), home / "voila.log")
    try:
        server.wait_until(listening(port), "sessionkit serve")
        assert f"serving the session browser on http://127.0.0.1:{port}/" in server.output()
        yield App(f"http://127.0.0.1:{port}/", db)
    finally:
        server.stop()


def open_app(page: Page, app: App) -> None:
    """Load the app and wait until the kernel has drawn the cards."""
    page.goto(app.url)
    expect(page.locator(".sk-card").first).to_be_visible(timeout=60_000)
    expect(page.locator(".sk-describe")).to_have_text(re.compile(r"^\d+ sessions$"))


def visible_cards(page: Page) -> list[str]:
    """The names on the cards shown (hidden pool cards excluded)."""
    return page.locator(".sk-card:visible .sk-name").all_inner_texts()


def open_session(page: Page, session_id: str) -> None:
    """Search for a session, click its card, and wait for its detail."""
    page.locator(".sk-search input").fill(session_id)
    expect(page.locator(".sk-describe")).to_contain_text("1 session")
    card = page.locator(".sk-card:visible")
    expect(card).to_have_count(1)
    card.locator(".sk-hit").click()
    expect(card).to_have_class(re.compile(r"\bsk-selected\b"))
    expect(page.locator(".sk-detail .sk-header")).to_contain_text(session_id)


def stored(db: Path, session_id: str) -> tuple[str, str]:
    """Tags and note as ``sessions.db`` on disk holds them, read by a separate connection."""
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT tags, user_note FROM session_metadata WHERE session_id = ?", (session_id,)
        ).fetchone()
    return (str(row[0]), str(row[1])) if row else ("", "")


def test_filter_search_select_edit_and_reload(page: Page, app: App) -> None:
    """The whole loop a user goes through: filter, find, open, edit, and find the edit again."""
    open_app(page, app)
    everything = page.locator(".sk-describe").inner_text()
    first_page = visible_cards(page)

    liked_chip = page.locator(".sk-chip-liked")
    liked = int(re.fullmatch(r"Liked \((\d+)\)", liked_chip.inner_text())[1])  # type: ignore[index]
    assert 0 < liked < int(everything.split()[0])
    liked_chip.click()
    expect(liked_chip).to_have_class(re.compile(r"\bmod-active\b"))
    expect(page.locator(".sk-describe")).to_have_text(f"{liked} sessions where liked")
    expect(page.locator(".sk-card:visible")).to_have_count(liked)
    cards = visible_cards(page)
    assert cards != first_page
    marks = page.locator(".sk-card:visible .sk-marks").all_inner_texts()
    assert len(marks) == liked and all("★" in mark for mark in marks)
    liked_chip.click()
    expect(page.locator(".sk-describe")).to_have_text(everything)

    open_session(page, EDITED)
    note = "seen in a real browser"
    page.locator(".sk-add-tag input").fill("e2e-keeper")
    page.locator(".sk-add-tag input").press("Enter")
    expect(page.locator(".sk-tags")).to_contain_text("e2e-keeper")
    page.locator(".sk-note textarea").fill(note)
    expect(page.locator(".sk-counter")).to_have_text(f"{len(note)}/500")
    # the debounce (1 s after the last edit) then the write: "saved" says both happened
    expect(page.locator(".sk-state")).to_have_text("saved", timeout=DEBOUNCE_S * 1000 + 10_000)
    tags, stored_note = stored(app.db, EDITED)
    assert "e2e-keeper" in tags
    assert stored_note == note
    # the card redraws with its new tag
    expect(page.locator(".sk-card:visible")).to_contain_text("e2e-keeper")

    page.reload()
    expect(page.locator(".sk-card").first).to_be_visible(timeout=60_000)
    open_session(page, EDITED)
    expect(page.locator(".sk-tags")).to_contain_text("e2e-keeper")
    expect(page.locator(".sk-note textarea")).to_have_value(note)
    expect(page.locator(".sk-state")).to_have_text("idle")


def test_a_hostile_prompt_is_text(page: Page, app: App) -> None:
    """A prompt holding ``<img src=x onerror=alert(1)>`` shows those characters and runs nothing."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    open_app(page, app)
    open_session(page, HOSTILE)
    prompt = page.locator(".sk-detail .sk-prompt").first
    expect(prompt).to_contain_text("<img src=x onerror=alert(1)>")
    assert "<img src=x onerror=" in page.locator("body").inner_text()
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("[onerror]").count() == 0
    assert dialogs == []


SIDEWAYS = """() => {
  // Voila scrolls inside a panel, not the document: look at every scrolling box and
  // at every element's right edge, or a page that overflows inside would pass.
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const scrolls = ["auto", "scroll"].includes(style.overflowX);
    if (scrolls && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${el.className} scrolls sideways: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    if (box.width > 0 && box.height > 0 && box.right > innerWidth + 1) {
      found.push(`${el.className} ends at ${Math.round(box.right)} > ${innerWidth}`);
    }
  }
  return found.slice(0, 10);
}"""
TO_TOP = "() => document.querySelectorAll('*').forEach((el) => { el.scrollTop = 0; })"


@pytest.mark.parametrize(("width", "height"), [(320, 800), (1920, 1080)], ids=["narrow", "wide"])
def test_layout_at_both_extremes(page: Page, app: App, width: int, height: int) -> None:
    """320 px: one column, the detail over the list, nothing sideways; 1920 px: detail beside."""
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, app)
    page.locator(".sk-card:visible .sk-hit").first.click()
    expect(page.locator(".sk-detail .sk-header")).to_be_visible()

    page.evaluate(TO_TOP)
    page.screenshot(path=artifact(f"voila-{width}x{height}.png"))
    page.locator(".sk-detail").scroll_into_view_if_needed()
    page.screenshot(path=artifact(f"voila-{width}x{height}-detail.png"))

    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= page.evaluate("window.innerWidth")
    assert page.evaluate(SIDEWAYS) == []

    cards = page.locator(".sk-card:visible")
    boxes = [cards.nth(i).bounding_box() for i in range(min(cards.count(), 8))]
    lefts = {round(box["x"]) for box in boxes if box}
    listing = page.locator(".sk-list").bounding_box()
    detail = page.locator(".sk-side").bounding_box()
    assert listing and detail
    if width <= 600:
        assert len(lefts) == 1, f"cards side by side at {width} px: {sorted(lefts)}"
        assert (round(detail["y"]), round(detail["height"])) == (0, height), "not over the screen"
    else:
        assert len(lefts) >= 3, f"no grid at {width} px: {sorted(lefts)}"
        assert detail["x"] >= listing["x"] + listing["width"] - 1, "detail not beside the list"
        assert abs(detail["y"] - listing["y"]) < 5, "detail not level with the list"
