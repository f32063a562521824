"""Named sample manifests: every variant and failure docs/data-model.md lists.

Each sample is the bytes of a ``manifest.json`` as a writer leaves it on disk,
modelled on a real shape written by the sd-generator CLI (the shapes of
``corpora/sdgen-cli``: a random-mode portrait session, a seed sweep, a run with
the API down, a killed run...). Tests use :data:`EDGE_CASES` as pytest
parameters (the itables pattern), and :data:`EXPECTED` says which
``session_stats`` fields each sample pins down when its session folder holds
no image file. :data:`UNREADABLE` lists the samples that cannot be used at
all, with words their reason must contain.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import msgspec
import orjson

from sessionkit import manifest as manifest_module
from sessionkit.manifest import ParsedManifest, parse_manifest

MODEL = "realisticVisionV60B1_v51VAE.safetensors [15012c538f]"
TIMESTAMP = "2026-11-24T13:24:19.244018"
PROMPT = (
    "masterpiece, best quality, professional photograph,\n"
    "beautiful young woman, {EXPRESSIONS}, {HAIR},\n"
    "detailed face, perfect eyes, sharp focus\n"
)
MULTILINE_PROMPT = (
    "masterpiece, best quality,\n\nbeautiful young woman,\r\n  {EXPRESSIONS},\n\tdetailed face\n"
)
"""A YAML block scalar kept as written: blank line, CRLF, indentation, tab, final newline."""
NEGATIVE = "low quality, worst quality, blurry, out of focus,\nbad anatomy, deformed, disfigured\n"
EXPRESSIONS = [
    "neutral expression, calm face",
    "slight smile, subtle smile, gentle expression",
    "smiling, happy expression, cheerful",
    "laughing, joyful expression, big smile",
    "confident expression, self-assured look, strong gaze",
    "contemplative expression, thoughtful look, pensive",
    "shy expression, bashful look, timid smile",
    "surprised expression, wide eyes, amazed look",
    "serious expression, focused look, intense gaze",
    "playful expression, mischievous smile, fun look",
    "mysterious expression, enigmatic look, intriguing gaze",
    "seductive expression, sultry look, alluring gaze",
]
HAIR = [
    "long blonde hair, straight hair, flowing hair",
    "long red hair, wavy hair, ginger hair",
    "medium brown hair, bob cut, sleek bob",
    "pastel pink hair, medium length, dyed hair",
    "long braided hair, french braid, intricate braid",
    "short brown hair, short bob, chin-length",
]


def _dump(document: Any) -> bytes:
    """What the generator's ``json.dump(..., indent=2, ensure_ascii=False)`` writes."""
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _image(name: str, index: int, seed: int | None, expression: str, hair: str) -> dict[str, Any]:
    suffix = f"_seed-{seed}" if seed is not None else ""
    return {
        "filename": f"{name}_{index:04d}{suffix}.png",
        "seed": seed,
        "prompt": PROMPT.replace("{EXPRESSIONS}", expression).replace("{HAIR}", hair).strip(),
        "negative_prompt": NEGATIVE.strip(),
        "applied_variations": {"EXPRESSIONS": expression, "HAIR": hair},
    }


def _current_writer() -> dict[str, Any]:
    """The current generator's shape (corpus: ``20261124_132419-Scheduler_Example``)."""
    used_expressions = [EXPRESSIONS[i] for i in (4, 5, 6, 3, 1, 7)]
    used_hair = [HAIR[i] for i in (1, 2, 3, 4, 5)]
    pairs = [(used_expressions[i], used_hair[i % 5]) for i in range(6)]
    return {
        "snapshot": {
            "version": "2.0",
            "timestamp": TIMESTAMP,
            "runtime_info": {"sd_model_checkpoint": MODEL},
            "resolved_template": {"prompt": PROMPT, "negative": NEGATIVE},
            "generation_params": {
                "mode": "random",
                "seed_mode": "progressive",
                "base_seed": 42,
                "num_images": 6,
                "total_combinations": 216,
            },
            "api_params": {
                "width": 512,
                "height": 768,
                "steps": 30,
                "cfg_scale": 7,
                "sampler": "DPM++ 2M",
                "scheduler": "Karras",
                "batch_size": 1,
                "batch_count": 1,
            },
            "variations": {
                "EXPRESSIONS": {"available": EXPRESSIONS, "used": used_expressions, "count": 12},
                "HAIR": {"available": HAIR, "used": used_hair, "count": 6},
            },
            "fixed_placeholders": {},
            "theme_name": None,
            "style": "default",
        },
        "images": [
            _image("Scheduler_Example", i, 42 + i, expression, hair)
            for i, (expression, hair) in enumerate(pairs)
        ],
        "status": "completed",
    }


