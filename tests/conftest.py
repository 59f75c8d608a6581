"""Fixtures shared by all tests."""

from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The real knowledge base, loaded once."""
    return load_knowledge()
