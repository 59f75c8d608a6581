"""Number formatting and rounding shared by scores and their reasons."""

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
    """A reported quantity with its unit, up to 4 decimals: 95.5%、3项、1200万元."""
    return f"{num(value, 4)}{unit}"
