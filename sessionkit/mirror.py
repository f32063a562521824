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
``session_state``
    sessionkit's bookkeeping: ``is_dryrun``, ``missing_since``, the parsed
    ``placeholders`` / ``variations_summary`` maps, and ``model``
    (``model_name(sd_model)``, computed once rather than on every query).
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
    one row per image / per (session, placeholder, value). These are the
    big ones (a million rows at scale), so they are loaded on first use and
    kept current incrementally after that. They are read from the two
    sources docs/data-model.md names: each session's manifest as it is when the
    relation is loaded (what it says of each image) and ``sessionkit_files``
    (the image files the last scan found). DuckDB parses the manifests'
    JSON itself; no Python object is made per image.
``image_counts``
    distinct seeds and prompts per session, kept with ``images``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sessionkit.errors import SessionKitError
from sessionkit.manifest import MANIFEST, Details, read_details
from sessionkit.names import fs_path
from sessionkit.stats import STATS_COLUMNS
from sessionkit.store import IMAGE_METADATA_COLUMNS, METADATA_COLUMNS, Store

Connection = duckdb.DuckDBPyConnection


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
IMAGE_COLUMNS = (
    "session_id",
    "filename",
    "seed",
    "prompt",
    "negative_prompt",
    "applied_variations",
    "on_disk",
    "file_mtime",
    "file_size",
)
VARIATION_COLUMNS = ("session_id", "placeholder", "value", "used", "images")
_IMAGE_TYPES = {"seed": "BIGINT", "on_disk": "BOOLEAN", "file_size": "BIGINT"}
_VARIATION_TYPES = {"used": "BOOLEAN", "images": "INTEGER"}
DETAIL_TABLES = ("image_rows", "variations", "image_counts")
USER_RELATIONS = (
    "session_stats",
    "session_metadata",
    "session_state",
    "sessions",
    *DETAIL_TABLES,
    "image_metadata",
    "images",
)
"""Every relation of the mirror, as users' SQL names them."""
_DEFAULT_SCHEMA = "memory.main"
_IMAGE_METADATA_TYPES = {"stars": "INTEGER", "tags": "VARCHAR[]"}

_IMAGES_VIEW = """
CREATE OR REPLACE VIEW images AS
SELECT i.*, m.rating, m.stars, COALESCE(m.tags, []::VARCHAR[]) AS image_tags, m.note AS image_note
FROM image_rows i LEFT JOIN image_metadata m USING (session_id, filename)
"""
"""Each image with its marks: what users query, and what ``kit.images()`` reads."""

