"""The per-image and per-variation rules (sessionkit.details), as plain functions.

The relations they feed are tested through SQL in tests/test_mirror_details.py
and against storage in tests/test_detailfiles.py; here, the two ways of
decoding a manifest must agree on every named edge case, and the values of
unusual kinds take the documented form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from edge_cases import EDGE_CASES
from sessionkit import details as details_module
from sessionkit.detailfiles import DetailFiles
from sessionkit.details import Details, Fallback, session_details

NAMES = ["a_0000_seed-7.png", "b.png", "z_seed-99999999999999999999.png"]


def rows(data: bytes | None, fallback: Fallback | None = None) -> Details:
    return session_details(data, NAMES, [1_700_000_000] * 3, [10, 20, 30], fallback)


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_the_typed_and_the_lenient_way_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = rows(EDGE_CASES[name])
    monkeypatch.setattr(details_module, "_typed", lambda _data: None)
    assert rows(EDGE_CASES[name]) == fast


def test_values_of_other_kinds() -> None:
    document: dict[str, Any] = {
        "snapshot": {"variations": {"A": {"used": ["x", 3, None], "available": "x"}, "B": [1]}},
        "images": [
            {"filename": "a.png", "seed": "12", "prompt": 12, "negative_prompt": True},
            {"filename": 7, "seed": 1.0, "applied_variations": {"A": 3, "C": None}},
            {"filename": "a.png", "seed": 5},
            "not an object",
        ],
    }
    found = rows(json.dumps(document).encode())
    assert found.filename[:2] == ["a.png", "7"]
    assert found.seed[:2] == [12, 1]
    assert (found.prompt[0], found.negative_prompt[0]) == ("12", "true")
    assert found.applied_variations[1] == '{"A":3,"C":null}'  # JSON text, as in the relation
    variations = list(zip(found.placeholder, found.value, found.used, found.images, strict=True))
    assert variations == [("A", "3", True, 1), ("A", "x", True, 0)]


def test_unlisted_files_take_the_seed_in_their_name_or_the_infotext() -> None:
    plain = rows(None)
    assert plain.filename == sorted(NAMES)
    assert plain.seed == [7, None, None]  # past 64 bits: null
    assert plain.on_disk == [True] * 3
    infotext = rows(None, Fallback("p", "n", 42))
    assert (infotext.prompt, infotext.seed) == (["p", None, None], [42, None, None])


def test_a_lone_surrogate_is_written_as_a_replacement_character(tmp_path: Path) -> None:
    found = rows(
        b'{"images": [{"filename": "a.png", "prompt": "\\ud800", '
        b'"applied_variations": {"A": "\\udc80"}}]}'
    )
    assert found.counts() == (1, 1)
    files = DetailFiles(tmp_path / "sessions.db")
    part = files.write([("s", found)])
    written = (
        duckdb.connect()
        .execute(
            f"SELECT prompt, applied_variations FROM '{files.path(part.name, 'images')}' "
            "WHERE filename = 'a.png'"
        )
        .fetchall()
    )
    files.close()
    assert written == [("\ufffd", '{"A":"\ufffd"}')]
