"""The DuckDB read model of ``sessions.db`` (docs/data-model.md, "The DuckDB mirror").

DuckDB answers filters, aggregations and users' ad hoc SQL. It is an
in-memory copy, rebuilt from the store through pandas (no DuckDB extension
can be installed offline, so DuckDB never opens the SQLite file itself), and
it runs with external access disabled: SQL typed by a user can read the
mirror but cannot attach, read or write any file, ``sessions.db`` included.

Relations:

``session_stats``
    exactly the stats columns of docs/data-model.md (with ``status``,
    ``stats_source``, ``stats_error``).
``session_metadata``
    exactly the columns of SQLite's ``session_metadata``, ``tags`` as ``VARCHAR[]``.
``session_state`` (view)
    sessionkit's bookkeeping: ``is_dryrun``, ``missing_since``, the parsed
    ``placeholders`` / ``variations_summary`` maps, and ``model``
    (``model_name(sd_model)``, computed once rather than on every query).
    The maps are parsed from ``session_stats``' JSON when read: kept parsed
    beside the JSON they held 17 MB more at 10,000 sessions. The rest is
    the table ``sessionkit_session_state``, which sessionkit's own queries read.
``sessions`` (view)
    stats joined with metadata and state; sessions without metadata get the
    defaults.
``model_name(sd_model)`` (macro)
    a checkpoint's name without extension and hash, for grouping.
``image_metadata``
    the user's marks on single images: the columns of ``image_metadata`` in
    ``sessions.db``, ``tags`` as ``VARCHAR[]``. Small (marked images only),
    loaded with the sessions and refreshed image by image after an edit.
``images`` (view)
    ``image_rows`` with each image's marks (``rating``, ``stars``,
    ``image_tags``, ``image_note``; NULL and ``[]`` when unmarked).
``image_rows``, ``variations``
    one row per image / per (session, placeholder, value), by the rules of
    :mod:`sessionkit.details`, computed when each session was indexed and
    kept in Parquet parts beside ``sessions.db`` (:mod:`sessionkit.detailfiles`).
    They are views over those files, set up on first use: nothing is loaded
    into memory, and no manifest is read. A part that is missing, cut short
    or of another format is rebuilt from the manifests, with a warning.
``image_counts``
    distinct seeds and prompts per session, recorded with the parts.

Every relation lives in DuckDB's default schema, so a new cursor of the
connection (jupysql's ``%sql``) reaches it without ``USE``. The connection
may read the parts' folder and nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import orjson
import pandas as pd

from sessionkit.detailfiles import DetailFiles
from sessionkit.details import (
    IMAGE_COLUMNS,
    VARIATION_COLUMNS,
    Details,
    Fallback,
    read_session_details,
)
from sessionkit.errors import SessionKitError
from sessionkit.manifest import MANIFEST
from sessionkit.names import fs_path
from sessionkit.stats import STATS_COLUMNS
from sessionkit.store import IMAGE_METADATA_COLUMNS, METADATA_COLUMNS, Store

log = logging.getLogger("sessionkit")

Connection = duckdb.DuckDBPyConnection
T = TypeVar("T")


class QueryError(SessionKitError):
    """DuckDB refused a query; the message is DuckDB's own, which names the problem."""


# Counts and sizes come from manifests through ``as_int``, which accepts any
# signed 64-bit value (SQLite's INTEGER): a 32-bit column refused the whole copy.
_STATS_TYPES = {
    "seed_base": "BIGINT",
    "width": "BIGINT",
    "height": "BIGINT",
    "steps": "BIGINT",
    "cfg_scale": "DOUBLE",
    "images_expected": "BIGINT",
    "images_actual": "BIGINT",
    "completion_percentage": "DOUBLE",
    "is_seed_sweep": "INTEGER",
    "stats_version": "INTEGER",
}
_METADATA_TYPES = {"is_test": "INTEGER", "is_complete": "INTEGER", "is_favorite": "INTEGER"}
_IMAGE_TYPES = {"seed": "BIGINT", "on_disk": "BOOLEAN", "file_size": "BIGINT"}
_VARIATION_TYPES = {"used": "BOOLEAN", "images": "INTEGER"}
DETAIL_TABLES = ("image_rows", "variations", "image_counts")
_DETAIL_NAMES = frozenset({*DETAIL_TABLES, "images"})
"""The relations that read the parts (they must be set up first)."""
_MARK_NAMES = frozenset({"image_metadata", "marked_values"})
"""The relations of the images' marks (copied from ``sessions.db`` when first read)."""
_DETAIL_VIEWS = {"images": "image_rows", "variations": "variations"}
"""The view over each kind of part file."""
_DETAIL_COLUMNS = {
    "images": (IMAGE_COLUMNS, _IMAGE_TYPES),
    "variations": (VARIATION_COLUMNS, _VARIATION_TYPES),
}
_IMAGE_METADATA_TYPES = {"stars": "INTEGER", "tags": "VARCHAR[]"}

