"""The /chart PNGs: the committed CJK font covers every label the knowledge base can put on a chart,
Chinese renders as real glyphs, bars are drawn to scale, and bad input or a bad folder never crashes."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFont

from handlers.reports import ReportError, charts
from handlers.reports.charts import (
    DONE,
    REPLACEMENT,
    TOTAL,
    Bar,
    bar_chart,
    cjk_font_path,
    covered,
    drawable,
)
from knowledge.model import KnowledgeBase, Level

CHART_TITLES = ("各一级指标得分与满分", "各一级指标任务完成数", "各部门自评完成率", "得分（分）",
                "任务数（项）", "完成率（%）", "暂无数据", "0123456789./%分项…")
NOT_IN_FONT = "𠀀𠀁𠀂𠀃"  # CJK Extension B: outside GB2312 and the knowledge base


def bands(image: Image.Image, *colours: str) -> list[tuple[int, int]]:
    """The runs of pixel rows (top, bottom) that hold any pixel of one of the colours: the bars."""
    wanted = {Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in colours}
    rgb = image.convert("RGB")
    rows = [any(rgb.getpixel((x, y)) in wanted for x in range(0, rgb.width, 2)) for y in range(rgb.height)]
    runs: list[tuple[int, int]] = []
    for y, hit in enumerate(rows):
        if hit and (not runs or runs[-1][1] != y - 1):
            runs.append((y, y))
        elif hit:
            runs[-1] = (runs[-1][0], y)
    return runs


def run_length(image: Image.Image, y: int, colour: str) -> int:
    """How many pixels of row y have the colour."""
    target = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    rgb = image.convert("RGB")
    return sum(rgb.getpixel((x, y)) == target for x in range(rgb.width))


def labels(kb: KnowledgeBase) -> set[str]:
    """Everything the knowledge base can put on a chart: departments, 一级指标, counties."""
    found: set[str] = set()
    for department in kb.departments.values():
        found |= {department.id, department.name, *department.aliases}

    def walk(levels: tuple[Level, ...]) -> None:
        for level in levels:
            found.add(level.name)
            walk(level.children)

    for framework in kb.frameworks.values():
        found |= {i.level1 for i in framework.indicators.values()}
        walk(framework.levels)
    for plan in kb.plans.values():
        found |= {plan.county, *plan.responsible}
    return found


# --- the font -----------------------------------------------------------------------------------


def test_the_font_covers_every_knowledge_base_label_and_gb2312(kb: KnowledgeBase) -> None:
    have = covered()
    text = "".join(labels(kb)) + "".join(CHART_TITLES)
    assert len(labels(kb)) > 100
    missing = sorted({c for c in text if ord(c) not in have})
    assert not missing, f"rebuild the font with handlers/reports/fonts/build_subset.py: {''.join(missing)}"
    hanzi = [bytes((row, cell)).decode("gb2312") for row in range(0xB0, 0xF8) for cell in range(0xA1, 0xFF)
             if (row, cell) not in {(0xD7, c) for c in range(0xFA, 0xFF)}]
    assert len(hanzi) == 6763 and all(ord(c) in have for c in hanzi)
    assert ord(REPLACEMENT) in have and not any(ord(c) in have for c in NOT_IN_FONT)


def test_the_cmap_reader_agrees_with_fonttools() -> None:
    path = cjk_font_path()
    assert charts.font_characters(path) == frozenset(TTFont(path).getBestCmap())
    assert path.stat().st_size < 4 * 2**20  # a subset, not the 16 MB original
    assert (path.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") == 1


def test_the_cmap_reader_reads_format_4_and_12(tmp_path: Path) -> None:
    """A font fontTools builds with BMP and supplementary characters (cmap formats 4 and 12)."""
    mapping = {0x41: "A", 0x8D28: "zhi", 0x91CF: "liang", 0x20000: "ext"}
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", *mapping.values()])
    builder.setupCharacterMap(mapping)
    pen = TTGlyphPen(None)
    pen.moveTo((0, 0)), pen.lineTo((0, 500)), pen.lineTo((500, 0)), pen.closePath()
    glyph = pen.glyph()
    builder.setupGlyf({name: glyph for name in [".notdef", *mapping.values()]})
    builder.setupHorizontalMetrics({name: (600, 0) for name in [".notdef", *mapping.values()]})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Probe", "styleName": "Regular"})
    builder.setupOS2(), builder.setupPost()
    builder.save(str(tmp_path / "probe.ttf"))
    formats = {t.format for t in TTFont(tmp_path / "probe.ttf")["cmap"].tables}
    assert formats == {4, 12}
    assert charts.font_characters(tmp_path / "probe.ttf") == frozenset(mapping)


def render(text: str) -> Image.Image:
    """The text drawn black on white in the charts' font, as a grey image."""
    image = Image.new("L", (160, 40), 255)
    ImageDraw.Draw(image).text((4, 4), text, font=ImageFont.truetype(str(cjk_font_path()), 24), fill=0)
    return image


