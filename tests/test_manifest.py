"""``parse_manifest`` / ``read_manifest`` on every named edge case (docs/data-model.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edge_cases import (
    EDGE_CASES,
    HUGE_IMAGES,
    MODEL,
    PROMPT,
    UNREADABLE,
    parse_tolerantly,
    parsed,
    takes_the_fast_path,
)
from sessionkit import manifest as manifest_module
from sessionkit.manifest import (
    MANIFEST,
    ImageEntry,
    Manifest,
    Unreadable,
    Variation,
    as_float,
    as_int,
    parse_manifest,
    read_manifest,
)

CASES = sorted(EDGE_CASES)
READABLE = [name for name in CASES if name not in UNREADABLE]


def _manifest(name: str) -> Manifest:
    result = parsed(name)
    assert isinstance(result, Manifest), f"{name}: {result}"
    return result


@pytest.mark.parametrize("name", CASES)
def test_every_edge_case_parses_to_a_manifest_or_a_reason(name: str) -> None:
    result = parse_manifest(EDGE_CASES[name])
    if name in UNREADABLE:
        assert isinstance(result, Unreadable)
        assert result.reason.startswith("manifest.json ")
    else:
        assert isinstance(result, Manifest)


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_reason_says_why(name: str) -> None:
    result = parsed(name)
    assert isinstance(result, Unreadable)
    for words in UNREADABLE[name]:
        assert words in result.reason


@pytest.mark.parametrize("name", READABLE)
def test_readable_fields_have_their_types(name: str) -> None:
    """Whatever the file held, the parser hands out only typed values."""
    result = _manifest(name)
    for text in (
        result.version,
        result.timestamp,
        result.sd_model,
        result.prompt,
        result.negative_prompt,
        result.mode,
        result.seed_mode,
        result.status,
        result.generation_mode,
    ):
        assert text is None or isinstance(text, str)
    for number in (result.base_seed, result.num_images):
        assert number is None or (isinstance(number, int) and not isinstance(number, bool))
    assert all(isinstance(seed, int) for seed in result.seed_list)
    assert isinstance(result.api_params, dict)
    for key, variation in result.variations.items():
        assert isinstance(key, str)
        assert isinstance(variation, Variation)
        assert all(isinstance(value, str) for value in (*variation.available, *variation.used))
    for image in result.images:
        assert isinstance(image, ImageEntry)
        assert image.seed is None or type(image.seed) is int
        assert image.prompt is None or isinstance(image.prompt, str)


def test_current_writer_fields() -> None:
    result = _manifest("current_writer")
    assert result.version == "2.0"
    assert result.timestamp == "2026-11-24T13:24:19.244018"
    assert result.sd_model == MODEL
    assert result.prompt == PROMPT
    assert (result.mode, result.seed_mode) == ("random", "progressive")
    assert (result.base_seed, result.num_images) == (42, 6)
    assert result.seed_list == ()
    assert result.api_params["sampler"] == "DPM++ 2M"
    assert result.api_params["batch_count"] == 1
    assert list(result.variations) == ["EXPRESSIONS", "HAIR"]
    assert result.variations["EXPRESSIONS"].count == 12
    assert len(result.variations["EXPRESSIONS"].available) == 12
    assert len(result.images) == 6
    first = result.images[0]
    assert first.seed == 42
    assert first.filename is not None and first.filename.endswith(".png")
    assert first.applied_variations is not None and set(first.applied_variations) == {
        "EXPRESSIONS",
        "HAIR",
    }
    assert first.prompt is not None and first.prompt.startswith("masterpiece, best quality")
    assert "long red hair, wavy hair, ginger hair" in first.prompt
    assert [image.seed for image in result.images] == list(range(42, 48))
    assert result.status == "completed"


def test_old_keys_are_merged_with_the_current_ones() -> None:
    old, current = _manifest("old_keys"), _manifest("current_writer")
    assert old.base_seed == current.base_seed == 42
    assert old.num_images == current.num_images == 6
    assert old.api_params["sampler_name"] == "DPM++ 2M"
    assert old.status is None


def test_current_key_wins_over_old_key_and_null_falls_back() -> None:
    both = parse_manifest(
        b'{"snapshot": {"generation_params": {"base_seed": 7, "seed_base": 8,'
        b' "num_images": 3, "max_images": 9}}}'
    )
    assert isinstance(both, Manifest)
    assert (both.base_seed, both.num_images) == (7, 3)
    nulls = parse_manifest(
        b'{"snapshot": {"generation_params": {"base_seed": null, "seed_base": 8,'
        b' "num_images": null, "max_images": 9}}}'
    )
    assert isinstance(nulls, Manifest)
    assert (nulls.base_seed, nulls.num_images) == (8, 9)


def test_empty_snapshot_keeps_the_images() -> None:
    result = _manifest("empty_snapshot")
    assert result.sd_model is None and result.num_images is None
    assert result.api_params == {} and result.variations == {}
    assert [image.seed for image in result.images] == [42, 43, 44]


def test_nulls_everywhere() -> None:
    result = _manifest("nulls_everywhere")
    assert result == Manifest(variations={"EXPRESSIONS": Variation()}, api_params=result.api_params)
    assert all(value is None for value in result.api_params.values())


def test_wrong_types_become_none_or_numbers() -> None:
    result = _manifest("wrong_types")
    assert result.version == "2.0"  # a number where text goes is kept as text
    assert result.timestamp is None
    assert result.sd_model is None
    assert result.prompt is None
    assert result.mode is None and result.seed_mode is None
    assert result.base_seed == 42  # "42"
    assert result.num_images is None  # "twelve"
    assert result.seed_list == ()
    assert result.variations == {"HAIR": Variation(), "EXPRESSIONS": Variation(count=12)}
    assert result.images == ()
    assert result.status is None


def test_non_utf8_byte_does_not_lose_the_manifest() -> None:
    result = _manifest("non_utf8")
    assert result.prompt is not None
    assert result.prompt.startswith("portrait of a caf")
    assert result.prompt.endswith(" owner")
    assert result.num_images == 6 and result.sd_model == MODEL


def test_utf8_bom_is_ignored() -> None:
    assert parsed("utf8_bom") == parsed("current_writer")


def test_nan_cfg_is_dropped_not_propagated() -> None:
    result = _manifest("nan_cfg")
    cfg = result.api_params.get("cfg_scale")
    assert isinstance(cfg, float) and math.isnan(cfg)  # kept raw; stats turns it into NULL
    assert result.api_params["steps"] == 30


def test_huge_manifest_lists_every_image() -> None:
    result = _manifest("huge")
    assert len(result.images) == HUGE_IMAGES
    assert result.images[-1].seed == 1000 + HUGE_IMAGES - 1
    assert result.images[-1].prompt is not None and result.images[-1].prompt.endswith(
        f"pose {(HUGE_IMAGES - 1) // 72}"
    )


def test_seed_list_and_generation_mode_are_read() -> None:
    assert _manifest("seed_list_sweep").seed_list == (1000, 1001, 1002, 1003, 1004)
    assert _manifest("generation_mode_seed_sweep").generation_mode == "seed-sweep"
    assert _manifest("current_writer").generation_mode is None


def test_random_seed_values_are_kept_raw() -> None:
    """``-1`` means random, but that meaning is decided in stats, not by the parser."""
    assert _manifest("random_seed_minus_one").base_seed == -1
    assert _manifest("random_seed_null").base_seed is None


def test_placeholder_without_available_or_count() -> None:
    variations = _manifest("placeholder_without_available_or_count").variations
    assert variations["EXPRESSIONS"].available == () and variations["EXPRESSIONS"].count is None
    assert len(variations["EXPRESSIONS"].used) == 2
    assert variations["HAIR"].used == () and len(variations["HAIR"].available) == 6
    assert variations["LIGHTING"] == Variation(count=14)


def test_unknown_extra_keys_change_nothing_known() -> None:
    extra, current = _manifest("unknown_extra_keys"), _manifest("current_writer")
    assert extra.api_params["enable_hr"] is True
    assert {k: v for k, v in extra.api_params.items() if k not in ("enable_hr", "hr_scale")} == (
        current.api_params
    )
    assert (extra.images, extra.variations, extra.num_images) == (
        current.images,
        current.variations,
        current.num_images,
    )


def test_prompts_are_kept_verbatim() -> None:
    multiline = _manifest("multiline_prompt")
    assert multiline.prompt is not None and "\r\n  {EXPRESSIONS}" in multiline.prompt
    html = _manifest("html_in_prompt")
    assert html.prompt == '<b>portrait</b> & <script>alert("x")</script>, {EXPRESSIONS}'


def test_aborted_and_killed_status() -> None:
    assert _manifest("aborted_api_down").status == "aborted"
    assert _manifest("aborted_api_down").sd_model == "unknown"  # NULL is decided in stats
    assert _manifest("aborted_api_down").images == ()
    assert _manifest("killed_ongoing").status == "ongoing"


# -- ImageEntry, and the two ways of reading ---------------------------------------


def test_image_entry_holds_the_listed_fields_seed_and_prompt_first() -> None:
    assert ImageEntry.__struct_fields__ == (
        "seed",
        "prompt",
        "filename",
        "negative_prompt",
        "applied_variations",
    )
    assert ImageEntry(7, "p") == ImageEntry(seed=7, prompt="p")
    assert ImageEntry() == ImageEntry(None, None)
    assert ImageEntry(7, "p") != ImageEntry(8, "p")
    assert hash(ImageEntry(7, "p")) == hash(ImageEntry(7, "p"))  # frozen
    with pytest.raises(AttributeError):
        ImageEntry(7, "p").seed = 8  # type: ignore[misc]


@pytest.mark.parametrize("name", CASES)
def test_both_ways_of_reading_give_the_same_manifest(name: str) -> None:
    """The typed decoder and the tolerant path agree on every sample (or both refuse it)."""
    assert parse_manifest(EDGE_CASES[name]) == parse_tolerantly(EDGE_CASES[name])


def test_the_samples_take_both_ways() -> None:
    """So the comparison above compares two ways, not one way with itself."""
    assert takes_the_fast_path(EDGE_CASES["current_writer"])
    assert takes_the_fast_path(EDGE_CASES["huge"])
    for name in ("nan_cfg", "utf8_bom", "non_utf8", "wrong_types", "half_written"):
        assert not takes_the_fast_path(EDGE_CASES[name]), name


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('{"seed": 12, "prompt": "p"}', ImageEntry(12, "p")),
        ('{"seed": null, "prompt": null}', ImageEntry()),
        ("{}", ImageEntry()),
        (
            '{"filename": "a.png", "negative_prompt": "n", "applied_variations": {"A": "x"}}',
            ImageEntry(None, None, "a.png", "n", {"A": "x"}),
        ),
        # a field of another type: the tolerant way keeps what the typed decoder would
        (
            '{"filename": "a.png", "negative_prompt": 5, "applied_variations": []}',
            ImageEntry(filename="a.png"),
        ),
        ('{"applied_variations": {"A": 1}}', ImageEntry()),
        ('{"seed": -9223372036854775808}', ImageEntry(-(2**63))),
        ('{"seed": 9223372036854775807}', ImageEntry(2**63 - 1)),
        # refused by the typed decoder, read value by value the tolerant way
        ('{"seed": "12"}', ImageEntry(12)),
        ('{"seed": " 12 "}', ImageEntry(12)),
        ('{"seed": 12.0}', ImageEntry(12)),
        ('{"seed": 1.5}', ImageEntry()),
        ('{"seed": true}', ImageEntry()),
        ('{"seed": "twelve"}', ImageEntry()),
        ('{"seed": [12]}', ImageEntry()),
        ('{"seed": 9223372036854775808}', ImageEntry()),
        ('{"seed": 18446744073709551616}', ImageEntry()),
        ('{"seed": 1, "prompt": 5}', ImageEntry(1)),
        ('{"seed": 1, "prompt": ["p"]}', ImageEntry(1)),
        ('{"seed": 1, "prompt": "caf\\ud800"}', ImageEntry(1, "caf\ufffd")),
    ],
)
def test_image_entry_values(entry: str, expected: ImageEntry) -> None:
    data = f'{{"images": [{entry}]}}'.encode()
    result = parse_manifest(data)
    assert isinstance(result, Manifest)
    assert result.images == (expected,)
    assert parse_tolerantly(data) == result


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ('[{"seed": 1}, "x", 3, null, [], {"seed": 2}]', (ImageEntry(1), ImageEntry(2))),
        ('{"seed": 1}', ()),
        ('"a.png"', ()),
        ("null", ()),
        ("[]", ()),
    ],
)
def test_images_that_are_not_a_list_of_objects(
    images: str, expected: tuple[ImageEntry, ...]
) -> None:
    data = f'{{"images": {images}, "status": "completed"}}'.encode()
    result = parse_manifest(data)
    assert isinstance(result, Manifest)
    assert (result.images, result.status) == (expected, "completed")
    assert parse_tolerantly(data) == result


def test_a_wrong_type_in_one_image_does_not_change_what_the_rest_says() -> None:
    """One string seed sends the whole file the tolerant way: every other value stays the same."""
    document = json.loads(CURRENT)
    fast = parse_manifest(json.dumps(document).encode())
    document["images"][3]["seed"] = str(document["images"][3]["seed"])
    data = json.dumps(document).encode()
    assert not takes_the_fast_path(data)
    assert parse_manifest(data) == fast


def test_wide_integer_in_api_params_reads_the_same_both_ways() -> None:
    """``api_params`` is kept raw: orjson gives a float where msgspec keeps the exact
    integer, but every value the stats take from it goes through ``as_int`` /
    ``as_float``, which read both alike."""
    data = b'{"snapshot": {"api_params": {"steps": 123456789012345678901234567890}}}'
    fast, tolerant = parse_manifest(data), parse_tolerantly(data)
    assert isinstance(fast, Manifest) and isinstance(tolerant, Manifest)
    assert as_int(fast.api_params["steps"]) is None
    assert as_int(tolerant.api_params["steps"]) is None
    assert as_float(fast.api_params["steps"]) == as_float(tolerant.api_params["steps"])


def test_integer_just_below_64_bits_is_none_both_ways() -> None:
    data = b'{"snapshot": {"generation_params": {"base_seed": -9223372036854775809}}}'
    fast, tolerant = parse_manifest(data), parse_tolerantly(data)
    assert isinstance(fast, Manifest) and isinstance(tolerant, Manifest)
    assert fast.base_seed is None
    assert tolerant.base_seed is None
    entry = parse_manifest(b'{"images": [{"seed": -9223372036854775809}]}')
    assert isinstance(entry, Manifest) and entry.images == (ImageEntry(),)


# -- half-written files ------------------------------------------------------

CURRENT = EDGE_CASES["current_writer"]


def _cut_after(marker: bytes, extra: int = 0) -> bytes:
    """The current writer's file cut ``extra`` bytes after the end of ``marker``."""
    end = CURRENT.index(marker) + len(marker) + extra
    return CURRENT[:end]


