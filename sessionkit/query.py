"""Filters and aggregations over the DuckDB mirror.

:class:`SessionFilter` turns the API's keyword filters into a SQL ``WHERE``
clause with parameters *and* into words ("liked and model contains
illustrious"), like datasette's ``Filters``: the browser and the CLI show the
words, the engine gets the parameters. No value is ever pasted into SQL
text; text matches use ``contains()`` rather than ``LIKE``, so ``%`` and
``_`` in a search are plain characters.

The aggregation functions each return a DataFrame ready for plotly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sessionkit.errors import SessionKitError
from sessionkit.stats import COMPLETE_PERCENT

if TYPE_CHECKING:  # pandas and DuckDB load with the first query, not with the filters
    import pandas as pd

    from sessionkit.mirror import Mirror

ORDERABLE = (
    "session_created_at",
    "session_id",
    "sd_model",
    "images_actual",
    "images_expected",
    "completion_percentage",
    "last_image_created_at",
    "metadata_updated_at",
    "stats_computed_at",
)
TIMELINE_FREQUENCIES = {"D": "day", "W": "week", "M": "month"}


@dataclass(frozen=True)
class FilterTerm:
    """One filter of the vocabulary, declared once for every place that offers it.

    The API's keyword (a :class:`SessionFilter` field and a key of
    ``kit.sessions(**filters)``), the CLI options that set it, and for the
    yes/no flags the words of :meth:`SessionFilter.describe` and the help of
    each option. tests/test_vocabulary.py fails when the API, the CLI, the
    browser or the docs drift from it.
    """

    name: str
    options: tuple[str, ...]
    """The CLI options: for a flag, the one setting it true, then the one setting it false."""
    words: tuple[str, str] = ("", "")
    """A flag's words when true and when false."""
    helps: tuple[str, str] = ("", "")
    """A flag's CLI help for each option."""


FLAG_TERMS = (
    FilterTerm(
        "liked",
        ("--liked", "--not-liked"),
        ("liked", "not liked"),
        ("only liked sessions", "only sessions not liked"),
    ),
    FilterTerm(
        "test",
        ("--test", "--not-test"),
        ("test", "not test"),
        ("only sessions marked test", "only sessions not marked test"),
    ),
    FilterTerm(
        "complete",
        ("--complete", "--incomplete"),
        ("complete", "incomplete"),
        (
            f"only sessions with at least {COMPLETE_PERCENT:g} %% of their planned images",
            "only the others",
        ),
    ),
    FilterTerm(
        "seed_sweep",
        ("--seed-sweep", "--not-seed-sweep"),
        ("seed sweep", "not seed sweep"),
        ("only seed sweeps", "no seed sweeps"),
    ),
)
"""The yes/no filters (the browser's chips)."""
FILTER_TERMS = (
    *FLAG_TERMS,
    FilterTerm("model", ("--model",)),
    FilterTerm("from_date", ("--from",)),
    FilterTerm("to_date", ("--to",)),
    FilterTerm("tags", ("--tag",)),
    FilterTerm("rating", ("--rating",)),
    FilterTerm("search", ("--search",)),
    FilterTerm("dry_run", ("--dry-runs",)),
    FilterTerm("missing", ("--missing",)),
)
"""Every filter of ``kit.sessions()``, ``kit.count()``, ``sessionkit list`` and the browser."""
_FLAG_WORDS = {term.name: term.words for term in FLAG_TERMS}


class InvalidFilter(SessionKitError):
    """A filter, ordering or aggregation argument that cannot be used."""


