"""Shared pieces of the browser tests: Chromium, servers run as process groups, artifacts.

These tests run in their own pytest process (``make test`` does it): the
Playwright sync API leaves an asyncio loop marked running in the main
thread, which would mislead the widget tests about being in a kernel
(docs/development.md). A missing browser is a failure, never a skip: CI
installs Debian's chromium, and a test that silently skipped would prove
nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("SESSIONKIT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("SESSIONKIT_E2E_ARTIFACTS", REPO / "tests_e2e" / "artifacts"))
LAUNCH_ARGS = [
    # as root and offline (docs/development.md): no sandbox, no GPU, nothing from the network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 60.0
"""Generous: a loaded CI machine starts Jupyter in a few seconds, but never fails on that."""


def free_port() -> int:
    """A port nobody listens on now (the OS picks it; the tiny race is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def jupyter_env(home: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The environment of an isolated Jupyter: no user config, settings or workspace leak in.

    The notification settings keep JupyterLab's "news?" toast from covering the page; no
    autosave, so that running the committed notebooks never writes their outputs.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTERLAB_SETTINGS_DIR": home / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    # a test runs the committed notebooks: an autosave would write their outputs into git
    docmanager = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True, exist_ok=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False}), encoding="utf-8"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("SESSIONKIT_")}
    env.update({key: str(value) for key, value in dirs.items()})
    env.update(extra)
    return env


class Server:
    """A server process in its own process group, so that stopping it stops its kernels too."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        """Poll ``ready`` until it holds; fail with the server's log if the process died first."""
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{what} exited with {self.process.returncode}:\n{self.output()}")
            if ready():
                return
            time.sleep(0.1)  # polling a socket: there is no event to wait for
        pytest.fail(f"{what} not ready after {SERVER_START_S:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers: no kernel outlives a test."""
        if self.process.poll() is None:
            with_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with_group(self.process.pid, signal.SIGKILL)  # kernels the server left behind


def with_group(pid: int, sig: signal.Signals) -> None:
    """Signal the group ``pid`` leads (started with ``start_new_session``); gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def listening(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def answers(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # our localhost
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no browser at {CHROMIUM}: apt-get install -y chromium chromium-driver "
            "(make test does it), or point SESSIONKIT_CHROMIUM at one"
        )
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield launched
    launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so the page fixture knows if the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; on failure its screenshot and console go to the artifacts folder."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    console: list[str] = []

    def record(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")

    opened.on("console", record)
    opened.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / f"failed-{request.node.name}"
        try:
            opened.screenshot(path=f"{stem}.png", full_page=True)
        except Exception as exc:  # the page may be the thing that broke
            console.append(f"(no screenshot: {exc})")
        Path(f"{stem}.console.txt").write_text("\n".join(console) + "\n", encoding="utf-8")
        print(f"failure artifacts: {stem}.png, {stem}.console.txt", file=sys.stderr)
    context.close()


def artifact(name: str) -> Path:
    """Where a test writes a file meant to be looked at (screenshots)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
