"""``kit.browse``: one browser redraw from one filter object, in two queries."""

from __future__ import annotations

from typing import Any

import pytest

from sessionkit import SessionKit
from sessionkit.query import InvalidFilter
from sessionkit.thumbs import session_images

CHIPS = ["liked", "test", "complete", "seed_sweep"]


@pytest.mark.parametrize(
    "filters",
    [{}, {"complete": False}, {"liked": True, "model": "a"}, {"search": "portrait"}],
    ids=["none", "incomplete", "liked_model", "search"],
)
def test_browse_agrees_with_the_separate_calls(
    demo_kit: SessionKit, filters: dict[str, Any]
) -> None:
    liked = demo_kit.sessions(limit=3)["session_id"]
    for session_id in liked:
        demo_kit.update_metadata(session_id, is_favorite=True)
    page = demo_kit.browse(chips=CHIPS, limit=5, offset=1, **filters)
    assert page.total == demo_kit.count(**filters)
    assert list(page.rows["session_id"]) == list(
        demo_kit.sessions(limit=5, offset=1, **filters)["session_id"]
    )
    assert demo_kit.describe(**filters).endswith(page.words)
    for chip in CHIPS:
        assert page.chips[chip] == demo_kit.count(**{**filters, chip: True}), chip
    assert page.listed == demo_kit.count()
    for session_id, path in zip(page.rows["session_id"], page.rows["session_path"], strict=True):
        found = session_images(str(path), 1)
        assert page.first_images.get(str(session_id)) == (found[0] if found else None)


def test_browse_runs_two_queries(demo_kit: SessionKit, monkeypatch: pytest.MonkeyPatch) -> None:
    demo_kit.browse(chips=CHIPS)  # the mirror is built and its rows converted once
    mirror = demo_kit.mirror
    calls: list[str] = []
    for name in ("query", "column", "scalar"):
        original = getattr(mirror, name)

        def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(str(args[0])[:40])
            return _original(*args, **kwargs)

        monkeypatch.setattr(mirror, name, counted)
    demo_kit.browse(chips=CHIPS, liked=False, limit=10)
    assert len(calls) == 2, calls


def test_browse_refuses_a_chip_that_is_no_flag(demo_kit: SessionKit) -> None:
    with pytest.raises(InvalidFilter):
        demo_kit.browse(chips=["model"])
