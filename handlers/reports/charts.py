"""PNG bar charts with Chinese labels, drawn with Pillow (ImageDraw + FreeType, no display).

The labels use a subset of Noto Sans CJK SC committed beside this module (fonts/, SIL OFL 1.1):
GB2312, ASCII, CJK punctuation and every character of the knowledge base (fonts/build_subset.py
made it). A character the font lacks is drawn as a visible box (□) and logged once.
"""

from __future__ import annotations

import logging
import math
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from handlers.reports import ReportError

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "NotoSansCJKsc-Regular-subset.otf"
REPLACEMENT = "□"
DONE, TOTAL, TEXT, AXIS, GRID = "#2E75B6", "#DDE3EA", "#333333", "#8A8F96", "#EEF1F4"
WIDTH, MARGIN, ROW, BAR, DPI = 960, 20, 44, 24, 120
TITLE_PX, LABEL_PX, VALUE_PX, TICK_PX = 24, 16, 15, 14
LABEL_MAX = 340  # widest label column; longer labels wrap onto a second line
AXIS_TITLES = {"分": "得分（分）", "项": "任务数（项）"}

log = logging.getLogger(__name__)
_DRAWING = threading.Lock()  # one FreeType face is shared: one chart at a time
_REPORTED: set[str] = set()


@dataclass(frozen=True)
class Bar:
    """One bar: a label, the value reached and the most it can be."""

    label: str
    value: float
    total: float


def cjk_font_path() -> Path:
    """The committed Noto Sans CJK SC subset."""
    if not FONT_FILE.is_file():
        raise ReportError(f"找不到中文字体 {FONT_FILE.name}（应在 handlers/reports/fonts/ 下）")
    return FONT_FILE


def font_characters(path: Path) -> frozenset[int]:
    """The code points an OpenType font maps to a glyph (its cmap, format 4 or 12)."""
    data = path.read_bytes()
    tables = {data[12 + 16 * i: 16 + 16 * i]: struct.unpack_from(">II", data, 20 + 16 * i)
              for i in range(struct.unpack_from(">H", data, 4)[0])}
    if b"cmap" not in tables:
        raise ReportError(f"{path.name} 没有字符映射表（cmap）")
    base = tables[b"cmap"][0]
    records = [struct.unpack_from(">HHI", data, base + 4 + 8 * i)
               for i in range(struct.unpack_from(">H", data, base + 2)[0])]
    found: set[int] = set()
    for platform, encoding, offset in records:
        if (platform, encoding) in ((3, 1), (3, 10), (0, 3), (0, 4)):
            found.update(_subtable(data, base + offset))
    return frozenset(found)


def _subtable(data: bytes, at: int) -> Iterable[int]:
    kind = struct.unpack_from(">H", data, at)[0]
    if kind == 12:
        groups = struct.unpack_from(">I", data, at + 12)[0]
        for i in range(groups):
            start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
            yield from range(start + (glyph == 0), end + 1)
    elif kind == 4:
        segments = struct.unpack_from(">H", data, at + 6)[0] // 2
        ends = struct.unpack_from(f">{segments}H", data, at + 14)
        starts = struct.unpack_from(f">{segments}H", data, at + 16 + 2 * segments)
        deltas = struct.unpack_from(f">{segments}h", data, at + 16 + 4 * segments)
        range_at = at + 16 + 6 * segments
        offsets = struct.unpack_from(f">{segments}H", data, range_at)
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            for code in range(start, end + 1):
                if offsets[i] == 0:
                    glyph = (code + deltas[i]) & 0xFFFF
                else:
                    where = range_at + 2 * i + offsets[i] + 2 * (code - start)
                    glyph = struct.unpack_from(">H", data, where)[0]
                    glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
                if glyph and code != 0xFFFF:
                    yield code


@cache
def covered() -> frozenset[int]:
    """The code points the charts' font can draw."""
    return font_characters(cjk_font_path())


def drawable(text: str) -> str:
    """The text with each character the font lacks replaced by □ (logged once per character)."""
    have = covered()
    text = "".join(" " if c.isspace() else c for c in text)
    missing = {c for c in text if ord(c) not in have}
    if missing - _REPORTED:
        log.warning("图表字体缺少字符 %s，以%s代替", "".join(sorted(missing - _REPORTED)), REPLACEMENT)
        _REPORTED.update(missing)
    return "".join(REPLACEMENT if c in missing else c for c in text)


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont  # Pillow is imported only when a chart is drawn

    try:
        return ImageFont.truetype(str(cjk_font_path()), size)
    except OSError as problem:
        raise ReportError(f"中文字体 {FONT_FILE.name} 无法读取：{problem}") from None


def bar_chart(path: Path, title: str, bars: Sequence[Bar], unit: str = "分", percent: bool = False,
              axis: str | None = None) -> Path:
    """Horizontal bars, value over its maximum, labelled "value/total unit" (or "x%"); save a PNG."""
    axis = axis if axis is not None else ("完成率（%）" if percent else AXIS_TITLES.get(unit, unit))
    with _DRAWING:
        image = _Canvas(title, bars, unit, percent, axis).draw()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG", optimize=True, dpi=(DPI, DPI))
    except OSError as problem:
        raise ReportError(f"图表文件写不进 {path.parent}：{problem.strerror or problem}") from None
    return path


