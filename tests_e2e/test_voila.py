"""The session browser as a web app: ``sessionkit serve`` (Voila) in Chromium.

One server for the module (starting Voila and a kernel is the slow part);
each test opens its own page, and Voila gives each page its own kernel, so
what one test clicks does not leak into another's page. Only the database
is shared, and each test touches its own sessions.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from sessionkit.demo import write_demo_root
from tests_e2e.conftest import Server, artifact, free_port, jupyter_env, listening

DEMO_ANCHOR = date(2026, 11, 24)
EDITED = "20261001_165903-Studio_Headshots"
HOSTILE = "20260915_145649-Escaping_Test_100%_off"
DEBOUNCE_S = 1.0


TOKEN = "e2e-voila-token"  # noqa: S105 - the test server's own


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
        *("--root", str(root), "--db", str(db), "--port", str(port), "--token", TOKEN),
    ]
    server = Server(command, jupyter_env(home / "jupyter"), home / "voila.log")
    try:
        server.wait_until(listening(port), "sessionkit serve")
        url = f"http://127.0.0.1:{port}/?token={TOKEN}"
        assert f"serving the session browser on {url}" in server.output()
        yield App(url, db)
    finally:
        server.stop()


def open_app(page: Page, app: App) -> None:
    """Load the app and wait until the kernel has drawn the cards.

    The page arrives once Voila has run the app's notebook: on a machine busy
    with other work that alone can pass the default 30 s.
    """
    page.goto(app.url, timeout=120_000)
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


def stored_marks(db: Path, session_id: str) -> tuple[list[str], int]:
    """Tags (as a list) and the liked flag of one session, read from SQLite on disk."""
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT tags, is_favorite FROM session_metadata WHERE session_id = ?", (session_id,)
        ).fetchone()
    return (json.loads(row[0]), int(row[1])) if row else ([], 0)


def stored_tags_become(db: Path, session_id: str, tags: list[str]) -> bool:
    """Whether SQLite holds ``tags`` within the debounce and a generous margin.

    The page's "saved" may still be the previous save's when a new edit is
    on its way to the kernel: the file on disk is the only sure witness.
    """
    deadline = time.monotonic() + DEBOUNCE_S + 15
    while time.monotonic() < deadline:
        if stored_marks(db, session_id)[0] == tags:
            return True
        time.sleep(0.1)  # polling a file another process writes: there is no event to wait for
    return False


def in_viewport(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert size is not None
    if box is None:
        return False
    return box["y"] >= 0 and box["y"] + min(box["height"], 40) <= size["height"]


def test_on_a_phone_a_tapped_card_opens_its_detail_where_the_user_is(
    browser: Browser, app: App
) -> None:
    """390x844, touch: tap the 10th card, the detail covers the screen, marks near the top."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        open_app(page, app)
        card = page.locator(".sk-card:visible").nth(9)
        name = card.locator(".sk-name").inner_text()
        card.scroll_into_view_if_needed()
        card.locator(".sk-hit").tap()
        expect(page.locator(".sk-detail .sk-header")).to_contain_text(name)
        expect(page.locator(".sk-detail .sk-close")).to_be_focused()  # where the keyboard is
        for part in (".sk-detail .sk-header", ".sk-detail .sk-close", ".sk-editor .sk-liked"):
            assert in_viewport(page, part), f"{part} is not on the screen"
        page.screenshot(path=artifact("voila-390x844-phone-detail.png"))
        small = page.evaluate(TOO_SMALL)
        assert small == [], f"touch targets under 40 px: {small}"

        page.locator(".sk-detail .sk-close").tap()
        expect(page.locator(".sk-side")).to_be_hidden()
        assert in_viewport(page, f".sk-card:visible:has-text('{name}')"), "list not where it was"
        page.screenshot(path=artifact("voila-390x844-phone-list.png"))
    finally:
        context.close()


TOO_SMALL = """() => [...document.querySelectorAll(
    '.sk-browser button, .sk-browser select, .sk-browser input:not([type=hidden])')]
  .filter((el) => el.offsetParent !== null && !el.closest('.sk-card'))
  .map((el) => [el.className.split(' ').filter((c) => c.startsWith('sk-')).join('.') ||
                el.tagName, Math.round(el.getBoundingClientRect().height)])
  .filter(([, height]) => height < 40)"""