HALF_WRITTEN = {
    "after_a_comma": _cut_after(b'"version": "2.0",'),
    "inside_a_key": _cut_after(b'"times'),
    "inside_a_string_value": _cut_after(b'"sd_model_checkpoint": "realisticVision'),
    "inside_an_integer": _cut_after(b'"num_images": ', 1),
    "after_a_decimal_point": b'{"snapshot": {"api_params": {"cfg_scale": 7.',
    "inside_null": _cut_after(b'"theme_name": nu'),
    "inside_true": b'{"snapshot": {"api_params": {"enable_hr": tr',
    "inside_NaN": b'{"snapshot": {"api_params": {"cfg_scale": Na',
    "inside_a_negative_number": b'{"snapshot": {"generation_params": {"base_seed": -',
    "inside_a_utf8_character": '{"images": [{"prompt": "caf\u00e9'.encode()[:-1],
    "after_the_colon": _cut_after(b'"base_seed":'),
    "only_the_brace": b"{",
}


@pytest.mark.parametrize("name", sorted(HALF_WRITTEN))
def test_half_written_file_says_it_is_cut_short(name: str) -> None:
    """Any prefix of a manifest being rewritten is reported as cut short (docs/data-model.md).

    The reason is what a user sees in ``stats_error``; "not valid JSON" for a
    file that is merely being written sends them looking for a broken file.
    """
    result = parse_manifest(HALF_WRITTEN[name])
    assert isinstance(result, Unreadable)
    assert "cut short" in result.reason, result.reason
    assert "read again on the next scan" in result.reason


