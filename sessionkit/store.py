"""SQLite ``sessions.db``: schema, migrations, stats writes and metadata writes.

SQLite is the system of record (docs/data-model.md, "What is stored"). Two kinds of
rows live here and never mix:

* **stats** (``sessionkit_stats``, and ``sessionkit_files`` with its view
  ``sessionkit_images``): derived from files, overwritten by scans, always
  recomputable;
* **metadata** (``session_metadata`` per session, ``image_metadata`` per
  image): typed by the user. Only :meth:`Store.update_metadata`,
  :meth:`Store.update_image_metadata` and :meth:`Store.update_images_metadata`
  write it; no scan, refresh or migration changes or drops a row of it (an
  image whose file vanished keeps its marks).

The file may be shared with the sd-generator WebUI, which keeps its own
``session_stats`` and ``schema_version`` tables and shares
``session_metadata``. sessionkit's tables carry ``sessionkit_`` names; it
never creates, alters, indexes, drops or writes the WebUI's two tables, and
tracks its own schema in ``sessionkit_schema``.

Every connection runs in WAL mode with a busy timeout, so a notebook and the
WebUI can share the file; writes that still meet a lock are retried, then
refused with :class:`DatabaseLocked`.
"""

from __future__ import annotations

import numbers
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

from sessionkit.detailfiles import Part
from sessionkit.errors import SessionKitError
from sessionkit.stats import STATS_COLUMNS, STATS_VERSION, SessionRecord

T = TypeVar("T")

BUSY_TIMEOUT_S = 5.0
LOCK_RETRIES = 3
NOTE_MAX_CHARS = 500
TAG_MAX_CHARS = 50
_TAG = re.compile(r"[\w-]+")
RATINGS = ("like", "dislike")
FLAG_FIELDS = ("is_test", "is_complete", "is_favorite")
METADATA_FIELDS = (*FLAG_FIELDS, "user_rating", "user_note", "tags", "auto_metadata")
METADATA_COLUMNS = (
    "session_id",
    "session_path",
    *METADATA_FIELDS,
    "created_at",
    "updated_at",
)
METADATA_DEFAULTS: Mapping[str, Any] = {
    "is_test": 0,
    "is_complete": 1,
    "is_favorite": 0,
    "user_rating": None,
    "user_note": None,
    "tags": "[]",
    "auto_metadata": None,
}
IMAGE_METADATA_FIELDS = ("rating", "stars", "tags", "note")
IMAGE_METADATA_COLUMNS = (
    "session_id",
    "filename",
    *IMAGE_METADATA_FIELDS,
    "created_at",
    "updated_at",
)
STARS_RANGE = range(1, 6)
STATE_COLUMNS = ("signature", "is_dryrun", "missing_since")
"""Columns sessionkit keeps after the data-model ones in ``sessionkit_stats``."""
_IN_BATCH = 500
"""Ids per ``IN (...)`` list: well under SQLite's limit on parameters."""


class DatabaseLocked(SessionKitError):
    """Another program held ``sessions.db`` locked for longer than we waited."""


class StoreUnavailable(SessionKitError):
    """``sessions.db`` cannot be opened or created (not a database, no permission)."""


class InvalidMetadata(SessionKitError):
    """A metadata value was refused; ``field`` names it and the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


NEVER_EDITED = "never edited"
"""An ``expected_updated_at`` for a session that had no metadata row when read:
a row another program has created since is then a conflict, not overwritten."""


class MetadataConflict(SessionKitError):
    """The row changed since the caller read it; nothing was written.

    ``session_id`` names what was edited: a session, or for an image
    ``session_id/filename``.
    """

    def __init__(self, session_id: str, expected: str | None, found: str | None) -> None:
        now = f"last saved at {found}" if found else "its metadata was deleted"
        super().__init__(
            f"{session_id} was edited elsewhere since you read it ({now}); reload it, "
            "or save again without expected_updated_at to overwrite"
        )
        self.session_id = session_id
        self.expected = expected
        self.found = found


_STATS_DDL = """
CREATE TABLE IF NOT EXISTS sessionkit_stats (
    session_id TEXT PRIMARY KEY,
    session_path TEXT NOT NULL,
    sd_model TEXT,
    template_version TEXT,
    generation_mode TEXT,
    seed_mode TEXT,
    seed_base INTEGER,
    resolved_prompt TEXT,
    negative_prompt TEXT,
    width INTEGER,
    height INTEGER,
    steps INTEGER,
    cfg_scale REAL,
    sampler_name TEXT,
    images_expected INTEGER,
    images_actual INTEGER,
    completion_percentage REAL,
    is_seed_sweep INTEGER,
    placeholders_json TEXT,
    variations_summary_json TEXT,
    session_created_at TEXT,
    manifest_generated_at TEXT,
    first_image_created_at TEXT,
    last_image_created_at TEXT,
    stats_computed_at TEXT NOT NULL,
    stats_version INTEGER,
    status TEXT,
    stats_source TEXT,
    stats_error TEXT,
    signature TEXT,
    is_dryrun INTEGER NOT NULL DEFAULT 0,
    missing_since TEXT
);
"""

_STATS_INDEXES_DDL = """
CREATE INDEX IF NOT EXISTS idx_sessionkit_stats_sd_model ON sessionkit_stats(sd_model);
CREATE INDEX IF NOT EXISTS idx_sessionkit_stats_is_seed_sweep ON sessionkit_stats(is_seed_sweep);
CREATE INDEX IF NOT EXISTS idx_sessionkit_stats_completion
    ON sessionkit_stats(completion_percentage);
CREATE INDEX IF NOT EXISTS idx_sessionkit_stats_created_at
    ON sessionkit_stats(session_created_at DESC);