def test_keyboard_tag_entry(page: Page, app: App) -> None:
    """Enter adds, Escape cancels, leaving the field adds nothing, Backspace removes the last."""
    session = "20261010_154757-Scheduler_Example"
    open_app(page, app)
    open_session(page, session)
    field = page.locator(".sk-add-tag input")
    tags = page.locator(".sk-tags")
    before, _ = stored_marks(app.db, session)
    field.click()
    field.press_sequentially("kb-one")
    field.press("Enter")
    expect(tags).to_contain_text("kb-one")
    expect(field).to_have_value("")
    field.press_sequentially("kb-two")
    field.press("Enter")
    field.press_sequentially("half-typed")
    field.press("Escape")
    expect(field).to_have_value("")
    expect(page.locator(".sk-detail")).to_be_visible()  # Escape cancelled the text only
    field.press_sequentially("blurred")
    field.press("Tab")  # leaves the field with a half-typed tag
    expect(page.locator(".sk-state")).to_have_text("saved", timeout=DEBOUNCE_S * 1000 + 10_000)
    assert stored_marks(app.db, session)[0] == [*before, "kb-one", "kb-two"]
    expect(page.locator(".sk-state")).to_have_attribute("role", "status")  # announced
    expect(page.locator(".sk-editor .sk-saved-ago")).to_have_text(re.compile(r"^\d+ s ago$"))

    field.fill("")
    field.press("Backspace")  # the empty field: removes the last tag
    expect(tags).not_to_contain_text("kb-two")
    assert stored_tags_become(app.db, session, [*before, "kb-one"])

    chip = tags.locator(".jupyter-widget-tag:not(.jupyter-widget-taginput)", has_text="kb-one")
    chip.focus()  # the key scope makes each tag focusable
    page.keyboard.press("Delete")
    expect(tags).not_to_contain_text("kb-one")
    assert stored_tags_become(app.db, session, before)


def test_keyboard_use_of_the_cards(page: Page, app: App) -> None:
    """Arrows move a visible ring, Enter opens, l likes, Escape and the close button close."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_app(page, app)
    cards = page.locator(".sk-card:visible")
    first = cards.first.locator(".sk-hit")
    name = cards.first.locator(".sk-name").inner_text()
    expect(page.get_by_role("button", name=f"Open {name}", exact=True)).to_have_count(1)
    first.focus()
    page.keyboard.press("ArrowRight")
    expect(cards.nth(1).locator(".sk-hit")).to_be_focused()
    tops = [cards.nth(i).bounding_box()["y"] for i in range(8)]  # type: ignore[index]
    columns = tops.count(tops[0])
    assert columns >= 3
    page.keyboard.press("ArrowDown")
    target = cards.nth(1 + columns)
    expect(target.locator(".sk-hit")).to_be_focused()
    ring = target.evaluate("(card) => getComputedStyle(card).outlineStyle")
    assert ring == "solid", "no visible focus ring on the focused card"
    session = target.locator(".sk-name").inner_text()
    page.screenshot(path=artifact("voila-1920x1080-focus.png"))

    page.keyboard.press("Enter")
    expect(page.locator(".sk-detail .sk-header")).to_contain_text(session)
    expect(target).to_have_class(re.compile(r"\bsk-selected\b"))
    liked = stored_marks(app.db, session)[1]
    target.locator(".sk-hit").focus()
    page.keyboard.press("l")
    expect(page.locator(".sk-editor .sk-liked")).to_have_attribute(
        "aria-pressed", "false" if liked else "true"
    )
    expect(page.locator(".sk-state")).to_have_text("saved", timeout=10_000)
    assert stored_marks(app.db, session)[1] == 1 - liked
    page.screenshot(path=artifact("voila-1920x1080-detail.png"))

    page.keyboard.press("Escape")
    expect(page.locator(".sk-detail")).to_be_hidden()
    expect(target).not_to_have_class(re.compile(r"\bsk-selected\b"))
    page.keyboard.press("Enter")
    expect(page.locator(".sk-detail .sk-header")).to_contain_text(session)
    page.locator(".sk-detail .sk-close").click()
    expect(page.locator(".sk-detail")).to_be_hidden()


def test_the_address_keeps_the_filters_page_and_open_session(page: Page, app: App) -> None:
    """A link with filters opens on them; what the user changes reaches the address, and a
    reload (or the address given to another page) shows the same view again."""
    page.goto(f"{app.url}&complete=1&search=Studio", timeout=120_000)
    describe = page.locator(".sk-describe")
    expect(describe).to_contain_text("where complete and text contains")
    expect(page.locator(".sk-chip-complete")).to_have_class(re.compile(r"\bmod-active\b"))
    expect(page.locator(".sk-search input")).to_have_value("Studio")

    page.locator(".sk-chip-complete").click()  # off again
    expect(describe).not_to_contain_text("complete")
    open_session(page, EDITED)  # a search, then a click on its one card
    expect(describe).to_have_text(f'1 session where text contains "{EDITED}"')
    query = f"search={EDITED}&session={EDITED}"
    page.wait_for_function(
        "(query) => window.location.search.endsWith(query)", arg=query, timeout=10_000
    )
    assert f"token={TOKEN}" in page.url  # the page's own parameter is left as it was
    assert "complete" not in page.url

    shared = page.url
    page.reload()
    expect(page.locator(".sk-detail .sk-header")).to_contain_text(EDITED, timeout=60_000)
    expect(describe).to_have_text(f'1 session where text contains "{EDITED}"')
    page.locator(".sk-detail .sk-close").click()  # the address lets go of the session
    page.wait_for_function("() => !window.location.search.includes('session=')", timeout=10_000)
    other = page.context.new_page()
    try:
        other.goto(shared, timeout=120_000)
        expect(other.locator(".sk-detail .sk-header")).to_contain_text(EDITED, timeout=60_000)
    finally:
        other.close()
