"""A1111 infotext: parsing the text, and finding it in PNG, JPEG and WebP files."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from sessionkit.infotext import Infotext, parse_infotext, read_infotext

# The exact shape the corpus's images carry (corpora/sdgen-cli, Quick_Test___Portrait_System).
CORPUS_PROMPT = (
    "beautiful woman, 25 years old, fair skin, pale complexion, caucasian features, blue eyes, "
    "athletic build, toned physique, fit body, medium breasts, firm chest, smiling, happy "
    "expression, cheerful, masterpiece, best quality, highly detailed, 8k uhd, professional "
    "photography, soft natural lighting, window light, diffused sunlight, headshot, front view"
)
CORPUS_PARAMS = (
    "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1000, Size: 512x768, "
    "Model hash: 15012c538f, Model: realisticVisionV60B1_v51VAE, Version: v1.10.1"
)
CORPUS_INFOTEXT = f"{CORPUS_PROMPT}\nNegative prompt: low quality, blurry\n{CORPUS_PARAMS}"
CORPUS_RESULT = Infotext(
    prompt=CORPUS_PROMPT,
    negative_prompt="low quality, blurry",
    steps=25,
    sampler="DPM++ 2M Karras",
    cfg_scale=7.0,
    seed=1000,
    width=512,
    height=768,
    model="realisticVisionV60B1_v51VAE",
)
UNICODE_INFOTEXT = CORPUS_INFOTEXT.replace(
    "beautiful woman", "belle femme \u00e9l\u00e9gante \u2615"
)


# -- parse_infotext ------------------------------------------------------------


def test_corpus_shape() -> None:
    assert parse_infotext(CORPUS_INFOTEXT) == CORPUS_RESULT


def test_corpus_shape_with_a_float_cfg_and_other_sampler() -> None:
    text = CORPUS_INFOTEXT.replace("CFG scale: 7,", "CFG scale: 6.5,").replace(
        "DPM++ 2M Karras", "Euler a"
    )
    info = parse_infotext(text)
    assert (info.cfg_scale, info.sampler) == (6.5, "Euler a")


def test_multi_line_prompt() -> None:
    text = "masterpiece, best quality,\nbeautiful young woman, smiling,\ndetailed face\n"
    info = parse_infotext(f"{text}Negative prompt: low quality,\nbad anatomy\n{CORPUS_PARAMS}")
    assert (
        info.prompt == "masterpiece, best quality,\nbeautiful young woman, smiling,\ndetailed face"
    )
    assert info.negative_prompt == "low quality,\nbad anatomy"
    assert info.steps == 25 and info.seed == 1000


def test_no_negative_prompt() -> None:
    info = parse_infotext(f"{CORPUS_PROMPT}\n{CORPUS_PARAMS}")
    assert info.prompt == CORPUS_PROMPT
    assert info.negative_prompt is None
    assert (info.width, info.height, info.model) == (512, 768, "realisticVisionV60B1_v51VAE")


def test_quoted_values_with_commas() -> None:
    lora = '"add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef"'
    model = json.dumps('my "best", model')  # A1111 quotes values holding , : or "
    params = (
        f"Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 42, "
        f"Size: 832x1216, Model hash: abc123, Model: {model}, Lora hashes: {lora}, "
        "Hires upscale: 2, Version: v1.10.1"
    )
    info = parse_infotext(f"a cat\nNegative prompt: blurry\n{params}")
    assert info.model == 'my "best", model'
    assert (info.steps, info.sampler, info.cfg_scale, info.seed) == (30, "DPM++ 2M", 7.5, 42)
    assert (info.width, info.height) == (832, 1216)
    assert info.prompt == "a cat"


def test_no_params_line() -> None:
    info = parse_infotext("masterpiece, 1girl, smiling\nNegative prompt: lowres")
    assert info.prompt == "masterpiece, 1girl, smiling"
    assert info.negative_prompt == "lowres"
    assert (info.steps, info.sampler, info.cfg_scale, info.seed) == (None, None, None, None)
    assert (info.width, info.height, info.model) == (None, None, None)


def test_only_a_params_line() -> None:
    info = parse_infotext(CORPUS_PARAMS)
    assert info.prompt is None and info.negative_prompt is None
    assert info.steps == 25


def test_empty_text() -> None:
    assert parse_infotext("") == Infotext()


def test_unparsable_numbers_become_none() -> None:
    info = parse_infotext(
        "a cat\nSteps: many, Sampler: Euler, CFG scale: high, Seed: -1, Size: big"
    )
    assert (info.steps, info.cfg_scale, info.width, info.height) == (None, None, None, None)
    assert info.sampler == "Euler"
    assert info.seed == -1


# -- read_infotext: PNG ------------------------------------------------------------


def _png(path: Path, info: PngImagePlugin.PngInfo | None = None) -> Path:
    Image.new("RGB", (8, 8), (200, 120, 90)).save(path, pnginfo=info)
    return path


def _pnginfo(text: str, *, kind: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "sessionkit tests")  # another chunk first: it must be skipped
    if kind == "tEXt":
        info.add_text("parameters", text)
    elif kind == "zTXt":
        info.add_text("parameters", text, zip=True)
    elif kind == "iTXt":
        info.add_itxt("parameters", text)
    else:
        info.add_itxt("parameters", text, zip=True)
    return info


def _chunk_kinds(path: Path) -> list[bytes]:
    data = path.read_bytes()
    kinds, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind)
        offset += 12 + length
    return kinds


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt", "iTXt compressed"])
def test_png_text_chunks(tmp_path: Path, kind: str) -> None:
    text = CORPUS_INFOTEXT if kind in ("tEXt", "zTXt") else UNICODE_INFOTEXT
    path = _png(tmp_path / "a.png", _pnginfo(text, kind=kind))
    assert kind[:4].encode() in _chunk_kinds(path)  # Pillow wrote the chunk kind asked for
    assert read_infotext(path) == parse_infotext(text)
    if kind.startswith("iTXt"):
        info = read_infotext(path)
        assert info is not None and info.prompt is not None
        assert info.prompt.startswith("belle femme \u00e9l\u00e9gante \u2615")


def test_latin1_text_in_a_tEXt_chunk(tmp_path: Path) -> None:
    text = CORPUS_INFOTEXT.replace("beautiful woman", "caf\u00e9 owner")
    path = _png(tmp_path / "a.png", _pnginfo(text, kind="tEXt"))
    info = read_infotext(path)
    assert info is not None and info.prompt is not None
    assert info.prompt.startswith("caf\u00e9 owner")


def test_upper_case_extension(tmp_path: Path) -> None:
    path = _png(tmp_path / "A.PNG", _pnginfo(CORPUS_INFOTEXT, kind="tEXt"))
    assert read_infotext(path) == CORPUS_RESULT


def test_png_without_the_chunk(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CORPUS_INFOTEXT)  # same text, wrong keyword
    assert read_infotext(_png(tmp_path / "a.png", info)) is None
    assert read_infotext(_png(tmp_path / "b.png")) is None


def test_truncated_png_after_the_chunk_still_has_its_text(tmp_path: Path) -> None:
    path = _png(tmp_path / "a.png", _pnginfo(CORPUS_INFOTEXT, kind="tEXt"))
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"IDAT") + 6])  # killed while writing pixels
    assert read_infotext(path) == CORPUS_RESULT


@pytest.mark.parametrize("keep", [0, 4, 8, 12, 20, 40, 60])
def test_truncated_png_before_the_chunk(tmp_path: Path, keep: int) -> None:
    path = _png(tmp_path / "a.png", _pnginfo(CORPUS_INFOTEXT, kind="zTXt"))
    data = path.read_bytes()
    assert data.index(b"zTXt") > 60
    path.write_bytes(data[:keep])
    assert read_infotext(path) is None


def test_compressed_chunk_with_corrupt_data(tmp_path: Path) -> None:
    path = _png(tmp_path / "a.png", _pnginfo(CORPUS_INFOTEXT, kind="zTXt"))
    data = bytearray(path.read_bytes())
    start = data.index(b"zTXtparameters") + len(b"zTXtparameters") + 2
    data[start : start + 10] = b"\xff" * 10  # not a zlib stream any more
    path.write_bytes(bytes(data))
    assert read_infotext(path) is None


def test_chunk_length_pointing_past_the_end_does_not_raise(tmp_path: Path) -> None:
    chunk = struct.pack(">I", 0x7FFF_FFFF) + b"tEXtparameters\x00Steps: 1"
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    info = read_infotext(path)
    assert info is None or isinstance(info, Infotext)


def test_not_a_png_named_png(tmp_path: Path) -> None:
    jpeg = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    assert read_infotext(jpeg) is None
    text = tmp_path / "b.png"
    text.write_text(CORPUS_INFOTEXT)
    assert read_infotext(text) is None
    empty = tmp_path / "c.png"
    empty.write_bytes(b"")
    assert read_infotext(empty) is None


def test_missing_file(tmp_path: Path) -> None:
    assert read_infotext(tmp_path / "gone.png") is None
    assert read_infotext(tmp_path / "gone.jpg") is None


def test_a_folder_named_png(tmp_path: Path) -> None:
    (tmp_path / "thumbs.png").mkdir()
    assert read_infotext(tmp_path / "thumbs.png") is None


# -- read_infotext: JPEG / WebP EXIF UserComment ------------------------------------


def _user_comment(text: str, *, prefix: bytes = b"UNICODE\0", encoding: str = "utf-16-be") -> bytes:
    return prefix + text.encode(encoding)


def _exif_image(path: Path, comment: bytes | None, fmt: str) -> Path:
    exif = Image.Exif()
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = comment
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path, format=fmt, exif=exif)
    return path


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.jpg", "JPEG"), ("b.jpeg", "JPEG"), ("c.webp", "WEBP")]
)
def test_exif_user_comment_unicode(tmp_path: Path, name: str, fmt: str) -> None:
    """A1111 writes JPEG/WebP infotext with piexif: ``UNICODE\\0`` + UTF-16 big-endian."""
    comment = _user_comment(UNICODE_INFOTEXT)
    path = _exif_image(tmp_path / name, comment, fmt)
    with Image.open(path) as image:  # Pillow round-trips the raw bytes
        assert image.getexif().get_ifd(0x8769).get(0x9286) == comment
    assert read_infotext(path) == parse_infotext(UNICODE_INFOTEXT)


def test_exif_user_comment_prompt_starting_with_a_non_latin_character(tmp_path: Path) -> None:
    """UTF-16-BE text whose first character is above U+00FF (CJK, emoji...).

    The first byte is not 0 there, so guessing the byte order from it alone
    decodes the whole comment as little-endian and loses every parameter.
    """
    text = CORPUS_INFOTEXT.replace("beautiful woman", "\u7f8e\u3057\u3044\u5973\u6027")
    path = _exif_image(tmp_path / "a.jpg", _user_comment(text), "JPEG")
    info = read_infotext(path)
    assert info is not None
    assert (info.steps, info.seed, info.model) == (25, 1000, "realisticVisionV60B1_v51VAE")
    assert info.prompt is not None and info.prompt.startswith("\u7f8e\u3057\u3044\u5973\u6027")


def test_exif_user_comment_little_endian(tmp_path: Path) -> None:
    path = _exif_image(
        tmp_path / "a.jpg", _user_comment(CORPUS_INFOTEXT, encoding="utf-16-le"), "JPEG"
    )
    assert read_infotext(path) == CORPUS_RESULT


def test_exif_user_comment_ascii(tmp_path: Path) -> None:
    comment = _user_comment(CORPUS_INFOTEXT, prefix=b"ASCII\0\0\0", encoding="ascii")
    path = _exif_image(tmp_path / "a.jpg", comment, "JPEG")
    assert read_infotext(path) == CORPUS_RESULT


def test_jpeg_without_exif_or_comment(tmp_path: Path) -> None:
    plain = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(plain, format="JPEG")
    assert read_infotext(plain) is None
    assert read_infotext(_exif_image(tmp_path / "b.jpg", None, "JPEG")) is None


def test_corrupt_jpeg(tmp_path: Path) -> None:
    path = _exif_image(tmp_path / "a.jpg", _user_comment(CORPUS_INFOTEXT), "JPEG")
    path.write_bytes(path.read_bytes()[:10])
    assert read_infotext(path) is None
    garbage = tmp_path / "b.webp"
    garbage.write_bytes(zlib.compress(b"not an image") * 3)
    assert read_infotext(garbage) is None
