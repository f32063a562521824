"""Schedulers for the editor's debounced auto-save.

Time is injected so that the same editor works in three places: inside a
Jupyter kernel the save must run on the kernel's own asyncio loop (next to
the widgets, when the kernel is idle); in a plain Python process nobody runs
a loop, so a timer thread does it; and tests drive a manual clock, so they
are instant and deterministic. "Is a loop running?" is not a safe way to tell
a kernel apart (Playwright and pytest-asyncio leave a loop marked running;
see docs/development.md): we look for the kernel.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

Callback = Callable[[], None]
_EPSILON_S = 1e-9
"""Tolerance of the manual clock: 0.3 + 0.7 must reach a 1.0 s deadline."""


class Handle(Protocol):
    """What a scheduler returns: a way to call the pending callback off."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Run ``callback`` once, ``delay`` seconds from now, unless cancelled."""

    def call_later(self, delay: float, callback: Callback) -> Handle: ...


class ThreadScheduler:
    """``threading.Timer``: fires from its own thread, for plain Python processes."""

    def call_later(self, delay: float, callback: Callback) -> Handle:
        timer = threading.Timer(delay, callback)
        timer.daemon = True  # a pending save must not keep the interpreter alive
        timer.start()
        return timer


class _LoopHandle:
    """Cancels a callback that may not have reached the loop yet (scheduled from a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inner: asyncio.TimerHandle | None = None
        self._cancelled = False

    def attach(self, inner: asyncio.TimerHandle) -> None:
        with self._lock:
            self._inner = inner
            if self._cancelled:
                inner.cancel()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._inner is not None:
                self._inner.cancel()


class KernelScheduler:
    """The IPython kernel's asyncio loop: saves run on the main thread when the kernel is idle."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def call_later(self, delay: float, callback: Callback) -> Handle:
        handle = _LoopHandle()

        def arm() -> None:
            handle.attach(self.loop.call_later(delay, callback))

        # call_later is only safe from the loop's own thread; from anywhere else
        # hand the arming over to the loop.
        self.loop.call_soon_threadsafe(arm)
        return handle


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    callback: Callback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A clock that moves only when told to: ``advance(seconds)`` runs what fell due."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[_Entry] = []
        self._order = itertools.count()

    def call_later(self, delay: float, callback: Callback) -> Handle:
        entry = _Entry(self.now + delay, next(self._order), callback)
        heapq.heappush(self._queue, entry)
        return entry

    def advance(self, seconds: float) -> None:
        """Move the clock on, running each due callback at its own time, in order."""
        end = self.now + seconds
        while self._queue and self._queue[0].due <= end + _EPSILON_S:
            entry = heapq.heappop(self._queue)
            if not entry.cancelled:
                self.now = entry.due
                entry.callback()
        self.now = end

    @property
    def pending(self) -> int:
        """How many callbacks are still waiting (cancelled ones excluded)."""
        return sum(not entry.cancelled for entry in self._queue)


def default_scheduler() -> Scheduler:
    """The kernel's loop inside a Jupyter kernel, a timer thread anywhere else."""
    loop = kernel_loop()
    return ThreadScheduler() if loop is None else KernelScheduler(loop)


def kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The loop of the IPython kernel this code runs in; ``None`` outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()