def _variant(**changes: Any) -> dict[str, Any]:
    """The current writer's manifest with ``snapshot.<key>``/``<key>`` values replaced.

    Keys are paths joined by ``__``: ``generation_params__num_images=None``
    deletes ``num_images``; ``top__status=...`` changes a top-level key.
    """
    document = _current_writer()
    for path, value in changes.items():
        parts = path.split("__")
        target = document if parts[0] == "top" else document["snapshot"]
        keys = parts[1:] if parts[0] == "top" else parts
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = copy.deepcopy(value)
    return document


_DELETE = object()


def _old_keys() -> dict[str, Any]:
    """An older writer: ``seed_base``, ``max_images``, ``sampler_name``, no ``status``."""
    document = _current_writer()
    params = document["snapshot"]["generation_params"]
    params["seed_base"] = params.pop("base_seed")
    params["max_images"] = params.pop("num_images")
    api = document["snapshot"]["api_params"]
    api["sampler_name"] = api.pop("sampler")
    api.pop("batch_count")
    api["n_iter"] = 1
    del document["status"]
    return document


def _nulls_everywhere() -> bytes:
    return _dump(
        {
            "snapshot": {
                "version": None,
                "timestamp": None,
                "runtime_info": {"sd_model_checkpoint": None},
                "resolved_template": {"prompt": None, "negative": None},
                "generation_params": {
                    "mode": None,
                    "seed_mode": None,
                    "base_seed": None,
                    "num_images": None,
                    "total_combinations": None,
                    "seed_list": None,
                },
                "api_params": {
                    "width": None,
                    "height": None,
                    "steps": None,
                    "cfg_scale": None,
                    "sampler": None,
                    "sampler_name": None,
                },
                "variations": {"EXPRESSIONS": {"available": None, "used": None, "count": None}},
                "fixed_placeholders": None,
                "theme_name": None,
                "style": None,
            },
            "images": None,
            "status": None,
        }
    )


def _wrong_types() -> bytes:
    """Strings where numbers go, lists where dicts go, a dict where the list goes."""
    return _dump(
        {
            "snapshot": {
                "version": 2.0,
                "timestamp": 1763990659,
                "runtime_info": [MODEL],
                "resolved_template": PROMPT,
                "generation_params": {
                    "mode": ["random"],
                    "seed_mode": 1,
                    "base_seed": "42",
                    "num_images": "twelve",
                    "total_combinations": "many",
                    "seed_list": "500,501,502",
                },
                "api_params": {
                    "width": "512",
                    "height": [768],
                    "steps": 30.0,
                    "cfg_scale": "7.5",
                    "sampler": ["Euler a"],
                    "sampler_name": 7,
                },
                "variations": {
                    "HAIR": HAIR[:2],
                    "EXPRESSIONS": {"available": {"a": 1}, "used": "smiling", "count": "12"},
                },
            },
            "images": {"filename": "Scheduler_Example_0000_seed-42.png", "seed": 42},
            "status": True,
        }
    )


