"""Notebook widgets (ipywidgets 8, anywidget): the session browser, detail, editor, images.

Imported separately from :mod:`sessionkit` so the CLI never loads ipywidgets.
"""

from __future__ import annotations

from sessionkit.widgets.address import PageAddress
from sessionkit.widgets.browser import SessionBrowser
from sessionkit.widgets.debounce import KernelScheduler, ManualScheduler, ThreadScheduler
from sessionkit.widgets.detail import SessionDetail
from sessionkit.widgets.editor import MetadataEditor
from sessionkit.widgets.images import ImageCompare, ImageGrid, ImageViewer

__all__ = [
    "ImageCompare",
    "ImageGrid",
    "ImageViewer",
    "KernelScheduler",
    "ManualScheduler",
    "MetadataEditor",
    "PageAddress",
    "SessionBrowser",
    "SessionDetail",
    "ThreadScheduler",
]
