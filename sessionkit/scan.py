"""Find sessions under a root, detect which changed, and index them in parallel.

A scan costs two ``stat`` calls per known session when nothing changed: the
folder's mtime (it moves when an image is added or removed) and the
manifest's mtime and size (the generator rewrites it after every image).
Only new or changed sessions are listed, once each with ``os.scandir``, and
computed by :func:`sessionkit.stats.compute_session`, in worker processes
when there are enough of them to repay the start-up. Work goes in chunks:
the worker that computes a chunk writes its sessions' image rows as one
Parquet part (:mod:`sessionkit.detailfiles`) and sends back only the stats,
which the parent writes in one SQLite transaction per chunk: a killed scan
leaves a consistent database and the next scan carries on, and the write
lock is released often enough for a metadata edit from another process to
get through.

Vanished sessions are marked missing, never deleted: their metadata stays.
A scan never writes ``session_metadata``.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from sessionkit.detailfiles import DetailFiles, Part
from sessionkit.details import Details
from sessionkit.manifest import MANIFEST
from sessionkit.names import to_text
from sessionkit.stats import (
    IMAGE_SUFFIXES,
    STATS_VERSION,
    SessionFiles,
    SessionRecord,
    compute_session,
)
from sessionkit.store import Store

DRYRUN_FOLDER = "dryrun"
PARALLEL_THRESHOLD = 400
"""Below this many sessions to compute, one process is faster than starting workers."""
CHUNK_MIN, CHUNK_MAX = 32, 256
"""Bounds of a chunk: the sessions a worker computes in one task, whose rows it
writes as one part and whose stats are one SQLite transaction. Small enough to
release the write lock often; large enough that a 10k root makes ~40 parts."""
AHEAD = 4
"""Chunks in flight per worker."""
MERGE_AFTER = 8
"""Small or half-stale parts tolerated before an index merges them."""
MERGED_SESSIONS = 4 * CHUNK_MAX
"""Sessions per merged part."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A folder that may be a session: its id and its path as the file system has it.

    The id is the folder name, as text that can be stored (:mod:`sessionkit.names`).
    """

    session_id: str
    path: str
    is_dryrun: bool = False


@dataclass(slots=True)
class ScanReport:
    """What an index run did; ``failed`` names each session that had a problem and why."""

    scanned: int = 0
    computed: int = 0
    unchanged: int = 0
    missing: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    changed_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for humans: ``scanned 25, computed 3, unchanged 22, missing 0, failed 1``."""
        return (
            f"scanned {self.scanned}, computed {self.computed}, unchanged {self.unchanged}, "
            f"missing {self.missing}, failed {len(self.failed)} in {self.seconds:.2f} s"
        )


def find_candidates(root: Path, *, dry_runs: bool = False) -> list[Candidate]:
    """Sub-folders of ``root`` (and of ``root/dryrun`` when asked), hidden ones excluded.

    Whether a candidate really is a session (a manifest or an image) is
    decided when it is listed, so this costs one directory read.
    """
    found = [
        Candidate(to_text(entry.name), entry.path)
        for entry in _subfolders(root)
        if entry.name != DRYRUN_FOLDER
    ]
    if dry_runs:
        found += [
            Candidate(to_text(entry.name), entry.path, is_dryrun=True)
            for entry in _subfolders(root / DRYRUN_FOLDER)
        ]
    return found


