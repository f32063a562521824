"""Hostile text from files, the database and users never becomes markup in any widget.

A session whose folder name, model, prompt, placeholder values, note and
(WebUI-written, so unvalidated) tags all carry HTML is opened in the
browser, its detail and its editor; every HTML-rendering widget value is
then checked: the markup must be there as escaped text, never as tags.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from builders import manifest, write_session
from sessionkit import SessionKit
from sessionkit.widgets import ManualScheduler, SessionBrowser

ATTACKS = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
)
HOSTILE_NAME = "20251101_000000-<img src=x onerror=alert(1)>"


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[SessionKit]:
    root = tmp_path / "root"
    document = manifest(
        "Hostile",
        images=2,
        model=f"evil {ATTACKS[2]}.safetensors",
        prompt=f"{ATTACKS[0]} {ATTACKS[1]}, {{EXPRESSIONS}}",
        expressions=(ATTACKS[0], ATTACKS[2]),
    )
    document["snapshot"]["resolved_template"]["negative"] = ATTACKS[1]
    write_session(root, HOSTILE_NAME, document)
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        kit.update_metadata(HOSTILE_NAME, user_note=" ".join(ATTACKS), is_favorite=True)
        # the WebUI writes tags without our validation: a hostile tag can be in the file
        con = sqlite3.connect(kit.db_path)
        con.execute(
            "UPDATE session_metadata SET tags = ? WHERE session_id = ?",
            (json.dumps([ATTACKS[1], "ok"]), HOSTILE_NAME),
        )
        con.commit()
        con.close()
        kit.mirror.refresh_metadata(HOSTILE_NAME)
        yield kit


def descendants(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


def rendered_html(root: Any) -> list[str]:
    """Every string a browser would parse as HTML: HTML widget values and HTML descriptions."""
    texts: list[str] = []
    for widget in descendants(root):
        if isinstance(widget, w.HTML | w.HTMLMath):
            texts.append(widget.value)
        if getattr(widget, "description_allow_html", False):
            texts.append(widget.description)
    return texts


def assert_escaped(texts: list[str]) -> None:
    page = "\n".join(texts)
    for tag in ("<img src=x", "<script>", "<svg onload"):  # thumbnails are <img src="data:
        assert tag not in page, f"{tag!r} reached the page unescaped"
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_every_widget_of_the_browser_and_detail_escapes(kit: SessionKit) -> None:
    browser = SessionBrowser(kit, scheduler=ManualScheduler())
    assert browser.select(HOSTILE_NAME)
    texts = rendered_html(browser)
    assert_escaped(texts)
    page = "\n".join(texts)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the prompt, the tag
    assert "&lt;svg onload=alert(3)&gt;" in page  # the model name, a placeholder value


def test_search_and_filters_with_hostile_text(kit: SessionKit) -> None:
    browser = SessionBrowser(kit, scheduler=ManualScheduler())
    browser.search.value = ATTACKS[0]
    assert browser.total == 1
    assert_escaped(rendered_html(browser))
