"""The ``images`` and ``variations`` rows on disk: Parquet files beside ``sessions.db``.

Each index batch writes one *part*: ``<part>.images.parquet`` and
``<part>.variations.parquet`` in the folder ``sessions.db-details/``. A part
is written under a temporary name and renamed into place, so no reader ever
sees half a file; ``sessions.db`` then records, in the same transaction as
the sessions' stats, which part holds each session's current rows
(``sessionkit_details``) and each part's format and size
(``sessionkit_detail_parts``). A kill at any moment leaves the previous
parts and records usable; a part no session points to any more is deleted.

A new process reads the parts straight from disk (DuckDB scans Parquet at
the speed of the disk), so no manifest is parsed again; see
:mod:`sessionkit.mirror`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sessionkit.details import IMAGE_COLUMNS, VARIATION_COLUMNS

if TYPE_CHECKING:
    import duckdb

FORMAT = 1
"""The layout of the part files; a part of another format is rebuilt, never read."""
KINDS = ("images", "variations")
PARQUET_MAGIC = b"PAR1"

_PACKED = (
    '{"i": "VARCHAR", "f": ["VARCHAR"], "s": ["BIGINT"], "p": ["VARCHAR"], "n": ["VARCHAR"], '
    '"a": ["JSON"], "d": ["BOOLEAN"], "t": ["BIGINT"], "z": ["BIGINT"], '
    '"h": ["VARCHAR"], "v": ["VARCHAR"], "u": ["BOOLEAN"], "c": ["BIGINT"]}'
)
"""The JSON shape of :meth:`sessionkit.details.Details.pack`."""
_SESSIONS = f"""
CREATE TEMP TABLE packed AS
SELECT d.* FROM (SELECT json_transform(unnest(?::VARCHAR[]), '{_PACKED}') AS d)
"""
_IMAGES = """
SELECT i AS session_id, ? AS part,
       unnest(f) AS filename, unnest(s) AS seed, unnest(p) AS prompt,
       unnest(n) AS negative_prompt, unnest(a)::VARCHAR AS applied_variations,
       unnest(d) AS on_disk,
       strftime(to_timestamp(unnest(t))::TIMESTAMP, '%Y-%m-%dT%H:%M:%S') AS file_mtime,
       unnest(z) AS file_size
FROM packed
"""
"""``file_mtime`` becomes local time here, as the stats' image times are."""
_VARIATIONS = """
SELECT i AS session_id, ? AS part,
       unnest(h) AS placeholder, unnest(v) AS value, unnest(u) AS used,
       unnest(c)::INTEGER AS images
FROM packed
"""


@dataclass(frozen=True, slots=True)
class Part:
    """One written part: its name, its format and the byte size of each of its two files."""

    name: str
    sizes: tuple[int, int]
    format: int = FORMAT


class DetailFiles:
    """The folder of parts belonging to one ``sessions.db``."""

    def __init__(self, db_path: Path) -> None:
        # absolute: DuckDB resolves the views' file names when queried, from whatever
        # folder the process is in by then
        self.folder = db_path.absolute().with_name(db_path.name + "-details")
        self._con: duckdb.DuckDBPyConnection | None = None

    def path(self, part: str, kind: str) -> Path:
        return self.folder / f"{part}.{kind}.parquet"

    def write(self, packed: Sequence[bytes]) -> Part:
        """Write sessions' rows (each :meth:`Details.pack`'s bytes) as one new part; return it.

        Each file is complete under its final name before this returns, and
        nothing refers to it until the caller records it in ``sessions.db``.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        con = self._connection()
        con.execute(_SESSIONS, [[session.decode() for session in packed]])
        try:
            sizes = (
                self._copy(con, name, "images", _IMAGES),
                self._copy(con, name, "variations", _VARIATIONS),
            )
        finally:
            con.execute("DROP TABLE temp.packed")
        return Part(name, sizes)

    def _copy(self, con: duckdb.DuckDBPyConnection, name: str, kind: str, select: str) -> int:
        final = self.path(name, kind)
        temporary = final.with_suffix(".tmp")
        con.execute(
            f"COPY ({select}) TO '{_quoted(temporary)}' (FORMAT parquet, COMPRESSION zstd)", [name]
        )
        temporary.replace(final)
        return final.stat().st_size

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """DuckDB, imported only when something is written (not by a rescan that found nothing)."""
        if self._con is None:
            import duckdb

            self._con = duckdb.connect()
        return self._con

    def problem(self, part: str, fmt: int, sizes: tuple[int, int]) -> str | None:
        """Why a recorded part cannot be used, or ``None`` when it can.

        Checked without reading the files: each must exist with the recorded
        size and end with Parquet's magic bytes (a truncated file does not).
        """
        if fmt != FORMAT:
            return f"written in format {fmt}, not {FORMAT}"
        for kind, size in zip(KINDS, sizes, strict=True):
            path = self.path(part, kind)
            try:
                with path.open("rb") as handle:
                    found = os.fstat(handle.fileno()).st_size
                    if found != size:
                        return f"{path.name} is {found} bytes, not the {size} written"
                    handle.seek(max(found - len(PARQUET_MAGIC), 0))
                    if handle.read() != PARQUET_MAGIC:
                        return f"{path.name} is not a complete Parquet file"
            except OSError as exc:
                return f"{path.name} cannot be read: {exc.strerror or exc}"
        return None

    def delete(self, parts: Iterable[str]) -> None:
        """Remove parts no session points to any more (a reader still using one reloads)."""
        for part in parts:
            for kind in KINDS:
                self.path(part, kind).unlink(missing_ok=True)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["FORMAT", "IMAGE_COLUMNS", "VARIATION_COLUMNS", "DetailFiles", "Part"]
