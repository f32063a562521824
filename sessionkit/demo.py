"""Write a deterministic demo sessions root: realistic sessions, edge cases included.

Tests, benchmarks, ``sessionkit demo DIR`` and the notebooks need sessions to look
at, and they must all agree on what is there. Like datasette's fixtures, the
generator is seeded (``random.Random(seed)``) and lives in the package: the same
arguments give a byte-identical tree with the same file times. Sessions mirror
what the real generator writes (docs/data-model.md and the sdgen-cli corpus),
including what goes wrong in the wild: killed runs, holes, older key names, odd
folder names, missing and broken manifests.

Only the standard library is used, and no other sessionkit module: the demo
must not change when the reading side does.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import random
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_MODELS",
    "DEMO_SEED",
    "MARKER_NAME",
    "MAX_IMAGES_PER_SESSION",
    "MAX_SESSIONS",
    "DemoSummary",
    "demo_image_marks",
    "demo_metadata",
    "write_demo_root",
]

DEMO_SEED = 42
"""Seed of the default demo root, the one the CLI and the notebooks use."""

MARKER_NAME = ".sessionkit-demo"
"""Hidden file that marks a folder as a demo root and records its arguments."""

MAX_SESSIONS = 10_000
MAX_IMAGES_PER_SESSION = 10_000

_FORMAT = 1
"""Recorded in the marker; bump it when the generated tree changes, so old roots
made by another version are refused instead of silently reused."""

_SPREAD_DAYS = 120
_MIN_SESSIONS_FOR_SPECIALS = 12
_THUMB_SIDE = 72
_BROKEN = frozenset({"truncated", "zeroed", "cp1252"})


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_root` wrote, so callers can check counts without a scan."""

    root: Path
    sessions: int
    """Session folders written (dry runs excluded)."""
    images: int
    """Image files written directly in session folders."""
    broken_manifests: tuple[str, ...]
    """Folders whose manifest is deliberately unreadable (truncated, not JSON, not UTF-8)."""
    without_manifest: tuple[str, ...]
    """Folders holding only images."""
    dry_runs: tuple[str, ...]
    """Folder names of the dry runs, which live under ``ROOT/dryrun/``."""


@dataclass(frozen=True)
class _Params:
    """Generation parameters as the server used them, i.e. what the infotext reports."""

    width: int
    height: int
    steps: int
    cfg: float
    sampler: str
    scheduler: str | None = None


@dataclass(frozen=True)
class _Model:
    """A checkpoint, the parameters its templates usually ask for, and its speed."""

    checkpoint: str
    params: _Params
    seconds: float
    anime: bool = False

    @property
    def name(self) -> str:
        """The name A1111 writes after ``Model:`` in the infotext."""
        return self.checkpoint.partition(".safetensors")[0]

    @property
    def short_hash(self) -> str:
        """The 10-digit hash A1111 writes after ``Model hash:``."""
        return self.checkpoint.rpartition("[")[2].rstrip("]")


_REALISTIC = _Model(
    "realisticVisionV60B1_v51VAE.safetensors [15012c538f]",
    _Params(512, 768, 25, 7, "DPM++ 2M Karras"),
    4.0,
)
_ILLUSTRIOUS = _Model(
    "illustriousXL_v01.safetensors [e3b0f4c1a2]",
    _Params(832, 1216, 28, 5.5, "Euler a"),
    9.0,
    anime=True,
)
_JUGGERNAUT = _Model(
    "juggernautXL_v9Rdphoto2Lightning.safetensors [c9e3e68f89]",
    _Params(832, 1216, 6, 2, "DPM++ SDE Karras"),
    3.0,
)
_DREAMSHAPER = _Model(
    "dreamshaper_8.safetensors [879db523c3]",
    _Params(512, 768, 30, 7, "DPM++ 2M Karras"),
    5.0,
)
_PONY = _Model(
    "ponyDiffusionV6XL_v6StartWithThisOne.safetensors [67ab2fd8ec]",
    _Params(832, 1216, 25, 7, "Euler a"),
    10.0,
    anime=True,
)
_MODELS = (_REALISTIC, _ILLUSTRIOUS, _JUGGERNAUT, _DREAMSHAPER, _PONY)
_MODEL_WEIGHTS = (5, 3, 2, 2, 1)

DEMO_MODELS: tuple[str, ...] = tuple(model.checkpoint for model in _MODELS)
"""Checkpoint names the demo uses, as ``runtime_info.sd_model_checkpoint`` holds them."""

_SERVER_DEFAULTS = _Params(512, 512, 20, 7.0, "Euler a")
"""What the server falls back to when the template sets no parameters."""

_Pool = tuple[tuple[str, str], ...]
"""A variation file: (key, text) pairs; keys are what template selectors name."""

_POOLS: dict[str, _Pool] = {
    "EXPRESSIONS": (
        ("neutral", "neutral expression, calm face"),
        ("slight_smile", "slight smile, subtle smile, gentle expression"),
        ("smiling", "smiling, happy expression, cheerful"),
        ("laughing", "laughing, joyful expression, big smile"),
        ("confident", "confident expression, self-assured look, strong gaze"),
        ("mysterious", "mysterious expression, enigmatic look, intriguing gaze"),
        ("serious", "serious expression, focused look, intense gaze"),
        ("contemplative", "contemplative expression, thoughtful look, pensive"),
        ("playful", "playful expression, mischievous smile, fun look"),
        ("shy", "shy expression, bashful look, timid smile"),
        ("surprised", "surprised expression, wide eyes, amazed look"),
        ("sad", "sad expression, teary eyes, melancholic"),
    ),
    "LIGHTING": (
        ("natural_soft", "soft natural lighting, window light, diffused sunlight"),
        ("natural_golden_hour", "golden hour lighting, warm sunset light, soft golden glow"),
        ("backlit", "backlit, rim lighting, silhouette lighting"),
        ("studio_key", "studio lighting, key light, professional lighting setup"),
        ("studio_rembrandt", "rembrandt lighting, dramatic shadows, classic portrait lighting"),
        ("studio_butterfly", "butterfly lighting, glamour lighting, beauty lighting"),
        ("split", "split lighting, half shadow half light, dramatic portrait lighting"),
        ("loop", "loop lighting, slight shadow, flattering portrait lighting"),
        ("low_key", "low key lighting, dark background, dramatic shadows"),
        ("high_key", "high key lighting, bright background, minimal shadows"),
        ("cinematic", "cinematic lighting, moody atmosphere, film lighting"),
        ("neon", "neon lighting, colorful lights, vibrant glow"),
        ("candlelight", "candlelight, warm flickering light, intimate lighting"),
        ("moonlight", "moonlight, cool blue light, night lighting"),
    ),
    "HAIR": (
        ("long_blonde_straight", "long blonde hair, straight hair, flowing hair"),
        ("long_brunette_curly", "long brown hair, curly hair, voluminous curls"),
        ("long_black_straight", "long black hair, straight hair, glossy hair"),
        ("medium_blonde_layered", "medium blonde hair, layered cut, soft waves"),
        ("short_blonde_pixie", "short blonde hair, pixie cut, edgy haircut"),
        ("updo_ponytail", "high ponytail, sleek hair, tied back"),
        ("red_wavy", "long red hair, wavy hair, ginger hair"),
        ("bob_brown", "medium brown hair, bob cut, sleek bob"),
        ("silver_braid", "silver hair, single braid, over shoulder"),
        ("pink_twintails", "pink hair, twintails, hair ribbons"),
        ("black_bun", "black hair, messy bun, loose strands"),
        ("platinum_long", "platinum blonde hair, long hair, icy blonde"),
    ),
    "FRAMING": (
        ("headshot_front", "headshot, front view, face focus, direct gaze"),
        ("headshot_three_quarter", "headshot, 3/4 view, slight angle, three-quarter portrait"),
        ("bust_portrait", "bust portrait, chest up, medium close-up"),
        ("shoulders_up", "shoulders up, front view, upper body visible"),
        ("waist_up", "waist up, half body portrait, torso visible"),
        ("full_body", "full body, standing, head to toe"),
        ("low_angle", "low angle shot, looking down at viewer"),
        ("profile", "side profile, looking away"),
        ("over_shoulder", "over the shoulder shot, looking back"),
        ("close_up", "extreme close-up, eyes focus"),
    ),
    "OUTFITS": (
        ("casual_tee", "white t-shirt, blue jeans, casual outfit"),
        ("summer_dress", "floral summer dress, straw hat"),
        ("business_suit", "tailored black suit, white blouse"),
        ("leather_jacket", "black leather jacket, band t-shirt"),
        ("evening_gown", "red evening gown, elegant jewelry"),
        ("hoodie", "oversized hoodie, cozy"),
        ("kimono", "traditional kimono, obi sash, floral pattern"),
        ("techwear", "cyberpunk jacket, neon accents, techwear"),
        ("sweater", "knitted turtleneck sweater, autumn coat"),
        ("sportswear", "track jacket, athletic wear, running shoes"),
    ),
    "PLACES": (
        ("cafe", "cozy caf\u00e9 interior, warm light"),
        ("library", "old library, wooden shelves"),
        ("city_night", "city street at night, bokeh lights"),
        ("beach", "sandy beach at sunset, ocean waves"),
        ("forest", "misty forest, tall pine trees"),
        ("studio", "plain studio backdrop, seamless grey"),
        ("rooftop", "rooftop garden, city skyline"),
        ("train", "train station platform, rainy day"),
    ),
}
_POOL_NAMES = tuple(_POOLS)

