"""The browser's state in the app's address: encoded, read back, and followed."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import SessionKit
from sessionkit.demo import demo_metadata
from sessionkit.widgets import ManualScheduler, PageAddress, SessionBrowser
from sessionkit.widgets.address import (
    FLAGS,
    KEYS,
    BrowserState,
    decode,
    encode,
    follow_page_address,
)

ANCHOR = date(2026, 11, 24)


@pytest.fixture
def browser(demo_kit: SessionKit) -> SessionBrowser:
    demo_kit.mark_unedited(demo_metadata(demo_kit.sessions(limit=None)["session_id"]))
    return SessionBrowser(demo_kit, scheduler=ManualScheduler(), today=lambda: ANCHOR)


def test_an_untouched_browser_has_an_empty_address(browser: SessionBrowser) -> None:
    assert browser.address == ""


def test_filters_page_and_session_reach_the_address(browser: SessionBrowser) -> None:
    model = browser.model.options[1][1]
    browser.set_filters(liked=True, model=model, days=29, tags=["keeper"], search="a b&c")
    assert decode(browser.address) == BrowserState(
        flags=("liked",), model=model, search="a b&c", tags=["keeper"], days=29
    )
    assert "search=a+b%26c" in browser.address  # a value is quoted, never pasted
    browser.clear_filters()
    browser.page_size.value = 12
    browser.next_page()
    browser.select(browser.rows[0]["session_id"])
    state = decode(browser.address)
    assert (state.page, state.session) == (1, browser.selected)
    browser.close_detail()
    assert decode(browser.address).session is None


def test_go_to_shows_what_an_address_asks_for(browser: SessionBrowser) -> None:
    browser.set_filters(liked=True, model=browser.model.options[1][1], days=6, search="old")
    asked = "test=1&tags=keeper&from_date=2025-09-01&to_date=2026-11-24T18:30&token=x"
    browser.go_to(asked)
    assert browser.filters() == {
        "test": True,
        "from_date": date(2025, 9, 1),
        "to_date": "2026-11-24 18:30",
        "tags": ["keeper"],
    }  # every filter the address does not name is back to "all"
    assert browser.total == browser.kit.count(**browser.filters())
    assert decode(browser.address) == decode(asked)


def test_go_to_a_page_and_a_session(browser: SessionBrowser) -> None:
    browser.page_size.value = 12
    second = list(browser.kit.sessions(limit=12, offset=12)["session_id"])
    browser.go_to(f"page=2&session={second[3]}")
    assert browser.page == 1 and [row["session_id"] for row in browser.rows] == second
    assert browser.selected == second[3] and browser.detail is not None


def test_go_to_leaves_out_what_the_controls_cannot_take(browser: SessionBrowser) -> None:
    browser.go_to("model=no-such-model&days=3&from_date=yesterday&page=x&liked=0&complete=1")
    assert browser.filters() == {"complete": True}
    assert browser.page == 0
    browser.go_to("session=../../etc")
    assert browser.selected is None
    assert "Could not open ../../etc" in browser.message.value


def test_a_hostile_address_is_text(browser: SessionBrowser) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    browser.go_to(f"search={hostile}")
    assert browser.search.value == hostile
    assert "<img" not in browser.describe.value and "&lt;img" in browser.describe.value


@given(
    flags=st.sets(st.sampled_from(FLAGS)),
    text=st.text(st.characters(codec="utf-8"), max_size=12),
    tags=st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True), unique=True),
    days=st.sampled_from([None, 0, 6, 29]),
    minute=st.none() | st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
    page=st.integers(0, 500),
)
def test_decode_reads_back_what_encode_wrote(
    flags: set[str],
    text: str,
    tags: list[str],
    days: int | None,
    minute: datetime | None,
    page: int,
) -> None:
    bound = None if minute is None else minute.replace(second=0, microsecond=0)
    state = BrowserState(
        flags=tuple(name for name in FLAGS if name in flags),
        model=text,
        search=text.strip(),
        tags=tags,
        days=days,
        from_date=bound,
        to_date=None if bound is None else bound.date(),
        page=page,
        session=text or None,
    )
    assert decode(encode(state)) == state
    assert {key for key, _ in parse_qsl(encode(state))} <= set(KEYS)


def test_the_page_address_follows_the_browser(browser: SessionBrowser) -> None:
    widget = PageAddress.following(browser)
    assert widget.query == "" and list(widget.names) == list(KEYS)
    browser.set_filters(seed_sweep=True)
    assert widget.query == "seed_sweep=1"


def test_in_a_served_page_the_address_is_followed(browser: SessionBrowser) -> None:
    widget = follow_page_address(browser, {"QUERY_STRING": "token=t&complete=1"})
    assert isinstance(widget, PageAddress)
    assert browser.filters() == {"complete": True}
    assert widget.query == "complete=1"  # the token is the page's, not the browser's


def test_elsewhere_the_browser_is_only_redrawn(browser: SessionBrowser) -> None:
    browser.set_filters(test=True)
    browser.kit.update_metadata(browser.rows[0]["session_id"], is_test=False)
    before = browser.total
    assert follow_page_address(browser, {}) is None
    assert browser.total == before - 1  # redrawn, filters kept
    assert browser.filters() == {"test": True}