def _sweep_images(name: str, prompts: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    images = []
    for p_index, expression in enumerate(prompts):
        for s_index, seed in enumerate(seeds):
            index = p_index * len(seeds) + s_index
            images.append(_image(name, index, seed, expression, HAIR[0]))
    return images


def _seed_list_sweep() -> dict[str, Any]:
    """Explicit sweep (corpus: ``Sweep_Expression_Framing``): 2 prompts x 5 seeds."""
    seeds = [1000, 1001, 1002, 1003, 1004]
    return _variant(
        generation_params={
            "mode": "combinatorial",
            "seed_mode": "progressive",
            "base_seed": 1000,
            "num_images": 10,
            "total_combinations": 168,
            "seed_list": seeds,
        },
        variations={
            "EXPRESSIONS": {"available": EXPRESSIONS, "used": EXPRESSIONS[2:4], "count": 12},
            "HAIR": {"available": HAIR, "used": HAIR[:1], "count": 6},
        },
        top__images=_sweep_images("Sweep_Expression_Framing", EXPRESSIONS[2:4], seeds),
    )


def _generation_mode_seed_sweep() -> dict[str, Any]:
    """Only the top-level ``generation_mode`` says sweep; the images alone would not."""
    document = _variant(generation_params__seed_mode="fixed")
    document["generation_mode"] = "seed-sweep"
    return document


def _per_image_sweep() -> dict[str, Any]:
    """No seed_list, random seeds: each of 2 prompts rendered with 3 seeds."""
    seeds = [357804647, 2009153620, 146208642]
    return _variant(
        generation_params={
            "mode": "random",
            "seed_mode": "random",
            "base_seed": -1,
            "num_images": 6,
            "total_combinations": 72,
        },
        variations={
            "EXPRESSIONS": {"available": EXPRESSIONS, "used": EXPRESSIONS[:2], "count": 12},
            "HAIR": {"available": HAIR, "used": HAIR[:2], "count": 6},
        },
        top__images=_sweep_images("Expressions_Random_Seed", EXPRESSIONS[:2], seeds),
    )


def _design_rule_sweep() -> dict[str, Any]:
    """Progressive seeds, one varying placeholder, 15 planned, nothing generated yet."""
    return _variant(
        generation_params={
            "mode": "random",
            "seed_mode": "progressive",
            "base_seed": 4242,
            "num_images": 15,
            "total_combinations": 18,
        },
        variations={
            "HAIR": {"available": HAIR, "used": HAIR[:3], "count": 6},
            "EXPRESSIONS": {"available": EXPRESSIONS, "used": EXPRESSIONS[:1], "count": 12},
        },
        top__images=[],
        top__status="ongoing",
    )


def _one_image_progressive() -> dict[str, Any]:
    """Corpus: ``Landscape_Test___Fixed_Prompt`` (one planned image, no placeholder)."""
    return _variant(
        resolved_template={"prompt": "mountain landscape at dawn, mist", "negative": ""},
        generation_params={
            "mode": "random",
            "seed_mode": "progressive",
            "base_seed": 1000,
            "num_images": 1,
            "total_combinations": 1,
        },
        api_params={"width": 768, "height": 512, "steps": 20, "cfg_scale": 7, "sampler": "Euler"},
        variations={},
        top__images=[
            {
                "filename": "Landscape_Test___Fixed_Prompt_0000_seed-1000.png",
                "seed": 1000,
                "prompt": "mountain landscape at dawn, mist",
                "negative_prompt": "",
                "applied_variations": {},
            }
        ],
    )


def _aborted_api_down() -> dict[str, Any]:
    """Corpus: ``20261124_132853-Scheduler_Example`` (API down: model unknown, 0 images)."""
    return _variant(
        runtime_info={"sd_model_checkpoint": "unknown"},
        top__images=[],
        top__status="aborted",
    )


def _killed_ongoing() -> dict[str, Any]:
    """Corpus: ``20261124_132920-Portrait_Variations___Full_Exploration`` (killed: 4 of 30)."""
    document = _variant(
        generation_params__num_images=30,
        api_params={},
        top__status="ongoing",
    )
    document["images"] = document["images"][:4]
    return document


def _placeholder_without_available_or_count() -> dict[str, Any]:
    return _variant(
        variations={
            "EXPRESSIONS": {"used": EXPRESSIONS[:2]},
            "HAIR": {"available": HAIR},
            "LIGHTING": {"count": 14},
        }
    )


def _unknown_extra_keys() -> dict[str, Any]:
    document = _current_writer()
    document["generator"] = {"name": "sd-generator", "commit": "8f5f26a"}
    document["snapshot"]["future_block"] = {"anything": [1, 2, 3]}
    document["snapshot"]["generation_params"]["selectors"] = {"HAIR": "[random:5]"}
    document["snapshot"]["api_params"]["enable_hr"] = True
    document["snapshot"]["api_params"]["hr_scale"] = 2.0
    document["snapshot"]["variations"]["EXPRESSIONS"]["weights"] = [1] * 12
    document["images"][0]["duration_s"] = 3.2
    return document


def _combinatorial_no_num_images() -> dict[str, Any]:
    """Combinatorial without a planned count: product of the non-zero len(used) = 3 x 4."""
    return _variant(
        generation_params={
            "mode": "combinatorial",
            "seed_mode": "progressive",
            "base_seed": 100,
            "total_combinations": 16128,
        },
        variations={
            "EXPRESSIONS": {"available": EXPRESSIONS, "used": EXPRESSIONS[:3], "count": 12},
            "HAIR": {"available": HAIR, "used": HAIR[:4], "count": 6},
            "LIGHTING": {"available": ["rim light", "soft light"], "used": [], "count": 2},
        },
    )


def _random_no_num_images() -> dict[str, Any]:
    """Random without a planned count: the number of listed images (6)."""
    return _variant(generation_params__num_images=_DELETE)


def _nothing_tells() -> dict[str, Any]:
    return _variant(
        generation_params={"mode": "random", "seed_mode": "progressive", "base_seed": 42},
        variations={},
        top__images=[],
    )


HUGE_IMAGES = 100_000


def _huge() -> bytes:
    """A combinatorial run listing 100,000 images, each prompt distinct (about 25 MB)."""
    images = [
        {
            "filename": f"Huge_Run_{i:06d}_seed-{1000 + i}.png",
            "seed": 1000 + i,
            "prompt": f"masterpiece, {EXPRESSIONS[i % 12]}, {HAIR[i // 12 % 6]}, pose {i // 72}",
            "negative_prompt": "low quality",
            "applied_variations": {"EXPRESSIONS": EXPRESSIONS[i % 12], "HAIR": HAIR[i // 12 % 6]},
        }
        for i in range(HUGE_IMAGES)
    ]
    document = _variant(
        generation_params={
            "mode": "combinatorial",
            "seed_mode": "progressive",
            "base_seed": 1000,
            "num_images": HUGE_IMAGES,
            "total_combinations": 4064256,
        },
    )
    document["images"] = images
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


_CURRENT = _dump(_current_writer())
_HALF_WRITTEN = _CURRENT[: len(_CURRENT) // 2]
_NAN = _dump(_variant(api_params__cfg_scale=123456.5)).replace(b"123456.5", b"NaN")
_LATIN1 = _dump(
    _variant(resolved_template={"prompt": "portrait of a cafe owner", "negative": "blurry"})
).replace(b"cafe owner", "café owner".encode("latin-1"))

EDGE_CASES: dict[str, bytes] = {
    "current_writer": _CURRENT,
    "old_keys": _dump(_old_keys()),
    "empty_snapshot": _dump({"snapshot": {}, "images": _current_writer()["images"][:3]}),
    "empty_api_params": _dump(_variant(api_params={})),
    "nulls_everywhere": _nulls_everywhere(),
    "wrong_types": _wrong_types(),
    "half_written": _HALF_WRITTEN,
    "empty_file": b"",
    "not_json": b"<html><body>502 Bad Gateway</body></html>\n",
    "json_array": _dump(_current_writer()["images"]),
    "non_utf8": _LATIN1,
    "utf8_bom": b"\xef\xbb\xbf" + _CURRENT,
    "nan_cfg": _NAN,
    "huge": _huge(),
    "seed_list_sweep": _dump(_seed_list_sweep()),
    "generation_mode_seed_sweep": _dump(_generation_mode_seed_sweep()),
    "per_image_sweep": _dump(_per_image_sweep()),
    "design_rule_sweep": _dump(_design_rule_sweep()),
    "one_image_progressive": _dump(_one_image_progressive()),
    "aborted_api_down": _dump(_aborted_api_down()),
    "killed_ongoing": _dump(_killed_ongoing()),
    "random_seed_minus_one": _dump(
        _variant(generation_params__seed_mode="random", generation_params__base_seed=-1)
    ),
    "random_seed_null": _dump(
        _variant(generation_params__seed_mode="random", generation_params__base_seed=None)
    ),
    "no_status": _dump(_variant(top__status=_DELETE)),
    "variations_empty": _dump(_variant(variations={})),
    "placeholder_without_available_or_count": _dump(_placeholder_without_available_or_count()),
    "unknown_extra_keys": _dump(_unknown_extra_keys()),
    "multiline_prompt": _dump(
        _variant(resolved_template={"prompt": MULTILINE_PROMPT, "negative": NEGATIVE})
    ),
    "html_in_prompt": _dump(
        _variant(
            resolved_template={
                "prompt": '<b>portrait</b> & <script>alert("x")</script>, {EXPRESSIONS}',
                "negative": "<i>blurry</i> </td>",
            }
        )
    ),
    "combinatorial_no_num_images": _dump(_combinatorial_no_num_images()),
    "random_no_num_images": _dump(_random_no_num_images()),
    "nothing_tells": _dump(_nothing_tells()),
}
"""Manifest bytes by case name."""

_SUMMARY_CURRENT = json.dumps(
    {
        "EXPRESSIONS": [EXPRESSIONS[i] for i in (4, 5, 6, 3, 1, 7)],
        "HAIR": [HAIR[i] for i in (1, 2, 3, 4, 5)],
    },
    ensure_ascii=False,
    separators=(",", ":"),
)

_CURRENT_STATS: dict[str, object] = {
    "sd_model": MODEL,
    "template_version": "2.0",
    "generation_mode": "random",
    "seed_mode": "progressive",
    "seed_base": 42,
    "resolved_prompt": PROMPT,
    "negative_prompt": NEGATIVE,
    "width": 512,
    "height": 768,
    "steps": 30,
    "cfg_scale": 7.0,
    "sampler_name": "DPM++ 2M",
    "images_expected": 6,
    "images_actual": 0,
    "completion_percentage": 0.0,
    "is_seed_sweep": 0,
    "placeholders_json": '{"EXPRESSIONS":6,"HAIR":5}',
    "variations_summary_json": _SUMMARY_CURRENT,
    "session_created_at": TIMESTAMP,
    "manifest_generated_at": TIMESTAMP,
    "first_image_created_at": None,
    "last_image_created_at": None,
    "status": "completed",
    "stats_source": "manifest",
    "stats_error": None,
}

_NO_STATS: dict[str, object] = {
    "sd_model": None,
    "template_version": None,
    "seed_base": None,
    "resolved_prompt": None,
    "width": None,
    "images_expected": 0,
    "completion_percentage": 0.0,
    "is_seed_sweep": 0,
    "placeholders_json": "{}",
    "variations_summary_json": "{}",
    "session_created_at": None,
    "status": None,
    "stats_source": "none",
}

EXPECTED: dict[str, dict[str, object]] = {
    "current_writer": _CURRENT_STATS,
    "old_keys": {**_CURRENT_STATS, "status": None},
    "empty_snapshot": {
        **_NO_STATS,
        "stats_source": "manifest",
        "images_expected": 3,
        "steps": None,
        "sampler_name": None,
        "generation_mode": None,
    },
    "empty_api_params": {
        "sd_model": MODEL,
        "resolved_prompt": PROMPT,
        "width": None,
        "height": None,
        "steps": None,
        "cfg_scale": None,
        "sampler_name": None,
        "images_expected": 6,
        "stats_source": "manifest",
    },
    "nulls_everywhere": {
        **_NO_STATS,
        "stats_source": "manifest",
        "negative_prompt": None,
        "generation_mode": None,
        "seed_mode": None,
        "height": None,
        "steps": None,
        "cfg_scale": None,
        "sampler_name": None,
        "manifest_generated_at": None,
        "placeholders_json": '{"EXPRESSIONS":0}',
        "variations_summary_json": '{"EXPRESSIONS":[]}',
    },
    "wrong_types": {
        "stats_source": "manifest",
        "sd_model": None,
        "template_version": "2.0",
        "generation_mode": None,
        "seed_mode": None,
        "seed_base": 42,
        "resolved_prompt": None,
        "width": 512,
        "height": None,
        "steps": 30,
        "cfg_scale": 7.5,
        "sampler_name": None,
        "images_expected": 0,
        "is_seed_sweep": 0,
        "placeholders_json": '{"HAIR":0,"EXPRESSIONS":0}',
        "manifest_generated_at": None,
        "status": None,
    },
    "half_written": _NO_STATS,
    "empty_file": _NO_STATS,
    "not_json": _NO_STATS,
    "json_array": _NO_STATS,
    "non_utf8": {
        "sd_model": MODEL,
        "negative_prompt": "blurry",
        "images_expected": 6,
        "steps": 30,
        "stats_source": "manifest",
    },
    "utf8_bom": _CURRENT_STATS,
    "nan_cfg": {**_CURRENT_STATS, "cfg_scale": None},
    "huge": {
        "images_expected": HUGE_IMAGES,
        "generation_mode": "combinatorial",
        "seed_base": 1000,
        "is_seed_sweep": 0,
        "stats_source": "manifest",
    },
    "seed_list_sweep": {"is_seed_sweep": 1, "images_expected": 10, "seed_base": 1000},
    "generation_mode_seed_sweep": {"is_seed_sweep": 1, "seed_mode": "fixed"},
    "per_image_sweep": {
        "is_seed_sweep": 1,
        "seed_mode": "random",
        "seed_base": None,
        "images_expected": 6,
    },
    "design_rule_sweep": {
        "is_seed_sweep": 1,
        "images_expected": 15,
        "status": "ongoing",
        "placeholders_json": '{"HAIR":3,"EXPRESSIONS":1}',
    },
    "one_image_progressive": {
        "is_seed_sweep": 0,
        "images_expected": 1,
        "negative_prompt": "",
        "placeholders_json": "{}",
        "width": 768,
        "height": 512,
        "sampler_name": "Euler",
    },
    "aborted_api_down": {
        "sd_model": None,
        "status": "aborted",
        "images_expected": 6,
        "completion_percentage": 0.0,
        "is_seed_sweep": 0,
        "stats_source": "manifest",
    },
    "killed_ongoing": {
        "status": "ongoing",
        "images_expected": 30,
        "width": None,
        "sd_model": MODEL,
    },
    "random_seed_minus_one": {"seed_base": None, "seed_mode": "random"},
    "random_seed_null": {"seed_base": None, "seed_mode": "random"},
    "no_status": {**_CURRENT_STATS, "status": None},
    "variations_empty": {
        "placeholders_json": "{}",
        "variations_summary_json": "{}",
        "images_expected": 6,
        "is_seed_sweep": 0,
    },
    "placeholder_without_available_or_count": {
        "placeholders_json": '{"EXPRESSIONS":2,"HAIR":0,"LIGHTING":0}',
        "variations_summary_json": json.dumps(
            {"EXPRESSIONS": EXPRESSIONS[:2], "HAIR": [], "LIGHTING": []}, separators=(",", ":")
        ),
    },
    "unknown_extra_keys": _CURRENT_STATS,
    "multiline_prompt": {"resolved_prompt": MULTILINE_PROMPT, "negative_prompt": NEGATIVE},
    "html_in_prompt": {
        "resolved_prompt": '<b>portrait</b> & <script>alert("x")</script>, {EXPRESSIONS}',
        "negative_prompt": "<i>blurry</i> </td>",
    },
    "combinatorial_no_num_images": {
        "images_expected": 12,
        "generation_mode": "combinatorial",
        "placeholders_json": '{"EXPRESSIONS":3,"HAIR":4,"LIGHTING":0}',
    },
    "random_no_num_images": {"images_expected": 6, "generation_mode": "random"},
    "nothing_tells": {"images_expected": 0, "completion_percentage": 0.0, "is_seed_sweep": 0},
}
"""The ``session_stats`` fields each case pins down (session folder without images,
session id without a start time)."""

UNREADABLE: dict[str, tuple[str, ...]] = {
    "half_written": ("cut short", "read again on the next scan"),
    "empty_file": ("empty",),
    "not_json": ("not valid JSON",),
    "json_array": ("JSON array", "not an object"),
}
"""Cases that give :class:`~sessionkit.manifest.Unreadable`, with words of the reason."""


@functools.cache
def parsed(name: str) -> ParsedManifest:
    """``parse_manifest(EDGE_CASES[name])``, parsed once per test run (``huge`` is slow)."""
    return parse_manifest(EDGE_CASES[name])


class _RefusingDecoder:
    """Stands in for the typed msgspec decoder: refuses every file, as it refuses a wrong type."""

    def decode(self, data: bytes) -> Any:
        raise msgspec.ValidationError("refused by the test: read the tolerant way")


def parse_tolerantly(data: bytes) -> ParsedManifest:
    """``parse_manifest`` forced down its tolerant path (orjson, then lenient ``json``).

    ``parse_manifest`` first tries a typed decoder and goes the tolerant way
    only when that decoder refuses the bytes; both ways must give the same
    result, so tests compare ``parse_manifest(data)`` with this.
    """
    fast = manifest_module._FAST_DECODER
    manifest_module._FAST_DECODER = _RefusingDecoder()  # type: ignore[assignment]
    try:
        return parse_manifest(data)
    finally:
        manifest_module._FAST_DECODER = fast


def takes_the_fast_path(data: bytes) -> bool:
    """Whether the typed decoder accepts ``data`` (else ``parse_manifest`` reads it tolerantly)."""
    try:
        manifest_module._FAST_DECODER.decode(data)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return False
    return True
