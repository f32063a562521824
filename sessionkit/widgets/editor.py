"""The metadata editor: tags, flags, rating and note, saved automatically.

There is no save button. Each edit is put in ``pending`` and a save is
scheduled after a quiet period (1 s for tags and the note, which are typed;
0.5 s for flags and the rating, which are clicks); a new edit moves the save
later, and edits made in the same window go out in one
``kit.update_metadata`` call. The save passes the ``updated_at`` the editor
last read or wrote, so an edit made elsewhere in the meantime is reported as
a conflict instead of being overwritten. Whatever goes wrong, the edit stays
on screen and in ``pending`` until it is saved, reloaded away or overwritten.

What the marks mean (docs/widgets.md): "★ Liked" (``is_favorite``, the
WebUI's star) says the session is a keeper, one of your favourites; the
rating 👍 good / 👎 bad (``user_rating``, the WebUI's thumbs) is your
verdict on its output. They are independent: a liked session may hold a bad
batch you keep as a reference.

"Marked complete" is the user's own flag, and the editor shows it on only
when a metadata row exists and says so: the WebUI's table stores
``is_complete = 1`` by default, and showing that default would claim a
session at 21 % is complete. A session nobody has marked shows it off, and
the first save of marks writes the flag as shown, so what the screen shows
is what is stored. The measured completion (images found against expected)
is always shown beside it; that, not the flag, is what the browser's
Complete filter uses.

Tags are typed in the entry field: Enter adds the typed tag, Escape empties
the field, Backspace in the empty field removes the last tag, and leaving
the field adds nothing (a half-typed tag is never saved). The keys reach
Python through the editor's :class:`~sessionkit.widgets.keys.KeyScope`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as w

from sessionkit.errors import SessionKitError
from sessionkit.kit import SessionKit
from sessionkit.store import (
    NEVER_EDITED,
    NOTE_MAX_CHARS,
    InvalidMetadata,
    MetadataConflict,
    check_added_tags,
)
from sessionkit.widgets.debounce import Handle, Scheduler, default_scheduler
from sessionkit.widgets.html import LIKED_TIP, RATING_TIP, STYLE, completion_html, esc
from sessionkit.widgets.keys import KeyScope

TYPED_DELAY_S = 1.0
CLICKED_DELAY_S = 0.5
RATINGS = (("👍 good", "like"), ("👎 bad", "dislike"), ("no rating", "none"))
RATING_TIPS = (
    "Rate the output good (stored as like)",
    "Rate the output bad (stored as dislike)",
    "Remove the rating",
)
COMPLETE_TIP = (
    "Your own mark that the session is finished. Off until you (or the WebUI) set it; "
    "the measured completion is shown beside it"
)
TEST_TIP = "A test run: the Test filter finds (or hides) these"


class MetadataEditor(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Edit one session's user metadata; every change is saved by itself.

    Controls are public attributes (``tags``, ``add_tag``, ``liked``,
    ``test``, ``complete``, ``rating``, ``note``) and the state shows in
    ``state`` (``"idle"``, ``"saving"``, ``"saved"`` or ``"error"``) and in the
    ``status`` label. ``scheduler`` decides when debounced saves run (see
    :mod:`sessionkit.widgets.debounce`); ``flush()`` saves pending edits now.
    """

    def __init__(
        self, kit: SessionKit, session_id: str, scheduler: Scheduler | None = None
    ) -> None:
        self.kit = kit
        self.scheduler = scheduler or default_scheduler()
        self.session_id = session_id
        self.state = "idle"
        self.pending: dict[str, Any] = {}
        self.saved_values: dict[str, Any] = {}
        self.updated_at: str | None = None
        self.on_saved: list[Callable[[str], None]] = []
        self._loading = False
        self._handle: Handle | None = None
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        self._build()
        super().__init__(
            [
                w.HTML(STYLE),  # shown on its own, the editor needs the rules too
                self.key_scope,
                _label("Tags"),
                self.tags,
                w.HBox([self.add_tag, self.tag_error]).add_class("sk-bar"),
                _label("Flags"),
                w.HBox([self.liked, self.test, self.complete, self.measured])
                .add_class("sk-bar")
                .add_class("sk-flags"),
                _label("Rating (your verdict on the output)"),
                self.rating,
                _label("Notes"),
                self.note,
                self.counter,
                w.HBox(
                    [self.status, self.saved_ago, self.retry, self.reload_button, self.overwrite]
                ).add_class("sk-bar"),
            ]
        )
        self.add_class("sk-editor")
        self.load(session_id)

    def _build(self) -> None:
        self.tags = w.TagsInput(value=[], allow_duplicates=False).add_class("sk-tags")
        # continuous: Python always holds the typed text, and only Enter adds it
        self.add_tag = w.Combobox(
            placeholder="add a tag, Enter", ensure_option=False, continuous_update=True
        ).add_class("sk-add-tag")
        self.tag_error = w.HTML("").add_class("sk-error")
        self.liked = w.ToggleButton(description="★ Liked", tooltip=LIKED_TIP).add_class("sk-liked")
        self.test = w.ToggleButton(description="Test", tooltip=TEST_TIP).add_class("sk-test")
        self.complete = w.ToggleButton(description="Marked complete", tooltip=COMPLETE_TIP)
        self.complete.add_class("sk-complete")
        self.measured = w.HTML().add_class("sk-measured")
        self.rating = w.ToggleButtons(
            options=RATINGS,
            value="none",
            tooltips=list(RATING_TIPS),
            style={"button_width": "auto"},  # one row on a phone, not three of 148 px
        ).add_class("sk-rating")
        self.note = w.Textarea(placeholder="notes", rows=2).add_class("sk-note")
        self.counter = w.Label(f"0/{NOTE_MAX_CHARS}").add_class("sk-counter")
        self.status = w.HTML("idle").add_class("sk-state")
        self.saved_ago = w.HTML("").add_class("sk-saved-ago")
        self.key_scope = KeyScope(
            "sk-editor",
            {
                # the browser has emptied the field already (Escape needs nothing more):
                # emptying it from here could wipe what is being typed next
                "tag-enter": lambda message: self.add(str(message.get("text", ""))),
                "tag-backspace": lambda message: self.backspace_tag(str(message.get("text", ""))),
                "tag-remove": lambda message: self.remove_tag(int(message.get("index", -1))),
            },
            keys=("tag",),
            labels={
                ".sk-add-tag input": "Add a tag (Enter adds, Escape cancels)",
                ".sk-note textarea": "Notes",
                ".sk-tags": "Tags",
            },
            groups={".sk-flags": "Flags", ".sk-rating": f"Rating. {RATING_TIP}"},
            live=".sk-state",
        )
        self.retry = _hidden_button("Retry", "sk-retry")
        self.reload_button = _hidden_button("Reload (take theirs)", "sk-reload")
        self.overwrite = _hidden_button("Overwrite", "sk-overwrite")
        self.tags.observe(lambda change: self.edit_tags(change["new"]), "value")
        for widget, field in self._flags():
            widget.observe(lambda change, name=field: self.edit_flag(name, change["new"]), "value")
        self.rating.observe(lambda change: self.edit_rating(change["new"]), "value")
        self.note.observe(lambda change: self.edit_note(change["new"]), "value")
        self.retry.on_click(lambda _: self.save())
        self.reload_button.on_click(lambda _: self.reload())
        self.overwrite.on_click(lambda _: self.save(overwrite=True))

    def _flags(self) -> tuple[tuple[w.ToggleButton, str], ...]:
        """Each flag's toggle and the metadata field it edits."""
        return ((self.liked, "is_favorite"), (self.test, "is_test"), (self.complete, "is_complete"))

    # -- loading -----------------------------------------------------------

    @contextmanager
    def _suspended(self) -> Iterator[None]:
        """Set widget values from the store without their observers scheduling saves."""
        self._loading = True
        try:
            yield
        finally:
            self._loading = False

    def load(self, session_id: str) -> bool:
        """Show another session, saving the current one's pending edits first.

        Returns ``False``, and stays on the current session with its error
        shown, when those edits could not be saved: nothing typed is lost.
        """
        if session_id != self.session_id:
            self.flush()
            if self.pending:
                return False
        self._show(session_id, self.kit.metadata(session_id))
        return True

    def reload(self) -> None:
        """Take the stored values, dropping local edits (the conflict's "take theirs")."""
        self._cancel()
        with self._lock:
            self.pending.clear()
        self._show(self.session_id, self.kit.metadata(self.session_id))

    def _show(self, session_id: str, row: dict[str, Any]) -> None:
        marked = row["created_at"] is not None  # a row exists: its flag is somebody's mark
        with self._lock:
            self.session_id = session_id
            self.pending.clear()
            self.updated_at = row["updated_at"]
            self.saved_values = {
                "tags": list(row["tags"]),
                "is_favorite": bool(row["is_favorite"]),
                "is_test": bool(row["is_test"]),
                "is_complete": marked and bool(row["is_complete"]),
                "user_rating": row["user_rating"],
                "user_note": row["user_note"] or "",
            }
        with self._suspended():
            values = self.saved_values
            self.tags.value = values["tags"]
            self.add_tag.options = tuple(self._known_tags())
            self.liked.value = values["is_favorite"]
            self.test.value = values["is_test"]
            self.complete.value = values["is_complete"]
            self.rating.value = values["user_rating"] or "none"
            self.note.value = values["user_note"]
            self.add_tag.value = ""
        self.tag_error.value = ""
        self.saved_ago.value = ""
        self.reload_measured()
        self._count_note(self.note.value)
        self._set_state("idle", "idle")

    def reload_measured(self) -> None:
        """Show the measured completion beside the flag (again, after a refresh of the stats)."""
        stats = self.kit.stats(self.session_id)
        self.measured.value = f'<span class="sk-meta">measured</span> {completion_html(stats)}'

    def _known_tags(self) -> list[str]:
        return [str(tag) for tag in self.kit.tags()["tag"]]

    # -- edits -------------------------------------------------------------

    def edit_tags(self, tags: list[str]) -> None:
        """New tag list: checked now, saved after the typing delay; a bad tag stays shown."""
        if self._loading:
            return
        loaded = self.saved_values["tags"]
        try:  # only tags being added: a stored tag (say, one the WebUI wrote) stays as it is
            check_added_tags([t for t in tags if t in loaded], [t for t in tags if t not in loaded])
        except InvalidMetadata as exc:
            self.tag_error.value = esc(exc.reason)
            self._drop("tags")
            self._set_state("error", f"not saved: {esc(exc)}")
            return
        self.tag_error.value = ""
        self._edit("tags", list(tags), TYPED_DELAY_S)

    def add(self, tag: str) -> None:
        """Append a tag (typed and entered, or picked from the autocomplete list)."""
        tag = tag.strip()
        if self._loading or not tag:
            return
        if tag not in self.tags.value:
            self.tags.value = [*self.tags.value, tag]
        if tag not in self.add_tag.options:  # offered by the autocomplete at once
            self.add_tag.options = (*self.add_tag.options, tag)

    def enter_tag(self, text: str) -> None:
        """Enter in the tag field: add what was typed and empty the field."""
        self.add(text)
        self.cancel_tag()

    def cancel_tag(self) -> None:
        """Escape in the tag field: drop the half-typed tag; nothing is saved."""
        with self._suspended():
            self.add_tag.value = ""

    def backspace_tag(self, text: str) -> None:
        """Backspace in the tag field: with no text typed (``text``), remove the last tag.

        The text comes with the key: the field's value in Python may lag a
        keystroke behind the browser.
        """
        if self.tags.value and not text:
            self.tags.value = list(self.tags.value[:-1])

    def remove_tag(self, index: int) -> None:
        """Delete on a focused tag removes it."""
        if 0 <= index < len(self.tags.value):
            self.tags.value = [t for i, t in enumerate(self.tags.value) if i != index]

    def edit_flag(self, field: str, value: bool) -> None:
        if not self._loading:
            self._edit(field, bool(value), CLICKED_DELAY_S)

    def edit_rating(self, rating: str) -> None:
        if not self._loading:
            self._edit("user_rating", None if rating == "none" else rating, CLICKED_DELAY_S)

    def edit_note(self, note: str) -> None:
        if self._loading:
            return
        self._count_note(note)
        if len(note) > NOTE_MAX_CHARS:
            self._drop("user_note")
            self._set_state(
                "error",
                f"not saved: the note is {len(note)} characters; the limit is {NOTE_MAX_CHARS}",
            )
            return
        self._edit("user_note", note, TYPED_DELAY_S)

    def _count_note(self, note: str) -> None:
        self.counter.value = f"{len(note)}/{NOTE_MAX_CHARS}"
        over = len(note) > NOTE_MAX_CHARS
        (self.counter.add_class if over else self.counter.remove_class)("sk-error")

    def _edit(self, field: str, value: Any, delay: float) -> None:
        """Record an edit and (re)start the debounce; an edit back to the stored value cancels."""
        with self._lock:
            if value == self.saved_values.get(field):
                self.pending.pop(field, None)
            else:
                self.pending[field] = value
            waiting = bool(self.pending)
        self._cancel()
        if waiting:
            self._handle = self.scheduler.call_later(delay, self.save)
            if self.state != "error":
                self._set_state("idle", "editing…")
        elif self.state != "error":
            self._set_state("idle", "idle")

    def _drop(self, field: str) -> None:
        with self._lock:
            self.pending.pop(field, None)

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    # -- saving ------------------------------------------------------------

    def flush(self) -> None:
        """Save pending edits now (before switching sessions, closing, or in tests)."""
        self.save()

    def save(self, *, overwrite: bool = False) -> None:
        """Write the pending edits in one update; on failure keep them and say why.

        ``overwrite=True`` skips the conflict check: the local values win.
        """
        self._cancel()
        with self._save_lock:  # a timer thread and flush() must not save the same edit twice
            with self._lock:
                changes = dict(self.pending)
                loaded = list(self.saved_values.get("tags", []))
                expected = None if overwrite else (self.updated_at or NEVER_EDITED)
            if not changes:
                return
            if self.updated_at is None:  # the first save creates the row: store the flag as shown
                changes.setdefault("is_complete", bool(self.complete.value))
            self._set_state("saving", "saving…")
            try:
                with self._busy(changes):
                    row = self.kit.update_metadata(
                        self.session_id,
                        expected_updated_at=expected,
                        **_tag_changes(changes, loaded),
                    )
            except MetadataConflict as exc:
                self._set_state("error", esc(exc), retry=False, conflict=True)
                return
            except SessionKitError as exc:  # DatabaseLocked, InvalidMetadata, ...
                self._set_state("error", f"not saved: {esc(exc)}", retry=True)
                return
            self._saved(changes, row)
        for callback in self.on_saved:
            callback(self.session_id)

    @contextmanager
    def _busy(self, changes: dict[str, Any]) -> Iterator[None]:
        """Disable (with a busy mark) the flags whose save is in flight."""
        toggles = [
            widget
            for widget, field in (*self._flags(), (self.rating, "user_rating"))
            if field in changes
        ]
        for widget in toggles:
            widget.disabled = True
            widget.add_class("sk-busy")
        try:
            yield
        finally:
            for widget in toggles:
                widget.disabled = False
                widget.remove_class("sk-busy")

    def _saved(self, changes: dict[str, Any], row: dict[str, Any]) -> None:
        """Forget the edits that went out; keep any made while the save ran."""
        with self._lock:
            self.updated_at = row["updated_at"]
            for field, value in changes.items():
                self.saved_values[field] = value
                if self.pending.get(field) == value:
                    del self.pending[field]
            more = bool(self.pending)
        self._set_state("saved", "saved")
        now = time.time()
        self.saved_ago.value = (
            f'<span class="sk-meta" data-saved-at="{now:.0f}">'
            f"at {time.strftime('%H:%M:%S', time.localtime(now))}</span>"
        )
        if more:
            self._handle = self.scheduler.call_later(CLICKED_DELAY_S, self.save)

    def _set_state(
        self, state: str, message: str, *, retry: bool = False, conflict: bool = False
    ) -> None:
        """Show the save state; ``message`` is HTML already escaped by the caller."""
        self.state = state
        self.status.value = f'<span class="sk-state-{state}">{message}</span>'
        self.retry.layout.display = None if retry else "none"
        self.reload_button.layout.display = None if conflict else "none"
        self.overwrite.layout.display = None if conflict else "none"


def _tag_changes(changes: dict[str, Any], loaded: list[str]) -> dict[str, Any]:
    """Send a new tag list as the tags added and removed since ``loaded``.

    The store applies them to the list as it is when it writes, so tags
    another program added meanwhile are kept.
    """
    if "tags" not in changes:
        return changes
    fields = {key: value for key, value in changes.items() if key != "tags"}
    tags = changes["tags"]
    fields["add_tags"] = [tag for tag in tags if tag not in loaded]
    fields["remove_tags"] = [tag for tag in loaded if tag not in tags]
    return fields


def _label(text: str) -> w.HTML:
    return w.HTML(f'<span class="sk-label">{text}</span>').add_class("sk-field-label")


def _hidden_button(label: str, css: str) -> w.Button:
    button = w.Button(description=label).add_class(css)
    button.layout.display = "none"
    return button
