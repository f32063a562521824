"""The session browser: filters, chip counts, paging, card pool, lazy thumbnails, selection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from builders import manifest, png_bytes, write_session
from sessionkit import SessionKit
from sessionkit.demo import demo_metadata
from sessionkit.widgets import ManualScheduler, SessionBrowser
from sessionkit.widgets.browser import CHIPS, CUSTOM_RANGE

ANCHOR = date(2026, 11, 24)
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def kit(demo_kit: SessionKit) -> SessionKit:
    """The demo kit with the demo's user marks, so every chip has something to count."""
    demo_kit.mark_unedited(demo_metadata(demo_kit.sessions(limit=None)["session_id"]))
    return demo_kit


@pytest.fixture
def clock() -> ManualScheduler:
    return ManualScheduler()


@pytest.fixture
def browser(kit: SessionKit, clock: ManualScheduler) -> SessionBrowser:
    return SessionBrowser(kit, scheduler=clock, today=lambda: ANCHOR)


def ids(browser: SessionBrowser) -> list[str]:
    return [row["session_id"] for row in browser.rows]


def chip_counts(browser: SessionBrowser) -> dict[str, str]:
    return {name: chip.description for name, chip in browser.chips.items()}


def assert_counts_match(browser: SessionBrowser, kit: SessionKit) -> None:
    """Total, describe line and every chip agree with the kit for the current filters."""
    filters: Any = browser.filters()
    assert browser.total == kit.count(**filters)
    assert browser.describe.value.startswith(f"{browser.total} session")
    for label, name in CHIPS:
        expected = kit.count(**{**filters, name: True})
        assert browser.chips[name].description == f"{label} ({expected})"


def test_the_first_page_shows_every_session_with_counts(
    browser: SessionBrowser, kit: SessionKit
) -> None:
    assert browser.total == kit.count() == 24
    assert ids(browser) == list(kit.sessions(limit=24)["session_id"])
    assert browser.describe.value == "24 sessions"
    assert_counts_match(browser, kit)
    assert browser.page_label.value == "1-24 of 24 · page 1/1"