_IMAGES = """
SELECT i.*, m.rating, m.stars, COALESCE(m.tags, []::VARCHAR[]) AS image_tags, m.note AS image_note
FROM image_rows i LEFT JOIN image_metadata m USING (session_id, filename)
"""
"""``images``: each image with its marks, what users query and what ``kit.images()`` reads."""

_MAPS = """
TRY_CAST(json_transform(s.placeholders_json, '"MAP(VARCHAR, INTEGER)"') AS MAP(VARCHAR, INTEGER))
    AS placeholders,
TRY_CAST(json_transform(s.variations_summary_json, '"MAP(VARCHAR, VARCHAR[])"')
         AS MAP(VARCHAR, VARCHAR[])) AS variations_summary
"""
"""The ``placeholders`` / ``variations_summary`` maps parsed from a ``session_stats`` row ``s``."""
_STATE = "sessionkit_session_state"
"""``is_dryrun``, ``missing_since`` and ``model`` per session: what sessionkit's queries
filter and group on, without parsing any map."""
_STATE_VIEW = f"""
CREATE OR REPLACE VIEW session_state AS
SELECT st.session_id, st.is_dryrun, st.missing_since, {_MAPS}, st.model
FROM {_STATE} st JOIN session_stats s USING (session_id)
"""
_SESSIONS_VIEW = """
CREATE OR REPLACE VIEW sessions AS
SELECT
    s.*,
    st.is_dryrun,
    st.missing_since,
    st.missing_since IS NOT NULL AS is_missing,
    {maps},
    st.model,
    COALESCE(m.is_test, 0) AS is_test,
    COALESCE(m.is_complete, 1) AS is_complete,
    COALESCE(m.is_favorite, 0) AS is_favorite,
    m.user_rating,
    m.user_note,
    COALESCE(m.tags, []::VARCHAR[]) AS tags,
    m.auto_metadata,
    m.created_at AS metadata_created_at,
    m.updated_at AS metadata_updated_at
FROM session_stats s
JOIN {state} st USING (session_id)
LEFT JOIN session_metadata m USING (session_id)
"""


_MODEL_NAME_MACRO = r"""
CREATE MACRO model_name(checkpoint) AS nullif(regexp_replace(
    checkpoint, '(\.(safetensors|ckpt|pt|bin))?(\s*\[[0-9a-fA-F]+\])?\s*$', ''), '')
"""
"""``model_name(sd_model)``: the checkpoint without extension and hash.

Manifests name a model ``name.safetensors [hash]``, image infotext only
``name``; aggregations group by this so both count as one model. Users'
SQL can call it too.
"""


