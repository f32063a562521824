"""Per-image marks: storage rules, the API over them, and the answers built on them."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from builders import (
    image_name,
    manifest,
    write_old_sessionkit_db,
    write_session,
    write_webui_db,
)
from sessionkit import (
    NEVER_EDITED,
    InvalidFilter,
    InvalidMetadata,
    MetadataConflict,
    SessionKit,
    UnknownImage,
    UnknownSession,
)
from sessionkit import store as store_module
from sessionkit.analysis import liked_values
from sessionkit.demo import demo_image_marks
from sessionkit.notebook import mark_demo_images, open_kit
from sessionkit.store import IMAGE_METADATA_COLUMNS, Store, validate_image_metadata

PORTRAIT = "20251107_120000-Portrait"
OTHER = "20251108_090000-Other"
MOODS = ("smiling", "neutral")


def portrait_image(i: int) -> str:
    return image_name("Portrait", i, 1000 + i)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "sessions"
    write_session(root, PORTRAIT, manifest("Portrait", images=6, expressions=MOODS))
    write_session(
        root,
        OTHER,
        manifest("Other", images=2, model="illustriousXL_v01.safetensors", expressions=MOODS),
    )
    return root


@pytest.fixture
def kit(root: Path, tmp_path: Path) -> Iterator[SessionKit]:
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        yield kit


def stored(kit: SessionKit) -> list[tuple[Any, ...]]:
    """``image_metadata`` as a plain sqlite3 client sees it."""
    con = sqlite3.connect(kit.db_path)
    try:
        return con.execute("SELECT * FROM image_metadata ORDER BY 1, 2").fetchall()
    finally:
        con.close()


# -- storage -----------------------------------------------------------------


def test_table_has_the_documented_columns_and_key(tmp_path: Path) -> None:
    store = Store(tmp_path / "sessions.db")
    info = store.rows("PRAGMA table_info(image_metadata)")
    assert tuple(row[1] for row in info) == IMAGE_METADATA_COLUMNS
    assert [row[1] for row in info if row[5]] == ["session_id", "filename"]
    assert {row[1] for row in info if row[3]} >= {"session_id", "filename", "created_at"}


@pytest.mark.parametrize("webui", [False, True])
def test_an_older_or_webui_database_gains_the_table(tmp_path: Path, webui: bool) -> None:
    path = tmp_path / "sessions.db"
    if webui:
        write_webui_db(path)
    else:
        write_old_sessionkit_db(path, 3)
    store = Store(path)
    assert store.image_metadata_rows() == []
    saved = store.update_image_metadata("s", "a.png", {"stars": 2})
    assert (saved["stars"], saved["tags"]) == (2, "[]")


def test_reopening_and_migrating_never_touch_marks(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = Store(path)
    store.update_image_metadata("s", "a.png", {"rating": "like", "tags": ["x"]})
    before = store.image_metadata_rows()
    store.close()
    assert Store(path).image_metadata_rows() == before


def test_first_mark_creates_the_row_then_only_given_fields_change(kit: SessionKit) -> None:
    name = portrait_image(0)
    assert kit.image_metadata(PORTRAIT, name) == {
        "session_id": PORTRAIT,
        "filename": name,
        "rating": None,
        "stars": None,
        "tags": [],
        "note": None,
        "created_at": None,
        "updated_at": None,
    }
    first = kit.update_image_metadata(PORTRAIT, name, rating="like")
    assert (first["rating"], first["stars"], first["tags"]) == ("like", None, [])
    second = kit.update_image_metadata(PORTRAIT, name, stars=4, note="hands ok")
    assert (second["rating"], second["stars"], second["note"]) == ("like", 4, "hands ok")
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    assert kit.image_metadata(PORTRAIT, name) == second


def test_none_clears_a_mark_and_leaves_the_others(kit: SessionKit) -> None:
    name = portrait_image(1)
    kit.update_image_metadata(PORTRAIT, name, rating="dislike", stars=2)
    cleared = kit.update_image_metadata(PORTRAIT, name, rating=None)
    assert (cleared["rating"], cleared["stars"]) == (None, 2)
    cleared = kit.update_image_metadata(PORTRAIT, name, stars=None)
    assert cleared["stars"] is None


@pytest.mark.parametrize(
    ("marks", "field"),
    [
        ({"rating": "love"}, "rating"),
        ({"rating": 1}, "rating"),
        ({"stars": 0}, "stars"),
        ({"stars": 6}, "stars"),
        ({"stars": 2.5}, "stars"),
        ({"stars": "3"}, "stars"),
        ({"stars": True}, "stars"),
        ({"tags": ["two words"]}, "tags"),
        ({"tags": "keeper"}, "tags"),
        ({"tags": ["a", "A"]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"note": "x" * 501}, "note"),
        ({"note": 5}, "note"),
        ({"add_tags": ["no/slash"]}, "tags"),
        ({"add_tags": "keeper"}, "tags"),
        ({"tags": ["a"], "add_tags": ["b"]}, "tags"),
    ],
)
def test_a_bad_value_names_its_field_and_writes_nothing(
    kit: SessionKit, marks: dict[str, Any], field: str
) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), stars=3)
    before = stored(kit)
    with pytest.raises(InvalidMetadata) as error:
        kit.update_image_metadata(PORTRAIT, portrait_image(0), **{"note": "ok", **marks})
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")
    assert stored(kit) == before


def test_limits_are_inclusive_and_numpy_integers_count(kit: SessionKit) -> None:
    saved = kit.update_image_metadata(
        PORTRAIT, portrait_image(0), stars=cast(int, np.int64(5)), note="x" * 500, tags=["t" * 50]
    )
    assert (saved["stars"], len(saved["note"]), saved["tags"]) == (5, 500, ["t" * 50])
    assert type(saved["stars"]) is int


def test_conflict_on_updated_at(kit: SessionKit) -> None:
    name = portrait_image(2)
    with pytest.raises(MetadataConflict):
        kit.update_image_metadata(PORTRAIT, name, rating="like", expected_updated_at="2020-01-01")
    first = kit.update_image_metadata(
        PORTRAIT, name, rating="like", expected_updated_at=NEVER_EDITED
    )
    kit.update_image_metadata(PORTRAIT, name, stars=1)  # another writer
    with pytest.raises(MetadataConflict, match="edited elsewhere"):
        kit.update_image_metadata(
            PORTRAIT, name, rating="dislike", expected_updated_at=first["updated_at"]
        )
    with pytest.raises(MetadataConflict):
        kit.update_image_metadata(PORTRAIT, name, stars=2, expected_updated_at=NEVER_EDITED)
    assert kit.image_metadata(PORTRAIT, name)["rating"] == "like"


def test_tags_added_and_removed_against_the_stored_list(kit: SessionKit) -> None:
    name = portrait_image(3)
    kit.update_image_metadata(PORTRAIT, name, tags=["keeper"])
    # a tag another program stored, which sessionkit would refuse from a user
    con = sqlite3.connect(kit.db_path)
    con.execute(
        "UPDATE image_metadata SET tags = ? WHERE filename = ?", ('["keeper", "Best Of"]', name)
    )
    con.commit()
    con.close()
    saved = kit.update_image_metadata(PORTRAIT, name, add_tags=["hands", "KEEPER"])
    assert saved["tags"] == ["keeper", "Best Of", "hands"]
    saved = kit.update_image_metadata(PORTRAIT, name, remove_tags=["best of", "nothere"])
    assert saved["tags"] == ["keeper", "hands"]


def test_bulk_marks_many_images_in_one_transaction(kit: SessionKit) -> None:
    names = [portrait_image(i) for i in range(4)]
    kit.update_image_metadata(PORTRAIT, names[0], stars=5, tags=["old"])
    rows = kit.update_images_metadata(
        PORTRAIT, names, rating="like", add_tags=["batch"], remove_tags=["old"]
    )
    assert [row["filename"] for row in rows] == names
    assert {row["rating"] for row in rows} == {"like"}
    assert {tuple(row["tags"]) for row in rows} == {("batch",)}
    assert rows[0]["stars"] == 5  # not given: kept
    assert len({row["updated_at"] for row in rows}) == 4
    assert set(kit.images(PORTRAIT, rating="like")["filename"]) == set(names)
    assert kit.update_images_metadata(PORTRAIT, []) == []


def test_bulk_with_one_bad_image_or_value_writes_nothing(kit: SessionKit) -> None:
    names = [portrait_image(0), portrait_image(1)]
    with pytest.raises(UnknownImage):
        kit.update_images_metadata(PORTRAIT, [*names, "nope.png"], rating="like")
    with pytest.raises(InvalidMetadata):
        kit.update_images_metadata(PORTRAIT, names, stars=9)
    with pytest.raises(InvalidMetadata, match="tags"):
        kit.update_images_metadata(PORTRAIT, names, rating="like", add_tags=["ok", "not ok"])
    assert stored(kit) == []


def test_a_failure_inside_the_transaction_rolls_back_every_image(
    kit: SessionKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [portrait_image(0), portrait_image(1)]
    real = store_module._edit_image_row
    calls: list[str] = []

    def fail_on_second(con: Any, session_id: str, filename: str, *a: Any) -> Any:
        calls.append(filename)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return real(con, session_id, filename, *a)

    monkeypatch.setattr(store_module, "_edit_image_row", fail_on_second)
    with pytest.raises(sqlite3.OperationalError):
        kit.update_images_metadata(PORTRAIT, names, rating="like")
    assert stored(kit) == []


# -- which images are known ---------------------------------------------------


def test_unknown_image_and_session(kit: SessionKit) -> None:
    with pytest.raises(UnknownImage, match=r"did you mean 'Portrait_0001_seed-1001\.png'"):
        kit.update_image_metadata(PORTRAIT, "Portrait_0001_seed-1011.png", rating="like")
    with pytest.raises(UnknownImage):
        kit.image_metadata(PORTRAIT, "../20251108_090000-Other/" + image_name("Other", 0, 1000))
    with pytest.raises(UnknownSession, match="did you mean"):
        kit.update_image_metadata("20251107_120000-Portrai", portrait_image(0), rating="like")
    with pytest.raises(UnknownSession):
        kit.images("nope")
    assert stored(kit) == []


def test_an_image_listed_or_marked_stays_known_when_its_file_vanishes(
    kit: SessionKit, root: Path
) -> None:
    listed, unlisted = portrait_image(4), "extra_9999.png"
    (root / PORTRAIT / unlisted).write_bytes((root / PORTRAIT / listed).read_bytes())
    kit.update_image_metadata(PORTRAIT, unlisted, rating="like")  # on disk, not in the manifest
    kit.update_image_metadata(PORTRAIT, listed, stars=3)
    (root / PORTRAIT / listed).unlink()
    (root / PORTRAIT / unlisted).unlink()
    kit.index()
    # the manifest still lists one; the other is known by its marks
    assert kit.update_image_metadata(PORTRAIT, listed, stars=2)["stars"] == 2
    assert kit.update_image_metadata(PORTRAIT, unlisted, note="gone")["rating"] == "like"
    gone = kit.images(PORTRAIT).set_index("filename").loc[listed]
    assert (bool(gone["on_disk"]), gone["stars"]) == (False, 2)


def test_marks_survive_force_index_and_a_vanished_then_restored_session(
    kit: SessionKit, root: Path, tmp_path: Path
) -> None:
    kit.update_images_metadata(PORTRAIT, [portrait_image(0), portrait_image(1)], rating="like")
    before = stored(kit)
    kit.index(force=True)
    assert stored(kit) == before
    shutil.move(root / PORTRAIT, tmp_path / "away")
    kit.index()
    assert stored(kit) == before
    shutil.move(tmp_path / "away", root / PORTRAIT)
    kit.index()
    assert stored(kit) == before
    assert list(kit.images(PORTRAIT, rating="like")["filename"]) == [
        portrait_image(0),
        portrait_image(1),
    ]


# -- kit.images ----------------------------------------------------------------


def test_images_has_the_documented_columns_and_marks(kit: SessionKit) -> None:
    kit.update_image_metadata(
        PORTRAIT, portrait_image(1), rating="like", stars=4, tags=["keeper"], note="n"
    )
    frame = kit.images(PORTRAIT)
    assert list(frame.columns) == [
        "session_id",
        "filename",
        "seed",
        "prompt",
        "negative_prompt",
        "applied_variations",
        "on_disk",
        "file_mtime",
        "file_size",
        "rating",
        "stars",
        "image_tags",
        "image_note",
    ]
    assert list(frame["filename"]) == [portrait_image(i) for i in range(6)]
    row = frame.set_index("filename").loc[portrait_image(1)]
    assert (row["rating"], row["stars"], list(row["image_tags"]), row["image_note"]) == (
        "like",
        4,
        ["keeper"],
        "n",
    )
    assert frame["image_tags"][0].tolist() == []
    assert len(kit.images()) == 8


def test_images_filters(kit: SessionKit) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like", stars=5, tags=["A"])
    kit.update_image_metadata(PORTRAIT, portrait_image(1), rating="dislike", stars=2, tags=["a"])
    kit.update_image_metadata(PORTRAIT, portrait_image(2), stars=3, tags=["a", "b"])

    def names(**filters: Any) -> list[str]:
        return [name.split("_")[1] for name in kit.images(PORTRAIT, **filters)["filename"]]

    assert names(rating="like") == ["0000"]
    assert names(rating="dislike") == ["0001"]
    assert names(rating="none") == ["0002", "0003", "0004", "0005"]
    assert names(stars=3) == ["0000", "0002"]
    assert names(tags=["a"]) == ["0000", "0001", "0002"]
    assert names(tags=["a", "B"]) == ["0002"]
    assert names(values={"EXPRESSIONS": "neutral"}) == ["0001", "0003", "0005"]
    assert names(values={"EXPRESSIONS": "neutral"}, stars=2) == ["0001"]
    assert names(values={"NOPE": "neutral"}) == []
    assert names(limit=2, offset=1) == ["0001", "0002"]
    assert len(kit.images(values={"EXPRESSIONS": "smiling"})) == 4


@pytest.mark.parametrize(
    "filters",
    [
        {"rating": "liked"},
        {"stars": 0},
        {"stars": 6},
        {"stars": "3"},
        {"values": {"EXPRESSIONS": 1}},
        {"values": "EXPRESSIONS=smiling"},
        {"limit": -1},
        {"offset": -1},
    ],
)
def test_bad_image_filters_are_plain_errors(kit: SessionKit, filters: dict[str, Any]) -> None:
    with pytest.raises(InvalidFilter):
        kit.images(PORTRAIT, **filters)


def test_filter_values_are_parameters_not_sql(kit: SessionKit) -> None:
    evil = "x' OR 1=1 --"
    assert kit.images(values={evil: evil}).empty
    assert kit.images(values={'a"b': "x"}).empty
    assert kit.images(tags=[evil]).empty


def test_the_mirror_shows_image_metadata_with_tag_lists(kit: SessionKit) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), tags=["x", "y"], stars=1)
    frame = kit.sql("SELECT filename, stars, tags FROM image_metadata")
    assert frame["filename"].tolist() == [portrait_image(0)]
    assert list(frame["tags"][0]) == ["x", "y"]
    joined = kit.sql("SELECT count(*) AS n FROM images WHERE stars = 1")
    assert joined["n"][0] == 1


def test_a_kit_opened_later_sees_the_marks(kit: SessionKit, root: Path) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like")
    with SessionKit(root, kit.db_path, progress=False) as other:
        assert other.images(PORTRAIT, rating="like")["filename"].tolist() == [portrait_image(0)]


# -- value and seed ratings ----------------------------------------------------


def wilson(liked: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = liked / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_value_ratings_count_marks_per_value(kit: SessionKit) -> None:
    # smiling: images 0, 2, 4 (+2 in OTHER); neutral: 1, 3, 5 (+1 in OTHER)
    kit.update_images_metadata(PORTRAIT, [portrait_image(0), portrait_image(2)], rating="like")
    kit.update_image_metadata(PORTRAIT, portrait_image(4), rating="dislike", stars=2)
    kit.update_image_metadata(PORTRAIT, portrait_image(1), stars=4)  # starred, not rated
    frame = kit.value_ratings().set_index("value")
    assert list(frame.columns) == [
        "placeholder",
        "images",
        "rated",
        "liked",
        "disliked",
        "like_rate",
        "like_rate_low",
        "like_rate_high",
        "mean_stars",
    ]
    smiling, neutral = frame.loc["smiling"], frame.loc["neutral"]
    assert (smiling["images"], smiling["rated"], smiling["liked"], smiling["disliked"]) == (
        4,
        3,
        2,
        1,
    )
    assert smiling["like_rate"] == pytest.approx(2 / 3)
    low, high = wilson(2, 3)
    assert smiling["like_rate_low"] == pytest.approx(low)
    assert smiling["like_rate_high"] == pytest.approx(high)
    assert smiling["mean_stars"] == 2.0
    assert (neutral["images"], neutral["rated"]) == (4, 0)
    assert neutral[["like_rate", "like_rate_low", "like_rate_high"]].isna().all()
    assert neutral["mean_stars"] == 4.0


def test_wilson_interval_is_exact_at_the_ends(kit: SessionKit) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like")
    kit.update_image_metadata(PORTRAIT, portrait_image(1), rating="dislike")
    frame = kit.value_ratings(PORTRAIT).set_index("value")
    assert frame.loc["smiling", "like_rate_high"] == 1.0
    assert frame.loc["smiling", "like_rate_low"] == pytest.approx(wilson(1, 1)[0])
    assert frame.loc["neutral", "like_rate_low"] == 0.0
    assert frame.loc["neutral", "like_rate"] == 0.0


def test_value_ratings_per_session_and_per_model(kit: SessionKit) -> None:
    kit.update_image_metadata(OTHER, image_name("Other", 0, 1000), rating="like")
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="dislike")
    mine = kit.value_ratings(OTHER).set_index("value")
    assert (mine.loc["smiling", "images"], mine.loc["smiling", "liked"]) == (1, 1)
    assert mine.loc["smiling", "disliked"] == 0
    by_model = kit.value_ratings(by_model=True)
    smiling = by_model[by_model["value"] == "smiling"].set_index("model")
    assert smiling.loc["illustriousXL_v01", "liked"] == 1
    assert smiling.loc["realisticVisionV60B1_v51VAE", "disliked"] == 1
    assert by_model.groupby("value")["images"].sum().to_dict() == {"neutral": 4, "smiling": 4}


def test_value_ratings_leave_out_a_session_that_vanished(kit: SessionKit, root: Path) -> None:
    def images(frame: pd.DataFrame) -> dict[str, int]:
        return {str(k): int(v) for k, v in frame.set_index("value")["images"].items()}

    assert images(kit.value_ratings()) != images(kit.value_ratings(PORTRAIT))
    shutil.rmtree(root / OTHER)
    kit.index()
    assert images(kit.value_ratings()) == images(kit.value_ratings(PORTRAIT))


def test_seed_ratings_follow_every_later_mark(kit: SessionKit) -> None:
    def seed_1000() -> tuple[int, int, int]:
        frame = kit.seed_ratings()
        row = frame[frame["seed"] == 1000]
        return int(row["images"].item()), int(row["liked"].item()), int(row["disliked"].item())

    assert seed_1000() == (2, 0, 0)
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like")
    assert seed_1000() == (2, 1, 0)
    kit.update_image_metadata(OTHER, image_name("Other", 0, 1000), rating="dislike")
    assert seed_1000() == (2, 1, 1)
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating=None)
    assert seed_1000() == (2, 0, 1)


def test_seed_ratings(kit: SessionKit) -> None:
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like", stars=5)
    kit.update_image_metadata(OTHER, image_name("Other", 0, 1000), rating="dislike")
    frame = kit.seed_ratings().set_index("seed")
    assert (frame.loc[1000, "images"], frame.loc[1000, "liked"], frame.loc[1000, "disliked"]) == (
        2,
        1,
        1,
    )
    assert frame.loc[1000, "like_rate"] == 0.5
    assert frame.loc[1005, "rated"] == 0
    assert list(kit.seed_ratings(PORTRAIT)["seed"]) == list(range(1000, 1006))
    with pytest.raises(UnknownSession):
        kit.seed_ratings("nope")


# -- demo marks ------------------------------------------------------------------


def test_demo_image_marks_are_pure_and_valid() -> None:
    moods = ("calm", "angry", "sad", "happy", "bored", "shy")
    images = [(f"s{i % 7}", f"img_{i:04d}.png", {"MOOD": moods[i % 6]}) for i in range(1200)]
    marks = demo_image_marks(images)
    assert marks == demo_image_marks(list(reversed(images)))
    assert marks != demo_image_marks(images, seed=7)
    assert demo_image_marks(images[:10]) == {
        key: value for key, value in marks.items() if key in {(s, f) for s, f, _ in images[:10]}
    }
    for fields in marks.values():
        validate_image_metadata(fields)
    rated = [m for m in marks.values() if "rating" in m]
    assert 0.4 < len(rated) / len(images) < 0.7
    rates = {}
    for mood in moods:
        ratings = [
            marks[(s, f)]["rating"]
            for s, f, applied in images
            if applied["MOOD"] == mood and "rating" in marks.get((s, f), {})
        ]
        rates[mood] = ratings.count("like") / len(ratings)
    assert max(rates.values()) - min(rates.values()) > 0.3  # some values liked far more


def test_the_demo_root_gets_image_marks_once_and_keeps_the_users(
    demo_root: Path, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.db"
    with SessionKit(demo_root, db, progress=False) as kit:
        kit.index()
        first = kit.images().iloc[0]
        kit.update_image_metadata(first["session_id"], first["filename"], note="mine")
        marked = mark_demo_images(kit)
        assert marked > 50
        assert kit.image_metadata(first["session_id"], first["filename"])["note"] == "mine"
        assert mark_demo_images(kit) == 0
        values = kit.value_ratings()
        assert values["rated"].sum() > 0 and values["like_rate"].nunique() > 3
    before = stored_at(db)
    with open_kit(str(demo_root), str(db)) as kit:
        assert stored_at(db) == before


def test_any_other_root_gets_no_marks(root: Path, tmp_path: Path) -> None:
    with open_kit(str(root), str(tmp_path / "sessions.db")) as kit:
        assert stored(kit) == []
        assert kit.value_ratings()["rated"].sum() == 0


def test_marking_unedited_images_checks_every_image_first(kit: SessionKit) -> None:
    with pytest.raises(UnknownImage):
        kit.mark_unedited_images(
            {(PORTRAIT, portrait_image(0)): {"rating": "like"}, (PORTRAIT, "x.png"): {}}
        )
    with pytest.raises(InvalidMetadata, match="stars"):
        kit.mark_unedited_images({(PORTRAIT, portrait_image(0)): {"stars": 7}})
    assert stored(kit) == []
    kit.update_image_metadata(PORTRAIT, portrait_image(1), stars=1)
    marked = kit.mark_unedited_images(
        {
            (PORTRAIT, portrait_image(0)): {"rating": "like", "tags": ["demo"]},
            (PORTRAIT, portrait_image(1)): {"rating": "dislike"},
        }
    )
    assert marked == [(PORTRAIT, portrait_image(0))]
    assert kit.images(PORTRAIT, rating="like")["image_tags"].tolist()[0].tolist() == ["demo"]
    assert kit.image_metadata(PORTRAIT, portrait_image(1))["rating"] is None


def stored_at(db: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT * FROM image_metadata ORDER BY 1, 2").fetchall()
    finally:
        con.close()


def test_liked_values_are_the_values_to_generate_from_next() -> None:
    nan = float("nan")
    ratings = pd.DataFrame(
        {
            "placeholder": ["HAIR", "HAIR", "HAIR", "HAIR", "MOOD", "MOOD"],
            "value": ["red", "blue", "green", "pink", "calm", "sad"],
            "rated": [10, 2, 1, 4, 3, 0],
            "like_rate": [0.9, 1.0, 1.0, 0.5, 2 / 3, nan],
            "like_rate_low": [0.6, 0.34, 0.21, 0.15, 0.2, nan],
        }
    )
    assert liked_values(ratings) == {"HAIR": ["red", "blue"], "MOOD": ["calm"]}
    assert liked_values(ratings, min_rated=5) == {"HAIR": ["red"]}
    assert liked_values(ratings.iloc[0:0]) == {}
    twice = pd.concat([ratings, ratings], ignore_index=True)  # by_model: one row per model
    assert liked_values(twice) == {"HAIR": ["red", "blue"], "MOOD": ["calm"]}


def test_value_ratings_follow_every_later_mark(kit: SessionKit, root: Path) -> None:
    def smiling() -> tuple[int, int]:
        frame = kit.value_ratings()
        row = frame[frame["value"] == "smiling"]
        return int(row["liked"].item()), int(row["disliked"].item())

    assert smiling() == (0, 0)
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="like")
    assert smiling() == (1, 0)
    kit.update_image_metadata(PORTRAIT, portrait_image(0), rating="dislike")
    kit.update_images_metadata(PORTRAIT, [portrait_image(2), portrait_image(4)], rating="like")
    assert smiling() == (2, 1)
    # the manifest now says image 2 applied "neutral": a rescan changes its values
    document = json.loads((root / PORTRAIT / "manifest.json").read_text())
    document["images"][2]["applied_variations"] = {"EXPRESSIONS": "neutral"}
    (root / PORTRAIT / "manifest.json").write_text(json.dumps(document))
    kit.index()
    assert smiling() == (1, 1)
    with SessionKit(root, kit.db_path, progress=False) as other:  # another program marks
        other.update_image_metadata(OTHER, image_name("Other", 0, 1000), rating="like")
    assert smiling() == (2, 1)