_PHOTO_SUBJECTS = (
    "beautiful woman, 25 years old",
    "Sophia, 28 years old, fair skin, blue eyes",
    "portrait of a man, 35 years old, short beard",
    "elderly woman, 70 years old, kind eyes, fine wrinkles",
)
_ANIME_SUBJECTS = ("1girl, solo", "1girl, solo, looking at viewer", "1boy, solo, spiky hair")
_PHOTO_QUALITY = "masterpiece, best quality, highly detailed, 8k uhd, professional photography"
_ANIME_QUALITY = "masterpiece, best quality, very aesthetic, absurdres"
_NEGATIVES = (
    "low quality, blurry, worst quality\n",
    "low quality, blurry, out of focus, bad anatomy, deformed,\nworst quality, amateur\n",
    "lowres, bad anatomy, bad hands, text, error, missing fingers,\nworst quality, watermark\n",
    "low quality, blurry",
)
_NAMES = (
    "Portrait_Study",
    "Expression_Study",
    "Lighting_Tests",
    "Hair_Styles",
    "Golden_Hour_Portraits",
    "Street_Fashion",
    "Moody_Cinematic",
    "Anime_Expressions",
    "Lookbook_Autumn",
    "Framing_Tests",
    "Beach_Sunset_Series",
    "Character_Design___Variations",
)
_BASE_SEEDS = (42, 100, 777, 1000, 1234, 2024, 3000, 4242, 5000, 8100, 9000, 31337)


@dataclass(frozen=True)
class _Slot:
    """A placeholder of a template: its variation file and the values the template selects."""

    name: str
    pool: _Pool
    picked: tuple[int, ...]

    @property
    def marker(self) -> str:
        """The placeholder as the template writes it: plain, an index range or a key list."""
        first, last = self.picked[0], self.picked[-1]
        if len(self.picked) == len(self.pool):
            return f"{{{self.name}}}"
        if len(self.picked) > 1 and last - first + 1 == len(self.picked):
            return f"{{{self.name}[#{first}-{last}]}}"
        return f"{{{self.name}[{','.join(self.pool[i][0] for i in self.picked)}]}}"


def _slot(pool: str, keys: str = "", name: str = "") -> _Slot:
    """A slot over a shared pool; ``keys`` (comma-separated) selects values, empty selects all."""
    choices = _POOLS[pool]
    wanted = keys.split(",") if keys else [key for key, _ in choices]
    picked = tuple(i for i, (key, _) in enumerate(choices) if key in wanted)
    return _Slot(name or pool, choices, picked)


def _own_slot(name: str, *texts: str) -> _Slot:
    """A slot with its own values (a theme's, or a one-off list), all selected."""
    pool = tuple((text.split(",")[0].replace(" ", "_"), text) for text in texts)
    return _Slot(name, pool, tuple(range(len(pool))))


@dataclass(frozen=True)
class _Design:
    """Everything that makes a session what it is, decided before anything is drawn."""

    name: str
    model: _Model
    template: str
    """The prompt with ``{NAME}`` where each slot's marker (or value) goes."""
    negative: str
    slots: tuple[_Slot, ...]
    images: int
    """Planned images (``num_images``)."""
    params: _Params | None = None
    """Parameters when they differ from the model's usual ones."""
    mode: str = "combinatorial"
    seed_mode: str = "progressive"
    base_seed: int | None = 1000
    seed_list: tuple[int, ...] = ()
    repeats: int = 1
    """Consecutive images per combination (seed comparisons)."""
    attempted: int | None = None
    """Images tried before the writer stopped; None means all of them."""
    failed_every: int = 0
    """The server failed every n-th image: no file, no manifest entry."""
    status: str | None = "completed"
    api: str = "sampler"
    """How ``api_params`` is written: ``sampler`` (current writer), ``sampler_name``
    (older writer) or ``empty`` (template set none; the server used its defaults)."""
    writer: str = "current"
    """``current``, ``old`` (seed_base/max_images, no count) or ``lost-snapshot``."""
    manifest: str = "ok"
    """``ok``, ``missing``, ``truncated``, ``zeroed`` (not JSON) or ``cp1252``."""
    folder: str = "current"
    """``current``, ``old`` (``YYYY-MM-DD_HHMMSS_name.prompt``) or ``prefixed``
    (images named after the whole folder, as the writer does for names with spaces)."""
    theme: tuple[str, str] | None = None
    fixed: tuple[tuple[str, str], ...] = ()
    model_known: bool = True
    noise: str = ""
    """Non-image files to add: ``notes`` (a .txt) or ``thumbs`` (a sub-folder with a png)."""
    dry_run: bool = False

    @property
    def used_params(self) -> _Params:
        """What the server really rendered with, which the infotext reports."""
        if self.api == "empty":
            return _SERVER_DEFAULTS
        return self.params or self.model.params


