"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase


@lru_cache(maxsize=4)
def _load(data_dir: Path | None) -> KnowledgeBase:
    return load_knowledge(data_dir)


def load_kb(args: argparse.Namespace) -> KnowledgeBase:
    """The knowledge base named by --data (default: the packaged one), loaded once."""
    return _load(getattr(args, "data", None))
