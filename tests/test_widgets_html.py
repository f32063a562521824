"""The rendering helpers: escaping, badges, placeholder highlighting, durations."""

from __future__ import annotations

import numpy as np
import pytest

from sessionkit.widgets import html

HOSTILE = "<img src=x onerror=alert(1)>"


def test_esc_escapes_markup_and_quotes() -> None:
    assert html.esc(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert html.esc("\"a\" & 'b'") == "&quot;a&quot; &amp; &#x27;b&#x27;"
    assert html.esc(None) == "—"
    assert html.esc(3) == "3"


@pytest.mark.parametrize(
    ("percent", "css"),
    [
        (100.0, "sk-ok"),
        (95.0, "sk-ok"),
        (94.99, "sk-mid"),
        (50.0, "sk-mid"),
        (49.9, "sk-low"),
        (0.0, "sk-low"),
        (None, "sk-low"),
    ],
)
def test_completion_colours(percent: float | None, css: str) -> None:
    assert html.completion_class(percent) == css
    assert css in html.badge(percent)


def test_placeholders_are_highlighted_after_escaping() -> None:
    prompt = "<b>{NAME}</b> and {Place[a,b]} but not {not a placeholder}"
    assert html.highlight_placeholders(prompt) == (
        "&lt;b&gt;<mark>{NAME}</mark>&lt;/b&gt; and <mark>{Place[a,b]}</mark> "
        "but not {not a placeholder}"
    )
    assert html.highlight_placeholders("{<script>}") == "{&lt;script&gt;}"
    assert html.highlight_placeholders(None) == "—"


def test_a_hostile_card_is_escaped() -> None:
    row = {
        "session_id": HOSTILE,
        "sd_model": HOSTILE,
        "images_actual": 3,
        "images_expected": 4,
        "completion_percentage": 75.0,
        "is_favorite": 1,
        "is_seed_sweep": 1,
        "tags": np.array([HOSTILE, "ok"]),
    }
    card = html.card_html(row, "data:image/jpeg;base64,AA==")
    assert "<img src=x" not in card
    assert card.count("&lt;img src=x onerror=alert(1)&gt;") == 3
    assert "3/4 images" in card and "sk-mid" in card and "★" in card and "sweep" in card


def test_a_card_with_unknown_counts_and_no_metadata() -> None:
    card = html.card_html({"session_id": "s", "tags": float("nan")}, "")
    assert '? images · <span class="sk-unknown">expected unknown</span>' in card
    assert "sk-tag" not in card and "sk-badge" not in card


def test_without_an_expected_count_nothing_claims_0_percent() -> None:
    row = {"session_id": "s", "images_actual": 6, "images_expected": 0}
    card = html.card_html({**row, "completion_percentage": 0.0}, "")
    assert "6 images" in card and "expected unknown" in card
    assert "6/0" not in card and "0%" not in card
    stats = {**row, "completion_percentage": 0.0, "session_path": "/x"}
    sections = html.stats_sections(stats)
    assert "<dt>expected</dt><dd>unknown</dd>" in sections
    assert "unknown: no expected image count" in sections and "0%" not in sections


def test_a_card_shows_date_mode_marks_and_two_tags_plus_n() -> None:
    row = {
        "session_id": "s",
        "images_actual": 3,
        "images_expected": 4,
        "completion_percentage": 75.0,
        "session_created_at": "2026-11-24T13:28:55",
        "generation_mode": "combinatorial",
        "is_test": 1,
        "user_rating": "dislike",
        "tags": ["a", "b", "c", "d"],
    }
    card = html.card_html(row, "")
    assert "2026-11-24 13:28 · combinatorial" in card
    assert ">Test</span>" in card and "👎" in card and "★" not in card
    assert card.count('class="sk-tag"') == 2 and "+2</span>" in card
    assert "+" not in html.card_html({**row, "tags": ["a", "b"]}, "").split("sk-tag")[-1]


def test_the_detail_shows_the_sweep_badge_and_when_things_happened() -> None:
    stats = {
        "session_id": "s",
        "session_path": "/x",
        "is_seed_sweep": 1,
        "session_created_at": "2026-11-24T13:28:55",
        "manifest_generated_at": "2026-11-24T13:40:01",
        "stats_computed_at": "2026-11-25T08:00:00",
    }
    assert "Seed sweep</span>" in html.header_html(stats)
    assert "Seed sweep" not in html.header_html({**stats, "is_seed_sweep": 0})
    sections = html.stats_sections(stats)
    for text in (
        "<dt>created</dt><dd>2026-11-24 13:28</dd>",
        "<dt>manifest written</dt><dd>2026-11-24 13:40</dd>",
        "<dt>stats computed</dt><dd>2026-11-25 08:00</dd>",
    ):
        assert text in sections


def test_placeholder_section_counts_and_cuts() -> None:
    text = html.placeholders_html({"A": 12, "<B>": 1}, {"A": [f"v{n}" for n in range(10)]})
    assert "{A} (12)" in text and "+2 more" in text and "{&lt;B&gt;} (1)" in text
    assert "none" in html.placeholders_html({}, {})


def test_placeholder_values_are_separate_items_because_values_hold_commas() -> None:
    text = html.placeholders_html({"HAIR": 2}, {"HAIR": ["red hair, braids", "<b>bob</b>"]})
    assert '<li class="sk-value">red hair, braids</li>' in text
    assert '<li class="sk-value">&lt;b&gt;bob&lt;/b&gt;</li>' in text


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2025-11-07T12:00:00", "2025-11-07T12:01:05", "1m 05s"),
        ("2025-11-07T12:00:00", "2025-11-07T14:02:03", "2h 02m 03s"),
        ("2025-11-07T12:00:00", "2025-11-07T11:00:00", "0m 00s"),
        (None, "2025-11-07T12:00:00", None),
        ("garbage", "2025-11-07T12:00:00", None),
    ],
)
def test_duration(first: str | None, last: str | None, expected: str | None) -> None:
    assert html.duration(first, last) == expected


def test_provenance_lines_are_escaped() -> None:
    lines = html.provenance(
        {"stats_source": "none", "stats_error": HOSTILE, "missing_since": "2026-01-01"}
    )
    assert "nothing is known" in lines and "folder missing since 2026-01-01" in lines
    assert "&lt;img" in lines and "<img" not in lines
    assert html.provenance({"stats_source": "manifest"}) == ""


def test_as_list_accepts_what_pandas_hands_over() -> None:
    assert html.as_list(None) == []
    assert html.as_list("one") == ["one"]
    assert html.as_list(np.array(["a", "b"])) == ["a", "b"]