# The special cases (docs/cli.md, ``sessionkit demo``), most useful first: a root of 12 to 21
# sessions keeps the first ones (the older writer's session, placed oldest).
_SPECIALS: tuple[_Design, ...] = (
    # Older writer: old folder style, seed_base/max_images, no status, no counts.
    _Design(
        name="facial_expressions",
        model=_DREAMSHAPER,
        template="portrait photo of a young woman, {EXPRESSIONS}, {FRAMING}, soft light",
        negative="lowres, blurry, bad anatomy",
        slots=(
            _slot("EXPRESSIONS", "neutral,smiling,laughing,sad"),
            _slot("FRAMING", "headshot_front,bust_portrait"),
        ),
        images=8,
        base_seed=1234,
        status=None,
        writer="old",
        folder="old",
    ),
    # The current writer at its most typical: 4 placeholders, one part per line.
    _Design(
        name="Quick_Test___Portrait_System",
        model=_REALISTIC,
        template=(
            "beautiful woman, 25 years old,\n{HAIR}, {EXPRESSIONS},\n"
            "masterpiece, best quality, highly detailed, 8k uhd, professional photography\n"
            "{LIGHTING},\n{FRAMING}\n"
        ),
        negative="low quality, blurry, worst quality\n",
        slots=(
            _slot("HAIR", "long_blonde_straight,long_black_straight"),
            _slot("EXPRESSIONS", "smiling,confident"),
            _slot("LIGHTING", "natural_soft,studio_rembrandt"),
            _slot("FRAMING", "headshot_front,bust_portrait"),
        ),
        images=16,
        base_seed=100,
        noise="notes",
    ),
    # Random mode; api_params {} so size and steps exist only in the infotext.
    _Design(
        name="Portrait_Variations___Full_Exploration",
        model=_REALISTIC,
        template="beautiful woman, 25 years old,\n{HAIR}, {EXPRESSIONS},\n{LIGHTING}\n",
        negative=(
            "low quality, blurry, out of focus, bad anatomy, deformed,\nworst quality, amateur\n"
        ),
        slots=(_slot("HAIR"), _slot("EXPRESSIONS"), _slot("LIGHTING")),
        images=15,
        mode="random",
        api="empty",
    ),
    # Fixed seed: every image has seed 777; a thumbs/ sub-folder that holds no session image.
    _Design(
        name="Sophia_Lighting_Fixed_Seed",
        model=_REALISTIC,
        template=(
            "Sophia, 28 years old, fair skin, long blonde hair, ponytail, blue eyes,\n"
            "confident expression, strong gaze, bust portrait, front view,\n{LIGHTING}\n"
        ),
        negative="low quality, blurry, worst quality\n",
        slots=(_slot("LIGHTING"),),
        images=14,
        seed_mode="fixed",
        base_seed=777,
        noise="thumbs",
    ),
    # Random seeds, base_seed -1; file names carry no seed.
    _Design(
        name="Expressions_Random_Seed",
        model=_PONY,
        template="score_9, score_8_up, 1girl, solo, long brown hair, {EXPRESSIONS}, headshot\n",
        negative="score_4, low quality, blurry\n",
        slots=(_slot("EXPRESSIONS"),),
        images=8,
        mode="random",
        seed_mode="random",
        base_seed=-1,
    ),
    # Explicit seed sweep: generation_params.seed_list.
    _Design(
        name="Sweep_Expression_Framing",
        model=_REALISTIC,
        template=(
            "beautiful woman, 25 years old, {EXPRESSIONS}, {FRAMING},\nsoft natural lighting\n"
        ),
        negative="low quality, blurry\n",
        slots=(
            _slot("EXPRESSIONS", "neutral,smiling"),
            _slot("FRAMING", "headshot_front,bust_portrait"),
        ),
        images=20,
        seed_list=(1000, 1001, 1002, 1003, 1004),
        repeats=5,
    ),
    # Killed mid-run: status stays "ongoing", far fewer files than planned.
    _Design(
        name="Portrait_Variations___Selected_Combinations",
        model=_JUGGERNAUT,
        template=(
            "beautiful woman, 25 years old,\n{HAIR}, {EXPRESSIONS},\n"
            "masterpiece, best quality, highly detailed\n{LIGHTING},\n{FRAMING}\n"
        ),
        negative="low quality, blurry, worst quality\n",
        slots=(
            _slot("HAIR", "long_blonde_straight,long_brunette_curly,updo_ponytail,red_wavy"),
            _slot("EXPRESSIONS", "neutral,smiling,confident"),
            _slot("LIGHTING", "natural_soft,studio_rembrandt,cinematic"),
            _slot("FRAMING", "bust_portrait,headshot_three_quarter"),
        ),
        images=30,
        mode="random",
        base_seed=2000,
        attempted=11,
        status="ongoing",
    ),
    # API down: aborted before the first image, model "unknown".
    _Design(
        name="Scheduler_Example",
        model=_REALISTIC,
        template=(
            "masterpiece, best quality, professional photograph,\n"
            "beautiful young woman, {EXPRESSIONS}, {HAIR}\n"
        ),
        negative="low quality, worst quality, blurry\n",
        slots=(_slot("EXPRESSIONS"), _slot("HAIR")),
        images=6,
        params=_Params(512, 768, 30, 7, "DPM++ 2M", "Karras"),
        mode="random",
        base_seed=42,
        attempted=0,
        status="aborted",
        model_known=False,
    ),
    # No manifest at all: only images and their infotext.
    _Design(
        name="Night_City_Portraits",
        model=_JUGGERNAUT,
        template="cinematic photo of a woman, {OUTFITS}, {LIGHTING}, city street at night\n",
        negative="low quality, blurry, cartoon\n",
        slots=(
            _slot("OUTFITS", "leather_jacket,techwear"),
            _slot("LIGHTING", "neon,cinematic,moonlight"),
        ),
        images=6,
        base_seed=31337,
        manifest="missing",
    ),
    # Half-written manifest, as a reader catches it while the generator runs.
    _Design(
        name="Outfit_Exploration",
        model=_PONY,
        template="score_9, score_8_up, 1girl, solo,\n{OUTFITS},\n{PLACES}\n",
        negative="score_4, lowres, bad anatomy\n",
        slots=(
            _slot("OUTFITS", "casual_tee,summer_dress,business_suit,evening_gown,kimono"),
            _slot("PLACES", "library,beach,forest,studio"),
        ),
        images=20,
        base_seed=2024,
        attempted=9,
        status="ongoing",
        manifest="truncated",
    ),
    # Not JSON: zero bytes, what a crash leaves behind a delayed write.
    _Design(
        name="Studio_Headshots",
        model=_REALISTIC,
        template="studio headshot of a woman, {EXPRESSIONS}, {FRAMING}, grey backdrop\n",
        negative="low quality, blurry, worst quality\n",
        slots=(
            _slot("EXPRESSIONS", "neutral,slight_smile,smiling,confident,serious,playful"),
            _slot("FRAMING", "headshot_front,headshot_three_quarter"),
        ),
        images=12,
        manifest="zeroed",
    ),
    # Valid JSON structure but not UTF-8: "café" written in cp1252.
    _Design(
        name="Cafe_Portraits",
        model=_DREAMSHAPER,
        template="candid photo of a woman reading, {PLACES}, {EXPRESSIONS}\n",
        negative="low quality, blurry\n",
        slots=(
            _slot("PLACES", "cafe,library"),
            _slot("EXPRESSIONS", "slight_smile,contemplative,shy"),
        ),
        images=6,
        base_seed=777,
        manifest="cp1252",
    ),
    # Hostile text for escaping: HTML, quotes, % and _ in prompts, values and the name.
    _Design(
        name="Escaping_Test_100%_off",
        model=_REALISTIC,
        template=(
            "masterpiece, <img src=x onerror=alert(1)>, \"double quoted\", 'single quoted',\n"
            "100% detail, snake_case_tag, {Caption}, {EXPRESSIONS}\n"
        ),
        negative='</textarea><script>alert("neg")</script>, 50% blur, worst_quality\n',
        slots=(
            _own_slot("Caption", "<b>bold</b> & 'friends'", '"quoted" caption, 100%_real'),
            _slot("EXPRESSIONS", "smiling,serious"),
        ),
        images=4,
        base_seed=42,
    ),
    # Completed with holes: every 4th image failed, neither file nor entry exists.
    _Design(
        name="Sophia___Expression_Study",
        model=_REALISTIC,
        template=(
            "Sophia, 28 years old,\nfair skin, long blonde hair, ponytail, blue eyes,\n"
            "{EXPRESSIONS},\n"
            "masterpiece, best quality, highly detailed, professional photography,\n{LIGHTING},\n"
            "bust portrait, front view\n"
        ),
        negative=(
            "low quality, blurry, out of focus, bad anatomy, deformed,\nworst quality, amateur\n"
        ),
        slots=(
            _slot("EXPRESSIONS", "neutral,slight_smile,smiling,laughing"),
            _slot("LIGHTING", "natural_soft,studio_rembrandt,studio_butterfly,cinematic"),
        ),
        images=16,
        base_seed=3000,
        failed_every=4,
    ),
    # Seed sweep seen only in the images: every prompt rendered with 3 seeds, no seed_list.
    _Design(
        name="Outfit_Seed_Comparison",
        model=_ILLUSTRIOUS,
        template="1girl, solo, {OUTFITS}, {PLACES},\nmasterpiece, best quality, very aesthetic\n",
        negative="lowres, bad anatomy, bad hands, worst quality\n",
        slots=(
            _slot("OUTFITS", "casual_tee,leather_jacket"),
            _slot("PLACES", "city_night,rooftop"),
        ),
        images=12,
        base_seed=4242,
        repeats=3,
    ),
    # Progressive, one placeholder with one value: a sweep by images and by design rule.
    _Design(
        name="Pure_Seed_Sweep",
        model=_DREAMSHAPER,
        template="beautiful woman, 25 years old, {EXPRESSIONS}, golden hour, bust portrait\n",
        negative="low quality, blurry\n",
        slots=(_slot("EXPRESSIONS", "slight_smile"),),
        images=8,
        base_seed=500,
    ),
    # Killed after one image: only the design rule can call it a sweep.
    _Design(
        name="Golden_Hour_Seed_Sweep",
        model=_JUGGERNAUT,
        template="beautiful woman, long red hair, {LIGHTING}, waist up\n",
        negative="low quality, blurry\n",
        slots=(
            _slot(
                "LIGHTING", "natural_soft,natural_golden_hour,backlit,studio_key,studio_rembrandt"
            ),
        ),
        images=10,
        base_seed=8100,
        repeats=2,
        attempted=1,
        status="ongoing",
    ),
    # Random seeds, base_seed null; a name with spaces, so images carry the folder name.
    _Design(
        name="Quick Test - Random Seeds",
        model=_JUGGERNAUT,
        template="beautiful woman, {HAIR}, {EXPRESSIONS}, headshot, front view\n",
        negative="low quality, blurry\n",
        slots=(_slot("HAIR", "red_wavy,bob_brown,platinum_long"), _slot("EXPRESSIONS")),
        images=8,
        mode="random",
        seed_mode="random",
        base_seed=None,
        folder="prefixed",
    ),
    # Older api_params keys: sampler_name, scheduler, batch_size, n_iter.
    _Design(
        name="CharacterSheet_Annotated",
        model=_ILLUSTRIOUS,
        template=(
            "masterpiece, best quality, 1girl,\n{Hair}, {Expression},\n"
            "detailed portrait, sharp focus\n"
        ),
        negative="lowres, worst quality, bad anatomy\n",
        slots=(
            _slot("HAIR", "silver_braid,pink_twintails,black_bun", name="Hair"),
            _slot("EXPRESSIONS", "neutral,smiling,surprised,shy", name="Expression"),
        ),
        images=12,
        params=_Params(832, 1216, 28, 5, "Euler a", "Normal"),
        base_seed=42,
        api="sampler_name",
    ),
    # "snapshot": {} (the writer lost it); landscape size, no negative prompt.
    _Design(
        name="Landscape_Test___Fixed_Prompt",
        model=_DREAMSHAPER,
        template=(
            "masterpiece, mountain lake at dawn,\n{LIGHTING},\n"
            "nature photography, 8K, ultra-HD, detailed\n"
        ),
        negative="",
        slots=(
            _slot(
                "LIGHTING", "natural_soft,natural_golden_hour,backlit,cinematic,moonlight,high_key"
            ),
        ),
        images=6,
        params=_Params(768, 512, 20, 7, "DPM++ 2M Karras"),
        writer="lost-snapshot",
    ),
    # Parentheses in the name; a one-line template; scheduler set.
    _Design(
        name="Framing_x_Lighting_(inherits_base)",
        model=_REALISTIC,
        template=(
            "masterpiece, best quality, beautiful woman, long red hair, "
            "{FRAMING}, {LIGHTING}, 8k uhd"
        ),
        negative="low quality, worst quality, blurry, bad anatomy, watermark",
        slots=(
            _slot("FRAMING", "headshot_front,headshot_three_quarter,bust_portrait"),
            _slot("LIGHTING", "natural_soft,natural_golden_hour,backlit"),
        ),
        images=9,
        params=_Params(640, 960, 28, 6.5, "Euler a", "Normal"),
        base_seed=5000,
    ),
    # Themed run: folder suffix, theme_name/style, a fixed placeholder.
    _Design(
        name="Themed_Character",
        model=_ILLUSTRIOUS,
        template=(
            "masterpiece, best quality, 1girl, {HAIR}, {EXPRESSIONS}, {Outfit}, {Place}, "
            "detailed background"
        ),
        negative="low quality, blurry",
        slots=(
            _own_slot("HAIR", "pink hair, twintails, hair ribbons"),
            _slot("EXPRESSIONS", "smiling,confident"),
            _own_slot("Outfit", "chibi cyberpunk outfit", "anime style neon jacket"),
            _own_slot("Place", "rainy neon alley", "neon rooftop at night"),
        ),
        images=8,
        base_seed=9000,
        theme=("neon", "cartoon"),
        fixed=(("HAIR", "pink_twintails"),),
    ),
)

