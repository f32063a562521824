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
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from sessionkit.stats import (
    IMAGE_SUFFIXES,
    STATS_VERSION,
    FileInfo,
    SessionFiles,
    SessionRecord,
    compute_session,
)
from sessionkit.store import Store

DRYRUN_FOLDER = "dryrun"
MANIFEST = "manifest.json"
PARALLEL_THRESHOLD = 400
"""Below this many sessions to compute, one process is faster than starting workers."""
CHUNK = 32
WRITE_BATCH = 128
"""Records per SQLite transaction: small enough to bound what waits in memory
(indexing 10k sessions peaks at ~190 MB, ~220 MB with 512) and to release
the write lock often; large enough that commits cost nothing measurable."""
AHEAD = 4
"""Chunks in flight per worker."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A folder that may be a session: its id (folder name) and where it is."""

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
        Candidate(entry.name, entry.path)
        for entry in _subfolders(root)
        if entry.name != DRYRUN_FOLDER
    ]
    if dry_runs:
        found += [
            Candidate(entry.name, entry.path, is_dryrun=True)
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
        manifest = os.stat(os.path.join(path, MANIFEST))
    except OSError:
        return f"{folder.st_mtime_ns}:-:-"
    return f"{folder.st_mtime_ns}:{manifest.st_mtime_ns}:{manifest.st_size}"


def list_session(candidate: Candidate) -> SessionFiles | None:
    """List a candidate folder once; ``None`` when it holds neither manifest nor image."""
    sign = signature(candidate.path)
    if sign is None:
        return None
    images: list[FileInfo] = []
    has_manifest = False
    try:
        with os.scandir(candidate.path) as entries:
            for entry in entries:
                name = entry.name
                if name == MANIFEST:
                    has_manifest = True
                elif _is_image_name(name):
                    info = _image_info(entry)
                    if info is not None:
                        images.append(info)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not has_manifest and not images:
        return None
    images.sort(key=lambda image: image.name)
    return SessionFiles(
        session_id=candidate.session_id,
        path=candidate.path,
        images=tuple(images),
        has_manifest=has_manifest,
        signature=sign,
        is_dryrun=candidate.is_dryrun,
    )


def _is_image_name(name: str) -> bool:
    """``os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES``, without its cost per file."""
    dot = name.rfind(".")
    if dot <= 0:
        return False
    if name[0] == ".":  # splitext ignores leading dots
        return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
    return name[dot:].lower() in IMAGE_SUFFIXES


def _image_info(entry: os.DirEntry[str]) -> FileInfo | None:
    """Stat an image file; sub-folders and files that vanished are skipped."""
    try:
        if not entry.is_file():
            return None
        stat = entry.stat()
    except OSError:
        return None
    return FileInfo(entry.name, stat.st_mtime, stat.st_size)


def compute_candidate(candidate: Candidate) -> SessionRecord | Candidate:
    """List and compute one session; the candidate itself when it is not (or no longer) one."""
    files = list_session(candidate)
    return candidate if files is None else compute_session(files)


def _compute_chunk(chunk: Sequence[Candidate]) -> list[SessionRecord | Candidate]:
    """Compute a chunk, each record packed (its rows as two JSON strings) for the trip home."""
    results = [compute_candidate(candidate) for candidate in chunk]
    for result in results:
        if isinstance(result, SessionRecord):
            result.pack()
            result.images = []
            result.variations = []
    return results


def index_root(
    root: Path,
    store: Store,
    *,
    force: bool = False,
    dry_runs: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> ScanReport:
    """Bring ``store`` up to date with the sessions under ``root``."""
    started = time.perf_counter()
    report = ScanReport()
    candidates = find_candidates(root, dry_runs=dry_runs)
    known = store.scan_state()
    todo = [c for c in candidates if force or _needs_compute(c, known.get(c.session_id))]
    report.scanned = len(candidates)
    report.unchanged = len(candidates) - len(todo)
    present: set[str] = {c.session_id for c in candidates}
    for result in _computed(todo, progress=progress, workers=workers, writer=store):
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
    todo: list[Candidate], *, progress: bool, workers: int | None, writer: Store
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
