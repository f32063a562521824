"""What a combinatorial session planned and failed: holes in the numbering, through the walk.

The builder below plays the generator (docs/data-model.md, "What a
combinatorial session planned"): it walks the product of the used values
in nested loops ordered by ``$W`` weight, renders each combination once per
seed of a ``seed_list`` (or ``batch_count`` times), stops after
``num_images`` and leaves a hole in the numbering where a request failed.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from builders import png_bytes
from sessionkit import NotCombinatorial, SessionKit
from sessionkit.analysis import plan_position, template_weights

SESSION = "20261124_132855-Study"


@dataclass
class Placeholder:
    name: str
    used: Sequence[str]
    weight: int | None = None  # None: no $W in the template (weight 1)
    selector: str = ""  # other options inside [...], e.g. "#0-2"

    def in_template(self) -> str:
        weight = f"${self.weight}" if self.weight is not None else ""
        inside = ";".join(option for option in (self.selector, weight) if option)
        return f"{{{self.name}[{inside}]}}" if inside else f"{{{self.name}}}"


@dataclass
class Run:
    """One generator run: its placeholders in manifest order and what went wrong."""

    placeholders: list[Placeholder]
    num_images: int | None = None
    seed_list: list[int] | None = None
    batch_count: int | None = None
    holes: Sequence[int] = ()
    listed_not_on_disk: Sequence[int] = ()
    template_order: list[str] | None = None  # order in the prompt; default manifest order
    loop_order: list[str] | None = None  # force a walk (ties), default by weight then manifest
    base_seed: int = 3000
    mode: str = "combinatorial"
    extra: dict[str, Any] = field(default_factory=dict)

    def loops(self) -> list[Placeholder]:
        if self.loop_order is not None:
            by_name = {p.name: p for p in self.placeholders}
            return [by_name[name] for name in self.loop_order]
        looping = [p for p in self.placeholders if (p.weight if p.weight is not None else 1) != 0]
        return sorted(looping, key=lambda p: p.weight if p.weight is not None else 1)

    def walk(self) -> Iterator[tuple[dict[str, str], int]]:
        """(applied values, seed) per plan position, as the generator renders them."""
        rng = random.Random(5)
        loops = self.loops()
        randoms = [p for p in self.placeholders if p.weight == 0]
        position = 0
        for combo in itertools.product(*(p.used for p in loops)):
            repeats: list[int | None] = [None] * (self.batch_count or 1)
            for seed in self.seed_list or repeats:
                applied = dict(zip((p.name for p in loops), combo, strict=True))
                applied.update({p.name: rng.choice(list(p.used)) for p in randoms})
                yield applied, self.base_seed + position if seed is None else seed
                position += 1

    def write(self, root: Path, folder: str = SESSION) -> Path:
        path = root / folder
        path.mkdir(parents=True)
        stem = folder.split("-", 1)[1]
        order = self.template_order or [p.name for p in self.placeholders]
        by_name = {p.name: p for p in self.placeholders}
        prompt = "portrait, " + ", ".join(by_name[name].in_template() for name in order)
        walk = list(self.walk())
        if self.num_images is not None:
            walk = walk[: self.num_images]
        params: dict[str, Any] = {
            "mode": self.mode,
            "seed_mode": "progressive",
            "base_seed": self.base_seed,
            "num_images": self.num_images,
            "total_combinations": 999,
        }
        if self.seed_list is not None:
            params["seed_list"] = self.seed_list
        images = []
        for position, (applied, seed) in enumerate(walk):
            if position in self.holes:
                continue
            name = f"{stem}_{position:04d}_seed-{seed}.png"
            images.append(
                {"filename": name, "seed": seed, "prompt": prompt, "applied_variations": applied}
            )
            if position not in self.listed_not_on_disk:
                (path / name).write_bytes(png_bytes())
        api = {"batch_count": self.batch_count} if self.batch_count else {}
        document = {
            "snapshot": {
                "version": "2.0",
                "resolved_template": {"prompt": prompt, "negative": "low quality"},
                "generation_params": params,
                "api_params": api,
                "variations": {
                    p.name: {"available": [*p.used, "unused"], "used": list(p.used)}
                    for p in self.placeholders
                },
                **self.extra,
            },
            "images": images,
            "status": "completed",
        }
        (path / "manifest.json").write_text(json.dumps(document))
        return path


def missing(tmp_path: Path, run: Run) -> list[dict[str, Any]]:
    run.write(tmp_path / "root")
    with SessionKit(tmp_path / "root", tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        frame = kit.missing_combinations(SESSION)
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]


EXPRESSIONS = ["neutral", "slight smile", "smiling"]
LIGHTING = ["natural", "rembrandt", "butterfly", "cinematic", "golden hour"]


def test_the_corpus_example_plans_12_and_misses_3(tmp_path: Path) -> None:
    """3 x 5 used values, num_images 12, positions 3, 7 and 11 failed (the real corpus)."""
    run = Run(
        [Placeholder("EXPRESSIONS", EXPRESSIONS), Placeholder("LIGHTING", LIGHTING)],
        num_images=12,
        holes=(3, 7, 11),
    )
    assert missing(tmp_path, run) == [
        {"position": 3, "EXPRESSIONS": "neutral", "LIGHTING": "cinematic"},
        {"position": 7, "EXPRESSIONS": "slight smile", "LIGHTING": "butterfly"},
        {"position": 11, "EXPRESSIONS": "smiling", "LIGHTING": "rembrandt"},
    ]


def test_a_complete_session_misses_nothing(tmp_path: Path) -> None:
    run = Run([Placeholder("EXPRESSIONS", EXPRESSIONS), Placeholder("LIGHTING", LIGHTING)])
    run.write(tmp_path / "root")
    with SessionKit(tmp_path / "root", tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        frame = kit.missing_combinations(SESSION)
    assert frame.empty
    assert list(frame.columns) == ["position", "EXPRESSIONS", "LIGHTING"]


def test_weights_order_the_loops(tmp_path: Path) -> None:
    """$W: lower is outer, whatever the manifest's order; the last loop varies fastest."""
    run = Run(
        [
            Placeholder("HAIR", ["blonde", "black"], weight=2),
            Placeholder("FRAMING", ["close", "wide", "full"], weight=1),
        ],
        holes=(1, 4),
    )
    assert missing(tmp_path, run) == [
        {"position": 1, "FRAMING": "close", "HAIR": "black"},
        {"position": 4, "FRAMING": "full", "HAIR": "blonde"},
    ]


