"""The DuckDB read model of ``sessions.db`` (data-model.md §3).

DuckDB answers filters, aggregations and users' ad hoc SQL. It is an
in-memory copy, rebuilt from the store through pandas (no DuckDB extension
can be installed offline, so DuckDB never opens the SQLite file itself), and
it runs with external access disabled: SQL typed by a user can read the
mirror but cannot attach, read or write any file, ``sessions.db`` included.

Relations:

``session_stats``
    exactly the data-model §2.1 columns (plus ``status``, ``stats_source``,
    ``stats_error``).
``session_metadata``
    exactly the §2.2 columns, ``tags`` as ``VARCHAR[]``.
``session_state``
    sessionkit's bookkeeping: ``is_dryrun``, ``missing_since``, the parsed
    ``placeholders`` / ``variations_summary`` maps, and ``model``
    (``model_name(sd_model)``, computed once rather than on every query).
``sessions`` (view)
    stats joined with metadata and state; sessions without metadata get the
    defaults.
``model_name(sd_model)`` (macro)
    a checkpoint's name without extension and hash, for grouping.
``images``, ``variations``
    one row per image / per (session, placeholder, value). These are the
    big ones (a million rows at scale), so they are loaded on first use and
    kept current incrementally after that.
``image_counts``
    distinct seeds and prompts per session, kept with ``images``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pandas as pd

from sessionkit.errors import SessionKitError
from sessionkit.stats import STATS_COLUMNS
from sessionkit.store import IMAGE_COLUMNS, METADATA_COLUMNS, VARIATION_COLUMNS, Store

Connection = duckdb.DuckDBPyConnection


class QueryError(SessionKitError):
    """DuckDB refused a query; the message is DuckDB's own, which names the problem."""


