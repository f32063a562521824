"""HTML rendering of cards and detail sections: plain functions, tested directly.

Every string that came from files or users (names, models, prompts, tags,
notes, paths, error messages) goes through :func:`esc` before it reaches an
HTML widget: a prompt holding ``<script>`` must show those characters and
run nothing. The widgets only assemble what these functions return.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

COMPLETE_PERCENT = 95.0
HALF_PERCENT = 50.0
_PLACEHOLDER = re.compile(r"\{\w+(?:\[[^\]{}]*\])?\}")

STYLE = """
<style>
.sk-browser, .sk-detail, .sk-editor { min-width: 0; max-width: 100%; box-sizing: border-box; }
.sk-browser .jupyter-widgets, .sk-detail .jupyter-widgets { max-width: 100%; min-width: 0; }
.sk-bar { flex-wrap: wrap; gap: 4px; align-items: center; }
.sk-bar .widget-toggle-button, .sk-bar .widget-button { width: auto; }
.sk-main { flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.sk-list { flex: 1 1 520px; min-width: 0; }
.sk-side { flex: 1 1 420px; min-width: 0; }
.sk-cards.sk-cards {
  display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(min(190px, 100%), 1fr));
}
.sk-card { position: relative; border: 1px solid #ddd; border-radius: 6px; padding: 4px;
  overflow: hidden; margin: 0; }
