"""Find sessions under a root, detect which changed, and index them in parallel.

A scan costs two ``stat`` calls per known session when nothing changed: the
folder's mtime (it moves when an image is added or removed) and the
manifest's mtime and size (the generator rewrites it after every image).
Only new or changed sessions are listed, once each with ``os.scandir``, and
computed by :func:`sessionkit.stats.compute_session`, in worker processes
when there are enough of them to repay the start-up. Results are written in
batches, each one SQLite transaction: a killed scan leaves a consistent
database and the next scan carries on, and the write lock is released often
enough for a metadata edit from another process to get through.

Vanished sessions are marked missing, never deleted: their metadata stays.
A scan never writes ``session_metadata``.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from sessionkit.detailfiles import DetailFiles, Part
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
CHUNK = 32
WRITE_BATCH = 128
"""Records per SQLite transaction: small enough to bound what waits in memory
(indexing 10k sessions peaks at ~190 MB, ~220 MB with 512) and to release
the write lock often; large enough that commits cost nothing measurable."""
AHEAD = 4
"""Chunks in flight per worker."""
PARTS_AHEAD = 2
"""Batches whose part is being written while the next ones are computed; each
holds its records in memory until its stats are written."""


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


def _compute_chunk(chunk: Sequence[Candidate]) -> list[SessionRecord | Candidate]:
    """Compute a chunk of candidates (in a worker process)."""
    return [compute_candidate(candidate) for candidate in chunk]


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
    writer = _Writer(store, details)
    try:
        for result in _computed(todo, progress=progress, workers=workers, writer=writer):
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
    finally:
        writer.finish()
    vanished = [
        session_id
        for session_id, (_, _, is_dryrun, is_missing) in known.items()
        if session_id not in present and not is_missing and (dry_runs or not is_dryrun)
    ]
    store.mark_missing(vanished)
    if details is not None and writer.wrote:
        details.delete(store.drop_unused_parts())
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


class _Writer:
    """Writes batches of records: their rows' part first, then the stats that point at it.

    The part is complete on disk before ``sessions.db`` refers to it, so a
    kill between the two leaves an unused file (deleted later), never a
    record of a file that is not there. Parts are written in a thread
    (DuckDB releases the GIL) while the workers compute the next batches;
    the stats of a batch are written, in order, once its part is there.
    """

    def __init__(self, store: Store, details: DetailFiles | None) -> None:
        self.store = store
        self.details = details
        self.wrote = False
        self._parts = ThreadPoolExecutor(1, "sessionkit-parts") if details is not None else None
        self._waiting: deque[tuple[list[SessionRecord], Future[Part]]] = deque()

    def write_records(self, records: list[SessionRecord]) -> None:
        if not records:
            return
        if self.details is None or self._parts is None:
            self.store.write_records(records, None)
            self.wrote = True
            return
        rows = [(record.stats.session_id, record.details) for record in records]
        self._waiting.append((records, self._parts.submit(self.details.write, rows)))
        while self._waiting and (self._waiting[0][1].done() or len(self._waiting) > PARTS_AHEAD):
            self._record(*self._waiting.popleft())

    def finish(self) -> None:
        """Record every batch still waiting for its part; stop the thread."""
        try:
            while self._waiting:
                self._record(*self._waiting.popleft())
        finally:
            if self._parts is not None:
                self._parts.shutdown(wait=True, cancel_futures=True)

    def _record(self, records: list[SessionRecord], part: Future[Part]) -> None:
        self.store.write_records(records, part.result())
        self.wrote = True


def _computed(
    todo: list[Candidate], *, progress: bool, workers: int | None, writer: _Writer
) -> Iterator[SessionRecord | Candidate]:
    """Compute ``todo`` (in parallel when large), writing records in batches as they come."""
    batch: list[SessionRecord] = []
    with tqdm(total=len(todo), desc="indexing", unit="session", disable=not progress) as bar:
        for chunk in _results(todo, workers):
            for result in chunk:
                if isinstance(result, SessionRecord):
                    batch.append(result)
                yield result
            bar.update(len(chunk))
            if len(batch) >= WRITE_BATCH:
                writer.write_records(batch)
                batch = []
    writer.write_records(batch)


def _results(
    todo: list[Candidate], workers: int | None
) -> Iterable[list[SessionRecord | Candidate]]:
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    count = workers if workers is not None else min(2, os.cpu_count() or 1)
    if count <= 1 or len(todo) < PARALLEL_THRESHOLD:
        yield from map(_compute_chunk, chunks)
        return
    # fork, not spawn/forkserver: those re-import the caller's __main__, which
    # breaks scripts without a __main__ guard and code run from stdin. The
    # children only list folders and parse JSON; they never touch the locks
    # of the parent's other threads (DuckDB's pool, tqdm's monitor).
    with ProcessPoolExecutor(max_workers=count, mp_context=get_context("fork")) as pool:
        # at most AHEAD chunks in flight: results wait in the parent's memory
        # until written, so submitting everything at once lets them pile up
        pending: deque[Future[list[SessionRecord | Candidate]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_compute_chunk, chunk))
            if len(pending) >= AHEAD * count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