@dataclass(frozen=True)
class SessionFilter:
    """The filters of ``kit.sessions()``; ``None`` means "don't filter".

    ``dry_run`` and ``missing`` default to ``False``: dry runs and sessions
    whose folder vanished are listed only when asked for.
    """

    liked: bool | None = None
    test: bool | None = None
    complete: bool | None = None
    seed_sweep: bool | None = None
    model: str | None = None
    from_date: str | date | datetime | None = None
    to_date: str | date | datetime | None = None
    tags: Sequence[str] | None = None
    rating: str | None = None
    search: str | None = None
    dry_run: bool | None = False
    missing: bool | None = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def where(self) -> tuple[str, list[Any]]:
        """``(sql, params)`` for a ``WHERE`` clause over the ``sessions`` view."""
        clauses: list[str] = []
        params: list[Any] = []
        for sql, values, _ in self._parts():
            clauses.append(sql)
            params.extend(values)
        return (" AND ".join(clauses) or "TRUE"), params

    def describe(self) -> str:
        """The active filters in words; ``""`` when nothing is filtered."""
        return " and ".join(words for _, _, words in self._parts() if words)

    def _parts(self) -> list[tuple[str, list[Any], str]]:
        """Each active filter as (SQL fragment, parameters, words)."""
        parts: list[tuple[str, list[Any], str]] = []
        for flag, name, column in (
            (self.liked, "liked", "is_favorite"),
            (self.test, "test", "is_test"),
            (self.seed_sweep, "seed_sweep", "is_seed_sweep"),
        ):
            if flag is not None:
                word = _FLAG_WORDS[name][0 if flag else 1]
                parts.append((f"{column} = ?", [int(bool(flag))], word))
        if self.complete is not None:
            op = ">=" if self.complete else "<"
            word = _FLAG_WORDS["complete"][0 if self.complete else 1]
            parts.append((f"completion_percentage {op} ?", [COMPLETE_PERCENT], word))
        if self.model:
            parts.append(
                (
                    "contains(lower(sd_model), lower(?))",
                    [self.model],
                    f"model contains {self.model}",
                )
            )
        if self.from_date is not None:
            start = TimeBound.parse(self.from_date, "from_date")
            parts.append(("session_created_at >= ?", [start.first()], f"from {start.words}"))
        if self.to_date is not None:
            end = TimeBound.parse(self.to_date, "to_date")
            parts.append(("session_created_at < ?", [end.after()], f"until {end.words}"))
        if self.tags:
            tags = [self.tags] if isinstance(self.tags, str) else list(self.tags)
            label = "tag" if len(tags) == 1 else "tags"
            parts.append(
                (
                    "list_has_all([lower(t) FOR t IN tags], ?::VARCHAR[])",
                    [[tag.lower() for tag in tags]],
                    f"{label} {', '.join(tags)}",
                )
            )
        if self.rating is not None:
            parts.append(_rating_part(self.rating))
        if self.search:
            parts.append(
                (
                    "(contains(lower(session_id), lower(?)) "
                    "OR contains(lower(coalesce(resolved_prompt, '')), lower(?)) "
                    "OR contains(lower(coalesce(user_note, '')), lower(?)))",
                    [self.search] * 3,
                    f'text contains "{self.search}"',
                )
            )
        for flag, column, word in (
            (self.dry_run, "is_dryrun", "dry run"),
            (self.missing, "is_missing", "missing"),
        ):
            if flag is not None:
                parts.append((f"{column} = ?", [bool(flag)], word if flag else ""))
        return parts


def _rating_part(rating: str) -> tuple[str, list[Any], str]:
    if rating in ("like", "dislike"):
        return "user_rating = ?", [rating], f"rated {rating}"
    if rating in ("none", ""):
        return "user_rating IS NULL", [], "not rated"
    raise InvalidFilter(f"rating must be 'like', 'dislike' or 'none', not {rating!r}")


_PRECISION = re.compile(
    r"""\d{4}-\d{2}-\d{2}
        (?: [T\ ] (?P<hour>\d{2}) (?P<minute>:\d{2})? (?P<second>:\d{2})? (?P<fraction>[.,]\d+)?
            (?: Z | [+-]\d{2}(?::?\d{2})? )? )?""",
    re.X,
)
"""The parts of an ISO date and time that were written: they set how long the bound lasts."""


