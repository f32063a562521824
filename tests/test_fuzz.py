"""Property tests: the parser and the stats rules never raise and keep their invariants.

The number of examples per property is ``SESSIONKIT_FUZZ_EXAMPLES``. The
default, 3,400 for each of the three properties, makes every CI run try over
10,000 generated manifests (quality.md asks for at least that many; about
40 s). For a quick local run, or a longer search::

    SESSIONKIT_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_fuzz.py
    SESSIONKIT_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sessionkit.manifest import ImageEntry, Manifest, ParsedManifest, Unreadable, parse_manifest
from sessionkit.stats import STATS_COLUMNS, FileInfo, SessionFiles, compute_session

EXAMPLES = int(os.environ.get("SESSIONKIT_FUZZ_EXAMPLES", "3400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- JSON-ish values around a realistic skeleton -----------------------------------------

# Characters that break text handling: lone surrogates (Python's json writes them as
# \udXXX escapes), NUL, a BOM, line separators, non-Latin text.
AWKWARD = ["\ud800", "\udfff", "\x00", "\ufeff", "\u2028", "\r", "\u00e9", "\u2615", "\u7f8e"]
any_text = st.one_of(
    st.text(st.characters(), max_size=24),  # any code point
    st.text(st.sampled_from(AWKWARD) | st.characters(max_codepoint=127), max_size=12),
)
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and infinities included: Python's json writes them
    any_text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The realistic value, or anything JSON can hold in its place (null, a list...)."""
    return st.one_of(strategy, json_values)


