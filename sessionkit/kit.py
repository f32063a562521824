"""The :class:`SessionKit` API: the one object notebooks, widgets and the CLI use.

It ties the layers together: :mod:`~sessionkit.scan` indexes the root into
the :mod:`~sessionkit.store` (SQLite, the system of record), the
:mod:`~sessionkit.mirror` copies the store into DuckDB, and
:mod:`~sessionkit.query` answers filters and aggregations from the mirror.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import platformdirs

from sessionkit import query
from sessionkit.detailfiles import DetailFiles
from sessionkit.errors import SessionKitError
from sessionkit.manifest import MANIFEST, Manifest, read_manifest
from sessionkit.names import fs_path, to_text
from sessionkit.query import ImageFilter, SessionFilter
from sessionkit.scan import (
    DRYRUN_FOLDER,
    Candidate,
    ScanReport,
    compute_candidate,
    index_root,
)
from sessionkit.stats import STATS_COLUMNS, is_image_name
from sessionkit.store import (
    IMAGE_METADATA_COLUMNS,
    IMAGE_METADATA_DEFAULTS,
    METADATA_DEFAULTS,
    NEVER_EDITED,
    MetadataConflict,
    Store,
    parse_tags,
)

if TYPE_CHECKING:  # pandas and DuckDB load with the first query: an index or a mark needs neither
    import pandas as pd

    from sessionkit.mirror import Connection, Mirror
    from sessionkit.thumbs import ThumbnailCache

ROOT_ENV = "SESSIONKIT_ROOT"
DB_ENV = "SESSIONKIT_DB"
TOKEN_ENV = "SESSIONKIT_TOKEN"  # noqa: S105 - the variable's name, not a token
"""The token ``sessionkit serve`` asks of every request."""


class UnknownSession(SessionKitError):
    """No session has this id."""


class UnknownImage(SessionKitError):
    """The session has no image of this name: none on disk, none in its manifest."""


class InvalidSessionId(SessionKitError):
    """A session id must be a folder name, never a path."""


class NotConfigured(SessionKitError):
    """The kit lacks a root or a database for what was asked."""


class _Unset:
    """The type of :data:`UNSET`."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""A mark not given to an update (left as it is); ``None`` clears it."""


class Filters(TypedDict, total=False):
    """The keyword filters shared by :meth:`SessionKit.sessions` and :meth:`SessionKit.count`."""

    liked: bool | None
    test: bool | None
    complete: bool | None
    seed_sweep: bool | None
    model: str | None
    from_date: Any
    to_date: Any
    tags: list[str] | None
    rating: str | None
    search: str | None
    dry_run: bool | None
    missing: bool | None


_FLAG_FILTERS = ("liked", "test", "complete", "seed_sweep", "dry_run", "missing")


@dataclass(frozen=True)
class BrowsePage:
    """One redraw of a browser: see :meth:`SessionKit.browse`."""

    rows: pd.DataFrame
    total: int
    words: str
    """The active filters in words (``""`` when nothing is filtered)."""
    chips: dict[str, int]
    listed: int
    """Sessions the default filters show: 0 means nothing is indexed yet."""
    first_images: dict[str, Path]
    """Each row's first image file by name, for sessions that have one."""


