"""Shared pytest set-up: tests import their helpers (``builders``) from this folder."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sessionkit import SessionKit
from sessionkit.demo import write_demo_root

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _fail_on_swallowed_callback_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """``Button.click()`` only logs a handler's exception: make that a test failure."""
    caplog.set_level(logging.WARNING)
    yield
    swallowed = [r for r in caplog.records if "Exception in callback" in r.getMessage()]
    if swallowed:
        pytest.fail(f"a widget callback raised: {swallowed[0].getMessage()}", pytrace=False)


@pytest.fixture(autouse=True)
def _data_folder_of_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default databases go to the test's own data folder, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


DEMO_ANCHOR = date(2026, 11, 24)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default 24-session demo root, written once and only read by the widget tests."""
    return write_demo_root(tmp_path_factory.mktemp("demo") / "root", anchor=DEMO_ANCHOR).root


@pytest.fixture
def demo_kit(demo_root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    """A kit on the demo root with a fresh database of its own, indexed."""
    with SessionKit(demo_root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        yield kit
