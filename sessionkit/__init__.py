"""sessionkit: explore Stable Diffusion generation sessions in Jupyter.

The public names are below; widgets live in ``sessionkit.widgets`` so that
``import sessionkit`` stays fast and never imports ipywidgets or plotly.
"""

from __future__ import annotations

from sessionkit.analysis import NotCombinatorial
from sessionkit.errors import SessionKitError
from sessionkit.kit import (
    UNSET,
    InvalidSessionId,
    NotConfigured,
    SessionKit,
    UnknownImage,
    UnknownSession,
)
from sessionkit.mirror import QueryError
from sessionkit.query import InvalidFilter
from sessionkit.scan import ScanReport
from sessionkit.store import (
    NEVER_EDITED,
    DatabaseLocked,
    InvalidMetadata,
    MetadataConflict,
    StoreUnavailable,
)

__version__ = "0.2.0.dev0"

__all__ = [
    "NEVER_EDITED",
    "UNSET",
    "DatabaseLocked",
    "InvalidFilter",
    "InvalidMetadata",
    "InvalidSessionId",
    "MetadataConflict",
    "NotCombinatorial",
    "NotConfigured",
    "QueryError",
    "ScanReport",
    "SessionKit",
    "SessionKitError",
    "StoreUnavailable",
    "UnknownImage",
    "UnknownSession",
    "__version__",
]
