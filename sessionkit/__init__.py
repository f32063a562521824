"""sessionkit: explore Stable Diffusion generation sessions in Jupyter.

The public names are below; widgets live in ``sessionkit.widgets`` so that
``import sessionkit`` stays fast and never imports ipywidgets or plotly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessionkit.detailfiles import DetailsUnwritable
from sessionkit.errors import SessionKitError
from sessionkit.kit import (
    UNSET,
    InvalidSessionId,
    NotConfigured,
    SessionKit,
    UnknownImage,
    UnknownSession,
)
from sessionkit.query import InvalidFilter
from sessionkit.scan import ScanReport
from sessionkit.store import (
    NEVER_EDITED,
    DatabaseLocked,
    InvalidMetadata,
    MetadataConflict,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from sessionkit.analysis import NotCombinatorial
    from sessionkit.mirror import QueryError

_LAZY = {"NotCombinatorial": "sessionkit.analysis", "QueryError": "sessionkit.mirror"}
"""Names whose modules load pandas or DuckDB: imported on first use, so that a
command that only indexes or marks does not pay for them."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sessionkit' has no attribute {name!r}")


__version__ = "0.2.0.dev0"

__all__ = [
    "NEVER_EDITED",
    "UNSET",
    "DatabaseLocked",
    "DetailsUnwritable",
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
