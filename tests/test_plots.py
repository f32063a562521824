"""Plot functions on small hand-made frames, and contact sheets from a real grid."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest

from builders import png_bytes
from sessionkit import SessionKit, plots
from sessionkit.sheets import contact_sheet, marks_caption
from sessionkit.thumbs import ThumbnailCache

MODEL_A = "modelA.safetensors [0123456789]"
MODEL_B = "modelB"


@pytest.fixture
def sessions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3"],
            "sd_model": [MODEL_A, MODEL_A, None],
            "completion_percentage": [100.0, 40.0, 75.0],
            "steps": [20, 30, 30],
            "cfg_scale": [7.0, 7.0, 5.5],
            "sampler_name": ["Euler a", None, "Euler a"],
            "width": [512, 512, None],
            "height": [768, 768, None],
            "seed_base": [100, None, 7],
        }
    )


def test_short_model_drops_extension_and_hash() -> None:
    assert plots.short_model(MODEL_A) == "modelA"
    assert plots.short_model("x.ckpt") == "x"
    assert plots.short_model(None) == "(unknown)"


def test_sessions_and_images_per_model() -> None:
    by_model = pd.DataFrame(
        {"model": [MODEL_A, MODEL_B], "sessions": [3, 1], "images_actual": [30, 4]}
    )
    figure = plots.sessions_and_images_per_model(by_model)
    sessions, images = figure.data
    assert list(sessions.x) == ["modelA", "modelB"] and list(sessions.y) == [3, 1]
    assert list(images.y) == [30, 4]


def test_completion_by_model_has_a_box_per_model(sessions: pd.DataFrame) -> None:
    figure = plots.completion_by_model(sessions)
    assert {trace.name: list(trace.y) for trace in figure.data} == {
        "modelA": [100.0, 40.0],
        "(unknown)": [75.0],
    }


def bars(figure: go.Figure) -> dict[tuple[str, str], int]:
    """``{(model, value): sessions}`` of a grouped bar chart."""
    return {
        (trace.name, x): y for trace in figure.data for x, y in zip(trace.x, trace.y, strict=True)
    }


@pytest.mark.parametrize("parameter", plots.DISCRETE_PARAMETERS)
def test_every_parameter_is_on_a_categorical_axis(sessions: pd.DataFrame, parameter: str) -> None:
    figure = plots.parameter_distribution(sessions, parameter)
    assert figure.layout.xaxis.type == "category"
    assert {trace.type for trace in figure.data} == {"bar"}
    assert sum(bars(figure).values()) == len(sessions)


def test_parameter_values_are_the_values_used(sessions: pd.DataFrame) -> None:
    """20 and 30 steps are two bars labelled 20 and 30, never a bin labelled 24.5."""
    steps = plots.parameter_distribution(sessions, "steps")
    assert bars(steps) == {("modelA", "20"): 1, ("modelA", "30"): 1, ("(unknown)", "30"): 1}
    cfg = plots.parameter_distribution(sessions, "cfg_scale")
    assert bars(cfg) == {("modelA", "7"): 2, ("(unknown)", "5.5"): 1}
    assert list(cfg.layout.xaxis.categoryarray) == ["5.5", "7"]  # numeric order
    seeds = plots.parameter_distribution(sessions, "seed")
    assert bars(seeds) == {("modelA", "100"): 1, ("modelA", "(unknown)"): 1, ("(unknown)", "7"): 1}
    assert list(seeds.layout.xaxis.categoryarray) == ["7", "100", "(unknown)"]


def test_sizes_and_samplers_are_counted(sessions: pd.DataFrame) -> None:
    sizes = plots.parameter_distribution(sessions, "size")
    assert bars(sizes) == {("modelA", "512x768"): 2, ("(unknown)", "(unknown)"): 1}
    samplers = plots.parameter_distribution(sessions, "sampler_name")
    assert bars(samplers) == {
        ("modelA", "Euler a"): 1,
        ("modelA", "(unknown)"): 1,
        ("(unknown)", "Euler a"): 1,
    }


def test_unknown_parameter_is_refused(sessions: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="parameter must be one of"):
        plots.parameter_distribution(sessions, "prompt")


def test_one_colour_per_model_across_charts(sessions: pd.DataFrame) -> None:
    """The same map on every figure: a model keeps its colour whatever else a chart shows."""
    colors = plots.model_colors(pd.DataFrame({"model": ["modelB", "modelA"], "sessions": [5, 2]}))
    assert colors["modelB"] != colors["modelA"]
    assert colors["(unknown)"] == plots.UNKNOWN_COLOR
    only_a = sessions[sessions["sd_model"] == MODEL_A]
    figures = [
        plots.parameter_distribution(sessions, "steps", colors),
        plots.parameter_distribution(only_a, "sampler_name", colors),
        plots.completion_by_model(sessions, colors),
    ]
    for figure in figures:
        for trace in figure.data:
            assert trace.marker.color == colors[trace.name]
    per_model = plots.sessions_and_images_per_model(
        pd.DataFrame(
            {"model": ["modelA", "(unknown)"], "sessions": [2, 1], "images_actual": [9, 1]}
        ),
        colors,
    )
    assert list(per_model.data[0].marker.color) == [colors["modelA"], plots.UNKNOWN_COLOR]


def test_a_model_missing_from_the_map_gets_a_colour_of_its_own(sessions: pd.DataFrame) -> None:
    colors = plots.model_colors(["modelZ"])
    figure = plots.parameter_distribution(sessions, "steps", colors)
    shown = {trace.name: trace.marker.color for trace in figure.data}
    assert shown["modelA"] not in (colors["modelZ"], plots.UNKNOWN_COLOR)


def test_no_rows_give_a_sentence(sessions: pd.DataFrame) -> None:
    none = sessions.iloc[0:0]
    figures = [
        plots.sessions_and_images_per_model(
            pd.DataFrame({"model": [], "sessions": [], "images_actual": []})
        ),
        plots.completion_by_model(none),
        *(plots.parameter_distribution(none, p) for p in plots.DISCRETE_PARAMETERS),
        plots.activity_over_time(pd.DataFrame({"period": [], "model": [], "sessions": []})),
        plots.liked_share(
            pd.DataFrame({"kind": [], "sessions": [], "liked_share": []}), label="kind", title="t"
        ),
        plots.placeholder_like_rates(
            pd.DataFrame({"placeholder": [], "value": [], "like_rate": []}), "HAIR"
        ),
    ]
    for figure in figures:
        assert not figure.data
        assert [note.text for note in figure.layout.annotations] == [
            "No sessions to chart on this root yet."
        ]


def test_activity_over_time_stacks_models() -> None:
    timeline = pd.DataFrame(
        {
            "period": [datetime(2025, 11, 1), datetime(2025, 11, 1), datetime(2025, 12, 1)],
            "model": [MODEL_A, MODEL_B, MODEL_A],
            "sessions": [2, 1, 4],
            "images": [20, 5, 40],
            "liked_sessions": [1, 0, 2],
        }
    )
    figure = plots.activity_over_time(timeline)
    assert {trace.name: list(trace.y) for trace in figure.data} == {"modelA": [2, 4], "modelB": [1]}
    assert figure.layout.barmode == "stack"


def test_liked_share_and_like_rates() -> None:
    share = pd.DataFrame(
        {"kind": ["seed sweep", "other"], "sessions": [4, 20], "liked_share": [0.5, 0.25]}
    )
    figure = plots.liked_share(share, label="kind", title="Liked")
    assert list(figure.data[0].y) == [0.5, 0.25]
    assert list(figure.data[0].text) == ["4 sessions", "20 sessions"]
    values = pd.DataFrame(
        {
            "placeholder": ["HAIR", "HAIR", "LIGHT"],
            "value": ["red", "blue", "dawn"],
            "sessions": [4, 2, 1],
            "images": [40, 20, 10],
            "liked_sessions": [1, 2, 0],
            "like_rate": [0.25, 1.0, 0.0],
        }
    )
    rates = plots.placeholder_like_rates(values, "HAIR")
    assert list(rates.data[0].x) == ["blue", "red"]


def test_contact_sheet_lays_out_escaped_labels_and_thumbnails(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "20251101_000000-Sheet"
    folder.mkdir(parents=True)
    values = ["<b>bold</b>", "plain"]
    images = []
    for i, (seed, value) in enumerate([(1, values[0]), (1, values[1]), (2, values[0])]):
        name = f"Sheet_{i:04d}_seed-{seed}.png"
        (folder / name).write_bytes(png_bytes())
        images.append(
            {"filename": name, "seed": seed, "prompt": value, "applied_variations": {"X": value}}
        )
    document = {
        "snapshot": {
            "generation_params": {"mode": "combinatorial"},
            "variations": {"X": {"used": values}},
        },
        "images": images,
    }
    (folder / "manifest.json").write_text(json.dumps(document))
    with SessionKit(root, tmp_path / "s.db", progress=False) as kit:
        kit.index()
        kit.update_image_metadata(folder.name, "Sheet_0001_seed-1.png", rating="like", stars=2)
        grid = kit.image_grid(folder.name, "seed", "X")
    assert sorted(map(tuple, grid[["row", "column"]].values.tolist())) == [
        (1, "<b>bold</b>"),
        (1, "plain"),
        (2, "<b>bold</b>"),
    ]
    thumbs = ThumbnailCache(tmp_path / "thumbs")
    page = contact_sheet(grid, thumbs, rows="seed", columns="X")
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("<img ") == 3
    assert page.count("sk-sheet-empty") == 1  # seed 2 was never rendered with "plain"
    marked = grid.set_index("filename").loc["Sheet_0001_seed-1.png"]
    assert (marked["rating"], marked["stars"]) == ("like", 2)
    assert page.count('class="sk-marks"') == 1
    assert 'title="rated like, 2 stars">👍 ★★</div>' in page
    assert thumbs.made == 3


RATINGS = pd.DataFrame(
    {
        "placeholder": ["HAIR", "HAIR", "HAIR", "LIGHT"],
        "value": ["red", "blue", "green", "dawn"],
        "images": [10, 8, 3, 5],
        "rated": [4, 2, 0, 1],
        "liked": [3, 0, 0, 1],
        "disliked": [1, 2, 0, 0],
        "like_rate": [0.75, 0.0, float("nan"), 1.0],
        "like_rate_low": [0.30, 0.0, float("nan"), 0.21],
        "like_rate_high": [0.95, 0.66, float("nan"), 1.0],
        "mean_stars": [4.0, float("nan"), float("nan"), 5.0],
    }
)


def test_value_like_rates_with_their_interval_as_error_bars() -> None:
    figure = plots.value_like_rates(RATINGS, "HAIR")
    (bars,) = figure.data
    assert list(bars.y) == ["blue", "red"]  # green has no rated image: no rate, no bar
    assert list(bars.x) == [0.0, 0.75]
    assert list(bars.error_x.array) == pytest.approx([0.66, 0.20])
    assert list(bars.error_x.arrayminus) == pytest.approx([0.0, 0.45])
    assert bars.orientation == "h"


def test_value_like_rates_per_model_and_without_marks() -> None:
    by_model = pd.concat(
        [RATINGS.assign(model=MODEL_A), RATINGS.assign(model=MODEL_B)], ignore_index=True
    )
    figure = plots.value_like_rates(by_model, "HAIR", plots.model_colors([MODEL_B, MODEL_A]))
    assert [trace.name for trace in figure.data] == ["modelA", "modelB"]
    colors = plots.model_colors([MODEL_B, MODEL_A])
    assert [trace.marker.color for trace in figure.data] == [colors["modelA"], colors["modelB"]]
    empty = plots.value_like_rates(RATINGS.assign(rated=0), "HAIR")
    assert not empty.data
    assert [note.text for note in empty.layout.annotations] == [
        "No image with this placeholder is rated yet."
    ]


@pytest.mark.parametrize(
    ("rating", "stars", "shown"),
    [
        ("like", 3, "👍 ★★★"),
        ("dislike", None, "👎"),
        (None, 5, "★★★★★"),
        (None, float("nan"), ""),
        ("<script>", None, ""),
    ],
)
def test_marks_caption(rating: Any, stars: Any, shown: str) -> None:
    caption = marks_caption(rating, stars)
    assert (f">{shown}</div>" in caption) if shown else caption == ""
    assert "<script>" not in caption
