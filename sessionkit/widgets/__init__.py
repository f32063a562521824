"""Notebook widgets (ipywidgets 8): the session browser, the detail view and the editor.

Imported separately from :mod:`sessionkit` so the CLI never loads ipywidgets.
"""

from __future__ import annotations

from sessionkit.widgets.browser import SessionBrowser
from sessionkit.widgets.debounce import KernelScheduler, ManualScheduler, ThreadScheduler
from sessionkit.widgets.detail import SessionDetail
from sessionkit.widgets.editor import MetadataEditor

__all__ = [
    "KernelScheduler",
    "ManualScheduler",
    "MetadataEditor",
    "SessionBrowser",
    "SessionDetail",
    "ThreadScheduler",
]
