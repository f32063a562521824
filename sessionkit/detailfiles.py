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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessionkit.details import IMAGE_COLUMNS, VARIATION_COLUMNS, Details
from sessionkit.errors import SessionKitError
from sessionkit.manifest import no_surrogates

if TYPE_CHECKING:
    import duckdb

FORMAT = 1
"""The layout of the part files; a part of another format is rebuilt, never read."""
KINDS = ("images", "variations")
ROW_GROUP_ROWS = 4096
"""Rows per Parquet row group. A part's rows are in session order, so a query for
one session reads the one or two row groups whose ``session_id`` range holds it
(2.8 ms for a 256-session part, 8 ms as one group), for 6 % more writing time."""
PARQUET_MAGIC = b"PAR1"

_IMAGES = """
SELECT session_id::VARCHAR AS session_id, $part AS part, filename::VARCHAR AS filename,
       CASE WHEN has_seed THEN seed END AS seed,
       prompt::VARCHAR AS prompt, negative_prompt::VARCHAR AS negative_prompt,
       applied_variations::VARCHAR AS applied_variations, on_disk,
       CASE WHEN on_disk
            THEN strftime(to_timestamp(file_mtime)::TIMESTAMP, '%Y-%m-%dT%H:%M:%S') END
           AS file_mtime,
       CASE WHEN on_disk THEN file_size END AS file_size
FROM images_columns
"""
"""``file_mtime`` becomes local time here, as the stats' image times are; a file's
time and size are known exactly when it is on disk (the listing gives all three)."""
_VARIATIONS = """
SELECT session_id::VARCHAR AS session_id, $part AS part,
       placeholder::VARCHAR AS placeholder, value::VARCHAR AS value, used,
       images::INTEGER AS images
FROM variations_columns
"""