class Mirror:
    """An in-memory DuckDB database mirroring one :class:`~sessionkit.store.Store`."""

    def __init__(self, store: Store, details: DetailFiles) -> None:
        self._store = store
        self._details = details
        self._lock = threading.RLock()
        self.con = duckdb.connect()
        # the parts' folder is the only place its SQL may read (users' too);
        # both settings are fixed from here on, for every cursor
        folder = str(details.folder).replace("'", "''")
        self.con.execute(f"SET allowed_directories = ['{folder}/']")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET parquet_metadata_cache = true")
        # DuckDB's own allocator thresholds: flushing at 8 MB (kept from when image
        # rows were loaded into memory) cost a part's scan 6 ms of 15 and saved
        # nothing measurable with the parts read as views
        self._create_tables()
        self._details_loaded = False
        self._part_of: dict[str, str] = {}
        self._derived: dict[str, frozenset[str]] = {}
        """The :meth:`derived` tables made, each with what it was made from that changes
        alone (``"marks"``, ``"metadata"``)."""
        self._marked_values_ready = False
        self._rows: pd.DataFrame | None = None
        self._sessions_loaded = False
        self._marks_loaded = False
        self._marks_seen: tuple[int, str | None] | None = None
        """The marks' stamp (:meth:`Store.image_marks_stamp`) when they were copied."""

    def close(self) -> None:
        self.con.close()

    def _create_tables(self) -> None:
        self._create("session_stats", STATS_COLUMNS, _STATS_TYPES)
        self._create("session_metadata", METADATA_COLUMNS, {**_METADATA_TYPES, "tags": "VARCHAR[]"})
        self.con.execute(
            "CREATE TABLE image_counts (session_id VARCHAR, seeds INTEGER, prompts INTEGER)"
        )
        self.con.execute(f"CREATE TABLE {_OWNERS} (session_id VARCHAR, part VARCHAR)")
        self.con.execute(
            f"CREATE TABLE {_STATE} (session_id VARCHAR, is_dryrun BOOLEAN, "
            "missing_since VARCHAR, model VARCHAR)"
        )
        self.con.execute(_MODEL_NAME_MACRO)
        self.con.execute(_STATE_VIEW)
        self.con.execute(_SESSIONS_VIEW.format(maps=_MAPS, state=_STATE))
        self._create("image_metadata", IMAGE_METADATA_COLUMNS, _IMAGE_METADATA_TYPES)
        self.con.execute(
            "CREATE TABLE marked_values (session_id VARCHAR, filename VARCHAR, "
            "placeholder VARCHAR, value VARCHAR, rating VARCHAR, stars INTEGER)"
        )
        self._create_detail_views([], stale=False)
        self.con.execute(f"CREATE OR REPLACE VIEW images AS {_IMAGES}")

    def _create(self, table: str, columns: Sequence[str], types: dict[str, str]) -> None:
        self.con.execute(f"CREATE TABLE {table} ({_column_list(columns, types)})")

    # -- loading -----------------------------------------------------------

    def _ensure(
        self, *, sessions: bool = True, details: bool = False, marks: bool | None = None
    ) -> None:
        """Copy what a query reads the first time it is read: the session-level
        relations, the images' marks (``images`` joins them: ``marks`` defaults
        to ``details``) and the parts' views.

        Each is loaded on first use, so a new process's first query pays only
        for what it names: counting ``images`` needs no copy of the sessions
        (0.3 s of the 1.1 s that query took at 10,000 sessions), and a list of
        sessions no copy of the marks (0.36 s for 96,900 marked images).
        """
        with self._lock:
            if sessions and not self._sessions_loaded:
                self._load_sessions()
            if (details if marks is None else marks) and not self._marks_loaded:
                self._load_marks()
            if details:
                self.ensure_details()

    def ensure_all(self) -> None:
        """Load every relation (for SQL that does not go through :meth:`user_query`)."""
        self._ensure(details=True)

    def reload(self) -> None:
        """Copy the session-level relations and the images' marks again (those copied
        already: a ``%sql`` cursor reads them without asking; the others are copied
        when first read)."""
        with self._lock:
            if self._sessions_loaded:
                self._load_sessions()
            self.reload_image_metadata()

    def _load_sessions(self) -> None:
        """Copy the session-level relations (one row per session)."""
        self._rows = None
        self._drop_derived()
        for table in ("session_stats", _STATE):
            self.con.execute(f"DELETE FROM {table}")
        self._copy_sessions(None)
        self._replace_metadata(self._store.metadata_rows())
        self._sessions_loaded = True

    def refresh_sessions(self, session_ids: Iterable[str]) -> None:
        """Bring the mirror up to date after an index that changed ``session_ids``."""
        ids = list(dict.fromkeys(session_ids))
        with self._lock:
            self._rows = None
            if self._sessions_loaded:  # else copied whole when first read
                known = self.con.execute("SELECT count(*) FROM session_stats").fetchone()
                if len(ids) * _RELOAD_SHARE >= (known[0] if known else 0):
                    self.reload()
                else:  # a rescan changes few sessions: copy only theirs (and all metadata)
                    self._refresh_stats(ids)
                    self._replace_metadata(self._store.metadata_rows())
            if self._details_loaded and ids:
                self._load_details()

    def catch_up(self) -> None:
        """Take in what another process committed: its index, its metadata and image marks.

        The sessions whose stats changed are found by comparing one stamp per
        session; metadata is reloaded whole (one row per edited session).
        Without the sessions copied yet, an index shows in the parts' owners.
        """
        with self._lock:
            if self._sessions_loaded:
                mirrored = self.con.execute(
                    "SELECT s.session_id, s.stats_computed_at, st.missing_since "
                    f"FROM session_stats s JOIN {_STATE} st USING (session_id)"
                ).fetchall()
                changed = {row[0] for row in self._store.stats_stamps() ^ set(mirrored)}
                if changed:
                    self.refresh_sessions(changed)  # metadata and the parts too
                else:
                    self._rows = None
                    self._replace_metadata(self._store.metadata_rows())
            elif self._details_loaded and self._part_of != {
                owner[0]: owner[1] for owner in self._store.detail_owners()
            }:
                self._load_details()
            self._catch_up_marks()  # another process may have marked images

    def _catch_up_marks(self) -> None:
        """Take in the image marks other processes wrote since the copy: only those rows.

        Copying every mark again costs 0.36 s at 96,900 marked images, and
        another process commits for many reasons (Voila's next kernel starting,
        a session's tag in the WebUI): the pair of :meth:`Store.image_marks_stamp`
        tells whether marks changed at all, and which rows to read if so. A mark
        deleted elsewhere (the count then differs), or a write dated before the
        newest one (a clock set back), is taken in by copying every mark again.
        """
        if not self._marks_loaded or self._marks_seen is None:
            return  # copied whole when first read
        count, newest = self._store.image_marks_stamp()
        if (count, newest) == self._marks_seen:
            return
        since = self._marks_seen[1] or ""  # no mark at the copy: every row is new
        if newest is None or newest < since:
            self.reload_image_metadata()
            return
        rows = self._store.image_metadata_since(since)
        self.con.execute(
            "DELETE FROM image_metadata m USING (SELECT unnest(?::VARCHAR[]) AS session_id, "
            "unnest(?::VARCHAR[]) AS filename) k "
            "WHERE m.session_id = k.session_id AND m.filename = k.filename",
            [[row[0] for row in rows], [row[1] for row in rows]],
        )
        self._insert_image_metadata(rows)
        mirrored = self.con.execute("SELECT count(*) FROM image_metadata").fetchone()
        if mirrored is None or mirrored[0] != count:  # deleted elsewhere, or written meanwhile
            self.reload_image_metadata()
            return
        self._marks_seen = (count, newest)
        self._marked_values_ready = False
        self._drop_derived("marks")

    def _refresh_stats(self, session_ids: list[str]) -> None:
        self._drop_derived()
        for start in range(0, len(session_ids), _STATS_BATCH):
            ids = session_ids[start : start + _STATS_BATCH]
            for table in ("session_stats", _STATE):
                self.con.execute(
                    f"DELETE FROM {table} WHERE session_id IN (SELECT unnest(?::VARCHAR[]))",
                    [ids],
                )
            self._copy_sessions(ids)

    def refresh_metadata(self, session_id: str, saved: Mapping[str, Any] | None = None) -> None:
        """Copy one session's metadata row after a write: ``saved``, the row the write
        returned (no read), else the stored row."""
        with self._lock:
            if not self._sessions_loaded:
                return  # copied whole when first read
            if self._rows is not None:
                self._rows = self._rows.drop(index=session_id, errors="ignore")
            self._drop_derived("metadata")
            self.con.execute("DELETE FROM session_metadata WHERE session_id = ?", [session_id])
            rows = (
                [tuple(saved[name] for name in METADATA_COLUMNS)]
                if saved is not None
                else self._store.metadata_rows(session_id)
            )
            self._insert_metadata(rows)

    def reload_image_metadata(self) -> None:
        """Copy every image's marks again, if copied already (after a write to many images)."""
        with self._lock:
            self._marked_values_ready = False
            self._drop_derived("marks")
            if self._marks_loaded:
                self._load_marks()

    def _load_marks(self) -> None:
        """Copy every image's marks, a batch at a time (a hundred thousand marked images
        copied at once held 60 MB more at the peak).

        The marks' stamp is read first: a mark written during the copy is then
        newer than the stamp, and the next catch-up reads it again.
        """
        stamp = self._store.image_marks_stamp()
        self.con.execute("DELETE FROM image_metadata")
        for rows in self._store.image_metadata_batches(_MARKS_BATCH):
            self._insert_image_metadata(rows)
        self._marks_loaded = True
        self._marks_seen = stamp

    def refresh_image_metadata(self, session_id: str, filenames: Sequence[str]) -> None:
        """Copy the marks of some images of one session after a write (only theirs)."""
        names = list(filenames)
        with self._lock:
            if not self._marks_loaded:
                return  # copied whole when first read
            self.con.execute(
                "DELETE FROM image_metadata WHERE session_id = ? "
                "AND filename IN (SELECT unnest(?::VARCHAR[]))",
                [session_id, names],
            )
            self._insert_image_metadata(self._store.image_metadata_rows(session_id, names))
            self._drop_derived("marks")
            if self._marked_values_ready:
                self._add_marked_values(session_id, names)
                self.con.execute(_UPDATE_MARKED_VALUES, [session_id, names])

    def ensure_marked_values(self) -> None:
        """Fill ``marked_values`` the first time it is read after the images or marks changed.

        One row per (marked image, placeholder value it applied), with the
        image's rating and stars: what ratings per value aggregate. Joining
        the marks to every image row instead, to parse its
        ``applied_variations``, costs in proportion to the library (a
        million rows), not to the marks.
        """
        with self._lock:
            self._ensure(sessions=False, details=True)
            if self._marked_values_ready:
                return
            self.con.execute("DELETE FROM marked_values")
            self.con.execute(_INSERT_MARKED_VALUES.format(scope=""))
            self._marked_values_ready = True

    def derived(self, name: str, sql: str, *, marks: bool = False, metadata: bool = False) -> str:
        """``name``: a table of ``sql``'s rows, made the first time it is asked for after
        what it was made from last changed.

        For aggregations over the detail relations that users ask for again
        and again (ratings per value, values per liked session). ``sql`` may
        read the sessions' stats and state and the detail relations; with
        ``marks`` the images' marks (``image_metadata``, ``marked_values``);
        with ``metadata`` the sessions' metadata (likes, tags, notes), whose
        every write then drops the table.
        """
        with self._lock:
            self._ensure(details=True)
            if name not in self._derived:
                self._answer(lambda: self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}"))
                sources = {"marks": marks, "metadata": metadata}
                self._derived[name] = frozenset(source for source, used in sources.items() if used)
            return name

    def _drop_derived(self, changed: str | None = None) -> None:
        """Forget the :meth:`derived` tables made from what changed: everything (``None``),
        the images' marks (``"marks"``) or the sessions' metadata (``"metadata"``)."""
        for name, sources in list(self._derived.items()):
            if changed is None or changed in sources:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")
                del self._derived[name]

    def _add_marked_values(self, session_id: str, filenames: list[str]) -> None:
        """The values of newly marked images (an image's values never change with its marks)."""
        known = {
            row[0]
            for row in self.con.execute(
                "SELECT DISTINCT filename FROM marked_values WHERE session_id = ? "
                "AND filename IN (SELECT unnest(?::VARCHAR[]))",
                [session_id, filenames],
            ).fetchall()
        }
        new = [name for name in filenames if name not in known]
        if new:
            self.con.execute(
                _INSERT_MARKED_VALUES.format(
                    scope="AND i.session_id = ? AND i.filename IN (SELECT unnest(?::VARCHAR[]))"
                ),
                [session_id, new],
            )

    def _insert_image_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        # NumPy columns, not a DataFrame: a hundred thousand marks copy in half the
        # time. Safe here because every number is a star (1-5): DuckDB types an
        # object column from a sample, which a wide integer later could overflow.
        columns = zip(*rows, strict=True)
        self._append(
            "image_metadata",
            {
                name: np.array(values, dtype=object)
                for name, values in zip(IMAGE_METADATA_COLUMNS, columns, strict=True)
            },
            f"SELECT {_with_tag_list(IMAGE_METADATA_COLUMNS)} FROM frame",
        )

    def ensure_details(self) -> None:
        """Set up ``images`` and ``variations`` the first time a query needs them."""
        with self._lock:
            if not self._details_loaded:
                self._load_details()
                self._details_loaded = True

    def _load_details(self) -> None:
        """Point the detail views at the recorded parts, rebuilding any that cannot be used."""
        self._marked_values_ready = False
        self._drop_derived()
        parts = {row[0]: row[1:] for row in self._store.detail_parts()}
        owners = self._store.detail_owners()
        problems = {
            part: problem
            for part in {owner[1] for owner in owners}
            if (problem := _part_problem(self._details, part, parts.get(part)))
        }
        lost = [owner[0] for owner in owners if owner[1] in problems]
        never = self._store.sessions_without_details()
        if lost or never:
            self._rebuild(lost + never, problems)
            parts = {row[0]: row[1:] for row in self._store.detail_parts()}
            owners = self._store.detail_owners()
        self._fill_owners(owners)
        used = sorted({owner[1] for owner in owners})
        written = sum(parts[part][1] for part in used)
        self._create_detail_views(used, stale=written > len(owners))

    def _rebuild(self, session_ids: list[str], problems: dict[str, str]) -> None:
        """Rebuild the rows of ``session_ids`` from their manifests, saying why."""
        for part, problem in sorted(problems.items()):
            log.warning("sessionkit: image data part %s cannot be used (%s)", part, problem)
        log.warning(
            "sessionkit: rebuilding the image data of %d session(s) from their manifests",
            len(session_ids),
        )
        try:
            for start in range(0, len(session_ids), _REBUILD_BATCH):
                sources = self._store.detail_sources(session_ids[start : start + _REBUILD_BATCH])
                built = [(source[0], _rebuilt(source)) for source in sources]
                if built:
                    written = self._details.write(built)
                    self._store.record_part(written, [(sid, *rows.counts()) for sid, rows in built])
            self._details.delete(self._store.drop_unused_parts())
        except (OSError, SessionKitError) as exc:  # a read-only database or folder
            log.warning("sessionkit: the rebuilt image data cannot be stored (%s)", exc)

    def _fill_owners(self, owners: list[tuple[str, str, int, int]]) -> None:
        """``image_counts`` and the part owning each session's rows, from the store's records.

        Through a DataFrame: list parameters cost three times as much (40 ms
        at 10,000 sessions).
        """
        self._part_of = {owner[0]: owner[1] for owner in owners}
        for table in ("image_counts", _OWNERS):
            self.con.execute(f"DELETE FROM {table}")
        frame = _frame(owners, ("session_id", "part", "seeds", "prompts"))
        self._append(_OWNERS, frame, "SELECT session_id, part FROM frame")
        self._append("image_counts", frame, "SELECT session_id, seeds, prompts FROM frame")

    def _create_detail_views(self, parts: list[str], *, stale: bool) -> None:
        """``images`` and ``variations`` as views over ``parts`` (typed and empty without any).

        When some part still holds rows of sessions indexed again since
        (``stale``), only the rows of each session's current part are kept.
        """
        for kind, view in _DETAIL_VIEWS.items():
            body = self._detail_rows(kind, parts, stale=stale)
            self.con.execute(f"CREATE OR REPLACE VIEW {view} AS {body}")

    def _detail_rows(self, kind: str, parts: list[str], *, stale: bool) -> str:
        """The ``SELECT`` of one kind of rows (``images`` or ``variations``) from ``parts``."""
        columns, types = _DETAIL_COLUMNS[kind]
        if not parts:
            names = ", ".join(columns)
            return f"SELECT * FROM (VALUES ({_nulls(columns, types)})) t({names}) WHERE false"
        files = ", ".join(
            "'" + str(self._details.path(part, kind)).replace("'", "''") + "'" for part in parts
        )
        owned = f"SEMI JOIN {_OWNERS} USING (session_id, part)" if stale else ""
        return f"SELECT {', '.join(columns)} FROM read_parquet([{files}]) {owned}"

    def _scoped(self, sql: str, session_id: str) -> str:
        """``sql`` with ``image_rows``, ``images`` and ``variations`` reading only the part
        that holds ``session_id``'s rows (``sql`` still picks that session's among them).

        A part holds a batch of sessions: scanning the one part instead of
        every part's footer and row group took one session's images from 21 to
        8 ms at 10,000 sessions (80 parts), and does not grow with the parts.
        """
        part = self._part_of.get(session_id)
        rows = {
            view: self._detail_rows(kind, [part] if part else [], stale=False)
            for kind, view in _DETAIL_VIEWS.items()
        }
        ctes = ", ".join(f"{view} AS ({body})" for view, body in rows.items())
        return _with(f"{ctes}, images AS ({_IMAGES})", sql)

    def _copy_sessions(self, session_ids: list[str] | None) -> None:
        """Copy ``sessionkit_stats`` rows into ``session_stats`` and the state table.

        One read of SQLite per batch feeds both tables.
        """
        for rows in self._store.stats_batches(session_ids, _STATS_BATCH):
            self.con.register("frame", _frame(rows, _SESSION_COLUMNS))
            try:
                self.con.execute(
                    f"INSERT INTO session_stats SELECT {', '.join(STATS_COLUMNS)} FROM frame"
                )
                self.con.execute(_INSERT_STATE)
            finally:
                self.con.unregister("frame")

    def _replace_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        self._drop_derived("metadata")
        self.con.execute("DELETE FROM session_metadata")
        self._insert_metadata(rows)

    def _insert_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert metadata rows, turning the JSON ``tags`` text into a list."""
        self._append(
            "session_metadata",
            _frame(rows, METADATA_COLUMNS),
            f"SELECT {_with_tag_list(METADATA_COLUMNS)} FROM frame",
        )

    def _append(self, table: str, frame: pd.DataFrame | dict[str, Any], select: str) -> None:
        if isinstance(frame, pd.DataFrame) and frame.empty:
            return
        self.con.register("frame", frame)
        try:
            self.con.execute(f"INSERT INTO {table} {select}")
        finally:
            self.con.unregister("frame")

    # -- queries -----------------------------------------------------------

    def query(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        details: bool = False,
        sessions: bool = True,
        marks: bool | None = None,
        session_id: str | None = None,
    ) -> pd.DataFrame:
        """Run one of sessionkit's own queries; ``details`` when it reads images or
        variations, not ``sessions`` when it reads no session-level relation,
        ``marks`` when it reads the images' marks without the images.

        A query that reads only one session's images or variations names it
        as ``session_id`` (and still filters on it): only its part is read.
        """
        with self._lock:
            self._ensure(sessions=sessions, details=details, marks=marks)
            if session_id is None:
                return self._answer(lambda: self.con.execute(sql, params or []).df())
            # built on each try: a retry follows the session to the part it is in by then
            return self._answer(
                lambda: self.con.execute(self._scoped(sql, session_id), params or []).df()
            )

    def user_query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a user's ad hoc SQL: queries only, detail tables loaded if it names them.

        A ``DELETE`` or ``DROP`` would not reach ``sessions.db`` anyway (no file
        access), but it would leave this kit answering from a damaged copy.
        """
        _check_read_only(sql)
        names = _table_names(sql)
        if names is None:  # e.g. a query with parameters: load everything, to be safe
            return self.query(sql, params, details=True)
        return self.query(
            sql,
            params,
            details=bool(names & _DETAIL_NAMES),
            sessions=not names or not names <= _DETAIL_NAMES | _MARK_NAMES,
            marks=bool(names & (_DETAIL_NAMES | _MARK_NAMES)),
        )

    def session_rows(self, session_ids: Sequence[str]) -> pd.DataFrame:
        """Whole ``sessions`` rows for ``session_ids``, in that order.

        Converting whole rows (prompts, maps, tag lists) to pandas is most of
        what a page of ``kit.sessions()`` costs, so rows are kept once
        converted: a query only chooses ids on narrow columns, and only rows
        not seen since the mirror last changed are read. An index clears the
        rows; a metadata write drops that session's row.
        """
        ids = list(session_ids)
        with self._lock:
            self._ensure()
            cached = self._rows
            missing = [i for i in ids if cached is None or i not in cached.index]
            if cached is None or missing:
                fresh = self._converted_rows(missing).set_index("session_id", drop=False)
                cached = fresh if cached is None or cached.empty else pd.concat([cached, fresh])
                self._rows = cached
            return cached.loc[ids].reset_index(drop=True)

    def _converted_rows(self, session_ids: list[str]) -> pd.DataFrame:
        """``sessions`` rows as pandas; for many rows, equal strings kept once.

        The rows repeat the same models, modes and placeholder values
        thousands of times (the maps alone hold 186,000 strings, 84 distinct,
        16 MB in the demo at 10,000 sessions): beyond ``_ROWS_BATCH`` rows
        the other columns' strings are replaced by the first equal one before
        the maps are read, and the maps are converted ``_ROWS_BATCH`` rows at a
        time, each batch's strings shared before the next is read. A page of
        rows is converted in one query, as fast as before.
        """
        where = "WHERE session_id IN (SELECT unnest(?::VARCHAR[]))"
        if len(session_ids) <= _ROWS_BATCH:
            return self.con.execute(f"SELECT * FROM sessions {where}", [session_ids]).df()
        shared: dict[str, str] = {}
        maps = ", ".join(_MAP_COLUMNS)
        frame = self.con.execute(
            f"SELECT * EXCLUDE ({maps}) FROM sessions {where}", [session_ids]
        ).df()
        _share_strings(frame, shared)
        cursor = self.con.execute(f"SELECT session_id, {maps} FROM sessions {where}", [session_ids])
        parsed: dict[str, list[Any]] = {}
        while rows := cursor.fetchmany(_ROWS_BATCH):
            for row in rows:
                parsed[row[0]] = [_share(value, shared) for value in row[1:]]
        for n, name in enumerate(_MAP_COLUMNS):
            frame[name] = pd.Series([parsed[i][n] for i in frame["session_id"]], dtype=object)
        order = [d[0] for d in self.con.execute("SELECT * FROM sessions LIMIT 0").description]
        return frame[order]

    def column(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        """The first column of a query's rows, as a list (no DataFrame)."""
        with self._lock:
            self._ensure()
            return self._answer(
                lambda: [row[0] for row in self.con.execute(sql, params or []).fetchall()]
            )

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self._lock:
            self._ensure()
            row = self.con.execute(sql, params or []).fetchone()
            return row[0] if row else None

    def _answer(self, run: Callable[[], T]) -> T:
        """Run a query; once more after re-reading the parts if one vanished meanwhile.

        Another process's index deletes the parts it replaced: this kit's
        views may still name one. Its records in ``sessions.db`` are current.
        """
        try:
            return run()
        except duckdb.IOException:
            if not self._details_loaded:
                raise QueryError("a file could not be read") from None
            self._load_details()
        except duckdb.Error as exc:
            raise QueryError(str(exc).strip()) from None
        try:
            return run()
        except duckdb.Error as exc:
            raise QueryError(str(exc).strip()) from None


_INSERT_MARKED_VALUES = """
INSERT INTO marked_values
SELECT session_id, filename, a.key, a.value, rating, stars
FROM (
    SELECT i.session_id, i.filename, m.rating, m.stars,
           unnest(map_entries(json_transform(i.applied_variations, '"MAP(VARCHAR, VARCHAR)"'))) AS a
    FROM image_rows i JOIN image_metadata m USING (session_id, filename)
    WHERE i.applied_variations IS NOT NULL {scope}
)
WHERE a.value IS NOT NULL
"""
"""Each marked image's applied values and marks, one row per (image, placeholder)."""
_UPDATE_MARKED_VALUES = """
UPDATE marked_values v SET rating = m.rating, stars = m.stars
FROM image_metadata m
WHERE v.session_id = m.session_id AND v.filename = m.filename
  AND m.session_id = ? AND m.filename IN (SELECT unnest(?::VARCHAR[]))
"""
"""Copy new marks of some images of one session into their ``marked_values`` rows."""

_RELOAD_SHARE = 5
"""When a fifth of the sessions or more changed, the session-level relations are
rebuilt whole: copying one session costs about five times its share of a
rebuild (deleting its old rows first), measured at 1k and 10k sessions."""
_STATS_BATCH = 2000
"""Session rows copied per step: a whole library at once would hold every prompt twice."""
_MARKS_BATCH = 10_000
"""Image marks copied per step."""
_ROWS_BATCH = 1000
"""``sessions`` rows whose maps are converted to Python per step."""
_MAP_COLUMNS = ("placeholders", "variations_summary")
"""The ``sessions`` columns of maps (converted to dicts)."""
_REBUILD_BATCH = 256
"""Sessions rebuilt from their manifests per part."""
_OWNERS = "sessionkit_detail_owners"
"""The mirror's own table: the part holding each session's current rows."""
_SESSION_COLUMNS = (*STATS_COLUMNS, "is_dryrun", "missing_since")
_INSERT_STATE = f"""
INSERT INTO {_STATE}
SELECT session_id, is_dryrun::BOOLEAN, missing_since, model_name(sd_model) FROM frame
"""

_QUERY_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})