def _subfolders(folder: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and _is_dir(entry):
                    yield entry
    except (FileNotFoundError, NotADirectoryError):
        return


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def signature(path: str) -> str | None:
    """The cheap change detector of a session folder, or ``None`` if it is gone.

    Computed before the folder is listed, so a change that lands during a
    scan shows up as a change on the next one.
    """
    try:
        folder = os.stat(path)
    except OSError:
        return None
    try:
        manifest: os.stat_result | None = os.stat(os.path.join(path, MANIFEST))
    except OSError:
        manifest = None
    return _signature(folder, manifest)


def _signature(folder: os.stat_result, manifest: os.stat_result | None) -> str:
    if manifest is None:
        return f"{folder.st_mtime_ns}:-:-"
    return f"{folder.st_mtime_ns}:{manifest.st_mtime_ns}:{manifest.st_size}"


def list_session(candidate: Candidate) -> SessionFiles | None:
    """List a candidate folder once; ``None`` when it holds neither manifest nor image.

    The folder is opened once and every ``stat`` is made relative to it, so
    the kernel does not walk the whole path again for each of its files.
    """
    try:
        folder = os.open(candidate.path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # gone, or not a folder
        return None
    try:
        return _list_folder(candidate, folder)
    finally:
        os.close(folder)


def _list_folder(candidate: Candidate, folder: int) -> SessionFiles | None:
    """List the open ``folder``, its signature first.

    The loop runs once per file, a million times at scale, so it does no
    more than the I/O floor's own loop: a name test, a ``stat`` and three
    appends, with no call or object of ours per file.
    """
    try:
        manifest: os.stat_result | None = os.stat(MANIFEST, dir_fd=folder)
    except OSError:
        manifest = None
    sign = _signature(os.fstat(folder), manifest)
    names: list[str] = []
    mtimes: list[int] = []
    sizes: list[int] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            # stats.is_image_name, inlined
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                try:
                    if not entry.is_file():  # a sub-folder named like an image
                        continue
                    info = entry.stat()
                except OSError:  # vanished since the folder was read
                    continue
                names.append(name)
                mtimes.append(info.st_mtime_ns // 1_000_000_000)  # shown to the second
                sizes.append(info.st_size)
    if manifest is None and not names:
        return None
    return SessionFiles(
        session_id=candidate.session_id,
        path=candidate.path,
        names=names,
        mtimes=mtimes,
        sizes=sizes,
        has_manifest=manifest is not None,
        signature=sign,
        is_dryrun=candidate.is_dryrun,
    )


def compute_candidate(candidate: Candidate) -> SessionRecord | Candidate:
    """List and compute one session; the candidate itself when it is not (or no longer) one."""
    files = list_session(candidate)
    return candidate if files is None else compute_session(files)


def index_root(
    root: Path,
    store: Store,
    *,
    force: bool = False,
    dry_runs: bool = False,
    progress: bool = True,
    workers: int | None = None,
    details: DetailFiles | None = None,
) -> ScanReport:
    """Bring ``store`` up to date with the sessions under ``root``.

    With ``details``, each batch's ``images`` / ``variations`` rows are
    written there as one part; without, they are rebuilt when first queried.
    """
    started = time.perf_counter()
    report = ScanReport()
    candidates = find_candidates(root, dry_runs=dry_runs)
    known = store.scan_state()
    # in id order: each part then covers a narrow range of ids, which lets a
    # query for one session skip every other part by its statistics alone
    todo = sorted(
        (c for c in candidates if force or _needs_compute(c, known.get(c.session_id))),
        key=lambda c: c.session_id,
    )
    report.scanned = len(candidates)
    report.unchanged = len(candidates) - len(todo)
    present: set[str] = {c.session_id for c in candidates}
    for result in _computed(todo, progress=progress, workers=workers, store=store, details=details):
        if isinstance(result, Candidate):
            present.discard(result.session_id)
            report.scanned -= 1
            if not os.path.isdir(result.path):
                report.failed.append((result.session_id, "the folder vanished during the scan"))
            continue
        report.computed += 1
        report.changed_ids.append(result.stats.session_id)
        if result.stats.stats_error:
            report.failed.append((result.stats.session_id, result.stats.stats_error))
    vanished = [
        session_id
        for session_id, (_, _, is_dryrun, is_missing) in known.items()
        if session_id not in present and not is_missing and (dry_runs or not is_dryrun)
    ]
    store.mark_missing(vanished)
    if details is not None and report.computed:
        details.delete(store.drop_unused_parts())
        _merge_small_parts(store, details)
    report.missing = len(vanished)
    report.changed_ids.extend(vanished)
    report.seconds = time.perf_counter() - started
    return report


def _needs_compute(
    candidate: Candidate, known: tuple[str | None, int | None, bool, bool] | None
) -> bool:
    """New, changed, failed last time, computed by older rules, or back from missing."""
    if known is None:
        return True
    stored_signature, version, _, is_missing = known
    return (
        is_missing
        or stored_signature is None
        or version != STATS_VERSION
        or stored_signature != signature(candidate.path)
    )


def _computed(
    todo: list[Candidate],
    *,
    progress: bool,
    workers: int | None,
    store: Store,
    details: DetailFiles | None,
) -> Iterator[SessionRecord | Candidate]:
    """Compute ``todo`` (in parallel when large), writing each chunk's records as it comes.

    A chunk's part is complete on disk (written where the chunk was
    computed) before ``sessions.db`` refers to it, in the same transaction
    as the chunk's stats: a kill between the two leaves an unused file,
    deleted later, never a record of a file that is not there.
    """
    with tqdm(total=len(todo), desc="indexing", unit="session", disable=not progress) as bar:
        for results, part in _results(todo, workers, details):
            records = [result for result in results if isinstance(result, SessionRecord)]
            if records:
                store.write_records(records, part)
            yield from results
            bar.update(len(results))


def _results(
    todo: list[Candidate], workers: int | None, details: DetailFiles | None
) -> Iterable[tuple[list[SessionRecord | Candidate], Part | None]]:
    count = workers if workers is not None else min(2, os.cpu_count() or 1)
    parallel = count > 1 and len(todo) >= PARALLEL_THRESHOLD
    size = _chunk_size(len(todo), count) if parallel else CHUNK_MAX
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    if not parallel:
        yield from (_compute_chunk(chunk, details) for chunk in chunks)
        return
    folder = None if details is None else details.folder
    # fork, not spawn/forkserver: those re-import the caller's __main__, which
    # breaks scripts without a __main__ guard and code run from stdin. The
    # children list folders, parse JSON and write parts with a DuckDB of their
    # own, made after the fork; they never touch the locks of the parent's
    # other threads (DuckDB's pool, tqdm's monitor).
    with ProcessPoolExecutor(max_workers=count, mp_context=get_context("fork")) as pool:
        # at most AHEAD chunks in flight: results wait in the parent's memory
        # until written, so submitting everything at once lets them pile up
        pending: deque[Future[tuple[list[SessionRecord | Candidate], Part | None]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_compute_in_worker, chunk, folder))
            if len(pending) >= AHEAD * count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunk_size(sessions: int, workers: int) -> int:
    """Sessions per task, part and transaction: as many as keeps every worker busy to the end.

    About eight chunks per worker even out their finish; within that, larger
    chunks mean fewer parts for a query to open and fewer commits. One
    process takes :data:`CHUNK_MAX` at a time.
    """
    return max(CHUNK_MIN, min(CHUNK_MAX, -(-sessions // (8 * workers))))


def _compute_chunk(
    chunk: Sequence[Candidate], details: DetailFiles | None
) -> tuple[list[SessionRecord | Candidate], Part | None]:
    """Compute a chunk of candidates and write their rows as one part (``None``: no rows kept)."""
    results = [compute_candidate(candidate) for candidate in chunk]
    records = [result for result in results if isinstance(result, SessionRecord)]
    if details is None or not records:
        return results, None
    part = details.write([(record.stats.session_id, record.details) for record in records])
    for record in records:  # the part holds them now: not sent back to the parent
        record.details = _WRITTEN
    return results, part


_WRITTEN = Details()
_WORKER_FILES: dict[Path, DetailFiles] = {}
"""The part writer of each worker process, kept across its chunks (one DuckDB each)."""


def _compute_in_worker(
    chunk: Sequence[Candidate], folder: Path | None
) -> tuple[list[SessionRecord | Candidate], Part | None]:
    if folder is None:
        return _compute_chunk(chunk, None)
    details = _WORKER_FILES.get(folder)
    if details is None:
        details = _WORKER_FILES[folder] = DetailFiles.in_folder(folder)
    return _compute_chunk(chunk, details)


def _merge_small_parts(store: Store, details: DetailFiles) -> None:
    """Merge the parts that rescans left small or half stale.

    Each rescan writes a part for just the sessions that changed, and leaves
    their old rows in the part they were in: a root indexed after every new
    session would soon have hundreds of small parts for a query to open, and
    parts mostly of rows to skip. Once :data:`MERGE_AFTER` parts are small
    (under :data:`CHUNK_MIN` sessions) or at least half stale, their current
    rows are copied into parts of up to :data:`MERGED_SESSIONS` sessions
    (reading Parquet, not manifests) and the old files deleted. A rescan of
    a few sessions spread over many parts merges nothing.
    """
    parts = set(store.mergeable_parts(CHUNK_MIN))
    if len(parts) < MERGE_AFTER:
        return
    owners = sorted(owner[:2] for owner in store.detail_owners() if owner[1] in parts)
    for start in range(0, len(owners), MERGED_SESSIONS):
        group = owners[start : start + MERGED_SESSIONS]
        store.repoint_details(details.merge(group), group)
    details.delete(store.drop_unused_parts())