FILTERS: dict[str, tuple[Callable[[SessionBrowser], None], str]] = {
    "liked": (lambda b: setattr(b.chips["liked"], "value", True), "liked"),
    "test": (lambda b: setattr(b.chips["test"], "value", True), "test"),
    "complete": (lambda b: setattr(b.chips["complete"], "value", True), "complete"),
    "seed sweep": (lambda b: setattr(b.chips["seed_sweep"], "value", True), "seed sweep"),
    "model": (lambda b: setattr(b.model, "value", b.model.options[1][1]), "model contains"),
    "last 7 days": (lambda b: setattr(b.dates, "value", 6), "from 2026-11-18"),
    "today": (lambda b: setattr(b.dates, "value", 0), "from 2026-11-24"),
    "tags": (lambda b: setattr(b.tag_filter, "value", ["keeper"]), "tag keeper"),
    "search": (lambda b: setattr(b.search, "value", "portrait"), "text contains &quot;portrait"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_changes_the_page_and_the_counts(
    browser: SessionBrowser, kit: SessionKit, name: str
) -> None:
    action, words = FILTERS[name]
    before_ids, before_chips = ids(browser), chip_counts(browser)
    action(browser)
    assert 0 < browser.total < 24
    assert ids(browser) != before_ids
    assert chip_counts(browser) != before_chips
    assert words in browser.describe.value
    assert_counts_match(browser, kit)


def test_filters_combine_and_set_filters_redraws_once(
    browser: SessionBrowser, kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    redraws: list[int] = []
    refresh = browser.refresh

    def counted() -> None:
        redraws.append(1)
        refresh()

    monkeypatch.setattr(browser, "refresh", counted)
    browser.set_filters(liked=True, days=29, search="a")
    assert len(redraws) == 1
    expected = kit.count(liked=True, from_date=date(2026, 10, 26), search="a")
    assert browser.total == expected
    assert_counts_match(browser, kit)


def test_chip_off_again_restores_the_page(browser: SessionBrowser) -> None:
    before = ids(browser)
    browser.chips["liked"].value = True
    browser.chips["liked"].value = False
    assert ids(browser) == before


def test_paging_with_a_page_size(browser: SessionBrowser, kit: SessionKit) -> None:
    browser.page_size.value = 12
    every = list(kit.sessions(limit=None)["session_id"])
    assert ids(browser) == every[:12]
    assert browser.previous.disabled and not browser.next.disabled
    browser.next.click()
    assert ids(browser) == every[12:24]
    assert browser.page_label.value == "13-24 of 24 · page 2/2"
    assert browser.next.disabled
    browser.next_page()
    assert browser.page == 1
    browser.previous.click()
    assert browser.page == 0 and ids(browser) == every[:12]


def test_a_filter_change_goes_back_to_the_first_page(browser: SessionBrowser) -> None:
    browser.page_size.value = 12
    browser.next_page()
    browser.chips["complete"].value = True
    assert browser.page == 0


def test_cards_are_a_fixed_pool_reused_across_redraws(browser: SessionBrowser) -> None:
    pool = tuple(browser.cards.children)
    assert len(pool) == 24
    browser.chips["liked"].value = True
    browser.search.value = "a"
    assert tuple(browser.cards.children) == pool
    shown = [card for card in pool if card.layout.display != "none"]
    assert len(shown) == browser.total
    browser.page_size.value = 12
    assert tuple(browser.cards.children) == pool  # a smaller page hides cards, never drops them


def test_thumbnails_are_made_only_for_the_page_shown(kit: SessionKit) -> None:
    browser = SessionBrowser(kit, page_size=12, scheduler=ManualScheduler())
    with_images = sum(any(Path(row["session_path"]).glob("*.png")) for row in browser.rows)
    assert 0 < browser.thumbs.made == with_images <= 12
    cached = sorted(browser.thumbs.folder.rglob("*.jpg"))
    assert len(cached) == with_images
    browser.refresh()
    assert browser.thumbs.made == with_images  # cached: nothing encoded again
    browser.next_page()
    assert browser.thumbs.made > with_images


def test_each_card_shows_its_session(browser: SessionBrowser, kit: SessionKit) -> None:
    browser.chips["liked"].value = True
    row = browser.rows[0]
    card = browser.cards.children[0].children[0].value
    assert row["session_id"] in card
    assert "★" in card
    assert f"{row['images_actual']}/{row['images_expected']} images" in card
    assert "data:image/jpeg;base64," in card
    for tag in kit.metadata(row["session_id"])["tags"]:
        assert f'<span class="sk-tag">{tag}</span>' in card


def test_clicking_a_card_selects_it_and_fills_the_detail_and_the_editor(
    browser: SessionBrowser, kit: SessionKit
) -> None:
    card = browser.cards.children[3]
    chosen = browser.rows[3]["session_id"]
    card.children[1].click()
    assert browser.selected == chosen
    assert "sk-selected" in card._dom_classes
    assert sum("sk-selected" in c._dom_classes for c in browser.cards.children) == 1
    assert browser.detail is not None and shown(browser.side) == [browser.detail]
    assert chosen in browser.detail.header.value
    editor = browser.detail.editor
    metadata = kit.metadata(chosen)
    assert editor.session_id == chosen
    assert (editor.tags.value, editor.liked.value) == (
        metadata["tags"],
        bool(metadata["is_favorite"]),
    )
    detail = browser.detail
    other = browser.rows[5]["session_id"]
    assert browser.select(other)
    assert browser.detail is detail and detail.session_id == other
    assert "sk-selected" not in card._dom_classes


def shown(box: Any) -> list[Any]:
    """The children of ``box`` that are displayed."""
    return [child for child in box.children if child.layout.display != "none"]


def test_a_detail_prepared_ahead_is_the_one_the_first_click_fills(
    browser: SessionBrowser,
) -> None:
    browser.prepare_detail()
    prepared = browser.detail
    assert prepared is not None and browser.selected is None
    assert shown(browser.side) == [browser.side.children[0]]  # the hint; the detail hidden
    assert "sk-open" not in browser.side._dom_classes
    chosen = browser.rows[4]["session_id"]
    assert browser.select(chosen)
    assert browser.detail is prepared and shown(browser.side) == [prepared]
    assert chosen in prepared.header.value and "sk-open" in browser.side._dom_classes
    children = browser.side.children
    assert browser.close_detail()
    assert shown(browser.side) == [children[0]] and browser.side.children == children
    assert browser.select(browser.rows[1]["session_id"])
    assert browser.detail is prepared and browser.side.children == children  # views kept
    browser.prepare_detail()  # once is enough
    assert browser.detail is prepared


def test_selection_survives_a_redraw(browser: SessionBrowser) -> None:
    chosen = browser.rows[2]["session_id"]
    browser.select(chosen)
    browser.search.value = chosen
    assert "sk-selected" in browser.cards.children[0]._dom_classes


def test_an_edit_in_the_detail_redraws_the_card(
    browser: SessionBrowser, kit: SessionKit, clock: ManualScheduler
) -> None:
    browser.chips["liked"].value = True
    liked = browser.total
    chosen = browser.rows[0]["session_id"]
    browser.select(chosen)
    assert browser.detail is not None
    browser.detail.editor.liked.value = False
    clock.advance(0.5)
    assert browser.total == liked - 1
    assert chosen not in ids(browser)


def test_new_tags_reach_the_tag_filter(
    browser: SessionBrowser, kit: SessionKit, clock: ManualScheduler
) -> None:
    browser.select(browser.rows[0]["session_id"])
    assert browser.detail is not None
    browser.detail.editor.enter_tag("brand-new")
    clock.advance(1)
    assert "brand-new" in browser.tag_filter.allowed_tags
    browser.tag_filter.value = ["brand-new"]
    assert browser.total == 1


def test_hostile_names_models_prompts_tags_and_notes_are_escaped(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = f"20251107_120000-{HOSTILE}"
    write_session(
        root,
        folder,
        manifest(
            "x",
            images=2,
            model=HOSTILE,
            prompt="<script>alert(1)</script> {EXPRESSIONS} " + HOSTILE,
        ),
    )
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        kit.update_metadata(folder, user_note=HOSTILE)
        with sqlite3.connect(kit.db_path) as con:  # another writer, no validation
            con.execute(
                "UPDATE session_metadata SET tags = ? WHERE session_id = ?",
                (json.dumps([HOSTILE]), folder),
            )
        kit.mirror.reload()
        browser = SessionBrowser(kit, scheduler=ManualScheduler())
        browser.search.value = "<script>"
        browser.select(folder)
        assert browser.detail is not None
        values = [
            browser.describe.value,
            browser.cards.children[0].children[0].value,
            browser.detail.header.value,
            browser.detail.sections.value,
            browser.detail.prompt.value,
        ]
        for value in values:
            assert "<img src=x" not in value and "<script" not in value
        assert "&lt;script&gt;" in browser.describe.value
        assert "&lt;img src=x onerror=alert(1)&gt;" in values[1]  # name, model and tag
        assert values[1].count("&lt;img") == 3
        assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>{EXPRESSIONS}</mark>" in values[4]


def test_card_buttons_are_named_by_their_session_and_carry_their_slot(
    browser: SessionBrowser,
) -> None:
    for slot, row in enumerate(browser.rows[:3]):
        card = browser._pool[slot]
        assert card.hit.description == f"Open {row['session_id']}"
        assert f"sk-slot-{slot}" in card.box._dom_classes


def test_clear_filters_counts_the_active_ones_and_clears_them_in_one_redraw(
    browser: SessionBrowser, kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert browser.clear.disabled and browser.clear.description == "Clear filters"
    browser.set_filters(liked=True, search="a", date_from=date(2026, 1, 1), date_to=ANCHOR)
    assert browser.active_filters() == 3  # a from/to range is one filter
    assert browser.clear.description == "Clear filters (3)" and not browser.clear.disabled
    redraws: list[int] = []
    refresh = browser.refresh

    def counted() -> None:
        redraws.append(1)
        refresh()

    monkeypatch.setattr(browser, "refresh", counted)
    browser.clear.click()
    assert redraws == [1]
    assert browser.filters() == {} and browser.total == kit.count()
    assert browser.clear.disabled and browser.describe.value == "24 sessions"


def test_a_custom_date_range_beside_the_presets(browser: SessionBrowser, kit: SessionKit) -> None:
    assert browser.custom_dates.layout.display == "none"
    browser.dates.value = CUSTOM_RANGE
    assert browser.custom_dates.layout.display is None
    assert browser.total == 24  # no bound chosen yet
    start, end = date(2026, 11, 1), date(2026, 11, 20)
    browser.date_from.value = start
    browser.date_to.value = end
    expected = kit.count(from_date=start, to_date=end)
    assert 0 < expected < 24 and browser.total == expected
    assert "from 2026-11-01" in browser.describe.value
    assert "until 2026-11-20" in browser.describe.value
    assert_counts_match(browser, kit)
    created = sorted(str(t) for t in kit.sessions(limit=None)["session_created_at"])
    moment = datetime.fromisoformat(created[len(created) // 2])
    browser.set_filters(date_from=moment, date_to=datetime(2026, 12, 31, 23, 59))
    assert browser.time_from.value == moment.time().replace(second=0)
    minute = f"{moment:%Y-%m-%d %H:%M}"
    assert f"from {minute}" in browser.describe.value
    assert browser.total == kit.count(from_date=minute, to_date="2026-12-31 23:59")
    assert 0 < browser.total < 24


def test_empty_states_say_what_to_do(browser: SessionBrowser, tmp_path: Path) -> None:
    assert browser.message.value == ""
    browser.search.value = "no session is called this"
    assert "No sessions match these filters" in browser.message.value
    assert "Clear filters" in browser.message.value
    with SessionKit(tmp_path / "empty", tmp_path / "empty.db", progress=False) as empty:
        (tmp_path / "empty").mkdir()
        empty.index()
        nothing = SessionBrowser(empty, scheduler=ManualScheduler())
        assert "No sessions indexed yet" in nothing.message.value
        assert "sessionkit index" in nothing.message.value


def test_a_page_that_fails_to_load_says_so_inside_the_browser(
    browser: SessionBrowser, kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> int:
        raise RuntimeError("database <gone>")

    monkeypatch.setattr(kit, "browse", broken)  # the browser's one data call
    browser.refresh()
    assert "Could not load the sessions: database &lt;gone&gt;" in browser.message.value
    assert browser.busy.value == ""  # the busy mark went away


def test_close_button_and_escape_close_the_detail(browser: SessionBrowser) -> None:
    chosen = browser.rows[1]["session_id"]
    browser.select(chosen)
    assert browser.detail is not None and "sk-open" in browser.side._dom_classes
    assert browser.detail.close_button.layout.display is None
    browser.detail.close_button.click()
    assert browser.selected is None and browser.side.children != (browser.detail,)
    assert "sk-open" not in browser.side._dom_classes
    assert not any("sk-selected" in card._dom_classes for card in browser.cards.children)
    browser.select(chosen)
    browser.key_scope.handle({"action": "escape"})  # Escape on a card
    assert browser.selected is None
    browser.select(chosen)
    browser.detail.key_scope.handle({"action": "escape"})  # Escape inside the detail
    assert browser.selected is None


def test_l_on_a_card_likes_and_unlikes_its_session(
    browser: SessionBrowser, kit: SessionKit, clock: ManualScheduler
) -> None:
    browser.chips["liked"].value = False
    slot = next(i for i, row in enumerate(browser.rows) if not row["is_favorite"])
    chosen = browser.rows[slot]["session_id"]
    browser.key_scope.handle({"action": "like", "slot": slot})
    assert kit.metadata(chosen)["is_favorite"] == 1
    assert "★" in browser._pool[ids(browser).index(chosen)].html.value
    browser.select(chosen)  # open in the editor: the like goes through it, and shows there
    browser.key_scope.handle({"action": "like", "slot": ids(browser).index(chosen)})
    assert kit.metadata(chosen)["is_favorite"] == 0
    assert browser.detail is not None and browser.detail.editor.liked.value is False
    browser.key_scope.handle({"action": "like", "slot": 999})  # an empty slot: nothing
    browser.key_scope.handle({"action": "unknown"})


def test_refresh_stats_updates_the_card(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = write_session(root, "20251107_130000-Half", manifest("Half", images=4, num_images=8))
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        browser = SessionBrowser(kit, scheduler=ManualScheduler())
        assert "4/8 images" in browser._pool[0].html.value
        for index in range(4, 8):
            (folder / f"Half_{index:04d}_seed-{1000 + index}.png").write_bytes(png_bytes())
        browser.select("20251107_130000-Half")
        assert browser.detail is not None
        browser.detail.refresh_button.click()
        assert "8/8 images" in browser._pool[0].html.value
        assert "sk-ok" in browser._pool[0].html.value
        assert "100%" in browser.detail.editor.measured.value
