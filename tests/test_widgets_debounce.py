"""The schedulers behind the auto-save: manual clock, timer thread, kernel loop."""

from __future__ import annotations

import asyncio
import threading
import types

import pytest

from sessionkit.widgets import debounce
from sessionkit.widgets.debounce import KernelScheduler, ManualScheduler, ThreadScheduler


def test_the_manual_clock_runs_due_callbacks_in_order() -> None:
    clock = ManualScheduler()
    fired: list[str] = []
    clock.call_later(1.0, lambda: fired.append("late"))
    clock.call_later(0.5, lambda: fired.append("early"))
    cancelled = clock.call_later(0.7, lambda: fired.append("cancelled"))
    cancelled.cancel()
    assert clock.pending == 2
    clock.advance(0.6)
    assert fired == ["early"]
    clock.advance(0.4)
    assert fired == ["early", "late"] and clock.pending == 0


def test_callbacks_scheduled_by_callbacks_run_when_due() -> None:
    clock = ManualScheduler()
    fired: list[float] = []

    def chain() -> None:
        clock.call_later(0.5, lambda: fired.append(clock.now))

    clock.call_later(0.5, chain)
    clock.advance(2)
    assert fired == [1.0]


def test_the_thread_scheduler_fires_and_cancels() -> None:
    fired = threading.Event()
    ThreadScheduler().call_later(0.001, fired.set)
    assert fired.wait(5)
    never = threading.Event()
    ThreadScheduler().call_later(60, never.set).cancel()
    assert not never.is_set()


def test_the_kernel_scheduler_runs_on_its_loop_even_when_armed_from_a_thread() -> None:
    loop = asyncio.new_event_loop()
    try:
        scheduler = KernelScheduler(loop)
        fired: list[str] = []
        done = loop.create_future()
        scheduler.call_later(0, lambda: fired.append("main"))
        scheduler.call_later(0, lambda: fired.append("cancelled")).cancel()
        thread = threading.Thread(
            target=lambda: scheduler.call_later(0, lambda: done.set_result(True))
        )
        thread.start()
        thread.join()
        loop.run_until_complete(asyncio.wait_for(done, 5))
        assert fired == ["main"]
    finally:
        loop.close()


def test_default_scheduler_outside_a_kernel_is_a_thread() -> None:
    assert isinstance(debounce.default_scheduler(), ThreadScheduler)


def test_default_scheduler_inside_a_kernel_uses_its_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        scheduler = debounce.default_scheduler()
        assert isinstance(scheduler, KernelScheduler) and scheduler.loop is loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_a_plain_ipython_shell_is_not_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace())
    assert isinstance(debounce.default_scheduler(), ThreadScheduler)
