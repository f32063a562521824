"""The session browser's state in the page's address: filters, page and open session.

``sessionkit serve`` shows the browser as a web app; there a reload, a
bookmark or a shared link should open it as it was left. The browser keeps
its state as a query string (:attr:`SessionBrowser.address`, see
:func:`encode`) and takes one back (:meth:`SessionBrowser.go_to`, see
:func:`decode`); :class:`PageAddress` writes it into the page's address with
``history.replaceState``. Only the app uses it: in JupyterLab the address
belongs to JupyterLab.

The parameters are the filter vocabulary's own names (:data:`sessionkit.query.FILTER_TERMS`)
where the browser has that filter, plus what only the browser has:

* ``liked=1``, ``test=1``, ``complete=1``, ``seed_sweep=1``: the chips that are on;
* ``model``, ``search``, ``tags`` (once per tag);
* ``days``: a date preset, kept relative (``6`` is "the last 7 days" whenever
  the link is opened); or ``from_date`` / ``to_date``, a day (``2025-11-01``)
  or a minute (``2025-11-01T14:30``);
* ``page`` (from 1) and ``session``, the session whose detail is open.

Reading one back is lenient: a parameter that is unknown (``token``), empty
or unusable (a date that is not one, a model no session has) is left out,
and the rest still applies. Nothing read from the address is pasted into
HTML or SQL: each value goes into a control, as if the user had typed it.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import traitlets as t

from sessionkit.query import FLAG_TERMS

if TYPE_CHECKING:
    from sessionkit.widgets.browser import SessionBrowser

FLAGS = tuple(term.name for term in FLAG_TERMS)
"""The yes/no filters of the vocabulary; the browser offers each as a chip."""
FILTERS = (*FLAGS, "model", "from_date", "to_date", "tags", "search")
"""The parameters named after filters of the vocabulary (tests/test_vocabulary.py)."""
KEYS = (*FILTERS, "days", "page", "session")
"""Every parameter the browser reads and writes; any other is left alone."""


@dataclass
class BrowserState:
    """What the address holds: the browser's controls, its page and its open session.

    ``None`` (or empty) means the control's default: no chip, all models,
    no search, all time, the first page, no session open.
    """

    flags: tuple[str, ...] = ()
    model: str = ""
    search: str = ""
    tags: list[str] = field(default_factory=list)
    days: int | None = None
    from_date: date | datetime | None = None
    to_date: date | datetime | None = None
    page: int = 0
    session: str | None = None


def encode(state: BrowserState) -> str:
    """``state`` as a query string, in :data:`KEYS` order; defaults are left out."""
    pairs: list[tuple[str, str]] = [(name, "1") for name in FLAGS if name in state.flags]
    if state.model:
        pairs.append(("model", state.model))
    for name, bound in (("from_date", state.from_date), ("to_date", state.to_date)):
        if bound is not None:
            pairs.append((name, _bound_text(bound)))
    pairs += [("tags", tag) for tag in state.tags]
    if state.search:
        pairs.append(("search", state.search))
    if state.days is not None:
        pairs.append(("days", str(state.days)))
    if state.page:
        pairs.append(("page", str(state.page + 1)))
    if state.session:
        pairs.append(("session", state.session))
    return urllib.parse.urlencode(pairs)


def decode(query: str) -> BrowserState:
    """The state a query string asks for; what is unknown or unusable is left out."""
    found = urllib.parse.parse_qs(query.removeprefix("?"), keep_blank_values=False)

    def first(name: str) -> str:
        return found.get(name, [""])[0]

    return BrowserState(
        flags=tuple(name for name in FLAGS if first(name) in ("1", "true", "yes")),
        model=first("model"),
        search=first("search").strip(),
        tags=list(dict.fromkeys(tag for tag in found.get("tags", []) if tag.strip())),
        days=_number(first("days")),
        from_date=_moment(first("from_date")),
        to_date=_moment(first("to_date")),
        page=max((_number(first("page")) or 1) - 1, 0),
        session=first("session") or None,
    )


def _bound_text(bound: date | datetime) -> str:
    return bound.strftime("%Y-%m-%dT%H:%M") if isinstance(bound, datetime) else bound.isoformat()


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _moment(text: str) -> date | datetime | None:
    """A day or a minute; anything else (a typo, a second, a time zone) is ``None``."""
    try:
        if len(text) == len("2025-11-01"):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None or moment.second or moment.microsecond:
        return None
    return moment


class PageAddress(anywidget.AnyWidget):
    """Writes ``query`` into the address of the page it is shown on (it shows nothing).

    Display it once, beside the browser whose :attr:`address` it follows
    (:meth:`following`); the page's other parameters stay as they are.
    """

    _esm = Path(__file__).parent / "static" / "address.js"
    query = t.Unicode("").tag(sync=True)
    names = t.List(t.Unicode(), default_value=list(KEYS)).tag(sync=True)
    """The parameters that are ``query``'s to replace (:data:`KEYS`)."""

    @classmethod
    def following(cls, source: t.HasTraits, name: str = "address") -> PageAddress:
        """An address kept equal to ``source.<name>`` (a :class:`SessionBrowser`'s state)."""
        widget = cls(query=getattr(source, name))
        t.dlink((source, name), (widget, "query"))
        return widget


def follow_page_address(
    browser: SessionBrowser, environ: Mapping[str, str] = os.environ
) -> PageAddress | None:
    """In a page Voila serves, show what its address asks for and keep the state there.

    Voila gives the kernel the page's query string as ``QUERY_STRING`` (after
    ``wait_for_request()`` when the kernel was started ahead). Anywhere else
    (JupyterLab, nbclient) there is no page address to follow: the browser
    is only redrawn, and ``None`` displays nothing.
    """
    query = environ.get("QUERY_STRING")
    if query is None:
        browser.refresh()
        return None
    browser.go_to(query)
    return PageAddress.following(browser)


__all__ = [
    "FILTERS",
    "KEYS",
    "BrowserState",
    "PageAddress",
    "decode",
    "encode",
    "follow_page_address",
]
