"""What every sessionkit notebook does first: open a kit on the user's root or the demo.

The notebooks' parameters cell sets ``ROOT`` and ``DB`` (empty by default;
``sessionkit lab`` fills them from ``SESSIONKIT_ROOT`` / ``SESSIONKIT_DB``).
:func:`open_kit` turns that into an indexed :class:`~sessionkit.kit.SessionKit`:
with no root it writes the repository's demo root (once), and on a demo root
it gives the sessions and images nobody has marked yet some demo marks, so
that liked, tags, ratings and like rates per value have something to show.
It never overwrites a user's edit.

The notebooks run on any root (the demo, the user's own sessions, an empty
folder): :func:`is_demo_root` tells their checks whether the demo's marks
can be expected, and :func:`table` / :func:`nothing_to_show` put a sentence
where a result has no rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import sessionkit
from sessionkit.demo import MARKER_NAME, demo_image_marks, demo_metadata, write_demo_root
from sessionkit.kit import SessionKit
from sessionkit.store import StoreUnavailable

if TYPE_CHECKING:
    import pandas as pd

DEMO_FOLDER = "demo-root"
"""The demo root's folder in the repository (gitignored), for notebooks, lab and serve."""


def repository() -> Path:
    """The folder holding the package, where ``notebooks/`` and the demo root live."""
    return Path(sessionkit.__file__).resolve().parent.parent


def demo_root() -> Path:
    """The repository's demo root (the one ``sessionkit lab`` writes), written if missing."""
    return write_demo_root(repository() / DEMO_FOLDER).root


def open_kit(root: str = "", db: str = "") -> SessionKit:
    """A kit on ``root`` (the demo root when empty), indexed, with demo marks on a demo root."""
    kit = SessionKit(root or demo_root(), db or None)
    print(index_and_mark(kit))
    return kit


def index_and_mark(kit: SessionKit, *, progress: bool | None = None) -> str:
    """Index the kit's root, give a demo root its marks, and return the index's summary.

    A ``sessions.db`` that may not be written (a read-only file, a newer
    schema) is shown as it is: the summary then says why nothing was indexed,
    and the notebooks and the app still run on what it holds. ``progress``
    as for :meth:`~sessionkit.kit.SessionKit.index`.
    """
    try:
        summary = kit.index(progress=progress).summary()
        if is_demo_root(kit):
            mark_demo_sessions(kit)
    except StoreUnavailable as exc:
        return f"not indexed, showing what sessions.db holds: {exc}"
    return summary


def is_demo_root(kit: SessionKit) -> bool:
    """Whether the kit's root was written by ``sessionkit demo`` (its marker file is there).

    Checks that rely on the demo's content (liked sessions, seed sweeps,
    placeholders with many values) run only then; on anyone's own sessions
    those may simply not exist.
    """
    return kit.root is not None and (kit.root / MARKER_NAME).is_file()


class Sentence(str):
    """Text that Jupyter shows as Markdown (a plain ``str`` would show in quotes)."""

    def _repr_markdown_(self) -> str:
        return f"*{self}*"


def nothing_to_show(what: str) -> Sentence:
    """A sentence in place of an empty table or chart."""
    return Sentence(f"No {what} on this root yet.")


def table(frame: pd.DataFrame, what: str) -> pd.DataFrame | Sentence:
    """``frame`` to display, or a sentence saying there is nothing when it has no rows."""
    return frame if len(frame) else nothing_to_show(what)


def mark_demo_sessions(kit: SessionKit) -> int:
    """Apply the demo marks to sessions that have no metadata yet; return how many.

    One query finds them, so that opening a marked demo root costs nothing
    per session (the app does this on every page load). A session's images
    get their demo marks together with it, once: checking every image of
    the root on each open took a minute at 1,000 sessions.
    """
    listed = kit.sessions(limit=None)
    marks = demo_metadata(listed["session_id"])  # drawn over every id: the same marks each time
    unmarked = listed.loc[listed["metadata_updated_at"].isna(), "session_id"]
    marked = kit.mark_unedited({session_id: marks[session_id] for session_id in unmarked})
    if marked:
        mark_demo_images(kit, marked)
    return len(marked)


def mark_demo_images(kit: SessionKit, session_ids: Collection[str] | None = None) -> int:
    """Give the demo's images that have no marks yet their demo marks; return how many.

    Each image's marks depend only on it and the values it applied (some
    values are liked far more than others), so notebook 05's "which values
    do I like?" has an answer on the demo root. ``session_ids`` limits it
    to those sessions' images.
    """
    images = kit.images()
    chosen = images["on_disk"]
    if session_ids is not None:
        chosen &= images["session_id"].isin(set(session_ids))
    images = images[chosen]
    applied = [
        json.loads(text) if isinstance(text, str) else None for text in images["applied_variations"]
    ]
    marks = demo_image_marks(zip(images["session_id"], images["filename"], applied, strict=True))
    return len(kit.mark_unedited_images(marks))