def test_every_prefix_of_a_real_manifest_is_cut_short() -> None:
    wrong = []
    for end in range(1, len(CURRENT)):
        result = parse_manifest(CURRENT[:end])
        if not (isinstance(result, Unreadable) and "cut short" in result.reason):
            wrong.append((end, CURRENT[max(0, end - 20) : end], result))
    assert wrong == [], f"{len(wrong)} prefixes misreported, e.g. {wrong[:3]}"


def test_whitespace_only_file_is_empty() -> None:
    result = parse_manifest(b" \n\t\r\n")
    assert isinstance(result, Unreadable)
    assert "empty" in result.reason


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b'"text"', "string"), (b"42", "number"), (b"null", "null"), (b"true", "boolean")],
)
def test_json_that_is_not_an_object(data: bytes, kind: str) -> None:
    result = parse_manifest(data)
    assert isinstance(result, Unreadable)
    assert f"JSON {kind}" in result.reason and "not an object" in result.reason


@pytest.mark.parametrize(
    "data",
    [b"1" * 4400, b'{"snapshot": {"generation_params": {"base_seed": ' + b"9" * 5000 + b"}}}"],
    ids=["top_level", "in_base_seed"],
)
def test_integer_longer_than_pythons_limit_does_not_raise(data: bytes) -> None:
    """A run of digits (a corrupt file) beyond ``sys.get_int_max_str_digits()`` (4300).

    orjson refuses it, and the fallback ``json.loads`` raises ``ValueError``
    (not ``JSONDecodeError``): ``parse_manifest`` promises never to raise.
    """
    result = parse_manifest(data)
    assert isinstance(result, Manifest | Unreadable)


