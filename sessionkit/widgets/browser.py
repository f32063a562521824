"""The session browser: a filter bar, a page of cards, and the selected session's detail.

Redraws must stay fast (docs/development.md: a page of 48 cards in under 200 ms), so
the browser never rebuilds widgets: it keeps a pool of card widgets, one
HTML widget and one transparent click target each, and only updates their
values. Thumbnails are made for the cards shown, nothing else.

Keyboard (through the browser's :class:`~sessionkit.widgets.keys.KeyScope`):
arrows move a visible focus ring between the cards, Enter opens one, ``l``
likes (or unlikes) the focused session, Escape closes the detail. No key
pressed in the browser reaches JupyterLab. On a narrow screen (a phone) the
detail opens over the list, with its close button on top; on a wide one it
sits beside the list (the CSS in :mod:`sessionkit.widgets.html`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

import ipywidgets as w
import traitlets

from sessionkit.kit import Filters, SessionKit
from sessionkit.thumbs import ThumbnailCache
from sessionkit.widgets import html
from sessionkit.widgets.address import BrowserState, decode, encode
from sessionkit.widgets.debounce import Scheduler
from sessionkit.widgets.detail import SessionDetail
from sessionkit.widgets.keys import KeyScope

PAGE_SIZES = (12, 24, 48, 96)
CHIPS = (
    ("Liked", "liked"),
    ("Test", "test"),
    ("Complete", "complete"),
    ("Seed sweep", "seed_sweep"),
)
CUSTOM_RANGE = -2
DATE_PRESETS = (
    ("All time", -1),
    ("Today", 0),
    ("Last 7 days", 6),
    ("Last 30 days", 29),
    ("From / to…", CUSTOM_RANGE),
)
"""Label and how many days before today the range starts (-1: no bound; -2: the pickers)."""
ALL_MODELS = ""
SIDE_HINT = "<i>Click a card (or focus it and press Enter) to see its details.</i>"
NO_SESSIONS = (
    "No sessions indexed yet. Index a root first: <code>sessionkit index ROOT</code> "
    "in a terminal, or <code>kit.index()</code> in a notebook."
)
NO_MATCH = "No sessions match these filters. Loosen one, or clear them all with “Clear filters”."


class _Card:
    """One pooled card: its HTML and a transparent button covering it for clicks.

    The button is named after the session it opens (screen readers read the
    name), and the card carries its pool slot as the class ``sk-slot-N``, so
    a key pressed on it (``l``) can say which session it meant.
    """

    def __init__(self, slot: int, on_click: Callable[[str], object]) -> None:
        self.session_id: str | None = None
        self.html = w.HTML()
        self.hit = w.Button(description="open").add_class("sk-hit")
        self.box = w.Box([self.html, self.hit]).add_class("sk-card").add_class(f"sk-slot-{slot}")
        self.hit.on_click(lambda _: on_click(self.session_id) if self.session_id else None)

    def show(self, row: dict[str, Any], thumbnail_uri: str, selected: bool) -> None:
        self.session_id = str(row["session_id"])
        self.hit.description = f"Open {self.session_id}"
        self.hit.tooltip = f"Open {self.session_id} (Enter; l likes it)"
        self.html.value = html.card_html(row, thumbnail_uri)
        self.mark(selected)
        self.box.layout.display = None

    def mark(self, selected: bool) -> None:
        (self.box.add_class if selected else self.box.remove_class)("sk-selected")

    def hide(self) -> None:
        self.session_id = None
        self.box.layout.display = "none"


class SessionBrowser(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Filter, page through and open the sessions of a :class:`~sessionkit.SessionKit`.

    Controls are public attributes (``chips``, ``model``, ``dates``,
    ``date_from``, ``time_from``, ``date_to``, ``time_to``, ``tag_filter``,
    ``search``, ``clear``,
    ``page_size``, ``previous``, ``next``) and every action is a method
    (``refresh``, ``set_filters``, ``clear_filters``, ``next_page``,
    ``previous_page``, ``select``, ``close_detail``, ``toggle_like``). A
    chip's count is how many sessions the page would hold with that chip on
    and every other filter as it is: the count of the active chip is the
    total, and an inactive chip tells what turning it on would leave.

    ``today`` fixes the date presets' reference day (tests, demos);
    ``scheduler`` is handed to the metadata editor.

    :attr:`address` is the filters, page and open session as a query string,
    kept current; :meth:`go_to` takes one back (:mod:`sessionkit.widgets.address`).
    """

    address = traitlets.Unicode("")
    """The browser's state as a query string (``liked=1&search=x&session=...``)."""

    def __init__(
        self,
        kit: SessionKit,
        *,
        page_size: int = 24,
        thumbs: ThumbnailCache | None = None,
        scheduler: Scheduler | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.kit = kit
        self.thumbs = thumbs or kit.thumbs
        self.scheduler = scheduler
        self.today = today
        self.page = 0
        self.total = 0
        self.rows: list[dict[str, Any]] = []
        self._first_images: dict[str, Path] = {}
        self._listed = 0
        self.selected: str | None = None
        self.detail: SessionDetail | None = None
        self._quiet = False
        self._pool: list[_Card] = []
        self._build(page_size)
        super().__init__(self._layout())
        self.add_class("sk-browser")
        self.reload_options()
        self.refresh()

    # -- construction ------------------------------------------------------

    def _build(self, page_size: int) -> None:
        self.chips = {
            name: w.ToggleButton(description=label).add_class(f"sk-chip-{name}")
            for label, name in CHIPS
        }
        self.model = w.Dropdown(options=[("All models", ALL_MODELS)], value=ALL_MODELS)
        self.dates = w.Dropdown(options=DATE_PRESETS, value=-1)
        short = {"description_width": "initial"}  # "at", not a label column 80 px wide
        self.date_from = w.DatePicker(description="From", style=short).add_class("sk-date-from")
        self.time_from = w.TimePicker(description="at", style=short).add_class("sk-time-from")
        self.date_to = w.DatePicker(description="To", style=short).add_class("sk-date-to")
        self.time_to = w.TimePicker(description="at", style=short).add_class("sk-time-to")
        self.custom_dates = w.HBox(
            [self.date_from, self.time_from, self.date_to, self.time_to]
        ).add_class("sk-bar")
        self.custom_dates.layout.display = "none"
        self.clear = w.Button(description="Clear filters", disabled=True).add_class("sk-clear")
        self.busy = w.HTML("").add_class("sk-loading")
        self.message = w.HTML("").add_class("sk-message")
        self.tag_filter = w.TagsInput(value=[], allow_duplicates=False, placeholder="tags")
        self.search = w.Text(placeholder="search name, prompt, note")
        self.describe = w.HTML().add_class("sk-describe")
        self.cards = w.Box(
            layout=w.Layout(
                display="grid",
                grid_template_columns="repeat(auto-fill, minmax(min(190px, 100%), 1fr))",
                grid_gap="8px",
                width="100%",
            )
        ).add_class("sk-cards")
        self.previous = w.Button(description="< Previous").add_class("sk-previous")
        self.next = w.Button(description="Next >").add_class("sk-next")
        self.page_label = w.HTML().add_class("sk-page")
        self.page_size = w.Dropdown(
            options=[(f"{n} per page", n) for n in PAGE_SIZES], value=page_size
        )
        self._hint = w.HTML(SIDE_HINT)
        self.side = w.VBox(
            [self._hint],
            layout=w.Layout(flex="1 1 420px", min_width="0"),
        ).add_class("sk-side")
        self.model.add_class("sk-model")
        self.dates.add_class("sk-dates")
        self.tag_filter.add_class("sk-tag-filter")
        self.search.add_class("sk-search")
        self.page_size.add_class("sk-page-size")
        for widget in (
            *self.chips.values(),
            self.model,
            self.dates,
            self.date_from,
            self.time_from,
            self.date_to,
            self.time_to,
            self.tag_filter,
            self.search,
        ):
            widget.observe(lambda _: self._filters_changed(), "value")
        self.page_size.observe(lambda _: self._filters_changed(), "value")
        self.previous.on_click(lambda _: self.previous_page())
        self.next.on_click(lambda _: self.next_page())
        self.clear.on_click(lambda _: self.clear_filters())
        self.key_scope = KeyScope(
            "sk-browser",
            {
                "like": lambda message: self.toggle_like(int(message.get("slot", -1))),
                "escape": lambda _: self.close_detail(),
            },
            keys=("cards", "escape", "overlay"),
            labels={
                ".sk-search input": "Search name, prompt and note",
                ".sk-model select": "Model",
                ".sk-dates select": "Date range",
                ".sk-page-size select": "Cards per page",
                ".sk-tag-filter input": "Filter by tag",
            },
            groups={".sk-chips": "Filters", ".sk-cards": "Sessions"},
            live=".sk-describe",
        )

    def _layout(self) -> list[w.Widget]:
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        listing = w.VBox(
            [
                self.cards,
                w.HBox([self.previous, self.page_label, self.next, self.page_size], layout=wrap),
            ],
            layout=w.Layout(flex="2 1 520px", min_width="0"),
        ).add_class("sk-list")
        main = w.HBox(
            [listing, self.side],
            layout=w.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
        ).add_class("sk-main")
        return [
            w.HTML(html.STYLE),
            self.key_scope,
            w.HBox([*self.chips.values(), self.clear], layout=wrap)
            .add_class("sk-bar")
            .add_class("sk-chips"),
            w.HBox([self.model, self.dates, self.search], layout=wrap).add_class("sk-bar"),
            self.custom_dates,
            self.tag_filter,
            w.HBox([self.describe, self.busy], layout=wrap).add_class("sk-bar"),
            self.message,
            main,
        ]

    # -- filters -----------------------------------------------------------

    def filters(self) -> Filters:
        """The filters the controls express, as keyword arguments for the kit."""
        filters: Filters = {}
        for name, chip in self.chips.items():
            if chip.value:
                filters[name] = True  # type: ignore[literal-required]
        if self.model.value:
            filters["model"] = self.model.value
        if self.dates.value >= 0:
            filters["from_date"] = self.today() - timedelta(days=self.dates.value)
        elif self.dates.value == CUSTOM_RANGE:
            if self.date_from.value is not None:
                filters["from_date"] = _bound(self.date_from.value, self.time_from.value)
            if self.date_to.value is not None:
                filters["to_date"] = _bound(self.date_to.value, self.time_to.value)
        if self.tag_filter.value:
            filters["tags"] = list(self.tag_filter.value)
        if self.search.value.strip():
            filters["search"] = self.search.value.strip()
        return filters

    def set_filters(
        self,
        *,
        liked: bool | None = None,
        test: bool | None = None,
        complete: bool | None = None,
        seed_sweep: bool | None = None,
        model: str | None = None,
        days: int | None = None,
        date_from: date | datetime | None = None,
        date_to: date | datetime | None = None,
        tags: list[str] | None = None,
        search: str | None = None,
    ) -> None:
        """Set several controls at once and redraw once; ``None`` leaves a control as it is.

        ``days`` is a date preset: ``0`` today, ``6`` last 7 days, ``29`` last
        30 days, ``-1`` all time. ``date_from`` / ``date_to`` choose the
        custom range: a day includes all of it, a datetime its minute.
        """
        if date_from is not None or date_to is not None:
            days = CUSTOM_RANGE
        day_from, at_from = _split(date_from)
        day_to, at_to = _split(date_to)
        flags = {"liked": liked, "test": test, "complete": complete, "seed_sweep": seed_sweep}
        with self._quietly():
            for name, value in flags.items():
                if value is not None:
                    self.chips[name].value = value
            controls: tuple[tuple[w.Widget, Any], ...] = (
                (self.model, model),
                (self.dates, days),
                (self.date_from, day_from),
                (self.time_from, at_from),
                (self.date_to, day_to),
                (self.time_to, at_to),
                (self.tag_filter, tags),
                (self.search, search),
            )
            for widget, value in controls:
                if value is not None:
                    widget.value = value
        self._filters_changed()

    def state(self) -> BrowserState:
        """The controls, page and open session, as :attr:`address` writes them."""
        custom = self.dates.value == CUSTOM_RANGE
        return BrowserState(
            flags=tuple(name for name, chip in self.chips.items() if chip.value),
            model=self.model.value,
            search=self.search.value.strip(),
            tags=list(self.tag_filter.value),
            days=self.dates.value if self.dates.value >= 0 else None,
            from_date=_joined(self.date_from.value, self.time_from.value) if custom else None,
            to_date=_joined(self.date_to.value, self.time_to.value) if custom else None,
            page=self.page,
            session=self.selected,
        )

    def go_to(self, query: str) -> None:
        """Show the state a query string asks for (the app's address when a page opens).

        Every filter the query does not name goes back to "all"; a value the
        controls cannot take (a model no session has, a date preset not
        offered) is left out, and a session that cannot be opened says why
        in the browser, as a click on it would.
        """
        wanted = decode(query)
        models = set(dict(self.model.options).values())
        presets = {value for _, value in DATE_PRESETS if value >= 0}
        with self._quietly():
            self.clear_filters()
            self.set_filters(
                **dict.fromkeys((name for name in wanted.flags if name in self.chips), True),
                model=wanted.model if wanted.model in models else None,
                days=wanted.days if wanted.days in presets else None,
                date_from=wanted.from_date,
                date_to=wanted.to_date,
                tags=wanted.tags or None,
                search=wanted.search or None,
            )
        self.page = wanted.page
        self._filters_changed(keep_page=True)
        if wanted.session and wanted.session != self.selected:
            self.select(wanted.session)

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """No redraw while controls change (nested: :meth:`go_to` clears, then sets)."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _filters_changed(self, *, keep_page: bool = False) -> None:
        self.custom_dates.layout.display = None if self.dates.value == CUSTOM_RANGE else "none"
        if not self._quiet:
            if not keep_page:
                self.page = 0
            self.refresh()

    def active_filters(self) -> int:
        """How many filters are on (a date range counts once, however many bounds it has)."""
        names = set(self.filters())
        return len(names - {"to_date"}) + ("to_date" in names and "from_date" not in names)

    def clear_filters(self) -> None:
        """Every filter back to "all" in one redraw (the "Clear filters" button)."""
        with self._quietly():
            for chip in self.chips.values():
                chip.value = False
            self.model.value = ALL_MODELS
            self.dates.value = -1
            for picker in (self.date_from, self.time_from, self.date_to, self.time_to):
                picker.value = None
            self.tag_filter.value = []
            self.search.value = ""
        self._filters_changed()

    def reload_options(self) -> None:
        """Fill the model dropdown and the tag autocomplete from the data (after an index)."""
        models = self.kit.models()
        options = [("All models", ALL_MODELS)] + [
            (f"{model} ({count})", str(model))
            for model, count in zip(models["model"], models["sessions"], strict=True)
        ]
        with self._quietly():
            current = self.model.value
            self.model.options = options
            self.model.value = current if current in dict(options).values() else ALL_MODELS
        self.tag_filter.allowed_tags = sorted(
            {*map(str, self.kit.tags()["tag"]), *self.tag_filter.value}
        )

    # -- paging ------------------------------------------------------------

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / int(self.page_size.value)))

    def next_page(self) -> None:
        if self.page + 1 < self.pages:
            self.page += 1
            self.refresh()

    def previous_page(self) -> None:
        if self.page > 0:
            self.page -= 1
            self.refresh()

    # -- drawing -----------------------------------------------------------

    def refresh(self) -> None:
        """Redraw for the current filters; a failure shows its reason in the browser.

        A busy mark shows while the page loads; an error (a database gone,
        a filter the query refuses) becomes a message above the cards, with
        the previous page left as it was.
        """
        self.busy.value = '<span class="sk-busy sk-meta">loading</span>'
        try:
            self._redraw()
        except Exception as exc:  # the message is for the user: no traceback in the cell log
            self.message.value = (
                f'<div class="sk-error">Could not load the sessions: {html.esc(exc)}</div>'
            )
        finally:
            self.busy.value = ""

    def _redraw(self) -> None:
        """Query the page for the current filters and redraw the cards, counts and pager."""
        filters = self.filters()
        size = self.page_size.value
        chips = [name for _, name in CHIPS]
        found = self.kit.browse(chips=chips, limit=size, offset=self.page * size, **filters)
        self.total = found.total
        if self.page > self.pages - 1:  # the result shrank under the page: show its last
            self.page = self.pages - 1
            found = self.kit.browse(chips=chips, limit=size, offset=self.page * size, **filters)
        self.rows = cast("list[dict[str, Any]]", found.rows.to_dict("records"))
        self._first_images = found.first_images
        self._listed = found.listed
        noun = "session" if found.total == 1 else "sessions"
        words = f" where {found.words}" if found.words else ""
        self.describe.value = html.esc(f"{found.total} {noun}{words}")
        for label, name in CHIPS:
            self.chips[name].description = f"{label} ({found.chips[name]})"
        self._draw_cards(size)
        self._draw_pager(size)
        active = self.active_filters()
        self.clear.description = f"Clear filters ({active})" if active else "Clear filters"
        self.clear.disabled = not active
        self.message.value = self._empty_state(filters)
        self.address = encode(self.state())

    def _empty_state(self, filters: Filters) -> str:
        """What to do when the page is empty: index a root, or loosen the filters."""
        if self.rows:
            return ""
        text = NO_MATCH if filters and self._listed else NO_SESSIONS
        return f'<div class="sk-empty">{text}</div>'

    def _draw_cards(self, size: int) -> None:
        while len(self._pool) < size:
            self._pool.append(_Card(len(self._pool), self.select))
        if len(self.cards.children) != len(self._pool):
            self.cards.children = tuple(card.box for card in self._pool)
        for index, card in enumerate(self._pool):
            if index < len(self.rows):
                row = self.rows[index]
                uri = self.thumbs.data_uri(self._first_images.get(row["session_id"]))
                card.show(row, uri, row["session_id"] == self.selected)
            else:
                card.hide()

    def _draw_pager(self, size: int) -> None:
        start = self.page * size
        shown = f"{start + 1}-{start + len(self.rows)}" if self.rows else "0"
        self.page_label.value = f"{shown} of {self.total} · page {self.page + 1}/{self.pages}"
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page + 1 >= self.pages

    # -- selection ---------------------------------------------------------

    def select(self, session_id: str) -> bool:
        """Highlight a session and show its detail; ``False`` if unsaved edits block it."""
        if self.detail is None:
            try:
                self.detail = self._new_detail(session_id)
            except Exception as exc:  # shown in the browser, as a failed page load is
                self.message.value = (
                    f'<div class="sk-error">Could not open {html.esc(session_id)}: '
                    f"{html.esc(exc)}</div>"
                )
                return False
        elif not self.detail.show(session_id):
            return False
        self._show_side(detail=True)
        self.selected = session_id
        self._mark_selected()
        self.address = encode(self.state())
        return True

    def prepare_detail(self) -> None:
        """Build the detail's widgets ahead, hidden, so that the first click only fills them.

        The first click otherwise creates about a hundred widgets in the page
        (0.9 s from click to detail in Chromium, against 45 ms for the next
        ones). The app calls this in the kernel it keeps ready, before anyone
        opens a page; a detail that cannot be built here is left to the click,
        which says why.
        """
        if self.detail is not None or not self.rows:
            return
        try:
            self.detail = self._new_detail(str(self.rows[0]["session_id"]))
        except Exception:  # the first click builds it again and shows the reason
            return
        self._show_side(detail=False)

    def _new_detail(self, session_id: str) -> SessionDetail:
        detail = SessionDetail(
            self.kit,
            session_id,
            thumbs=self.thumbs,
            scheduler=self.scheduler,
            on_close=self.close_detail,
        )
        detail.editor.on_saved.append(lambda _: self._metadata_saved())
        detail.on_refreshed.append(lambda _: self.refresh())
        return detail

    def _show_side(self, *, detail: bool) -> None:
        """The detail or the hint beside the list; both stay in the page, one hidden, so
        their views are made once (closing and opening again only toggles them)."""
        if self.detail is not None and self.side.children != (self._hint, self.detail):
            self.side.children = (self._hint, self.detail)
        self._hint.layout.display = "none" if detail else None
        if self.detail is not None:
            self.detail.layout.display = None if detail else "none"
        (self.side.add_class if detail else self.side.remove_class)("sk-open")

    def close_detail(self) -> bool:
        """Deselect the session and put the detail away; ``False`` if an edit could not save."""
        if self.detail is not None:
            self.detail.editor.flush()
            if self.detail.editor.pending:
                return False
        self.selected = None
        self._show_side(detail=False)
        self._mark_selected()
        self.address = encode(self.state())
        return True

    def toggle_like(self, slot: int) -> None:
        """``l`` on a card: like the session, or unlike it when it is liked."""
        if not 0 <= slot < len(self._pool) or self._pool[slot].session_id is None:
            return
        session_id = str(self._pool[slot].session_id)
        if self.detail is not None and self.selected == session_id:
            editor = self.detail.editor  # the open editor saves it, and shows it
            editor.liked.value = not editor.liked.value
            editor.flush()
            return
        liked = bool(self.kit.metadata(session_id)["is_favorite"])
        self.kit.update_metadata(session_id, is_favorite=not liked)
        self.refresh()

    def _mark_selected(self) -> None:
        for card in self._pool:
            card.mark(card.session_id is not None and card.session_id == self.selected)

    def _metadata_saved(self) -> None:
        """An edit changes stars, tags and counts: redraw the page (same filters, same page)."""
        self.reload_options()
        self.refresh()


def _bound(day: date, at: time | None) -> date | str:
    """A date range bound: the whole day, or the minute ``at`` on it."""
    return day if at is None else f"{day.isoformat()} {at:%H:%M}"


def _joined(day: date | None, at: time | None) -> date | datetime | None:
    """A custom range bound as the pickers show it: a day, or a minute of it."""
    return day if day is None or at is None else datetime.combine(day, at)


def _split(value: date | datetime | None) -> tuple[date | None, time | None]:
    """A bound given to ``set_filters`` as the day and time pickers show it."""
    if isinstance(value, datetime):
        return value.date(), value.time().replace(second=0, microsecond=0)
    return value, None