@dataclass(frozen=True)
class TimeBound:
    """A ``from_date`` / ``to_date`` bound: the span of time the value names.

    A day alone names the whole day, a time to the minute names that whole
    minute, and so on: ``to_date="2025-11-01"`` keeps the evening of the 1st,
    ``to_date="2025-11-01 14:30"`` keeps 14:30:59 but not 14:31. Both bounds
    are inclusive of their span. Times with a zone are converted to local
    time, the form session times are stored in (see docs/data-model.md).
    """

    start: datetime
    span: timedelta
    words: str

    @classmethod
    def parse(cls, value: str | date | datetime, name: str) -> TimeBound:
        if isinstance(value, datetime):
            moment = _local(value)
            return cls(moment, timedelta(microseconds=1), moment.isoformat(sep=" "))
        if isinstance(value, date):
            return cls(datetime.combine(value, time()), timedelta(days=1), value.isoformat())
        text = str(value).strip()
        try:
            moment = _local(datetime.fromisoformat(text))
            written = _PRECISION.fullmatch(text)
        except ValueError:
            written = None
        if written is None:
            raise InvalidFilter(
                f"{name} must be a date like 2025-11-01 or a date and time like "
                f"2025-11-01T14:30, not {value!r}"
            ) from None
        if written["hour"] is None:
            return cls(moment, timedelta(days=1), moment.date().isoformat())
        if written["fraction"]:
            return cls(moment, timedelta(microseconds=1), moment.isoformat(sep=" "))
        if written["second"]:
            return cls(moment, timedelta(seconds=1), moment.isoformat(sep=" "))
        if written["minute"]:
            return cls(moment, timedelta(minutes=1), moment.isoformat(sep=" ", timespec="minutes"))
        return cls(moment, timedelta(hours=1), moment.isoformat(sep=" ", timespec="minutes"))

    def first(self) -> str:
        """The first stored time inside the span (stored times compare as ISO text)."""
        return self.start.isoformat()

    def after(self) -> str:
        """The first stored time after the span."""
        return (self.start + self.span).isoformat()


def _local(moment: datetime) -> datetime:
    """Naive local time, like the stored session times."""
    if moment.tzinfo is not None:
        return moment.astimezone().replace(tzinfo=None)
    return moment


def select_sessions(
    mirror: Mirror,
    where: SessionFilter,
    *,
    order_by: str = "session_created_at",
    descending: bool = True,
    limit: int | None = 100,
    offset: int = 0,
) -> pd.DataFrame:
    """The page of sessions matching ``where``, stats and metadata together."""
    if order_by not in ORDERABLE:
        raise InvalidFilter(f"cannot order by {order_by!r}; choose one of {', '.join(ORDERABLE)}")
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidFilter("limit and offset must not be negative")
    clause, params = where.where()
    direction = "DESC" if descending else "ASC"
    order = f"ORDER BY {order_by} {direction} NULLS LAST, session_id {direction}"
    page = f"SELECT session_id FROM sessions WHERE {clause} {order}"
    if limit is not None:
        page += " LIMIT ?"
        params.append(limit)
    page += " OFFSET ?"
    params.append(offset)
    # Choose the page on narrow columns; the mirror keeps whole rows converted.
    return mirror.session_rows(mirror.column(page, params))


def browse_counts(
    mirror: Mirror, where: SessionFilter, chips: Sequence[str]
) -> tuple[int, dict[str, int], int]:
    """``(total, {chip: count}, listed)`` in one query (one scan of ``sessions``).

    A chip's count is what the result would be with that flag filter set to
    true (whatever it is now); ``listed`` counts every session the default
    filters show, for an empty page's message.
    """
    columns: list[str] = []
    params: list[Any] = []
    flagged: list[SessionFilter] = [replace(where, **{chip: True}) for chip in chips]  # type: ignore[arg-type]
    for scope in (where, *flagged, SessionFilter()):
        clause, values = scope.where()
        columns.append(f"count(*) FILTER (WHERE {clause})")
        params.extend(values)
    row = mirror.query(f"SELECT {', '.join(columns)} FROM sessions", params).iloc[0]
    counts = [int(value) for value in row]
    return counts[0], dict(zip(chips, counts[1:-1], strict=True)), counts[-1]


