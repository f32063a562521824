"""Contact sheets: a session's thumbnails laid out in a grid, as HTML.

The grid comes from ``kit.image_grid(session_id, rows, columns)``; this
module only renders it, each image's marks (👍/👎, stars) under it. Every
label is HTML-escaped (seed values and placeholder values come from
manifests), and each image is inlined as a small cached thumbnail, so the
sheet is one self-contained HTML string for ``IPython.display.HTML``.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from sessionkit.thumbs import ThumbnailCache

EMPTY_CELL = '<td class="sk-sheet-empty">—</td>'
RATING_SYMBOLS = {"like": "👍", "dislike": "👎"}
STYLE = (
    "<style>.sk-sheet{border-collapse:collapse;font-size:12px}"
    ".sk-sheet th,.sk-sheet td{border:1px solid #ddd;padding:4px;text-align:center;"
    "vertical-align:middle;max-width:180px;overflow-wrap:anywhere}"
    ".sk-sheet img{display:block;max-width:160px;margin:auto}"
    ".sk-marks{margin-top:2px;color:#b8860b;white-space:nowrap}</style>"
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
    cells = {
        (cell["row"], cell["column"]): {str(key): value for key, value in cell.items()}
        for cell in grid.to_dict("records")
    }
    corner = f"{html.escape(rows)} \\ {html.escape(columns)}"
    header = "".join(f"<th>{html.escape(str(value))}</th>" for value in column_values)
    body = "".join(
        f"<tr><th>{html.escape(str(row))}</th>"
        + "".join(_cell(cells.get((row, column)), thumbs) for column in column_values)
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


def _cell(cell: dict[str, Any] | None, thumbs: ThumbnailCache) -> str:
    if cell is None:
        return EMPTY_CELL
    path = str(cell["path"])
    name = html.escape(path.rsplit("/", 1)[-1], quote=True)
    image = f'<img src="{thumbs.data_uri(path)}" alt="{name}" title="{name}">'
    return f"<td>{image}{marks_caption(cell.get('rating'), cell.get('stars'))}</td>"


def marks_caption(rating: Any, stars: Any) -> str:
    """An image's marks under its thumbnail: 👍/👎 and its stars (nothing when unmarked)."""
    symbol = RATING_SYMBOLS.get(rating, "") if isinstance(rating, str) else ""
    count = int(stars) if isinstance(stars, int | float) and not pd.isna(stars) else 0
    text = " ".join(part for part in (symbol, "★" * count) if part)
    if not text:
        return ""
    words = ", ".join(
        part
        for part in (
            f"rated {rating}" if symbol else "",
            f"{count} star{'s' if count != 1 else ''}" if count else "",
        )
        if part
    )
    return (
        f'<div class="sk-marks" title="{html.escape(words, quote=True)}">{html.escape(text)}</div>'
    )