def optional_keys(**keys: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict whose every key may be missing, with an unknown extra key now and then."""
    return st.fixed_dictionaries(
        {}, optional={**keys, "extra_key": json_values, "_private": json_values}
    )


offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
calendar_edges = st.sampled_from([datetime.min, datetime.max, datetime(1970, 1, 1)])
timestamps = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes(timezones=offsets).map(lambda moment: moment.isoformat()),
    st.builds(lambda moment, tz: moment.replace(tzinfo=tz).isoformat(), calendar_edges, offsets),
    st.sampled_from(["2026-11-24T13:24:19.244018", "2025-10-13T14:23:45Z", "yesterday", ""]),
)
seeds = st.one_of(st.integers(-1, 2**32), st.integers(), st.sampled_from([-1, 0, 42]))
counts = st.one_of(st.integers(-2, 40), st.integers(), st.sampled_from(["12", "twelve"]))
placeholder_names = st.one_of(st.sampled_from(["EXPRESSIONS", "HAIR", "LIGHTING"]), any_text)
values = st.one_of(st.sampled_from(["smiling", "neutral", "bob cut", "rim light"]), any_text)
prompts = st.one_of(
    st.sampled_from(["masterpiece, {EXPRESSIONS}, {HAIR}", "a\nb\r\nc", "<b>x</b> & y"]),
    any_text,
)
filenames = st.one_of(
    st.builds(
        lambda index, seed, ext: f"Portrait_{index:04d}_seed-{seed}{ext}",
        st.integers(0, 12),
        st.integers(-5, 2**33),
        st.sampled_from([".png", ".PNG", ".jpg", ".jpeg", ".webp"]),
    ),
    st.builds(lambda index: f"Portrait_{index:04d}.png", st.integers(0, 12)),
    st.text(max_size=12).map(lambda stem: f"{stem}.png"),
)

variation = optional_keys(
    available=maybe(st.lists(values, max_size=6)),
    used=maybe(st.lists(values, max_size=14)),
    count=maybe(counts),
)
snapshot = optional_keys(
    version=maybe(st.sampled_from(["2.0", "1.0"])),
    timestamp=maybe(timestamps),
    runtime_info=maybe(
        optional_keys(sd_model_checkpoint=maybe(st.sampled_from(["unknown", "m.safetensors"])))
    ),
    resolved_template=maybe(optional_keys(prompt=maybe(prompts), negative=maybe(prompts))),
    generation_params=maybe(
        optional_keys(
            mode=maybe(st.sampled_from(["combinatorial", "random"])),
            seed_mode=maybe(st.sampled_from(["fixed", "progressive", "random"])),
            base_seed=maybe(seeds),
            seed_base=maybe(seeds),
            num_images=maybe(counts),
            max_images=maybe(counts),
            total_combinations=maybe(counts),
            seed_list=maybe(st.lists(seeds, max_size=6)),
        )
    ),
    api_params=maybe(
        optional_keys(
            width=maybe(st.sampled_from([512, 768, "512"])),
            height=maybe(st.sampled_from([512, 768, 1216.0])),
            steps=maybe(counts),
            cfg_scale=maybe(st.floats()),
            sampler=maybe(st.sampled_from(["DPM++ 2M", "Euler a", ""])),
            sampler_name=maybe(st.sampled_from(["DPM++ 2M Karras", ""])),
            batch_count=maybe(counts),
        )
    ),
    variations=maybe(st.dictionaries(placeholder_names, maybe(variation), max_size=5)),
    fixed_placeholders=json_values,
    theme_name=json_values,
)
image = optional_keys(
    filename=maybe(filenames),
    seed=maybe(seeds),
    prompt=maybe(prompts),
    negative_prompt=maybe(prompts),
    applied_variations=maybe(st.dictionaries(placeholder_names, maybe(values), max_size=4)),
)
documents = optional_keys(
    snapshot=maybe(snapshot),
    images=maybe(st.lists(maybe(image), max_size=12)),
    status=maybe(st.sampled_from(["ongoing", "completed", "aborted"])),
    generation_mode=maybe(st.sampled_from(["seed-sweep", "normal"])),
)


@st.composite
def manifest_files(draw: st.DrawFn) -> tuple[bytes, Any, bool]:
    """``(bytes as on disk, the document, whether the bytes are complete)``.

    Written the way a Python writer would (``json.dumps``, NaN allowed, with
    or without indent and ASCII escapes), in UTF-8, UTF-8 with a BOM or
    latin-1, and sometimes cut short as a reader catches a file being written.
    """
    document = draw(st.one_of(documents, documents, json_values))
    text = json.dumps(
        document, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans())
    )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    data = text.encode(encoding, "replace" if encoding == "latin-1" else "surrogatepass")
    cut = draw(st.one_of(st.none(), st.integers(0, max(0, len(data) - 1))))
    return (data if cut is None else data[:cut]), document, cut is None


TOKENS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b":",
    b",",
    b" ",
    b"\n",
    b'"snapshot"',
    b'"images"',
    b'"generation_params"',
    b'"num_images"',
    b"null",
    b"true",
    b"NaN",
    b"-Infinity",
    b"1e999",
    b"-1",
    b"0.5",
    b"1" * 4400,  # longer than Python's int-from-string limit
    b"\xef\xbb\xbf",
    b"\xe9",
    b"\\u",
    b"\\ud800",
    b"\x00",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)


# -- (a) the parser ---------------------------------------------------------------------


def assert_typed(manifest: Manifest) -> None:
    for text in (
        manifest.version,
        manifest.timestamp,
        manifest.sd_model,
        manifest.prompt,
        manifest.negative_prompt,
        manifest.mode,
        manifest.seed_mode,
        manifest.status,
        manifest.generation_mode,
    ):
        assert text is None or isinstance(text, str)
    for number in (manifest.base_seed, manifest.num_images, *manifest.seed_list):
        assert number is None or (type(number) is int)
    assert isinstance(manifest.api_params, dict)
    for name, spec in manifest.variations.items():
        assert isinstance(name, str)
        assert all(isinstance(v, str) for v in (*spec.available, *spec.used))
        assert spec.count is None or type(spec.count) is int
    for entry in manifest.images:
        assert isinstance(entry, ImageEntry)
        assert entry.seed is None or type(entry.seed) is int
        assert entry.filename is None or isinstance(entry.filename, str)
        assert all(
            isinstance(k, str) and isinstance(v, str) for k, v in entry.applied_variations.items()
        )


def assert_parsed(result: ParsedManifest) -> None:
    if isinstance(result, Unreadable):
        assert isinstance(result.reason, str) and result.reason.startswith("manifest.json ")
    else:
        assert isinstance(result, Manifest)
        assert_typed(result)


@FUZZ
@given(st.one_of(st.binary(max_size=512), token_soup))
@example(b"1" * 4400)  # found by this property: Python's json refuses to build such an int
def test_parse_manifest_never_raises_on_bytes(data: bytes) -> None:
    assert_parsed(parse_manifest(data))


@FUZZ
@given(manifest_files())
def test_parse_manifest_on_json_documents(sample: tuple[bytes, Any, bool]) -> None:
    data, document, complete = sample
    result = parse_manifest(data)
    assert_parsed(result)
    if complete and isinstance(document, dict):
        assert isinstance(result, Manifest), result
    elif complete:
        assert isinstance(result, Unreadable) and "not an object" in result.reason
    else:
        assert isinstance(result, Unreadable)  # a strict prefix of JSON text is never JSON


# -- (b) the stats rules ------------------------------------------------------------------

file_infos = st.builds(
    FileInfo,
    filenames,
    st.floats(-1e9, 4e9, allow_nan=False),  # what stat() can give: 1938 to 2096
    st.integers(0, 2**40),
)
listings = st.lists(file_infos, max_size=10, unique_by=lambda info: info.name).map(
    lambda infos: tuple(sorted(infos, key=lambda info: info.name))
)


@pytest.fixture(scope="module")
def empty_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's path: it holds no file, so reading an image's infotext fails softly."""
    return tmp_path_factory.mktemp("fuzz-session")


@FUZZ
@given(
    sample=manifest_files(),
    images=listings,
    manifest_kind=st.sampled_from(["parsed", "parsed", "parsed", "none", "missing file"]),
    session_id=st.one_of(
        st.sampled_from(["20251014_173320-x", "2025-10-14_173320_x.prompt", "20251399_999999-x"]),
        any_text,
    ),
    is_dryrun=st.booleans(),
)
# Failures this property found, kept so that it fails until they are fixed:
# a lone surrogate escape in a used value, and a tz-aware timestamp whose
# local time falls outside years 1..9999.
@example(
    sample=(b'{"snapshot": {"variations": {"X": {"used": ["\\ud800"]}}}}', None, True),
    images=(),
    manifest_kind="parsed",
    session_id="x",
    is_dryrun=False,
)
@example(
    sample=(b'{"snapshot": {"timestamp": "0001-01-01T00:00:00+01:00"}}', None, True),
    images=(),
    manifest_kind="parsed",
    session_id="x",
    is_dryrun=False,
)
def test_compute_session_never_raises(
    empty_folder: Path,
    sample: tuple[bytes, Any, bool],
    images: tuple[FileInfo, ...],
    manifest_kind: str,
    session_id: str,
    is_dryrun: bool,
) -> None:
    manifest = parse_manifest(sample[0]) if manifest_kind == "parsed" else None
    files = SessionFiles(
        session_id=session_id,
        path=str(empty_folder),
        images=images,
        has_manifest=manifest_kind != "none",
        signature="sig",
        is_dryrun=is_dryrun,
    )
    record = compute_session(files, manifest)
    stats = record.stats
    if manifest_kind == "missing file":  # compute_session read it: the file is not there
        manifest = Unreadable("")

    assert len(record.stats_row()) == len(STATS_COLUMNS)
    assert (stats.session_id, stats.session_path) == (session_id, str(empty_folder))
    assert (record.is_dryrun, record.signature) == (is_dryrun, "sig")
    assert stats.images_actual == len(images)
    assert type(stats.images_expected) is int and stats.images_expected >= 0
    expected_pct = (
        round(stats.images_actual / stats.images_expected * 100, 2)
        if stats.images_expected > 0
        else 0.0
    )
    assert stats.completion_percentage == expected_pct
    assert stats.is_seed_sweep in (0, 1)
    assert stats.stats_source in ("manifest", "images", "none")
    if isinstance(manifest, Manifest):
        assert stats.stats_source == "manifest" and stats.stats_error is None
    else:
        assert stats.stats_source == ("images" if images else "none")
        assert stats.is_seed_sweep == 0 and stats.images_expected == 0
        assert (stats.stats_error is not None) == isinstance(manifest, Unreadable)
    placeholders = json.loads(stats.placeholders_json)
    summary = json.loads(stats.variations_summary_json)
    assert isinstance(placeholders, dict) and isinstance(summary, dict)
    assert list(placeholders) == list(summary)
    assert all(type(n) is int and n >= 0 for n in placeholders.values())
    assert all(isinstance(v, list) and len(v) <= 10 for v in summary.values())
    assert stats.seed_base != -1
    assert stats.sd_model is None or stats.sd_model.strip().lower() != "unknown"
    if images:
        assert stats.first_image_created_at is not None
        assert stats.last_image_created_at is not None
        assert stats.first_image_created_at <= stats.last_image_created_at
    else:
        assert stats.first_image_created_at is None

    names = [row[1] for row in record.images]
    assert len(names) == len(set(names))
    on_disk = {row[1]: row[6] for row in record.images}
    assert all(on_disk.get(info.name) == 1 for info in images)
    assert set(on_disk.values()) <= {0, 1}
    assert sum(on_disk.values()) == len(images)
    keys = [(row[1], row[2]) for row in record.variations]
    assert len(keys) == len(set(keys))
    assert all(row[3] in (0, 1) and row[4] >= 0 for row in record.variations)