.sk-card.sk-selected { border-color: #1976d2; box-shadow: 0 0 0 2px #1976d2; }
.sk-card .sk-hit { position: absolute !important; inset: 0; width: 100% !important;
  height: 100% !important; margin: 0; opacity: 0; cursor: pointer; }
.sk-card img { width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 4px; }
.sk-name { font-weight: 600; overflow-wrap: anywhere; }
.sk-meta { color: #555; font-size: 0.9em; overflow-wrap: anywhere; }
.sk-badge { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff;
  font-size: 0.85em; }
.sk-ok { background: #2e7d32; } .sk-mid { background: #ef6c00; } .sk-low { background: #c62828; }
.sk-tag { display: inline-block; background: #eceff1; border-radius: 4px; padding: 0 4px;
  margin: 1px; font-size: 0.85em; }
.sk-strip { display: flex; flex-wrap: wrap; gap: 4px; }
.sk-strip img { width: 96px; height: 96px; object-fit: cover; border-radius: 4px; }
/* doubled classes: JupyterLab's and Voila's output-area rules float dt at 20 % width */
.sk-sections.sk-sections dl { display: grid; grid-template-columns: max-content 1fr;
  gap: 2px 12px; margin: 4px 0 8px; }
.sk-sections.sk-sections dt { color: #555; float: none; width: auto; font-weight: 600;
  display: block; }
.sk-sections.sk-sections dd { margin: 0; overflow-wrap: anywhere; display: block; }
/* ipywidgets gives HTML content the 28 px line height of a button row */
.sk-card .widget-html-content, .sk-detail .widget-html-content { line-height: 1.4; }
/* at 320 px the editor's fixed-width inputs must shrink and wrap, never push the page wider */
.sk-detail .widget-hbox { flex-wrap: wrap; }
.sk-detail .widget-inline-hbox { flex-shrink: 1; min-width: 0; }
.sk-detail .jupyter-widgets { max-width: calc(100% - 4px); }
.sk-editor .sk-error:has(> .widget-html-content:empty) { display: none; }
.sk-prompt { white-space: pre-wrap; overflow-wrap: anywhere; }
.sk-prompt mark { background: #fff3b0; }
.sk-warning { color: #8a4b00; } .sk-error { color: #c62828; }
.sk-state-saved { color: #2e7d32; } .sk-state-error { color: #c62828; }
@media (max-width: 600px) {
  .sk-list, .sk-side { flex-basis: 100%; }
}
</style>
"""


def esc(value: Any) -> str:
    """``value`` as escaped HTML text; ``None`` (or NaN) shows as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"  # NaN is how pandas spells a NULL in a float or object column
    return html.escape(str(value))


def completion_class(percent: float | None) -> str:
    """The badge colour: green at 95 % and above, orange from 50 %, red below."""
    value = percent or 0.0
    if value >= COMPLETE_PERCENT:
        return "sk-ok"
    return "sk-mid" if value >= HALF_PERCENT else "sk-low"


def badge(percent: float | None) -> str:
    value = percent or 0.0
    return f'<span class="sk-badge {completion_class(value)}">{value:.0f}%</span>'


def tags_html(tags: Iterable[str]) -> str:
    return "".join(f'<span class="sk-tag">{esc(tag)}</span>' for tag in tags)


def card_html(row: Mapping[str, Any], thumbnail_uri: str) -> str:
    """One session card: thumbnail, name, model, images, badge, marks and tags."""
    marks = ("★ " if row.get("is_favorite") else "") + (
        '<span title="seed sweep">⇶ sweep</span> ' if row.get("is_seed_sweep") else ""
    )
    return (
        f'<img src="{thumbnail_uri}" alt="" loading="lazy">'
        f'<div class="sk-name">{marks}{esc(row.get("session_id"))}</div>'
        f'<div class="sk-meta">{esc(row.get("sd_model"))}</div>'
        f'<div class="sk-meta">{_int(row.get("images_actual"))}/{_int(row.get("images_expected"))}'
        f" images {badge(row.get('completion_percentage'))}</div>"
        f"<div>{tags_html(as_list(row.get('tags')))}</div>"
    )


def highlight_placeholders(prompt: str | None) -> str:
    """The prompt escaped, then each ``{NAME}`` (or ``{NAME[a,b]}``) token wrapped in ``<mark>``.

    Escaping first keeps the markup ours: braces pass ``html.escape``
    unchanged, so the tokens are found in the escaped text, which holds no
    ``<`` any more.
    """
    if not prompt:
        return "—"
    return _PLACEHOLDER.sub(r"<mark>\g<0></mark>", esc(prompt))


def definition_list(title: str, items: Sequence[tuple[str, Any]]) -> str:
    """A titled section of label/value pairs; values are escaped, labels are ours."""
    body = "".join(f"<dt>{label}</dt><dd>{esc(value)}</dd>" for label, value in items)
    return f"<h4>{title}</h4><dl>{body}</dl>"


def stats_sections(stats: Mapping[str, Any]) -> str:
    """The Generation, Images and Parameters sections of the detail view."""
    percent = stats.get("completion_percentage")
    size = (
        f"{stats['width']}x{stats['height']}"
        if stats.get("width") and stats.get("height")
        else None
    )
    generation = definition_list(
        "Generation",
        [
            ("model", stats.get("sd_model")),
            ("mode", stats.get("generation_mode")),
            ("seed mode", stats.get("seed_mode")),
            ("seed base", stats.get("seed_base")),
            ("template version", stats.get("template_version")),
        ],
    )
    images = definition_list(
        "Images",
        [
            ("expected", stats.get("images_expected")),
            ("actual", stats.get("images_actual")),
            ("first image", stats.get("first_image_created_at")),
            ("last image", stats.get("last_image_created_at")),
            (
                "duration",
                duration(stats.get("first_image_created_at"), stats.get("last_image_created_at")),
            ),
        ],
    ).replace("</dl>", f"<dt>completion</dt><dd>{badge(percent)}</dd></dl>")
    parameters = definition_list(
        "Parameters",
        [
            ("size", size),
            ("steps", stats.get("steps")),
            ("CFG", stats.get("cfg_scale")),
            ("sampler", stats.get("sampler_name")),
        ],
    )
    return f'<div class="sk-sections">{generation}{images}{parameters}</div>'


def provenance(stats: Mapping[str, Any]) -> str:
    """Where the values came from and what is missing, as warning lines ("" when complete)."""
    lines: list[str] = []
    if stats.get("missing_since"):
        lines.append(f"folder missing since {esc(stats['missing_since'])}")
    source = stats.get("stats_source")
    if source == "images":
        lines.append("no manifest: values read from the images")
    elif source == "none":
        lines.append("no manifest and no images: nothing is known beyond the folder")
    if stats.get("stats_error"):
        lines.append(f"manifest problem: {esc(stats['stats_error'])}")
    return "".join(f'<div class="sk-warning">{line}</div>' for line in lines)


def header_html(stats: Mapping[str, Any]) -> str:
    return (
        f'<h3 class="sk-name">{esc(stats.get("session_id"))}</h3>'
        f'<div class="sk-meta">{esc(stats.get("session_path"))}</div>{provenance(stats)}'
    )


def prompt_html(stats: Mapping[str, Any]) -> str:
    return (
        "<h4>Prompt</h4>"
        f'<div class="sk-prompt">{highlight_placeholders(stats.get("resolved_prompt"))}</div>'
        "<h4>Negative prompt</h4>"
        f'<div class="sk-prompt">{esc(stats.get("negative_prompt"))}</div>'
    )


def placeholders_html(
    counts: Mapping[str, int], shown: Mapping[str, Sequence[str]], limit: int = 10
) -> str:
    """Each placeholder with its count and its first ``limit`` values, "+N more" when cut."""
    if not counts:
        return "<h4>Placeholders</h4><div class='sk-meta'>none</div>"
    rows = []
    for name, count in counts.items():
        values = list(shown.get(name, ()))
        more = count - min(len(values), limit)
        extra = f' <span class="sk-meta">+{more} more</span>' if more > 0 else ""
        listed = ", ".join(esc(value) for value in values[:limit])
        rows.append(f"<dt>{{{esc(name)}}} ({count})</dt><dd>{listed}{extra}</dd>")
    body = "".join(rows)
    return f'<h4>Placeholders ({len(counts)})</h4><div class="sk-sections"><dl>{body}</dl></div>'


def strip_html(uris: Sequence[str]) -> str:
    return (
        '<div class="sk-strip">' + "".join(f'<img src="{uri}" alt="">' for uri in uris) + "</div>"
    )


def duration(first: str | None, last: str | None) -> str | None:
    """``last - first`` as ``1h 02m 03s``; ``None`` when either is unknown."""
    try:
        start, end = datetime.fromisoformat(str(first)), datetime.fromisoformat(str(last))
    except ValueError:
        return None
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def as_list(value: Any) -> list[str]:
    """Tags as a list, whatever container pandas or DuckDB handed over."""
    if value is None or isinstance(value, float):  # NaN for "no metadata row"
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"