def count_sessions(mirror: Mirror, where: SessionFilter) -> int:
    clause, params = where.where()
    return int(mirror.scalar(f"SELECT count(*) FROM sessions WHERE {clause}", params))


_LISTED = "NOT is_dryrun AND NOT is_missing"


def models(mirror: Mirror) -> pd.DataFrame:
    """Distinct models (by ``model_name``) with their session counts, most used first.

    A name matches every ``sd_model`` spelling of that checkpoint through the
    ``model`` filter, which is a substring match.
    """
    return mirror.query(
        f"SELECT model, count(*) AS sessions FROM sessions "
        f"WHERE {_LISTED} AND model IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    )


def tags(mirror: Mirror) -> pd.DataFrame:
    """Every tag in use with the number of sessions carrying it."""
    return mirror.query(
        "SELECT tag, count(*) AS sessions FROM "
        "(SELECT unnest(tags) AS tag FROM session_metadata) GROUP BY 1 ORDER BY 2 DESC, 1"
    )


def recent_liked(mirror: Mirror, limit: int) -> pd.DataFrame:
    return mirror.query(
        f"SELECT * FROM sessions WHERE is_favorite = 1 AND {_LISTED} "
        "ORDER BY metadata_updated_at DESC NULLS LAST, session_id LIMIT ?",
        [limit],
    )


def by_model(mirror: Mirror) -> pd.DataFrame:
    """Per model: sessions, images, completion, likes and active period."""
    return mirror.query(
        f"""
        SELECT coalesce(model, '(unknown)') AS model,
               count(*) AS sessions,
               sum(images_actual)::BIGINT AS images_actual,
               sum(images_expected)::BIGINT AS images_expected,
               round(avg(completion_percentage), 2) AS mean_completion,
               count(*) FILTER (WHERE completion_percentage >= {COMPLETE_PERCENT})
                   AS complete_sessions,
               count(*) FILTER (WHERE is_favorite = 1) AS liked_sessions,
               round(count(*) FILTER (WHERE is_favorite = 1) / count(*), 4) AS liked_share,
               count(*) FILTER (WHERE is_seed_sweep = 1) AS seed_sweeps,
               min(session_created_at) AS first_session,
               max(session_created_at) AS last_session
        FROM sessions WHERE {_LISTED}
        GROUP BY 1 ORDER BY sessions DESC, model
        """
    )


def seed_sweeps(mirror: Mirror) -> pd.DataFrame:
    """Seed-sweep sessions with how many seeds and prompts each compared."""
    return mirror.query(
        f"""
        SELECT s.session_id, s.sd_model, s.seed_mode, s.images_actual, s.images_expected,
               s.completion_percentage, s.is_favorite, s.session_created_at,
               coalesce(c.seeds, 0) AS seeds,
               coalesce(c.prompts, 0) AS prompts
        FROM sessions s LEFT JOIN image_counts c USING (session_id)
        WHERE s.is_seed_sweep = 1 AND {_LISTED}
        ORDER BY s.session_created_at DESC NULLS LAST, s.session_id
        """,
        details=True,
    )


def timeline(mirror: Mirror, freq: str, *, by_model: bool = False) -> pd.DataFrame:
    """Sessions and images per day, week or month of ``session_created_at`` (and model)."""
    unit = TIMELINE_FREQUENCIES.get(freq)
    if unit is None:
        raise InvalidFilter(f"freq must be one of {', '.join(TIMELINE_FREQUENCIES)}, not {freq!r}")
    model = "coalesce(model, '(unknown)') AS model," if by_model else ""
    return mirror.query(
        f"""
        SELECT date_trunc('{unit}', session_created_at::TIMESTAMP) AS period, {model}
               count(*) AS sessions,
               sum(images_actual)::BIGINT AS images,
               count(*) FILTER (WHERE is_favorite = 1) AS liked_sessions
        FROM sessions WHERE {_LISTED} AND session_created_at IS NOT NULL
        GROUP BY ALL ORDER BY ALL
        """
    )


def tag_counts(mirror: Mirror) -> pd.DataFrame:
    """Per tag: sessions carrying it, how many of them are liked, and their images."""
    return mirror.query(
        f"""
        SELECT tag, count(*) AS sessions,
               count(*) FILTER (WHERE is_favorite = 1) AS liked_sessions,
               sum(images_actual)::BIGINT AS images
        FROM (SELECT unnest(tags) AS tag, is_favorite, images_actual FROM sessions
              WHERE {_LISTED})
        GROUP BY 1 ORDER BY sessions DESC, tag
        """
    )


def placeholder_values(
    mirror: Mirror, session_id: str | None, *, by_model: bool = False
) -> pd.DataFrame:
    """How often each used placeholder value appears, and the like rate of its sessions.

    ``like_rate`` is the share of the sessions that used the value which are
    liked; with ``by_model`` the counts are split by model. For the whole
    library the counts are kept as a table by the mirror until the sessions,
    their parts or their metadata change
    (:meth:`~sessionkit.mirror.Mirror.derived`): grouping the variations of
    every session took 25 of 30 ms at 10,000 sessions. One session's are
    counted from its own part.
    """
    order = f"ORDER BY placeholder, images DESC, value{', model' if by_model else ''}"
    if session_id is not None:
        return mirror.query(
            f"{_placeholder_counts(by_model, 'AND v.session_id = ?')} {order}",
            [session_id],
            details=True,
            session_id=session_id,
        )
    counts = mirror.derived(
        f"sessionkit_placeholder_values{'_by_model' if by_model else ''}",
        _placeholder_counts(by_model, ""),
        metadata=True,
    )
    return mirror.query(f"SELECT * FROM {counts} {order}", details=True)


def _placeholder_counts(by_model: bool, scope: str) -> str:
    """Sessions and images per used (placeholder, value) (and model), and how many are liked.

    A variation row is unique per (session, placeholder, value), so
    ``count(*)`` counts sessions (``count(DISTINCT session_id)`` cost five
    times as much at 10k sessions). Liked and hidden sessions are tested with
    ``IN`` against their (small) sets rather than joining every row with
    every session: a quarter faster at 200k used values.
    """
    model = "coalesce(st.model, '(unknown)') AS model," if by_model else ""
    by = "JOIN sessionkit_session_state st USING (session_id)" if by_model else ""
    return f"""
        WITH rows AS (
            SELECT v.placeholder, v.value, {model} v.images,
                   v.session_id IN (SELECT session_id FROM session_metadata
                                    WHERE is_favorite = 1) AS liked
            FROM variations v {by}
            WHERE v.used {scope}
              AND v.session_id NOT IN (SELECT session_id FROM sessionkit_session_state
                                       WHERE is_dryrun OR missing_since IS NOT NULL)
        )
        SELECT placeholder, value, {"model," if by_model else ""}
               count(*) AS sessions,
               sum(images)::BIGINT AS images,
               count(*) FILTER (WHERE liked) AS liked_sessions,
               coalesce(sum(images) FILTER (WHERE liked), 0)::BIGINT AS liked_images,
               round(count(*) FILTER (WHERE liked) / count(*), 4) AS like_rate
        FROM rows
        GROUP BY ALL
    """


def sweep_seeds(mirror: Mirror, session_id: str | None) -> pd.DataFrame:
    """For each seed sweep, each prompt it rendered and the seeds it was rendered with."""
    scope, params = ("AND s.session_id = ?", [session_id]) if session_id else ("", [])
    return mirror.query(
        f"""
        SELECT s.session_id, i.prompt,
               count(DISTINCT i.seed) AS seeds,
               list(DISTINCT i.seed ORDER BY i.seed) AS seed_values,
               count(*) FILTER (WHERE i.on_disk) AS images
        FROM sessions s JOIN images i USING (session_id)
        WHERE s.is_seed_sweep = 1 AND {_LISTED} {scope}
        GROUP BY ALL ORDER BY s.session_id, i.prompt
        """,
        params,
        details=True,
        session_id=session_id,
    )


def sweep_like_share(mirror: Mirror) -> pd.DataFrame:
    """Sessions and the share liked, for seed sweeps against every other session."""
    return mirror.query(
        f"""
        SELECT CASE WHEN is_seed_sweep = 1 THEN 'seed sweep' ELSE 'other' END AS kind,
               count(*) AS sessions,
               count(*) FILTER (WHERE is_favorite = 1) AS liked_sessions,
               round(count(*) FILTER (WHERE is_favorite = 1) / count(*), 4) AS liked_share
        FROM sessions WHERE {_LISTED}
        GROUP BY 1 ORDER BY 1 DESC
        """
    )


# -- images and their marks ----------------------------------------------

IMAGE_ORDER = ["session_id", "filename"]
WILSON_Z = 1.959963984540054
"""The normal quantile of a two-sided 95 % interval."""
RATING_COLUMNS = [
    "images",
    "rated",
    "liked",
    "disliked",
    "like_rate",
    "like_rate_low",
    "like_rate_high",
    "mean_stars",
]


@dataclass(frozen=True)
class ImageFilter:
    """The filters of ``kit.images()``; ``None`` means "don't filter"."""

    session_id: str | None = None
    rating: str | None = None
    stars: int | None = None
    tags: Sequence[str] | None = None
    values: dict[str, str] | None = None

    def where(self) -> tuple[str, list[Any]]:
        """``(sql, params)`` for a ``WHERE`` clause over the ``images`` view."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.session_id is not None:
            clauses.append("session_id = ?")
            params.append(self.session_id)
        if self.rating is not None:
            sql, values = _image_rating_part(self.rating)
            clauses.append(sql)
            params.extend(values)
        if self.stars is not None:
            clauses.append("stars >= ?")
            params.append(_stars_bound(self.stars))
        if self.tags:
            tags = [self.tags] if isinstance(self.tags, str) else list(self.tags)
            clauses.append("list_has_all([lower(t) FOR t IN image_tags], ?::VARCHAR[])")
            params.append([str(tag).lower() for tag in tags])
        for placeholder, value in _values(self.values).items():
            clauses.append("json_extract_string(applied_variations, ?) = ?")
            params.extend([_json_key(placeholder), value])
        return (" AND ".join(clauses) or "TRUE"), params


def _image_rating_part(rating: str) -> tuple[str, list[Any]]:
    if rating in ("like", "dislike"):
        return "rating = ?", [rating]
    if rating == "none":
        return "rating IS NULL", []
    raise InvalidFilter(f"rating must be 'like', 'dislike' or 'none', not {rating!r}")


def _stars_bound(stars: Any) -> int:
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidFilter(f"stars must be a whole number from 1 to 5, not {stars!r}")
    return stars


def _values(values: Any) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in values.items()
    ):
        raise InvalidFilter(
            "values must map placeholder names to values, e.g. {'EXPRESSIONS': 'smiling'}"
        )
    return values


def _json_key(name: str) -> str:
    """A JSON path naming one object key, whatever characters the key holds."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'$."{escaped}"'


def select_images(
    mirror: Mirror, where: ImageFilter, *, limit: int | None = None, offset: int = 0
) -> pd.DataFrame:
    """Images matching ``where``, with their marks, by session then file name.

    A whole result is sorted by pandas: DuckDB's parallel sort cost four times
    the lookup itself on one session's hundred rows (8 -> 32 ms at 1,000
    sessions). A page (``limit`` / ``offset``) is chosen in order by DuckDB.
    """
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidFilter("limit and offset must not be negative")
    clause, params = where.where()
    sql = f"SELECT * FROM images WHERE {clause}"
    if limit is None and not offset:
        frame = mirror.query(sql, params, details=True, sessions=False, session_id=where.session_id)
        return frame.sort_values(IMAGE_ORDER, kind="stable", ignore_index=True)
    sql += f" ORDER BY {', '.join(IMAGE_ORDER)} LIMIT ? OFFSET ?"
    return mirror.query(
        sql, [*params, limit, offset], details=True, sessions=False, session_id=where.session_id
    )


def image_filenames(mirror: Mirror, session_id: str) -> list[str]:
    """Every image file name the mirror knows in one session (listed or on disk)."""
    frame = mirror.query(
        "SELECT filename FROM image_rows WHERE session_id = ? ORDER BY filename",
        [session_id],
        details=True,
        sessions=False,
        session_id=session_id,
    )
    return [str(name) for name in frame["filename"]]


_MARK_COUNTS = """
count(*) FILTER (WHERE rating IS NOT NULL) AS rated,
count(*) FILTER (WHERE rating = 'like') AS liked,
count(*) FILTER (WHERE rating = 'dislike') AS disliked,
avg(stars) AS mean_stars
"""


def value_ratings(
    mirror: Mirror, session_id: str | None, *, by_model: bool = False
) -> pd.DataFrame:
    """Per used (placeholder, value) (and model): its images and what their marks say.

    The image counts come from ``variations`` (kept per session), the marks
    from ``marked_values`` (each marked image's values, kept by the mirror),
    so the cost follows the marks, not the library. Dry runs and vanished
    sessions are left out, as in :func:`placeholder_values`. For the whole
    library both are kept as tables by the mirror until what they count
    changes (:meth:`~sessionkit.mirror.Mirror.derived`): grouping the
    variations and the marked values took 50 of 60 ms at 10,000 sessions.
    """
    mirror.ensure_marked_values()
    keys = "placeholder, value, model" if by_model else "placeholder, value"
    marks = _VALUE_MARKS.format(
        model=", coalesce(st.model, '(unknown)') AS model" if by_model else "",
        scope="AND mv.session_id = ?" if session_id else "",
    )
    if session_id is None:
        images = mirror.derived("sessionkit_value_images", _VALUE_IMAGES.format(scope=""))
        marks = mirror.derived(
            f"sessionkit_value_marks{'_by_model' if by_model else ''}", marks, marks=True
        )
    else:
        images = f"({_VALUE_IMAGES.format(scope='AND v.session_id = ?')})"
        marks = f"({marks})"
    frame = mirror.query(
        f"""
        WITH counts AS (
            SELECT {keys}, sum(images)::BIGINT AS images FROM {images} i GROUP BY ALL
        )
        SELECT {keys}, images,
               coalesce(rated, 0) AS rated, coalesce(liked, 0) AS liked,
               coalesce(disliked, 0) AS disliked, mean_stars
        FROM counts LEFT JOIN {marks} m USING ({keys})
        ORDER BY placeholder, images DESC, value{", model" if by_model else ""}
        """,
        [session_id, session_id] if session_id else [],
        details=True,
        session_id=session_id,
    )
    return with_like_rates(frame)


_LISTED_MODELS = """
SELECT session_id, model FROM sessionkit_session_state WHERE NOT is_dryrun AND missing_since IS NULL
"""
"""The sessions whose images ratings count (dry runs and vanished sessions are left out)."""
_VALUE_IMAGES = f"""
SELECT v.placeholder, v.value, coalesce(st.model, '(unknown)') AS model,
       sum(v.images)::BIGINT AS images
FROM variations v JOIN ({_LISTED_MODELS}) st USING (session_id)
WHERE v.used AND v.images > 0 {{scope}}
GROUP BY ALL
"""
"""Images per used (placeholder, value, model); summed over models when not split by model."""
_VALUE_MARKS = f"""
SELECT mv.placeholder, mv.value {{model}}, {_MARK_COUNTS}
FROM marked_values mv JOIN ({_LISTED_MODELS}) st USING (session_id)
WHERE (mv.rating IS NOT NULL OR mv.stars IS NOT NULL) {{scope}}
GROUP BY ALL
"""
"""What the marks say per used (placeholder, value) (and ``{model}``)."""


def seed_ratings(mirror: Mirror, session_id: str | None) -> pd.DataFrame:
    """Per seed: its images and what their marks say (the same columns as by value).

    For the whole library the images per seed and the marks per seed are
    kept as tables by the mirror until what they count changes
    (:meth:`~sessionkit.mirror.Mirror.derived`): grouping every image row
    took 210 of 235 ms at 10,000 sessions. So is their join (one row per
    seed: 190,000 in the demo at 10,000 sessions), which took another 20 ms.
    """
    if session_id is not None:
        frame = mirror.query(
            _SEED_ROWS.format(
                counts=f"count(*) AS images, {_MARK_COUNTS}",
                marks="LEFT JOIN image_metadata m USING (session_id, filename)",
                scope="AND i.session_id = ?",
            )
            + " ORDER BY i.seed",
            [session_id],
            details=True,
            session_id=session_id,
        )
        return with_like_rates(frame)
    images = mirror.derived(
        "sessionkit_seed_images",
        _SEED_ROWS.format(counts="count(*) AS images", marks="", scope=""),
    )
    marks = mirror.derived(
        "sessionkit_seed_marks",
        _SEED_ROWS.format(
            counts=_MARK_COUNTS,
            marks="JOIN image_metadata m USING (session_id, filename)",
            scope="",
        ),
        marks=True,
    )
    ratings = mirror.derived(
        "sessionkit_seed_ratings",
        f"""
        SELECT seed, images, coalesce(rated, 0) AS rated, coalesce(liked, 0) AS liked,
               coalesce(disliked, 0) AS disliked, mean_stars
        FROM {images} LEFT JOIN {marks} USING (seed)
        ORDER BY seed
        """,
        marks=True,
    )
    # kept in seed order, read in insertion order (DuckDB's preserve_insertion_order):
    # sorting 190,000 rows again on every call cost 18 ms
    frame = mirror.query(f"SELECT * FROM {ratings}", details=True)
    return with_like_rates(frame)


_SEED_ROWS = """
SELECT i.seed, {counts}
FROM image_rows i {marks}
WHERE i.seed IS NOT NULL {scope}
  AND i.session_id NOT IN (SELECT session_id FROM sessionkit_session_state
                           WHERE is_dryrun OR missing_since IS NOT NULL)
GROUP BY ALL
"""
"""``{counts}`` per seed over the images of listed sessions (and ``{marks}``)."""


def with_like_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``like_rate`` (NULL when nothing is rated) and its 95 % Wilson score interval.

    The Wilson interval stays inside 0..1 and is honest for small counts:
    one like out of one rating is 0.21..1, not a certain 100 %.
    """
    liked = frame["liked"].astype("float64")
    rated = (frame["liked"] + frame["disliked"]).astype("float64")
    n = rated.where(rated > 0)
    rate = liked / n
    z2 = WILSON_Z**2
    centre = (rate + z2 / (2 * n)) / (1 + z2 / n)
    half = WILSON_Z * ((rate * (1 - rate) / n + z2 / (4 * n * n)) ** 0.5) / (1 + z2 / n)
    result = frame.assign(
        like_rate=rate,
        # exact at the ends: no like at all gives 0, no dislike 1 (not 1e-17 off)
        like_rate_low=(centre - half).clip(lower=0.0).where(liked.ne(0) | n.isna(), 0.0),
        like_rate_high=(centre + half).clip(upper=1.0).where(liked.ne(n) | n.isna(), 1.0),
        mean_stars=frame["mean_stars"].astype("float64"),
    )
    keys = [column for column in frame.columns if column not in RATING_COLUMNS]
    return result[[*keys, *RATING_COLUMNS]]
