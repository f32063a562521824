"""plotly figures for the analysis notebooks.

Each function takes a DataFrame the API returned (``kit.by_model()``,
``kit.sessions(limit=None)``, ``kit.timeline(by_model=True)``, ...) and
returns a ``go.Figure``; none runs a query, so they are tested on small
hand-made frames and work on any filtered subset a user passes in.

Two rules hold for every chart (docs/notebooks.md):

* a model keeps its colour from chart to chart: build the map once with
  :func:`model_colors` (from ``kit.models()``) and pass it as ``colors=``;
* generation parameters are discrete settings, so they sit on categorical
  axes: a bar per value that some session used, never one in between.

A frame with no rows gives a figure that says so in a sentence, so a
notebook run on an empty root shows that instead of an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sessionkit.stats import COMPLETE_PERCENT

DISCRETE_PARAMETERS = ("steps", "cfg_scale", "sampler_name", "size", "seed")
"""What :func:`parameter_distribution` counts; ``seed`` is a session's ``seed_base``."""
UNKNOWN_MODEL = "(unknown)"
UNKNOWN_VALUE = "(unknown)"
PALETTE = px.colors.qualitative.Plotly + px.colors.qualitative.Dark24
"""Colours given to models in order; a 35th model starts the cycle again."""
UNKNOWN_COLOR = "#9e9e9e"
"""Sessions whose model is not known are grey in every chart."""
_PARAMETER_COLUMNS = {"seed": "seed_base"}


def short_model(name: object) -> str:
    """A checkpoint name without extension and hash, for axis labels."""
    if not isinstance(name, str) or not name:
        return UNKNOWN_MODEL
    return name.split(" [", 1)[0].removesuffix(".safetensors").removesuffix(".ckpt")


def model_colors(models: pd.DataFrame | Iterable[object]) -> dict[str, str]:
    """One colour per model, keyed by its short name; build it once per notebook.

    ``models`` is ``kit.models()`` (its ``model`` column, most used first) or
    any list of names. Passing the same map to every figure keeps a model's
    colour from chart to chart; plotly's default would assign colours by the
    order models happen to appear in each figure.
    """
    names = models["model"] if isinstance(models, pd.DataFrame) else models
    colors = {UNKNOWN_MODEL: UNKNOWN_COLOR}
    for name in names:
        label = short_model(name)
        if label not in colors:
            colors[label] = PALETTE[(len(colors) - 1) % len(PALETTE)]
    return colors