class _Canvas:
    """The layout of one chart: title, label column, bars with values, x axis with its title."""

    def __init__(self, title: str, bars: Sequence[Bar], unit: str, percent: bool, axis: str) -> None:
        self.title, self.axis = drawable(title), drawable(axis)
        self.bars = [Bar(drawable(b.label), _finite(b.value), _finite(b.total)) for b in bars]
        self.values = [f"{_num(b.value)}%" if percent else f"{_num(b.value)}/{_num(b.total)}{unit}"
                       for b in self.bars]
        self.step, self.top = _scale(max([max(b.total, b.value) for b in self.bars] + [1.0]))
        self.fonts = {px: _font(px) for px in (TITLE_PX, LABEL_PX, VALUE_PX, TICK_PX)}
        widest = max([self.width(b.label, LABEL_PX) for b in self.bars] + [0.0])
        self.label_w = int(min(widest, LABEL_MAX))
        self.x0 = MARGIN + self.label_w + 12
        value_w = max([self.width(v, VALUE_PX) for v in self.values] + [0.0])
        self.x1 = WIDTH - MARGIN - int(value_w) - 8
        self.y0 = MARGIN + TITLE_PX + 24
        self.y1 = self.y0 + ROW * max(len(self.bars), 1)

    def width(self, text: str, px: int) -> float:
        return float(self.fonts[px].getlength(text))

    def x(self, value: float) -> float:
        return self.x0 + (self.x1 - self.x0) * min(value, self.top) / self.top

    def draw(self) -> Any:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (WIDTH, self.y1 + 64), "white")
        pen = ImageDraw.Draw(image)
        pen.text((MARGIN, MARGIN), _fit(self.title, WIDTH - 2 * MARGIN, self.fonts[TITLE_PX]),
                 font=self.fonts[TITLE_PX], fill=TEXT)
        self._axis(pen)
        for row, (bar, value) in enumerate(zip(self.bars, self.values, strict=True)):
            self._bar(pen, self.y0 + ROW * row + ROW // 2, bar, value)
        if not self.bars:
            pen.text((self.x0 + 12, self.y0 + ROW // 2), "暂无数据", font=self.fonts[LABEL_PX],
                     fill=AXIS, anchor="lm")
        return image

    def _axis(self, pen: Any) -> None:
        for i in range(round(self.top / self.step) + 1):
            x = self.x(self.step * i)
            if i:
                pen.line([(x, self.y0), (x, self.y1)], fill=GRID)
            pen.line([(x, self.y1), (x, self.y1 + 5)], fill=AXIS)
            pen.text((x, self.y1 + 8), _num(self.step * i), font=self.fonts[TICK_PX], fill=TEXT,
                     anchor="mt")
        pen.line([(self.x0, self.y0), (self.x0, self.y1)], fill=AXIS)
        pen.line([(self.x0, self.y1), (self.x1, self.y1)], fill=AXIS)
        pen.text(((self.x0 + self.x1) / 2, self.y1 + 32), self.axis, font=self.fonts[LABEL_PX],
                 fill=TEXT, anchor="mt")

    def _bar(self, pen: Any, middle: int, bar: Bar, value: str) -> None:
        top, bottom = middle - BAR // 2, middle + BAR // 2
        if bar.total > 0:
            pen.rectangle([self.x0 + 1, top, self.x(bar.total), bottom], fill=TOTAL)
        if bar.value > 0:
            pen.rectangle([self.x0 + 1, top, self.x(bar.value), bottom], fill=DONE)
        pen.text((self.x(max(bar.total, bar.value)) + 6, middle), value, font=self.fonts[VALUE_PX],
                 fill=TEXT, anchor="lm")
        lines = _wrap(bar.label, self.label_w, self.fonts[LABEL_PX])
        pen.multiline_text((self.x0 - 8, middle), "\n".join(lines), font=self.fonts[LABEL_PX], fill=TEXT,
                           anchor="rm", align="right", spacing=2)


def _wrap(text: str, width: int, font: Any) -> list[str]:
    """At most two lines no wider than width; the second ends in … when the text is longer."""
    if font.getlength(text) <= width:
        return [text]
    cut = max(1, next((i for i in range(1, len(text) + 1) if font.getlength(text[:i]) > width), 1) - 1)
    return [text[:cut], _fit(text[cut:], width, font)]


def _fit(text: str, width: int, font: Any) -> str:
    """The text, shortened with … to fit width."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _finite(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0


def _scale(value: float) -> tuple[float, float]:
    """The x axis for value: a 1, 2, 2.5 or 5 × 10ⁿ tick step (at most five steps) and its end."""
    power = 10 ** math.floor(math.log10(value / 5))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power * 5 >= value)
    return step, step * math.ceil(value / step - 1e-9)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
