"""How numbers and long text are written in every reply: 1 → 1分, 95.5%, text cut with “…”.

A bottom module (standard library only), shared by the rules language, scoring, the Q&A and the
chat; knowledge/text.py is the heavier one (jieba, OpenCC) for reading questions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round2(value: float) -> float:
    """Round half up to 2 decimals (0.125 → 0.13), the precision every score is reported in."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def num(value: float, places: int = 2) -> str:
    """A number without trailing zeros: 1.0 → 1, 0.50 → 0.5, 95.25 → 95.25."""
    if places == 2:
        value = round2(value)
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def pts(value: float) -> str:
    """A score with its unit: 1 → 1分, 0.5 → 0.5分."""
    return f"{num(value)}分"


def qty(value: float, unit: str = "") -> str:
    """A reported quantity with its unit, up to 4 decimals: 95.5%、3项、1200万元、0.1个百分点."""
    return f"{num(value, 4)}{'个百分点' if unit == '百分点' else unit}"


def clip(text: str, limit: int) -> str:
    """The text cut to `limit` characters, the last one an ellipsis “…” when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_line(text: str, limit: int) -> str:
    """The text on one line (line breaks become spaces, ends stripped), then clipped."""
    return clip(text.replace("\n", " ").strip(), limit)


def squash(text: str) -> str:
    """Every run of whitespace (line breaks included) as one space, ends stripped."""
    return " ".join(text.split())
