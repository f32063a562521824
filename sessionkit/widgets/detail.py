"""The detail view of one session: what it was, every image (a grid), and its metadata editor.

The marks (the editor) come right under the name, so that on a phone, where
the detail opens over the list, they are on the first screen. A close
button (and Escape) closes the detail when it sits in a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import orjson

from sessionkit.kit import SessionKit
from sessionkit.thumbs import ThumbnailCache
from sessionkit.widgets import html
from sessionkit.widgets.debounce import Scheduler
from sessionkit.widgets.editor import MetadataEditor
from sessionkit.widgets.images import ImageGrid
from sessionkit.widgets.keys import KeyScope

SHOWN_VALUES = 10


class SessionDetail(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Generation, Images, Parameters, Placeholders and Prompt of one session.

    Each section is one HTML widget (few widgets, one message per section);
    ``more`` expands the placeholder values beyond the first ten, ``refresh``
    recomputes the stats from the folder, ``images`` shows every image with
    its marks (:class:`~sessionkit.widgets.images.ImageGrid`, the viewer opens
    in its place), and ``editor`` edits the metadata.
    Stats that are partial say where they came from (``header``).

    ``on_close`` (the browser's) shows a close button and makes Escape close
    the detail; ``on_refreshed`` callbacks hear of each "Refresh stats", so
    the browser can redraw the session's card with the new counts. A session
    that cannot be read shows the reason in ``error``, not a traceback.
    """

    def __init__(
        self,
        kit: SessionKit,
        session_id: str,
        *,
        thumbs: ThumbnailCache | None = None,
        scheduler: Scheduler | None = None,
        on_close: Callable[[], object] | None = None,
    ) -> None:
        self.kit = kit
        self.thumbs = thumbs or kit.thumbs
        self.session_id = session_id
        self.stats: dict[str, Any] = {}
        self.on_close = on_close
        self.on_refreshed: list[Callable[[str], None]] = []
        self.header = w.HTML().add_class("sk-header")
        self.error = w.HTML().add_class("sk-error")
        self.close_button = w.Button(
            description="✕ Close", tooltip="Close the detail (Escape)"
        ).add_class("sk-close")
        self.close_button.layout.display = None if on_close else "none"
        self.close_button.on_click(lambda _: self.close())
        self.key_scope = KeyScope("sk-detail", {"escape": lambda _: self.close()}, keys=("escape",))
        self.sections = w.HTML().add_class("sk-stats")
        self.placeholders = w.HTML().add_class("sk-placeholders")
        self.more = w.Button(description="show all values").add_class("sk-more")
        self.prompt = w.HTML().add_class("sk-prompt-box")
        self.images = ImageGrid(kit, session_id, thumbs=self.thumbs)
        self.refresh_button = w.Button(description="Refresh stats", icon="refresh").add_class(
            "sk-refresh"
        )
        self.more.on_click(lambda _: self.expand_placeholders())
        self.refresh_button.on_click(lambda _: self.refresh_stats())
        self.editor = MetadataEditor(kit, session_id, scheduler)
        super().__init__(
            [
                w.HTML(html.STYLE),  # shown on its own, the detail needs the rules too
                self.key_scope,
                w.HBox([self.header, self.close_button]).add_class("sk-header-row"),
                self.error,
                w.HTML("<h4>Your marks</h4>"),
                self.editor,
                self.refresh_button,
                self.sections,
                self.placeholders,
                self.more,
                self.prompt,
                w.HTML("<h4>Images</h4>"),
                self.images,
            ]
        )
        self.add_class("sk-detail")
        self._render(kit.stats(session_id))

    def show(self, session_id: str) -> bool:
        """Show another session; ``False`` (nothing changes) if the editor could not save."""
        try:
            if not self.editor.load(session_id):
                return False
            stats = self.kit.stats(session_id)
        except Exception as exc:  # shown in the widget: a traceback in a cell's log helps nobody
            self.error.value = f"Could not show {html.esc(session_id)}: {html.esc(exc)}"
            return False
        self.session_id = session_id
        self._render(stats)
        self.images.show(session_id)
        return True

    def close(self) -> None:
        """Save what is pending and hand back to the browser (close button, Escape)."""
        self.editor.flush()
        if self.on_close is not None and not self.editor.pending:
            self.on_close()

    def refresh_stats(self) -> None:
        """Recompute this session from its folder now, show the result, tell the browser."""
        try:
            stats = self.kit.refresh(self.session_id)
        except Exception as exc:  # a vanished folder, a locked database: say so in place
            self.error.value = f"Could not refresh: {html.esc(exc)}"
            return
        self._render(stats)
        self.images.show(self.session_id)
        self.editor.reload_measured()
        for callback in self.on_refreshed:
            callback(self.session_id)

    def expand_placeholders(self) -> None:
        """Show every used value of every placeholder (read for this session only)."""
        every = self.kit.used_values(self.session_id)
        counts = _counts(self.stats)
        self.placeholders.value = html.placeholders_html(counts, every, limit=10**9)
        self.more.layout.display = "none"

    def _render(self, stats: dict[str, Any]) -> None:
        self.stats = stats
        self.error.value = ""
        counts = _counts(stats)
        shown = {
            str(name): [str(value) for value in values]
            for name, values in _json_map(stats.get("variations_summary_json")).items()
            if isinstance(values, list)
        }
        self.header.value = html.header_html(stats)
        self.sections.value = html.stats_sections(stats)
        self.placeholders.value = html.placeholders_html(counts, shown, SHOWN_VALUES)
        hidden = sum(
            max(0, count - len(shown.get(name, [])[:SHOWN_VALUES]))
            for name, count in counts.items()
        )
        self.more.description = f"+{hidden} more"
        self.more.layout.display = None if hidden else "none"
        self.prompt.value = html.prompt_html(stats)


def _counts(stats: dict[str, Any]) -> dict[str, int]:
    """``{placeholder: values used}``; entries that are not counts are left out."""
    return {
        str(name): count
        for name, count in _json_map(stats.get("placeholders_json")).items()
        if isinstance(count, int) and not isinstance(count, bool)
    }


def _json_map(text: Any) -> dict[str, Any]:
    """A stored JSON object; ``{}`` for anything else (other writers, NULL)."""
    try:
        value = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
