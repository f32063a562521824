"""plotly figures for the analysis notebooks.

Each function takes a DataFrame the API returned (``kit.by_model()``,
``kit.sessions(limit=None)``, ``kit.timeline(by_model=True)``, ...) and
returns a ``go.Figure``; none runs a query, so they are tested on small
hand-made frames and work on any filtered subset a user passes in.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

NUMERIC_PARAMETERS = ("steps", "cfg_scale")
CATEGORICAL_PARAMETERS = ("sampler_name", "size")
UNKNOWN_MODEL = "(unknown)"


def short_model(name: object) -> str:
    """A checkpoint name without extension and hash, for axis labels."""
    if not isinstance(name, str) or not name:
        return UNKNOWN_MODEL
    return name.split(" [", 1)[0].removesuffix(".safetensors").removesuffix(".ckpt")


def sessions_and_images_per_model(by_model: pd.DataFrame) -> go.Figure:
    """Two bar charts side by side: sessions per model, images per model."""
    labels = by_model["model"].map(short_model)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Sessions", "Images"))
    figure.add_trace(go.Bar(x=labels, y=by_model["sessions"], name="sessions"), row=1, col=1)
    figure.add_trace(go.Bar(x=labels, y=by_model["images_actual"], name="images"), row=1, col=2)
    figure.update_layout(title="Sessions and images per model", showlegend=False)
    return figure


def completion_by_model(sessions: pd.DataFrame) -> go.Figure:
    """Completion percentage per session, one box per model."""
    frame = sessions.assign(model=sessions["sd_model"].map(short_model))
    figure = px.box(
        frame,
        x="model",
        y="completion_percentage",
        points="all",
        hover_data=["session_id"],
        title="Completion by model (%)",
    )
    figure.add_hline(y=95, line_dash="dot", annotation_text="complete")
    return figure


def parameter_distribution(sessions: pd.DataFrame, parameter: str) -> go.Figure:
    """How a generation parameter is distributed, per model.

    ``steps`` and ``cfg_scale`` are histograms; ``sampler_name`` and ``size``
    (``WIDTHxHEIGHT``) are counts per value.
    """
    frame = sessions.assign(model=sessions["sd_model"].map(short_model))
    if parameter == "size":
        frame = frame.assign(size=_sizes(frame))
    if parameter in NUMERIC_PARAMETERS:
        figure = px.histogram(frame, x=parameter, color="model", barmode="group")
    elif parameter in CATEGORICAL_PARAMETERS:
        counts = (
            frame.groupby(["model", parameter], dropna=False).size().reset_index(name="sessions")
        )
        counts[parameter] = counts[parameter].fillna("(unknown)")
        figure = px.bar(counts, x=parameter, y="sessions", color="model", barmode="group")
    else:
        choices = ", ".join(NUMERIC_PARAMETERS + CATEGORICAL_PARAMETERS)
        raise ValueError(f"parameter must be one of {choices}, not {parameter!r}")
    figure.update_layout(title=f"{parameter} by model")
    return figure


def _sizes(frame: pd.DataFrame) -> pd.Series:
    known = frame["width"].notna() & frame["height"].notna()
    text = (
        frame["width"].astype("Int64").astype(str)
        + "x"
        + frame["height"].astype("Int64").astype(str)
    )
    return text.where(known, None)


def activity_over_time(timeline: pd.DataFrame) -> go.Figure:
    """Sessions per period, stacked by model (from ``kit.timeline(freq, by_model=True)``)."""
    frame = timeline.assign(model=timeline["model"].map(short_model))
    figure = px.bar(
        frame, x="period", y="sessions", color="model", hover_data=["images", "liked_sessions"]
    )
    figure.update_layout(title="Activity over time", barmode="stack")
    return figure


def liked_share(frame: pd.DataFrame, *, label: str, title: str) -> go.Figure:
    """A bar per group of its ``liked_share`` (0 to 1), annotated with the session count."""
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


def placeholder_like_rates(values: pd.DataFrame, placeholder: str) -> go.Figure:
    """Like rate of each value of one placeholder (from ``kit.placeholder_values()``)."""
    frame = values[values["placeholder"] == placeholder].sort_values("like_rate", ascending=False)
    color = "model" if "model" in frame.columns else None
    figure = px.bar(
        frame,
        x="value",
        y="like_rate",
        color=color,
        barmode="group",
        hover_data=["sessions", "images", "liked_sessions"],
        range_y=[0, 1],
        title=f"Like rate by {placeholder} value",
    )
    figure.update_yaxes(tickformat=".0%")
    return figure