def test_deep_nesting_does_not_raise() -> None:
    data = b'{"snapshot": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    result = parse_manifest(data)
    assert isinstance(result, Manifest | Unreadable)


# -- read_manifest -------------------------------------------------------------


def test_read_manifest_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(CURRENT)
    assert read_manifest(path) == parsed("current_writer")


def test_read_manifest_on_a_missing_file(tmp_path: Path) -> None:
    result = read_manifest(tmp_path / "manifest.json")
    assert isinstance(result, Unreadable)
    assert "manifest.json" in result.reason
    assert "vanished" in result.reason


def test_read_manifest_on_a_folder(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").mkdir()
    result = read_manifest(tmp_path / "manifest.json")
    assert result == Unreadable("manifest.json is not a regular file")


def test_read_manifest_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(CURRENT)
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 1024)
    result = read_manifest(path)
    assert isinstance(result, Unreadable)
    assert "limit" in result.reason
    over = parse_manifest(CURRENT)
    assert isinstance(over, Unreadable) and "limit" in over.reason
    small = json.dumps({"snapshot": {"version": "2.0"}}).encode()
    assert isinstance(read_manifest(_write(tmp_path / "small.json", small)), Manifest)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_manifest_file_name() -> None:
    assert MANIFEST == "manifest.json"