class DetailsUnwritable(SessionKitError):
    """The folder of image data beside ``sessions.db`` cannot be written."""


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

    @classmethod
    def in_folder(cls, folder: Path) -> DetailFiles:
        """The parts in ``folder`` (an index worker knows the folder, not the database)."""
        return cls(folder.with_name(folder.name.removesuffix("-details")))

    def path(self, part: str, kind: str) -> Path:
        return self.folder / f"{part}.{kind}.parquet"

    def write(self, sessions: Sequence[tuple[str, Details]]) -> Part:
        """Write sessions' rows as one new part; return it.

        Each file is complete under its final name before this returns, and
        nothing refers to it until the caller records it in ``sessions.db``.
        DuckDB scans the columns as NumPy arrays: a C loop per column, not a
        conversion per value. The indexer calls this in its workers, each
        with its own connection.
        """
        name = uuid.uuid4().hex
        con = self._connection()
        ordered = sorted(sessions, key=itemgetter(0))  # see ROW_GROUP_ROWS
        images, variations = _image_columns(ordered), _variation_columns(ordered)
        with self._writing():
            try:
                sizes = self._copy_both(con, name, images, variations)
            except ValueError as exc:  # a lone surrogate from a lenient read is not UTF-8
                if "surrogate" not in str(exc):
                    raise
                sizes = self._copy_both(con, name, _printable(images), _printable(variations))
        return Part(name, sizes)

    def merge(self, owners: Sequence[tuple[str, str]]) -> Part:
        """One new part holding the current rows of ``owners`` (``(session_id, part)``).

        Rows are copied as stored, sorted by session, from the parts named;
        rows of sessions that point elsewhere are left behind.
        """
        name = uuid.uuid4().hex
        con = self._connection()
        keep = {  # registered by _copy as the kind's columns, which _merged's join reads
            "session_id": _strings(owner[0] for owner in owners),
            "part": _strings(owner[1] for owner in owners),
        }
        with self._writing():
            sizes = tuple(
                self._copy(con, name, kind, _merged(self, kind, owners), keep) for kind in KINDS
            )
        return Part(name, (sizes[0], sizes[1]))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Create the folder; a file system that refuses a write says so in plain words."""
        import duckdb

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            yield
        except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DetailsUnwritable(
                f"cannot write the image data in {self.folder}: {reason}"
            ) from None

    def _copy_both(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        images: dict[str, Any],
        variations: dict[str, Any],
    ) -> tuple[int, int]:
        return (
            self._copy(con, name, "images", _IMAGES, images),
            self._copy(con, name, "variations", _VARIATIONS, variations),
        )

    def _copy(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        kind: str,
        select: str,
        columns: dict[str, Any],
    ) -> int:
        final = self.path(name, kind)
        temporary = final.with_suffix(".tmp")
        con.register(f"{kind}_columns", columns)
        try:
            con.execute(
                f"COPY ({select}) TO '{_quoted(temporary)}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})",
                {"part": name},
            )
        finally:
            con.unregister(f"{kind}_columns")
        temporary.replace(final)
        return final.stat().st_size

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """DuckDB, imported only when something is written (not by a rescan that found nothing)."""
        if self._con is None:
            import duckdb

            # one thread: the indexer's workers have the other cores
            self._con = duckdb.connect(config={"threads": 1})
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


def _image_columns(sessions: Sequence[tuple[str, Details]]) -> dict[str, Any]:
    """The ``images`` rows of ``sessions`` as arrays; nulls of number columns as flags."""
    import numpy as np

    rows = [details for _, details in sessions]
    seeds = _joined(rows, "seed")
    count = len(seeds)
    return {
        "session_id": _strings(
            chain.from_iterable(repeat(sid, len(d.filename)) for sid, d in sessions)
        ),
        "filename": _strings(_joined(rows, "filename")),
        "has_seed": np.fromiter((seed is not None for seed in seeds), bool, count),
        "seed": np.fromiter((seed or 0 for seed in seeds), np.int64, count),
        "prompt": _strings(_joined(rows, "prompt")),
        "negative_prompt": _strings(_joined(rows, "negative_prompt")),
        "applied_variations": _strings(_joined(rows, "applied_variations")),
        "on_disk": np.array(_joined(rows, "on_disk"), dtype=bool),
        "file_mtime": np.fromiter((t or 0 for t in _joined(rows, "file_mtime")), np.int64, count),
        "file_size": np.fromiter((z or 0 for z in _joined(rows, "file_size")), np.int64, count),
    }


def _variation_columns(sessions: Sequence[tuple[str, Details]]) -> dict[str, Any]:
    import numpy as np

    rows = [details for _, details in sessions]
    return {
        "session_id": _strings(
            chain.from_iterable(repeat(sid, len(d.placeholder)) for sid, d in sessions)
        ),
        "placeholder": _strings(_joined(rows, "placeholder")),
        "value": _strings(_joined(rows, "value")),
        "used": np.array(_joined(rows, "used"), dtype=bool),
        "images": np.array(_joined(rows, "images"), dtype=np.int64),
    }


def _joined(rows: list[Details], column: str) -> list[Any]:
    """One column of every session, end to end."""
    return list(chain.from_iterable(getattr(details, column) for details in rows))


def _strings(values: Iterable[str | None]) -> Any:
    """Text as an object array (``None`` is NULL); typed as VARCHAR by the COPY's casts."""
    import numpy as np

    return np.array(list(values), dtype=object)


def _printable(columns: dict[str, Any]) -> dict[str, Any]:
    """``columns`` with every lone surrogate in their text replaced by U+FFFD."""
    import numpy as np

    return {
        name: np.array([no_surrogates(v) for v in array], dtype=object)
        if array.dtype == object
        else array
        for name, array in columns.items()
    }


def _merged(files: DetailFiles, kind: str, owners: Sequence[tuple[str, str]]) -> str:
    """The ``kind`` rows of ``owners`` from their parts, renamed into the new part."""
    paths = ", ".join(
        f"'{_quoted(files.path(part, kind))}'" for part in sorted({o[1] for o in owners})
    )
    # a session's rows all come from one file: its row numbers keep the rows' order
    return (
        f"SELECT * EXCLUDE (file_row_number) REPLACE ($part AS part) "
        f"FROM read_parquet([{paths}], file_row_number = true) "
        f"SEMI JOIN {kind}_columns USING (session_id, part) "
        "ORDER BY session_id, file_row_number"
    )


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = [
    "FORMAT",
    "IMAGE_COLUMNS",
    "VARIATION_COLUMNS",
    "DetailFiles",
    "DetailsUnwritable",
    "Part",
]