def _check_read_only(sql: str) -> None:
    """Refuse any statement that is not a query (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from None
    for statement in statements:
        kind = statement.type.name
        if kind not in _QUERY_STATEMENTS:
            raise QueryError(
                f"{kind} refused: ad hoc SQL only reads (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN)"
            )


def _table_names(sql: str) -> set[str] | None:
    """The relations ``sql`` reads (lower case, unqualified), or ``None`` if unknown."""
    try:
        names = duckdb.get_table_names(sql)
    except duckdb.Error:
        return None
    return {name.split(".")[-1].lower() for name in names}


def _with_tag_list(columns: Sequence[str]) -> str:
    """A select list of ``columns`` with the JSON ``tags`` text as a list (``[]`` if unreadable)."""
    return ", ".join(
        "COALESCE(TRY_CAST(TRY_CAST(tags AS JSON) AS VARCHAR[]), []::VARCHAR[])"
        if name == "tags"
        else name
        for name in columns
    )


def _part_problem(
    details: DetailFiles, part: str, recorded: tuple[int, int, int, int] | None
) -> str | None:
    if recorded is None:
        return "no record of it in sessions.db"
    fmt, _, images_bytes, variations_bytes = recorded
    return details.problem(part, fmt, (images_bytes, variations_bytes))


def _rebuilt(source: tuple[Any, ...]) -> Details:
    """One session's rows from its manifest and its recorded files (a rebuild)."""
    _, path, stats_source, prompt, negative, seed, files = source
    listing = orjson.loads(files) if files else {}
    fallback = None if stats_source == "manifest" else Fallback(prompt, negative, seed)
    return read_session_details(
        str(Path(fs_path(path)) / MANIFEST),
        listing.get("n", []),
        listing.get("t", []),
        listing.get("s", []),
        fallback,
    )