def sessions_and_images_per_model(
    by_model: pd.DataFrame, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Two bar charts side by side: sessions per model, images per model."""
    title = "Sessions and images per model"
    if by_model.empty:
        return no_data(title)
    labels = by_model["model"].map(short_model)
    palette = _colors_for(labels, colors)
    bar_colors = [palette[label] for label in labels]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Sessions", "Images"))
    sessions = go.Bar(x=labels, y=by_model["sessions"], name="sessions", marker_color=bar_colors)
    images = go.Bar(x=labels, y=by_model["images_actual"], name="images", marker_color=bar_colors)
    figure.add_trace(sessions, row=1, col=1)
    figure.add_trace(images, row=1, col=2)
    figure.update_xaxes(type="category")
    figure.update_layout(title=title, showlegend=False)
    return figure


def completion_by_model(
    sessions: pd.DataFrame, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Completion percentage per session, one box per model."""
    title = "Completion by model (%)"
    if sessions.empty:
        return no_data(title)
    frame = sessions.assign(model=sessions["sd_model"].map(short_model))
    figure = px.box(
        frame,
        x="model",
        y="completion_percentage",
        color="model",
        color_discrete_map=_colors_for(frame["model"], colors),
        points="all",
        hover_data=["session_id"],
        title=title,
    )
    figure.add_hline(y=COMPLETE_PERCENT, line_dash="dot", annotation_text="complete")
    figure.update_xaxes(type="category")
    figure.update_layout(showlegend=False)
    return figure


def parameter_distribution(
    sessions: pd.DataFrame, parameter: str, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """How many sessions used each value of a generation parameter, per model.

    ``steps``, ``cfg_scale``, ``sampler_name``, ``size`` (``WIDTHxHEIGHT``)
    and ``seed`` are settings picked from a few values, so each value used is
    a category of its own, in numeric order (a histogram would bin 20 and 30
    steps into a bar labelled 24.5).
    """
    if parameter not in DISCRETE_PARAMETERS:
        choices = ", ".join(DISCRETE_PARAMETERS)
        raise ValueError(f"parameter must be one of {choices}, not {parameter!r}")
    title = f"{parameter} by model"
    if sessions.empty:
        return no_data(title)
    frame = pd.DataFrame(
        {
            "model": sessions["sd_model"].map(short_model),
            parameter: _sizes(sessions)
            if parameter == "size"
            else sessions[_PARAMETER_COLUMNS.get(parameter, parameter)].map(_value_label),
        }
    )
    counts = frame.groupby(["model", parameter]).size().reset_index(name="sessions")
    figure = px.bar(
        counts,
        x=parameter,
        y="sessions",
        color="model",
        barmode="group",
        color_discrete_map=_colors_for(counts["model"], colors),
        category_orders={parameter: _value_order(counts[parameter])},
        title=title,
    )
    figure.update_xaxes(type="category")
    return figure


def _value_label(value: object) -> str:
    """A parameter value as its axis label: 30.0 steps is "30", a missing one "(unknown)"."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return UNKNOWN_VALUE
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _value_order(labels: pd.Series) -> list[str]:
    """Numbers in numeric order, then text in alphabetical order, then "(unknown)"."""

    def key(label: str) -> tuple[int, float, str]:
        if label == UNKNOWN_VALUE:
            return (2, 0.0, label)
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)

    return sorted(set(labels), key=key)


def _sizes(frame: pd.DataFrame) -> pd.Series:
    known = frame["width"].notna() & frame["height"].notna()
    text = (
        frame["width"].astype("Int64").astype(str)
        + "x"
        + frame["height"].astype("Int64").astype(str)
    )
    return text.where(known, UNKNOWN_VALUE)


def activity_over_time(
    timeline: pd.DataFrame, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Sessions per period, stacked by model (from ``kit.timeline(freq, by_model=True)``)."""
    title = "Activity over time"
    if timeline.empty:
        return no_data(title)
    frame = timeline.assign(model=timeline["model"].map(short_model))
    figure = px.bar(
        frame,
        x="period",
        y="sessions",
        color="model",
        color_discrete_map=_colors_for(frame["model"], colors),
        hover_data=["images", "liked_sessions"],
    )
    figure.update_layout(title=title, barmode="stack")
    return figure


def liked_share(frame: pd.DataFrame, *, label: str, title: str) -> go.Figure:
    """A bar per group of its ``liked_share`` (0 to 1), annotated with the session count."""
    if frame.empty or not frame["sessions"].sum():
        return no_data(title)
    figure = px.bar(
        frame,
        x=label,
        y="liked_share",
        text=frame["sessions"].map(lambda n: f"{n} sessions"),
        range_y=[0, 1],
        title=title,
    )
    figure.update_yaxes(tickformat=".0%")
    return figure


def placeholder_like_rates(
    values: pd.DataFrame, placeholder: str, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Like rate of each value of one placeholder (from ``kit.placeholder_values()``)."""
    title = f"Like rate by {placeholder} value"
    frame = values[values["placeholder"] == placeholder].sort_values("like_rate", ascending=False)
    if frame.empty:
        return no_data(title)
    by_model = "model" in frame.columns
    if by_model:
        frame = frame.assign(model=frame["model"].map(short_model))
    figure = px.bar(
        frame,
        x="value",
        y="like_rate",
        color="model" if by_model else None,
        color_discrete_map=_colors_for(frame["model"], colors) if by_model else None,
        barmode="group",
        hover_data=["sessions", "images", "liked_sessions"],
        range_y=[0, 1],
        title=title,
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=".0%")
    return figure


def value_like_rates(
    ratings: pd.DataFrame, placeholder: str, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Like rate of each rated value of one placeholder, with its 95 % interval as error bars.

    ``ratings`` is ``kit.value_ratings()`` (one bar per value) or
    ``kit.value_ratings(by_model=True)`` (a bar per value and model). Values
    no image of which is rated have no rate and are left out. Bars are
    horizontal: values are phrases, which read better on the left.
    """
    title = f"Like rate of each {placeholder} value (95 % interval)"
    frame = ratings[(ratings["placeholder"] == placeholder) & (ratings["rated"] > 0)]
    if frame.empty:
        return no_data(title, "No image with this placeholder is rated yet.")
    frame = frame.sort_values("like_rate")
    by_model = "model" in frame.columns
    if by_model:
        frame = frame.assign(model=frame["model"].map(short_model))
    figure = px.bar(
        frame,
        y="value",
        x="like_rate",
        orientation="h",
        error_x=frame["like_rate_high"] - frame["like_rate"],
        error_x_minus=frame["like_rate"] - frame["like_rate_low"],
        color="model" if by_model else None,
        color_discrete_map=_colors_for(frame["model"], colors) if by_model else None,
        barmode="group",
        hover_data=["rated", "liked", "disliked", "images", "mean_stars"],
        range_x=[0, 1],
        title=title,
    )
    figure.update_yaxes(type="category", title=None)
    figure.update_xaxes(tickformat=".0%", title="liked / rated")
    figure.update_layout(height=max(320, 60 + 28 * len(frame)))
    return figure


def no_data(title: str, sentence: str = "No sessions to chart on this root yet.") -> go.Figure:
    """A figure holding only ``title`` and a sentence, for a result with no rows."""
    figure = go.Figure()
    figure.add_annotation(text=sentence, showarrow=False, font={"size": 16})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(title=title, height=240)
    return figure


def _colors_for(models: pd.Series, colors: Mapping[str, str] | None) -> dict[str, str]:
    """``colors`` completed for any model it lacks (a map from another root, or none)."""
    chosen = dict(colors) if colors is not None else model_colors(sorted(set(models)))
    missing = [model for model in models.unique() if model not in chosen]
    if missing:
        extra = model_colors([*chosen, *missing])
        chosen.update({model: extra[model] for model in missing})
    return chosen