class SessionKit:
    """Index a sessions root, then filter, tag and query its sessions.

    ``root`` is the folder holding one sub-folder per session, and ``db`` the
    SQLite file to keep everything in. Either may come from the
    ``SESSIONKIT_ROOT`` / ``SESSIONKIT_DB`` environment variables. Without a
    ``db``, it is a ``sessions.db`` of the root's own in the user's data folder
    (:func:`default_db_path`).
    Without a ``root``, the one recorded by the last index into ``db`` is used.

    Use it as a context manager, or call :meth:`close`::

        with SessionKit("~/sd/sessions") as kit:
            kit.index()
            liked = kit.sessions(liked=True, model="illustrious")
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        db: str | os.PathLike[str] | None = None,
        *,
        progress: bool = True,
    ) -> None:
        root = root or os.environ.get(ROOT_ENV) or None
        db = db or os.environ.get(DB_ENV) or None
        if db is None and root is None:
            raise NotConfigured(f"no sessions.db: pass db= or root=, or set {DB_ENV} or {ROOT_ENV}")
        self.db_path = Path(db).expanduser() if db else default_db_path(Path(root or "."))
        self.store = Store(self.db_path)
        self.root = self._resolve_root(root)
        self.progress = progress
        self.details = DetailFiles(self.db_path)
        self._seen_version = 0
        self._mirror: Mirror | None = None

    def _mirror_if_built(self) -> Mirror | None:
        return self._mirror

    def _resolve_root(self, root: str | os.PathLike[str] | None) -> Path | None:
        if root is None:
            stored = self.store.setting("root")
            return Path(fs_path(stored)) if stored else None
        resolved = Path(root).expanduser().resolve()
        if self.store.read_only is None and self.store.setting("root") != to_text(str(resolved)):
            self.store.set_setting("root", to_text(str(resolved)))
        return resolved

    @functools.cached_property
    def thumbs(self) -> ThumbnailCache:
        """Thumbnails of this kit's images, cached in ``thumbs/`` beside ``sessions.db``."""
        from sessionkit.thumbs import ThumbnailCache  # Pillow loads only when images are shown

        return ThumbnailCache(self.db_path.parent / "thumbs")

    @property
    def mirror(self) -> Mirror:
        """The DuckDB mirror, brought up to date first with what other processes committed.

        Every read goes through here, so a kit that stays open (a notebook)
        answers from current data: the WebUI's edits, another kernel's index.
        The check is SQLite's ``PRAGMA data_version``, a few microseconds.
        """
        version = self.store.data_version()
        if self._mirror is None:  # built on first use: an index or a mark needs none
            from sessionkit.mirror import Mirror

            self._seen_version = version
            self._mirror = Mirror(self.store, self.details)
        elif version != self._seen_version:
            self._seen_version = version
            self._mirror.catch_up()
        return self._mirror

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
        self.details.close()
        self.store.close()

    def __enter__(self) -> SessionKit:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionKit(root={str(self.root)!r}, db={str(self.db_path)!r})"

    # -- indexing ----------------------------------------------------------

    def index(
        self, force: bool = False, *, dry_runs: bool = False, progress: bool | None = None
    ) -> ScanReport:
        """Scan the root: compute new and changed sessions, skip unchanged ones, mark vanished ones.

        ``force=True`` recomputes every session. ``dry_runs=True`` also indexes
        the dry runs under ``ROOT/dryrun``. Returns counts and, in
        ``report.failed``, each session that could not be read fully and why.
        """
        self.store.check_writable()  # before the scan, not after it
        root = self._require_root()
        if not root.is_dir():
            raise NotConfigured(f"sessions root {root} is not a folder")
        report = index_root(
            root,
            self.store,
            force=force,
            dry_runs=dry_runs,
            progress=self.progress if progress is None else progress,
            details=self.details,
        )
        self._refresh_mirror(report.changed_ids)
        return report

    def _refresh_mirror(self, session_ids: list[str]) -> None:
        mirror = self._mirror_if_built()
        if mirror is not None:
            mirror.refresh_sessions(session_ids)

    def refresh(self, session_id: str) -> dict[str, Any]:
        """Recompute one session now and return its stats."""
        path = self._session_path(session_id)
        stored = self.store.stats(session_id)
        candidate = Candidate(session_id, str(path), bool(stored and stored["is_dryrun"]))
        result = compute_candidate(candidate)
        if isinstance(result, Candidate):
            if stored is None:
                raise self._unknown(session_id)
            self.store.mark_missing([session_id])
        else:
            self.store.write_records(
                [result], self.details.write([(result.stats.session_id, result.details)])
            )
        self._refresh_mirror([session_id])
        return self.stats(session_id)

    # -- one session -------------------------------------------------------

    def stats(self, session_id: str) -> dict[str, Any]:
        """One session's stats (the ``session_stats`` columns), computed first if missing."""
        check_session_id(session_id)
        row = self.store.stats(session_id)
        if row is None:
            if self.root is None or not self._session_path(session_id).is_dir():
                raise self._unknown(session_id)
            return self.refresh(session_id)
        return {key: row[key] for key in (*STATS_COLUMNS, "is_dryrun", "missing_since")}

    def metadata(self, session_id: str) -> dict[str, Any]:
        """One session's user metadata, ``tags`` as a list; defaults when never edited."""
        check_session_id(session_id)
        row = self.store.metadata(session_id)
        if row is None:
            stats = self.store.stats(session_id)
            if stats is None:
                raise self._unknown(session_id)
            row = {
                "session_id": session_id,
                "session_path": stats["session_path"],
                **METADATA_DEFAULTS,
                "created_at": None,
                "updated_at": None,
            }
        return {**row, "tags": parse_tags(row["tags"])}

    def used_values(self, session_id: str) -> dict[str, list[str]]:
        """Every value each placeholder used in one session, in the manifest's order.

        Read from the session's manifest as it is now: one file, where the
        ``variations`` relation would load every session's rows.
        """
        stored = self._require_known(session_id)
        manifest = read_manifest(Path(fs_path(stored["session_path"])) / MANIFEST)
        if not isinstance(manifest, Manifest):
            return {}
        return {
            name: list(dict.fromkeys(v.used)) for name, v in manifest.variations.items() if v.used
        }

    def update_metadata(
        self,
        session_id: str,
        *,
        expected_updated_at: str | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        """Change only the given metadata fields; return the row as saved.

        ``add_tags`` / ``remove_tags`` change the tag list as it is at the
        moment of the write, so no tag another program (the WebUI, another
        notebook) added meanwhile is lost. Only tags being added are checked;
        a stored tag of any form is kept, and removable (exact match first,
        then ignoring case).

        Fields: ``tags`` (replaces the list), ``is_favorite``, ``is_test``,
        ``is_complete``, ``user_rating`` (``'like'``, ``'dislike'``, ``None``),
        ``user_note`` (≤ 500 characters), ``auto_metadata``. A bad value raises
        :class:`~sessionkit.store.InvalidMetadata` and nothing is written.
        Pass the ``updated_at`` you read as ``expected_updated_at`` to get a
        :class:`~sessionkit.store.MetadataConflict` instead of overwriting an
        edit made elsewhere since.
        """
        check_session_id(session_id)
        try:  # the row is read once, inside the write
            saved = self.store.update_metadata(
                session_id,
                None,
                fields,
                add_tags=add_tags,
                remove_tags=remove_tags,
                expected_updated_at=expected_updated_at,
            )
        except KeyError:
            raise self._unknown(session_id) from None
        mirror = self._mirror_if_built()
        if mirror is not None:
            mirror.refresh_metadata(session_id, saved)  # the saved row: no read
        # the row as this write left it: re-reading could return another
        # writer's later row, whose updated_at would then hide its edit
        return {**saved, "tags": parse_tags(saved["tags"])}

    def mark_unedited(self, marks: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Give each never-edited session its starting marks; return the sessions marked.

        ``marks`` maps session ids to ``update_metadata`` fields (the demo's
        marks, for instance). A session with metadata of its own is left
        alone, even when the edit lands while this runs. The mirror is
        refreshed once at the end rather than after each session, so that a
        thousand sessions take a second, not twenty.
        """
        marked = []
        for session_id, fields in marks.items():
            path = self._require_known(session_id)["session_path"]
            try:
                self.store.update_metadata(
                    session_id, path, fields, expected_updated_at=NEVER_EDITED
                )
            except MetadataConflict:
                continue
            marked.append(session_id)
        if marked and self._mirror is not None:
            self._mirror.reload()
        return marked

    # -- many sessions -----------------------------------------------------

    def sessions(
        self,
        *,
        order_by: str = "session_created_at",
        descending: bool = True,
        limit: int | None = 100,
        offset: int = 0,
        **filters: Unpack[Filters],
    ) -> pd.DataFrame:
        """Sessions matching the filters, stats and metadata in one DataFrame.

        Filters (``None`` means "don't filter"): ``liked``, ``test``,
        ``complete`` (completion ≥ 95 %), ``seed_sweep``, ``model``
        (case-insensitive substring), ``from_date`` / ``to_date`` (inclusive
        bounds on ``session_created_at``), ``tags`` (all of them), ``rating``,
        ``search`` (substring of name, prompt or note), ``dry_run`` and
        ``missing`` (both ``False`` by default).
        """
        return query.select_sessions(
            self.mirror,
            _filter(filters),
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
        )

    def count(self, **filters: Unpack[Filters]) -> int:
        """How many sessions match the filters (same filters as :meth:`sessions`)."""
        return query.count_sessions(self.mirror, _filter(filters))

    def browse(
        self,
        *,
        chips: Sequence[str] = (),
        limit: int = 48,
        offset: int = 0,
        **filters: Unpack[Filters],
    ) -> BrowsePage:
        """Everything one redraw of a session browser shows, from one filter object.

        The page of rows, the total, the filters in words, and for each flag
        filter in ``chips`` the count with it set: two queries in all. Each
        row's first image (its thumbnail) comes from the file listing the
        last index stored, without reading any folder.
        """
        where = _filter(filters)
        for chip in chips:
            if chip not in _FLAG_FILTERS:
                raise query.InvalidFilter(f"{chip!r} is not a flag filter")
        total, chip_counts, listed = query.browse_counts(self.mirror, where, chips)
        rows = query.select_sessions(self.mirror, where, limit=limit, offset=offset)
        ids = [str(session_id) for session_id in rows["session_id"]]
        names = self.store.first_image_names(ids)
        paths = dict(zip(ids, rows["session_path"], strict=True))
        first = {
            session_id: Path(fs_path(str(paths[session_id]))) / fs_path(name)
            for session_id, name in names.items()
        }
        return BrowsePage(rows, total, where.describe(), chip_counts, listed, first)

    def describe(self, **filters: Unpack[Filters]) -> str:
        """The result in words: ``"37 sessions where liked and model contains illustrious"``."""
        where = _filter(filters)
        total = query.count_sessions(self.mirror, where)
        noun = "session" if total == 1 else "sessions"
        words = where.describe()
        return f"{total} {noun} where {words}" if words else f"{total} {noun}"

    def recent_liked(self, limit: int = 10) -> pd.DataFrame:
        """Liked sessions, most recently edited first."""
        return query.recent_liked(self.mirror, limit)

    def models(self) -> pd.DataFrame:
        """Models in use with their session counts (for a dropdown)."""
        return query.models(self.mirror)

    def tags(self) -> pd.DataFrame:
        """Tags in use with their session counts (for autocomplete)."""
        return query.tags(self.mirror)

    # -- aggregations ------------------------------------------------------

    def by_model(self) -> pd.DataFrame:
        return query.by_model(self.mirror)

    def seed_sweeps(self) -> pd.DataFrame:
        return query.seed_sweeps(self.mirror)

    def timeline(self, freq: str = "D", *, by_model: bool = False) -> pd.DataFrame:
        """Sessions, images and likes per day (``"D"``), week (``"W"``) or month (``"M"``)."""
        return query.timeline(self.mirror, freq, by_model=by_model)

    def tag_counts(self) -> pd.DataFrame:
        return query.tag_counts(self.mirror)

    def placeholder_values(
        self, session_id: str | None = None, *, by_model: bool = False
    ) -> pd.DataFrame:
        """Per placeholder value: sessions, images, liked sessions and their like rate."""
        if session_id is not None:
            check_session_id(session_id)
        return query.placeholder_values(self.mirror, session_id, by_model=by_model)

    def sweep_seeds(self, session_id: str | None = None) -> pd.DataFrame:
        """For each seed sweep (or one), each prompt and the seeds it was rendered with."""
        if session_id is not None:
            check_session_id(session_id)
        return query.sweep_seeds(self.mirror, session_id)

    def sweep_like_share(self) -> pd.DataFrame:
        """The share of seed sweeps liked, against every other session."""
        return query.sweep_like_share(self.mirror)

    def missing_combinations(self, session_id: str) -> pd.DataFrame:
        """Planned combinations of a combinatorial session that have no image yet."""
        self._require_known(session_id)
        from sessionkit import analysis

        return analysis.missing_combinations(self.mirror, session_id)

    def image_grid(self, session_id: str, rows: str, columns: str) -> pd.DataFrame:
        """The session's images by two axes (``"seed"`` or placeholders), for contact sheets."""
        self._require_known(session_id)
        from sessionkit import analysis

        return analysis.image_grid(self.mirror, session_id, rows, columns)

    def diff_sessions(self, a: str, b: str) -> pd.DataFrame:
        """What differs between two sessions: model, template, parameters, variations."""
        self._require_known(a)
        self._require_known(b)
        from sessionkit import analysis

        return analysis.diff_sessions(self.mirror, a, b)

    # -- images ------------------------------------------------------------

    def images(
        self,
        session_id: str | None = None,
        *,
        rating: str | None = None,
        stars: int | None = None,
        tags: list[str] | None = None,
        values: dict[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Images (one session's, or all) with their marks, by session then file name.

        Filters (``None`` means "don't filter"): ``rating`` (``"like"``,
        ``"dislike"``, ``"none"`` for unrated), ``stars`` (that many or more),
        ``tags`` (all of them), ``values`` (``{"EXPRESSIONS": "smiling"}``:
        images that applied those values).
        """
        if session_id is not None:
            self._require_known(session_id)
        where = ImageFilter(session_id, rating, stars, tags, values)
        return query.select_images(self.mirror, where, limit=limit, offset=offset)

    def image_metadata(self, session_id: str, filename: str) -> dict[str, Any]:
        """One image's marks: ``rating``, ``stars``, ``tags`` (a list), ``note``,
        ``created_at``, ``updated_at`` (the last two ``None`` when never marked)."""
        self._require_images(session_id, [filename])
        row = self.store.image_metadata(session_id, filename)
        if row is None:
            row = {
                "session_id": session_id,
                "filename": filename,
                **IMAGE_METADATA_DEFAULTS,
                "created_at": None,
                "updated_at": None,
            }
        return _image_row(row)

    def update_image_metadata(
        self,
        session_id: str,
        filename: str,
        *,
        rating: str | None = UNSET,
        stars: int | None = UNSET,
        tags: list[str] = UNSET,
        note: str | None = UNSET,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        expected_updated_at: str | None = None,
    ) -> dict[str, Any]:
        """Change only the given marks of one image; return its row as saved.

        ``rating`` is ``"like"``, ``"dislike"`` or ``None`` (clears it);
        ``stars`` 1 to 5 or ``None``; ``tags`` replaces the list, while
        ``add_tags`` / ``remove_tags`` change the list as stored; ``note`` at
        most 500 characters. A bad value raises
        :class:`~sessionkit.store.InvalidMetadata` naming the field, and
        nothing is written. ``expected_updated_at`` works as in
        :meth:`update_metadata`.
        """
        self._require_images(session_id, [filename])
        changes = _given(rating=rating, stars=stars, tags=tags, note=note)
        saved = self.store.update_image_metadata(
            session_id,
            filename,
            changes,
            add_tags=add_tags,
            remove_tags=remove_tags,
            expected_updated_at=expected_updated_at,
        )
        if self._mirror is not None:
            self._mirror.refresh_image_metadata(session_id, [filename])
        return _image_row(saved)

    def update_images_metadata(
        self,
        session_id: str,
        filenames: Sequence[str],
        *,
        rating: str | None = UNSET,
        stars: int | None = UNSET,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The same marks on many images of one session, in one transaction; their rows.

        Every file name is checked first: one unknown image, or one bad
        value, and nothing is written.
        """
        if isinstance(filenames, str):
            filenames = [filenames]
        self._require_images(session_id, filenames)
        saved = self.store.update_images_metadata(
            session_id,
            filenames,
            _given(rating=rating, stars=stars),
            add_tags=add_tags,
            remove_tags=remove_tags,
        )
        if self._mirror is not None:
            self._mirror.refresh_image_metadata(session_id, filenames)
        return [_image_row(row) for row in saved]

    def mark_unedited_images(
        self, marks: Mapping[tuple[str, str], Mapping[str, Any]]
    ) -> list[tuple[str, str]]:
        """Give each never-marked image its starting marks; return the images marked.

        ``marks`` maps ``(session_id, filename)`` to ``update_image_metadata``
        fields (the demo's marks, for instance). Every image is checked first;
        an image with marks of its own is left alone. One transaction, and
        one refresh of the mirror at the end.
        """
        by_session: dict[str, list[str]] = {}
        for session_id, filename in marks:
            by_session.setdefault(session_id, []).append(filename)
        for session_id, filenames in by_session.items():
            self._require_images(session_id, filenames)
        marked = self.store.mark_unedited_images(marks)
        if marked and self._mirror is not None:
            self._mirror.reload_image_metadata()
        return marked

    def value_ratings(
        self, session_id: str | None = None, *, by_model: bool = False
    ) -> pd.DataFrame:
        """Per placeholder value (and model): images, rated, liked, disliked,
        ``like_rate`` = liked / (liked + disliked) with its 95 % Wilson interval
        (``like_rate_low``, ``like_rate_high``), and ``mean_stars``."""
        if session_id is not None:
            self._require_known(session_id)
        return query.value_ratings(self.mirror, session_id, by_model=by_model)

    def seed_ratings(self, session_id: str | None = None) -> pd.DataFrame:
        """The same as :meth:`value_ratings`, per seed."""
        if session_id is not None:
            self._require_known(session_id)
        return query.seed_ratings(self.mirror, session_id)

    def _require_images(self, session_id: str, filenames: Sequence[str]) -> None:
        """Refuse (:class:`UnknownImage`) any file name that is not an image of the session.

        An image is known when its file is in the session's folder, when the
        manifest lists it, or when it has marks (its file may have vanished).
        """
        folder = Path(fs_path(self._require_known(session_id)["session_path"]))
        unsure = [name for name in filenames if not _on_disk(folder, name)]
        if not unsure:
            return
        known = set(query.image_filenames(self.mirror, session_id))
        known.update(row[1] for row in self.store.image_metadata_rows(session_id, unsure))
        for name in unsure:
            if name not in known:
                close = difflib.get_close_matches(str(name), sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownImage(f"session {session_id!r} has no image {name!r}{hint}")

    # -- SQL ---------------------------------------------------------------

    def sql(self, text: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query on the DuckDB mirror: it reads every relation and changes nothing.

        Statements other than queries are refused; for scratch tables of your
        own, use :attr:`duckdb` directly.
        """
        return self.mirror.user_query(text, params)

    @property
    def duckdb(self) -> Connection:
        """The mirror's DuckDB connection, all relations loaded (for jupysql's ``%sql``).

        It is the mirror itself: tables you create there are yours, but rows you
        change in its relations are not what :meth:`sessions` returns (it keeps
        its rows until the next index or edit); change data through the API.
        """
        self.mirror.ensure_all()
        return self.mirror.con

    # -- helpers -----------------------------------------------------------

    def _require_root(self) -> Path:
        if self.root is None:
            raise NotConfigured(
                f"no sessions root: pass root= (or set {ROOT_ENV}) to index {self.db_path}"
            )
        return self.root

    def _session_path(self, session_id: str) -> Path:
        check_session_id(session_id)
        stored = self.store.stats(session_id)
        if stored is not None:
            return Path(fs_path(stored["session_path"]))
        root = self._require_root()
        return Path(fs_path(str(Path(to_text(str(root))) / session_id)))

    def _require_known(self, session_id: str) -> dict[str, Any]:
        """The stored stats of a known session; :class:`UnknownSession` otherwise."""
        check_session_id(session_id)
        stored = self.store.stats(session_id)
        if stored is None:
            raise self._unknown(session_id)
        return stored

    def _unknown(self, session_id: str) -> UnknownSession:
        known = self.store.session_ids()
        close = difflib.get_close_matches(session_id, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return UnknownSession(f"unknown session {session_id!r}{hint}")


def _filter(filters: Filters) -> SessionFilter:
    unknown = set(filters) - set(SessionFilter.names())
    if unknown:
        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, SessionFilter.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise query.InvalidFilter(f"unknown filter {name!r}{hint}")
    return SessionFilter(**filters)


def _given(**marks: Any) -> dict[str, Any]:
    """The marks an update was given (``None`` included: it clears)."""
    return {name: value for name, value in marks.items() if value is not UNSET}


def _image_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored ``image_metadata`` row for the user: ``tags`` as a list."""
    return {name: row[name] for name in IMAGE_METADATA_COLUMNS} | {"tags": parse_tags(row["tags"])}


def _on_disk(folder: Path, filename: str) -> bool:
    """Whether ``filename`` is an image file right inside ``folder`` (never a path)."""
    return (
        isinstance(filename, str)
        and is_image_name(filename)
        and not any(char in filename for char in ("/", "\\", "\x00"))
        and (folder / fs_path(filename)).is_file()
    )


def check_session_id(session_id: str) -> str:
    """Refuse ids that are not plain folder names (paths, ``..``, NUL)."""
    if (
        not isinstance(session_id, str)
        or session_id in ("", ".", "..", DRYRUN_FOLDER)
        or any(char in session_id for char in ("/", "\\", "\x00"))
    ):
        raise InvalidSessionId(
            f"{session_id!r} is not a session id: give the session's folder name, not a path"
        )
    return session_id


def default_db_path(root: Path) -> Path:
    """Where ``sessions.db`` lives when no one says: the user's data folder, one per root.

    ``<data>/sessionkit/<root name>-<hash of its path>/sessions.db`` (``<data>``
    is ``~/.local/share`` on Linux, ``$XDG_DATA_HOME`` when set), never inside
    the root: the WebUI lists every folder there as a session, and image
    browsers would index the thumbnail cache. A database an earlier version
    left at ``ROOT/.sessionkit/sessions.db`` keeps being used.
    """
    root = root.expanduser().resolve()
    earlier = root / ".sessionkit" / "sessions.db"
    if earlier.is_file():
        return earlier
    digest = hashlib.sha1(os.fsencode(root), usedforsecurity=False).hexdigest()[:12]
    data = Path(platformdirs.user_data_dir("sessionkit", appauthor=False))
    return data / f"{to_text(root.name) or 'root'}-{digest}" / "sessions.db"
