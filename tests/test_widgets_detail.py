"""The detail view: sections, partial stats, placeholders, the image grid, refresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builders import manifest, png_bytes, write_session
from sessionkit import SessionKit
from sessionkit.widgets import ManualScheduler, SessionDetail

VALUES = tuple(f"value{n:02d}" for n in range(12))


def detail_of(kit: SessionKit, session_id: str) -> SessionDetail:
    return SessionDetail(kit, session_id, scheduler=ManualScheduler())


@pytest.fixture
def kit(tmp_path: Path) -> SessionKit:
    """One complete session with 12 values of its placeholder, one with half its images."""
    root = tmp_path / "root"
    write_session(root, "20251107_120000-Full", manifest("Full", images=12, expressions=VALUES))
    half = manifest("Half", images=4, num_images=8)
    write_session(root, "20251107_130000-Half", half)
    kit = SessionKit(root, tmp_path / "sessions.db", progress=False)
    kit.index()
    return kit


def test_sections_show_generation_images_parameters_and_prompt(kit: SessionKit) -> None:
    detail = detail_of(kit, "20251107_120000-Full")
    sections = detail.sections.value
    for text in (
        "realisticVisionV60B1_v51VAE",
        "<dt>mode</dt><dd>combinatorial</dd>",
        "<dt>seed mode</dt><dd>progressive</dd>",
        "<dt>seed base</dt><dd>1000</dd>",
        "<dt>expected</dt><dd>12</dd>",
        "<dt>actual</dt><dd>12</dd>",
        "<dt>duration</dt>",
        "sk-ok",
        "<dt>size</dt><dd>512x768</dd>",
        "<dt>steps</dt><dd>25</dd>",
        "<dt>sampler</dt><dd>Euler a</dd>",
    ):
        assert text in sections
    assert "beautiful woman, <mark>{EXPRESSIONS}</mark>" in detail.prompt.value
    assert "low quality" in detail.prompt.value
    assert len(detail.images.filenames) == 12  # every image, not the first 8
    assert detail.header.value.count("sk-warning") == 0


def test_an_incomplete_session_gets_the_orange_badge(kit: SessionKit) -> None:
    assert "sk-mid" in detail_of(kit, "20251107_130000-Half").sections.value


def test_placeholders_show_ten_values_then_more_on_demand(kit: SessionKit) -> None:
    detail = detail_of(kit, "20251107_120000-Full")
    assert "{EXPRESSIONS} (12)" in detail.placeholders.value
    assert "value09" in detail.placeholders.value
    assert "value10" not in detail.placeholders.value
    assert "+2 more" in detail.placeholders.value
    assert detail.more.description == "+2 more" and detail.more.layout.display is None
    detail.more.click()
    assert "value10" in detail.placeholders.value and "value11" in detail.placeholders.value
    assert "more" not in detail.placeholders.value
    assert detail.more.layout.display == "none"


def test_without_a_manifest_it_says_values_come_from_the_images(
    kit: SessionKit, tmp_path: Path
) -> None:
    assert kit.root is not None
    write_session(kit.root, "20251108_090000-Loose", None, images=3)
    kit.index()
    detail = detail_of(kit, "20251108_090000-Loose")
    assert "no manifest: values read from the images" in detail.header.value
    assert "<dt>sampler</dt><dd>DPM++ 2M Karras</dd>" in detail.sections.value
    assert "<dt>actual</dt><dd>3</dd>" in detail.sections.value


def test_a_broken_manifest_shows_its_error(kit: SessionKit) -> None:
    assert kit.root is not None
    write_session(kit.root, "20251108_100000-Broken", b'{"snapshot": {', images=1)
    kit.index()
    header = detail_of(kit, "20251108_100000-Broken").header.value
    assert "manifest problem:" in header


def test_a_vanished_folder_says_since_when(kit: SessionKit) -> None:
    assert kit.root is not None
    shutil.rmtree(kit.root / "20251107_130000-Half")
    kit.index()
    detail = detail_of(kit, "20251107_130000-Half")
    assert "folder missing since 20" in detail.header.value
    # the images the index knows stay listed (their marks are kept); the viewer says "missing"
    assert detail.images.filenames == list(kit.images("20251107_130000-Half")["filename"])


def test_refresh_stats_recomputes_from_the_folder(kit: SessionKit) -> None:
    assert kit.root is not None
    detail = detail_of(kit, "20251107_130000-Half")
    assert "<dt>actual</dt><dd>4</dd>" in detail.sections.value
    folder = kit.root / "20251107_130000-Half"
    for index in range(4, 8):
        (folder / f"Half_{index:04d}_seed-{1000 + index}.png").write_bytes(png_bytes())
    detail.refresh_button.click()
    assert "<dt>actual</dt><dd>8</dd>" in detail.sections.value
    assert "sk-ok" in detail.sections.value


def test_show_switches_session_and_editor(kit: SessionKit) -> None:
    detail = detail_of(kit, "20251107_120000-Full")
    assert detail.show("20251107_130000-Half")
    assert detail.session_id == detail.editor.session_id == "20251107_130000-Half"
    assert "20251107_130000-Half" in detail.header.value
