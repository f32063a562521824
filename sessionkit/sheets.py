"""Contact sheets: a session's thumbnails laid out in a grid, as HTML.

The grid comes from ``kit.image_grid(session_id, rows, columns)``; this
module only renders it. Every label is HTML-escaped (seed values and
placeholder values come from manifests), and each image is inlined as a
small cached thumbnail, so the sheet is one self-contained HTML string for
``IPython.display.HTML``.
"""

from __future__ import annotations

import html

import pandas as pd

from sessionkit.thumbs import ThumbnailCache

EMPTY_CELL = '<td class="sk-sheet-empty">—</td>'
STYLE = (
    "<style>.sk-sheet{border-collapse:collapse;font-size:12px}"
    ".sk-sheet th,.sk-sheet td{border:1px solid #ddd;padding:4px;text-align:center;"
    "vertical-align:middle;max-width:180px;overflow-wrap:anywhere}"
    ".sk-sheet img{display:block;max-width:160px;margin:auto}</style>"
)


def contact_sheet(
    grid: pd.DataFrame, thumbs: ThumbnailCache, *, rows: str = "row", columns: str = "column"
) -> str:
    """An HTML table: one row per distinct ``row`` value, one column per ``column`` value.

    ``rows`` and ``columns`` name the axes in the header corner
    (e.g. ``"seed"`` and ``"EXPRESSIONS"``).
    """
    row_values = _ordered(grid["row"])
    column_values = _ordered(grid["column"])
    paths = {(r, c): p for r, c, p in zip(grid["row"], grid["column"], grid["path"], strict=True)}
    corner = f"{html.escape(rows)} \\ {html.escape(columns)}"
    header = "".join(f"<th>{html.escape(str(value))}</th>" for value in column_values)
    body = "".join(
        f"<tr><th>{html.escape(str(row))}</th>"
        + "".join(_cell(paths.get((row, column)), thumbs) for column in column_values)
        + "</tr>"
        for row in row_values
    )
    return (
        f'{STYLE}<table class="sk-sheet"><thead><tr><th>{corner}</th>{header}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _ordered(values: pd.Series) -> list[object]:
    """Distinct values, sorted when they are comparable (seeds, names), else as they come."""
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct, key=lambda value: (str(type(value)), value))
    except TypeError:
        return distinct


def _cell(path: str | None, thumbs: ThumbnailCache) -> str:
    if path is None:
        return EMPTY_CELL
    name = html.escape(path.rsplit("/", 1)[-1], quote=True)
    return f'<td><img src="{thumbs.data_uri(path)}" alt="{name}" title="{name}"></td>'
