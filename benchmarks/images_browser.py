"""The image widgets in a real browser: next image, a mark made durable, the grid drawn.

Usage: ``python -m benchmarks.images_browser [--runs 10] [--loads 3] [--chromium PATH]``.

One session of 100 images, each a ~1 MB 832x1216 PNG, is written to a
temporary root and indexed, its thumbnails cached. Voila serves a notebook
showing ``ImageGrid`` for it, and Chromium (driven by Playwright) measures:

* **grid drawn**: from the grid's root appearing in the page to every one
  of the 100 thumbnails loaded, on ``--loads`` fresh pages (target < 300 ms
  median, thumbnails cached);
* **next image**: from the ``→`` keydown to the next image's ``load`` event
  in the viewer, both timed inside the page (target < 80 ms, median);
* **mark durable**: from just before the ``l``/``d`` key is sent to the row
  being seen in ``sessions.db`` by another sqlite3 connection (target
  < 100 ms, median; includes Playwright's own dispatch, so an upper bound).

Every figure is printed with its ratio to the target. Not a test: timings
belong here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from sessionkit import SessionKit
from sessionkit.demo import write_demo_root

IMAGES = 100
WIDTH, HEIGHT = 832, 1216
NEXT_TARGET_MS = 80.0
MARK_TARGET_MS = 100.0
GRID_TARGET_MS = 300.0
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
GRID_DRAWN = """() => new Promise((resolve) => {
  // started before the notebook runs: the grid's root appearing is time zero
  const watch = new MutationObserver(() => {
    const grid = document.querySelector(".sk-ig");
    if (!grid || window.__gridStart) return;
    window.__gridStart = performance.now();
    const check = () => {
      const images = [...grid.querySelectorAll(".sk-ig-thumb")];
      if (images.length >= %d && images.every((img) => img.complete && img.naturalWidth > 0)) {
        watch.disconnect();
        resolve(performance.now() - window.__gridStart);
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
  watch.observe(document, { childList: true, subtree: true });
})"""
ARM_NEXT = """() => {
  // keydown (capture, before the widget) to the viewer's image load event
  const image = document.querySelector(".sk-iv-image");
  window.__next = new Promise((resolve) => {
    let start = 0;
    const options = { capture: true, once: true };
    document.addEventListener("keydown", () => { start = performance.now(); }, options);
    image.addEventListener("load", () => resolve(performance.now() - start), { once: true });
  });
}"""


def big_png(index: int) -> bytes:
    """An 832x1216 PNG of about 1 MB: a third noise (incompressible), the rest a gradient."""
    noisy = HEIGHT // 3
    noise = Image.frombytes("RGB", (WIDTH, noisy), os.urandom(WIDTH * noisy * 3))
    image = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    image.paste(noise, (0, (index * 37) % (HEIGHT - noisy)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def prepare(base: Path) -> tuple[Path, Path, str, list[str]]:
    """A root whose first session has 100 big PNGs, indexed, thumbnails cached."""
    root = write_demo_root(
        base / "root", sessions=2, images_per_session=IMAGES, anchor=date(2026, 1, 15)
    ).root
    db = base / "sessions.db"
    with SessionKit(root, db, progress=False) as kit:
        kit.index()
        session_id = next(
            str(name)
            for name in kit.sessions(limit=None)["session_id"]
            if len(kit.images(str(name))) == IMAGES
        )
        folder = Path(kit.stats(session_id)["session_path"])
        names = [str(name) for name in kit.images(session_id)["filename"]]
        for index, name in enumerate(names):
            (folder / name).write_bytes(big_png(index))
        kit.index()
        for name in names:
            kit.thumbs.thumbnail(folder / name)
    return root, db, session_id, names


def notebook(root: Path, db: Path, session_id: str) -> dict[str, object]:
    source = (
        "from sessionkit import SessionKit\n"
        "from sessionkit.widgets import ImageGrid\n"
        f"kit = SessionKit({str(root)!r}, {str(db)!r}, progress=False)\n"
        f"ImageGrid(kit, {session_id!r})"
    )
    return {
        "cells": [
            {
                "cell_type": "code",
                "source": source,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "id": "grid",
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@contextmanager
def voila(path: Path, home: Path) -> Iterator[str]:
    """Voila on ``path`` on a free port, in its own process group; stopped on exit."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
    }
    command = [sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}"]
    with (home / "voila.log").open("wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its kernels are in the group too
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def stored_rating(db: Path, session_id: str, filename: str) -> str | None:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT rating FROM image_metadata WHERE session_id = ? AND filename = ?",
            (session_id, filename),
        ).fetchone()
    return str(row[0]) if row and row[0] else None


def measure_grid(page: Page, url: str, loads: int) -> list[float]:
    """The grid drawn on ``loads`` fresh pages (each a new kernel and a new view)."""
    times = []
    for _ in range(loads):
        page.goto("about:blank")
        page.goto(url, wait_until="commit")
        times.append(page.evaluate(GRID_DRAWN % IMAGES))
    return times


def measure(
    page: Page, url: str, db: Path, session_id: str, names: list[str], runs: int
) -> dict[str, list[float]]:
    """The viewer's next image and a mark made durable, ``runs`` times each."""
    page.goto("about:blank")
    page.goto(url, wait_until="commit")
    page.locator(".sk-ig-cell").first.wait_for()
    page.locator(".sk-ig-cell").first.click()
    viewer = page.locator(".sk-iv")
    viewer.wait_for()
    page.wait_for_function(
        f"document.querySelector('.sk-iv').dataset.loaded === {json.dumps(names[0])}"
    )
    next_ms: list[float] = []
    mark_ms: list[float] = []
    for step in range(1, runs + 1):
        page.wait_for_timeout(400)  # the prefetch of the next image has landed, as for a user
        page.evaluate(ARM_NEXT)
        page.keyboard.press("ArrowRight")
        next_ms.append(page.evaluate("window.__next"))
        wanted = "like" if step % 2 else "dislike"
        start = time.perf_counter()
        page.keyboard.press("l" if step % 2 else "d")
        while stored_rating(db, session_id, names[step]) != wanted:
            if time.perf_counter() - start > 5:
                raise RuntimeError(f"the mark on {names[step]} never reached sessions.db")
            time.sleep(0.001)
        mark_ms.append((time.perf_counter() - start) * 1000)
    return {"next": next_ms, "mark": mark_ms}


def report(figures: dict[str, list[float]]) -> str:
    lines = []
    for label, key, target in (
        ("100-image grid drawn, thumbnails cached", "grid", GRID_TARGET_MS),
        ("viewer next image (1 MB 832x1216 PNG), keydown to load", "next", NEXT_TARGET_MS),
        ("image mark durable in SQLite after the key", "mark", MARK_TARGET_MS),
    ):
        values = figures[key]
        median = statistics.median(values)
        verdict = "met" if median < target else "MISSED"
        spread = (
            f" (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
            if len(values) > 1
            else ""
        )
        ratio = f"{median / target:.2f}x {verdict}"
        lines.append(f"{label}: {median:.1f} ms median{spread}; target < {target:.0f} ms: {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=10, help="viewer steps and marks to time (default 10)"
    )
    parser.add_argument(
        "--loads", type=int, default=3, help="page loads timing the grid (default 3)"
    )
    parser.add_argument(
        "--chromium", default=os.environ.get("SESSIONKIT_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sessionkit-images-bench-") as temporary:
        base = Path(temporary)
        root, db, session_id, names = prepare(base)
        path = base / "grid.ipynb"
        path.write_text(json.dumps(notebook(root, db, session_id)), encoding="utf-8")
        with voila(path, base) as url, sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.set_default_timeout(60_000)
            figures = measure(page, url, db, session_id, names, min(args.runs, IMAGES - 1))
            figures["grid"] = measure_grid(page, url, args.loads)
            browser.close()
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
