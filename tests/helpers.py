"""Shared test helpers: where the source documents are, message factories."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = ROOT / "knowledge" / "sources"  # the official documents, kept in the repository


@lru_cache(maxsize=8)
def seed_text(name: str) -> str:
    """The text of a seed, by file name or by its number ("000")."""
    matches = sorted(SEEDS_DIR.glob(f"{name}*")) if len(name) == 3 else [SEEDS_DIR / name]
    if not matches or not matches[0].is_file():
        raise FileNotFoundError(f"seed {name} not found in {SEEDS_DIR}")
    return matches[0].read_text(encoding="utf-8")