_DRY_RUN = _Design(
    name="Quick_Test___Portrait_System",
    model=_REALISTIC,
    template=(
        "beautiful woman, 25 years old,\n{HAIR}, {EXPRESSIONS},\n"
        "{LIGHTING},\nheadshot, front view\n"
    ),
    negative="low quality, blurry, worst quality\n",
    slots=(
        _slot("HAIR", "long_blonde_straight"),
        _slot("EXPRESSIONS", "smiling,confident"),
        _slot("LIGHTING", "natural_soft,studio_rembrandt"),
    ),
    images=4,
    base_seed=100,
    dry_run=True,
)


@dataclass(frozen=True)
class _Planned:
    """A design placed in time, with the seed of its own Random.

    Each session draws from its own Random so that what one session draws
    never shifts another's content.
    """

    design: _Design
    start: datetime.datetime
    seed: int


@dataclass(frozen=True)
class _Image:
    """One planned image: number, seed, and the pool index applied per slot."""

    index: int
    seed: int
    combo: tuple[int, ...]


@dataclass(frozen=True)
class _Outcome:
    """What writing one session produced, for the summary."""

    folder: str
    images: int
    manifest: str
    finished: int
    """The folder's last write (ns), which its mtime shows."""


def write_demo_root(
    root: str | os.PathLike[str],
    sessions: int = 24,
    images_per_session: int | None = None,
    *,
    seed: int = DEMO_SEED,
    anchor: datetime.date | None = None,
    tiny_images: bool = False,
) -> DemoSummary:
    """Write a demo sessions root at ``root`` and say what is in it.

    ``sessions`` session folders (1 to 10,000) are spread over the 120 days
    ending on ``anchor`` (default: today). With 12 or more, the special cases
    listed in docs/cli.md are included (broken manifests, a session without
    manifest, a dry run, odd names, older key variants, ...); the rest are
    ordinary sessions of varied kinds with ``images_per_session`` images each
    (default: 4 to 40). ``tiny_images`` writes 1x1 pixel PNGs (infotext kept)
    to save time at scale.

    The same arguments give the same bytes and file times. ``root`` must be
    missing, empty, or a demo root made with the same arguments (it is then
    returned as is, without rewriting); anything else raises
    :class:`FileExistsError`.
    """
    _check_counts(sessions, images_per_session)
    base = Path(root)
    arguments = {
        "format": _FORMAT,
        "sessions": sessions,
        "images_per_session": images_per_session,
        "seed": seed,
        "anchor": anchor.isoformat() if anchor else None,
        "tiny_images": tiny_images,
    }
    existing = _existing_demo(base, arguments)
    if existing is not None:
        return existing
    base.mkdir(parents=True, exist_ok=True)
    _write_marker(base, arguments, None, None)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    sessions_plan, dry_plan = _plan(
        rng, sessions, images_per_session, anchor or datetime.date.today()
    )
    written = [_write_session(base, planned, tiny_images) for planned in sessions_plan]
    dry = [_write_session(base / "dryrun", planned, tiny_images) for planned in dry_plan]
    if dry:
        last = max(outcome.finished for outcome in dry)
        os.utime(base / "dryrun", ns=(last, last))
    summary = DemoSummary(
        root=base,
        sessions=len(written),
        images=sum(outcome.images for outcome in written),
        broken_manifests=tuple(sorted(o.folder for o in written if o.manifest in _BROKEN)),
        without_manifest=tuple(sorted(o.folder for o in written if o.manifest == "missing")),
        dry_runs=tuple(outcome.folder for outcome in dry),
    )
    _write_marker(base, arguments, summary, _ns(sessions_plan[-1].start))
    return summary


