"""The metadata editor: debounced auto-save, errors that keep the edit, conflicts.

Time is a :class:`ManualScheduler`: ``advance`` runs the saves that fell due,
so each test says exactly when a write happens, instantly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sessionkit import NEVER_EDITED, SessionKit
from sessionkit.store import Store
from sessionkit.widgets import ManualScheduler, MetadataEditor

HOSTILE = "<img src=x onerror=alert(1)>"


class Writes:
    """Counts ``kit.update_metadata`` calls, passing them through."""

    def __init__(self, kit: SessionKit) -> None:
        self.calls: list[dict[str, Any]] = []
        self._update = kit.update_metadata

        def update(session_id: str, **fields: Any) -> dict[str, Any]:
            self.calls.append(fields)
            return self._update(session_id, **fields)

        kit.update_metadata = update  # type: ignore[method-assign]


@pytest.fixture
def session_id(demo_kit: SessionKit) -> str:
    return str(demo_kit.sessions(limit=1)["session_id"][0])


@pytest.fixture
def clock() -> ManualScheduler:
    return ManualScheduler()


@pytest.fixture
def writes(demo_kit: SessionKit) -> Writes:
    return Writes(demo_kit)


@pytest.fixture
def editor(demo_kit: SessionKit, session_id: str, clock: ManualScheduler) -> MetadataEditor:
    return MetadataEditor(demo_kit, session_id, scheduler=clock)


def stored(kit: SessionKit, session_id: str) -> dict[str, Any] | None:
    """The ``session_metadata`` row as SQLite has it (``None``: never written)."""
    return kit.store.metadata(session_id)


def test_loading_a_session_writes_nothing(
    demo_kit: SessionKit, session_id: str, clock: ManualScheduler, writes: Writes
) -> None:
    demo_kit.update_metadata(session_id, tags=["keeper"], is_favorite=True, user_note="n")
    writes.calls.clear()
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    editor.reload()
    clock.advance(10)
    assert writes.calls == []
    assert clock.pending == 0
    assert (editor.tags.value, editor.liked.value, editor.note.value) == (["keeper"], True, "n")
    assert editor.state == "idle"


EDITS: dict[str, tuple[Callable[[MetadataEditor], None], float, str, Any]] = {
    "tags": (
        lambda e: setattr(e.tags, "value", ["keeper", "wip"]),
        1.0,
        "tags",
        '["keeper","wip"]',
    ),
    "liked": (lambda e: setattr(e.liked, "value", True), 0.5, "is_favorite", 1),
    "test": (lambda e: setattr(e.test, "value", True), 0.5, "is_test", 1),
    "complete": (lambda e: setattr(e.complete, "value", True), 0.5, "is_complete", 1),
    "like": (lambda e: setattr(e.rating, "value", "like"), 0.5, "user_rating", "like"),
    "dislike": (lambda e: setattr(e.rating, "value", "dislike"), 0.5, "user_rating", "dislike"),
    "note": (lambda e: setattr(e.note, "value", "great light"), 1.0, "user_note", "great light"),
}


@pytest.mark.parametrize("name", EDITS)
def test_each_edit_saves_exactly_once_after_its_debounce(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    clock: ManualScheduler,
    writes: Writes,
    name: str,
) -> None:
    edit, delay, column, value = EDITS[name]
    edit(editor)
    clock.advance(delay - 0.01)
    assert writes.calls == []
    assert stored(demo_kit, session_id) is None
    clock.advance(0.01)
    assert len(writes.calls) == 1
    clock.advance(10)
    assert len(writes.calls) == 1
    row = stored(demo_kit, session_id)
    assert row is not None and row[column] == value
    assert editor.state == "saved"
    assert "saved" in editor.status.value


def test_clearing_the_rating_saves_none(
    demo_kit: SessionKit, session_id: str, clock: ManualScheduler
) -> None:
    demo_kit.update_metadata(session_id, user_rating="like")
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    editor.rating.value = "none"
    clock.advance(0.5)
    row = stored(demo_kit, session_id)
    assert row is not None and row["user_rating"] is None


def test_ten_keystrokes_inside_the_window_make_one_save(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    clock: ManualScheduler,
    writes: Writes,
) -> None:
    text = "ten chars!"
    for end in range(1, len(text) + 1):
        editor.note.value = text[:end]
        clock.advance(0.9)
    assert writes.calls == []
    assert editor.counter.value == "10/500"
    clock.advance(0.1)
    # the first save creates the row and stores the Complete flag as shown (off)
    assert writes.calls == [
        {"expected_updated_at": NEVER_EDITED, "user_note": "ten chars!", "is_complete": False}
    ]


def test_edits_of_both_delays_merge_into_one_save(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    clock: ManualScheduler,
    writes: Writes,
) -> None:
    editor.note.value = "merged"
    editor.liked.value = True
    clock.advance(0.5)
    assert len(writes.calls) == 1
    assert writes.calls[0]["user_note"] == "merged" and writes.calls[0]["is_favorite"] is True


def test_an_edit_undone_before_the_save_writes_nothing(
    editor: MetadataEditor, clock: ManualScheduler, writes: Writes
) -> None:
    editor.liked.value = True
    editor.liked.value = False
    clock.advance(5)
    assert writes.calls == []
    assert editor.state == "idle"


def test_flush_saves_pending_edits_now(
    demo_kit: SessionKit, session_id: str, editor: MetadataEditor, writes: Writes
) -> None:
    editor.test.value = True
    editor.flush()
    editor.flush()
    assert len(writes.calls) == 1
    row = stored(demo_kit, session_id)
    assert row is not None and row["is_test"] == 1


def test_enter_adds_the_typed_tag_and_the_autocomplete_offers_it_at_once(
    demo_kit: SessionKit, session_id: str, editor: MetadataEditor, clock: ManualScheduler
) -> None:
    editor.add_tag.value = "new-tag"  # typed: Python holds the text, nothing is added yet
    assert editor.tags.value == []
    editor.key_scope.handle({"action": "tag-enter", "text": "new-tag"})  # the browser empties it
    assert editor.tags.value == ["new-tag"]
    assert "new-tag" in editor.add_tag.options  # before any save
    editor.enter_tag("second")  # the same from code: the field is emptied here
    assert editor.tags.value == ["new-tag", "second"] and editor.add_tag.value == ""
    clock.advance(1)
    assert demo_kit.metadata(session_id)["tags"] == ["new-tag", "second"]
    assert "new-tag" in MetadataEditor(demo_kit, session_id).add_tag.options


def test_a_half_typed_tag_is_never_saved_when_the_field_loses_focus(
    editor: MetadataEditor, clock: ManualScheduler, writes: Writes
) -> None:
    editor.add_tag.value = "half-typ"  # what the browser syncs on every keystroke and on blur
    clock.advance(10)
    assert writes.calls == []
    assert editor.tags.value == []


def test_escape_cancels_the_typed_tag(
    editor: MetadataEditor, clock: ManualScheduler, writes: Writes
) -> None:
    editor.add_tag.value = "oops"  # the browser empties the field on Escape; from code:
    editor.cancel_tag()
    assert editor.add_tag.value == ""
    clock.advance(10)
    assert (editor.tags.value, writes.calls) == ([], [])


def test_backspace_in_the_empty_field_and_delete_on_a_tag_remove_tags(
    demo_kit: SessionKit, session_id: str, clock: ManualScheduler
) -> None:
    demo_kit.update_metadata(session_id, tags=["a", "b", "c"])
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    # text in the field: Backspace edits the text, not the tags
    editor.key_scope.handle({"action": "tag-backspace", "text": "x"})
    assert editor.tags.value == ["a", "b", "c"]
    editor.add_tag.value = "x"  # Python's copy of the field may lag: the key's text decides
    editor.key_scope.handle({"action": "tag-backspace", "text": ""})
    assert editor.tags.value == ["a", "b"]
    editor.key_scope.handle({"action": "tag-remove", "index": 0})
    editor.key_scope.handle({"action": "tag-remove", "index": 7})  # gone meanwhile: nothing
    assert editor.tags.value == ["b"]
    clock.advance(1)
    assert demo_kit.metadata(session_id)["tags"] == ["b"]


def test_labels_say_what_each_mark_means(editor: MetadataEditor) -> None:
    assert editor.liked.description == "★ Liked"
    assert "keeper" in editor.liked.tooltip and "star" in editor.liked.tooltip
    assert [label for label, _ in editor.rating.options] == ["👍 good", "👎 bad", "no rating"]
    assert "verdict on the output" in editor.key_scope.groups[".sk-rating"]
    assert editor.complete.description == "Marked complete"
    labels = " ".join(
        child.value for child in editor.children if isinstance(getattr(child, "value", 0), str)
    )
    for name in ("Tags", "Flags", "Rating", "Notes"):
        assert f">{name}" in labels
    assert editor.key_scope.labels[".sk-note textarea"] == "Notes"
    assert editor.key_scope.groups[".sk-flags"] == "Flags"
    assert editor.key_scope.live == ".sk-state"  # the save state is announced


def test_complete_is_off_until_marked_and_the_measured_completion_shows_beside_it(
    demo_kit: SessionKit, clock: ManualScheduler, writes: Writes
) -> None:
    rows = demo_kit.sessions(limit=None, complete=False)
    rows = rows[rows["images_expected"] > 0]
    low = rows.sort_values("completion_percentage").iloc[0]
    session_id = str(low["session_id"])
    assert low["completion_percentage"] < 95 and demo_kit.store.metadata(session_id) is None
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    assert editor.complete.value is False  # the stored default (1) is nobody's mark
    assert f"{low['completion_percentage']:.0f}%" in editor.measured.value
    editor.liked.value = True
    clock.advance(0.5)
    row = stored(demo_kit, session_id)
    assert row is not None and row["is_complete"] == 0  # stored as shown
    # a row the WebUI wrote (its default is complete) is somebody's mark: shown as stored
    other = str(rows.iloc[-1]["session_id"])
    demo_kit.store.update_metadata(other, str(rows.iloc[-1]["session_path"]), {"is_test": True})
    assert MetadataEditor(demo_kit, other, scheduler=clock).complete.value is True


def test_rapid_clicks_on_a_flag_write_at_most_once_per_debounce(
    editor: MetadataEditor, clock: ManualScheduler, writes: Writes
) -> None:
    for _ in range(5):  # five clicks, 0.1 s apart: on, off, on, off, on
        editor.liked.value = not editor.liked.value
        clock.advance(0.1)
    clock.advance(0.5)
    assert len(writes.calls) == 1 and writes.calls[0]["is_favorite"] is True


def test_a_flag_is_disabled_with_a_busy_mark_while_its_save_is_in_flight(
    demo_kit: SessionKit, editor: MetadataEditor, clock: ManualScheduler
) -> None:
    seen: list[tuple[bool, bool, bool]] = []
    update = demo_kit.update_metadata

    def watched(session_id: str, **fields: Any) -> dict[str, Any]:
        busy = "sk-busy" in editor.liked._dom_classes
        seen.append((editor.liked.disabled, busy, editor.test.disabled))
        return update(session_id, **fields)

    demo_kit.update_metadata = watched  # type: ignore[method-assign]
    editor.liked.value = True
    clock.advance(0.5)
    assert seen == [(True, True, False)]  # only the flag being saved
    assert not editor.liked.disabled and "sk-busy" not in editor.liked._dom_classes
    assert "data-saved-at=" in editor.saved_ago.value  # the browser shows "saved N s ago"


def test_an_invalid_tag_is_refused_with_the_reason_and_stays_on_screen(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    clock: ManualScheduler,
    writes: Writes,
) -> None:
    editor.tags.value = ["good", "two words"]
    clock.advance(5)
    assert writes.calls == []
    assert editor.tags.value == ["good", "two words"]
    assert "may hold only letters" in editor.tag_error.value
    assert editor.state == "error"
    editor.tags.value = ["good"]
    clock.advance(1)
    assert demo_kit.metadata(session_id)["tags"] == ["good"]
    assert editor.tag_error.value == ""


def test_a_hostile_tag_is_shown_escaped(editor: MetadataEditor) -> None:
    editor.tags.value = [HOSTILE]
    for value in (editor.tag_error.value, editor.status.value):
        assert "<img" not in value
        assert "&lt;img" in value


def test_a_note_over_the_limit_is_kept_and_not_saved(
    editor: MetadataEditor, clock: ManualScheduler, writes: Writes
) -> None:
    editor.note.value = "x" * 501
    clock.advance(5)
    assert writes.calls == []
    assert editor.counter.value == "501/500"
    assert "sk-error" in editor.counter._dom_classes
    assert editor.note.value == "x" * 501
    assert "limit is 500" in editor.status.value


@pytest.fixture
def locked(demo_kit: SessionKit) -> Iterator[sqlite3.Connection]:
    """Another program holding the write lock; the kit waits 50 ms, not 5 s."""
    demo_kit.store = Store(demo_kit.db_path, busy_timeout=0.05)
    other = sqlite3.connect(demo_kit.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    other.close()


def test_a_locked_database_shows_an_error_keeps_the_edit_and_retry_saves(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    clock: ManualScheduler,
    locked: sqlite3.Connection,
) -> None:
    editor.liked.value = True
    editor.note.value = "keep me"
    clock.advance(1)
    assert editor.state == "error"
    assert "locked" in editor.status.value
    assert editor.retry.layout.display is None
    assert (editor.liked.value, editor.note.value) == (True, "keep me")
    assert editor.pending == {"is_favorite": True, "user_note": "keep me"}
    locked.execute("ROLLBACK")
    editor.retry.click()
    assert editor.state == "saved"
    assert editor.retry.layout.display == "none"
    row = stored(demo_kit, session_id)
    assert row is not None and (row["is_favorite"], row["user_note"]) == (1, "keep me")


@pytest.fixture
def conflicted(
    demo_kit: SessionKit, session_id: str, clock: ManualScheduler
) -> Iterator[MetadataEditor]:
    """An editor whose session was edited by another program after it loaded."""
    demo_kit.update_metadata(session_id, user_note="mine")
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    with SessionKit(db=demo_kit.db_path, progress=False) as other:
        other.update_metadata(session_id, user_note="theirs")
    editor.liked.value = True
    clock.advance(0.5)
    yield editor


def test_a_conflict_is_detected_and_offers_reload_or_overwrite(
    demo_kit: SessionKit, session_id: str, conflicted: MetadataEditor
) -> None:
    assert conflicted.state == "error"
    assert "edited elsewhere" in conflicted.status.value
    assert conflicted.reload_button.layout.display is None
    assert conflicted.overwrite.layout.display is None
    assert conflicted.liked.value is True
    row = stored(demo_kit, session_id)
    assert row is not None and (row["is_favorite"], row["user_note"]) == (0, "theirs")


def test_reload_takes_their_version(
    demo_kit: SessionKit, session_id: str, conflicted: MetadataEditor, clock: ManualScheduler
) -> None:
    conflicted.reload_button.click()
    assert (conflicted.liked.value, conflicted.note.value) == (False, "theirs")
    assert conflicted.state == "idle" and conflicted.pending == {}
    conflicted.test.value = True
    clock.advance(0.5)
    assert conflicted.state == "saved"
    row = stored(demo_kit, session_id)
    assert row is not None and (row["is_test"], row["user_note"]) == (1, "theirs")


def test_overwrite_saves_the_local_edit_over_theirs(
    demo_kit: SessionKit, session_id: str, conflicted: MetadataEditor
) -> None:
    conflicted.overwrite.click()
    assert conflicted.state == "saved"
    assert conflicted.reload_button.layout.display == "none"
    row = stored(demo_kit, session_id)
    assert row is not None and (row["is_favorite"], row["user_note"]) == (1, "theirs")


def test_switching_sessions_saves_the_pending_edit_first(
    demo_kit: SessionKit, session_id: str, editor: MetadataEditor, writes: Writes
) -> None:
    other = str(demo_kit.sessions(limit=2)["session_id"][1])
    editor.liked.value = True
    assert editor.load(other)
    assert len(writes.calls) == 1
    assert demo_kit.metadata(session_id)["is_favorite"] == 1
    assert editor.session_id == other and editor.liked.value is False


def test_switching_is_refused_while_an_edit_cannot_be_saved(
    demo_kit: SessionKit,
    session_id: str,
    editor: MetadataEditor,
    locked: sqlite3.Connection,
) -> None:
    other = str(demo_kit.sessions(limit=2)["session_id"][1])
    editor.note.value = "unsaved"
    assert not editor.load(other)
    assert editor.session_id == session_id
    assert editor.note.value == "unsaved"
    assert editor.state == "error"


def test_a_first_edit_made_elsewhere_meanwhile_is_a_conflict(
    demo_kit: SessionKit, clock: ManualScheduler
) -> None:
    """The session had no metadata when loaded; another program creates its row first."""
    never = [
        sid
        for sid in demo_kit.sessions(limit=None)["session_id"]
        if demo_kit.metadata(sid)["updated_at"] is None
    ]
    editor = MetadataEditor(demo_kit, never[0], scheduler=clock)
    demo_kit.update_metadata(never[0], user_note="theirs")
    editor.note.value = "mine"
    editor.flush()
    assert editor.state == "error"
    assert demo_kit.metadata(never[0])["user_note"] == "theirs"
    assert editor.note.value == "mine"


def test_tags_the_webui_wrote_stay_and_the_edit_saves_only_what_changed(
    demo_kit: SessionKit, session_id: str, clock: ManualScheduler, writes: Writes
) -> None:
    """Stored tags of any form are kept; the save sends the tags added and removed."""
    con = sqlite3.connect(demo_kit.db_path)
    con.execute(
        "INSERT OR REPLACE INTO session_metadata (session_id, session_path, tags, created_at, "
        "updated_at) VALUES (?, '/p', '[\"two words\", \"Keeper\", \"keeper\"]', 't', 't')",
        (session_id,),
    )
    con.commit()
    con.close()
    demo_kit.mirror.refresh_metadata(session_id)
    editor = MetadataEditor(demo_kit, session_id, scheduler=clock)
    assert editor.tags.value == ["two words", "Keeper", "keeper"]
    editor.tags.value = ["two words", "Keeper", "fresh"]
    clock.advance(1)
    assert editor.tag_error.value == ""
    assert writes.calls[-1]["add_tags"] == ["fresh"]
    assert writes.calls[-1]["remove_tags"] == ["keeper"]
    assert demo_kit.metadata(session_id)["tags"] == ["two words", "Keeper", "fresh"]
