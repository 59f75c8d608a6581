"""PNG bar charts with Chinese labels (matplotlib's Agg canvas, no pyplot, no display).

The labels use Noto Sans CJK SC, the font file the `mplfonts` package ships: it is registered
with matplotlib's font manager when the first chart is drawn (mplfonts' own installer, which
rewrites matplotlib's configuration, is never called).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.reports import ReportError

FONT_FILE = "NotoSansCJKsc-Regular.otf"
DONE, TOTAL, TEXT = "#2E75B6", "#DDE3EA", "#333333"
BAR_INCHES = 0.42
DPI = 120
_DRAWING = threading.Lock()  # rcParams are global: one chart at a time


@dataclass(frozen=True)
class Bar:
    """One bar: a label, the value reached and the most it can be."""

    label: str
    value: float
    total: float


def cjk_font_path() -> Path:
    """The Noto Sans CJK SC file inside the installed mplfonts package."""
    spec = importlib.util.find_spec("mplfonts")
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(base) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    raise ReportError(f"找不到中文字体 {FONT_FILE}：请安装 mplfonts（pip install mplfonts）")


@cache
def register_cjk_font() -> str:
    """Register the CJK font with matplotlib (once); its family name."""
    from matplotlib import font_manager  # matplotlib is imported only when a chart is drawn

    path = str(cjk_font_path())
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


def chinese_style() -> dict[str, Any]:
    """rcParams that draw text in the registered CJK font."""
    name = register_cjk_font()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [name, "DejaVu Sans"],
        "axes.unicode_minus": False,
    }


def bar_chart(path: Path, title: str, bars: Sequence[Bar], unit: str = "分", percent: bool = False) -> Path:
    """Horizontal bars, value over its maximum, labelled "value/total unit" (or "x%"); save a PNG."""
    style: Any = chinese_style()
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _DRAWING, rc_context(style):
        fig = Figure(figsize=(8, 1.6 + BAR_INCHES * max(len(bars), 1)), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _draw(ax, bars, unit, percent)
        ax.set_title(title, fontsize=13, loc="left")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


def _draw(ax: Any, bars: Sequence[Bar], unit: str, percent: bool) -> None:
    labels = [b.label for b in bars]
    positions = list(range(len(bars)))[::-1]
    ax.barh(positions, [b.total for b in bars], color=TOTAL, height=0.6)
    ax.barh(positions, [b.value for b in bars], color=DONE, height=0.6)
    ax.set_yticks(positions, labels=labels, fontsize=10)
    top = max([b.total for b in bars] + [1.0])
    ax.set_xlim(0, top * 1.18)
    for y, bar in zip(positions, bars, strict=True):
        text = f"{_num(bar.value)}%" if percent else f"{_num(bar.value)}/{_num(bar.total)}{unit}"
        ax.text(max(bar.total, bar.value) + top * 0.01, y, text, va="center", fontsize=9, color=TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=9)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
