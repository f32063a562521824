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
    assert "?/? images" in card and "sk-tag" not in card


def test_placeholder_section_counts_and_cuts() -> None:
    text = html.placeholders_html({"A": 12, "<B>": 1}, {"A": [f"v{n}" for n in range(10)]})
    assert "{A} (12)" in text and "+2 more" in text and "{&lt;B&gt;} (1)" in text
    assert "none" in html.placeholders_html({}, {})


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