def _share_strings(frame: pd.DataFrame, shared: dict[str, str]) -> None:
    """Replace each string of ``frame``'s text columns by the one equal string in ``shared``."""
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_string_dtype(column.dtype):
            values = [shared.setdefault(v, v) if isinstance(v, str) else v for v in column]
            frame[name] = pd.Series(values, dtype=column.dtype, index=column.index)


def _share(value: Any, shared: dict[str, str]) -> Any:
    """``value`` (a map from DuckDB, its lists, or NULL) with each string replaced by
    the one equal string in ``shared``."""
    if isinstance(value, dict):
        return {shared.setdefault(k, k): _share(v, shared) for k, v in value.items()}
    if isinstance(value, list):
        return [shared.setdefault(v, v) if isinstance(v, str) else v for v in value]
    return value


def _with(ctes: str, sql: str) -> str:
    """``sql`` preceded by the common table expressions ``ctes`` (joined to its own, if any)."""
    body = sql.lstrip()
    if body[:4].upper() == "WITH" and body[4:5].isspace():
        return f"WITH {ctes}, {body[5:]}"
    return f"WITH {ctes} {body}"


def _column_list(columns: Sequence[str], types: dict[str, str]) -> str:
    return ", ".join(f"{name} {types.get(name, 'VARCHAR')}" for name in columns)


def _nulls(columns: Sequence[str], types: dict[str, str]) -> str:
    return ", ".join(f"NULL::{types.get(name, 'VARCHAR')}" for name in columns)


def _frame(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of Python objects: DuckDB casts to the table's types on insert.

    Object columns keep large integers exact (no float64 detour) and keep
    ``None`` as NULL.
    """
    if not rows:
        return pd.DataFrame(columns=list(columns))
    data = {
        name: pd.array(values, dtype=object)
        for name, values in zip(columns, zip(*rows, strict=True), strict=True)
    }
    return pd.DataFrame(data)