def test_chinese_renders_as_glyphs_and_missing_characters_as_boxes() -> None:
    real_a, real_b, blank = render("质量强县"), render("得分满分"), render("")
    tofu_a, tofu_b = render(NOT_IN_FONT), render("𠀄𠀅𠀆𠀇")
    assert ImageChops.difference(tofu_a, tofu_b).getbbox() is None  # four identical .notdef boxes
    assert sum(real_a.histogram()[:128]) > 200
    for one, other in ((real_a, blank), (real_a, real_b), (real_a, tofu_a)):
        assert ImageChops.difference(one, other).getbbox() is not None


def test_missing_characters_become_a_visible_box_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "_REPORTED", set())
    with caplog.at_level(logging.WARNING, logger="handlers.reports.charts"):
        assert drawable("𠀀统计局\n") == f"{REPLACEMENT}统计局 "
        assert drawable("𠀀局") == f"{REPLACEMENT}局"
        assert drawable("质量强县") == "质量强县"
    assert [r.getMessage() for r in caplog.records] == [f"图表字体缺少字符 𠀀，以{REPLACEMENT}代替"]


# --- the charts ---------------------------------------------------------------------------------


def test_bars_are_drawn_to_scale_with_their_values(tmp_path: Path) -> None:
    bars = [Bar("质量发展理念", 6, 12), Bar("质量发展保障", 15, 15), Bar("𠀀生僻部门", 0, 15)]
    path = bar_chart(tmp_path / "out" / "levels.png", "平阴县 各一级指标得分与满分", bars)
    image = Image.open(path)
    assert image.format == "PNG" and image.width == 960
    done, total = bands(image, DONE), bands(image, DONE, TOTAL)
    assert len(done) == 2 and len(total) == 3  # the third bar is all remainder
    half, full = (run_length(image, (top + bottom) // 2, DONE) for top, bottom in done)
    assert abs(half / full - 6 / 15) < 0.02
    middle = (done[0][0] + done[0][1]) // 2
    assert abs(run_length(image, middle, TOTAL) / full - 6 / 15) < 0.02  # 6 of 12 left grey


def test_odd_input_still_gives_a_chart(tmp_path: Path) -> None:
    empty = Image.open(bar_chart(tmp_path / "empty.png", "各部门自评完成率", [], "", True))
    assert not bands(empty, DONE, TOTAL)
    odd = [Bar("甲" * 60, math.nan, 100), Bar("", -5, math.inf), Bar("乙", 250, 100)]
    image = Image.open(bar_chart(tmp_path / "odd.png", "标题" * 80, odd, "", True))
    assert len(bands(image, DONE, TOTAL)) == 2  # nan/negative/inf count as 0: the second row is empty


def test_an_unwritable_folder_is_a_report_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(ReportError, match="图表文件写不进"):
        bar_chart(tmp_path / "taken" / "levels.png", "标题", [Bar("甲", 1, 2)])
