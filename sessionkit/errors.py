"""The root of sessionkit's exceptions.

Each specific exception lives next to the code that raises it (``store``,
``kit``); they all derive from :class:`SessionKitError`, so callers (the CLI,
the widgets) catch one class and show its message. Messages are written for
the user: they say what was wrong and, where there is one, what to do.
"""

from __future__ import annotations


class SessionKitError(Exception):
    """Base class of every error sessionkit raises on purpose."""