def _check_counts(sessions: int, images_per_session: int | None) -> None:
    """Refuse counts the generator cannot honour before anything touches the disk."""
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(f"sessions must be between 1 and {MAX_SESSIONS:,}, got {sessions}")
    if images_per_session is not None and not 1 <= images_per_session <= MAX_IMAGES_PER_SESSION:
        raise ValueError(
            f"images_per_session must be None or between 1 and {MAX_IMAGES_PER_SESSION:,}, "
            f"got {images_per_session}"
        )


def _existing_demo(base: Path, arguments: dict[str, Any]) -> DemoSummary | None:
    """The summary of a finished demo root made with ``arguments``, or None when it must be written.

    Benchmarks reuse big roots, so a finished one is returned untouched. A
    root interrupted with the same arguments is written again over itself;
    any other content is refused rather than mixed with demo sessions.
    """
    if not base.exists():
        return None
    if not base.is_dir():
        raise FileExistsError(f"cannot write the demo root: {base} exists and is not a folder")
    marker = base / MARKER_NAME
    if not marker.is_file():
        if any(base.iterdir()):
            raise FileExistsError(
                f"refusing to write the demo root into {base}: the folder is not empty and "
                f"holds no {MARKER_NAME} marker; pick a new or empty folder"
            )
        return None
    recorded = _read_marker(marker)
    if recorded.get("arguments") != arguments:
        raise FileExistsError(
            f"{base} already holds a demo root made with other arguments "
            f"({recorded.get('arguments')}, asked {arguments}); delete it or pick another folder"
        )
    summary = recorded.get("summary")
    if not isinstance(summary, dict):
        return None
    return DemoSummary(
        root=base,
        sessions=int(summary["sessions"]),
        images=int(summary["images"]),
        broken_manifests=tuple(summary["broken_manifests"]),
        without_manifest=tuple(summary["without_manifest"]),
        dry_runs=tuple(summary["dry_runs"]),
    )


def _read_marker(marker: Path) -> dict[str, Any]:
    """The marker's content; an unreadable marker matches no arguments."""
    try:
        content = json.loads(marker.read_bytes())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _write_marker(
    base: Path, arguments: dict[str, Any], summary: DemoSummary | None, mtime_ns: int | None
) -> None:
    """Record the arguments (first, to claim the folder) and then the summary of a finished root."""
    content: dict[str, Any] = {
        "generator": "sessionkit.demo",
        "arguments": arguments,
        "summary": None,
    }
    if summary is not None:
        content["summary"] = {
            "sessions": summary.sessions,
            "images": summary.images,
            "broken_manifests": list(summary.broken_manifests),
            "without_manifest": list(summary.without_manifest),
            "dry_runs": list(summary.dry_runs),
        }
    marker = base / MARKER_NAME
    marker.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    if mtime_ns is not None:
        os.utime(marker, ns=(mtime_ns, mtime_ns))


def _plan(
    rng: random.Random, sessions: int, count: int | None, anchor: datetime.date
) -> tuple[list[_Planned], list[_Planned]]:
    """Decide every session's design, start time and own seed, oldest first; then the dry runs."""
    specials = list(_SPECIALS[:sessions]) if sessions >= _MIN_SESSIONS_FOR_SPECIALS else []
    mixed = specials[1:] + [_normal_design(rng, count) for _ in range(sessions - len(specials))]
    rng.shuffle(mixed)
    designs = specials[:1] + mixed  # the older writer's session is the oldest one
    starts = _start_times(rng, sessions, anchor)
    planned = [_Planned(d, s, rng.getrandbits(64)) for d, s in zip(designs, starts, strict=True)]
    dry = [_Planned(_DRY_RUN, _before(rng, rng.choice(starts)), rng.getrandbits(64))]
    return planned, dry if specials else []


def _before(rng: random.Random, start: datetime.datetime) -> datetime.datetime:
    """A dry run's start: a minute or a few before the real run it rehearsed."""
    return start - datetime.timedelta(
        seconds=rng.randint(40, 300), microseconds=rng.randrange(10**6)
    )


def _start_times(rng: random.Random, count: int, anchor: datetime.date) -> list[datetime.datetime]:
    """Distinct start times (to the second) between 08:00 and 23:00, the newest on ``anchor``."""
    first = datetime.datetime.combine(
        anchor - datetime.timedelta(days=_SPREAD_DAYS - 1), datetime.time(8)
    )
    offsets = sorted(
        rng.randrange(_SPREAD_DAYS) * 86_400 + rng.randrange(15 * 3_600) for _ in range(count)
    )
    offsets[-1] = (_SPREAD_DAYS - 1) * 86_400 + offsets[-1] % 86_400  # moved later: still last
    starts: list[datetime.datetime] = []
    previous = -1
    for offset in offsets:
        previous = max(offset, previous + 1)
        micro = rng.randrange(1_000_000)
        starts.append(first + datetime.timedelta(seconds=previous, microseconds=micro))
    return starts


