"""Notebook 1 in a real JupyterLab: Run All renders the browser, and a filter chip works.

JupyterLab shows "Idle" before the kernel is attached, and Run All at that
moment clears the cells without running them (docs/development.md): we wait
for the debugger button to be enabled as well, the sign of a kernel that
really answers.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from sessionkit.demo import write_demo_root
from tests_e2e.conftest import REPO, Server, answers, artifact, free_port, jupyter_env

NOTEBOOK = "01_browse_sessions.ipynb"
KERNEL_READY = ".jp-NotebookPanel .jp-DebuggerBugButton[aria-disabled='false']"
RUN_S = 90_000
"""Run All: kernel start, imports, index and the browser, generous for a loaded machine."""


@dataclass(frozen=True)
class Lab:
    url: str


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a copy of notebook 1, isolated from the user's Jupyter, on a fresh demo root.

    A copy, because JupyterLab writes checkpoints beside what it opens, and
    the repository's notebooks must stay as committed.
    """
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, notebooks / NOTEBOOK)
    root = write_demo_root(home / "root", anchor=date(2026, 11, 24)).root
    port, token = free_port(), secrets.token_hex(16)
    command = [
        *(sys.executable, "-m", "jupyter", "lab", "--no-browser"),
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        "--LabApp.news_url=None",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = jupyter_env(
        home / "jupyter",
        {"SESSIONKIT_ROOT": str(root), "SESSIONKIT_DB": str(home / "sessions.db")},
    )
    server = Server(command, env, home / "lab.log")
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(answers(f"{base}/api/status?token={token}"), "jupyter lab")
        yield Lab(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
    finally:
        server.stop()


def run_all(page: Page, lab: Lab) -> None:
    """Open notebook 1 and Run All as a user would (menus); wait until the last cell ran."""
    page.goto(lab.url)
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    expect(page.locator(KERNEL_READY)).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible()

    page.locator(".jp-NotebookPanel").click()  # the menu acts on the focused notebook
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # the last cell's execution count appears once everything above it ran
    last = page.locator(".jp-NotebookPanel .jp-CodeCell").last
    expect(last.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=RUN_S)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_be_attached()


def test_notebook_1_runs_and_its_browser_filters(page: Page, lab: Lab) -> None:
    """Run All, then check the widgets drew and answer a click."""
    run_all(page, lab)
    # an exception or a failed assert cell shows as stderr output with the error's name
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert stderr.filter(has_text=re.compile("Error|Traceback")).all_inner_texts() == []

    browser = page.locator(".sk-browser")
    expect(browser).to_be_visible()
    expect(browser.locator(".sk-card").first).to_be_visible()
    body = page.locator("body")
    expect(body).not_to_contain_text("Error displaying widget")
    expect(body).not_to_contain_text("Loading widget")

    describe = browser.locator(".sk-describe")
    before = describe.inner_text()
    assert re.fullmatch(r"\d+ sessions", before), before
    seed_sweep = browser.locator(".sk-chip-seed_sweep")
    count = re.fullmatch(r"Seed sweep \((\d+)\)", seed_sweep.inner_text())
    assert count, seed_sweep.inner_text()
    seed_sweep.click()
    expect(describe).to_have_text(f"{count[1]} sessions where seed sweep")
    expect(browser.locator(".sk-card:visible")).to_have_count(int(count[1]))


CELL_KEYS = ("a", "b", "x", "d", "d", "m", "ArrowUp", "ArrowDown", "Shift+Enter", "z", "c", "v")
"""Command-mode shortcuts: insert, delete, to markdown, move, run, undo, copy, paste."""


def notebook_state(page: Page) -> tuple[int, int, int]:
    """Cells, markdown cells, and the active cell's position: what a stray shortcut changes."""
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    active: int = page.evaluate(
        "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')]"
        ".findIndex((cell) => cell.classList.contains('jp-mod-active'))"
    )
    return cells.count(), page.locator(".jp-NotebookPanel .jp-MarkdownCell").count(), active


def press_all(page: Page) -> None:
    for key in CELL_KEYS:
        page.keyboard.press(key)
    page.wait_for_timeout(300)  # a shortcut acts at once; give a stray one time to show


def test_keys_in_the_widgets_never_reach_jupyterlab(page: Page, lab: Lab) -> None:
    """a, b, x, d d, m, arrows, Shift+Enter... on a focused card, detail and editor change no cell.

    The control at the end proves the check can fail: the same key pressed on
    the notebook itself does insert a cell.
    """
    run_all(page, lab)
    browser = page.locator(".sk-browser")
    card = browser.locator(".sk-card:visible .sk-hit").first
    expect(card).to_be_visible()
    card.focus()  # the notebook makes the widget's cell the active one
    before = notebook_state(page)
    press_all(page)
    assert notebook_state(page) == before

    page.keyboard.press("Enter")  # opens the focused card
    expect(browser.locator(".sk-detail .sk-header")).to_be_visible()
    browser.locator(".sk-detail .sk-header").evaluate("(el) => el.scrollIntoView()")
    page.screenshot(path=artifact("lab-1280x900-detail.png"))

    browser.locator(".sk-detail .sk-refresh").focus()  # Shift+Enter refreshes: harmless
    press_all(page)
    assert notebook_state(page) == before

    browser.locator(".sk-editor .sk-test").focus()
    for key in ("a", "b", "x", "d", "d", "m", "ArrowUp", "ArrowDown"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert notebook_state(page) == before
    page.keyboard.press("Escape")  # closes the detail, and changes no cell either
    expect(browser.locator(".sk-detail")).to_be_hidden()
    assert notebook_state(page) == before

    # the control: the notebook in command mode takes the same key
    page.locator(".jp-NotebookPanel .jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    expect(page.locator(".jp-NotebookPanel .jp-Cell")).to_have_count(before[0] + 1)
