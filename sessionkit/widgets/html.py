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

from sessionkit.stats import COMPLETE_PERCENT

HALF_PERCENT = 50.0
_PLACEHOLDER = re.compile(r"\{\w+(?:\[[^\]{}]*\])?\}")

STYLE = """
<style>
.sk-browser, .sk-detail, .sk-editor { min-width: 0; max-width: 100%; box-sizing: border-box; }
.sk-browser .jupyter-widgets, .sk-detail .jupyter-widgets { max-width: 100%; min-width: 0; }
.sk-bar { flex-wrap: wrap; gap: 4px; align-items: center; }
.sk-bar .widget-toggle-button, .sk-bar .widget-button { width: auto; }
.sk-main { flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.sk-list { flex: 2 1 520px; min-width: 0; }
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
.sk-values { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 3px; }
.sk-value { border: 1px solid #cfd8dc; border-radius: 4px; padding: 0 5px; background: #fafafa;
  overflow-wrap: anywhere; }
.sk-marks { min-height: 1.4em; }
.sk-star { color: #f9a825; }
.sk-test-mark { background: #6a1b9a; color: #fff; border-radius: 4px; padding: 0 4px;
  font-size: 0.85em; }
.sk-sweep-badge { background: #00695c; vertical-align: middle; }
.sk-verdict { font-size: 0.85em; color: #555; }
.sk-more-tags { color: #555; font-size: 0.85em; margin-left: 2px; }
.sk-unknown { color: #555; font-style: italic; }
.sk-label { font-weight: 600; color: #333; }
.sk-empty { padding: 16px; color: #555; }
.sk-busy::after { content: " ⏳"; }
/* the keyboard focus ring: the card's click target is transparent, so the card shows it */
.sk-card:has(.sk-hit:focus-visible) { outline: 3px solid #1976d2; outline-offset: 2px; }
.sk-editor .sk-note textarea { transition: min-height 0.1s; }
.sk-editor .sk-note textarea:focus { min-height: 7.5em; }
.sk-header-row { flex-wrap: nowrap !important; align-items: flex-start; gap: 8px; }
.sk-header-row > .sk-header { flex: 1 1 auto; min-width: 0; }
.sk-header-row > .sk-close { flex: 0 0 auto; width: auto; padding: 0 12px; }
/* tags are typed in the entry field (Enter adds): the list's own input would save on blur */
.sk-tags .jupyter-widget-taginput, .sk-tags .widget-text { display: none !important; }
/* the remove mark is a Font Awesome icon, which Voila cannot load offline */
.sk-tags .jupyter-widget-tag-close.fa::before { content: "\\00d7"; font-family: sans-serif;
  font-style: normal; }
.sk-tags .jupyter-widget-tag:focus-visible { outline: 2px solid #1976d2; }
.sk-field-label { margin-top: 6px; }
.sk-rating .widget-toggle-button { padding: 0 12px; }
@media (max-width: 600px), (pointer: coarse) {
  /* touch targets of at least 40 px */
  .sk-browser .jupyter-button, .sk-detail .jupyter-button, .sk-editor .jupyter-button,
  .sk-browser select, .sk-browser input, .sk-detail input, .sk-detail select {
    min-height: 40px; }
}
@media (max-width: 600px) {
  .sk-list, .sk-side { flex-basis: 100%; }
  /* a phone shows the detail where the user is: over the list, with its close button */
  .sk-side:not(.sk-open) { display: none !important; }
  .sk-side.sk-open { position: fixed !important; inset: 0; z-index: 1000; overflow-y: auto;
    background: var(--jp-layout-color0, #fff); padding: 8px; box-sizing: border-box;
    margin: 0 !important; }
  /* a flex column of fixed height would squeeze the detail's parts to nothing: scroll instead */
  .sk-side.sk-open > *, .sk-side.sk-open .sk-detail > * { flex-shrink: 0; }
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


LIKED_TIP = "Liked: a keeper, one of your favourites (the WebUI's star)"
RATING_TIP = "Rating: your verdict on the output, good or bad (the WebUI's thumbs)"
CARD_TAGS = 2
"""Tags a card shows; the rest are counted as "+N"."""


def images_html(actual: Any, expected: Any, percent: float | None) -> str:
    """``6/28 images`` and the coloured badge, or ``6 images · expected unknown``.

    Without an expected count (no manifest, or one that does not say) there
    is nothing to be complete against: a red "0 %" would claim a failure.
    """
    if not _positive(expected):
        return f'{_int(actual)} images · <span class="sk-unknown">expected unknown</span>'
    return f"{_int(actual)}/{_int(expected)} images {badge(percent)}"


def when(value: Any) -> str | None:
    """An ISO time as ``2026-11-24 13:28`` (to the minute); ``None`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).replace("T", " ")
    return text[:16] if len(text) >= 16 else text


def card_html(row: Mapping[str, Any], thumbnail_uri: str) -> str:
    """One session card: thumbnail, marks, name, date and mode, model, images, first tags."""
    marks = []
    if row.get("is_favorite"):
        marks.append(f'<span class="sk-star" title="{LIKED_TIP}">★</span>')
    rating = row.get("user_rating")
    if rating in ("like", "dislike"):
        verdict = "👍 good" if rating == "like" else "👎 bad"
        marks.append(f'<span class="sk-verdict" title="{RATING_TIP}">{verdict}</span>')
    if row.get("is_test"):
        marks.append('<span class="sk-test-mark" title="marked as a test run">Test</span>')
    if row.get("is_seed_sweep"):
        marks.append('<span class="sk-sweep" title="seed sweep">⇶ sweep</span>')
    tags = as_list(row.get("tags"))
    more = len(tags) - CARD_TAGS
    extra = f'<span class="sk-more-tags">+{more}</span>' if more > 0 else ""
    dated = " · ".join(
        esc(part)
        for part in (when(row.get("session_created_at")), row.get("generation_mode"))
        if part is not None and not (isinstance(part, float) and math.isnan(part))
    )
    images = images_html(
        row.get("images_actual"), row.get("images_expected"), row.get("completion_percentage")
    )
    return (
        f'<img src="{thumbnail_uri}" alt="" loading="lazy">'
        f'<div class="sk-marks">{" ".join(marks)}</div>'
        f'<div class="sk-name">{esc(row.get("session_id"))}</div>'
        f'<div class="sk-meta sk-when">{dated}</div>'
        f'<div class="sk-meta">{esc(row.get("sd_model"))}</div>'
        f'<div class="sk-meta">{images}</div>'
        f"<div>{tags_html(tags[:CARD_TAGS])}{extra}</div>"
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


def completion_html(stats: Mapping[str, Any]) -> str:
    """The measured completion badge, or why there is none."""
    if not _positive(stats.get("images_expected")):
        return '<span class="sk-unknown">unknown: no expected image count</span>'
    return badge(stats.get("completion_percentage"))


def stats_sections(stats: Mapping[str, Any]) -> str:
    """The Generation, Images, Times and Parameters sections of the detail view."""
    size = (
        f"{stats['width']}x{stats['height']}"
        if stats.get("width") and stats.get("height")
        else None
    )
    expected = stats.get("images_expected") if _positive(stats.get("images_expected")) else None
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
            ("expected", "unknown" if expected is None else expected),
            ("actual", stats.get("images_actual")),
        ],
    ).replace("</dl>", f"<dt>completion</dt><dd>{completion_html(stats)}</dd></dl>")
    times = definition_list(
        "Times",
        [
            ("created", when(stats.get("session_created_at"))),
            ("first image", when(stats.get("first_image_created_at"))),
            ("last image", when(stats.get("last_image_created_at"))),
            (
                "duration",
                duration(stats.get("first_image_created_at"), stats.get("last_image_created_at")),
            ),
            ("manifest written", when(stats.get("manifest_generated_at"))),
            ("stats computed", when(stats.get("stats_computed_at"))),
        ],
    )
    parameters = definition_list(
        "Parameters",
        [
            ("size", size),
            ("steps", stats.get("steps")),
            ("CFG", stats.get("cfg_scale")),
            ("sampler", stats.get("sampler_name")),
        ],
    )
    return f'<div class="sk-sections">{generation}{images}{times}{parameters}</div>'


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
    """Name, a "Seed sweep" badge when it is one, the folder, and what is missing."""
    sweep = (
        ' <span class="sk-badge sk-sweep-badge" title="one prompt, many seeds">Seed sweep</span>'
        if stats.get("is_seed_sweep")
        else ""
    )
    return (
        f'<h3 class="sk-name">{esc(stats.get("session_id"))}{sweep}</h3>'
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
    """Each placeholder with its count and its first ``limit`` values, "+N more" when cut.

    Each value is its own chip: values often hold commas ("red hair, braids"),
    so a comma-separated line could not tell where one ends.
    """
    if not counts:
        return "<h4>Placeholders</h4><div class='sk-meta'>none</div>"
    rows = []
    for name, count in counts.items():
        values = list(shown.get(name, ()))
        more = count - min(len(values), limit)
        extra = f'<li class="sk-meta">+{more} more</li>' if more > 0 else ""
        listed = "".join(f'<li class="sk-value">{esc(value)}</li>' for value in values[:limit])
        rows.append(
            f'<dt>{{{esc(name)}}} ({count})</dt><dd><ul class="sk-values">{listed}{extra}</ul></dd>'
        )
    body = "".join(rows)
    return f'<h4>Placeholders ({len(counts)})</h4><div class="sk-sections"><dl>{body}</dl></div>'


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


def _positive(value: Any) -> bool:
    """Whether a count is known and above zero (``None``, NaN and 0 are "unknown")."""
    try:
        return int(value) > 0
    except (TypeError, ValueError):
        return False


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"