def _normal_design(rng: random.Random, count: int | None) -> _Design:
    """An ordinary session: any model, mode and seed mode, 1-4 placeholders, mostly complete."""
    model = rng.choices(_MODELS, _MODEL_WEIGHTS)[0]
    images = count if count is not None else rng.randint(4, 40)
    mode = rng.choices(("combinatorial", "random"), (3, 2))[0]
    seed_mode = rng.choices(("progressive", "fixed", "random"), (14, 2, 4))[0]
    base_seed = -1 if seed_mode == "random" else rng.choice(_BASE_SEEDS)
    sweep = (
        mode == "combinatorial"
        and seed_mode == "progressive"
        and images >= 6
        and rng.random() < 0.12
    )
    seed_list = tuple(base_seed + i for i in range(rng.randint(3, 5))) if sweep else ()
    repeats = len(seed_list) or 1
    slots = _normal_slots(rng, mode, -(-images // repeats))
    attempted, status = _normal_fate(rng, images)
    return _Design(
        name=rng.choice(_NAMES),
        model=model,
        template=_normal_template(rng, model, slots),
        negative=rng.choice(_NEGATIVES),
        slots=slots,
        images=images,
        mode=mode,
        seed_mode=seed_mode,
        base_seed=base_seed,
        seed_list=seed_list,
        repeats=repeats,
        attempted=attempted,
        status=status,
        api="empty" if rng.random() < 0.1 else "sampler",
    )


def _normal_slots(rng: random.Random, mode: str, combinations: int) -> tuple[_Slot, ...]:
    """1-4 placeholders; in combinatorial mode, enough values to cover the planned combinations."""
    names = rng.sample(_POOL_NAMES, rng.choices((1, 2, 3, 4), (2, 4, 3, 2))[0])
    while math.prod(len(_POOLS[n]) for n in names) < combinations and len(names) < len(_POOLS):
        names.append(rng.choice([n for n in _POOL_NAMES if n not in names]))
    sizes = [_first_size(rng, mode, len(_POOLS[name])) for name in names]
    while mode == "combinatorial" and math.prod(sizes) < combinations:
        sizes[rng.choice([i for i, n in enumerate(names) if sizes[i] < len(_POOLS[n])])] += 1
    return tuple(
        _Slot(name, _POOLS[name], tuple(sorted(rng.sample(range(len(_POOLS[name])), size))))
        for name, size in zip(names, sizes, strict=True)
    )


def _first_size(rng: random.Random, mode: str, available: int) -> int:
    """How many values a template selects: a few for a grid, many or all for random draws."""
    if mode == "combinatorial":
        return rng.randint(2, 4)
    return available if rng.random() < 0.5 else rng.randint(3, available)


def _normal_fate(rng: random.Random, images: int) -> tuple[int | None, str]:
    """Images attempted and status: most sessions finish, a few were killed or interrupted."""
    roll = rng.random()
    if images < 2 or roll >= 0.06:
        return None, "completed"
    return rng.randint(1, images - 1), "ongoing" if roll < 0.04 else "aborted"


def _normal_template(rng: random.Random, model: _Model, slots: tuple[_Slot, ...]) -> str:
    """A template as people write them: subject, placeholders, quality tags, often one per line."""
    subject = rng.choice(_ANIME_SUBJECTS if model.anime else _PHOTO_SUBJECTS)
    quality = _ANIME_QUALITY if model.anime else _PHOTO_QUALITY
    markers = ", ".join(f"{{{slot.name}}}" for slot in slots)
    if rng.random() < 0.6:
        return f"{subject},\n{markers},\n{quality}\n"
    return f"{quality}, {subject}, {markers}"


def _write_session(parent: Path, planned: _Planned, tiny: bool) -> _Outcome:
    """Write one session folder: images (or dry-run payloads), manifest, noise, file times."""
    design = planned.design
    rng = random.Random(planned.seed)  # noqa: S311 - reproducible demo data, not security
    folder = _folder_name(design, planned.start)
    path = parent / folder
    path.mkdir(parents=True, exist_ok=True)
    planned_images = _planned_images(design, rng)
    written = _written(design, planned_images)
    times = _attempt_times(design, planned.start, rng)
    texts = _Texts(design)
    stems = [_image_stem(design, folder, image) for image in written]
    if design.dry_run:
        _write_payloads(path, written, stems, times, texts)
    else:
        png = _session_png(design, rng, tiny)
        where = os.fspath(path)  # plain strings: a Path per image costs 10% at scale
        for image, stem in zip(written, stems, strict=True):
            _write(f"{where}/{stem}.png", png.with_text(texts.infotext(image)), times[image.index])
    finished = times[written[-1].index] if written else _ns(planned.start) + 2 * 10**9
    if design.manifest != "missing":
        text = _manifest_text(design, planned.start, planned_images, written, stems, texts)
        _write(path / "manifest.json", _manifest_bytes(design, text), finished)
    finished = _write_noise(path, design, stems, finished)
    os.utime(path, ns=(finished, finished))
    return _Outcome(folder, 0 if design.dry_run else len(written), design.manifest, finished)


def _folder_name(design: _Design, start: datetime.datetime) -> str:
    """The session folder name in the writer's style, start time first."""
    if design.folder == "old":
        return f"{start:%Y-%m-%d_%H%M%S}_{design.name}.prompt"
    suffix = "".join(f"-{part}" for part in design.theme or ())
    return f"{start:%Y%m%d_%H%M%S}-{design.name}{suffix}"


def _image_stem(design: _Design, folder: str, image: _Image) -> str:
    """``<name>_<index:04d>[_seed-<n>]``; random-seed runs leave the seed out, like the writer."""
    prefix = folder if design.folder == "prefixed" else design.name
    if design.seed_mode == "random":
        return f"{prefix}_{image.index:04d}"
    return f"{prefix}_{image.index:04d}_seed-{image.seed}"


def _planned_images(design: _Design, rng: random.Random) -> list[_Image]:
    """All ``num_images`` images the run meant to make, written or not."""
    combos = _combos(design, rng)
    seeds = _seeds(design, rng)
    return [_Image(i, s, c) for i, (s, c) in enumerate(zip(seeds, combos, strict=True))]


def _combos(design: _Design, rng: random.Random) -> list[tuple[int, ...]]:
    """Per image, the pool index of each slot: a grid walk (last slot fastest) or random draws."""
    picks = [slot.picked for slot in design.slots]
    if design.mode == "random":
        return [tuple(rng.choice(p) for p in picks) for _ in range(design.images)]
    distinct = -(-design.images // design.repeats)
    grid = itertools.islice(itertools.cycle(itertools.product(*picks)), distinct)
    return [combo for combo in grid for _ in range(design.repeats)][: design.images]


def _seeds(design: _Design, rng: random.Random) -> list[int]:
    """Per image seed, following the seed mode (a seed list cycles within each combination)."""
    count = design.images
    if design.seed_list:
        return [design.seed_list[i % len(design.seed_list)] for i in range(count)]
    if design.seed_mode == "random" or design.base_seed is None:
        return [rng.randrange(1, 2**32 - 1) for _ in range(count)]
    if design.seed_mode == "fixed":
        return [design.base_seed] * count
    return [design.base_seed + i for i in range(count)]


def _written(design: _Design, images: list[_Image]) -> list[_Image]:
    """Images that got a file: those attempted before the run stopped, minus server failures."""
    attempted = images if design.attempted is None else images[: design.attempted]
    every = design.failed_every
    return [image for image in attempted if not every or image.index % every != every - 1]


def _attempt_times(design: _Design, start: datetime.datetime, rng: random.Random) -> list[int]:
    """When each attempted image was saved (ns since the epoch), failed ones included.

    Image times follow the folder's start time, so first/last image times and
    durations computed from mtimes make sense.
    """
    attempted = design.images if design.attempted is None else design.attempted
    seconds = 0.02 if design.dry_run else design.model.seconds
    clock = _ns(start) + int(rng.uniform(2.0, 6.0) * 1e9)
    times = []
    for _ in range(attempted):
        clock += int(seconds * rng.uniform(0.85, 1.15) * 1e9)
        times.append(clock)
    return times


def _ns(moment: datetime.datetime) -> int:
    """A local naive time as exact epoch nanoseconds (float seconds would round)."""
    return int(moment.replace(microsecond=0).timestamp()) * 10**9 + moment.microsecond * 1000


@dataclass(frozen=True)
class _Rendered:
    """One combination in every form the files need."""

    prompt: str
    infotext_head: str
    """The infotext up to the seed."""
    json_fields: str
    """The manifest entry's lines from ``"prompt"`` to ``"applied_variations"``, indented."""


class _Texts:
    """Each combination rendered once (sweeps repeat them), plus the per-image parts."""

    def __init__(self, design: _Design) -> None:
        self.design = design
        self.negative = design.negative.strip()
        params = design.used_params
        negative_line = _one_line(design.negative)
        scheduler = f"Schedule type: {params.scheduler}, " if params.scheduler else ""
        self._middle = (
            (f"\nNegative prompt: {negative_line}" if negative_line else "")
            + f"\nSteps: {params.steps}, Sampler: {params.sampler}, {scheduler}"
            + f"CFG scale: {params.cfg}, Seed: "
        )
        self._tail = (
            f", Size: {params.width}x{params.height}, Model hash: {design.model.short_hash}, "
            f"Model: {design.model.name}, Version: v1.10.1"
        )
        self._made: dict[tuple[int, ...], _Rendered] = {}

    def of(self, combo: tuple[int, ...]) -> _Rendered:
        """``combo`` rendered, from the cache when an earlier image had it."""
        made = self._made.get(combo)
        if made is None:
            made = self._made[combo] = self._render(combo)
        return made

    def _render(self, combo: tuple[int, ...]) -> _Rendered:
        """Prompt, infotext start and manifest fields of one combination."""
        applied = {s.name: s.pool[i][1] for s, i in zip(self.design.slots, combo, strict=True)}
        prompt = _fill(self.design.template, applied).strip()
        values = ",\n".join(f"        {_json_str(k)}: {_json_str(v)}" for k, v in applied.items())
        block = "{\n" + values + "\n      }" if values else "{}"
        fields = (
            f'      "prompt": {_json_str(prompt)},\n'
            f'      "negative_prompt": {_json_str(self.negative)},\n'
            f'      "applied_variations": {block}'
        )
        return _Rendered(prompt, _one_line(prompt) + self._middle, fields)

    def infotext(self, image: _Image) -> str:
        """A1111's ``parameters`` text for one image."""
        return f"{self.of(image.combo).infotext_head}{image.seed}{self._tail}"

    def entry_json(self, image: _Image, filename: str) -> str:
        """The image's element of the manifest's ``images`` list, as ``json.dumps(indent=2)``."""
        return (
            f'    {{\n      "filename": {_json_str(filename)},\n      "seed": {image.seed},\n'
            f"{self.of(image.combo).json_fields}\n    }}"
        )


_json_str = json.JSONEncoder(ensure_ascii=False).encode
"""One value as JSON text, by the C encoder: ``json.dumps(indent=2)`` runs in pure
Python and took a third of the generator's time at scale."""


def _fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{NAME}`` replaced by ``values[NAME]``."""
    for name, value in values.items():
        template = template.replace(f"{{{name}}}", value)
    return template


def _one_line(text: str) -> str:
    """A multi-line prompt as the server receives it: lines joined with commas."""
    parts = (line.strip().rstrip(",").strip() for line in text.splitlines())
    return ", ".join(part for part in parts if part)


def _manifest_text(
    design: _Design,
    start: datetime.datetime,
    planned: list[_Image],
    written: list[_Image],
    stems: list[str],
    texts: _Texts,
) -> str:
    """The manifest as the writer leaves it after its last image (``json.dump(indent=2)``).

    The images list is spliced in from pre-rendered entries, for speed.
    """
    snapshot = {} if design.writer == "lost-snapshot" else _snapshot(design, start, planned)
    manifest: dict[str, Any] = {"snapshot": snapshot, "images": []}
    if design.status is not None:
        manifest["status"] = design.status
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    if not written:
        return text
    entries = ",\n".join(
        texts.entry_json(image, f"{stem}.png") for image, stem in zip(written, stems, strict=True)
    )
    return text.replace('\n  "images": []', f'\n  "images": [\n{entries}\n  ]', 1)


def _snapshot(design: _Design, start: datetime.datetime, planned: list[_Image]) -> dict[str, Any]:
    """The ``snapshot`` block; the older writer lacks the theme keys and variation counts."""
    old = design.writer == "old"
    markers = {slot.name: slot.marker for slot in design.slots}
    snapshot: dict[str, Any] = {
        "version": "1.0" if old else "2.0",
        "timestamp": start.isoformat(timespec="microseconds"),
        "runtime_info": {
            "sd_model_checkpoint": design.model.checkpoint if design.model_known else "unknown"
        },
        "resolved_template": {
            "prompt": _fill(design.template, markers),
            "negative": design.negative,
        },
        "generation_params": _generation_params(design),
        "api_params": _api_params(design),
        "variations": _variations(design, planned, with_count=not old),
    }
    if not old:
        theme, style = design.theme or (None, "default")
        snapshot |= {"fixed_placeholders": dict(design.fixed), "theme_name": theme, "style": style}
    return snapshot


def _generation_params(design: _Design) -> dict[str, Any]:
    """``generation_params`` with the key names of the design's writer."""
    old = design.writer == "old"
    params: dict[str, Any] = {
        "mode": design.mode,
        "seed_mode": design.seed_mode,
        "seed_base" if old else "base_seed": design.base_seed,
        "max_images" if old else "num_images": design.images,
        "total_combinations": math.prod(len(slot.pool) for slot in design.slots),
    }
    if design.seed_list:
        params["seed_list"] = list(design.seed_list)
    return params


def _api_params(design: _Design) -> dict[str, Any]:
    """``api_params`` as the template wrote it (current writer) or in the older A1111 keys."""
    if design.api == "empty":
        return {}
    p = design.used_params
    if design.api == "sampler_name":
        return {
            "sampler_name": p.sampler,
            "scheduler": p.scheduler,
            "steps": p.steps,
            "cfg_scale": p.cfg,
            "width": p.width,
            "height": p.height,
            "batch_size": 1,
            "n_iter": 1,
            "enable_hr": False,
        }
    params: dict[str, Any] = {
        "width": p.width,
        "height": p.height,
        "steps": p.steps,
        "cfg_scale": p.cfg,
        "sampler": p.sampler,
    }
    if p.scheduler:
        params["scheduler"] = p.scheduler
    if design.repeats > 1 and not design.seed_list:
        params["batch_count"] = design.repeats
    return params


def _variations(design: _Design, planned: list[_Image], *, with_count: bool) -> dict[str, Any]:
    """Per placeholder: all values, the ones the planned images apply, and how many exist."""
    variations: dict[str, Any] = {}
    for position, slot in enumerate(design.slots):
        seen = sorted({image.combo[position] for image in planned})
        entry: dict[str, Any] = {
            "available": [text for _, text in slot.pool],
            "used": [slot.pool[i][1] for i in seen],
        }
        if with_count:
            entry["count"] = len(slot.pool)
        variations[slot.name] = entry
    return variations


def _manifest_bytes(design: _Design, text: str) -> bytes:
    """The manifest file's bytes, broken on purpose for the broken-manifest cases."""
    if design.manifest == "cp1252":
        return text.encode("cp1252")
    data = text.encode("utf-8")
    if design.manifest == "truncated":
        return data[: len(data) * 11 // 20]
    if design.manifest == "zeroed":
        return bytes(len(data))
    return data


def _write_payloads(
    path: Path, written: list[_Image], stems: list[str], times: list[int], texts: _Texts
) -> None:
    """A dry run's request payloads, saved where the images would have gone."""
    params = texts.design.used_params
    for image, stem in zip(written, stems, strict=True):
        payload = {
            "prompt": _one_line(texts.of(image.combo).prompt),
            "negative_prompt": _one_line(texts.negative),
            "seed": image.seed,
            "steps": params.steps,
            "cfg_scale": params.cfg,
            "width": params.width,
            "height": params.height,
            "sampler_name": params.sampler,
            "batch_size": 1,
            "n_iter": 1,
            "scheduler": params.scheduler or "automatic",
        }
        _write(path / f"{stem}.json", json.dumps(payload, indent=2).encode(), times[image.index])


def _write_noise(path: Path, design: _Design, stems: list[str], finished: int) -> int:
    """Files that are not images (notes, a thumbnail sub-folder); returns the last write time."""
    if design.noise == "notes":
        finished += 90 * 10**9
        _write(
            path / "notes.txt", b"keep: 0002, 0005 (best light)\nredo with more steps\n", finished
        )
    elif design.noise == "thumbs":
        finished += 30 * 10**9
        (path / "thumbs").mkdir(exist_ok=True)
        _write(path / "thumbs" / f"{stems[0]}.png", _TINY.head + _TINY.tail, finished)
        os.utime(path / "thumbs", ns=(finished, finished))
    return finished


def _write(path: str | Path, data: bytes, mtime_ns: int) -> None:
    """Write ``data`` and date the file as the generator would have.

    ``os.open`` plus a write loop is about a third faster than ``open()``,
    which matters at a million files.
    """
    fd = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.utime(path, ns=(mtime_ns, mtime_ns))


@dataclass(frozen=True)
class _Png:
    """The parts of a session's PNG files that never change from image to image."""

    head: bytes
    """Signature and IHDR."""
    tail: bytes
    """IDAT and IEND."""

    def with_text(self, infotext: str) -> bytes:
        """A whole PNG file carrying ``infotext`` as its ``parameters`` tEXt chunk."""
        data = b"parameters\x00" + infotext.encode("latin-1")
        crc = zlib.crc32(data, _TEXT_CRC)
        return b"".join(
            (
                self.head,
                struct.pack(">I", len(data)),
                b"tEXt",
                data,
                struct.pack(">I", crc),
                self.tail,
            )
        )


_TEXT_CRC = zlib.crc32(b"tEXt")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
"""Binary on Windows too, where a plain ``os.open`` would translate line ends."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type and data."""
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
    )


def _png(width: int, height: int, rows: bytes) -> _Png:
    """An 8-bit RGB PNG around already filtered ``rows``, compressed once."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _Png(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header),
        _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""),
    )


_TINY = _png(1, 1, b"\x00\x80\x80\x80")


def _session_png(design: _Design, rng: random.Random, tiny: bool) -> _Png:
    """The session's picture: a silhouette on a gradient in the session's colours, or 1x1 grey.

    The palette is drawn either way so that tiny and full roots share every
    other byte.
    """
    top = (rng.randint(60, 230), rng.randint(60, 230), rng.randint(60, 230))
    bottom = (top[0] // 3, top[1] // 3, top[2] // 3)
    figure = (rng.randint(170, 240), rng.randint(120, 200), rng.randint(90, 170))
    if tiny:
        return _TINY
    params = design.used_params
    scale = _THUMB_SIDE / max(params.width, params.height)
    width, height = max(1, round(params.width * scale)), max(1, round(params.height * scale))
    return _png(width, height, _pixels(width, height, top, bottom, figure))


def _pixels(
    width: int,
    height: int,
    top: tuple[int, int, int],
    bottom: tuple[int, int, int],
    figure: tuple[int, int, int],
) -> bytes:
    """Filtered rows of a bust silhouette (head and shoulders) over a vertical gradient."""
    rows = []
    skin = bytes(figure)
    for y in range(height):
        f = y / max(1, height - 1)
        background = bytes(round(a + (b - a) * f) for a, b in zip(top, bottom, strict=True))
        left, right = _silhouette(y / height, width)
        rows.append(
            b"\x00" + background * left + skin * (right - left) + background * (width - right)
        )
    return b"".join(rows)


def _silhouette(v: float, width: int) -> tuple[int, int]:
    """Columns covered by the figure on the row at height ``v`` (0 top, 1 bottom)."""
    half = 0.0
    if 0.2 <= v <= 0.56:
        half = 0.2 * math.sqrt(max(0.0, 1 - ((v - 0.38) / 0.18) ** 2))
    elif v >= 0.62:
        half = 0.22 + 0.26 * (v - 0.62) / 0.38
    centre = width / 2
    return round(centre - half * width), round(centre + half * width)


_DEMO_TAGS = ("keeper", "portrait", "lighting", "wip", "print", "reference")
_DEMO_NOTES = (
    "best of the batch",
    "try again with more steps",
    "lighting is off in the second half",
    "use for the poster",
)


def demo_metadata(session_ids: Iterable[str], seed: int = DEMO_SEED) -> dict[str, dict[str, Any]]:
    """User marks for a demo root, so liked, tags and ratings show something.

    Pure data, keyed by session id: the same ids and seed give the same
    marks. About a third of the sessions are liked, half carry one or two
    tags, some have a rating or a note, and one in ten is a test run. The
    values are valid ``kit.update_metadata`` fields.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    marks: dict[str, dict[str, Any]] = {}
    for session_id in sorted(session_ids):
        liked = rng.random() < 0.35
        fields: dict[str, Any] = {"is_favorite": liked}
        if rng.random() < 0.5:
            fields["tags"] = rng.sample(_DEMO_TAGS, rng.choice((1, 2)))
        if rng.random() < 0.4:
            fields["user_rating"] = "like" if liked or rng.random() < 0.5 else "dislike"
        if rng.random() < 0.2:
            fields["user_note"] = rng.choice(_DEMO_NOTES)
        if rng.random() < 0.1:
            fields["is_test"] = True
        marks[session_id] = fields
    return marks


_IMAGE_TAGS = ("wallpaper", "hands-ok", "reference", "upscale")
_RATED_SHARE = 0.55
_STARRED_SHARE = 0.3
_TAGGED_SHARE = 0.06
_APPEAL_SPREAD = 1.8
"""How far one value's appeal may push an image's chance of a like (a logit)."""
_LIKE_BIAS = 0.3
"""A keeper is a little likelier than a reject: people mark what they like."""


def demo_image_marks(
    images: Iterable[tuple[str, str, dict[str, str] | None]], seed: int = DEMO_SEED
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per-image marks for a demo root, so "which values do I like?" has an answer.

    ``images`` are ``(session_id, filename, applied values)``. Each
    placeholder value gets a fixed appeal, so some values are liked far more
    often than others; about half the images are rated, a third starred
    (more stars for more appealing values), a few tagged. Pure data: the same
    image, values and seed always get the same marks, whatever else is
    passed. The values are valid ``kit.update_image_metadata`` fields.
    """
    marks: dict[tuple[str, str], dict[str, Any]] = {}
    appeal: dict[tuple[str, str], float] = {}  # a value's appeal, drawn once per call
    for session_id, filename, applied in images:
        # an integer seed: seeding with text hashes it with SHA-512, per image
        rng = random.Random(zlib.crc32(f"{seed}:{session_id}:{filename}".encode()))  # noqa: S311
        for item in (applied or {}).items():
            if item not in appeal:
                appeal[item] = _appeal(seed, *item)
        appeals = [appeal[item] for item in (applied or {}).items()]
        score = _LIKE_BIAS + sum(appeals) / math.sqrt(max(1, len(appeals)))
        fields: dict[str, Any] = {}
        if rng.random() < _RATED_SHARE:
            liked = rng.random() < 1 / (1 + math.exp(-score))
            fields["rating"] = "like" if liked else "dislike"
        if rng.random() < _STARRED_SHARE:
            fields["stars"] = min(5, max(1, round(3 + score + rng.uniform(-1, 1))))
        if rng.random() < _TAGGED_SHARE:
            fields["tags"] = [rng.choice(_IMAGE_TAGS)]
        if fields:
            marks[(session_id, filename)] = fields
    return marks


def _appeal(seed: int, placeholder: str, value: str) -> float:
    """A value's fixed pull towards a like (positive) or a dislike (negative)."""
    rng = random.Random(f"{seed}:{placeholder}={value}")  # noqa: S311 - demo data
    return rng.uniform(-_APPEAL_SPREAD, _APPEAL_SPREAD)
