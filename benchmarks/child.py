"""Measurements that must run in a fresh process (imports, peak memory).

``python -m benchmarks.child index ROOT DB``: a cold index into a fresh db.
``python -m benchmarks.child open DB``: open a db and answer ``kit.sessions()``.
``python -m benchmarks.child memory DB``: open a db, load every relation, run
the aggregations, and report the peak RSS.
``python -m benchmarks.child first_images DB``: a new process's first query
naming ``images``, from the start of the process.

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

STARTED = time.perf_counter()


def _status_mb(field: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    """This process's own peak RSS.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across
    ``exec``, so a child started by a parent holding 500 MB reports at
    least 500 MB. ``VmHWM`` belongs to this process's own memory map.
    """
    return _status_mb("VmHWM")


def _workers_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB


def _current_mb() -> float:
    """Resident memory now (what the process holds after the peak has passed)."""
    return _status_mb("VmRSS")


def index(root: str, db: str) -> dict[str, Any]:
    from sessionkit import SessionKit

    imported = time.perf_counter()
    with SessionKit(root=root, db=db, progress=False) as kit:
        report = kit.index()
        done = time.perf_counter()
    return {
        "seconds": done - imported,
        "imports": imported - STARTED,
        "computed": report.computed,
        "failed": len(report.failed),
        "peak_main_mb": _peak_mb(),
        "peak_worker_mb": _workers_peak_mb(),
    }


def open_first_query(db: str) -> dict[str, Any]:
    from sessionkit import SessionKit

    imported = time.perf_counter()
    kit = SessionKit(db=db, progress=False)
    rows = len(kit.sessions())
    done = time.perf_counter()
    kit.close()
    return {"seconds": done - STARTED, "imports": imported - STARTED, "rows": rows}


def first_images(db: str) -> dict[str, Any]:
    """A new process's first query naming ``images`` (imports and opening included)."""
    from sessionkit import SessionKit

    kit = SessionKit(db=db, progress=False)
    frame = kit.sql("SELECT count(*) AS n, count(DISTINCT prompt) AS prompts FROM images")
    done = time.perf_counter()
    kit.close()
    return {"seconds": done - STARTED, "images": int(frame["n"][0])}


def memory(db: str) -> dict[str, Any]:
    from sessionkit import SessionKit

    kit = SessionKit(db=db, progress=False)
    kit.sessions()
    opened = _peak_mb()
    started = time.perf_counter()
    kit.mirror.ensure_details()
    details = time.perf_counter() - started
    images = kit.sql("SELECT count(*) AS n FROM images")["n"][0]
    kit.seed_sweeps()
    kit.placeholder_values()
    kit.sessions(limit=None)
    result = {
        "peak_open_mb": opened,
        "peak_mb": _peak_mb(),
        "settled_mb": _current_mb(),
        "details_seconds": details,
        "images": int(images),
    }
    kit.close()
    return result


def main(argv: list[str]) -> None:
    command, *args = argv
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "index": index,
        "open": open_first_query,
        "memory": memory,
        "first_images": first_images,
    }
    print(json.dumps(commands[command](*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