_SESSIONS_VIEW = """
CREATE OR REPLACE VIEW sessions AS
SELECT
    s.*,
    st.is_dryrun,
    st.missing_since,
    st.missing_since IS NOT NULL AS is_missing,
    st.placeholders,
    st.variations_summary,
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
JOIN session_state st USING (session_id)
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

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.RLock()
        self.con = duckdb.connect(config={"enable_external_access": False})
        # A compressed in-memory catalog: at a million image rows the mirror
        # holds a third less once checkpointed (prompts repeat within a session).
        self.con.execute("ATTACH ':memory:' AS mirror (COMPRESS)")
        self.con.execute("USE mirror")
        # hand freed memory back to the system soon: loading a million image
        # rows otherwise leaves the process holding twice what the data needs
        self.con.execute("SET allocator_flush_threshold = '8MB'")
        self.con.execute("SET allocator_bulk_deallocation_flush_threshold = '8MB'")
        self._create_tables()
        self._details_loaded = False
        self._marked_values_ready = False
        self._rows: pd.DataFrame | None = None
        self.reload()

    def close(self) -> None:
        self.con.close()

    def _create_tables(self) -> None:
        self._create("session_stats", STATS_COLUMNS, _STATS_TYPES)
        self._create("session_metadata", METADATA_COLUMNS, {**_METADATA_TYPES, "tags": "VARCHAR[]"})
        self._create("image_rows", IMAGE_COLUMNS, _IMAGE_TYPES)
        self._create("image_metadata", IMAGE_METADATA_COLUMNS, _IMAGE_METADATA_TYPES)
        self.con.execute(
            "CREATE TABLE marked_values (session_id VARCHAR, filename VARCHAR, "
            "placeholder VARCHAR, value VARCHAR, rating VARCHAR, stars INTEGER)"
        )
        self.con.execute(_IMAGES_VIEW)
        self._create("variations", VARIATION_COLUMNS, _VARIATION_TYPES)
        self.con.execute(
            "CREATE TABLE image_counts (session_id VARCHAR, seeds INTEGER, prompts INTEGER)"
        )
        self.con.execute(
            "CREATE TABLE session_state (session_id VARCHAR, is_dryrun BOOLEAN, "
            "missing_since VARCHAR, placeholders MAP(VARCHAR, INTEGER), "
            "variations_summary MAP(VARCHAR, VARCHAR[]), model VARCHAR)"
        )
        self.con.execute(_MODEL_NAME_MACRO)
        self.con.execute(_JSON_INTEGER_MACRO)
        self.con.execute(_SESSIONS_VIEW)
        self._expose_in_default_schema()

    def _expose_in_default_schema(self) -> None:
        """Make every relation and macro reachable from a new cursor without ``USE``.

        A cursor (jupysql's ``%sql`` on :attr:`SessionKit.duckdb`) starts in
        DuckDB's default catalog, not in the compressed one the data lives in:
        a view of the same name there points at each relation.
        """
        for name in USER_RELATIONS:
            self.con.execute(
                f"CREATE VIEW {_DEFAULT_SCHEMA}.{name} AS SELECT * FROM mirror.main.{name}"
            )
        for macro in (_MODEL_NAME_MACRO, _JSON_INTEGER_MACRO):
            self.con.execute(macro.replace("CREATE MACRO ", f"CREATE MACRO {_DEFAULT_SCHEMA}."))

    def _create(self, table: str, columns: Sequence[str], types: dict[str, str]) -> None:
        body = ", ".join(f"{name} {types.get(name, 'VARCHAR')}" for name in columns)
        self.con.execute(f"CREATE TABLE {table} ({body})")

    # -- loading -----------------------------------------------------------

    def reload(self) -> None:
        """Rebuild the session-level relations (cheap: one row per session)."""
        with self._lock:
            self._rows = None
            for table in ("session_stats", "session_state"):
                self.con.execute(f"DELETE FROM {table}")
            self._copy_sessions("", [])
            self._replace_metadata(self._store_rows("session_metadata", METADATA_COLUMNS))
            self.reload_image_metadata()

    def refresh_sessions(self, session_ids: Iterable[str]) -> None:
        """Bring the mirror up to date after an index that changed ``session_ids``."""
        ids = list(dict.fromkeys(session_ids))
        with self._lock:
            self._rows = None
            known = self.con.execute("SELECT count(*) FROM session_stats").fetchone()
            if len(ids) * _RELOAD_SHARE >= (known[0] if known else 0):
                self.reload()
            else:  # a rescan changes few sessions: copy only theirs (and all metadata)
                self._refresh_stats(ids)
                self._replace_metadata(self._store_rows("session_metadata", METADATA_COLUMNS))
            if self._details_loaded and ids:
                self._replace_details(ids)

    def catch_up(self) -> None:
        """Take in what another process committed: its index, its metadata and image marks.

        The sessions whose stats changed are found by comparing one stamp per
        session; metadata is reloaded whole (one row per edited session).
        """
        with self._lock:
            mirrored = self.con.execute(
                "SELECT s.session_id, s.stats_computed_at, st.missing_since "
                "FROM session_stats s JOIN session_state st USING (session_id)"
            ).fetchall()
            changed = {row[0] for row in self._store.stats_stamps() ^ set(mirrored)}
            if changed:
                self.refresh_sessions(changed)  # metadata too
            else:
                self._rows = None
                self._replace_metadata(self._store_rows("session_metadata", METADATA_COLUMNS))
            self.reload_image_metadata()  # another process may have marked images

    def _refresh_stats(self, session_ids: list[str]) -> None:
        for start in range(0, len(session_ids), _DETAIL_BATCH):
            ids = session_ids[start : start + _DETAIL_BATCH]
            where = f"WHERE session_id IN ({', '.join('?' * len(ids))})"
            for table in ("session_stats", "session_state"):
                self.con.execute(f"DELETE FROM {table} {where}", ids)
            self._copy_sessions(where, ids)

    def refresh_metadata(self, session_id: str) -> None:
        """Copy one session's metadata row after a write."""
        with self._lock:
            if self._rows is not None:
                self._rows = self._rows.drop(index=session_id, errors="ignore")
            self.con.execute("DELETE FROM session_metadata WHERE session_id = ?", [session_id])
            rows = self._store.rows(
                f"SELECT {', '.join(METADATA_COLUMNS)} FROM session_metadata WHERE session_id = ?",
                (session_id,),
            )
            self._insert_metadata(rows)

    def reload_image_metadata(self) -> None:
        """Copy every image's marks again (after a write to many sessions' images)."""
        with self._lock:
            self.con.execute("DELETE FROM image_metadata")
            self._insert_image_metadata(self._store.image_metadata_rows())
            self._marked_values_ready = False

    def refresh_image_metadata(self, session_id: str, filenames: Sequence[str]) -> None:
        """Copy the marks of some images of one session after a write (only theirs)."""
        names = list(filenames)
        with self._lock:
            self.con.execute(
                "DELETE FROM image_metadata WHERE session_id = ? "
                "AND filename IN (SELECT unnest(?::VARCHAR[]))",
                [session_id, names],
            )
            self._insert_image_metadata(self._store.image_metadata_rows(session_id, names))
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
            self.ensure_details()
            if self._marked_values_ready:
                return
            self.con.execute("DELETE FROM marked_values")
            self.con.execute(_INSERT_MARKED_VALUES.format(scope=""))
            self._marked_values_ready = True

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
        self._append(
            "image_metadata",
            _frame(rows, IMAGE_METADATA_COLUMNS),
            f"SELECT {_with_tag_list(IMAGE_METADATA_COLUMNS)} FROM frame",
        )

    def ensure_details(self) -> None:
        """Load ``images`` and ``variations`` the first time a query needs them."""
        with self._lock:
            if self._details_loaded:
                return
            for table in DETAIL_TABLES:
                self.con.execute(f"DELETE FROM {table}")
            self._load_details("", [])
            self.con.execute("CHECKPOINT")  # compresses what was just loaded
            self._details_loaded = True

    def _replace_details(self, session_ids: list[str]) -> None:
        self._marked_values_ready = False
        for start in range(0, len(session_ids), _DETAIL_BATCH):
            ids = session_ids[start : start + _DETAIL_BATCH]
            marks = ", ".join("?" * len(ids))
            for table in DETAIL_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", ids)
            self._load_details(f"WHERE session_id IN ({marks})", ids)

    def _load_details(self, where: str, params: list[str]) -> None:
        """Fill ``images`` and ``variations`` for the sessions ``where`` selects, in batches."""
        batches = self._store.batches(
            "SELECT s.session_id, s.session_path, s.stats_source <> 'manifest', "
            "s.resolved_prompt, s.negative_prompt, s.seed_base, f.files "
            f"FROM sessionkit_stats s LEFT JOIN sessionkit_files f USING (session_id) {where} "
            # in id order: each row group of the image rows then holds a narrow range of
            # sessions, and its min/max lets kit.images(session_id) skip all the others
            "ORDER BY s.session_id",
            params,
            _DETAIL_BATCH,
        )
        for number, rows in enumerate(batches, start=1):
            self._unpack(rows)
            if number % _CHECKPOINT_EVERY == 0:
                self.con.execute("CHECKPOINT")  # compress as we go, not all at the end

    def _unpack(self, rows: list[tuple[Any, ...]]) -> None:
        """Unpack one batch of sessions; a session DuckDB cannot read is retried on its own.

        Manifests checked by msgspec are nearly always readable by DuckDB
        too; the exceptions (a lone surrogate escape) are read again the
        tolerant way, and failing that give their image files only.
        """
        details = [_details(row[1]) for row in rows]
        try:
            self._unpack_batch(rows, details)
        except duckdb.Error:
            for row, found in zip(rows, details, strict=True):
                self._unpack_alone(row, found)

    def _unpack_alone(self, row: tuple[Any, ...], found: Details) -> None:
        """One session: its text, then its tolerant rewrite, then its files alone.

        The last attempt is not guarded: if even that fails, the fault is in
        the SQL, not in the manifest, and must not be hidden.
        """
        try:
            self._unpack_batch([row], [found])
            return
        except duckdb.Error:
            pass
        try:
            self._unpack_batch([row], [_details(row[1], tolerant=True)])
            return
        except duckdb.Error:
            pass
        self._unpack_batch([row], [Details()])

    def _unpack_batch(self, rows: list[tuple[Any, ...]], details: list[Details]) -> None:
        """Insert the batch's image and variation rows, all of them or none."""
        frame = _frame(
            [
                (row[0], d.images, d.variations, *row[2:])
                for row, d in zip(rows, details, strict=True)
            ],
            _BATCH_COLUMNS,
        )
        self.con.register("batch", frame)
        self.con.execute("BEGIN")
        try:
            self.con.execute(_LISTED_IMAGES)
            self.con.execute(_BATCH_IMAGES)
            self.con.execute("INSERT INTO image_rows SELECT * FROM batch_images")
            # distinct seeds and prompts per session, for seed-sweep summaries
            # without aggregating a million image rows on every call (nor once
            # at the end: DISTINCT over every prompt would double the memory)
            self.con.execute(
                "INSERT INTO image_counts SELECT session_id, count(DISTINCT seed), "
                "count(DISTINCT prompt) FROM batch_images GROUP BY session_id"
            )
            self.con.execute(_INSERT_VARIATIONS)
            self.con.execute("COMMIT")
        except duckdb.Error:
            self.con.execute("ROLLBACK")
            raise
        finally:
            for table in ("listed", "batch_images"):
                self.con.execute(f"DROP TABLE IF EXISTS temp.{table}")
            self.con.unregister("batch")

    def _copy_sessions(self, where: str, params: list[str]) -> None:
        """Copy SQLite's ``sessionkit_stats`` rows into ``session_stats`` and ``session_state``.

        One read of SQLite per batch feeds both tables.
        """
        for rows in self._store.batches(
            f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessionkit_stats {where}",
            params,
            _STATS_BATCH,
        ):
            self.con.register("frame", _frame(rows, _SESSION_COLUMNS))
            try:
                self.con.execute(
                    f"INSERT INTO session_stats SELECT {', '.join(STATS_COLUMNS)} FROM frame"
                )
                self.con.execute(_INSERT_STATE)
            finally:
                self.con.unregister("frame")

    def _replace_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        self.con.execute("DELETE FROM session_metadata")
        self._insert_metadata(rows)

    def _insert_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert metadata rows, turning the JSON ``tags`` text into a list."""
        self._append(
            "session_metadata",
            _frame(rows, METADATA_COLUMNS),
            f"SELECT {_with_tag_list(METADATA_COLUMNS)} FROM frame",
        )

    def _store_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._store.rows(f"SELECT {', '.join(columns)} FROM {table}")

    def _append(self, table: str, frame: pd.DataFrame, select: str) -> None:
        if frame.empty:
            return
        self.con.register("frame", frame)
        try:
            self.con.execute(f"INSERT INTO {table} {select}")
        finally:
            self.con.unregister("frame")

    # -- queries -----------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[Any] | None = None, *, details: bool = False
    ) -> pd.DataFrame:
        """Run one of sessionkit's own queries; ``details`` when it reads images or variations."""
        with self._lock:
            if details:
                self.ensure_details()
            try:
                return self.con.execute(sql, params or []).df()
            except duckdb.Error as exc:
                raise QueryError(str(exc).strip()) from None

    def user_query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a user's ad hoc SQL: queries only, detail tables loaded if it names them.

        A ``DELETE`` or ``DROP`` would not reach ``sessions.db`` anyway (no file
        access), but it would leave this kit answering from a damaged copy.
        """
        _check_read_only(sql)
        return self.query(sql, params, details=_mentions_details(sql))

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
            cached = self._rows
            missing = [i for i in ids if cached is None or i not in cached.index]
            if cached is None or missing:
                fresh = self.con.execute(
                    "SELECT * FROM sessions WHERE session_id IN (SELECT unnest(?::VARCHAR[]))",
                    [missing],
                ).df()
                fresh = fresh.set_index("session_id", drop=False)
                cached = fresh if cached is None or cached.empty else pd.concat([cached, fresh])
                self._rows = cached
            return cached.loc[ids].reset_index(drop=True)

    def column(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        """The first column of a query's rows, as a list (no DataFrame)."""
        with self._lock:
            try:
                return [row[0] for row in self.con.execute(sql, params or []).fetchall()]
            except duckdb.Error as exc:
                raise QueryError(str(exc).strip()) from None

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self._lock:
            row = self.con.execute(sql, params or []).fetchone()
            return row[0] if row else None


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
_CHECKPOINT_EVERY = 4
"""Detail batches between checkpoints while loading (each compresses what came before)."""
_DETAIL_BATCH = 256
"""Sessions unpacked per step: bounds the JSON text held in Python at once."""
_SESSION_COLUMNS = (*STATS_COLUMNS, "is_dryrun", "missing_since")
_INSERT_STATE = """
INSERT INTO session_state
SELECT session_id, is_dryrun::BOOLEAN, missing_since,
       TRY_CAST(json_transform(placeholders_json, '"MAP(VARCHAR, INTEGER)"')
                AS MAP(VARCHAR, INTEGER)),
       TRY_CAST(json_transform(variations_summary_json, '"MAP(VARCHAR, VARCHAR[])"')
                AS MAP(VARCHAR, VARCHAR[])),
       model_name(sd_model)
FROM frame
"""

_BATCH_COLUMNS = (
    "session_id",
    "images",
    "variations",
    "from_images",
    "info_prompt",
    "info_negative",
    "info_seed",
    "files",
)
"""A batch of sessions to unpack: the manifest's JSON, whether the stats came
from the images (no usable manifest at the last scan: the first image's
infotext then gives its prompt), and the files the scan found."""

_JSON_INTEGER_MACRO = """
CREATE MACRO json_integer(j) AS CASE json_type(j)
    WHEN 'BIGINT' THEN TRY_CAST(j AS BIGINT)
    WHEN 'UBIGINT' THEN TRY_CAST(j AS BIGINT)
    WHEN 'DOUBLE' THEN CASE WHEN j::DOUBLE = trunc(j::DOUBLE) AND abs(j::DOUBLE) < 2.0 ** 63
                            THEN TRY_CAST(j::DOUBLE AS BIGINT) END
    WHEN 'VARCHAR' THEN CASE WHEN regexp_full_match(trim(j ->> '$'), '[+-]?[0-9]+')
                             THEN TRY_CAST(trim(j ->> '$') AS BIGINT) END
END
"""
"""``json_integer(j)``: an integer the way the manifest reader reads one (``as_int``):
integral numbers and numeric text within 64 bits; anything else is NULL."""

_LISTED_IMAGES = """
CREATE TEMP TABLE listed AS
SELECT session_id, pos, i.filename AS filename, json_integer(i.seed) AS seed,
       i.prompt AS prompt, i.negative_prompt AS negative_prompt,
       CASE WHEN json_type(i.applied_variations) = 'OBJECT'
            AND i.applied_variations::VARCHAR <> '{}' THEN i.applied_variations END AS applied
FROM (
    SELECT session_id, unnest(entries) AS i, generate_subscripts(entries, 1) AS pos
    FROM (SELECT session_id, json_transform(images, '[{"filename": "VARCHAR", "seed": "JSON",
              "prompt": "VARCHAR", "negative_prompt": "VARCHAR",
              "applied_variations": "JSON"}]') AS entries
          FROM batch)
)
"""
"""Every entry of the batch's manifests' ``images`` lists, in order."""

_BATCH_IMAGES = r"""
CREATE TEMP TABLE batch_images AS
WITH disk AS (
    SELECT session_id, unnest(f.n) AS filename, unnest(f.t) AS mtime, unnest(f.s) AS size
    FROM (SELECT session_id, json_transform(files, '{"n": ["VARCHAR"], "t": ["DOUBLE"],
              "s": ["BIGINT"]}') AS f
          FROM batch WHERE files IS NOT NULL)
),
first_file AS (SELECT session_id, min(filename) AS filename FROM disk GROUP BY session_id),
kept AS (
    SELECT * FROM listed WHERE filename <> ''
    QUALIFY row_number() OVER (PARTITION BY session_id, filename ORDER BY pos) = 1
)
SELECT session_id, filename,
       CASE WHEN k.pos IS NOT NULL THEN k.seed
            WHEN b.from_images AND filename = ff.filename AND b.info_seed IS NOT NULL
                 THEN b.info_seed
            ELSE TRY_CAST(regexp_extract(filename, '_seed-(-?\d+)', 1) AS BIGINT) END AS seed,
       CASE WHEN k.pos IS NOT NULL THEN k.prompt
            WHEN b.from_images AND filename = ff.filename THEN b.info_prompt END AS prompt,
       CASE WHEN k.pos IS NOT NULL THEN k.negative_prompt
            WHEN b.from_images AND filename = ff.filename THEN b.info_negative END
           AS negative_prompt,
       k.applied::VARCHAR AS applied_variations,
       d.mtime IS NOT NULL AS on_disk,
       strftime(to_timestamp(d.mtime)::TIMESTAMP, '%Y-%m-%dT%H:%M:%S') AS file_mtime,
       d.size AS file_size
FROM kept k
FULL JOIN disk d USING (session_id, filename)
JOIN batch b USING (session_id)
LEFT JOIN first_file ff USING (session_id)
ORDER BY session_id, k.pos NULLS LAST, filename
"""
"""One row per image listed in the manifest or found on disk (docs/data-model.md, ``images``).

A manifest entry gives seed, prompts and applied variations (the first entry
of a file name wins); a file the manifest does not list gets the seed in its
name, and, when the session had no usable manifest, the first image by name
gets the prompts and seed its infotext gave the stats. ``file_mtime`` is
local time, as the stats' image times are."""

_INSERT_VARIATIONS = """
INSERT INTO variations
WITH placeholders AS (
    SELECT session_id, p.key AS placeholder,
           json_transform(p.value, '{"used": ["VARCHAR"], "available": ["VARCHAR"]}') AS v
    FROM (SELECT session_id, unnest(map_entries(
              json_transform(variations, '"MAP(VARCHAR, JSON)"'))) AS p FROM batch)
),
listed_values AS (
    SELECT session_id, placeholder, value, bool_or(used) AS used
    FROM (SELECT session_id, placeholder, unnest(v.used) AS value, true AS used FROM placeholders
          UNION ALL
          SELECT session_id, placeholder, unnest(v.available), false FROM placeholders)
    WHERE value IS NOT NULL
    GROUP BY ALL
),
applied AS (
    SELECT session_id, a.key AS placeholder, a.value AS value, count(*) AS images
    FROM (SELECT session_id, unnest(map_entries(
              json_transform(applied, '"MAP(VARCHAR, VARCHAR)"'))) AS a
          FROM listed WHERE applied IS NOT NULL)
    WHERE a.value IS NOT NULL
    GROUP BY ALL
)
SELECT session_id, placeholder, value, coalesce(l.used, true), coalesce(a.images, 0)
FROM listed_values l FULL JOIN applied a USING (session_id, placeholder, value)
ORDER BY session_id, placeholder, value
"""
"""One row per value a placeholder lists (``used`` or only ``available``) or an
image applied (counted as used), with how many images applied it."""


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


def _mentions_details(sql: str) -> bool:
    """Whether ``sql`` reads ``images`` or ``variations`` (so they must be loaded)."""
    try:
        names = duckdb.get_table_names(sql)
    except duckdb.Error:
        return True  # e.g. a query with parameters: load everything, to be safe
    return any(name.split(".")[-1].lower() in (*DETAIL_TABLES, "images") for name in names)


def _with_tag_list(columns: Sequence[str]) -> str:
    """A select list of ``columns`` with the JSON ``tags`` text as a list (``[]`` if unreadable)."""
    return ", ".join(
        "COALESCE(TRY_CAST(TRY_CAST(tags AS JSON) AS VARCHAR[]), []::VARCHAR[])"
        if name == "tags"
        else name
        for name in columns
    )


def _details(session_path: str, *, tolerant: bool = False) -> Details:
    return read_details(Path(fs_path(session_path)) / MANIFEST, tolerant=tolerant)


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