"""

# Each session's image files (names, mtimes, sizes) as one JSON object: one
# write per session. What the manifest says of each image (prompt, seed,
# applied variations) is not copied here: at 10k sessions that was 650 MB,
# whose writing alone cost three quarters of the time an index may take.
# The mirror reads it from the manifests (docs/data-model.md, ``images``);
# the view keeps one row per image file for SQL users of this file.
_FILES_DDL = """
CREATE TABLE IF NOT EXISTS sessionkit_files (
    session_id TEXT PRIMARY KEY,
    files TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS sessionkit_images AS
SELECT f.session_id,
       n.value AS filename,
       datetime(f.files ->> ('$.t[' || n.key || ']'), 'unixepoch', 'localtime') AS file_mtime,
       f.files ->> ('$.s[' || n.key || ']') AS file_size
FROM sessionkit_files f, json_each(f.files, '$.n') n;
"""

# Which part file (sessionkit.detailfiles) holds each session's current
# ``images`` / ``variations`` rows, and each part's format and file sizes:
# the files are trusted only as far as these rows say.
_PARTS_DDL = """
CREATE TABLE IF NOT EXISTS sessionkit_details (
    session_id TEXT PRIMARY KEY,
    part TEXT NOT NULL,
    seeds INTEGER NOT NULL,
    prompts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessionkit_detail_parts (
    part TEXT PRIMARY KEY,
    format INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    images_bytes INTEGER NOT NULL,
    variations_bytes INTEGER NOT NULL
);
"""

_SETTINGS_DDL = (
    "CREATE TABLE IF NOT EXISTS sessionkit_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
)

# The user's marks on single images (docs/data-model.md, ``image_metadata``).
# User data like session_metadata: no later step alters or drops it.
_IMAGE_METADATA_DDL = """
CREATE TABLE IF NOT EXISTS image_metadata (
    session_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    rating TEXT,
    stars INTEGER,
    tags TEXT,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (session_id, filename)
)
"""

# The WebUI's own DDL, column for column, so either program can create the table.
_METADATA_DDL = """
CREATE TABLE IF NOT EXISTS session_metadata (
    session_id TEXT PRIMARY KEY,
    session_path TEXT NOT NULL,
    is_test INTEGER DEFAULT 0,
    is_complete INTEGER DEFAULT 1,
    is_favorite INTEGER DEFAULT 0,
    user_rating TEXT,
    user_note TEXT,
    tags TEXT,
    auto_metadata TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step from ``version - 1`` to ``version`` of a database sessionkit already uses."""

    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _current_schema(con: sqlite3.Connection) -> None:
    """Create sessionkit's tables on a file it has never opened (new, or the WebUI's).

    Only ``sessionkit_*`` names and the shared ``session_metadata`` (with the
    WebUI's DDL): the WebUI's ``session_stats`` and ``schema_version`` are
    not sessionkit's to create or touch.
    """
    _run_script(con, _STATS_DDL + _STATS_INDEXES_DDL + _FILES_DDL + _PARTS_DDL)
    con.execute(_SETTINGS_DDL)
    con.execute(_METADATA_DDL)
    con.execute(_IMAGE_METADATA_DDL)


# Version 2: a session's image and variation rows, stored as one row of two
# JSON arrays. Version 3 replaced them by the image files alone. Both steps
# only drop and create derived tables, recomputed by the next scan
# (``STATS_VERSION`` marks every older stats row as out of date).
_DETAILS_DDL = """
DROP TABLE IF EXISTS session_images;
DROP TABLE IF EXISTS session_variations;
CREATE TABLE session_details (
    session_id TEXT PRIMARY KEY,
    images TEXT NOT NULL,
    variations TEXT NOT NULL
);
"""

_FILES_V3_DDL = """
DROP VIEW IF EXISTS session_images;
DROP VIEW IF EXISTS session_variations;
DROP TABLE IF EXISTS session_details;
CREATE TABLE session_files (
    session_id TEXT PRIMARY KEY,
    files TEXT NOT NULL
);
"""


def _packed_details(con: sqlite3.Connection) -> None:
    _run_script(con, _DETAILS_DDL)


def _files_only(con: sqlite3.Connection) -> None:
    _run_script(con, _FILES_V3_DDL)


def _sessionkit_names(con: sqlite3.Connection) -> None:
    """Give sessionkit's tables ``sessionkit_`` names and the WebUI its ``session_stats`` back.

    Earlier versions kept their stats under ``session_stats`` and renamed the
    WebUI's table of that name to ``session_stats_webui``; the WebUI then
    answered 500 on every stats query, or refused to start when its
    migration failed on sessionkit's table (leaving some of its ``idx_stats_*``
    indexes on it). Here sessionkit's tables move to their own names, those
    indexes go, and the WebUI's table gets its name back. No metadata row
    changes; the WebUI's tables are only renamed back, never altered.
    """
    if _is_sessionkit_stats(_columns(con, "session_stats")):
        for (index,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'session_stats' "
            "AND sql IS NOT NULL"
        ).fetchall():
            con.execute(f'DROP INDEX "{index}"')
        con.execute("ALTER TABLE session_stats RENAME TO sessionkit_stats")
    con.execute("DROP VIEW IF EXISTS session_images")
    if _columns(con, "session_files") and not _columns(con, "sessionkit_files"):
        con.execute("ALTER TABLE session_files RENAME TO sessionkit_files")
    _current_schema(con)  # whatever is still missing, and the indexes under their new names
    _give_webui_stats_back(con)


def _give_webui_stats_back(con: sqlite3.Connection) -> None:
    """Rename the first kept ``session_stats_webui*`` copy of the WebUI's layout back.

    Only when no ``session_stats`` exists now (the WebUI may have created a
    new one meanwhile: then both stay as they are). Its indexes moved with it.
    """
    if _columns(con, "session_stats"):
        return
    kept = [
        row[0]
        for row in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND (name = 'session_stats_webui' OR name GLOB 'session_stats_webui_[0-9]*')"
        )
    ]
    kept.sort(key=lambda name: (len(name), name))
    for name in kept:
        if "session_name" in _columns(con, name):
            con.execute(f'ALTER TABLE "{name}" RENAME TO session_stats')
            return


def _detail_parts(con: sqlite3.Connection) -> None:
    """Add the tables recording the Parquet parts (sessions without one are rebuilt when used)."""
    _run_script(con, _PARTS_DDL)


def _is_sessionkit_stats(columns: list[str]) -> bool:
    """Whether a stats table has sessionkit's layout (the WebUI's has no ``session_path``)."""
    return "session_path" in columns


def _image_metadata(con: sqlite3.Connection) -> None:
    """Create the (empty) table of per-image marks."""
    con.execute(_IMAGE_METADATA_DDL)


def _run_script(con: sqlite3.Connection, script: str) -> None:
    """Run DDL statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            con.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "session_details: image and variation rows packed per session", _packed_details),
    Migration(3, "session_files: image files per session; manifests stay the source", _files_only),
    Migration(4, "sessionkit_* table names; the WebUI's session_stats back", _sessionkit_names),
    Migration(5, "image_metadata: the user's marks on single images", _image_metadata),
    Migration(
        6, "sessionkit_details: the Parquet part holding each session's images", _detail_parts
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


class Store:
    """One open ``sessions.db``; safe to share between threads of one process."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.read_only: str | None = None
        """Why this file may not be written (read-only, newer schema), or ``None``."""
        try:
            if self.path.is_file() and not _may_write(self.path):
                self._open_read_only(busy_timeout, None)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._retry(self._configure)
                self._retry(self._migrate)
            except sqlite3.OperationalError as exc:
                if not (_is_read_only_error(exc) and self.path.is_file()):
                    raise
                self._con.close()
                self._open_read_only(busy_timeout, exc)
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {self.path}: {exc.strerror or exc}") from None

    def _open_read_only(self, busy_timeout: float, cause: sqlite3.OperationalError | None) -> None:
        """Open a file this process may not write, for reading only.

        ``mode=ro`` first; where SQLite cannot even make its shared-memory file
        (a read-only folder), ``immutable=1``, which reads without locks.
        """
        for flag in ("mode=ro", "immutable=1"):
            uri = f"{self.path.resolve().as_uri()}?{flag}"
            self._con = sqlite3.connect(
                uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                version = self._schema_version(self._con)
                break
            except sqlite3.OperationalError as exc:
                self._con.close()
                if "no such table" in str(exc):
                    version = 0
                    break
                if flag == "immutable=1":
                    raise
        self.read_only = _read_only_reason(self.path, cause)
        if version < SCHEMA_VERSION:
            self._con.close()
            raise StoreUnavailable(
                f"cannot open {self.path}: its tables need an update this sessionkit makes "
                f"on first open, and {self.read_only}"
            )

    def check_writable(self) -> None:
        """Raise :class:`StoreUnavailable` naming the file and why, if it may not be written."""
        if self.read_only is not None:
            raise StoreUnavailable(f"{self.path}: nothing was written: {self.read_only}")

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # -- connection set-up -------------------------------------------------

    def _configure(self) -> None:
        # 64 KB pages (a new file only; SQLite ignores this for an existing one):
        # a session's stats and file listing are about 8 KB, which with the
        # default 4 KB pages spill into overflow chains. An index of 10k
        # sessions then writes half the CPU time and a 30 % smaller file.
        self._con.execute("PRAGMA page_size=65536")
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")

    def _migrate(self) -> None:
        """Bring the file to :data:`SCHEMA_VERSION` in one transaction.

        A file sessionkit never opened (new, or the WebUI's) gets the current
        schema at once; one an earlier sessionkit wrote goes through the
        :data:`MIGRATIONS` it lacks.
        """
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS sessionkit_schema "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        version = self._schema_version(self._con)
        if version > SCHEMA_VERSION:
            self.read_only = (
                f"it was written by a newer sessionkit (schema version {version}; this one "
                f"knows up to {SCHEMA_VERSION}): upgrade sessionkit to change it"
            )
        if version >= SCHEMA_VERSION:
            return
        with self._transaction() as con:
            version = self._schema_version(con)  # another process may have migrated meanwhile
            if version == 0:
                _current_schema(con)
                steps = [(SCHEMA_VERSION, "sessionkit tables")]
            else:
                pending = [m for m in MIGRATIONS if m.version > version]
                for migration in pending:
                    migration.apply(con)
                steps = [(m.version, m.description) for m in pending]
            con.executemany(
                "INSERT INTO sessionkit_schema VALUES (?, ?, ?)",
                [(number, description, _now()) for number, description in steps],
            )

    @staticmethod
    def _schema_version(con: sqlite3.Connection) -> int:
        return int(
            con.execute("SELECT coalesce(max(version), 0) FROM sessionkit_schema").fetchone()[0]
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

        Every write goes through here: a file that may not be written is
        refused with :class:`StoreUnavailable` before anything is tried, and
        one SQLite finds read-only at the write is refused the same way.
        """
        self.check_writable()
        with self._lock:
            try:
                self._con.execute("BEGIN IMMEDIATE")
                try:
                    yield self._con
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
                self._con.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if not _is_read_only_error(exc):
                    raise
                if self._con.in_transaction:
                    self._con.execute("ROLLBACK")
                self.read_only = _read_only_reason(self.path, exc)
                raise StoreUnavailable(
                    f"{self.path}: nothing was written: {self.read_only}"
                ) from None

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying when SQLite reports a lock, then refuse plainly."""
        for attempt in range(LOCK_RETRIES):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_lock_error(exc):
                    raise
                if attempt + 1 < LOCK_RETRIES:
                    time.sleep(0.05 * (attempt + 1))
        raise DatabaseLocked(
            f"{self.path} is locked by another program; nothing was written. Try again in a moment."
        )

    # -- reads -------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run any read query, for tests and diagnostics.

        sessionkit's own modules use the named reads below instead: SQL on
        these tables is written only in this module (tests/test_layers.py).
        """
        return self._rows(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def _batches(
        self, sql: str, params: Sequence[Any] = (), size: int = 256
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Run a read query and yield its rows ``size`` at a time (big results, bounded memory)."""
        with self._lock:
            cursor = self._con.execute(sql, params)
            try:
                while rows := cursor.fetchmany(size):
                    yield rows
            finally:
                cursor.close()

    def data_version(self) -> int:
        """A number that changes when another connection commits to the file (SQLite's
        ``PRAGMA data_version``; this connection's own commits leave it as it is)."""
        return int(self._rows("PRAGMA data_version")[0][0])

    def stats_stamps(self) -> set[tuple[str, str, str | None]]:
        """``(session_id, stats_computed_at, missing_since)`` per session: what an index changes."""
        rows = self._rows(
            "SELECT session_id, stats_computed_at, missing_since FROM sessionkit_stats"
        )
        return {(row[0], row[1], row[2]) for row in rows}

    def session_ids(self) -> list[str]:
        """Every known session id (for "did you mean" hints)."""
        return [row[0] for row in self._rows("SELECT session_id FROM sessionkit_stats")]

    def stats_batches(
        self, session_ids: Sequence[str] | None = None, size: int = 2000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Stats rows (:data:`STATS_COLUMNS`, then ``is_dryrun``, ``missing_since``), in batches.

        All sessions, or those of ``session_ids``.
        """
        columns = ", ".join((*STATS_COLUMNS, "is_dryrun", "missing_since"))
        if session_ids is None:
            yield from self._batches(f"SELECT {columns} FROM sessionkit_stats", (), size)
            return
        ids = list(session_ids)
        for start in range(0, len(ids), _IN_BATCH):
            chunk = ids[start : start + _IN_BATCH]
            yield from self._batches(
                f"SELECT {columns} FROM sessionkit_stats "
                f"WHERE session_id IN ({', '.join('?' * len(chunk))})",
                chunk,
                size,
            )

    def metadata_rows(self, session_id: str | None = None) -> list[tuple[Any, ...]]:
        """``session_metadata`` rows as stored (:data:`METADATA_COLUMNS`): all, or one session's."""
        select = f"SELECT {', '.join(METADATA_COLUMNS)} FROM session_metadata"
        if session_id is None:
            return self._rows(select)
        return self._rows(f"{select} WHERE session_id = ?", (session_id,))

    def first_image_names(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The first image file by name of each session (for a card's thumbnail).

        From the listing the last scan stored: no folder is read.
        """
        ids = list(session_ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), _IN_BATCH):
            chunk = ids[start : start + _IN_BATCH]
            found.update(
                (row[0], row[1])
                for row in self._rows(
                    "SELECT session_id, (SELECT min(value) FROM json_each(files, '$.n')) "
                    "FROM sessionkit_files "
                    f"WHERE session_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                if row[1] is not None
            )
        return found

    def detail_parts(self) -> list[tuple[str, int, int, int, int]]:
        """Every recorded part: ``(part, format, sessions, images_bytes, variations_bytes)``.

        ``sessions`` is how many sessions it was written with; fewer point to
        it once some of them were indexed again.
        """
        return self._rows(
            "SELECT part, format, sessions, images_bytes, variations_bytes "
            "FROM sessionkit_detail_parts"
        )

    def detail_owners(self) -> list[tuple[str, str, int, int]]:
        """For each session with stored rows: ``(session_id, part, seeds, prompts)``."""
        return self._rows("SELECT session_id, part, seeds, prompts FROM sessionkit_details")

    def sessions_without_details(self) -> list[str]:
        """Sessions whose rows were never stored (a database an older sessionkit indexed)."""
        return [
            row[0]
            for row in self._rows(
                "SELECT session_id FROM sessionkit_stats s WHERE NOT EXISTS "
                "(SELECT 1 FROM sessionkit_details d WHERE d.session_id = s.session_id)"
            )
        ]

    def detail_sources(self, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """What rebuilding a session's rows needs: ``(session_id, session_path,
        stats_source, resolved_prompt, negative_prompt, seed_base, files)``."""
        ids = list(session_ids)
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), _IN_BATCH):
            chunk = ids[start : start + _IN_BATCH]
            found += self._rows(
                "SELECT s.session_id, s.session_path, s.stats_source, s.resolved_prompt, "
                "s.negative_prompt, s.seed_base, f.files FROM sessionkit_stats s "
                "LEFT JOIN sessionkit_files f USING (session_id) "
                f"WHERE s.session_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        return found

    def scan_state(self) -> dict[str, tuple[str | None, int | None, bool, bool]]:
        """``{session_id: (signature, stats_version, is_dryrun, is_missing)}`` for the scanner."""
        rows = self._rows(
            "SELECT session_id, signature, stats_version, is_dryrun, missing_since IS NOT NULL "
            "FROM sessionkit_stats"
        )
        return {row[0]: (row[1], row[2], bool(row[3]), bool(row[4])) for row in rows}

    def stats(self, session_id: str) -> dict[str, Any] | None:
        """The ``sessionkit_stats`` row of one session, with sessionkit's extra columns."""
        columns = (*STATS_COLUMNS, *STATE_COLUMNS)
        found = self._rows(
            f"SELECT {', '.join(columns)} FROM sessionkit_stats WHERE session_id = ?", (session_id,)
        )
        return dict(zip(columns, found[0], strict=True)) if found else None

    def metadata(self, session_id: str) -> dict[str, Any] | None:
        """The ``session_metadata`` row as stored (``tags`` still JSON text), or ``None``."""
        found = self._rows(
            f"SELECT {', '.join(METADATA_COLUMNS)} FROM session_metadata WHERE session_id = ?",
            (session_id,),
        )
        return dict(zip(METADATA_COLUMNS, found[0], strict=True)) if found else None

    def setting(self, key: str) -> str | None:
        found = self._rows("SELECT value FROM sessionkit_settings WHERE key = ?", (key,))
        return str(found[0][0]) if found else None

    def set_setting(self, key: str, value: str) -> None:
        def write() -> None:
            with self._transaction() as con:
                con.execute(
                    "INSERT INTO sessionkit_settings VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

        self._retry(write)

    # -- stats writes ------------------------------------------------------

    def write_records(self, records: Sequence[SessionRecord], part: Part | None = None) -> None:
        """Replace the stats, image files and rows' ``part`` of ``records`` in one transaction.

        A record whose manifest could not be used is stored without a
        signature, so the next scan reads it again (it may have been caught
        half-written). Writing a record clears its missing mark. ``part`` is
        the file its ``images`` / ``variations`` rows were just written to.
        """
        if not records:
            return
        columns = (*STATS_COLUMNS, *STATE_COLUMNS)
        stats_rows = [
            (
                *record.stats_row(),
                None if record.stats.stats_error else record.signature,
                int(record.is_dryrun),
                None,
            )
            for record in records
        ]

        files = [(record.stats.session_id, record.files) for record in records]

        def write() -> None:
            with self._transaction() as con:
                con.executemany(
                    f"INSERT OR REPLACE INTO sessionkit_stats ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    stats_rows,
                )
                con.executemany("INSERT OR REPLACE INTO sessionkit_files VALUES (?, ?)", files)
                if part is not None:
                    _record_part(con, part, [(r.stats.session_id, *r.counts) for r in records])
                else:  # rows not written: rebuilt from the manifest when next needed
                    con.executemany(
                        "DELETE FROM sessionkit_details WHERE session_id = ?",
                        [(r.stats.session_id,) for r in records],
                    )

        self._retry(write)

    def record_part(self, part: Part, owners: Sequence[tuple[str, int, int]]) -> None:
        """Point ``owners`` (``(session_id, seeds, prompts)``) at a part rebuilt from manifests."""

        def write() -> None:
            with self._transaction() as con:
                _record_part(con, part, owners)

        self._retry(write)

    def mergeable_parts(self, small: int) -> list[str]:
        """The parts worth merging into another: each holding fewer than ``small``
        sessions' current rows, or at least as many rows of sessions indexed again
        since (which every query has to skip)."""
        return [
            row[0]
            for row in self._rows(
                "SELECT p.part FROM sessionkit_detail_parts p "
                "LEFT JOIN sessionkit_details d USING (part) GROUP BY p.part, p.sessions "
                "HAVING count(d.session_id) < ? OR 2 * count(d.session_id) <= p.sessions "
                "ORDER BY p.part",
                (small,),
            )
        ]

    def repoint_details(self, part: Part, moves: Sequence[tuple[str, str]]) -> None:
        """Record ``part``, merged from others, and point each ``(session_id, old part)``
        at it, unless the session points elsewhere by now (indexed again meanwhile:
        its newer rows win)."""

        def write() -> None:
            with self._transaction() as con:
                con.execute(
                    "INSERT INTO sessionkit_detail_parts VALUES (?, ?, ?, ?, ?)",
                    (part.name, part.format, len(moves), *part.sizes),
                )
                con.executemany(
                    "UPDATE sessionkit_details SET part = ? WHERE session_id = ? AND part = ?",
                    [(part.name, session_id, old) for session_id, old in moves],
                )

        self._retry(write)

    def drop_unused_parts(self) -> list[str]:
        """Forget parts no session points to any more; return them, for their files to go."""

        def write() -> list[str]:
            with self._transaction() as con:
                unused = [
                    row[0]
                    for row in con.execute(
                        "SELECT part FROM sessionkit_detail_parts p WHERE NOT EXISTS "
                        "(SELECT 1 FROM sessionkit_details d WHERE d.part = p.part)"
                    )
                ]
                con.executemany(
                    "DELETE FROM sessionkit_detail_parts WHERE part = ?", [(p,) for p in unused]
                )
            return unused

        return self._retry(write)

    def mark_missing(self, session_ids: Iterable[str]) -> None:
        """Flag sessions whose folder is gone; their rows (and metadata) stay."""
        stamp = _now()
        params = [(stamp, session_id) for session_id in session_ids]
        if not params:
            return

        def write() -> None:
            with self._transaction() as con:
                con.executemany(
                    "UPDATE sessionkit_stats SET missing_since = ? "
                    "WHERE session_id = ? AND missing_since IS NULL",
                    params,
                )

        self._retry(write)

    # -- metadata writes ---------------------------------------------------

    def update_metadata(
        self,
        session_id: str,
        session_path: str | None,
        changes: Mapping[str, Any],
        *,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        expected_updated_at: str | None = None,
    ) -> dict[str, Any]:
        """Validate and apply a partial metadata update; return the new row.

        Only the fields in ``changes`` are written (``tags`` replaces the list).
        ``add_tags`` / ``remove_tags`` change the list as it is when the write
        transaction starts, so an edit another program made meanwhile keeps
        its tags (see :func:`merge_tags`). Only tags being added are checked:
        a stored tag of any form is kept, and may be removed.
        With ``expected_updated_at``, the write happens only if the row still
        has that ``updated_at`` (or, with :data:`NEVER_EDITED`, still does not
        exist); otherwise :class:`MetadataConflict` is raised and nothing is
        written. A first edit stores ``session_path`` (read from the stats
        when not given); ``KeyError`` when the session has neither a row
        nor stats.
        """
        values = validate_metadata(changes)
        edit = _tag_edit(values, add_tags, remove_tags)

        def write() -> dict[str, Any]:
            with self._transaction() as con:

                def defaults() -> dict[str, Any]:
                    path = session_path or _session_path(con, session_id)
                    return {"session_path": path, **METADATA_DEFAULTS}

                return _edit_marks_row(
                    con,
                    "session_metadata",
                    {"session_id": session_id},
                    METADATA_COLUMNS,
                    values,
                    edit,
                    defaults,
                    expected_updated_at=expected_updated_at,
                )

        return self._retry(write)

    # -- image marks -------------------------------------------------------

    def image_metadata(self, session_id: str, filename: str) -> dict[str, Any] | None:
        """One image's ``image_metadata`` row as stored (``tags`` JSON text), or ``None``."""
        found = self.image_metadata_rows(session_id, [filename])
        return dict(zip(IMAGE_METADATA_COLUMNS, found[0], strict=True)) if found else None

    def image_metadata_rows(
        self, session_id: str | None = None, filenames: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """``image_metadata`` rows (columns :data:`IMAGE_METADATA_COLUMNS`): all, one
        session's, or some images of one session."""
        sql = f"SELECT {', '.join(IMAGE_METADATA_COLUMNS)} FROM image_metadata"
        if session_id is None:
            return self._rows(sql)
        if filenames is None:
            return self._rows(f"{sql} WHERE session_id = ?", (session_id,))
        return self._rows(
            f"{sql} WHERE session_id = ? AND filename IN (SELECT value FROM json_each(?))",
            (session_id, orjson.dumps(list(filenames)).decode()),
        )

    def image_marks_stamp(self) -> tuple[int, str | None]:
        """How many images have marks, and the newest ``updated_at`` among them.

        Every write of marks moves ``updated_at`` to its own time (data-model
        2.4), so a mirror compares this pair to tell whether another process
        marked images, and reads only :meth:`image_metadata_since` if so.
        """
        count, newest = self._rows("SELECT count(*), max(updated_at) FROM image_metadata")[0]
        return int(count), newest

    def image_metadata_since(self, updated_at: str) -> list[tuple[Any, ...]]:
        """The ``image_metadata`` rows written at or after ``updated_at`` (ISO text)."""
        return self._rows(
            f"SELECT {', '.join(IMAGE_METADATA_COLUMNS)} FROM image_metadata WHERE updated_at >= ?",
            (updated_at,),
        )

    def image_metadata_batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Every ``image_metadata`` row (:data:`IMAGE_METADATA_COLUMNS`), ``size`` at a time."""
        yield from self._batches(
            f"SELECT {', '.join(IMAGE_METADATA_COLUMNS)} FROM image_metadata", (), size
        )

    def update_image_metadata(
        self,
        session_id: str,
        filename: str,
        changes: Mapping[str, Any],
        *,
        add_tags: Iterable[Any] = (),
        remove_tags: Iterable[Any] = (),
        expected_updated_at: str | None = None,
    ) -> dict[str, Any]:
        """Validate and apply a partial update of one image's marks; return the new row.

        Only the fields in ``changes`` are written (``tags`` replaces the
        list; ``add_tags`` / ``remove_tags`` then change the list as stored
        at the time of the write). ``expected_updated_at`` works as in
        :meth:`update_metadata`.
        """
        values = validate_image_metadata(changes)
        edit = _tag_edit(values, add_tags, remove_tags)

        def write() -> dict[str, Any]:
            with self._transaction() as con:
                saved = _edit_image_row(
                    con, session_id, filename, values, edit, expected_updated_at
                )
            return saved or {}

        return self._retry(write)

    def update_images_metadata(
        self,
        session_id: str,
        filenames: Sequence[str],
        changes: Mapping[str, Any],
        *,
        add_tags: Iterable[Any] = (),
        remove_tags: Iterable[Any] = (),
    ) -> list[dict[str, Any]]:
        """The same change to many images of one session, in one transaction; the new rows."""
        values = validate_image_metadata(changes)
        edit = _tag_edit(values, add_tags, remove_tags)
        names = list(dict.fromkeys(filenames))

        def write() -> list[dict[str, Any]]:
            with self._transaction() as con:
                return [
                    _edit_image_row(con, session_id, filename, values, edit, None)
                    for filename in names
                ]

        return self._retry(write) if names else []

    def mark_unedited_images(
        self, marks: Mapping[tuple[str, str], Mapping[str, Any]]
    ) -> list[tuple[str, str]]:
        """Give each image without an ``image_metadata`` row its starting marks, in one
        transaction; return the images marked. An image with a row is left alone."""
        rows = []
        for (session_id, filename), changes in marks.items():
            values = validate_image_metadata(changes)
            if "tags" in values:
                values["tags"] = _tags_json(replace_tags([], values["tags"]))
            full = {**IMAGE_METADATA_DEFAULTS, **values}
            rows.append((session_id, filename, *(full[f] for f in IMAGE_METADATA_FIELDS)))

        def write() -> list[tuple[str, str]]:
            marked = []
            with self._transaction() as con:
                stamp = _now()
                for row in rows:
                    inserted = con.execute(
                        f"INSERT INTO image_metadata ({', '.join(IMAGE_METADATA_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(IMAGE_METADATA_COLUMNS))}) "
                        "ON CONFLICT (session_id, filename) DO NOTHING",
                        (*row, stamp, stamp),
                    )
                    if inserted.rowcount:
                        marked.append((row[0], row[1]))
            return marked

        return self._retry(write) if rows else []


def _edit_image_row(
    con: sqlite3.Connection,
    session_id: str,
    filename: str,
    values: Mapping[str, Any],
    edit: tuple[list[str], list[str]],
    expected_updated_at: str | None,
) -> dict[str, Any]:
    """One image's marks edited inside the caller's transaction; tags follow the session rules."""
    return _edit_marks_row(
        con,
        "image_metadata",
        {"session_id": session_id, "filename": filename},
        IMAGE_METADATA_COLUMNS,
        values,
        edit,
        lambda: IMAGE_METADATA_DEFAULTS,
        expected_updated_at=expected_updated_at,
    )


def _edit_marks_row(
    con: sqlite3.Connection,
    table: str,
    key: Mapping[str, str],
    columns: Sequence[str],
    values: Mapping[str, Any],
    edit: tuple[list[str], list[str]],
    defaults: Callable[[], Mapping[str, Any]],
    *,
    expected_updated_at: str | None,
) -> dict[str, Any]:
    """Edit one row of user marks in the caller's transaction; return it as saved.

    The row is read once, at the start of the transaction: the conflict check
    and the tag edit (:func:`merge_tags`) see what is stored then, and the
    saved row is that row with this write laid over it, never read back
    (after COMMIT another writer's row could be read instead, and its
    ``updated_at`` taken for ours). ``defaults`` are called for a first edit only.
    """
    where = " AND ".join(f"{name} = ?" for name in key)
    found_row = con.execute(
        f"SELECT {', '.join(columns)} FROM {table} WHERE {where}", tuple(key.values())
    ).fetchone()
    current = dict(zip(columns, found_row, strict=True)) if found_row else None
    found = current["updated_at"] if current else None
    wanted = None if expected_updated_at == NEVER_EDITED else expected_updated_at
    if expected_updated_at is not None and found != wanted:
        raise MetadataConflict("/".join(key.values()), expected_updated_at, found)
    row = dict(values)
    stored = parse_tags(current["tags"]) if current else []
    if "tags" in row:
        row["tags"] = _tags_json(replace_tags(stored, row["tags"]))
    elif edit[0] or edit[1]:
        row["tags"] = _tags_json(merge_tags(stored, *edit))
    if current is None:
        return _write_marks_row(con, table, key, defaults(), row, exists=False, found=None)
    return {**current, **_write_marks_row(con, table, key, {}, row, exists=True, found=found)}


def _session_path(con: sqlite3.Connection, session_id: str) -> str:
    """The indexed session's path, for its first metadata row; ``KeyError`` when unknown."""
    found = con.execute(
        "SELECT session_path FROM sessionkit_stats WHERE session_id = ?", (session_id,)
    ).fetchone()
    if found is None:
        raise KeyError(session_id)
    return str(found[0])


def _write_marks_row(
    con: sqlite3.Connection,
    table: str,
    key: Mapping[str, str],
    defaults: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    exists: bool,
    found: str | None,
) -> dict[str, Any]:
    """Write one row of user marks (``session_metadata`` or ``image_metadata``); return
    the columns written.

    A first edit inserts ``key``, ``defaults`` overlaid with ``values`` and both
    timestamps; a later one updates only ``values`` and ``updated_at`` (nothing
    when there are no values). Either way ``updated_at`` moves strictly past
    ``found``, which conflict detection relies on.
    """
    stamp = _later_than(found)
    if not exists:
        row = {**key, **defaults, **values, "created_at": stamp, "updated_at": stamp}
        con.execute(
            f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
        return row
    if not values:
        return {}
    assignments = ", ".join(f"{name} = ?" for name in values)
    where = " AND ".join(f"{name} = ?" for name in key)
    con.execute(
        f"UPDATE {table} SET {assignments}, updated_at = ? WHERE {where}",
        (*values.values(), stamp, *key.values()),
    )
    return {**values, "updated_at": stamp}


def _tag_edit(
    values: Mapping[str, Any], add_tags: Iterable[Any], remove_tags: Iterable[Any]
) -> tuple[list[str], list[str]]:
    """``(add, remove)`` checked as lists of text; refused beside a whole new ``tags`` list."""
    add, remove = _tag_list(add_tags), _tag_list(remove_tags)
    if "tags" in values and (add or remove):
        raise InvalidMetadata("tags", "give either tags (the whole list) or tags to add/remove")
    return add, remove


IMAGE_METADATA_DEFAULTS: Mapping[str, Any] = {
    "rating": None,
    "stars": None,
    "tags": "[]",
    "note": None,
}


def _record_part(
    con: sqlite3.Connection, part: Part, owners: Sequence[tuple[str, int, int]]
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sessionkit_detail_parts VALUES (?, ?, ?, ?, ?)",
        (part.name, part.format, len(owners), *part.sizes),
    )
    con.executemany(
        "INSERT OR REPLACE INTO sessionkit_details VALUES (?, ?, ?, ?)",
        [(session_id, part.name, seeds, prompts) for session_id, seeds, prompts in owners],
    )


def validate_metadata(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check every field and return the values to store; refuse the first bad one.

    Nothing is truncated or silently fixed: a bad value raises
    :class:`InvalidMetadata` naming the field and the reason.
    """
    return _validated(changes, METADATA_FIELDS, _VALIDATORS, "editable fields are")


def validate_image_metadata(changes: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`validate_metadata` for an image's marks: the same rules, other field names."""
    return _validated(changes, IMAGE_METADATA_FIELDS, _IMAGE_VALIDATORS, "an image's marks are")


def _validated(
    changes: Mapping[str, Any],
    fields: Sequence[str],
    validators: Mapping[str, Callable[[str, Any], Any]],
    known: str,
) -> dict[str, Any]:
    """Each value checked by its field's validator; an unknown field names ``fields``."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in fields:
            raise InvalidMetadata(name, f"unknown field; {known} {', '.join(fields)}")
        values[name] = validators[name](name, value)
    return values


def _stars(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value in STARS_RANGE:
        return int(value)
    raise InvalidMetadata(
        name,
        f"must be a whole number from {STARS_RANGE[0]} to {STARS_RANGE[-1]}, "
        f"or None (to clear), not {value!r}",
    )


def _flag(name: str, value: Any) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raise InvalidMetadata(name, f"must be true or false, not {value!r}")


def _rating(name: str, value: Any) -> str | None:
    if value is None or value in RATINGS:
        return value  # type: ignore[no-any-return]
    raise InvalidMetadata(name, f"must be 'like', 'dislike' or None (to clear), not {value!r}")


def _note(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidMetadata(name, f"must be text, not {type(value).__name__}")
    if len(value) > NOTE_MAX_CHARS:
        raise InvalidMetadata(name, f"is {len(value)} characters; the limit is {NOTE_MAX_CHARS}")
    return value


def _tags(name: str, value: Any) -> list[str]:
    """A list of text; each tag is checked in the write, against the stored list."""
    return _tag_list(value)


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidMetadata("tags", "must be a list of tags, e.g. ['portrait', 'keeper']")
    tags = list(value)
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidMetadata("tags", f"a tag must be text, not {type(tag).__name__}")
    return tags


def merge_tags(stored: Sequence[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """``stored`` with ``remove`` taken out, then ``add`` appended.

    A tag to remove matches exactly, else ignoring case (so ``keeper``
    removes ``Keeper`` when there is no ``keeper``). A tag to add is checked
    (:func:`check_tag`) and skipped when the list already holds it in any
    case. Stored tags are never checked: the WebUI accepts any text.
    """
    tags = list(stored)
    for tag in remove:
        exact = tag in tags
        tags = [t for t in tags if (t != tag if exact else t.casefold() != tag.casefold())]
    held = {t.casefold() for t in tags}
    for tag in add:
        check_tag(tag)
        if tag.casefold() not in held:
            tags.append(tag)
            held.add(tag.casefold())
    return tags


def replace_tags(stored: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The whole new list ``tags``: the ones already in ``stored`` pass as they are."""
    kept = [tag for tag in tags if tag in stored]
    check_added_tags(kept, [tag for tag in tags if tag not in stored])
    if len(set(kept)) < len(kept):
        raise InvalidMetadata("tags", "a tag is given twice")
    return list(tags)


def check_added_tags(kept: Iterable[str], added: Iterable[Any]) -> None:
    """Check tags being added beside ``kept`` ones: valid, and none twice (ignoring case)."""
    held = {tag.casefold() for tag in kept}
    for tag in added:
        check_tag(tag)
        if tag.casefold() in held:
            raise InvalidMetadata("tags", f"tag {tag!r} is given twice")
        held.add(tag.casefold())


def _tags_json(tags: list[str]) -> str:
    return orjson.dumps(tags).decode()


def check_tag(tag: Any) -> str:
    """Return ``tag`` if it is valid, else raise :class:`InvalidMetadata` saying why."""
    if not isinstance(tag, str):
        raise InvalidMetadata("tags", f"a tag must be text, not {type(tag).__name__}")
    if not tag:
        raise InvalidMetadata("tags", "a tag cannot be empty")
    if len(tag) > TAG_MAX_CHARS:
        raise InvalidMetadata(
            "tags", f"tag {tag[:20]!r}... is {len(tag)} characters; the limit is {TAG_MAX_CHARS}"
        )
    if not _TAG.fullmatch(tag):
        raise InvalidMetadata(
            "tags", f"tag {tag!r} may hold only letters, digits, '-' and '_' (no spaces)"
        )
    return tag


def _auto_metadata(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidMetadata(name, "must be a JSON object (a dict) or None")
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise InvalidMetadata(name, f"cannot be stored as JSON: {exc}") from exc


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "is_test": _flag,
    "is_complete": _flag,
    "is_favorite": _flag,
    "user_rating": _rating,
    "user_note": _note,
    "tags": _tags,
    "auto_metadata": _auto_metadata,
}

_IMAGE_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "rating": _rating,
    "stars": _stars,
    "tags": _tags,
    "note": _note,
}


def parse_tags(raw: str | None) -> list[str]:
    """Tags as stored (JSON text) to a list; tolerant of rows other programs wrote."""
    if not raw:
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(tag) for tag in value]
    return [str(value)]


def _is_read_only_error(exc: sqlite3.OperationalError) -> bool:
    """SQLite's "attempt to write a readonly database", or a file it cannot open to write."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or (
        "readonly" in str(exc)
    )


def _may_write(path: Path) -> bool:
    """Whether this process may write the file and create its WAL files beside it.

    ``os.access`` sees modes, immutable files (``chattr +i``) and read-only
    mounts alike; root passes modes, as SQLite run by root does.
    """
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only_reason(path: Path, exc: sqlite3.OperationalError | None) -> str:
    """Why ``path`` cannot be written, in words: the file, its folder, or what SQLite said."""
    if not os.access(path, os.W_OK):
        return "the file is read-only (its permissions, an immutable flag or a read-only mount)"
    if not os.access(path.parent, os.W_OK):
        return "its folder is read-only, and SQLite writes its journal there"
    return f"SQLite refuses to write it ({exc})"


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def _now() -> str:
    return datetime.now().isoformat(timespec="microseconds")


def _later_than(previous: str | None) -> str:
    """Now, but strictly after ``previous``: ``updated_at`` must change on every write."""
    now = datetime.now()
    if previous:
        try:
            before = datetime.fromisoformat(previous)
        except ValueError:
            before = None
        if before is not None and before.tzinfo is None and now <= before:
            now = before + timedelta(microseconds=1)
    return now.isoformat(timespec="microseconds")


__all__ = [
    "NEVER_EDITED",
    "SCHEMA_VERSION",
    "STATS_VERSION",
    "DatabaseLocked",
    "InvalidMetadata",
    "MetadataConflict",
    "Store",
    "StoreUnavailable",
    "check_added_tags",
    "check_tag",
    "merge_tags",
    "parse_tags",
    "replace_tags",
    "validate_image_metadata",
    "validate_metadata",
]
