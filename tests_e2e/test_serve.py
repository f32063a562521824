"""``sessionkit serve`` as a server: its token, the index first, and closed pages' kernels.

Voila starts a kernel (~170 MB) for every page it serves, ahead of time (one
is kept ready for the next page); without the culler each stays until the
server stops. Here a page is opened in Chromium, left idle longer than
``--cull-after`` (its kernel must stay: the page is open), then closed (its
kernel must go, the one kept ready must stay).
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from sessionkit.demo import write_demo_root
from tests_e2e.conftest import Server, free_port, jupyter_env, listening

CULL_AFTER_S = 3
PAGE_LOAD_MS = 120_000
"""Generous: on a busy CI machine a page load can take tens of seconds; a hang still ends."""
TOKEN = "e2e-serve-token"  # noqa: S105 - the test server's own
CULLED_WITHIN_S = 30.0
"""The culler looks every second here; the rest is room for a loaded machine."""


def kernels(server: int) -> list[int]:
    """Process ids of the kernels started under ``server`` (each in a process group of its own)."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # after the name: ppid
    found = []
    for pid, command in commands.items():
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, server):
            ancestor = parents.get(ancestor)
        if ancestor == server and b"ipykernel" in command:
            found.append(pid)
    return found


def wait_for_kernels(server: Server, count: int) -> list[int]:
    """The server's kernels once there are ``count`` of them."""
    server.wait_until(lambda: len(kernels(server.process.pid)) == count, f"{count} kernel(s)")
    return kernels(server.process.pid)


def test_a_closed_pages_kernel_is_stopped(browser: Browser, tmp_path: Path) -> None:
    root = write_demo_root(tmp_path / "root", sessions=12).root
    port = free_port()
    command = [
        *(sys.executable, "-m", "sessionkit", "serve", "--root", str(root)),
        *("--db", str(tmp_path / "sessions.db"), "--port", str(port)),
        *("--cull-after", str(CULL_AFTER_S), "--token", TOKEN),
    ]
    server = Server(command, jupyter_env(tmp_path / "jupyter"), tmp_path / "voila.log")
    try:
        server.wait_until(listening(port), "sessionkit serve")
        log = server.output()
        assert "indexing: 100%" in log and "scanned 12" in log  # before Voila listened

        ready = wait_for_kernels(server, 1)  # the kernel kept ready for the next page
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}", timeout=PAGE_LOAD_MS)
        expect(page.locator(".sk-card").first).to_be_visible(timeout=PAGE_LOAD_MS)
        [kernel] = ready  # the page took it; Voila starts another for the next page
        wait_for_kernels(server, 2)
        time.sleep(CULL_AFTER_S + 2)  # idle for longer than --cull-after, with the page open
        assert kernel in kernels(server.process.pid)

        page.close()
        deadline = time.monotonic() + CULLED_WITHIN_S
        while kernel in kernels(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)  # the culler runs on its own clock: nothing to wait on
        if kernel in kernels(server.process.pid):
            pytest.fail(f"the kernel of the closed page still runs:\n{server.output()}")
        assert len(kernels(server.process.pid)) == 1  # the ready kernel is never culled
        assert server.process.poll() is None
    finally:
        server.stop()


def status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a GET (redirects not followed: a login page would be a way in)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our localhost
        with opener.open(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_every_request_needs_the_token(tmp_path: Path) -> None:
    """Real HTTP requests: without the token 403 and no kernel; with it, the page."""
    root = write_demo_root(tmp_path / "root", sessions=4).root
    port = free_port()
    command = [
        *(sys.executable, "-m", "sessionkit", "serve", "--root", str(root)),
        *("--db", str(tmp_path / "sessions.db"), "--port", str(port), "--token", TOKEN),
    ]
    server = Server(command, jupyter_env(tmp_path / "jupyter"), tmp_path / "voila.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(listening(port), "sessionkit serve")
        assert f"serving the session browser on {base}/?token={TOKEN}" in server.output()
        ready = wait_for_kernels(server, 1)
        for path in ("/", "/?token=wrong", "/voila/render/app.ipynb", "/api/kernels"):
            assert status(base + path) in (401, 403), path
        assert status(base + "/", {"Authorization": "token wrong"}) in (401, 403)
        time.sleep(2)  # a kernel started for a refused request would show by now
        assert kernels(server.process.pid) == ready
        assert status(f"{base}/?token={TOKEN}") == 200
        assert status(base + "/", {"Authorization": f"token {TOKEN}"}) == 200
    finally:
        server.stop()
