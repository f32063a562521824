"""The session browser: a filter bar, a page of cards, and the selected session's detail.

Redraws must stay fast (docs/development.md: a page of 48 cards in under 200 ms), so
the browser never rebuilds widgets: it keeps a pool of card widgets, one
HTML widget and one transparent click target each, and only updates their
values. Thumbnails are made for the cards shown, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, cast

import ipywidgets as w

from sessionkit.kit import Filters, SessionKit
from sessionkit.thumbs import ThumbnailCache, session_images
from sessionkit.widgets import html
from sessionkit.widgets.debounce import Scheduler
from sessionkit.widgets.detail import SessionDetail

PAGE_SIZES = (12, 24, 48, 96)
CHIPS = (
    ("Liked", "liked"),
    ("Test", "test"),
    ("Complete", "complete"),
    ("Seed sweep", "seed_sweep"),
)
DATE_PRESETS = (("All time", -1), ("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29))
"""Label and how many days before today the range starts (-1: no bound)."""
ALL_MODELS = ""


class _Card:
    """One pooled card: its HTML and a transparent button covering it for clicks."""

    def __init__(self, on_click: Callable[[str], object]) -> None:
        self.session_id: str | None = None
        self.html = w.HTML()
        self.hit = w.Button(description="open", tooltip="show this session").add_class("sk-hit")
        self.box = w.Box([self.html, self.hit]).add_class("sk-card")
        self.hit.on_click(lambda _: on_click(self.session_id) if self.session_id else None)

    def show(self, row: dict[str, Any], thumbnail_uri: str, selected: bool) -> None:
        self.session_id = str(row["session_id"])
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
    ``tag_filter``, ``search``, ``page_size``, ``previous``, ``next``) and
    every action is a method (``refresh``, ``set_filters``, ``next_page``,
    ``previous_page``, ``select``). A chip's count is how many sessions the
    page would hold with that chip on and every other filter as it is: the
    count of the active chip is the total, and an inactive chip tells what
    turning it on would leave.

    ``today`` fixes the date presets' reference day (tests, demos);
    ``scheduler`` is handed to the metadata editor.
    """

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
        self.side = w.VBox(
            [w.HTML("<i>Click a card to see its details.</i>")],
            layout=w.Layout(flex="1 1 420px", min_width="0"),
        ).add_class("sk-side")
        self.model.add_class("sk-model")
        self.dates.add_class("sk-dates")
        self.tag_filter.add_class("sk-tag-filter")
        self.search.add_class("sk-search")
        self.page_size.add_class("sk-page-size")
        for widget in (*self.chips.values(), self.model, self.dates, self.tag_filter, self.search):
            widget.observe(lambda _: self._filters_changed(), "value")
        self.page_size.observe(lambda _: self._filters_changed(), "value")
        self.previous.on_click(lambda _: self.previous_page())
        self.next.on_click(lambda _: self.next_page())

    def _layout(self) -> list[w.Widget]:
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        listing = w.VBox(
            [
                self.cards,
                w.HBox([self.previous, self.page_label, self.next, self.page_size], layout=wrap),
            ],
            layout=w.Layout(flex="1 1 520px", min_width="0"),
        ).add_class("sk-list")
        main = w.HBox(
            [listing, self.side],
            layout=w.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
        ).add_class("sk-main")
        return [
            w.HTML(html.STYLE),
            w.HBox(list(self.chips.values()), layout=wrap).add_class("sk-bar"),
            w.HBox([self.model, self.dates, self.search], layout=wrap).add_class("sk-bar"),
            self.tag_filter,
            self.describe,
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
        tags: list[str] | None = None,
        search: str | None = None,
    ) -> None:
        """Set several controls at once and redraw once; ``None`` leaves a control as it is.

        ``days`` is a date preset: ``0`` today, ``6`` last 7 days, ``29`` last
        30 days, ``-1`` all time.
        """
        flags = {"liked": liked, "test": test, "complete": complete, "seed_sweep": seed_sweep}
        with self._quietly():
            for name, value in flags.items():
                if value is not None:
                    self.chips[name].value = value
            controls: tuple[tuple[w.Widget, Any], ...] = (
                (self.model, model),
                (self.dates, days),
                (self.tag_filter, tags),
                (self.search, search),
            )
            for widget, value in controls:
                if value is not None:
                    widget.value = value
        self._filters_changed()

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _filters_changed(self) -> None:
        if not self._quiet:
            self.page = 0
            self.refresh()

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
        """Query the page for the current filters and redraw the cards, counts and pager."""
        filters = self.filters()
        size = self.page_size.value
        self.total = self.kit.count(**filters)
        self.page = min(self.page, self.pages - 1)
        frame = self.kit.sessions(**filters, limit=size, offset=self.page * size)
        self.rows = cast("list[dict[str, Any]]", frame.to_dict("records"))
        self.describe.value = html.esc(self.kit.describe(**filters))
        for label, name in CHIPS:
            with_chip: Filters = {**filters, name: True}  # type: ignore[misc]
            count = self.kit.count(**with_chip)
            self.chips[name].description = f"{label} ({count})"
        self._draw_cards(size)
        self._draw_pager(size)

    def _draw_cards(self, size: int) -> None:
        while len(self._pool) < size:
            self._pool.append(_Card(self.select))
        if len(self.cards.children) != len(self._pool):
            self.cards.children = tuple(card.box for card in self._pool)
        for index, card in enumerate(self._pool):
            if index < len(self.rows):
                row = self.rows[index]
                first = session_images(row["session_path"], 1)
                uri = self.thumbs.data_uri(first[0] if first else None)
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
            self.detail = SessionDetail(
                self.kit, session_id, thumbs=self.thumbs, scheduler=self.scheduler
            )
            self.detail.editor.on_saved.append(lambda _: self._metadata_saved())
            self.side.children = (self.detail,)
        elif not self.detail.show(session_id):
            return False
        self.selected = session_id
        for card in self._pool:
            card.mark(card.session_id == session_id)
        return True

    def _metadata_saved(self) -> None:
        """An edit changes stars, tags and counts: redraw the page (same filters, same page)."""
        self.reload_options()
        self.refresh()