def test_weight_zero_is_a_random_value_per_image_not_a_loop(tmp_path: Path) -> None:
    run = Run(
        [
            Placeholder("HAIR", ["blonde", "black", "brown"], weight=1, selector="#0-2"),
            Placeholder("EXPRESSIONS", ["calm", "smile"], weight=2),
            Placeholder("LIGHTING", ["a", "b", "c", "d", "e", "f", "g"], weight=0),
        ],
        num_images=6,
        holes=(5,),
    )
    assert missing(tmp_path, run) == [{"position": 5, "HAIR": "brown", "EXPRESSIONS": "smile"}]


def test_seed_list_renders_each_combination_with_each_seed(tmp_path: Path) -> None:
    run = Run(
        [Placeholder("EXPRESSIONS", ["smiling", "neutral"])],
        seed_list=[1000, 1001, 1002],
        holes=(2, 4),
    )
    assert missing(tmp_path, run) == [
        {"position": 2, "EXPRESSIONS": "smiling", "seed": 1002},
        {"position": 4, "EXPRESSIONS": "neutral", "seed": 1001},
    ]


def test_batch_count_repeats_each_combination(tmp_path: Path) -> None:
    run = Run([Placeholder("OUTFIT", ["tee", "jacket"])], batch_count=3, holes=(3, 5))
    assert missing(tmp_path, run) == [
        {"position": 3, "OUTFIT": "jacket"},
        {"position": 5, "OUTFIT": "jacket"},
    ]