_STATS_TYPES = {
    "seed_base": "BIGINT",
    "width": "INTEGER",
    "height": "INTEGER",
    "steps": "INTEGER",
    "cfg_scale": "DOUBLE",
    "images_expected": "INTEGER",
    "images_actual": "INTEGER",
    "completion_percentage": "DOUBLE",
    "is_seed_sweep": "INTEGER",
    "stats_version": "INTEGER",
}
_METADATA_TYPES = {"is_test": "INTEGER", "is_complete": "INTEGER", "is_favorite": "INTEGER"}
_IMAGE_TYPES = {"seed": "BIGINT", "on_disk": "BOOLEAN", "file_size": "BIGINT"}
_VARIATION_TYPES = {"used": "BOOLEAN", "images": "INTEGER"}
DETAIL_TABLES = ("images", "variations", "image_counts")

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
        self._rows: pd.DataFrame | None = None
        self.reload()

    def close(self) -> None:
        self.con.close()

    def _create_tables(self) -> None:
        self._create("session_stats", STATS_COLUMNS, _STATS_TYPES)
        self._create("session_metadata", METADATA_COLUMNS, {**_METADATA_TYPES, "tags": "VARCHAR[]"})
        self._create("images", IMAGE_COLUMNS, _IMAGE_TYPES)
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
        self.con.execute(_SESSIONS_VIEW)

    def _create(self, table: str, columns: Sequence[str], types: dict[str, str]) -> None:
        body = ", ".join(f"{name} {types.get(name, 'VARCHAR')}" for name in columns)
        self.con.execute(f"CREATE TABLE {table} ({body})")

    # -- loading -----------------------------------------------------------

    def reload(self) -> None:
        """Rebuild the session-level relations (cheap: one row per session)."""
        with self._lock:
            self._rows = None
            self.con.execute("DELETE FROM session_stats")
            for rows in self._store.batches(
                f"SELECT {', '.join(STATS_COLUMNS)} FROM session_stats", (), _STATS_BATCH
            ):
                self._insert("session_stats", STATS_COLUMNS, rows)
            self._reload_state()
            self._replace_metadata(self._store_rows("session_metadata", METADATA_COLUMNS))

    def refresh_sessions(self, session_ids: Iterable[str]) -> None:
        """Bring the mirror up to date after an index that changed ``session_ids``."""
        ids = list(dict.fromkeys(session_ids))
        with self._lock:
            self._rows = None
            if len(ids) > _INCREMENTAL_LIMIT:
                self.reload()
            else:  # a rescan changes few sessions: copy only theirs (and all metadata)
                self._refresh_stats(ids)
                self._replace_metadata(self._store_rows("session_metadata", METADATA_COLUMNS))
            if self._details_loaded and ids:
                self._replace_details(ids)

    def _refresh_stats(self, session_ids: list[str]) -> None:
        for start in range(0, len(session_ids), _DETAIL_BATCH):
            ids = session_ids[start : start + _DETAIL_BATCH]
            where = f"WHERE session_id IN ({', '.join('?' * len(ids))})"
            for table in ("session_stats", "session_state"):
                self.con.execute(f"DELETE FROM {table} {where}", ids)
            rows = self._store.rows(
                f"SELECT {', '.join(STATS_COLUMNS)} FROM session_stats {where}", ids
            )
            self._insert("session_stats", STATS_COLUMNS, rows)
            self._insert_state(where, ids)

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
        for start in range(0, len(session_ids), _DETAIL_BATCH):
            ids = session_ids[start : start + _DETAIL_BATCH]
            marks = ", ".join("?" * len(ids))
            for table in DETAIL_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE session_id IN ({marks})", ids)
            self._load_details(f"WHERE session_id IN ({marks})", ids)

    def _load_details(self, where: str, params: list[str]) -> None:
        """Unpack ``session_details`` rows into ``images`` and ``variations``, in batches.

        DuckDB parses the JSON arrays itself (``json_transform``), so a
        million image rows never become Python objects.
        """
        batches = self._store.batches(
            f"SELECT session_id, images, variations FROM session_details {where}",
            params,
            _DETAIL_BATCH,
        )
        for number, rows in enumerate(batches, start=1):
            frame = _frame(rows, ("session_id", "images", "variations"))
            self._append("images", frame, _UNPACK_IMAGES)
            self._append("variations", frame, _UNPACK_VARIATIONS)
            if number % _CHECKPOINT_EVERY == 0:
                self.con.execute("CHECKPOINT")  # compress as we go, not all at the end
        # distinct seeds and prompts per session, for seed-sweep summaries without
        # aggregating a million image rows on every call
        self.con.execute(
            "INSERT INTO image_counts SELECT session_id, count(DISTINCT seed), "
            f"count(DISTINCT prompt) FROM images {where} GROUP BY session_id",
            params,
        )

    def _reload_state(self) -> None:
        self.con.execute("DELETE FROM session_state")
        self._insert_state("", [])

    def _insert_state(self, where: str, params: list[str]) -> None:
        for rows in self._store.batches(
            "SELECT session_id, is_dryrun, missing_since, placeholders_json, "
            f"variations_summary_json, sd_model FROM session_stats {where}",
            params,
            _STATS_BATCH,
        ):
            frame = _frame(rows, ("session_id", "is_dryrun", "missing_since", "p", "v", "m"))
            self._append(
                "session_state",
                frame,
                "SELECT session_id, is_dryrun::BOOLEAN, missing_since, "
                "TRY_CAST(json_transform(p, '\"MAP(VARCHAR, INTEGER)\"') "
                "AS MAP(VARCHAR, INTEGER)), "
                "TRY_CAST(json_transform(v, '\"MAP(VARCHAR, VARCHAR[])\"') "
                "AS MAP(VARCHAR, VARCHAR[])), model_name(m) FROM frame",
            )

    def _replace_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        self.con.execute("DELETE FROM session_metadata")
        self._insert_metadata(rows)

    def _insert_metadata(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert metadata rows, turning the JSON ``tags`` text into a list."""
        columns = ", ".join(
            "COALESCE(TRY_CAST(TRY_CAST(tags AS JSON) AS VARCHAR[]), []::VARCHAR[])"
            if name == "tags"
            else name
            for name in METADATA_COLUMNS
        )
        self._append(
            "session_metadata", _frame(rows, METADATA_COLUMNS), f"SELECT {columns} FROM frame"
        )

    def _store_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._store.rows(f"SELECT {', '.join(columns)} FROM {table}")

    def _insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self._append(table, _frame(rows, columns), "SELECT * FROM frame")

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


_INCREMENTAL_LIMIT = 1000
"""Above this many changed sessions, the session-level relations are rebuilt whole."""
_STATS_BATCH = 2000
"""Session rows copied per step: a whole library at once would hold every prompt twice."""
_CHECKPOINT_EVERY = 4
"""Detail batches between checkpoints while loading (each compresses what came before)."""
_DETAIL_BATCH = 256
"""Sessions unpacked per step: bounds the JSON text held in Python at once."""
_UNPACK_IMAGES = """
SELECT session_id, r[1], r[2]::BIGINT, r[3], r[4], r[5], r[6]::INTEGER::BOOLEAN, r[7],
       r[8]::BIGINT
FROM (SELECT session_id, unnest(json_transform(images, '[["VARCHAR"]]')) AS r FROM frame)
"""
_UNPACK_VARIATIONS = """
SELECT session_id, r[1], r[2], r[3]::INTEGER::BOOLEAN, r[4]::INTEGER
FROM (SELECT session_id, unnest(json_transform(variations, '[["VARCHAR"]]')) AS r FROM frame)
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


def _mentions_details(sql: str) -> bool:
    """Whether ``sql`` reads ``images`` or ``variations`` (so they must be loaded)."""
    try:
        names = duckdb.get_table_names(sql)
    except duckdb.Error:
        return True  # e.g. a query with parameters: load everything, to be safe
    return any(name.split(".")[-1].lower() in DETAIL_TABLES for name in names)


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