def test_tied_weights_follow_the_order_the_images_show(tmp_path: Path) -> None:
    """Manifest order Place, Outfit; the images walk Outfit outer (the themed corpus run)."""
    run = Run(
        [Placeholder("Place", ["alley", "rooftop"]), Placeholder("Outfit", ["tee", "jacket"])],
        loop_order=["Outfit", "Place"],
        template_order=["Outfit", "Place"],
        holes=(2,),
    )
    assert missing(tmp_path, run) == [{"position": 2, "Outfit": "jacket", "Place": "alley"}]


def test_only_the_planned_steps_count_and_trailing_ones_too(tmp_path: Path) -> None:
    """num_images 4 of 6: position 3 never rendered is missing; 4 and 5 were never planned."""
    run = Run(
        [Placeholder("A", ["a1", "a2"]), Placeholder("B", ["b1", "b2", "b3"])],
        num_images=4,
        holes=(1, 3),
    )
    assert missing(tmp_path, run) == [
        {"position": 1, "A": "a1", "B": "b2"},
        {"position": 3, "A": "a2", "B": "b1"},
    ]


def test_a_listed_image_whose_file_is_gone_is_missing(tmp_path: Path) -> None:
    run = Run([Placeholder("A", ["x", "y", "z"])], listed_not_on_disk=(1,))
    assert missing(tmp_path, run) == [{"position": 1, "A": "y"}]


def test_refusals(tmp_path: Path) -> None:
    root = tmp_path / "root"
    Run([Placeholder("A", ["x", "y"])], mode="random").write(root, "20261124_100000-Random")
    shuffled = Run([Placeholder("A", ["x", "y"]), Placeholder("B", ["p", "q"])])
    path = shuffled.write(root, "20261124_110000-Shuffled")
    document = json.loads((path / "manifest.json").read_text())
    first, second = document["images"][0], document["images"][1]
    first["applied_variations"], second["applied_variations"] = (
        second["applied_variations"],
        first["applied_variations"],
    )
    (path / "manifest.json").write_text(json.dumps(document))
    gone = Run([Placeholder("A", ["x", "y"])]).write(root, "20261124_120000-Gone")
    with SessionKit(root, tmp_path / "sessions.db", progress=False) as kit:
        kit.index()
        (gone / "manifest.json").write_text("{not json")
        with pytest.raises(NotCombinatorial, match="random session"):
            kit.missing_combinations("20261124_100000-Random")
        with pytest.raises(NotCombinatorial, match="no loop order"):
            kit.missing_combinations("20261124_110000-Shuffled")
        with pytest.raises(NotCombinatorial, match="manifest cannot be read"):
            kit.missing_combinations("20261124_120000-Gone")


@pytest.mark.parametrize(
    ("prompt", "weights"),
    [
        (
            "{HAIR[#0-2;$1]}, {EXPRESSIONS[#0-3;$2]}, {LIGHTING[$0]}",
            {"HAIR": 1, "EXPRESSIONS": 2, "LIGHTING": 0},
        ),
        ("{A}, {B[x,y]}, {C[ $3 ]}", {"C": 3}),
        ("{A[$2]} {A[$5]}", {"A": 2}),
        ("{A[$x]} {B[$-1]} {C[#1;$10]}", {"C": 10}),
        ("no placeholders {} {[$1]}", {}),
    ],
)
def test_template_weights(prompt: str, weights: dict[str, int]) -> None:
    assert template_weights(prompt) == weights


@pytest.mark.parametrize(
    ("name", "position"),
    [
        ("Study_0007_seed-3007.png", 7),
        ("Study_0012.png", 12),
        ("Quick Test - x_10000_seed--5.webp", 10000),
        ("Study_007.png", None),
        ("upscaled (1).png", None),
    ],
)
def test_plan_position(name: str, position: int | None) -> None:
    assert plan_position(name) == position
